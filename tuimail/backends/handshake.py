"""Does a host speak IMAP, POP3 or SMTP on a port over verified TLS? Greeting and capabilities only.

Discovery's probe of guessed server names: a bare TCP connect proves nothing, so each probe reads
the protocol's greeting, secures the connection (implicit TLS, or STARTTLS/STLS with the
certificate verified against the host name), asks CAPABILITY, CAPA or EHLO, and leaves. It never
logs in. The socket is opened through discovery's DNS (so tests can use their own); everything
else is imaplib, poplib and smtplib with tuimail's TLS policy.
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from tuimail.backends.dns import Dns, LookupFailed, remaining
from tuimail.backends.tls import client_context, translate
from tuimail.mime.sanitize import safe_line
from tuimail.model.account import Endpoint, Protocol, Security
from tuimail.model.errors import ConnectError, MailError, ProtocolError, TlsError

Dial = Callable[[], socket.socket]


@dataclass(frozen=True)
class Handshake:
    """What a server said before any login."""

    greeting: str
    capabilities: tuple[str, ...]


class _Imap(imaplib.IMAP4):
    def __init__(self, host: str, port: int, dial: Dial, timeout: float) -> None:
        self._dial = dial
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return self._dial()


class _Imaps(imaplib.IMAP4_SSL):
    def __init__(
        self, host: str, port: int, dial: Dial, context: ssl.SSLContext, timeout: float
    ) -> None:
        self._dial = dial
        super().__init__(host, port, ssl_context=context, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock: socket.socket = self.ssl_context.wrap_socket(self._dial(), server_hostname=self.host)
        return sock


class _Pop(poplib.POP3):
    def __init__(self, host: str, port: int, dial: Dial, timeout: float) -> None:
        self._dial = dial
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float) -> socket.socket:
        return self._dial()


class _Pops(poplib.POP3_SSL):
    def __init__(
        self, host: str, port: int, dial: Dial, context: ssl.SSLContext, timeout: float
    ) -> None:
        self._dial = dial
        self._context = context
        super().__init__(host, port, context=context, timeout=timeout)

    def _create_socket(self, timeout: float) -> socket.socket:
        return self._context.wrap_socket(self._dial(), server_hostname=self.host)


class _Smtp(smtplib.SMTP):
    def __init__(self, host: str, dial: Dial, timeout: float) -> None:
        self._dial = dial
        # a fixed EHLO name: socket.getfqdn() may wait on a slow reverse lookup
        super().__init__(local_hostname="localhost", timeout=timeout)
        self._host = host  # the name TLS verifies the certificate against

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._dial()


class _Smtps(smtplib.SMTP_SSL):
    def __init__(self, host: str, dial: Dial, context: ssl.SSLContext, timeout: float) -> None:
        self._dial = dial
        super().__init__(local_hostname="localhost", context=context, timeout=timeout)
        self._host = host

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.context.wrap_socket(self._dial(), server_hostname=self._host)


def _not_offered(endpoint: Endpoint, what: str) -> TlsError:
    return TlsError(
        f"{endpoint.address} does not offer {what}; refusing to continue unencrypted.",
        title=f"{what} not offered",
    )


def _imap(endpoint: Endpoint, dial: Dial, context: ssl.SSLContext, wait: float) -> Handshake:
    client: imaplib.IMAP4
    if endpoint.security is Security.TLS:
        client = _Imaps(endpoint.host, endpoint.port, dial, context, wait)
    else:
        client = _Imap(endpoint.host, endpoint.port, dial, wait)
    try:
        greeting = safe_line(client.welcome.decode("utf-8", "replace"))
        if endpoint.security is Security.STARTTLS:
            if client.state == "AUTH":
                raise TlsError(
                    f"{endpoint.address} greets an unencrypted connection with PREAUTH.",
                    title="Unencrypted session refused",
                )
            if "STARTTLS" not in client.capabilities:
                raise _not_offered(endpoint, "STARTTLS")
            client.starttls(ssl_context=context)
        caps = tuple(safe_line(str(cap)).upper() for cap in client.capabilities)
        if "LOGINDISABLED" in caps:
            raise ProtocolError(
                f"{endpoint.address} allows no password login.", title="No login offered"
            )
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
        return Handshake(greeting, caps)
    finally:
        with contextlib.suppress(OSError):
            client.shutdown()


def _pop3(endpoint: Endpoint, dial: Dial, context: ssl.SSLContext, wait: float) -> Handshake:
    pop: poplib.POP3
    if endpoint.security is Security.TLS:
        pop = _Pops(endpoint.host, endpoint.port, dial, context, wait)
    else:
        pop = _Pop(endpoint.host, endpoint.port, dial, wait)

    def capa() -> dict[str, list[str]]:
        try:
            return {name.upper(): args for name, args in pop.capa().items()}
        except poplib.error_proto:
            return {}

    try:
        greeting = safe_line(pop.getwelcome().decode("utf-8", "replace"))
        if endpoint.security is Security.STARTTLS:
            if "STLS" not in capa():
                raise _not_offered(endpoint, "STLS")
            pop.stls(context=context)
        caps = tuple(safe_line(" ".join([name, *args])) for name, args in capa().items())
        with contextlib.suppress(poplib.error_proto, OSError):
            pop.quit()
        return Handshake(greeting, caps)
    finally:
        with contextlib.suppress(OSError):
            pop.close()


def _smtp(endpoint: Endpoint, dial: Dial, context: ssl.SSLContext, wait: float) -> Handshake:
    smtp: smtplib.SMTP
    if endpoint.security is Security.TLS:
        smtp = _Smtps(endpoint.host, dial, context, wait)
    else:
        smtp = _Smtp(endpoint.host, dial, wait)
    try:
        code, message = smtp.connect(endpoint.host, endpoint.port)
        text = safe_line(message.decode("utf-8", "replace"))
        if code != 220:
            raise ProtocolError(f"{endpoint.address} greeted with {code} {text}.")
        greeting = f"{code} {text}"
        smtp.ehlo()
        if endpoint.security is Security.STARTTLS:
            if not smtp.has_extn("starttls"):
                raise _not_offered(endpoint, "STARTTLS")
            smtp.starttls(context=context)
            smtp.ehlo()
        if not smtp.has_extn("auth"):
            raise ProtocolError(
                f"{endpoint.address} offers no login (no AUTH): not a submission server.",
                title="No login offered",
            )
        caps = tuple(
            safe_line(" ".join([name, *value.split()])).upper()
            for name, value in smtp.esmtp_features.items()
        )
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        return Handshake(greeting, caps)
    finally:
        with contextlib.suppress(OSError):
            smtp.close()


_PROTOCOLS = {Protocol.IMAP: _imap, Protocol.POP3: _pop3, Protocol.SMTP: _smtp}
_WIRE_ERRORS = (imaplib.IMAP4.error, poplib.error_proto, smtplib.SMTPException)


def handshake(
    protocol: Protocol,
    host: str,
    port: int,
    security: Security,
    *,
    dns: Dns,
    deadline: float,
    context: ssl.SSLContext | None = None,
) -> Handshake:
    """Greet ``host`` on ``port`` and read its capabilities under verified TLS.

    ``context`` (a verifying one, shared by many probes to save loading the CA store each time)
    defaults to the TLS policy's client context. Raises MailError (its title says what went wrong
    in a few words) when the server is not there, is not that protocol, or cannot be secured.
    ``security`` NONE is refused outright.
    """
    endpoint = Endpoint(
        protocol, host, port, security, "", ca_file=dns.network.ca_file, timeout=remaining(deadline)
    )
    if security is Security.NONE:
        raise TlsError("Unencrypted connections are never proposed.")
    try:
        context = context or client_context(endpoint)
        return _PROTOCOLS[protocol](
            endpoint, lambda: dns.connect(host, port, deadline), context, remaining(deadline)
        )
    except LookupFailed as exc:
        raise ConnectError(f"{host}: {exc}.", title="Unknown host") from None
    except MailError:
        raise
    except smtplib.SMTPServerDisconnected:
        raise ConnectError(
            f"{endpoint.address} closed the connection.", title="Connection lost"
        ) from None
    except _WIRE_ERRORS as exc:
        raise ProtocolError(
            f"{endpoint.address} does not answer like a {protocol.name} server "
            f"({safe_line(str(exc))[:200]}).",
            title=f"Not {protocol.name}",
        ) from None
    except (OSError, EOFError) as exc:
        raise translate(exc, endpoint) from None
