"""SMTP submission through smtplib under the TLS policy: connect, secure, authenticate."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Any

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
from tuimail.model.errors import AuthError, MailError, ProtocolError, SendError, TlsError
from tuimail.model.report import ServerReport


def _text(value: bytes | str) -> str:
    raw = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return safe_line(raw)


class _Session:
    """An SMTP connection and the greeting it opened with."""

    def __init__(self, smtp: smtplib.SMTP, greeting: str) -> None:
        self.smtp = smtp
        self.greeting = greeting


class _DataSent:
    """Notes when the end of a message's data (CRLF . CRLF) has gone to the server."""

    data_sent = False

    def send(self, s: Any) -> None:
        super().send(s)  # type: ignore[misc]
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.data_sent = True


class _SMTP(_DataSent, smtplib.SMTP):
    """smtplib.SMTP on a socket whose timeout bounds every line of a reply."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return deadline.create_connection((host, port), timeout)


class _SMTP_SSL(_DataSent, smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL on a socket whose timeout bounds every line of a reply."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = deadline.create_connection((host, port), timeout)
        name: str = self._host  # type: ignore[attr-defined]
        return self.context.wrap_socket(sock, server_hostname=name)


def _connect(endpoint: Endpoint, context: ssl.SSLContext) -> _Session:
    smtp: smtplib.SMTP
    if endpoint.security is Security.TLS:
        smtp = _SMTP_SSL(timeout=endpoint.timeout, context=context)
    else:
        smtp = _SMTP(timeout=endpoint.timeout)
    # smtplib takes the name to verify the certificate against from the constructor's host, which
    # would also connect at once and hide the greeting; set it here so TLS checks the right name.
    smtp._host = endpoint.host  # type: ignore[union-attr]
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


@dataclass(frozen=True)
class Delivery:
    """What the server said to one send: who was refused, and why."""

    accepted: tuple[str, ...]
    refused: dict[str, str]
    """Recipient -> the server's reason, for those it would not take."""


def _needs_8bit(raw: bytes) -> bool:
    return any(byte > 127 for byte in raw)


def _refusal(exc: smtplib.SMTPResponseException, text: str, title: str) -> SendError:
    error = SendError(text, title=title)
    error.temporary = 400 <= exc.smtp_code < 500  # "try again later"
    return error


def send(
    endpoint: Endpoint, password: str, sender: str, recipients: list[str], raw: bytes
) -> Delivery:
    """Submit one message: connect, AUTH, check SIZE, MAIL FROM, RCPT TO each, DATA.

    Raises SendError before any data moves when the message is too big for the server or needs
    an extension it lacks; AuthError, ConnectError or TlsError as for any connection; SendError
    when the server refuses the sender, every recipient or the data. A partial acceptance is
    returned, not raised: the caller must not send again to those accepted.
    """
    session = connect(endpoint)
    smtp = session.smtp
    try:
        login(smtp, endpoint, password)
        limit = smtp.esmtp_features.get("size", "").strip()
        if limit.isdigit() and int(limit) and len(raw) > int(limit):
            raise SendError(
                f"The message is {_megabytes(len(raw))}; {endpoint.address} takes at most "
                f"{_megabytes(int(limit))}. Nothing was sent: make the attachments smaller.",
                title="Message too big",
            )
        options = []
        if _needs_8bit(raw):
            if not smtp.has_extn("8bitmime"):
                raise SendError(
                    f"{endpoint.address} does not accept 8-bit messages (no 8BITMIME). "
                    "Nothing was sent.",
                )
            options.append("BODY=8BITMIME")
        if any(not address.isascii() for address in [sender, *recipients]):
            if not smtp.has_extn("smtputf8"):
                raise SendError(
                    f"{endpoint.address} does not accept non-ASCII addresses (no SMTPUTF8). "
                    "Nothing was sent.",
                )
            options.append("SMTPUTF8")
        if smtp.has_extn("size"):
            options.append(f"SIZE={len(raw)}")
        try:
            refused = smtp.sendmail(sender, recipients, raw, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            why = "; ".join(
                f"{_text(rcpt)}: {code} {_text(text)}"
                for rcpt, (code, text) in exc.recipients.items()
            )
            raise SendError(
                f"{endpoint.address} refused every recipient ({why}). Nothing was sent.",
                title="Recipients refused",
            ) from None
        except smtplib.SMTPSenderRefused as exc:
            raise _refusal(
                exc,
                f"{endpoint.address} refused the sender {_text(exc.sender)}: {exc.smtp_code} "
                f"{_text(exc.smtp_error)}. Nothing was sent.",
                "Sender refused",
            ) from None
        except smtplib.SMTPDataError as exc:
            raise _refusal(
                exc,
                f"{endpoint.address} refused the message: {exc.smtp_code} {_text(exc.smtp_error)}.",
                "Message refused",
            ) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise _lost_after_data(smtp, endpoint, _lost(exc)) from None
        except smtplib.SMTPResponseException as exc:
            raise _refusal(
                exc,
                f"{endpoint.address} answered {exc.smtp_code} {_text(exc.smtp_error)}.",
                "Not sent",
            ) from None
        except OSError as exc:
            raise _lost_after_data(smtp, endpoint, exc) from None
        reasons = {_text(rcpt): f"{code} {_text(text)}" for rcpt, (code, text) in refused.items()}
        accepted = tuple(r for r in recipients if _text(r) not in reasons)
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()
        return Delivery(accepted, reasons)
    finally:
        _close(smtp)


def _lost_after_data(smtp: smtplib.SMTP, endpoint: Endpoint, exc: OSError) -> MailError:
    """The connection broke: before the data ended nothing was sent; after, it may have been."""
    if not getattr(smtp, "data_sent", False):
        return translate(exc, endpoint)
    cause = translate(exc, endpoint)
    error = SendError(
        f"{cause.message} This happened after the whole message had gone to the server, which "
        "may have accepted it: it is kept as uncertain and not sent again by itself. Check "
        "with a recipient or in the Sent folder; tuimail outbox flush --resend-uncertain sends "
        "it again.",
        title="Maybe sent",
    )
    error.uncertain = True
    return error


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
