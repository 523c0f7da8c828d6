"""POP3 through poplib under the TLS policy: connect, secure, log in."""

from __future__ import annotations

import base64
import contextlib
import poplib
import socket
import ssl
from collections.abc import Callable

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
    """Server text (poplib gives bytes, or str for its own complaints) made safe to show."""
    raw = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return safe_line(raw)


def capabilities(pop: poplib.POP3) -> dict[str, list[str]]:
    """The CAPA answer, upper-case names to arguments; empty when the server has no CAPA."""
    try:
        return {name.upper(): args for name, args in pop.capa().items()}
    except poplib.error_proto:
        return {}


class _POP3(poplib.POP3):
    """poplib.POP3 on a socket whose timeout bounds every line of a reply."""

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return deadline.create_connection((self.host, self.port), timeout)


class _POP3_SSL(poplib.POP3_SSL):
    """poplib.POP3_SSL on a socket whose timeout bounds every line of a reply."""

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = deadline.create_connection((self.host, self.port), timeout)
        context: ssl.SSLContext = self.context  # type: ignore[attr-defined]
        return context.wrap_socket(sock, server_hostname=self.host)


def _connect(endpoint: Endpoint, context: Callable[[], ssl.SSLContext]) -> poplib.POP3:
    """Connect; the TLS context is made only when TLS is used (loading CAs takes a while)."""
    pop: poplib.POP3
    if endpoint.security is Security.TLS:
        pop = _POP3_SSL(endpoint.host, endpoint.port, timeout=endpoint.timeout, context=context())
    else:
        pop = _POP3(endpoint.host, endpoint.port, timeout=endpoint.timeout)
    try:
        if endpoint.security is Security.STARTTLS:
            if "STLS" not in capabilities(pop):
                raise TlsError(
                    f"{endpoint.address} does not offer STLS; refusing to continue unencrypted. "
                    'Try security = "tls" on port 995.',
                    title="STARTTLS not offered",
                )
            try:
                pop.stls(context=context())
            except poplib.error_proto as exc:
                raise TlsError(f"{endpoint.address} refused STLS: {_text(exc.args[0])}.") from None
    except BaseException:
        _close(pop)
        raise
    return pop


def _close(pop: poplib.POP3) -> None:
    with contextlib.suppress(OSError, EOFError, poplib.error_proto):
        pop.close()


def _fetch_certificate(endpoint: Endpoint) -> bytes:
    pop = _connect(endpoint, probe_context)
    try:
        return pop.sock.getpeercert(binary_form=True) or b""  # type: ignore[attr-defined]
    finally:
        _close(pop)


def connect(endpoint: Endpoint) -> poplib.POP3:
    """A POP3 session connected under the TLS policy, not yet logged in."""
    try:
        return _connect(endpoint, lambda: client_context(endpoint))
    except (MailError, OSError, ssl.SSLError, EOFError) as exc:
        raise translate(exc, endpoint, lambda: _fetch_certificate(endpoint)) from None
    except poplib.error_proto as exc:
        raise ProtocolError(
            f"{endpoint.address} does not answer like a POP3 server ({_text(exc.args[0])}). "
            "Is the port right?"
        ) from None


def login(pop: poplib.POP3, endpoint: Endpoint, password: str, *, apop: bool = False) -> None:
    """Log in: APOP when asked for, else USER/PASS, else SASL PLAIN.

    The password (or the APOP digest of it) is never sent unencrypted unless the endpoint allows it.
    """
    refuse_plaintext_password(endpoint, isinstance(pop.sock, ssl.SSLSocket))
    caps = capabilities(pop)
    sasl = {m.upper() for m in caps.get("SASL", [])}
    try:
        if apop:
            if b"<" not in pop.getwelcome():
                raise AuthError(
                    f"{endpoint.address} does not offer APOP (its greeting has no timestamp). "
                    "Remove apop = true from the account's [pop3] settings.",
                    title="APOP not offered",
                )
            pop.apop(endpoint.username, password)
        elif "USER" in caps or not caps:
            pop.user(endpoint.username)
            pop.pass_(password)
        elif "PLAIN" in sasl:
            token = base64.b64encode(f"\0{endpoint.username}\0{password}".encode()).decode()
            _command(pop, f"AUTH PLAIN {token}")
        else:
            offered = ", ".join(sorted(sasl)) or "none"
            raise AuthError(
                f"{endpoint.address} offers no login tuimail can use (USER/PASS or SASL PLAIN; "
                f"it offers: {safe_line(offered)}).",
                title="No common login method",
            )
    except poplib.error_proto as exc:
        reason = redact(_text(exc.args[0]), password, endpoint.username)
        reason = reason.removeprefix("-ERR").strip()
        raise AuthError(
            f"{endpoint.address} refused the login for {endpoint.username!r}: "
            f"{reason.rstrip('.') or 'wrong user name or password'}."
        ) from None
    except (OSError, EOFError) as exc:
        raise translate(exc, endpoint) from None


def _command(pop: poplib.POP3, line: str) -> bytes:
    """Send one command and read its one-line answer (+OK, or error_proto for -ERR)."""
    answer: bytes = pop._shortcmd(line)  # type: ignore[attr-defined]
    return answer


class _Pop3Probe(ProbeSession):
    protocol = Protocol.POP3
    wire_errors = (poplib.error_proto,)

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.pop = connect(endpoint)

    def greeting(self) -> str:
        return _text(self.pop.getwelcome())

    def tls_socket(self) -> ssl.SSLSocket | None:
        return self.pop.sock if isinstance(self.pop.sock, ssl.SSLSocket) else None

    def capabilities(self) -> tuple[str, ...]:
        return tuple(
            safe_line(" ".join([name, *args])) for name, args in capabilities(self.pop).items()
        )

    def auth_mechanisms(self) -> tuple[str, ...]:
        caps = capabilities(self.pop)
        mechanisms = [safe_line(m).upper() for m in caps.get("SASL", [])]
        if "USER" in caps:
            mechanisms.append("USER")
        return tuple(mechanisms)

    def login(self, password: str) -> None:
        login(self.pop, self.endpoint, password)

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, poplib.error_proto):
            self.pop.quit()
        _close(self.pop)


def probe(account_id: str, role: Role, endpoint: Endpoint, password: str) -> ServerReport:
    """Connect, check TLS, log in and report what the server said."""
    return run_probe(_Pop3Probe, account_id, role, endpoint, password)
