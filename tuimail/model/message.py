"""Messages as the rest of tuimail sees them: addresses, envelopes, flags, bodies, drafts."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Flag(enum.StrEnum):
    """The system flags of RFC 3501; keywords are kept as plain strings beside them."""

    SEEN = "seen"
    ANSWERED = "answered"
    FLAGGED = "flagged"
    DELETED = "deleted"
    DRAFT = "draft"


@dataclass(frozen=True)
class Address:
    """One mailbox: a display name (may be empty) and an address."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class MessageRef:
    """Where a message lives: account, folder and UID within the folder's UIDVALIDITY."""

    account: str
    folder: str
    uid: int
    uidvalidity: int = 0


@dataclass(frozen=True)
class Envelope:
    """What a message list needs to show one row, without the body."""

    ref: MessageRef
    message_id: str
    date: datetime | None
    subject: str
    sender: tuple[Address, ...]
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    flags: frozenset[Flag] = frozenset()
    keywords: frozenset[str] = frozenset()
    size: int = 0
    has_attachments: bool = False
    arrived: datetime | None = None
    """When the server received it (IMAP INTERNALDATE); ``date`` is what the sender claims."""
    modseq: int = 0
    """The server's modification sequence for the message (CONDSTORE), 0 when unknown."""


@dataclass(frozen=True)
class Part:
    """One leaf of a MIME tree."""

    content_type: str
    """Lower-case ``type/subtype``."""
    charset: str | None = None
    filename: str | None = None
    """The name the sender gave; never used as a path without sanitising."""
    size: int = 0
    section: str = ""
    """The IMAP body section, e.g. ``1.2``."""
    disposition: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A part meant to be saved or opened."""

    part: Part
    safe_name: str
    """A base name safe to create in a directory the person chose."""


@dataclass(frozen=True)
class MessageBody:
    """A message's readable text and its attachments."""

    text: str
    """The body as plain text, already safe for a terminal."""
    parts: tuple[Part, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    from_html: bool = False
    links: tuple[str, ...] = ()
    """The URLs that ``[n]`` marks in an HTML body's text point to (``links[n - 1]``)."""
    too_complex: bool = False
    """Whether part of the message was not read (too deep, too many parts, a part too big)."""


@dataclass(frozen=True)
class Draft:
    """A message being written."""

    account: str
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    subject: str = ""
    body: str = ""
    attachments: tuple[str, ...] = ()
    """Paths of files to attach."""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    extra_headers: tuple[tuple[str, str], ...] = field(default=())
    raw_attachments: tuple[tuple[str, str, bytes], ...] = ()
    """Attachments given as data, not files: ``(file name, content type, bytes)`` each.

    A forwarded message (``message/rfc822``, its bytes as received) or the attachments of a
    forwarded message. They follow the files of :attr:`attachments`.
    """
    message_id: str = ""
    """The Message-ID to send with (``<...>``), kept across saves of a draft; empty: a new one."""
