"""Accounts and the servers they talk to."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from tuimail.model.errors import ConfigError


class Security(enum.StrEnum):
    """How a connection is encrypted."""

    TLS = "tls"
    """Implicit TLS from the first byte (IMAPS 993, POP3S 995, SMTPS 465)."""
    STARTTLS = "starttls"
    """A plain connection upgraded with STARTTLS/STLS; failing that, tuimail stops."""
    NONE = "none"
    """No encryption. A password is sent only when the endpoint allows plaintext."""


class Protocol(enum.StrEnum):
    """The protocol an endpoint speaks."""

    IMAP = "imap"
    POP3 = "pop3"
    SMTP = "smtp"


class Role(enum.StrEnum):
    """What an endpoint is for within its account."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"


DEFAULT_PORTS: dict[tuple[Protocol, Security], int] = {
    (Protocol.IMAP, Security.TLS): 993,
    (Protocol.IMAP, Security.STARTTLS): 143,
    (Protocol.IMAP, Security.NONE): 143,
    (Protocol.POP3, Security.TLS): 995,
    (Protocol.POP3, Security.STARTTLS): 110,
    (Protocol.POP3, Security.NONE): 110,
    (Protocol.SMTP, Security.TLS): 465,
    (Protocol.SMTP, Security.STARTTLS): 587,
    (Protocol.SMTP, Security.NONE): 587,
}


@dataclass(frozen=True)
class Endpoint:
    """One server of an account: where it is, how to secure it, who to log in as."""

    protocol: Protocol
    host: str
    port: int
    security: Security
    username: str
    ca_file: str | None = None
    """A PEM file of CAs trusted for this server in addition to the system store."""
    tls_fingerprint: str | None = None
    """A pinned SHA-256 certificate fingerprint; when set, this certificate is trusted as is."""
    password_command: str | None = None
    """A shell command whose first line of output is the password."""
    allow_plaintext: bool = False
    """Allow sending the password over an unencrypted connection (security = "none")."""
    timeout: float = 30.0
    """Seconds to wait on any network operation before giving up."""

    @property
    def address(self) -> str:
        """``host:port`` as a person would write it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Pop3Options:
    """How a POP3 account treats the messages it downloads."""

    leave_on_server: bool = True
    delete_after_days: int = 0
    """Delete from the server this many days after download; 0 never deletes."""
    delete_when_deleted_locally: bool = False
    """Delete from the server a message that was deleted here (removed from the local Trash)."""
    apop: bool = False
    """Log in with APOP (a digest of the password) instead of USER/PASS."""


class LocalFormat(enum.StrEnum):
    """How a local mailbox is stored on disk."""

    MAILDIR = "maildir"
    """A Maildir (Maildir++ sub-folders as ``.Name`` directories)."""
    MBOX = "mbox"
    """One mbox file, such as ``/var/mail/$USER``."""


@dataclass(frozen=True)
class LocalSource:
    """Mail kept in files on this machine rather than on a server."""

    format: LocalFormat
    path: str
    """Absolute path of the Maildir directory or the mbox file."""


@dataclass(frozen=True)
class Account:
    """A configured mail account."""

    id: str
    """The key of the account in the settings file, e.g. ``work``."""
    name: str
    """The display name used in From."""
    email: str
    incoming: Endpoint | None
    """The IMAP or POP3 server; None for an account whose mail is in local files."""
    outgoing: Endpoint | None = None
    default: bool = False
    pop3: Pop3Options = field(default_factory=Pop3Options)
    local: LocalSource | None = None
    """The Maildir or mbox holding the account's mail, when it is not on a server."""
    sendmail: str | None = None
    """A command that sends a message given on its input (``/usr/sbin/sendmail -t -i``)."""
    save_sent: bool = True
    """Keep a copy of each sent message in the Sent folder (off for servers that do it)."""

    def server(self) -> Endpoint:
        """The incoming server; ConfigError for an account whose mail is in local files."""
        if self.incoming is None:
            raise ConfigError(
                f"Account {self.id!r} keeps its mail in local files, not on a server."
            )
        return self.incoming

    @property
    def endpoints(self) -> tuple[tuple[Role, Endpoint], ...]:
        """The account's servers, incoming first."""
        pairs: list[tuple[Role, Endpoint]] = []
        if self.incoming is not None:
            pairs.append((Role.INCOMING, self.incoming))
        if self.outgoing is not None:
            pairs.append((Role.OUTGOING, self.outgoing))
        return tuple(pairs)
