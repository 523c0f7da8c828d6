"""The connection test of every protocol: connect, secure, log in, and report what was seen."""

from __future__ import annotations

import ssl
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from tuimail.backends.tls import describe, redact, translate
from tuimail.mime.sanitize import safe_line
from tuimail.model.account import Endpoint, Protocol, Role
from tuimail.model.errors import MailError, ProtocolError
from tuimail.model.report import ServerReport


class ProbeSession(ABC):
    """One connected session, seen the same way whatever the protocol.

    Constructed with the endpoint, it connects under the TLS policy or raises MailError.
    """

    protocol: ClassVar[Protocol]
    wire_errors: ClassVar[tuple[type[BaseException], ...]] = ()

    @abstractmethod
    def __init__(self, endpoint: Endpoint) -> None:
        """Connect and secure the connection; nothing is logged in yet."""

    """The protocol library's own error types, reported as ProtocolError."""

    @abstractmethod
    def greeting(self) -> str:
        """The server's greeting line."""

    @abstractmethod
    def tls_socket(self) -> ssl.SSLSocket | None:
        """The TLS socket, when the connection is encrypted."""

    @abstractmethod
    def capabilities(self) -> tuple[str, ...]:
        """What the server says it can do (CAPABILITY, CAPA or EHLO)."""

    @abstractmethod
    def auth_mechanisms(self) -> tuple[str, ...]:
        """The SASL mechanisms offered for logging in."""

    @abstractmethod
    def login(self, password: str) -> None:
        """Log in under the TLS policy; raise AuthError when refused."""

    @abstractmethod
    def close(self) -> None:
        """End the session politely, ignoring errors."""


def run_probe(
    session_class: type[ProbeSession],
    account_id: str,
    role: Role,
    endpoint: Endpoint,
    password: str,
) -> ServerReport:
    """Connect, check TLS, log in and report; every failure becomes the report's error."""
    fields: dict[str, Any] = {}

    def report(error: MailError | None = None) -> ServerReport:
        return ServerReport(
            account=account_id,
            role=role,
            protocol=session_class.protocol,
            address=endpoint.address,
            security=endpoint.security,
            error=error,
            **fields,
        )

    try:
        session = session_class(endpoint)
    except MailError as exc:
        return report(exc)
    try:
        fields["greeting"] = safe_line(session.greeting())
        sock = session.tls_socket()
        if sock is not None:
            fields["tls"] = describe(sock, endpoint)
        fields["capabilities"] = session.capabilities()
        fields["auth_mechanisms"] = session.auth_mechanisms()
        session.login(password)
        fields["capabilities"] = session.capabilities()
        fields["logged_in"] = True
    except MailError as exc:
        return report(exc)
    except session.wire_errors as exc:  # before OSError: smtplib's errors are OSErrors
        text = redact(safe_line(str(exc)), password, endpoint.username)
        return report(ProtocolError(f"{endpoint.address}: {text}"))
    except (OSError, EOFError) as exc:
        return report(translate(exc, endpoint))
    finally:
        session.close()
    return report()
