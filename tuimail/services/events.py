"""Events that services report through their ``on_event`` callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tuimail.model.account import Endpoint, Role
from tuimail.model.errors import MailError
from tuimail.model.folder import Folder
from tuimail.model.report import ServerReport


@dataclass(frozen=True)
class Event:
    """Base of every service event."""


@dataclass(frozen=True)
class ServerCheckStarted(Event):
    """A connection test of one server began."""

    account: str
    role: Role
    endpoint: Endpoint


@dataclass(frozen=True)
class ServerChecked(Event):
    """A connection test of one server ended, well or not."""

    report: ServerReport


@dataclass(frozen=True)
class SyncStarted(Event):
    """A sync of an account began."""

    account: str


@dataclass(frozen=True)
class FoldersUpdated(Event):
    """The folder list of an account was read from the server."""

    account: str
    folders: tuple[Folder, ...]


@dataclass(frozen=True)
class SyncProgress(Event):
    """New envelopes of a folder are being fetched: ``done`` of about ``total``."""

    account: str
    folder: str
    done: int
    total: int


@dataclass(frozen=True)
class EnvelopesAdded(Event):
    """New messages were added to a folder's cache."""

    account: str
    folder: str
    count: int


@dataclass(frozen=True)
class EnvelopesChanged(Event):
    """Flags of cached messages changed."""

    account: str
    folder: str
    count: int


@dataclass(frozen=True)
class EnvelopesRemoved(Event):
    """Messages left a folder (expunged on the server, or the folder itself went away)."""

    account: str
    folder: str
    count: int


@dataclass(frozen=True)
class FolderReset(Event):
    """A folder's UIDVALIDITY changed: its cache (and queued actions on it) were dropped."""

    account: str
    folder: str
    dropped: int


@dataclass(frozen=True)
class SyncFailed(Event):
    """Something of a sync failed; ``folder`` is empty when it was not one folder's fault."""

    account: str
    folder: str
    error: MailError


@dataclass(frozen=True)
class SyncFinished(Event):
    """A sync of an account ended (completely, with errors, or cancelled)."""

    account: str
    added: int
    errors: int


@dataclass(frozen=True)
class Watching(Event):
    """An account is being watched for new mail (after a connect, or after each change)."""

    account: str
    folder: str
    """The folder watched ("" for a local account: all of its files)."""
    method: str
    """How: "idle" (IMAP IDLE), "poll" (IMAP NOOP polling) or "files" (local files' state)."""


@dataclass(frozen=True)
class NewMail(Event):
    """Messages arrived in a folder while it was being watched (already in the cache)."""

    account: str
    folder: str
    count: int


@dataclass(frozen=True)
class ActionFailed(Event):
    """A queued action was refused by the server; the cache was put back."""

    account: str
    description: str
    error: MailError


EventSink = Callable[[Event], None]
"""Where a service sends its events; called from the service's thread."""


def ignore_events(event: Event) -> None:
    """An event sink that drops everything."""
