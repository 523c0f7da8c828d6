"""SMTP submission through smtplib under the TLS policy: connect, secure, authenticate."""

from __future__ import annotations

import contextlib
import smtplib
import ssl

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


class _Session:
    """An SMTP connection and the greeting it opened with."""

    def __init__(self, smtp: smtplib.SMTP, greeting: str) -> None:
        self.smtp = smtp
        self.greeting = greeting


def _connect(endpoint: Endpoint, context: ssl.SSLContext) -> _Session:
    smtp: smtplib.SMTP
    if endpoint.security is Security.TLS:
        smtp = smtplib.SMTP_SSL(timeout=endpoint.timeout, context=context)
    else:
        smtp = smtplib.SMTP(timeout=endpoint.timeout)
    # smtplib takes the name to verify the certificate against from the constructor's host, which
    # would also connect at once and hide the greeting; set it here so TLS checks the right name.
    smtp._host = endpoint.host  # type: ignore[attr-defined]
    try:
        code, message = smtp.connect(endpoint.host, endpoint.port)
        if code != 220:
            raise ProtocolError(
                f"{endpoint.address} does not answer like an SMTP server (it greeted with "
                f"{_text(message).rstrip('.')}). Is the port right?"
            )
        greeting = f"{code} {_text(message)}"
        smtp.ehlo()
        if endpoint.security is Security.STARTTLS:
            if not smtp.has_extn("starttls"):
                raise TlsError(
                    f"{endpoint.address} does not offer STARTTLS; refusing to continue "
                    'unencrypted. Try security = "tls" on port 465.',
                    title="STARTTLS not offered",
                )
            try:
                smtp.starttls(context=context)
            except smtplib.SMTPResponseException as exc:
                raise TlsError(
                    f"{endpoint.address} refused STARTTLS: {exc.smtp_code} {_text(exc.smtp_error)}."
                ) from None
            smtp.ehlo()
    except BaseException:
        _close(smtp)
        raise
    return _Session(smtp, greeting)


def _close(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        smtp.close()


def _fetch_certificate(endpoint: Endpoint) -> bytes:
    session = _connect(endpoint, probe_context())
    try:
        sock = session.smtp.sock
        if not isinstance(sock, ssl.SSLSocket):
            return b""
        return sock.getpeercert(binary_form=True) or b""
    finally:
        _close(session.smtp)


def _lost(exc: smtplib.SMTPServerDisconnected) -> OSError:
    """The socket error behind smtplib's "disconnected" (a timeout, a reset), when there is one."""
    cause = exc.__context__
    return cause if isinstance(cause, OSError) else ConnectionResetError()


def connect(endpoint: Endpoint) -> _Session:
    """An SMTP session connected (EHLO done) under the TLS policy, not yet authenticated."""
    try:
        return _connect(endpoint, client_context(endpoint))
    except smtplib.SMTPServerDisconnected as exc:
        raise translate(_lost(exc), endpoint) from None
    except smtplib.SMTPException as exc:  # before OSError: smtplib's errors are OSErrors
        raise ProtocolError(
            f"{endpoint.address} does not answer like a SMTP server ({_text(str(exc))}). "
            "Is the port right?"
        ) from None
    except (MailError, OSError, ssl.SSLError) as exc:
        raise translate(exc, endpoint, lambda: _fetch_certificate(endpoint)) from None


def auth_mechanisms(smtp: smtplib.SMTP) -> tuple[str, ...]:
    """The SASL mechanisms the server offers after EHLO."""
    return tuple(safe_line(m).upper() for m in smtp.esmtp_features.get("auth", "").split())


def login(smtp: smtplib.SMTP, endpoint: Endpoint, password: str) -> None:
    """AUTH with the best mechanism both sides know, never unencrypted unless allowed."""
    refuse_plaintext_password(endpoint, isinstance(smtp.sock, ssl.SSLSocket))
    if not smtp.has_extn("auth"):
        raise AuthError(
            f"{endpoint.address} offers no way to log in (no AUTH in its EHLO answer).",
            title="No common login method",
        )
    try:
        smtp.login(endpoint.username, password)
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthError(
            f"{endpoint.address} refused the login for {endpoint.username!r}: "
            f"{exc.smtp_code} "
            f"{redact(_text(exc.smtp_error), password, endpoint.username).rstrip('.')}."
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise AuthError(
            f"{endpoint.address} offers no login method tuimail knows "
            f"(it offers: {' '.join(auth_mechanisms(smtp)) or 'none'}).",
            title="No common login method",
        ) from None
    except smtplib.SMTPServerDisconnected as exc:
        raise translate(_lost(exc), endpoint) from None
    except OSError as exc:
        raise translate(exc, endpoint) from None


class _SmtpProbe(ProbeSession):
    protocol = Protocol.SMTP
    wire_errors = (smtplib.SMTPException,)

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.session = connect(endpoint)

    def greeting(self) -> str:
        return self.session.greeting

    def tls_socket(self) -> ssl.SSLSocket | None:
        sock = self.session.smtp.sock
        return sock if isinstance(sock, ssl.SSLSocket) else None

    def capabilities(self) -> tuple[str, ...]:
        features = self.session.smtp.esmtp_features
        return tuple(
            safe_line(" ".join([name, *value.split()])).upper() for name, value in features.items()
        )

    def auth_mechanisms(self) -> tuple[str, ...]:
        return auth_mechanisms(self.session.smtp)

    def login(self, password: str) -> None:
        login(self.session.smtp, self.endpoint, password)

    def close(self) -> None:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            self.session.smtp.quit()
        _close(self.session.smtp)


def probe(account_id: str, role: Role, endpoint: Endpoint, password: str) -> ServerReport:
    """Connect, check TLS, authenticate and report what the server said."""
    return run_probe(_SmtpProbe, account_id, role, endpoint, password)
