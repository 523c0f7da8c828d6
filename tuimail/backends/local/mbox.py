"""One mbox file (mboxo or mboxrd) as a local mailbox with a single folder, INBOX."""

from __future__ import annotations

import contextlib
import email.utils
import errno
import fcntl
import functools
import glob
import hashlib
import os
import re
import socket
import stat
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from tuimail.backends.local.base import LocalEntry, LocalMailbox, LocalMailboxError
from tuimail.mime.envelope import envelope_of, header_block
from tuimail.model.folder import Folder, FolderRole
from tuimail.model.message import Envelope, Flag, MessageRef

INBOX = "INBOX"
STALE_DOTLOCK_SECONDS = 300
"""A dotlock older than this is left over from a crashed program and is taken over."""
LOCK_TIMEOUT = 5.0
"""How long a change waits for another program to release the mailbox."""

_CHUNK = 1 << 20
_BOUNDARY = b"\n\nFrom "
_MAX_FROM_LINE = 1000
_FROM_LINE = re.compile(
    rb"From [^\n]*?\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,? +"
    rb"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* +\d{1,2},? +\d{1,2}:\d{2}",
    re.IGNORECASE,
)
_LEADING_NEWLINES = re.compile(rb"(?:\r?\n)+")
_HEADER_END = re.compile(rb"\n\r?\n")
# the header fields that hold status, or that programs rewrite together with it: left out of
# the key so that it survives flag changes (ours and other mail readers')
_VOLATILE_FIELDS = re.compile(
    rb"^(status|x-status|x-keywords|x-uid|x-imap|x-imapbase|content-length|lines"
    rb"|x-mozilla-status|x-mozilla-status2|x-mozilla-keys)[ \t]*:(.*(?:\n[ \t].*)*)(?:\n|\Z)",
    re.IGNORECASE | re.MULTILINE,
)
_STATUS_FIELDS = re.compile(
    rb"^(?:status|x-status)[ \t]*:.*(?:\n[ \t].*)*(?:\n|\Z)", re.IGNORECASE | re.MULTILINE
)
_RETURN_PATH = re.compile(rb"^return-path[ \t]*:[ \t]*<?([^>\s]*)", re.IGNORECASE | re.MULTILINE)
_FROM_FIELD = re.compile(rb"^from[ \t]*:(.*(?:\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
_UNQUOTED_FROM = re.compile(rb"^(>*From )", re.MULTILINE)
_KEYWORD_SEPARATORS = re.compile(r"[\s,]+")
_ENVELOPE_SENDER = re.compile(r"[!-~]+")
_FROM_LINE_DATE = re.compile(
    rb"([A-Z][a-z]{2}) +([A-Z][a-z]{2}) +(\d{1,2}) +(\d{1,2}):(\d{2})(?::(\d{2}))?"
    rb"(?: +[A-Z]{3,5}| +[+-]\d{4})? +(\d{4})"
)
_MONTHS = {
    name: number
    for number, name in enumerate(b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)
}
_X_STATUS_LETTERS = (
    (Flag.ANSWERED, "A"),
    (Flag.FLAGGED, "F"),
    (Flag.DRAFT, "T"),
    (Flag.DELETED, "D"),
)
# struct flock on 64-bit Linux: l_type, l_whence, (pad), l_start, l_len, l_pid, (pad)
_OFD_LOCKS = sys.platform == "linux" and sys.maxsize > 2**32 and hasattr(fcntl, "F_OFD_SETLK")
_BUSY = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)


@dataclass(frozen=True)
class _Stamp:
    """What identifies one version of the file without reading it."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> _Stamp:
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class _Parsed(NamedTuple):
    """What a scan learns from one message's bytes."""

    digest: str
    flags: frozenset[Flag]
    keywords: frozenset[str]
    size: int
    """Length of the message as :meth:`Mbox.read` returns it."""
    head: int
    """Bytes from the start of the span to the end of its header block."""
    has_from: bool


class _Span(NamedTuple):
    """One message's place in the file: from its "From " line to the next one."""

    start: int
    length: int
    entry: LocalEntry
    parsed: _Parsed


def _content_bounds(data: bytes) -> tuple[int, int]:
    """Where the message itself lies in a span: after the "From " line, before the separator."""
    begin = (data.find(b"\n") + 1 or len(data)) if data.startswith(b"From ") else 0
    end = len(data) - 1 if data.endswith(b"\n\n") else len(data)
    return begin, max(begin, end)


def _header_length(content: bytes) -> int:
    """Length of the header lines at the start of a message (0 when it starts with a blank)."""
    if content.startswith((b"\n", b"\r\n")):
        return 0
    found = _HEADER_END.search(content)
    return found.start() + 1 if found else len(content)


@functools.lru_cache(maxsize=256)
def _flags(status: bytes | None, x_status: bytes | None) -> frozenset[Flag]:
    """The flags that Status (R: seen; O: old) and X-Status (A, F, T, D) values stand for."""
    flags = {Flag.SEEN} if status is not None and b"R" in status.upper() else set()
    if x_status is not None:
        letters = x_status.upper()
        flags.update(flag for flag, letter in _X_STATUS_LETTERS if letter.encode() in letters)
    return frozenset(flags)


def _parse(data: bytes) -> _Parsed:
    """Flags, key digest and sizes of one span (a "From " line, the message, a separator)."""
    begin, end = _content_bounds(data)
    content = data[begin:end]
    head_length = _header_length(content)
    keywords: frozenset[str] = frozenset()
    status = x_status = None
    pieces: list[bytes] = []
    kept_from = 0
    for field in _VOLATILE_FIELDS.finditer(content, 0, head_length):
        name = field.group(1).lower()
        if name == b"status":
            status = field.group(2).strip() if status is None else status
        elif name == b"x-status":
            x_status = field.group(2).strip() if x_status is None else x_status
        elif name == b"x-keywords":
            text = field.group(2).decode("utf-8", "replace")
            keywords |= {word for word in _KEYWORD_SEPARATORS.split(text) if word}
        pieces.append(content[kept_from : field.start()])
        kept_from = field.end()
    if pieces:
        pieces.append(content[kept_from:])
        message = b"".join(pieces)
    else:
        message = content
    quoted = 0
    if b">From " in message:
        message, quoted = _QUOTED_FROM.subn(rb"\1", message)
    stop = len(message)
    while stop and message[stop - 1] in (10, 13):
        stop -= 1
    digest = hashlib.blake2b(data[:begin].rstrip(b"\r\n"), digest_size=12)
    digest.update(b"\n")
    digest.update(memoryview(message)[:stop])
    return _Parsed(
        digest.hexdigest(),
        _flags(status, x_status),
        keywords,
        len(content) - quoted,
        begin + head_length,
        begin > 0,
    )


def _with_status(headers: bytes, flags: frozenset[Flag], *, fresh: bool = False) -> bytes:
    """The header lines with Status/X-Status saying ``flags`` (none at all for fresh mail)."""
    first_end = headers.find(b"\n")
    newline = b"\r\n" if first_end > 0 and headers[first_end - 1 : first_end] == b"\r" else b"\n"
    fields: list[bytes] = []
    if flags or not fresh:
        fields.append(b"Status: " + (b"RO" if Flag.SEEN in flags else b"O") + newline)
    letters = "".join(letter for flag, letter in _X_STATUS_LETTERS if flag in flags)
    if letters:
        fields.append(b"X-Status: " + letters.encode() + newline)
    found = list(_STATUS_FIELDS.finditer(headers))
    if found:  # the new fields go where the first old one was
        pieces = [headers[: found[0].start()], *fields]
        last = found[0].start()
        for field in found:
            pieces.append(headers[last : field.start()])
            last = field.end()
        pieces.append(headers[last:])
        return b"".join(pieces)
    if headers and not headers.endswith(b"\n"):
        headers += newline
    return headers + b"".join(fields)


def unquote(content: bytes) -> bytes:
    """A message as stored in an mbox, with one ">" taken off every ">From "/">>From " line."""
    return _QUOTED_FROM.sub(rb"\1", content) if b">From " in content else content


def quote(content: bytes) -> bytes:
    """A message ready for an mboxrd file: one ">" added to every "From "/">From " line."""
    return _UNQUOTED_FROM.sub(rb">\1", content)


def _arrived(from_line: bytes) -> datetime | None:
    """The delivery time a "From " line states (local time, as ctime writes it), in UTC."""
    found = _FROM_LINE_DATE.search(from_line)
    if found is None:
        return None
    _weekday, month, day, hour, minute, second, year = found.groups()
    try:
        local = datetime(
            int(year),
            _MONTHS[month],
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
        )
        return local.astimezone(UTC)
    except (KeyError, ValueError, OverflowError, OSError):
        return None


def _envelope_sender(headers: bytes) -> str:
    """The address a new "From " line names: Return-Path, else From, else MAILER-DAEMON."""
    found = _RETURN_PATH.search(headers)
    address = found.group(1).decode("ascii", "replace") if found else ""
    if not address:
        field = _FROM_FIELD.search(headers)
        if field:
            address = email.utils.parseaddr(field.group(1).decode("ascii", "replace"))[1]
    return address if _ENVELOPE_SENDER.fullmatch(address) else "MAILER-DAEMON"


def _new_span(raw: bytes, flags: frozenset[Flag], from_line: bytes = b"") -> bytes:
    """A message as it is appended: "From " line, mboxrd-quoted lines, a blank line after it.

    The "From " line is ``from_line``, else one the message starts with, else a new one.
    """
    raw = raw.replace(b"\r\n", b"\n")
    if raw.startswith(b"From "):  # handed over in mbox form already
        first_end = raw.find(b"\n") + 1 or len(raw)
        from_line = from_line or raw[:first_end].rstrip(b"\n")
        raw = raw[first_end:]
    head_length = _header_length(raw)
    headers = _with_status(raw[:head_length], flags, fresh=True)
    content = quote(headers + raw[head_length:])
    if not content.endswith(b"\n"):
        content += b"\n"
    if not from_line:
        from_line = f"From {_envelope_sender(headers)} {time.asctime()}".encode()
    return from_line + b"\n" + content + b"\n"


def _spans(descriptor: int, start: int, stop: int) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) of every span between two offsets, read in chunks (never all at once).

    A span begins at ``start`` and at every "From " line that follows an empty line and looks
    like one (a sender and a ctime date, as mutt and Dovecot check too).
    """
    buffer = b""
    base = start
    position = start
    search_from = 0
    first = start == 0
    while position < stop:
        # a message bigger than a chunk makes the reads grow with it, so it is copied few times
        want = min(max(_CHUNK, len(buffer)), stop - position)
        chunk = os.pread(descriptor, want, position)
        if not chunk:
            break
        position += len(chunk)
        buffer = buffer + chunk if buffer else chunk
        cut = 0
        complete = position >= stop
        if first:
            blank = _LEADING_NEWLINES.match(buffer)
            blank_end = blank.end() if blank else 0
            if len(buffer) < blank_end + 5 and not complete:
                continue  # not yet known whether a "From " line follows the blank lines
            first = False
            if blank_end and buffer.startswith(b"From ", blank_end):
                cut = blank_end  # blank lines before the first "From " line are no message
                yield base, buffer[:cut]
        find = buffer.find
        look = max(search_from, cut)
        while True:
            found = find(_BOUNDARY, look)
            if found < 0:
                look = max(cut, len(buffer) - len(_BOUNDARY) + 1)
                break
            line_start = found + 2
            line_end = find(b"\n", line_start, line_start + _MAX_FROM_LINE)
            if line_end < 0:
                if not complete and len(buffer) - line_start < _MAX_FROM_LINE:
                    look = found  # the line is not all here yet: look again with more
                    break
                line_end = min(len(buffer), line_start + _MAX_FROM_LINE)
            if not _FROM_LINE.match(buffer, line_start, line_end):
                look = found + 1  # "From " in a body someone did not quote: not a new message
                continue
            yield base + cut, buffer[cut:line_start]
            cut = look = line_start
        buffer = buffer[cut:]
        base += cut
        search_from = look - cut
    if buffer:
        yield base, buffer


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (ignored where the file system cannot)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, flags)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _kernel_lock(descriptor: int) -> None:
    """Lock the whole file with fcntl (open-file-description locks on Linux) and flock.

    Open-file-description locks conflict with the classic fcntl locks of other programs but,
    unlike them, are not dropped when this process closes some other descriptor of the file.
    Raises BlockingIOError or PermissionError when another program holds a lock.
    """
    if _OFD_LOCKS:
        request = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        fcntl.fcntl(descriptor, fcntl.F_OFD_SETLK, request)
    else:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)


class _Busy(Exception):
    """The mailbox is locked by someone else; the message says by what."""


class _CannotLock(LocalMailboxError):
    """The mailbox cannot be locked at all (no right to create the dotlock, no lock support)."""


class _Copier:
    """Writes the new file, hashing what comes before its last message as it goes."""

    def __init__(self, descriptor: int, hash_until: int) -> None:
        self.descriptor = descriptor
        self.written = 0
        self.hash_until = hash_until
        self.prefix = hashlib.sha256()

    def write(self, data: bytes) -> None:
        if self.written < self.hash_until:
            self.prefix.update(data[: self.hash_until - self.written])
        view = memoryview(data)
        while view:
            done = os.write(self.descriptor, view)
            view = view[done:]
        self.written += len(data)

    def copy(self, source: int, start: int, length: int) -> None:
        while length > 0:
            chunk = os.pread(source, min(_CHUNK, length), start)
            if not chunk:
                raise OSError(errno.EIO, "the mailbox became shorter while it was rewritten")
            self.write(chunk)
            start += len(chunk)
            length -= len(chunk)

    def lay_out(
        self, source: int, start: int, layout: list[tuple[_Span, bytes | None]]
    ) -> list[tuple[int, int, _Parsed, LocalEntry | None]]:
        """Write spans kept as they are (None) or replaced; where each went, and what it is."""
        placed: list[tuple[int, int, _Parsed, LocalEntry | None]] = []
        position = start
        run_start = run_length = 0  # unchanged spans next to each other are copied at once
        for span, data in layout:
            if data is None:
                placed.append((position, span.length, span.parsed, span.entry))
                position += span.length
                if run_length and run_start + run_length == span.start:
                    run_length += span.length
                else:
                    self.copy(source, run_start, run_length)
                    run_start, run_length = span.start, span.length
            else:
                placed.append((position, len(data), _parse(data), None))
                position += len(data)
                self.copy(source, run_start, run_length)
                run_length = 0
                self.write(data)
        self.copy(source, run_start, run_length)
        return placed


class Mbox(LocalMailbox):
    """The mbox file at ``path`` (e.g. /var/mail/$USER), read and changed in place of INBOX.

    Messages are keyed by a digest of their "From " line and content without status headers,
    plus a counter among identical messages, so keys survive flag changes and rewrites.
    """

    def __init__(self, path: Path | str, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = os.path.realpath(os.path.expanduser(os.fspath(path)))
        self.lock_path = self.path + ".lock"
        self.lock_timeout = lock_timeout
        self._spans: list[_Span] = []
        self._by_key: dict[str, int] = {}
        self._counts: dict[str, int] = {}
        self._preamble = 0
        self._stamp: _Stamp | None = None
        self._settled = 0
        self._settled_hash = b""
        self._access_problem = ""
        self._format_problem = ""
        self._lock_problem = ""
        self.read_only = False
        self.notice = ""
        self._check_access()

    # -- read-only state -------------------------------------------------------------------

    def _check_access(self) -> None:
        directory = os.path.dirname(self.path)
        problem = ""
        try:
            info: os.stat_result | None = os.stat(self.path)
        except OSError:
            info = None
        if info is not None and not os.access(self.path, os.R_OK | os.W_OK):
            problem = f"You cannot write to {self.path}, so tuimail shows it read-only."
        elif not os.access(directory, os.W_OK | os.X_OK):
            problem = (
                f"tuimail cannot create its lock and temporary files in {directory} (you "
                f"cannot write there), so {self.path} is shown read-only."
            )
        elif info is not None and info.st_uid != os.geteuid() and os.geteuid() != 0:
            problem = (
                f"{self.path} belongs to another user; rewriting it would make it yours, so "
                "tuimail shows it read-only."
            )
        self._access_problem = problem
        self._update_read_only()

    def _update_read_only(self) -> None:
        reasons = [
            reason
            for reason in (self._access_problem, self._format_problem, self._lock_problem)
            if reason
        ]
        self.read_only = bool(reasons)
        self.notice = " ".join(reasons)

    # -- folders and index -----------------------------------------------------------------

    def _check_folder(self, folder: str) -> None:
        if folder.upper() != INBOX:
            raise LocalMailboxError(
                f"{self.path} is an mbox file: it has one folder, INBOX, and no {folder!r}."
            )

    def folders(self) -> list[Folder]:
        unread = sum(1 for span in self._spans if Flag.SEEN not in span.parsed.flags)
        return [Folder("", INBOX, "/", FolderRole.INBOX, total=len(self._spans), unread=unread)]

    def state(self, folder: str) -> str:
        self._check_folder(folder)
        if self._lock_problem and not self._access_problem:
            self._probe_locks()
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return "absent"
        except OSError as exc:
            raise LocalMailboxError(f"Cannot read {self.path}: {exc.strerror}.") from None
        return f"{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"

    def scan(self, folder: str) -> list[LocalEntry]:
        self._check_folder(folder)
        if self._lock_problem and not self._access_problem:
            self._probe_locks()
        with self._reader() as descriptor:
            if descriptor is not None:
                self._refresh(descriptor)
        return [span.entry for span in self._spans]

    @contextlib.contextmanager
    def _reader(self) -> Iterator[int | None]:
        """A descriptor to read the file with (None, and an empty index, when there is none)."""
        try:
            descriptor = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self._forget()
            self._stamp = None
            yield None
            return
        except OSError as exc:
            raise LocalMailboxError(f"Cannot read {self.path}: {exc.strerror}.") from None
        try:
            yield descriptor
        except OSError as exc:
            raise LocalMailboxError(f"Cannot read {self.path}: {exc.strerror}.") from None
        finally:
            os.close(descriptor)

    def _forget(self) -> None:
        self._spans = []
        self._by_key = {}
        self._counts = {}
        self._preamble = 0
        self._settled = 0
        self._settled_hash = b""
        if self._format_problem:
            self._format_problem = ""
            self._update_read_only()

    def _refresh(self, descriptor: int) -> None:
        """Bring the index up to date with the file behind ``descriptor``.

        When the file only grew, the messages before the last one are checked by a hash of
        their bytes and kept; only the last message and what follows it are read again.
        """
        stamp = _Stamp.of(os.fstat(descriptor))
        if stamp == self._stamp:
            return
        try:
            old = self._stamp
            prefix = hashlib.sha256()
            settled = self._settled
            if (
                old is not None
                and self._spans
                and settled > 0
                and (stamp.device, stamp.inode) == (old.device, old.inode)
                and stamp.size >= old.size
                and self._prefix_unchanged(descriptor, settled, prefix)
                and os.pread(descriptor, 5, settled) == b"From "
            ):
                last = self._spans.pop()
                del self._by_key[last.entry.key]
                self._counts[last.parsed.digest] -= 1
                start = settled
            else:
                self._forget()
                self._check_access()
                prefix = hashlib.sha256()
                start = 0
            pending: tuple[int, bytes] | None = None
            for offset, data in _spans(descriptor, start, stamp.size):
                if pending is not None:
                    self._add(*pending)
                    prefix.update(pending[1])
                pending = (offset, data)
            if pending is not None:
                self._add(*pending)
                start = pending[0]
            self._settled = start
            self._settled_hash = prefix.digest()
            self._stamp = stamp
        except BaseException:  # half an index is worse than none: read it all next time
            self._forget()
            self._stamp = None
            raise

    def _prefix_unchanged(self, descriptor: int, length: int, prefix: hashlib._Hash) -> bool:
        """Whether the first ``length`` bytes still hash as they did (``prefix`` gets them)."""
        position = 0
        while position < length:
            chunk = os.pread(descriptor, min(_CHUNK, length - position), position)
            if not chunk:
                return False
            prefix.update(chunk)
            position += len(chunk)
        return prefix.digest() == self._settled_hash

    def _add(self, offset: int, data: bytes) -> None:
        if offset == 0 and not data.startswith(b"From "):
            if not data.strip():
                self._preamble = len(data)
                return
            self._format_problem = (
                f"{self.path} does not begin with a “From ” line, so it may not be an mbox "
                "file: what comes before the first “From ” line is shown as one message, and "
                "tuimail will not change the file."
            )
            self._update_read_only()
        parsed = _parse(data)
        self._append_span(offset, len(data), parsed)

    def _append_span(
        self, offset: int, length: int, parsed: _Parsed, entry: LocalEntry | None = None
    ) -> None:
        count = self._counts.get(parsed.digest, 0)
        self._counts[parsed.digest] = count + 1
        key = f"{parsed.digest}-{count}"
        self._by_key[key] = len(self._spans)
        if entry is None or entry.key != key:
            entry = LocalEntry(key, parsed.flags, parsed.keywords, parsed.size)
        self._spans.append(_Span(offset, length, entry, parsed))

    def _span(self, key: str) -> _Span:
        index = self._by_key.get(key)
        if index is None:
            raise LocalMailboxError(f"The message {key} is no longer in {self.path}.")
        return self._spans[index]

    # -- reading ---------------------------------------------------------------------------

    def _read_span(self, key: str, *, head_only: bool) -> tuple[_Span, bytes]:
        with self._reader() as descriptor:
            if descriptor is None:
                raise LocalMailboxError(f"{self.path} is gone, and with it message {key}.")
            for attempt in range(2):
                self._refresh(descriptor)
                span = self._span(key)
                length = span.parsed.head if head_only else span.length
                data = os.pread(descriptor, length, span.start)
                if len(data) == length and (not span.parsed.has_from or data.startswith(b"From ")):
                    return span, data
                if attempt == 0:  # changed behind a stamp that looked the same: read it anew
                    self._stamp = None
                    self._settled = 0
            raise LocalMailboxError(f"{self.path} changes while it is read; try again.")

    def envelope(self, folder: str, entry: LocalEntry, ref: MessageRef) -> Envelope:
        self._check_folder(folder)
        span, data = self._read_span(entry.key, head_only=True)
        begin = data.find(b"\n") + 1 if span.parsed.has_from else 0
        return envelope_of(
            header_block(unquote(data[begin:])),
            ref,
            flags=entry.flags,
            keywords=entry.keywords,
            size=span.parsed.size,
            arrived=_arrived(data[:begin]),
        )

    def read(self, folder: str, key: str) -> bytes:
        self._check_folder(folder)
        _span, data = self._read_span(key, head_only=False)
        begin, end = _content_bounds(data)
        return unquote(data[begin:end])

    # -- locking ---------------------------------------------------------------------------

    def _lock(self, *, create: bool) -> int:
        """Take the dotlock and the kernel locks once, without waiting; the locked descriptor.

        Raises _Busy when another program holds a lock, LocalMailboxError when it cannot work.
        """
        dotlock = self._take_dotlock()
        try:
            try:
                os.write(dotlock, f"{os.getpid()} {socket.gethostname()}\n".encode())
            finally:
                os.close(dotlock)
            flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
            descriptor = os.open(self.path, flags, 0o600)
        except OSError as exc:
            self._unlink_dotlock()
            raise LocalMailboxError(f"Cannot lock {self.path}: {exc.strerror}.") from None
        try:
            _kernel_lock(descriptor)
            if os.path.samestat(os.fstat(descriptor), os.stat(self.path)):
                return descriptor
            reason = "it was replaced while tuimail locked it"
        except OSError as exc:
            if exc.errno not in _BUSY:
                os.close(descriptor)
                self._unlink_dotlock()
                raise _CannotLock(
                    f"Cannot lock {self.path} ({exc.strerror}), so it is shown read-only."
                ) from None
            reason = "it has locked the file"
        os.close(descriptor)
        self._unlink_dotlock()
        raise _Busy(reason)

    def _take_dotlock(self) -> int:
        """Create the dotlock (taking over a stale one); _Busy while another program has it."""
        for _attempt in range(3):
            try:
                return os.open(
                    self.lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
                )
            except FileExistsError:
                try:
                    age = time.time() - os.stat(self.lock_path).st_mtime
                except FileNotFoundError:  # its holder just let go
                    continue
                if age <= STALE_DOTLOCK_SECONDS and not self._dotlock_orphaned():
                    raise _Busy(f"the lock file {self.lock_path} exists") from None
                with contextlib.suppress(FileNotFoundError):  # left by a program that died
                    os.unlink(self.lock_path)
            except OSError as exc:
                raise _CannotLock(
                    f"tuimail cannot create the lock file {self.lock_path} ({exc.strerror}), "
                    f"so {self.path} is shown read-only."
                ) from None
        raise _Busy(f"the lock file {self.lock_path} keeps coming back")

    def _dotlock_orphaned(self) -> bool:
        """True when the dotlock names a tuimail process of this host that is no longer alive
        (killed): it is taken over at once instead of after STALE_DOTLOCK_SECONDS."""
        try:
            pid, _, host = Path(self.lock_path).read_text("ascii").strip().partition(" ")
        except (OSError, UnicodeDecodeError):
            return False
        if host != socket.gethostname() or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:  # alive, another user's
            return False
        return False

    def _unlink_dotlock(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.lock_path)

    def _release(self, descriptor: int) -> None:
        os.close(descriptor)  # drops the kernel locks first, as other mail programs do
        self._unlink_dotlock()

    def _probe_locks(self) -> None:
        """Check, without waiting, whether a lock that made the mailbox read-only is gone."""
        try:
            descriptor = self._lock(create=False)
        except (_Busy, LocalMailboxError):
            return
        self._release(descriptor)
        self._lock_problem = ""
        self._update_read_only()

    @contextlib.contextmanager
    def _locked(self, *, create: bool = False) -> Iterator[int]:
        """The file opened for writing under its dotlock, fcntl and flock locks.

        Waits up to ``lock_timeout`` seconds for another program; then the mailbox becomes
        read-only and LocalMailboxError says why. The index is brought up to date.
        """
        if self._access_problem or self._format_problem:
            raise LocalMailboxError(self.notice)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                descriptor = self._lock(create=create)
                break
            except _Busy as busy:
                if time.monotonic() >= deadline:
                    self._lock_problem = (
                        f"{self.path} is in use by another program ({busy}); tuimail shows "
                        "it read-only until that program lets go of it."
                    )
                    self._update_read_only()
                    raise LocalMailboxError(self.notice) from None
                time.sleep(0.05)
            except _CannotLock as exc:
                self._lock_problem = str(exc)
                self._update_read_only()
                raise
        if self._lock_problem:
            self._lock_problem = ""
            self._update_read_only()
        try:
            self._refresh(descriptor)
            if self._format_problem:
                raise LocalMailboxError(self.notice)
            yield descriptor
        except OSError as exc:
            raise LocalMailboxError(
                f"Cannot change {self.path}: {exc.strerror}. The mailbox was left as it was."
            ) from None
        finally:
            self._release(descriptor)

    # -- changes ---------------------------------------------------------------------------

    def _rewrite(self, descriptor: int, changes: dict[int, bytes | None]) -> None:
        """Write the file anew with some spans replaced (bytes) or left out (None).

        Everything goes to a temporary file in the same directory, which is synced and then
        renamed over the mailbox, so a failure at any point leaves the old file whole.
        """
        info = os.fstat(descriptor)
        layout: list[tuple[_Span, bytes | None]] = []
        for index, span in enumerate(self._spans):
            if index in changes and changes[index] is None:
                continue
            layout.append((span, changes.get(index)))
        lengths = [span.length if data is None else len(data) for span, data in layout]
        last_start = self._preamble + sum(lengths[:-1])
        directory, name = os.path.split(self.path)
        for leftover in Path(directory).glob(f".{glob.escape(name)}.*.tuimail"):
            with contextlib.suppress(OSError):  # a rewrite killed before its rename (we hold
                leftover.unlink()  # the locks: no live tuimail is writing one)
        temporary, temporary_path = tempfile.mkstemp(
            prefix=f".{name}.", suffix=".tuimail", dir=directory
        )
        try:
            with contextlib.suppress(OSError):  # others find it only after the rename
                _kernel_lock(temporary)
            copier = _Copier(temporary, last_start)
            copier.copy(descriptor, 0, self._preamble)
            placed = copier.lay_out(descriptor, self._preamble, layout)
            os.fchmod(temporary, stat.S_IMODE(info.st_mode))
            mine = os.fstat(temporary)
            if (mine.st_uid, mine.st_gid) != (info.st_uid, info.st_gid):
                with contextlib.suppress(OSError):
                    os.fchown(temporary, info.st_uid, info.st_gid)
            os.fsync(temporary)
            os.replace(temporary_path, self.path)
        except BaseException as exc:
            os.close(temporary)
            with contextlib.suppress(OSError):
                os.unlink(temporary_path)
            if isinstance(exc, OSError):
                raise LocalMailboxError(
                    f"Cannot rewrite {self.path}: {exc.strerror or exc}. The mailbox was left "
                    "as it was."
                ) from None
            raise
        try:
            _fsync_directory(directory)
            self._stamp = _Stamp.of(os.fstat(temporary))
        finally:
            os.close(temporary)
        self._spans = []
        self._by_key = {}
        self._counts = {}
        for start, length, parsed, entry in placed:
            self._append_span(start, length, parsed, entry)
        self._settled = last_start if placed else self._preamble
        self._settled_hash = copier.prefix.digest() if placed else b""

    def _keys_present(self, keys: list[str]) -> dict[int, str]:
        return {self._by_key[key]: key for key in keys if key in self._by_key}

    def set_flags(self, folder: str, key: str, flags: frozenset[Flag]) -> str:
        self._check_folder(folder)
        with self._locked() as descriptor:
            index = self._by_key.get(key)
            if index is None:
                raise LocalMailboxError(f"The message {key} is no longer in {self.path}.")
            span = self._spans[index]
            if span.parsed.flags == flags:
                return key
            data = os.pread(descriptor, span.length, span.start)
            begin = data.find(b"\n") + 1 if span.parsed.has_from else 0
            headers = _with_status(data[begin : span.parsed.head], flags)
            self._rewrite(descriptor, {index: data[:begin] + headers + data[span.parsed.head :]})
            return self._spans[index].entry.key

    def move(self, folder: str, keys: list[str], target: str) -> None:
        self._check_folder(folder)
        if target.upper() != INBOX:
            raise LocalMailboxError(
                f"{self.path} is an mbox file with one folder, INBOX: messages cannot be moved "
                f"to {target!r}."
            )

    def copy(self, folder: str, keys: list[str], target: str) -> None:
        self._check_folder(folder)
        if target.upper() != INBOX:
            raise LocalMailboxError(
                f"{self.path} is an mbox file with one folder, INBOX: messages cannot be copied "
                f"to {target!r}."
            )
        copies = []
        for key in keys:
            span, head = self._read_span(key, head_only=True)
            from_line = head[: head.find(b"\n")].rstrip(b"\r") if span.parsed.has_from else b""
            copies.append((self.read(folder, key), span.parsed.flags, from_line))
        if copies:
            with self._locked(create=True) as descriptor:
                self._append(descriptor, copies)

    def delete(self, folder: str, keys: list[str]) -> None:
        self._check_folder(folder)
        if not keys:
            return
        with self._locked() as descriptor:
            present = self._keys_present(keys)
            if present:
                self._rewrite(descriptor, dict.fromkeys(present))

    def deliver(self, folder: str, raw: bytes, flags: frozenset[Flag] = frozenset()) -> str:
        self._check_folder(folder)
        with self._locked(create=True) as descriptor:
            return self._append(descriptor, [(raw, flags, b"")])[-1]

    def _append(
        self, descriptor: int, messages: list[tuple[bytes, frozenset[Flag], bytes]]
    ) -> list[str]:
        """Append messages at the end, synced; on failure the file is cut back to its old end."""
        size = os.fstat(descriptor).st_size
        tail = os.pread(descriptor, 2, size - 2) if size >= 2 else os.pread(descriptor, 1, 0)
        if size == 0 or tail.endswith(b"\n\n"):
            padding = b""
        elif tail.endswith(b"\n"):
            padding = b"\n"
        else:  # the last message has no newline at its end: give it one, and a blank line
            padding = b"\n\n"
        spans = [_new_span(*message) for message in messages]
        position = size
        try:
            for data in [padding, *spans]:
                view = memoryview(data)
                while view:
                    done = os.pwrite(descriptor, view, position)
                    view = view[done:]
                    position += done
            os.fsync(descriptor)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(descriptor, size)
                os.fsync(descriptor)
            raise LocalMailboxError(
                f"Cannot add mail to {self.path}: {exc.strerror}. The mailbox was left as it was."
            ) from None
        self._refresh(descriptor)
        first = len(self._spans) - len(spans)
        if first < 0 or self._spans[first].start != size + len(padding):
            raise LocalMailboxError(f"{self.path} changed while mail was added to it.")
        return [span.entry.key for span in self._spans[first:]]
