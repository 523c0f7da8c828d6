"""What a connection test found out about a server."""

from __future__ import annotations

from dataclasses import dataclass

from tuimail.model.account import Protocol, Role, Security
from tuimail.model.errors import MailError


@dataclass(frozen=True)
class TlsInfo:
    """The negotiated TLS session and the server's certificate."""

    version: str
    cipher: str
    subject: str
    issuer: str
    fingerprint: str
    """SHA-256 of the certificate, as ``AB:CD:...``."""
    not_after: str
    pinned: bool = False
    """True when trusted through the account's pinned fingerprint rather than a CA."""


@dataclass(frozen=True)
class ServerReport:
    """The outcome of connecting and logging in to one server."""

    account: str
    role: Role
    protocol: Protocol
    address: str
    security: Security
    greeting: str = ""
    tls: TlsInfo | None = None
    capabilities: tuple[str, ...] = ()
    auth_mechanisms: tuple[str, ...] = ()
    logged_in: bool = False
    error: MailError | None = None

    @property
    def ok(self) -> bool:
        """True when the server was reached securely and accepted the login."""
        return self.error is None and self.logged_in
