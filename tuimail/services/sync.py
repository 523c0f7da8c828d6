"""Keeping the cache of an IMAP account in step with the server, folder by folder."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from tuimail.backends.imap import wire
from tuimail.backends.imap.session import Cancelled, ImapSession, SelectedFolder, open_session
from tuimail.model.account import Account
from tuimail.model.errors import CacheError, ConnectError, MailError, ProtocolError
from tuimail.model.folder import ROLE_ORDER, Folder
from tuimail.model.message import Envelope
from tuimail.services.events import (
    EnvelopesAdded,
    EnvelopesChanged,
    EnvelopesRemoved,
    EventSink,
    FolderReset,
    FoldersUpdated,
    SyncFailed,
    SyncFinished,
    SyncProgress,
    SyncStarted,
    ignore_events,
)
from tuimail.store import folders as folder_store
from tuimail.store import messages as message_store
from tuimail.store.database import connect, transaction

BATCH = 2000
"""Envelopes committed together: a sync killed at any point loses at most one batch."""

RETRIES = 3
"""How often a dropped connection is reopened within one sync before giving up."""


@dataclass
class FolderResult:
    """What one folder's sync changed."""

    name: str
    added: int = 0
    changed: int = 0
    removed: int = 0
    reset: bool = False
    unchanged: bool = False


@dataclass
class SyncResult:
    """What a sync of one account did, and what went wrong."""

    account: str
    folders: list[FolderResult] = field(default_factory=list)
    errors: list[MailError] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def added(self) -> int:
        """New messages over all folders."""
        return sum(f.added for f in self.folders)

    @property
    def changed(self) -> int:
        """Messages whose flags changed."""
        return sum(f.changed for f in self.folders)

    @property
    def removed(self) -> int:
        """Messages gone from the server."""
        return sum(f.removed for f in self.folders)


SessionFactory = Callable[[], ImapSession]
_T = TypeVar("_T")


def _folder_order(found: Sequence[Folder]) -> list[Folder]:
    rank = {role: index for index, role in enumerate(ROLE_ORDER)}
    return sorted(
        (f for f in found if f.selectable),
        key=lambda f: (rank[f.role], f.name.casefold()),
    )


class AccountSync:
    """One sync of one IMAP account into the cache at ``db_path``."""

    def __init__(
        self,
        db_path: Path,
        account: Account,
        open_session: SessionFactory,
        *,
        on_event: EventSink = ignore_events,
        cancel: threading.Event | None = None,
        before_folders: Callable[[ImapSession], object] | None = None,
        batch: int = BATCH,
    ) -> None:
        self.db_path = db_path
        self.batch = max(1, batch)
        self.account = account
        self.open_session = open_session
        self.on_event = on_event
        self.cancel = cancel or threading.Event()
        self.before_folders = before_folders
        self.db = connect(db_path)
        self.session: ImapSession | None = None
        self._errors: list[MailError] = []

    def close(self) -> None:
        """Log out and close the cache connection."""
        if self.session is not None:
            self.session.close()
            self.session = None
        self.db.close()

    def _session(self) -> ImapSession:
        if self.session is None:
            self.session = self.open_session()
        return self.session

    def _drop_session(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def run(self, only: Sequence[str] | None = None) -> SyncResult:
        """Sync the folder list, then each folder (Inbox first); errors are collected, not raised.

        A dropped connection is reopened (with a growing pause) up to RETRIES times. Setting the
        cancel event stops the sync within about half a second, even in the middle of a reply.
        """
        finished = threading.Event()
        watcher = threading.Thread(
            target=self._watch_cancel, args=(finished,), name="tuimail-sync-cancel", daemon=True
        )
        watcher.start()
        try:
            return self._run(only)
        finally:
            finished.set()
            watcher.join()

    def _watch_cancel(self, finished: threading.Event) -> None:
        """Cut the connection when cancel is set: a blocked read then ends at once."""
        while not finished.is_set():
            if self.cancel.wait(0.25):
                session = self.session
                if session is not None and not finished.is_set():
                    session.abort()
                return

    def _run(self, only: Sequence[str] | None) -> SyncResult:
        started = time.monotonic()
        result = SyncResult(self.account.id)
        self.on_event(SyncStarted(self.account.id))
        try:
            session = self._retrying(self._session)
            if session is None:
                return self._finish(result, started)
            if self.before_folders is not None:
                self.before_folders(session)
            found = self._retrying(lambda: self._session().folders())
            if found is None:
                return self._finish(result, started)
            for name in self._session().unusable_folders:
                self._report(
                    "",
                    ProtocolError(
                        f"{self.account.id}: the server lists a folder whose name tuimail cannot "
                        f"use ({name}: not valid modified UTF-7, or holding control "
                        "characters); it is left out."
                    ),
                )
            gone = folder_store.save_folders(self.db, self.account.id, found)
            if gone:
                self.on_event(EnvelopesRemoved(self.account.id, "", 0))
            self.on_event(FoldersUpdated(self.account.id, tuple(found)))
            targets = _folder_order(found)
            if only:
                targets, missing = _chosen(targets, only)
                for name in missing:
                    result.errors.append(
                        MailError(f"{self.account.id} has no folder named {name!r}.")
                    )
            for folder in targets:
                if self.cancel.is_set():
                    result.cancelled = True
                    break
                outcome = self._retrying(partial(self.sync_folder, folder.name), folder.name)
                if outcome is not None:
                    result.folders.append(outcome)
        except Cancelled:
            result.cancelled = True
        except MailError as exc:
            result.errors.append(exc)
            self.on_event(SyncFailed(self.account.id, "", exc))
        return self._finish(result, started)

    def _finish(self, result: SyncResult, started: float) -> SyncResult:
        result.errors.extend(self._errors)
        self._errors.clear()
        result.cancelled = result.cancelled or self.cancel.is_set()
        result.seconds = time.monotonic() - started
        self.on_event(SyncFinished(self.account.id, result.added, len(result.errors)))
        return result

    def _retrying(self, step: Callable[[], _T], folder: str = "") -> _T | None:
        delay = 1.0
        for attempt in range(RETRIES + 1):
            if self.cancel.is_set():
                raise Cancelled
            try:
                return step()
            except ConnectError as exc:
                self._drop_session()
                if self.cancel.is_set():
                    raise Cancelled from None
                if attempt == RETRIES:
                    self._report(folder, exc)
                    return None
                if self.cancel.wait(delay):
                    raise Cancelled from None
                delay *= 2
            except Cancelled:
                self._drop_session()
                raise
            except MailError as exc:
                if not folder:
                    raise  # reported once, by run()
                self._report(folder, exc)
                return None
        return None

    def _report(self, folder: str, exc: MailError) -> None:
        self._errors.append(exc)
        self.on_event(SyncFailed(self.account.id, folder, exc))

    # -- one folder --------------------------------------------------------------------------

    def sync_folder(self, name: str) -> FolderResult:
        """Bring one folder of the cache in step with the server."""
        session = self._session()
        db = self.db
        result = FolderResult(name)
        selected = session.select(name, read_only=True, fresh=True)
        state = folder_store.state(db, self.account.id, name)
        if state is None:  # a folder that appeared since the folder list was read
            folder_store.save_folders(
                db,
                self.account.id,
                [*folder_store.folders(db, self.account.id), Folder(self.account.id, name)],
            )
            state = self._state(name)
        folder = state.id
        if state.uidvalidity != selected.uidvalidity:
            with transaction(db):
                dropped = folder_store.reset(db, folder, selected.uidvalidity)
            if state.uidvalidity:
                result.reset = True
                self.on_event(FolderReset(self.account.id, name, dropped))
            state = self._state(name)
        cached_count = message_store.count(db, folder)
        if (
            selected.uidnext == state.uidnext
            and selected.exists == state.messages == cached_count
            and session.condstore
            and selected.highestmodseq > 0  # a [NOMODSEQ] folder must have its flags read
            and selected.highestmodseq == state.highestmodseq
        ):
            result.unchanged = True
            return result
        highest = message_store.max_uid(db, folder)
        if selected.exists and (selected.uidnext == 0 or selected.uidnext > highest + 1):
            result.added = self._fetch_new_newest_first(session, selected, folder, highest)
        present = self._refresh_flags(
            session, selected=selected, state=state, folder=folder, highest=highest, result=result
        )
        covered = highest  # a flag fetch saw the UIDs up to the old highest one
        cached_count = message_store.count(db, folder)
        if present is None and cached_count != selected.exists:
            present = set(session.search_uids("ALL"))
            covered = max(present, default=0) if present else selected.uidnext
            covered = max(covered, message_store.max_uid(db, folder))
        if present is not None:
            cached = set(message_store.uids(db, folder))
            gone = {uid for uid in cached if uid <= covered} - present
            if gone:
                with transaction(db):
                    result.removed = message_store.remove_uids(db, folder, gone)
                self.on_event(EnvelopesRemoved(self.account.id, name, result.removed))
            missing = present - cached
            if missing:  # a gap left by an earlier sync that was stopped
                result.added += self._fetch_new(
                    session, selected, folder, wire.compress_uids(missing), 0
                )
        with transaction(db):
            folder_store.save_state(
                db,
                folder,
                uidvalidity=selected.uidvalidity,
                uidnext=selected.uidnext,
                highestmodseq=selected.highestmodseq,
                messages=selected.exists,
            )
        return result

    def _state(self, name: str) -> folder_store.FolderState:
        state = folder_store.state(self.db, self.account.id, name)
        if state is None:
            raise CacheError(f"The folder {name!r} vanished from the cache during the sync.")
        return state

    def _fetch_new_newest_first(
        self, session: ImapSession, selected: SelectedFolder, folder: int, highest: int
    ) -> int:
        """Fetch UIDs above ``highest``, the newest first, in ranges of a batch.

        A list showing the folder newest first fills from the top while the rest arrives. A
        sync stopped half-way leaves a gap below what it fetched; the next one finds it by
        counting and fetches it.
        """
        top = selected.uidnext - 1
        if top <= highest or top - highest <= self.batch:
            return self._fetch_new(session, selected, folder, f"{highest + 1}:*", highest)
        added = self._fetch_new(session, selected, folder, f"{top + 1}:*", top)  # any newer
        upper = top
        while upper > highest:
            lower = max(highest + 1, upper - self.batch + 1)
            added += self._fetch_new(session, selected, folder, f"{lower}:{upper}", lower - 1)
            upper = lower - 1
        return added

    def _fetch_new(
        self, session: ImapSession, selected: SelectedFolder, folder: int, uids: str, above: int
    ) -> int:
        name = selected.name
        total = selected.exists
        start = message_store.count(self.db, folder)
        account = self.account.id
        added = 0
        batch: list[Envelope] = []

        def commit() -> None:
            nonlocal added
            with transaction(self.db):
                count = message_store.add(self.db, folder, batch)
            batch.clear()
            added += count
            self.on_event(SyncProgress(account, name, min(start + added, total), total))
            self.on_event(EnvelopesAdded(account, name, count))

        def take(envelope: Envelope) -> None:
            if envelope.ref.uid > above:  # "n:*" also returns the highest UID when n is beyond it
                batch.append(envelope)
                if len(batch) >= self.batch:
                    commit()

        try:
            session.fetch_envelopes(uids, take, cancel=self.cancel)
        finally:
            if batch:  # what arrived before a cancel or a dropped connection is kept
                commit()
        return added

    def _refresh_flags(
        self,
        session: ImapSession,
        *,
        selected: SelectedFolder,
        state: folder_store.FolderState,
        folder: int,
        highest: int,
        result: FolderResult,
    ) -> set[int] | None:
        """Update flags of cached messages; returns the UIDs seen when every flag was fetched."""
        if highest == 0:
            return None
        if session.condstore and state.highestmodseq and selected.highestmodseq:
            if selected.highestmodseq == state.highestmodseq:
                return None
            changes = session.fetch_flags(
                f"1:{highest}", changed_since=state.highestmodseq, cancel=self.cancel
            )
            present = None
        else:
            changes = session.fetch_flags(f"1:{highest}", cancel=self.cancel)
            present = {uid for uid, _, _, _ in changes}
        with transaction(self.db):
            result.changed = message_store.set_flags(self.db, folder, changes)
        if result.changed:
            self.on_event(EnvelopesChanged(self.account.id, selected.name, result.changed))
        return present


def _chosen(found: list[Folder], only: Sequence[str]) -> tuple[list[Folder], list[str]]:
    """The folders named (exactly, else ignoring case), and the names that match none."""
    chosen: list[Folder] = []
    missing = []
    for name in only:
        exact = [f for f in found if f.name == name]
        matches = exact or [f for f in found if f.name.casefold() == name.casefold()]
        if not matches:
            missing.append(name)
        chosen.extend(f for f in matches if f not in chosen)
    return chosen, missing


def sync_account(
    db_path: Path,
    account: Account,
    password: str,
    *,
    folders: Sequence[str] | None = None,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
    before_folders: Callable[[ImapSession], object] | None = None,
    batch: int = BATCH,
) -> SyncResult:
    """Sync an IMAP account (all folders, or just ``folders``) into the cache at ``db_path``."""
    sync = AccountSync(
        db_path,
        account,
        lambda: open_session(account.server(), password, account.id),
        on_event=on_event,
        cancel=cancel,
        before_folders=before_folders,
        batch=batch,
    )
    try:
        return sync.run(folders)
    finally:
        sync.close()
