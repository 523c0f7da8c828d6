"""Watching an account for new mail while the app is open, until told to stop.

An IMAP account is watched on a connection of its own: IDLE on the Inbox where the server offers
it, else NOOP polling (ImapSession.wait_for_changes). A local account is watched by the state of
its files (mtimes and sizes), polled. Either way a change is synced into the cache and reported
as a NewMail event when messages arrived.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tuimail.model.account import Account
from tuimail.model.errors import AuthError, MailError, SecretError
from tuimail.services.events import EventSink, NewMail, SyncFailed, Watching, ignore_events
from tuimail.store import folders as folder_store
from tuimail.store.database import connect

if TYPE_CHECKING:
    from tuimail.backends.imap.session import ImapSession
    from tuimail.backends.local.base import LocalMailbox
    from tuimail.services.sync import SyncResult

WATCHED_FOLDER = "INBOX"
"""The folder an IMAP account is watched on (IDLE watches one folder per connection)."""

IDLE_ROUND = 20 * 60.0
"""How long one wait_for_changes call lasts before the folder is examined again."""

RETRY_SECONDS = (5.0, 15.0, 60.0, 300.0)
"""Pauses before reconnecting after a failure (the last one repeats)."""


class Watcher:
    """Watches one account until ``stop()``; blocking, run it in a thread of its own."""

    def __init__(
        self,
        account: Account,
        *,
        on_event: EventSink = ignore_events,
        poll: float = 60.0,
    ) -> None:
        self.account = account
        self.on_event = on_event
        self.poll = poll
        """IMAP: seconds between NOOPs where there is no IDLE. Local: between file checks."""
        self.cancel = threading.Event()
        self._session: ImapSession | None = None
        self._session_lock = threading.Lock()

    def stop(self) -> None:
        """Stop watching, from any thread: a connection waiting in IDLE is cut at once."""
        self.cancel.set()
        with self._session_lock:
            session = self._session
        if session is not None:
            session.abort()

    # -- IMAP ------------------------------------------------------------------------------

    def watch_imap(
        self,
        db_path: Path,
        connect_session: Callable[[], ImapSession],
        sync_folder: Callable[[str], SyncResult],
    ) -> None:
        """Wait for changes in the Inbox and sync it each time, until stopped.

        The folder is examined afresh before each wait and compared with the cache, so mail that
        arrived while a sync ran (or before the watch began) is not missed.
        """
        failures = 0
        while not self.cancel.is_set():
            try:
                session = connect_session()
            except (AuthError, SecretError) as exc:  # asking again every minute helps nobody
                self.on_event(SyncFailed(self.account.id, "", exc))
                return
            except MailError as exc:
                failures = self._failed(exc, failures)
                continue
            with self._session_lock:
                self._session = session
            if self.cancel.is_set():
                session.close()
                return
            try:
                self._idle_loop(db_path, session, sync_folder)
                failures = 0
            except MailError as exc:
                if self.cancel.is_set():
                    return
                failures = self._failed(exc, failures)
            finally:
                with self._session_lock:
                    self._session = None
                session.close()

    def _idle_loop(
        self, db_path: Path, session: ImapSession, sync_folder: Callable[[str], SyncResult]
    ) -> None:
        folder = WATCHED_FOLDER
        syncs_in_a_row = 0
        while not self.cancel.is_set():
            selected = session.select(folder, read_only=True, fresh=True)
            if syncs_in_a_row < 2 and _cached_counts(db_path, self.account.id, folder) != (
                selected.uidnext,
                selected.exists,
            ):
                syncs_in_a_row += 1
                self._sync(folder, sync_folder)
                continue
            syncs_in_a_row = 0
            method = "idle" if "IDLE" in session.capabilities else "poll"
            self.on_event(Watching(self.account.id, folder, method))
            if session.wait_for_changes(folder, self.cancel, IDLE_ROUND, poll=self.poll):
                self._sync(folder, sync_folder)
                syncs_in_a_row = 1

    def _sync(self, folder: str, sync_folder: Callable[[str], SyncResult]) -> None:
        result = sync_folder(folder)
        for error in result.errors:
            self.on_event(SyncFailed(self.account.id, folder, error))
        for done in result.folders:
            if done.added:
                self.on_event(NewMail(self.account.id, done.name, done.added))

    def _failed(self, error: MailError, failures: int) -> int:
        self.on_event(SyncFailed(self.account.id, "", error))
        self.cancel.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
        return failures + 1

    # -- local files -------------------------------------------------------------------------

    def watch_local(
        self, open_mailbox: Callable[[], LocalMailbox], sync: Callable[[], SyncResult]
    ) -> None:
        """Check the files' state every ``poll`` seconds; sync when it changed, until stopped."""
        seen: dict[str, str] | None = None
        mailbox: LocalMailbox | None = None
        announced = False
        while not self.cancel.is_set():
            now: dict[str, str] | None
            try:
                mailbox = mailbox or open_mailbox()
                now = _local_states(mailbox)
            except MailError as exc:
                self.on_event(SyncFailed(self.account.id, "", exc))
                mailbox, now = None, seen
            if now != seen:
                result = sync()
                for done in result.folders:
                    if done.added:
                        self.on_event(NewMail(self.account.id, done.name, done.added))
                seen = now
            if not announced:
                announced = True
                self.on_event(Watching(self.account.id, "", "files"))
            self.cancel.wait(self.poll)

    def watch_polling(self, sync: Callable[[], SyncResult]) -> None:
        """Sync every ``poll`` seconds until stopped (a POP3 account: its server has no push)."""
        announced = False
        while not self.cancel.is_set():
            result = sync()
            for done in result.folders:
                if done.added:
                    self.on_event(NewMail(self.account.id, done.name, done.added))
            if not announced:
                announced = True
                self.on_event(Watching(self.account.id, "", "poll"))
            self.cancel.wait(self.poll)


def _cached_counts(db_path: Path, account: str, folder: str) -> tuple[int, int] | None:
    """(UIDNEXT, messages) of a folder as the cache last saw it on the server."""
    db = connect(db_path)
    try:
        state = folder_store.state(db, account, folder)
    finally:
        db.close()
    return None if state is None else (state.uidnext, state.messages)


def _local_states(mailbox: LocalMailbox) -> dict[str, str]:
    """Each folder's state token (cheap: a stat or two per folder)."""
    from tuimail.backends.local.base import LocalMailboxError  # noqa: PLC0415
    from tuimail.services.local import LocalError  # noqa: PLC0415

    try:
        return {f.name: mailbox.state(f.name) for f in mailbox.folders() if f.selectable}
    except (LocalMailboxError, OSError) as exc:
        raise LocalError(str(exc)) from None
