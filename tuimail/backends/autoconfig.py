"""Thunderbird's autoconfig files (config-v1.1.xml): fetched over verified HTTPS, parsed safely.

The file comes from whoever answers for the domain, so it is hostile until proven otherwise:
HTTPS only with a verified certificate, at most ``MAX_BYTES``, within the caller's deadline, and
parsed with expat driven by hand so that a DOCTYPE (hence any entity declaration, the way to an
"entity bomb" or an external entity) stops the parse before anything is expanded. The standard
library's own protection depends on the expat version it was built with; refusing the DTD does
not, and the format never has one. No new dependency is needed for that (defusedxml would do the
same in more code).
"""

from __future__ import annotations

import http.client
import ssl
import time
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from tuimail import __version__
from tuimail.backends.dns import Dns, LookupFailed, remaining, valid_host
from tuimail.backends.tls import verifying_context
from tuimail.mime.sanitize import safe_line
from tuimail.model.account import Protocol, Security
from tuimail.model.discovery import ServerChoice
from tuimail.model.errors import TlsError

MAX_BYTES = 128 * 1024
"""The largest autoconfig file accepted (real ones are a few kilobytes)."""
MAX_REDIRECTS = 3
_READ_SIZE = 16 * 1024
_PASSWORD_AUTH = frozenset({"password-cleartext", "password-encrypted", "plain", "secure", "none"})
_SOCKET_TYPES = {"ssl": Security.TLS, "tls": Security.TLS, "starttls": Security.STARTTLS}
_INCOMING = {"imap": Protocol.IMAP, "pop3": Protocol.POP3}


class AutoconfigError(Exception):
    """The file could not be fetched or used; the message is a few words for a person."""


@dataclass(frozen=True)
class ProviderConfig:
    """What an autoconfig file offers for one address."""

    provider: str | None
    incoming: tuple[ServerChoice, ...]
    """IMAP first, implicit TLS before STARTTLS; plaintext servers left out."""
    outgoing: tuple[ServerChoice, ...]
    oauth2_only: bool = False
    """Servers are offered only with OAuth2, which tuimail cannot use yet."""
    help_url: str | None = None


def urls(domain: str, email: str) -> tuple[str, str]:
    """The two places a domain publishes its file: autoconfig.DOMAIN, then its .well-known."""
    query = urllib.parse.urlencode({"emailaddress": email})
    return (
        f"https://autoconfig.{domain}/mail/config-v1.1.xml?{query}",
        f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
    )


def fetch(url: str, dns: Dns, deadline: float, *, context: ssl.SSLContext | None = None) -> bytes:
    """The body of ``url`` over verified HTTPS, following a few HTTPS redirects.

    ``context`` must verify certificates and host names; by default, the system's CAs and the
    network's ``ca_file``. AutoconfigError for anything else: another scheme, an untrusted
    certificate, an HTTP error, more than MAX_BYTES, or no complete answer before ``deadline``.
    """
    for _ in range(MAX_REDIRECTS + 1):
        status, location, body = _get(url, dns, deadline, context)
        if status in (301, 302, 303, 307, 308) and location:
            url = urllib.parse.urljoin(url, location)
            continue
        if status != 200:
            raise AutoconfigError(f"HTTP status {status}")
        return body
    raise AutoconfigError("too many redirects")


def _get(
    url: str, dns: Dns, deadline: float, context: ssl.SSLContext | None
) -> tuple[int, str, bytes]:
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https":
        raise AutoconfigError("not HTTPS (refused)")
    if not valid_host(host):
        raise AutoconfigError("not a valid host name")
    try:
        port = parts.port or 443
    except ValueError:
        raise AutoconfigError("not a valid port") from None
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    try:
        context = context or verifying_context(dns.network.ca_file, host)
        sock = dns.connect(host, port, deadline)
    except (LookupFailed, TlsError) as exc:
        raise AutoconfigError(str(exc)) from None
    except OSError as exc:
        raise AutoconfigError(_network_reason(exc)) from None
    conn = http.client.HTTPSConnection(host, port, timeout=remaining(deadline), context=context)
    try:
        try:
            conn.sock = context.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        conn.request(
            "GET",
            target,
            headers={
                "Accept": "application/xml, text/xml",
                "User-Agent": f"tuimail/{__version__}",
                "Connection": "close",
            },
        )
        response = conn.getresponse()
        if response.status != 200:
            location = safe_line(response.getheader("Location") or "")
            return response.status, location, b""
        length = response.getheader("Content-Length")
        if length and length.strip().isdigit() and int(length) > MAX_BYTES:
            raise AutoconfigError(f"too large ({int(length)} bytes; at most {MAX_BYTES})")
        return 200, "", _read_limited(response, conn, deadline)
    except ssl.SSLCertVerificationError as exc:
        if exc.verify_code in (62, 64) or "mismatch" in str(exc.verify_message).lower():
            raise AutoconfigError(f"certificate not valid for {host} (refused)") from None
        raise AutoconfigError("certificate not trusted (refused)") from None
    except (http.client.HTTPException, ssl.SSLError) as exc:
        raise AutoconfigError(f"not a usable HTTPS answer ({type(exc).__name__})") from None
    except OSError as exc:
        raise AutoconfigError(_network_reason(exc)) from None
    finally:
        conn.close()


def _read_limited(
    response: http.client.HTTPResponse, conn: http.client.HTTPSConnection, deadline: float
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() >= deadline:
            raise AutoconfigError("no complete answer in time")
        if conn.sock is not None:
            conn.sock.settimeout(remaining(deadline))
        chunk = response.read1(_READ_SIZE)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BYTES:
            raise AutoconfigError(f"too large (more than {MAX_BYTES} bytes)")
        chunks.append(chunk)


def _network_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return safe_line(exc.strerror or type(exc).__name__)


def parse_xml(data: bytes) -> ET.Element:
    """The document as an element tree; AutoconfigError if it is not well formed or has a DTD."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()

    def refuse(*_: Any) -> None:
        raise AutoconfigError("the file declares a DTD or entities (refused)")

    def refuse_external(*_: Any) -> int:
        raise AutoconfigError("the file refers to an external entity (refused)")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise AutoconfigError(f"not well-formed XML ({expat.errors.messages[exc.code]})") from None
    return builder.close()


def fill(template: str, email: str) -> str:
    """``template`` with %EMAILADDRESS%, %EMAILLOCALPART% and %EMAILDOMAIN% filled in."""
    local, _, domain = email.rpartition("@")
    return (
        template.replace("%EMAILADDRESS%", email)
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain)
    )


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _server(element: ET.Element, protocol: Protocol, email: str) -> ServerChoice | bool | None:
    """A usable server; None when unusable; False when only OAuth2 would work."""
    host = fill(_text(element, "hostname"), email).lower().rstrip(".")
    port_text = _text(element, "port")
    security = _SOCKET_TYPES.get(_text(element, "socketType").lower())
    if not valid_host(host) or not port_text.isdigit() or security is None:
        return None  # plaintext ("plain") servers are never proposed
    port = int(port_text)
    if not 0 < port < 65536:
        return None
    methods = {(auth.text or "").strip().lower() for auth in element.findall("authentication")}
    if methods and not methods & _PASSWORD_AUTH:
        return False if "oauth2" in methods else None
    username = safe_line(fill(_text(element, "username"), email))[:320] or email
    return ServerChoice(protocol, host, port, security, username)


def parse(data: bytes, email: str) -> ProviderConfig:
    """The servers an autoconfig file offers for ``email``; AutoconfigError when it offers none."""
    root = parse_xml(data)
    if root.tag != "clientConfig":
        raise AutoconfigError("not an autoconfig file")
    provider = root.find("emailProvider")
    if provider is None:
        raise AutoconfigError("no emailProvider in the file")
    incoming: list[ServerChoice] = []
    outgoing: list[ServerChoice] = []
    oauth2 = False
    for element in provider.findall("incomingServer"):
        protocol = _INCOMING.get(element.get("type", "").lower())
        if protocol is None:
            continue
        server = _server(element, protocol, email)
        oauth2 |= server is False
        if isinstance(server, ServerChoice):
            incoming.append(server)
    for element in provider.findall("outgoingServer"):
        if element.get("type", "").lower() != "smtp":
            continue
        server = _server(element, Protocol.SMTP, email)
        oauth2 |= server is False
        if isinstance(server, ServerChoice):
            outgoing.append(server)
    if not incoming and not oauth2:
        raise AutoconfigError("no usable incoming server in the file")
    name = safe_line(_text(provider, "displayName") or _text(provider, "displayShortName"))
    help_url = None
    for doc in provider.findall("documentation"):
        url = doc.get("url", "")
        if url.startswith("https://") and len(url) < 300:
            help_url = safe_line(url)
            break
    return ProviderConfig(
        provider=name[:80] or None,
        incoming=tuple(sorted(incoming, key=_preference)),
        outgoing=tuple(sorted(outgoing, key=_preference)),
        oauth2_only=oauth2 and not incoming,
        help_url=help_url,
    )


def _preference(server: ServerChoice) -> tuple[int, int]:
    """IMAP before POP3, implicit TLS before STARTTLS (RFC 8314); file order otherwise."""
    return (server.protocol is not Protocol.IMAP, server.security is not Security.TLS)
