"""What every local mailbox (Maildir, mbox) offers the services: folders, entries, changes."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from tuimail.model.folder import Folder
from tuimail.model.message import Envelope, Flag, MessageRef


@dataclass(frozen=True)
class LocalEntry:
    """One message of a local folder as a scan sees it."""

    key: str
    """Its identity within the folder, stable while the message stays there (a Maildir unique
    name; for mbox a digest of the message without its status headers, plus a counter)."""
    flags: frozenset[Flag]
    keywords: frozenset[str] = frozenset()
    size: int = 0


class LocalMailboxError(Exception):
    """A local mailbox cannot be read or changed; the message says why and what to do."""


class LocalMailbox(abc.ABC):
    """A local store of mail. Methods are blocking and not thread-safe; one instance per thread."""

    read_only: bool = False
    """True when changes cannot be written (an mbox someone else holds locked, a read-only dir)."""
    notice: str = ""
    """Why it is read-only, in words for a person ("" when it is not)."""

    @abc.abstractmethod
    def folders(self) -> list[Folder]:
        """Every folder, with roles where names say so (Inbox first)."""

    @abc.abstractmethod
    def state(self, folder: str) -> str:
        """A cheap token that changes whenever the folder's content or flags change."""

    @abc.abstractmethod
    def scan(self, folder: str) -> list[LocalEntry]:
        """Every message of the folder with its flags."""

    @abc.abstractmethod
    def envelope(self, folder: str, entry: LocalEntry, ref: MessageRef) -> Envelope:
        """The envelope of one message (from its headers), under the given reference."""

    @abc.abstractmethod
    def read(self, folder: str, key: str) -> bytes:
        """The whole message; LocalMailboxError when it is gone."""

    @abc.abstractmethod
    def set_flags(self, folder: str, key: str, flags: frozenset[Flag]) -> str:
        """Replace the message's flags; returns its key afterwards."""

    @abc.abstractmethod
    def move(self, folder: str, keys: list[str], target: str) -> None:
        """Move messages to another folder of the same mailbox, atomically per message."""

    @abc.abstractmethod
    def copy(self, folder: str, keys: list[str], target: str) -> None:
        """Copy messages to another folder."""

    @abc.abstractmethod
    def delete(self, folder: str, keys: list[str]) -> None:
        """Remove messages for good."""

    @abc.abstractmethod
    def deliver(self, folder: str, raw: bytes, flags: frozenset[Flag] = frozenset()) -> str:
        """Add a message (durably: written, synced, then made visible); returns its key."""
