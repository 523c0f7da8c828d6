"""What a person does to messages: applied to the cache at once, queued for the server, undoable.

Every action changes the cache first (so the list shows it immediately) and is written to the
``pending_action`` queue in the same transaction. :func:`replay` sends the queue to the server,
oldest first: at once when online, at the next sync when not. A server that refuses an action
gets its folder re-read, which puts the cache back to the server's truth, and an ActionFailed
event says why.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tuimail.backends.imap.session import ImapSession
from tuimail.model.errors import ConnectError, MailError
from tuimail.model.folder import FolderRole
from tuimail.model.message import Flag
from tuimail.services.events import ActionFailed, EventSink, ignore_events
from tuimail.store import folders as folder_store
from tuimail.store import messages as message_store
from tuimail.store import queue as queue_store
from tuimail.store.codec import FLAG_BITS, flags_to_bits
from tuimail.store.database import connect, transaction
from tuimail.store.messages import CachedEnvelope


class Kind(enum.StrEnum):
    """The operations the queue knows."""

    ADD_FLAGS = "add_flags"
    REMOVE_FLAGS = "remove_flags"
    MOVE = "move"
    COPY = "copy"
    EXPUNGE = "expunge"
    """\\Deleted and UID EXPUNGE: deleting where there is no Trash, or in the Trash itself."""


@dataclass
class Done:
    """An action as it was applied, kept so that it can be undone."""

    description: str
    account: str
    folder: str
    queued: list[int]
    """The ids of its queue rows (gone once the server has it)."""
    flags_before: dict[int, int] = field(default_factory=dict)
    """Row id -> flag bits before a flag change."""
    flag: Flag | None = None
    """The one flag a flag change set or cleared (undo touches that flag only)."""
    removed: list[CachedEnvelope] = field(default_factory=list)
    """Envelopes a move took out of the folder."""
    target: str = ""
    undoable: bool = True


class Actions:
    """Apply actions to messages of the cache at ``db_path``; one instance per thread."""

    def __init__(
        self, db_path: Path, *, on_event: EventSink = ignore_events, shared: bool = False
    ) -> None:
        self.db_path = db_path
        # shared: used from several threads, one at a time, under the caller's lock
        self.db: sqlite3.Connection = connect(db_path, shared=shared)
        self.on_event = on_event
        self.last: Done | None = None

    def close(self) -> None:
        """Close the cache connection."""
        self.db.close()

    # -- the actions -----------------------------------------------------------------------

    def mark_answered(self, ids: Sequence[int]) -> None:
        """Flag messages as answered (after a reply went out); not an undoable step."""
        last = self.last
        self._flag(ids, Flag.ANSWERED, True, "mark answered")
        self.last = last

    def mark_read(self, ids: Sequence[int], read: bool = True) -> Done:
        """Mark messages read (\\Seen) or unread."""
        return self._flag(ids, Flag.SEEN, read, "mark read" if read else "mark unread")

    def flag(self, ids: Sequence[int], flagged: bool = True) -> Done:
        """Flag (star) messages or take the flag off."""
        return self._flag(ids, Flag.FLAGGED, flagged, "flag" if flagged else "unflag")

    def move(self, ids: Sequence[int], target: str) -> Done:
        """Move messages to another folder of the same account."""
        return self._move(ids, target, f"move to {target}")

    def copy(self, ids: Sequence[int], target: str) -> Done:
        """Copy messages to another folder (they appear there at its next sync)."""
        groups = self._groups(ids)
        done = Done(f"copy to {target}", "", "", [], target=target, undoable=False)
        with transaction(self.db):
            for (account, folder, fid, validity), envelopes in groups.items():
                self._check_target(account, target)
                done.account, done.folder = account, folder
                done.queued.append(
                    self._queue((account, fid, validity), envelopes, Kind.COPY, target)
                )
        self.last = done
        return done

    def delete(self, ids: Sequence[int]) -> Done:
        """Move to the account's Trash; in the Trash itself, or with no Trash, delete for good.

        Messages of a selection that are in the Trash already are deleted for good; the others
        only go to the Trash (and that part can be undone).
        """
        groups = self._groups(ids)
        accounts = {key[0] for key in groups}
        if len(accounts) > 1:
            raise MailError("Delete messages of one account at a time.")
        account = next(iter(accounts), "")
        trash = folder_store.folder_by_role(self.db, account, FolderRole.TRASH)
        to_trash = [c.id for key, group in groups.items() if key[1] != trash for c in group]
        if trash is not None and to_trash:
            moved = self._move(to_trash, trash, "delete")
            rest = [c.id for key, group in groups.items() if key[1] == trash for c in group]
            if rest:
                self._delete_for_good(self._groups(rest), account)
                self.last = moved if moved.removed else None
            return moved
        return self._delete_for_good(groups, account)

    def _delete_for_good(
        self, groups: dict[tuple[str, str, int, int], list[CachedEnvelope]], account: str
    ) -> Done:
        done = Done("delete for good", account, "", [], undoable=False)
        with transaction(self.db):
            for (acct, folder, fid, validity), envelopes in groups.items():
                done.folder = folder
                done.queued.append(self._queue((acct, fid, validity), envelopes, Kind.EXPUNGE, ""))
                message_store.remove_ids(self.db, [c.id for c in envelopes])
        self.last = done
        return done

    def archive(self, ids: Sequence[int]) -> Done:
        """Move to the account's Archive folder."""
        groups = self._groups(ids)
        accounts = {key[0] for key in groups}
        if len(accounts) > 1:
            raise MailError("Archive messages of one account at a time.")
        account = next(iter(accounts), "")
        archive = folder_store.folder_by_role(self.db, account, FolderRole.ARCHIVE)
        if archive is None:
            raise MailError(
                f"Account {account!r} has no Archive folder (none is marked \\Archive or named "
                "Archive); move the messages to a folder instead."
            )
        return self._move(ids, archive, "archive")

    def undo(self) -> str:
        """Undo the last action; returns what was undone. MailError when nothing can be."""
        done = self.last
        if done is None or not done.undoable:
            raise MailError(
                "There is nothing to undo."
                if done is None
                else f"“{done.description}” cannot be undone."
            )
        self.last = None
        with transaction(self.db):
            still_queued = queue_store.withdraw(self.db, done.queued)
            if done.flags_before:
                self._undo_flags(done, still_queued)
            elif done.removed:
                self._undo_move(done, still_queued)
        return done.description

    # -- the pieces ------------------------------------------------------------------------

    def _groups(self, ids: Sequence[int]) -> dict[tuple[str, str, int, int], list[CachedEnvelope]]:
        found = message_store.by_ids(self.db, ids)
        if not found:
            raise MailError("Those messages are no longer in the cache.")
        groups: dict[tuple[str, str, int, int], list[CachedEnvelope]] = {}
        for cached in found:
            ref = cached.envelope.ref
            fid = folder_store.folder_id(self.db, ref.account, ref.folder)
            if fid is None:
                continue
            groups.setdefault((ref.account, ref.folder, fid, ref.uidvalidity), []).append(cached)
        return groups

    def _flag(self, ids: Sequence[int], flag: Flag, on: bool, description: str) -> Done:
        groups = self._groups(ids)
        bit = FLAG_BITS[flag]
        done = Done(description, "", "", [], flag=flag)
        kind = Kind.ADD_FLAGS if on else Kind.REMOVE_FLAGS
        with transaction(self.db):
            for (account, folder, fid, validity), envelopes in groups.items():
                done.account, done.folder = account, folder
                bits = {c.id: flags_to_bits(c.envelope.flags) for c in envelopes}
                changing = [c for c in envelopes if bool(bits[c.id] & bit) != on]
                if not changing:
                    continue
                done.flags_before.update({c.id: bits[c.id] for c in changing})
                done.queued.append(
                    self._queue((account, fid, validity), changing, kind, flag.value)
                )
                message_store.change_flag_bits(
                    self.db, [c.id for c in changing], add=bit if on else 0, remove=0 if on else bit
                )
        self.last = done if done.flags_before else None
        return done

    def _queue(
        self,
        where: tuple[str, int, int],
        envelopes: Sequence[CachedEnvelope],
        kind: Kind,
        argument: str,
    ) -> int:
        """Queue one action on messages of one (account, folder key, UIDVALIDITY) (caller
        commits); its queue id."""
        account, folder, uidvalidity = where
        return queue_store.add(
            self.db,
            account=account,
            folder=folder,
            uidvalidity=uidvalidity,
            uids=[c.envelope.ref.uid for c in envelopes],
            locations=[c.location for c in envelopes],
            kind=kind,
            argument=argument,
        )

    def _check_target(self, account: str, target: str) -> None:
        if folder_store.folder_id(self.db, account, target) is None:
            raise MailError(f"Account {account!r} has no folder named {target!r}.")

    def _move(self, ids: Sequence[int], target: str, description: str) -> Done:
        groups = self._groups(ids)
        done = Done(description, "", "", [], target=target)
        with transaction(self.db):
            for (account, folder, fid, validity), envelopes in groups.items():
                if folder == target:
                    continue
                self._check_target(account, target)
                done.account, done.folder = account, folder
                done.queued.append(
                    self._queue((account, fid, validity), envelopes, Kind.MOVE, target)
                )
                done.removed.extend(envelopes)
                message_store.remove_ids(self.db, [c.id for c in envelopes])
        self.last = done if done.removed else None
        return done

    def _undo_flags(self, done: Done, still_queued: bool) -> None:
        """Put back the one flag the action changed; others' changes since then stay."""
        if done.flag is None:
            return
        bit = FLAG_BITS[done.flag]
        for cached in message_store.by_ids(self.db, list(done.flags_before)):
            was_on = bool(done.flags_before[cached.id] & bit)
            message_store.change_flag_bits(
                self.db, [cached.id], add=bit if was_on else 0, remove=0 if was_on else bit
            )
            if still_queued:
                continue
            ref = cached.envelope.ref
            fid = folder_store.folder_id(self.db, ref.account, ref.folder)
            if fid is None:
                continue
            queue_store.add(
                self.db,
                account=ref.account,
                folder=fid,
                uidvalidity=ref.uidvalidity,
                uids=[ref.uid],
                kind=Kind.ADD_FLAGS if was_on else Kind.REMOVE_FLAGS,
                argument=done.flag.value,
            )

    def _undo_move(self, done: Done, still_queued: bool) -> None:
        if still_queued:  # never reached the server: put the envelopes back as they were
            for cached in done.removed:
                ref = cached.envelope.ref
                fid = folder_store.folder_id(self.db, ref.account, ref.folder)
                if fid is not None:
                    message_store.add(self.db, fid, [cached.envelope], [cached.location])
            return
        # the server moved them: move the copies back by their new UIDs, found by Message-ID
        # in the target at its next sync; the queue carries the request until then
        target_fid = folder_store.folder_id(self.db, done.account, done.target)
        if target_fid is None:
            return
        for cached in done.removed:
            ref = cached.envelope.ref
            queue_store.add(
                self.db,
                account=ref.account,
                folder=target_fid,
                uidvalidity=0,
                uids=[],
                kind=Kind.MOVE,
                argument=ref.folder,
                message_id=cached.envelope.message_id,
            )


def replay(
    db_path: Path, account: str, session: ImapSession, on_event: EventSink = ignore_events
) -> int:
    """Send the account's queued actions to the server, oldest first; returns how many went.

    Each action is claimed before it is sent, so an undo meanwhile knows it reached the server
    and two senders never send it twice. A refused action is dropped, its folder is marked for
    a full re-read (which restores the cache to the server's state) and ActionFailed is
    reported. A dropped connection gives the action back and raises ConnectError.
    """
    with _replay_lock(db_path, account) as sole:
        if not sole:  # another sync of this account is sending them right now
            return 0
        return _replay(db_path, account, session, on_event)


@contextlib.contextmanager
def _replay_lock(db_path: Path, account: str) -> Iterator[bool]:
    """Hold the account's replay lock (flock: the kernel lets go when its holder dies).

    True while held; False when a live sender has it. Whoever holds it is the only sender, so
    an action claimed by a sender that was killed is sent again in its turn, before the actions
    queued after it (sent later, an old flag change would undo a newer one).
    """
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in account)
    path = db_path.with_name(f"{db_path.name}.replay-{safe}.lock")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)


def _replay(db_path: Path, account: str, session: ImapSession, on_event: EventSink) -> int:
    db = connect(db_path)
    sent = 0
    try:
        while True:
            with transaction(db):
                action = queue_store.claim_next(db, account, sole=True)
            if action is None:
                break
            name = folder_store.folder_name(db, action.folder_id)
            if name is None:  # the folder is gone, and the action with it
                with transaction(db):
                    queue_store.remove(db, [action.id])
                continue
            try:
                _send(session, db, name, action)
            except ConnectError as exc:
                with transaction(db):
                    queue_store.release(db, action.id, exc.message)
                raise
            except MailError as exc:
                with transaction(db):
                    queue_store.remove(db, [action.id])
                    folder_store.force_full_sync(db, action.folder_id)
                on_event(ActionFailed(account, describe_pending(action, name), exc))
                continue
            with transaction(db):
                queue_store.remove(db, [action.id])
            sent += 1
    finally:
        db.close()
    return sent


def describe_pending(action: queue_store.Pending, folder: str) -> str:
    """A queued action in words: "move 2 messages in INBOX to Archive"."""
    count = len(action.uids) or 1
    what = f"{count} message{'s' * (count != 1)} in {folder}"
    return {
        Kind.ADD_FLAGS: f"set {action.argument} on {what}",
        Kind.REMOVE_FLAGS: f"clear {action.argument} on {what}",
        Kind.MOVE: f"move {what} to {action.argument}",
        Kind.COPY: f"copy {what} to {action.argument}",
        Kind.EXPUNGE: f"delete {what}",
    }.get(Kind(action.kind), f"{action.kind} {what}")


def _send(
    session: ImapSession, db: sqlite3.Connection, folder: str, action: queue_store.Pending
) -> None:
    # the folder's numbering is checked on the server, right before the UIDs are used
    selected = session.select(folder, read_only=False, fresh=True)
    if action.uidvalidity and action.uidvalidity != selected.uidvalidity:
        raise MailError(f"{folder} was renumbered on the server; the action no longer applies.")
    uids = list(action.uids)
    if not uids and action.message_id:  # an undo of a move: find the copy by its Message-ID
        found = session.search_header("Message-ID", action.message_id)
        if not found:
            raise MailError(
                f"The message to move back ({action.message_id}) is no longer in {folder}."
            )
        uids = [max(found)]  # the copy just made; older copies stay where they are
    if not uids:
        return
    kind = Kind(action.kind)
    if kind in (Kind.ADD_FLAGS, Kind.REMOVE_FLAGS):
        flags = [Flag(name) for name in action.argument.split()]
        if kind is Kind.ADD_FLAGS:
            session.add_flags(folder, uids, flags)
        else:
            session.remove_flags(folder, uids, flags)
    elif kind is Kind.MOVE and "MOVE" in session.capabilities:
        session.move(folder, uids, action.argument)
    elif kind is Kind.MOVE:
        # COPY, then \Deleted + EXPUNGE; once the copy exists the action becomes an expunge,
        # so a connection lost in between never makes a second copy
        session.copy(folder, uids, action.argument)
        with transaction(db):
            queue_store.set_kind(db, action.id, Kind.EXPUNGE)
        session.add_flags(folder, uids, [Flag.DELETED])
        session.expunge(folder, uids)
    elif kind is Kind.COPY:
        session.copy(folder, uids, action.argument)
    elif kind is Kind.EXPUNGE:
        session.add_flags(folder, uids, [Flag.DELETED])
        session.expunge(folder, uids)


def queued(db_path: Path, account: str | None = None) -> int:
    """How many actions wait for the server."""
    db = connect(db_path)
    try:
        return queue_store.count(db, account)
    finally:
        db.close()
