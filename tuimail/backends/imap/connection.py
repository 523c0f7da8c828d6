"""Opening and logging in to an IMAP server under the TLS policy."""

from __future__ import annotations

import contextlib
import imaplib
import socket
import ssl
from typing import Any

from imapclient import IMAPClient, imap4
from imapclient import tls as imapclient_tls
from imapclient.exceptions import IMAPClientError, LoginError

from tuimail.backends import deadline
from tuimail.backends.probe import ProbeSession, run_probe
from tuimail.backends.tls import (
    client_context,
    probe_context,
    redact,
    refuse_plaintext_password,
    translate,
)
from tuimail.mime.sanitize import safe_line
from tuimail.model.account import Endpoint, Protocol, Role, Security
from tuimail.model.errors import AuthError, MailError, ProtocolError, TlsError
from tuimail.model.report import ServerReport


def _text(value: bytes | str) -> str:
    raw = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return safe_line(raw)


def capabilities(client: Any) -> tuple[str, ...]:
    """The server's capabilities as upper-case strings."""
    return tuple(_text(cap).upper() for cap in client.capabilities())


MAX_LITERAL = 256 * 1024 * 1024
"""The largest literal (a message body, say) tuimail reads through imaplib."""
MAX_LINE = 1_000_000
"""The longest line tuimail reads through imaplib (imaplib's own limit)."""


class _Limits(imaplib.IMAP4):
    """imaplib's reader with clear failures for an oversized literal or line.

    imaplib would allocate whatever size a server announces for a literal; both failures also
    cut the connection, whose reply can no longer be followed.
    """

    def _give_up(self, message: str) -> ProtocolError:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        return ProtocolError(f"{safe_line(self.host)} {message}")

    def read(self, size: int) -> bytes:
        if size > MAX_LITERAL:
            raise self._give_up(
                f"announced a literal of {size:,} bytes, more than tuimail accepts "
                f"({MAX_LITERAL:,}); the connection was closed."
            )
        return super().read(size)

    def readline(self) -> bytes:
        line: bytes = self.file.readline(MAX_LINE + 1)  # type: ignore[assignment]
        if len(line) > MAX_LINE:
            raise self._give_up(
                f"sent a line longer than {MAX_LINE:,} bytes; the connection was closed."
            )
        return line


class _IMAP4(_Limits, imap4.IMAP4WithTimeout):  # type: ignore[misc]
    """A plain (or STARTTLS) connection whose timeout bounds every line of a reply."""

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return deadline.create_connection(
            (self.host, self.port), timeout if timeout is not None else self._timeout
        )


class _IMAP4_TLS(_Limits, imapclient_tls.IMAP4_TLS):  # type: ignore[misc]
    """A TLS connection whose timeout bounds every line of a reply."""

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = deadline.create_connection(
            (self.host, self.port), timeout if timeout is not None else self._timeout
        )
        wrapped: socket.socket = imapclient_tls.wrap_socket(sock, self.ssl_context, self.host)
        return wrapped


class _Client(IMAPClient):  # type: ignore[misc]
    """IMAPClient on the connections above."""

    def _create_IMAP4(self) -> imaplib.IMAP4:
        timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _IMAP4_TLS(self.host, self.port, self.ssl_context, timeout)  # type: ignore[call-arg]
        return _IMAP4(self.host, self.port, timeout)


def _connect(endpoint: Endpoint, context: ssl.SSLContext) -> Any:
    """Connect and secure the connection as the endpoint demands; nothing is logged in yet."""
    client = _Client(
        endpoint.host,
        port=endpoint.port,
        use_uid=True,
        ssl=endpoint.security is Security.TLS,
        ssl_context=context,
        timeout=endpoint.timeout,
    )
    try:
        if endpoint.security is not Security.TLS:
            if client._imap.state == "AUTH":  # imaplib records PREAUTH only here
                raise TlsError(
                    f"{endpoint.address} greeted an unencrypted connection with PREAUTH "
                    "(already logged in, no encryption possible); refusing to use it.",
                    title="Unencrypted session refused",
                )
            if endpoint.security is Security.STARTTLS:
                if "STARTTLS" not in capabilities(client):
                    raise TlsError(
                        f"{endpoint.address} does not offer STARTTLS; refusing to continue "
                        'unencrypted. Try security = "tls" on port 993.',
                        title="STARTTLS not offered",
                    )
                try:
                    client.starttls(context)
                except (IMAPClientError, imaplib.IMAP4.error) as exc:
                    raise TlsError(
                        f"{endpoint.address} refused STARTTLS: {_text(str(exc))}.",
                        title="STARTTLS refused",
                    ) from None
    except BaseException:
        _close(client)
        raise
    return client


def _close(client: Any) -> None:
    with contextlib.suppress(OSError, IMAPClientError, imaplib.IMAP4.error):
        client.shutdown()


def _fetch_certificate(endpoint: Endpoint) -> bytes:
    client = _connect(endpoint, probe_context())
    try:
        der: bytes = client.socket().getpeercert(binary_form=True) or b""
        return der
    finally:
        _close(client)


def connect(endpoint: Endpoint) -> Any:
    """An IMAPClient connected under the TLS policy, not yet logged in.

    Raises ConnectError, TlsError or ProtocolError with a message a person can act on.
    """
    try:
        return _connect(endpoint, client_context(endpoint))
    except (MailError, OSError, ssl.SSLError, EOFError) as exc:
        raise translate(exc, endpoint, lambda: _fetch_certificate(endpoint)) from None
    except (IMAPClientError, imaplib.IMAP4.error) as exc:
        raise ProtocolError(
            f"{endpoint.address} does not answer like an IMAP server ({_text(str(exc))}). "
            "Is the port right?"
        ) from None


def login(client: Any, endpoint: Endpoint, password: str) -> None:
    """Log in, refusing to send the password unencrypted unless the endpoint allows it."""
    encrypted = isinstance(client.socket(), ssl.SSLSocket)
    refuse_plaintext_password(endpoint, encrypted)
    if not encrypted and "LOGINDISABLED" in capabilities(client):
        raise AuthError(f"{endpoint.address} does not allow logging in without encryption.")
    try:
        client.login(endpoint.username, password)
    except LoginError as exc:
        reason = redact(_text(str(exc)), password, endpoint.username)
        reason = reason.removeprefix("b'").removesuffix("'")
        raise AuthError(
            f"{endpoint.address} refused the login for {endpoint.username!r}: "
            f"{reason.rstrip('.') or 'wrong user name or password'}.",
        ) from None
    except (OSError, EOFError, imaplib.IMAP4.abort) as exc:
        raise translate(exc, endpoint) from None


def connect_and_login(endpoint: Endpoint, password: str) -> Any:
    """A logged-in IMAPClient."""
    client = connect(endpoint)
    try:
        login(client, endpoint, password)
    except BaseException:
        _close(client)
        raise
    return client


class _ImapProbe(ProbeSession):
    protocol = Protocol.IMAP
    wire_errors = (IMAPClientError, imaplib.IMAP4.error)

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.client = connect(endpoint)

    def greeting(self) -> str:
        return _text(self.client.welcome)

    def tls_socket(self) -> ssl.SSLSocket | None:
        sock = self.client.socket()
        return sock if isinstance(sock, ssl.SSLSocket) else None

    def capabilities(self) -> tuple[str, ...]:
        return capabilities(self.client)

    def auth_mechanisms(self) -> tuple[str, ...]:
        caps = capabilities(self.client)
        return tuple(cap.removeprefix("AUTH=") for cap in caps if cap.startswith("AUTH="))

    def login(self, password: str) -> None:
        login(self.client, self.endpoint, password)

    def close(self) -> None:
        _close(self.client)


def probe(account_id: str, role: Role, endpoint: Endpoint, password: str) -> ServerReport:
    """Connect, check TLS, log in and report what the server said."""
    return run_probe(_ImapProbe, account_id, role, endpoint, password)
