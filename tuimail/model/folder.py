"""Folders (IMAP mailboxes, Maildir folders) and their special-use roles."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FolderRole(enum.StrEnum):
    """The special use of a folder (RFC 6154), or none."""

    INBOX = "inbox"
    DRAFTS = "drafts"
    SENT = "sent"
    ARCHIVE = "archive"
    JUNK = "junk"
    TRASH = "trash"
    NONE = "none"


ROLE_ORDER: tuple[FolderRole, ...] = (
    FolderRole.INBOX,
    FolderRole.DRAFTS,
    FolderRole.SENT,
    FolderRole.ARCHIVE,
    FolderRole.JUNK,
    FolderRole.TRASH,
    FolderRole.NONE,
)
"""The order in which folders with roles are listed."""


@dataclass(frozen=True)
class Folder:
    """A folder of one account."""

    account: str
    name: str
    """The folder's full name as the server knows it, already decoded from modified UTF-7."""
    delimiter: str = "/"
    role: FolderRole = FolderRole.NONE
    total: int = 0
    unread: int = 0
    selectable: bool = True

    @property
    def path(self) -> tuple[str, ...]:
        """The name split into its levels."""
        return tuple(self.name.split(self.delimiter)) if self.delimiter else (self.name,)
