"""Maildir mailboxes: cur/new/tmp, flags in file names, Maildir++ sub-folders as ``.Name``."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from tuimail.backends.local.base import LocalEntry, LocalMailbox, LocalMailboxError
from tuimail.mime.envelope import envelope_of
from tuimail.model.folder import Folder, FolderRole, role_from_name
from tuimail.model.message import Envelope, Flag, MessageRef

INBOX = "INBOX"
_SUBDIRS = ("cur", "new", "tmp")
# the standard info letters (https://cr.yp.to/proto/maildir.html), in ASCII order when written
_LETTERS: dict[str, Flag] = {
    "D": Flag.DRAFT,
    "F": Flag.FLAGGED,
    "R": Flag.ANSWERED,
    "S": Flag.SEEN,
    "T": Flag.DELETED,
}
_FLAG_LETTER = {flag: letter for letter, flag in _LETTERS.items()}
_HEAD_BYTES = 64 * 1024
_RECENT = 2.0
_counter = itertools.count()
_WRITERS = 16


def _split(name: str) -> tuple[str, str]:
    """A file name as (unique name, info letters); ``:2,`` (or ``!2,`` on some systems)."""
    for separator in (":2,", "!2,"):
        if separator in name:
            unique, _, letters = name.partition(separator)
            return unique, letters
    return name, ""


def _flags(letters: str) -> frozenset[Flag]:
    return frozenset(_LETTERS[c] for c in letters if c in _LETTERS)


def _letters(flags: frozenset[Flag], keep: str = "") -> str:
    """Info letters for flags, keeping letters tuimail does not manage (P, keyword letters)."""
    kept = {c for c in keep if c not in _LETTERS}
    return "".join(sorted(kept | {_FLAG_LETTER[f] for f in flags}))


def new_unique() -> str:
    """A fresh unique file name (time, microseconds, process, counter and host)."""
    now = time.time()
    seconds, micro = int(now), int((now % 1) * 1_000_000)
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
    return f"{seconds}.M{micro}P{os.getpid()}Q{next(_counter)}.{host}"


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Maildir(LocalMailbox):
    """A Maildir at ``root`` (its own cur/new/tmp is the Inbox); Maildir++ folders beside them."""

    def __init__(self, root: Path, *, create: bool = False) -> None:
        self.root = root.expanduser()
        if create:
            self._make(self.root)
        if not all((self.root / sub).is_dir() for sub in ("cur", "new")):
            raise LocalMailboxError(
                f"{self.root} is not a Maildir (it needs cur/ and new/ sub-directories)."
            )
        self.read_only = not os.access(self.root / "cur", os.W_OK)
        self.notice = f"{self.root} is not writable: read only." if self.read_only else ""
        self._index: dict[str, dict[str, str]] = {}

    # -- layout ----------------------------------------------------------------------------

    @staticmethod
    def _make(path: Path) -> None:
        for sub in _SUBDIRS:
            (path / sub).mkdir(parents=True, exist_ok=True, mode=0o700)

    def _dir(self, folder: str) -> Path:
        if folder == INBOX:
            return self.root
        if not folder or folder.startswith("/") or ".." in folder.split("/"):
            raise LocalMailboxError(f"{folder!r} is not a folder name tuimail can use.")
        return self.root / ("." + folder.replace("/", "."))

    def folders(self) -> list[Folder]:
        found = [Folder("", INBOX, "/", FolderRole.INBOX)]
        taken = {FolderRole.INBOX}
        with contextlib.suppress(OSError):
            for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
                if not entry.name.startswith(".") or entry.name in (".", ".."):
                    continue
                if not (Path(entry.path) / "cur").is_dir():
                    continue
                name = entry.name[1:].replace(".", "/")
                if not name:
                    continue
                role = role_from_name(name.rsplit("/", 1)[-1])
                if role in taken:
                    role = FolderRole.NONE
                taken.add(role)
                found.append(Folder("", name, "/", role))
        return found

    def create_folder(self, name: str) -> None:
        """Make a folder (Maildir++ ``.Name`` directory with cur/new/tmp)."""
        path = self._dir(name)
        self._make(path)
        (path / "maildirfolder").touch()

    # -- reading ---------------------------------------------------------------------------

    def state(self, folder: str) -> str:
        path = self._dir(folder)
        try:
            cur = (path / "cur").stat()
            new = (path / "new").stat()
        except OSError as exc:
            raise LocalMailboxError(f"Cannot read {path}: {exc.strerror}.") from None
        token = f"{cur.st_mtime_ns}:{new.st_mtime_ns}:{cur.st_ino}"
        # a change within the file system's timestamp granularity would leave the mtime as it
        # was; a directory touched in the last moments is therefore always scanned again
        if time.time() - max(cur.st_mtime, new.st_mtime) < _RECENT:
            token += f":recent:{time.monotonic_ns()}"
        return token

    def scan(self, folder: str) -> list[LocalEntry]:
        path = self._dir(folder)
        if not self.read_only:
            self._adopt_new(path)
        index: dict[str, str] = {}
        entries = []
        for sub in ("cur", "new"):
            try:
                names = os.listdir(path / sub)
            except OSError as exc:
                raise LocalMailboxError(f"Cannot read {path / sub}: {exc.strerror}.") from None
            for name in names:
                if name.startswith("."):
                    continue
                unique, letters = _split(name)
                if unique in index:  # the same message twice: keep the first
                    continue
                index[unique] = f"{sub}/{name}"
                entries.append(LocalEntry(unique, _flags(letters)))
        self._index[folder] = index
        return entries

    def _adopt_new(self, path: Path) -> None:
        """Move delivered mail from new/ to cur/ (what a mail reader does once it saw it)."""
        with contextlib.suppress(OSError):
            for name in os.listdir(path / "new"):
                if name.startswith("."):
                    continue
                unique, letters = _split(name)
                with contextlib.suppress(FileNotFoundError):
                    os.rename(path / "new" / name, path / "cur" / f"{unique}:2,{letters}")

    def _file(self, folder: str, key: str) -> Path:
        relative = self._index.get(folder, {}).get(key)
        if relative is None or not (self._dir(folder) / relative).exists():
            self.scan(folder)
            relative = self._index.get(folder, {}).get(key)
        if relative is None:
            raise LocalMailboxError(f"The message {key} is no longer in {folder}.")
        return self._dir(folder) / relative

    def envelope(self, folder: str, entry: LocalEntry, ref: MessageRef) -> Envelope:
        path = self._file(folder, entry.key)
        try:
            with path.open("rb") as handle:
                head = handle.read(_HEAD_BYTES)
                size = os.fstat(handle.fileno()).st_size
                mtime = os.fstat(handle.fileno()).st_mtime
        except OSError as exc:
            raise LocalMailboxError(f"Cannot read {path}: {exc.strerror}.") from None
        return envelope_of(
            head,
            ref,
            flags=entry.flags,
            keywords=entry.keywords,
            size=size,
            arrived=datetime.fromtimestamp(mtime, UTC),
        )

    def read(self, folder: str, key: str) -> bytes:
        path = self._file(folder, key)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise LocalMailboxError(f"Cannot read {path}: {exc.strerror}.") from None

    # -- changes ---------------------------------------------------------------------------

    def _writable(self) -> None:
        if self.read_only:
            raise LocalMailboxError(self.notice or f"{self.root} is read only.")

    def set_flags(self, folder: str, key: str, flags: frozenset[Flag]) -> str:
        self._writable()
        path = self._file(folder, key)
        unique, letters = _split(path.name)
        target = self._dir(folder) / "cur" / f"{unique}:2,{_letters(flags, letters)}"
        if target != path:
            try:
                os.rename(path, target)
            except OSError as exc:
                raise LocalMailboxError(f"Cannot rename {path}: {exc.strerror}.") from None
            self._index.setdefault(folder, {})[unique] = f"cur/{target.name}"
        return unique

    def move(self, folder: str, keys: list[str], target: str) -> None:
        self._writable()
        destination = self._dir(target)
        if not (destination / "cur").is_dir():
            raise LocalMailboxError(f"There is no folder {target!r} in {self.root}.")
        for key in keys:
            path = self._file(folder, key)
            unique, letters = _split(path.name)
            try:
                os.rename(path, destination / "cur" / f"{unique}:2,{letters}")
            except OSError as exc:
                if exc.errno != 18:  # EXDEV: another file system, copy then remove instead
                    raise LocalMailboxError(f"Cannot move {path}: {exc.strerror}.") from None
                self._deliver_to(destination, path.read_bytes(), _flags(letters), unique)
                path.unlink()
            self._index.get(folder, {}).pop(key, None)

    def copy(self, folder: str, keys: list[str], target: str) -> None:
        self._writable()
        destination = self._dir(target)
        if not (destination / "cur").is_dir():
            raise LocalMailboxError(f"There is no folder {target!r} in {self.root}.")
        for key in keys:
            path = self._file(folder, key)
            self._deliver_to(destination, path.read_bytes(), _flags(_split(path.name)[1]))

    def delete(self, folder: str, keys: list[str]) -> None:
        self._writable()
        for key in keys:
            path = self._file(folder, key)
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise LocalMailboxError(f"Cannot remove {path}: {exc.strerror}.") from None
            self._index.get(folder, {}).pop(key, None)

    def deliver(
        self,
        folder: str,
        raw: bytes,
        flags: frozenset[Flag] = frozenset(),
        received: datetime | None = None,
    ) -> str:
        self._writable()
        destination = self._dir(folder)
        if not (destination / "cur").is_dir():
            raise LocalMailboxError(f"There is no folder {folder!r} in {self.root}.")
        return self._deliver_to(destination, raw, flags, received=received)

    def _deliver_to(
        self,
        destination: Path,
        raw: bytes,
        flags: frozenset[Flag],
        unique: str | None = None,
        *,
        received: datetime | None = None,
    ) -> str:
        """Write into tmp/, fsync, then rename into cur/: never a half-written message."""
        unique = unique or new_unique()
        temporary = destination / "tmp" / unique
        final = destination / "cur" / f"{unique}:2,{_letters(flags)}"
        try:
            with temporary.open("xb") as handle:
                handle.write(raw)
                handle.flush()
                os.fsync(handle.fileno())
            if received is not None:
                stamp = received.timestamp()
                os.utime(temporary, (stamp, stamp))
            os.rename(temporary, final)
            _fsync_dir(destination / "cur")
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise LocalMailboxError(
                f"Cannot write a message into {destination}: {exc.strerror}."
            ) from None
        return unique

    def deliver_many(self, folder: str, items: Sequence[tuple[str, bytes]]) -> None:
        """Deliver messages under the given unique names, each fsynced before it appears.

        Each is written to tmp/ and fsynced, then all are renamed into new/ and new/ is fsynced
        once. The writes run on a few threads: fsyncs issued together are committed together by
        the file system, many times faster than one after another. A failure (a full disk) leaves
        none of the batch behind in tmp/ and nothing of it in new/.
        """
        self._writable()
        base = os.fspath(self._dir(folder))
        temporary, final = os.path.join(base, "tmp", ""), os.path.join(base, "new", "")

        def write(item: tuple[str, bytes]) -> None:
            unique, raw = item
            descriptor = os.open(temporary + unique, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(raw)
                while view:
                    view = view[os.write(descriptor, view) :]
                os.fsync(descriptor)
            finally:
                os.close(descriptor)

        try:
            with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
                list(pool.map(write, items))
            for unique, _raw in items:
                os.rename(temporary + unique, final + unique)
            _fsync_dir(Path(final))
        except OSError as exc:
            for unique, _raw in items:  # all or nothing: the caller fetches them again
                for leftover in (temporary + unique, final + unique):
                    with contextlib.suppress(OSError):
                        os.unlink(leftover)
            raise LocalMailboxError(f"Cannot write messages into {base}: {exc.strerror}.") from None

    def uniques(self) -> set[str]:
        """The unique names of every message in every folder."""
        found: set[str] = set()
        for folder in self.folders():
            path = self._dir(folder.name)
            for sub in ("cur", "new"):
                try:
                    names = os.listdir(path / sub)
                except OSError as exc:
                    raise LocalMailboxError(f"Cannot read {path / sub}: {exc.strerror}.") from None
                found.update(_split(name)[0] for name in names if not name.startswith("."))
        return found

    def discard_temporary(self, folder: str, unique: str) -> None:
        """Remove a tmp/ file left by a delivery that did not finish."""
        with contextlib.suppress(OSError):
            (self._dir(folder) / "tmp" / unique).unlink()
