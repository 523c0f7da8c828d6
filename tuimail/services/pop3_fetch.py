"""Fetching a POP3 account into its local Maildir without losing or duplicating a message.

The rules (DESIGN.md, issue 7):

- A message is written and fsynced into the Maildir before the ledger calls it stored; the ledger
  records the intent ("writing", with the file name) first, so a fetch killed in between finds the
  file on the next run instead of downloading it again.
- Nothing is deleted from the server that the ledger does not hold as stored. DELE only marks; the
  ledger believes a deletion only after the server answered QUIT with +OK (RFC 1939).
- Messages are known by their UIDL. Where a UIDL cannot be trusted (empty, over-long, listed twice,
  or the server has none), a digest of Message-ID, Date and size (or of the whole header block)
  stands in. When known messages vanish from the listing while unknown ones appear, the unknown
  ones' headers (TOP n 0) are compared with the vanished ones, so a server that renumbers its
  UIDLs never causes the mail to be downloaded again.
- One fetcher per account at a time: an exclusive lock (flock) on a file in the data directory,
  released by the kernel when its process dies, so a stale lock never blocks.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from tuimail.backends.local.base import LocalMailboxError
from tuimail.backends.local.maildir import INBOX, Maildir, new_unique
from tuimail.backends.pop3_mailbox import MAX_UIDL, Pop3Mailbox
from tuimail.model.account import Account
from tuimail.model.errors import MailError
from tuimail.services.events import EventSink, SyncProgress, ignore_events
from tuimail.store import pop3_ledger as ledger
from tuimail.store.database import connect
from tuimail.store.pop3_ledger import GONE, STORED, WRITING, Entry

BATCH_MESSAGES = 500
BATCH_BYTES = 32 * 1024 * 1024
DAY = 86400.0


class FetchError(MailError):
    """A POP3 fetch could not be done."""

    title = "POP3 fetch"


class FetchBusy(FetchError):
    """Another process is fetching the account."""

    title = "Fetch already running"


@dataclass(frozen=True)
class Listed:
    """One message of the server's listing in this session."""

    number: int
    key: str
    """Ledger key: ``u:`` + UIDL, or ``h:`` + header digest where the UIDL cannot be trusted."""
    uidl: str
    size: int
    identity: str = ""


@dataclass
class FetchResult:
    """What a fetch did (or, on a dry run, would do)."""

    account: str
    on_server: int = 0
    downloaded: int = 0
    deleted: int = 0
    recognised: int = 0
    """Known messages found under a new UIDL and not downloaded again."""
    to_download: list[Listed] = field(default_factory=list)
    to_delete: list[tuple[Listed, str]] = field(default_factory=list)
    """(message, why) for each deletion planned."""
    notices: list[str] = field(default_factory=list)
    errors: list[MailError] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0


def ledger_file(data_dir: Path, account: str) -> Path:
    """Where an account's POP3 ledger lives."""
    return data_dir / "pop3" / f"{_safe(account)}.ledger.sqlite"


def lock_file(data_dir: Path, account: str) -> Path:
    """The lock file that keeps fetchers of one account apart."""
    return data_dir / "pop3" / f"{_safe(account)}.lock"


def _safe(account: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", account)


@contextlib.contextmanager
def account_lock(data_dir: Path, account: str) -> Iterator[None]:
    """Hold the account's fetch lock; FetchBusy when another live process holds it."""
    path = lock_file(data_dir, account)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
            who = f"process {holder}" if holder.isdigit() else "another process"
            raise FetchBusy(
                f"Another tuimail ({who}) is fetching {account!r} right now; "
                "this fetch was skipped. Try again when it has finished."
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock


STANDARD_FOLDERS = ("Drafts", "Sent", "Archive", "Junk", "Trash")


def open_maildir(path: Path) -> Maildir:
    """A POP3 account's Maildir, made with the usual folders the first time."""
    if (path / "cur").is_dir():
        return Maildir(path)
    box = Maildir(path, create=True)
    for name in STANDARD_FOLDERS:
        box.create_folder(name)
    return box


# -- identities -------------------------------------------------------------------------------

_DROPPED_HEADERS = re.compile(rb"^(x-uidl|status|x-status|x-keywords|x-uid|content-length):", re.I)
_FOLDED = rb"[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)"
_MESSAGE_ID = re.compile(rb"^message-id:" + _FOLDED, re.I | re.M)
_DATE = re.compile(rb"^date:" + _FOLDED, re.I | re.M)


def _head(message: bytes) -> bytes:
    ends = [i for i in (message.find(b"\n\n"), message.find(b"\r\n\r\n")) if i >= 0]
    return message[: min(ends)] if ends else message


def identity_of(message_or_headers: bytes, size: int) -> str:
    """A stable digest of a message by Message-ID, Date and size (or its headers and size).

    Headers some servers add on the fly (X-UIDL, Status ...) are left out when the whole header
    block has to stand in for a missing Message-ID.
    """
    head = _head(message_or_headers)
    digest = hashlib.sha256()
    found = _MESSAGE_ID.search(head)
    if found and found.group(1).strip():
        date = _DATE.search(head)
        digest.update(b"id\0" + b" ".join(found.group(1).split()))
        digest.update(b"\0" + (b" ".join(date.group(1).split()) if date else b""))
    else:
        unfolded = re.sub(rb"\r?\n[ \t]+", b" ", head)
        kept = [
            line.rstrip()
            for line in unfolded.splitlines()
            if b":" in line and not _DROPPED_HEADERS.match(line)
        ]
        digest.update(b"head\0" + b"\n".join(kept))
    digest.update(b"\0%d" % size)
    return digest.hexdigest()[:32]


def _usable(uidl: bytes) -> bool:
    return 0 < len(uidl) <= MAX_UIDL and all(0x21 <= c <= 0x7E for c in uidl)


# -- the fetch --------------------------------------------------------------------------------


class _Fetch:
    def __init__(
        self,
        data_dir: Path,
        account: Account,
        box: Pop3Mailbox,
        *,
        now: float,
        on_event: EventSink,
        cancel: threading.Event,
        dry_run: bool,
    ) -> None:
        assert account.local is not None  # noqa: S101 - checked by fetch_pop3
        self.account = account
        self.box = box
        self.now = now
        self.on_event = on_event
        self.cancel = cancel
        self.result = FetchResult(account.id, dry_run=dry_run)
        self.maildir = open_maildir(Path(account.local.path))
        path = ledger_file(data_dir, account.id)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # shared: the writer thread uses it while the fetch thread does not (see download)
        self.db: sqlite3.Connection = connect(path, ledger.LEDGER_MIGRATIONS, shared=True)
        self.deleting: list[tuple[Listed, str]] = []
        self.recognised: set[str] = set()
        """Keys of known messages found under a new UIDL in this session."""
        self.keys_by_number: dict[int, str] = {}
        """Ledger keys of messages identified only once downloaded (no UIDL, no TOP)."""
        self.pending_gone: list[str] = []
        self.accepted = 0

    def close(self) -> None:
        self.db.close()

    def notice(self, text: str) -> None:
        if text not in self.result.notices:
            self.result.notices.append(text)

    # -- before talking to the server ---------------------------------------------------------

    def settle_unfinished(self, known: dict[str, Entry]) -> None:
        """Writes a killed fetch left half done: stored if the file is there, else forgotten."""
        unfinished = [e for e in known.values() if e.state == WRITING]
        if not unfinished or self.result.dry_run:
            return
        present = self.maildir.uniques()
        done = [e for e in unfinished if e.local_name in present]
        lost = [e for e in unfinished if e.local_name not in present]
        if done:
            ledger.mark_stored(self.db, [e.key for e in done], self.now)
            for entry in done:
                known[entry.key] = replace(entry, state=STORED, stored_at=self.now)
        if lost:
            for entry in lost:
                self.maildir.discard_temporary(INBOX, entry.local_name)
                del known[entry.key]
            ledger.forget(self.db, [e.key for e in lost])

    # -- the listing ----------------------------------------------------------------------------

    def listing(self) -> list[Listed] | None:
        sizes = self.box.sizes()
        uidls = self.box.uidl()
        self.result.on_server = len(sizes)
        if uidls is None:
            if self.account.pop3.leave_on_server:
                raise FetchError(
                    f"{self.box.endpoint.address} does not support UIDL, so tuimail cannot tell "
                    "which messages it already has: leaving mail on the server would download "
                    "it again every time. Nothing was fetched. Set leave_on_server = false in "
                    f"[accounts.{self.account.id}.pop3] to fetch each message and delete it "
                    "from the server once it is safely stored here.",
                    title="Server has no UIDL",
                )
            self.notice(
                f"{self.box.endpoint.address} does not support UIDL: messages are recognised "
                "by their headers and deleted from the server once stored."
            )
            return [Listed(n, "", "", size) for n, size in sorted(sizes.items())]
        counts: dict[bytes, int] = {}
        numbers: dict[int, int] = {}
        for number, uid in uidls:
            counts[uid] = counts.get(uid, 0) + 1
            numbers[number] = numbers.get(number, 0) + 1
        strays = [n for n in numbers if n not in sizes]
        if strays:  # LIST says which messages exist; a UIDL line for another number is noise
            self.notice(
                f"{self.box.endpoint.address} listed unique ids for {len(strays)} message "
                "number(s) it does not have; tuimail ignored them."
            )
        listed = []
        odd = 0
        seen: set[int] = set()
        for number, uid in uidls:
            if number not in sizes or number in seen:
                continue
            seen.add(number)
            size = sizes[number]
            if _usable(uid) and counts[uid] == 1 and numbers[number] == 1:
                text = uid.decode("ascii")
                listed.append(Listed(number, "u:" + text, text, size))
            else:
                odd += 1
                listed.append(Listed(number, "", "", size))
        if odd:
            self.notice(
                f"{self.box.endpoint.address} gave {odd} message(s) an empty, over-long or "
                "repeated unique id (UIDL); tuimail recognises those by their headers instead."
            )
        return listed

    def identify(self, listed: list[Listed]) -> list[Listed]:
        """Give messages without a usable UIDL a header digest (TOP n 0), where TOP works."""
        need = [m for m in listed if not m.key]
        if not need:
            return listed
        heads = dict(self.box.headers([m.number for m in need]))
        out = []
        for message in listed:
            head = heads.get(message.number) if not message.key else None
            if head is None:
                out.append(message)
                continue
            identity = identity_of(head, message.size)
            out.append(replace(message, key="h:" + identity, identity=identity))
        return out

    def recognise(self, listed: list[Listed], known: dict[str, Entry]) -> list[Listed]:
        """Match unknown UIDLs against known messages that vanished from the listing."""
        keys = {m.key for m in listed if m.key}
        vanished = {
            e.identity: e
            for e in known.values()
            if e.state == STORED and e.key not in keys and e.identity
        }
        unknown = [m for m in listed if m.key.startswith("u:") and m.key not in known]
        if not vanished or not unknown:
            return listed
        heads = dict(self.box.headers([m.number for m in unknown]))
        matched = 0
        out = []
        for message in listed:
            head = heads.get(message.number)
            if head is None:
                out.append(message)
                continue
            identity = identity_of(head, message.size)
            old = vanished.pop(identity, None)
            if old is not None:
                if not self.result.dry_run:
                    ledger.rekey(self.db, old.key, message.key, message.uidl)
                    del known[old.key]
                    known[message.key] = replace(old, key=message.key, uidl=message.uidl)
                self.recognised.add(message.key)
                matched += 1
            out.append(replace(message, identity=identity))
        if matched:
            self.result.recognised = matched
            self.notice(
                f"{self.box.endpoint.address} changed the unique ids (UIDLs) of {matched} "
                "message(s) since the last fetch; tuimail recognised them by Message-ID, date "
                "and size and did not download them again."
            )
        return out

    # -- downloading ----------------------------------------------------------------------------

    def download(self, wanted: list[Listed], known: dict[str, Entry]) -> None:
        """Download in batches while a writer thread stores the previous batch.

        The network and the disk work at the same time: while batch n is written and fsynced,
        batch n+1 is downloaded. The ledger is used by the writer only until it has finished.
        """
        handoff: queue.Queue[tuple[list[Entry], list[tuple[str, bytes]], int] | None]
        handoff = queue.Queue(maxsize=1)
        failures: list[MailError] = []
        progress = _Progress(self, len(wanted))
        writer = threading.Thread(
            target=self._write_batches,
            args=(handoff, known, failures, progress),
            name=f"pop3-writer-{self.account.id}",
            daemon=True,
        )
        writer.start()
        claimed: set[str] = set()
        try:
            start = 0
            while start < len(wanted) and not self.cancel.is_set() and not failures:
                batch: list[Listed] = []
                size = 0
                while start < len(wanted) and len(batch) < BATCH_MESSAGES and size < BATCH_BYTES:
                    batch.append(wanted[start])
                    size += wanted[start].size
                    start += 1
                handoff.put((*self._download_batch(batch, known, claimed), len(batch)))
        finally:
            handoff.put(None)
            writer.join()
        if failures:
            raise failures[0]

    def _download_batch(
        self, batch: list[Listed], known: dict[str, Entry], claimed: set[str]
    ) -> tuple[list[Entry], list[tuple[str, bytes]]]:
        rows: list[Entry] = []
        items: list[tuple[str, bytes]] = []
        fetched = self.box.retrieve([m.number for m in batch])
        for (number, raw, refusal), message in zip(fetched, batch, strict=True):
            if raw is None:
                self.result.errors.append(
                    FetchError(
                        f"{self.box.endpoint.address} refused message {number}: {refusal}. "
                        "It stays on the server and is tried again next time."
                    )
                )
                continue
            identity = message.identity or identity_of(raw, message.size)
            key = message.key or "h:" + identity
            if key in claimed or (key in known and known[key].state != WRITING):
                # a header-identified copy of a message already stored: do not store it twice
                if self.account.pop3.leave_on_server is False and key in known:
                    self.deleting.append((message, "stored already"))
                continue
            claimed.add(key)
            self.keys_by_number[number] = key
            unique = new_unique()
            rows.append(
                Entry(
                    key, message.uidl, identity, message.size, self.now, WRITING, None, unique, None
                )
            )
            items.append((unique, raw))
        return rows, items

    def _write_batches(
        self,
        handoff: queue.Queue[tuple[list[Entry], list[tuple[str, bytes]], int] | None],
        known: dict[str, Entry],
        failures: list[MailError],
        progress: _Progress,
    ) -> None:
        while (work := handoff.get()) is not None:
            rows, items, count = work
            if failures or not rows:
                progress.step(count)
                continue
            try:
                self._store(rows, items, known)
            except MailError as exc:
                failures.append(exc)
            except (sqlite3.Error, OSError) as exc:
                failures.append(FetchError(f"The POP3 ledger cannot be written: {exc}."))
            except Exception as exc:  # a writer that died would leave the fetch waiting forever
                failures.append(FetchError(f"Storing the fetched messages failed: {exc}."))
            progress.step(count)

    def _store(
        self, rows: list[Entry], items: list[tuple[str, bytes]], known: dict[str, Entry]
    ) -> None:
        """Intent, then the files (fsynced), then "stored": a kill at any point is recoverable."""
        ledger.begin_writing(self.db, rows)
        try:
            self.maildir.deliver_many(INBOX, items)
        except LocalMailboxError as exc:
            ledger.forget(self.db, [r.key for r in rows])
            raise FetchError(
                f"{exc} Nothing was deleted from the server; the messages are fetched again "
                "next time."
            ) from None
        ledger.mark_stored(self.db, [r.key for r in rows], self.now)
        for row in rows:
            known[row.key] = replace(row, state=STORED, stored_at=self.now)
        self.result.downloaded += len(rows)

    # -- deleting -------------------------------------------------------------------------------

    def plan_deletions(self, listed: list[Listed], known: dict[str, Entry]) -> None:
        options = self.account.pop3
        present: set[str] | None = None
        for message in listed:
            key = message.key or self.keys_by_number.get(message.number, "")
            entry = known.get(key)
            if entry is None or entry.state not in (STORED, GONE):
                continue
            reason = ""
            if not options.leave_on_server:
                reason = "stored here (leave_on_server = false)"
            elif (
                options.delete_after_days > 0
                and entry.stored_at is not None
                and entry.stored_at + options.delete_after_days * DAY <= self.now
            ):
                reason = f"stored here more than {options.delete_after_days} days ago"
            elif options.delete_when_deleted_locally and entry.local_name:
                if present is None:
                    present = self.maildir.uniques()
                if entry.local_name not in present:
                    reason = "deleted here"
            if reason:
                self.deleting.append((replace(message, key=key), reason))

    def delete(self) -> None:
        if not self.deleting:
            return
        numbers = sorted({m.number for m, _ in self.deleting})
        accepted = set(self.box.delete(numbers))
        keys = [m.key for m, _ in self.deleting if m.number in accepted and m.key]
        self.pending_gone = keys
        self.accepted = len(accepted)


class _Progress:
    """Counts stored messages and reports them as SyncProgress events."""

    def __init__(self, fetch: _Fetch, total: int) -> None:
        self.fetch = fetch
        self.total = total
        self.done = 0

    def step(self, count: int) -> None:
        self.done += count
        self.fetch.on_event(
            SyncProgress(self.fetch.account.id, INBOX, min(self.done, self.total), self.total)
        )


def fetch_pop3(
    data_dir: Path,
    account: Account,
    password: str,
    *,
    now: Callable[[], float] = time.time,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
    dry_run: bool = False,
    apop: bool | None = None,
) -> FetchResult:
    """Fetch new mail of a POP3 account into its Maildir and delete on the server as configured.

    Errors are in the result (a MailError each); a dry run changes nothing and fills
    ``to_download`` and ``to_delete``.
    """
    started = time.monotonic()
    cancel = cancel or threading.Event()
    result = FetchResult(account.id, dry_run=dry_run)
    if account.local is None or account.incoming is None:
        result.errors.append(FetchError(f"Account {account.id!r} is not a POP3 account."))
        return result
    try:
        with account_lock(data_dir, account.id):
            result = _fetch_locked(
                data_dir,
                account,
                password,
                now=now(),
                on_event=on_event,
                cancel=cancel,
                dry_run=dry_run,
                apop=apop,
            )
    except MailError as exc:
        result.errors.append(exc)
    except LocalMailboxError as exc:
        result.errors.append(FetchError(str(exc)))
    except sqlite3.Error as exc:
        result.errors.append(FetchError(f"The POP3 ledger cannot be used: {exc}."))
    result.seconds = time.monotonic() - started
    return result


def _fetch_locked(
    data_dir: Path,
    account: Account,
    password: str,
    *,
    now: float,
    on_event: EventSink,
    cancel: threading.Event,
    dry_run: bool,
    apop: bool | None,
) -> FetchResult:
    box = Pop3Mailbox(account.server(), password, apop=account.pop3.apop if apop is None else apop)
    fetch: _Fetch | None = None
    try:
        fetch = _Fetch(
            data_dir, account, box, now=now, on_event=on_event, cancel=cancel, dry_run=dry_run
        )
        result = fetch.result
        known = ledger.entries(fetch.db)
        fetch.settle_unfinished(known)
        listed = fetch.listing()
        assert listed is not None  # noqa: S101 - listing raises instead of returning None
        listed = fetch.identify(listed)
        listed = fetch.recognise(listed, known)
        if dry_run:
            _plan(fetch, listed, known)
            box.quit()
            return result
        back = [m.key for m in listed if m.key in known and known[m.key].state == GONE]
        if back:  # listed again after the ledger believed them gone: stored, not fetched again
            ledger.revive(fetch.db, back)
            for key in back:
                known[key] = replace(known[key], state=STORED, deleted_at=None)
        wanted = [m for m in listed if not m.key or m.key not in known]
        fetch.download(wanted, known)
        if cancel.is_set():
            box.quit()
            return result
        fetch.plan_deletions(listed, known)
        fetch.delete()
        listed_keys = {m.key for m in listed if m.key}
        vanished = [e.key for e in known.values() if e.state == STORED and e.key not in listed_keys]
        if box.quit():
            ledger.mark_gone(fetch.db, [*fetch.pending_gone, *vanished], fetch.now)
            result.deleted = fetch.accepted
        elif fetch.pending_gone:
            result.errors.append(
                FetchError(
                    f"{box.endpoint.address} did not confirm the end of the session, so the "
                    f"{len(fetch.pending_gone)} deletion(s) did not take effect; they are "
                    "tried again next time."
                )
            )
        return result
    finally:
        box.close()
        if fetch is not None:
            fetch.close()


def _plan(fetch: _Fetch, listed: list[Listed], known: dict[str, Entry]) -> None:
    result = fetch.result
    result.to_download = [
        m for m in listed if not m.key or (m.key not in known and m.key not in fetch.recognised)
    ]
    fetch.plan_deletions(listed, known)
    if not fetch.account.pop3.leave_on_server:
        fetch.deleting.extend(
            (m, "after it is stored (leave_on_server = false)") for m in result.to_download
        )
    result.to_delete = list(fetch.deleting)
