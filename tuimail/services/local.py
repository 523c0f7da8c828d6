"""Accounts whose mail is in local files: scanning them into the cache and applying actions."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from tuimail.backends.local.base import LocalEntry, LocalMailbox, LocalMailboxError
from tuimail.backends.local.maildir import Maildir
from tuimail.backends.local.mbox import Mbox
from tuimail.model.account import Account, LocalFormat, LocalSource, Protocol
from tuimail.model.errors import MailError
from tuimail.model.folder import Folder
from tuimail.model.message import Envelope, Flag, MessageRef
from tuimail.services.actions import Kind, describe_pending
from tuimail.services.events import (
    ActionFailed,
    EnvelopesAdded,
    EnvelopesChanged,
    EnvelopesRemoved,
    EventSink,
    FoldersUpdated,
    SyncFailed,
    SyncFinished,
    SyncProgress,
    SyncStarted,
    ignore_events,
)
from tuimail.services.pop3_fetch import open_maildir
from tuimail.services.sync import FolderResult, SyncResult
from tuimail.store import folders as folder_store
from tuimail.store import messages as message_store
from tuimail.store import queue as queue_store
from tuimail.store.codec import flags_to_bits, pack_keywords
from tuimail.store.database import connect, transaction

BATCH = 500


class LocalError(MailError):
    """A local mailbox could not be read or changed."""

    title = "Local mailbox"


def open_local(account: Account) -> LocalMailbox:
    """The Maildir or mbox of a local account; LocalError saying what is wrong with it."""
    if account.local is None:
        raise LocalError(f"Account {account.id!r} has no local mailbox.")
    path = Path(account.local.path).expanduser()
    try:
        if account.incoming is not None and account.incoming.protocol is Protocol.POP3:
            return open_maildir(path)
        if account.local.format is LocalFormat.MAILDIR:
            return Maildir(path)
        return Mbox(path)
    except LocalMailboxError as exc:
        raise LocalError(str(exc)) from None
    except OSError as exc:
        raise LocalError(f"Cannot open {path}: {exc.strerror}.") from None


def sync_local(
    db_path: Path,
    account: Account,
    mailbox: LocalMailbox,
    *,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> SyncResult:
    """Apply queued actions to the files, then bring the cache in step with them."""
    started = time.monotonic()
    cancel = cancel or threading.Event()
    result = SyncResult(account.id)
    on_event(SyncStarted(account.id))
    db = connect(db_path)
    try:
        replay_local(db_path, account.id, mailbox, on_event)
        found = [
            Folder(account.id, f.name, f.delimiter, f.role, selectable=f.selectable)
            for f in mailbox.folders()
        ]
        folder_store.save_folders(db, account.id, found)
        on_event(FoldersUpdated(account.id, tuple(found)))
        for folder in found:
            if cancel.is_set():
                result.cancelled = True
                break
            try:
                result.folders.append(_scan_folder(db, account.id, mailbox, folder.name, on_event))
            except (LocalMailboxError, OSError) as exc:
                error = LocalError(f"{folder.name}: {exc}")
                result.errors.append(error)
                on_event(SyncFailed(account.id, folder.name, error))
    except LocalMailboxError as exc:
        error = LocalError(str(exc))
        result.errors.append(error)
        on_event(SyncFailed(account.id, "", error))
    finally:
        db.close()
    result.seconds = time.monotonic() - started
    on_event(SyncFinished(account.id, result.added, len(result.errors)))
    return result


def _scan_folder(
    db: sqlite3.Connection, account: str, mailbox: LocalMailbox, name: str, on_event: EventSink
) -> FolderResult:
    result = FolderResult(name)
    state = folder_store.state(db, account, name)
    if state is None:
        raise LocalMailboxError(f"The folder {name!r} vanished from the cache.")
    if not state.uidvalidity:  # a folder seen for the first time: number its messages from 1
        with transaction(db):
            folder_store.reset(db, state.id, int(time.time()))
        state = folder_store.state(db, account, name)
        if state is None:
            raise LocalMailboxError(f"The folder {name!r} vanished from the cache.")
    token = mailbox.state(name)
    if token == folder_store.local_state(db, state.id):
        result.unchanged = True
        return result
    entries = mailbox.scan(name)
    fresh, gone, changes = _compare(entries, message_store.locations(db, state.id))
    with transaction(db):
        if gone:
            result.removed = message_store.remove_uids(db, state.id, gone)
        if changes:
            result.changed = message_store.set_flags(db, state.id, changes)
    if result.removed:
        on_event(EnvelopesRemoved(account, name, result.removed))
    if result.changed:
        on_event(EnvelopesChanged(account, name, result.changed))
    next_uid = max(message_store.max_uid(db, state.id), 0) + 1
    batch: list[Envelope] = []
    keys: list[str] = []
    for entry in fresh:
        ref = MessageRef(account, name, next_uid, state.uidvalidity)
        next_uid += 1
        batch.append(mailbox.envelope(name, entry, ref))
        keys.append(entry.key)
        if len(batch) >= BATCH:
            result.added += _commit(db, state.id, batch, keys)
            on_event(SyncProgress(account, name, result.added, len(fresh)))
    if batch:
        result.added += _commit(db, state.id, batch, keys)
    if result.added:
        on_event(EnvelopesAdded(account, name, result.added))
    with transaction(db):
        folder_store.save_local_state(db, state.id, token, len(entries))
    return result


def _compare(
    entries: list[LocalEntry], cached: dict[str, tuple[int, int, str]]
) -> tuple[list[LocalEntry], list[int], list[tuple[int, frozenset[Flag], frozenset[str], int]]]:
    """What a scan found against the cache: new entries, UIDs gone, flag changes."""
    present = {entry.key for entry in entries}
    gone = [uid for key, (uid, _, _) in cached.items() if key not in present]
    changes = []
    fresh = []
    for entry in entries:
        known = cached.get(entry.key)
        if known is None:
            fresh.append(entry)
            continue
        uid, bits, words = known
        if (flags_to_bits(entry.flags), words) != (bits, pack_keywords(entry.keywords)):
            changes.append((uid, entry.flags, entry.keywords, 0))
    return fresh, gone, changes


def _commit(db: sqlite3.Connection, folder: int, batch: list[Envelope], keys: list[str]) -> int:
    with transaction(db):
        added = message_store.add(db, folder, batch, keys)
    batch.clear()
    keys.clear()
    return added


def replay_local(
    db_path: Path, account: str, mailbox: LocalMailbox, on_event: EventSink = ignore_events
) -> int:
    """Apply the account's queued actions to its files, oldest first; returns how many."""
    db = connect(db_path)
    done = 0
    try:
        while True:
            with transaction(db):  # claimed: an undo from now on knows it was applied
                action = queue_store.claim_next(db, account)
            if action is None:
                break
            name = folder_store.folder_name(db, action.folder_id)
            with transaction(db):
                queue_store.remove(db, [action.id])
            if name is None:
                continue
            if action.locations:
                keys = [key for key in action.locations if key]
            elif action.message_id:  # an undo of a move: find the moved file by its Message-ID
                _scan_folder(db, account, mailbox, name, ignore_events)
                keys = message_store.locations_of(db, action.folder_id, action.message_id)[-1:]
            else:
                located = message_store.locations(db, action.folder_id)
                where = {uid: key for key, (uid, _, _) in located.items()}
                keys = [where[uid] for uid in action.uids if uid in where]
            try:
                _apply(mailbox, name, keys, action)
            except LocalMailboxError as exc:
                with transaction(db):
                    folder_store.force_full_sync(db, action.folder_id)
                error = LocalError(str(exc))
                on_event(ActionFailed(account, describe_pending(action, name), error))
                continue
            done += 1
    finally:
        db.close()
    return done


def _apply(
    mailbox: LocalMailbox, folder: str, keys: list[str], action: queue_store.Pending
) -> None:
    kind = Kind(action.kind)
    if kind in (Kind.ADD_FLAGS, Kind.REMOVE_FLAGS):
        change = frozenset(Flag(name) for name in action.argument.split())
        current = {entry.key: entry.flags for entry in mailbox.scan(folder)}
        for key in keys:
            flags = current.get(key, frozenset())
            flags = flags | change if kind is Kind.ADD_FLAGS else flags - change
            mailbox.set_flags(folder, key, flags)
    elif kind is Kind.MOVE:
        mailbox.move(folder, keys, action.argument)
    elif kind is Kind.COPY:
        mailbox.copy(folder, keys, action.argument)
    elif kind is Kind.EXPUNGE:
        mailbox.delete(folder, keys)


def discover_local(
    home: Path | None = None, environ: dict[str, str] | None = None
) -> list[LocalSource]:
    """Mail already on this machine: ``$MAIL``, ``/var/mail/$USER`` and ``~/Maildir``."""
    env = dict(os.environ) if environ is None else environ
    home = home or Path.home()
    found: list[LocalSource] = []
    user = env.get("USER") or env.get("LOGNAME") or ""
    candidates = [env.get("MAIL", ""), f"/var/mail/{user}" if user else "", str(home / "Maildir")]
    seen: set[str] = set()
    for candidate in filter(None, candidates):
        path = Path(candidate).expanduser()
        try:
            resolved = str(path.resolve())
        except OSError:
            continue
        if resolved in seen:
            continue
        seen.add(resolved)
        if (path / "cur").is_dir() and (path / "new").is_dir():
            found.append(LocalSource(LocalFormat.MAILDIR, resolved))
        elif path.is_file() and os.access(path, os.R_OK):
            found.append(LocalSource(LocalFormat.MBOX, resolved))
    return found
