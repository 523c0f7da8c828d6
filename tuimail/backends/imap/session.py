"""A logged-in IMAP session: folders, envelopes, flags, bodies, moves, appends and IDLE."""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from imapclient import imap_utf7
from imapclient.exceptions import IMAPClientError

from tuimail.backends.imap import bulk, wire
from tuimail.backends.imap.connection import capabilities, connect_and_login
from tuimail.backends.tls import translate
from tuimail.mime.sanitize import safe_line
from tuimail.model.account import Endpoint
from tuimail.model.errors import ConnectError, MailError, ProtocolError
from tuimail.model.folder import Folder, FolderRole, role_from_name
from tuimail.model.message import Envelope, Flag

Cancelled = bulk.Cancelled

_SPECIAL_USE: dict[bytes, FolderRole] = {
    b"\\sent": FolderRole.SENT,
    b"\\drafts": FolderRole.DRAFTS,
    b"\\trash": FolderRole.TRASH,
    b"\\junk": FolderRole.JUNK,
    b"\\archive": FolderRole.ARCHIVE,
}


_FLAG_NAMES: dict[Flag, bytes] = {
    Flag.SEEN: b"\\Seen",
    Flag.ANSWERED: b"\\Answered",
    Flag.FLAGGED: b"\\Flagged",
    Flag.DELETED: b"\\Deleted",
    Flag.DRAFT: b"\\Draft",
}
_COPYUID = re.compile(rb"\[COPYUID \d+ ([\d:,]+) ([\d:,]+)\]", re.IGNORECASE)
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)

IDLE_RENEW_SECONDS = 25 * 60
"""IDLE is restarted well inside the 30 minutes after which RFC 3501 lets servers log out."""


@dataclass(frozen=True)
class SelectedFolder:
    """What SELECT or EXAMINE said about a folder."""

    name: str
    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int
    """0 when the server does not do CONDSTORE."""
    read_only: bool


def _text(value: object) -> str:
    raw = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return safe_line(raw)


def _int(value: object) -> int:
    if isinstance(value, list | tuple):
        value = value[0] if value else 0
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    try:
        return int(str(value))
    except ValueError:
        return 0


def folder_role(name: str, delimiter: str, flags: Iterable[bytes]) -> FolderRole:
    """A folder's role from its SPECIAL-USE attributes, else from its name."""
    lowered = {flag.lower() for flag in flags}
    for attribute, role in _SPECIAL_USE.items():
        if attribute in lowered:
            return role
    if name.upper() == "INBOX":
        return FolderRole.INBOX
    leaf = name.rsplit(delimiter, 1)[-1] if delimiter else name
    return role_from_name(leaf)


def assign_roles(found: list[tuple[str, str, tuple[bytes, ...]]]) -> list[Folder]:
    """Folders with roles: attributes first, then names; one folder per role."""
    taken: set[FolderRole] = set()
    by_attribute: dict[str, FolderRole] = {}
    for name, delimiter, flags in found:
        role = folder_role(name, delimiter, flags)
        lowered = {flag.lower() for flag in flags}
        if role is not FolderRole.NONE and lowered & set(_SPECIAL_USE) and role not in taken:
            by_attribute[name] = role
            taken.add(role)
    folders = []
    for name, delimiter, flags in found:
        if name in by_attribute:
            role = by_attribute[name]
        else:
            role = folder_role(name, delimiter, ())
            if role in taken and role is not FolderRole.INBOX:
                role = FolderRole.NONE
            taken.add(role)
        lowered = {flag.lower() for flag in flags}
        selectable = not ({b"\\noselect", b"\\nonexistent"} & lowered)
        folders.append(Folder("", name, delimiter, role, selectable=selectable))
    return folders


class ImapSession:
    """One logged-in IMAP connection; use it from one thread only."""

    def __init__(self, endpoint: Endpoint, password: str, *, account: str = "") -> None:
        self.endpoint = endpoint
        self.account = account
        self.client: Any = connect_and_login(endpoint, password)
        self.capabilities = frozenset(capabilities(self.client))
        self.selected: SelectedFolder | None = None
        self.unusable_folders: list[str] = []
        """Names the last ``folders()`` left out (shown escaped), for the caller to report."""
        self.condstore = "CONDSTORE" in self.capabilities or "QRESYNC" in self.capabilities
        if self.condstore and "ENABLE" in self.capabilities:
            try:
                with self._wire("ENABLE CONDSTORE"):
                    self.client.enable("CONDSTORE")
            except BaseException:
                self.close()
                raise

    # -- plumbing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _wire(self, what: str) -> Any:
        """Turn what the libraries raise into MailErrors that say what failed."""
        try:
            yield
        except MailError:
            raise
        except (TimeoutError, OSError, EOFError, ssl.SSLError) as exc:
            self.selected = None
            raise translate(exc, self.endpoint) from None
        except imaplib.IMAP4.abort as exc:  # imaplib's word for a connection that broke
            self.selected = None
            raise ConnectError(
                f"{self.endpoint.address} closed the connection unexpectedly while {what} "
                f"({_text(str(exc))}).",
                title="Connection lost",
            ) from None
        except UnicodeError:
            self.selected = None
            raise ProtocolError(
                f"{self.endpoint.address} sent a folder name that is not valid modified UTF-7 "
                f"while {what}."
            ) from None
        except (IMAPClientError, imaplib.IMAP4.error) as exc:
            self.selected = None
            raise ProtocolError(
                f"{self.endpoint.address} refused {what}: {_text(str(exc))}"
            ) from None

    def abort(self) -> None:
        """Cut the connection now, from any thread: a read blocked on it fails at once."""
        with contextlib.suppress(Exception):
            self.client.socket().shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Log out (or just drop the connection when that fails)."""
        with contextlib.suppress(Exception):
            self.client.logout()
        with contextlib.suppress(Exception):
            self.client.shutdown()

    def __enter__(self) -> ImapSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- folders ---------------------------------------------------------------------------

    def folders(self) -> list[Folder]:
        """Every folder with its role and delimiter (names decoded from modified UTF-7).

        A name that is not valid modified UTF-7, or that holds control characters (CR, LF,
        NUL...), cannot be opened safely: it is left out and described in ``unusable_folders``.
        """
        with self._wire("LIST"):
            # servers with SPECIAL-USE mark the folders in a plain LIST reply too; read here, as
            # imapclient's parser fails on a legal name like x[ (and so the whole LIST did)
            status, data = self.client._imap.list('""', "*")
            if status != "OK":
                raise imaplib.IMAP4.error(wire.text(data[0] if data else b""))
            listing = wire.list_entries(data)
        found = []
        self.unusable_folders = []
        for flags, delimiter, name in listing:
            folder_name = _folder_name(name)
            if folder_name is None:
                self.unusable_folders.append(_text(repr(name)[2:-1]))
                continue
            found.append((folder_name, delimiter.decode("utf-8", "replace"), flags))
        if not any(name.upper() == "INBOX" for name, _, _ in found):
            found.insert(0, ("INBOX", "/", ()))
        return [
            Folder(self.account, f.name, f.delimiter, f.role, selectable=f.selectable)
            for f in assign_roles(found)
        ]

    def create_folder(self, name: str) -> None:
        """Create a folder (its name encoded to modified UTF-7 as needed)."""
        with self._wire(f"creating {name!r}"):
            self.client.create_folder(name)

    def select(self, name: str, *, read_only: bool = True, fresh: bool = False) -> SelectedFolder:
        """EXAMINE (read_only) or SELECT a folder; a folder already open that way is reused.

        ``fresh`` always asks the server again: its counts (UIDNEXT, EXISTS, HIGHESTMODSEQ) are
        what a sync compares, and a reused answer would be out of date.
        """
        if (
            not fresh
            and self.selected is not None
            and self.selected.name == name
            and (read_only or not self.selected.read_only)
        ):
            return self.selected
        self.selected = None  # a failed SELECT leaves no folder selected (RFC 3501)
        with self._wire(f"opening {name!r}"):
            reply = self.client.select_folder(name, readonly=read_only)
        selected = SelectedFolder(
            name=name,
            uidvalidity=_int(reply.get(b"UIDVALIDITY", 0)),
            uidnext=_int(reply.get(b"UIDNEXT", 0)),
            exists=_int(reply.get(b"EXISTS", 0)),
            highestmodseq=_int(reply.get(b"HIGHESTMODSEQ", 0)),
            read_only=read_only,
        )
        self.selected = selected
        return selected

    # -- bulk reads ------------------------------------------------------------------------

    def _require(self) -> SelectedFolder:
        if self.selected is None:
            raise ProtocolError("No folder is open.")
        return self.selected

    def fetch_envelopes(
        self,
        uids: str,
        on_envelope: Callable[[Envelope], None],
        *,
        cancel: threading.Event | None = None,
    ) -> None:
        """Stream the envelopes of a UID set (``"1:*"`` allowed) of the open folder."""
        selected = self._require()
        items = wire.ENVELOPE_ITEMS + (" MODSEQ" if self.condstore else "")
        account, name, validity = self.account, selected.name, selected.uidvalidity
        envelope_from = wire.envelope_from

        def each(line: bytes, literals: list[bytes]) -> None:
            envelope = envelope_from(line, literals, account, name, validity)
            if envelope is not None:
                on_envelope(envelope)

        with self._wire("fetching envelopes"):
            bulk.run(self.client._imap, f"UID FETCH {uids} ({items})".encode(), each, cancel=cancel)

    def fetch_flags(
        self, uids: str, *, changed_since: int = 0, cancel: threading.Event | None = None
    ) -> list[tuple[int, frozenset[Flag], frozenset[str], int]]:
        """(uid, flags, keywords, modseq) of a UID set, only those changed since a MODSEQ."""
        self._require()
        items = "UID FLAGS" + (" MODSEQ" if self.condstore else "")
        command = f"UID FETCH {uids} ({items})"
        if changed_since and self.condstore:
            command += f" (CHANGEDSINCE {changed_since})"
        found: list[wire.FlagState] = []
        flags_from = wire.flags_from

        def each(line: bytes, literals: list[bytes]) -> None:
            state = flags_from(line)
            if state is not None:
                found.append(state)

        with self._wire("fetching flags"):
            bulk.run(self.client._imap, command.encode(), each, cancel=cancel)
        return found

    def search_uids(self, criteria: str = "ALL") -> list[int]:
        """UIDs of the open folder matching raw IMAP search criteria (ASCII)."""
        self._require()
        with self._wire("SEARCH"):
            others = bulk.run(self.client._imap, f"UID SEARCH {criteria}".encode())
        uids: list[int] = []
        for line in others:
            if line[:7].upper() == b"SEARCH ":
                uids.extend(int(t) for t in line[7:].split() if t.isdigit())
            elif line.upper() == b"SEARCH":
                continue
        return uids

    def search(self, criteria: Sequence[str]) -> list[int]:
        """UIDs of the open folder matching search criteria that may hold non-ASCII text."""
        self._require()
        with self._wire("SEARCH"):
            return [int(u) for u in self.client.search(list(criteria), charset="UTF-8")]

    def fetch_raw(self, uid: int) -> bytes | None:
        """The whole message, without setting \\Seen; None when the UID is gone."""
        self._require()
        with self._wire("fetching the message"):
            reply = self.client.fetch([uid], ["BODY.PEEK[]"])
        for data in reply.values():
            raw = data.get(b"BODY[]")
            if isinstance(raw, bytes):
                return raw
        return None

    # -- changes ---------------------------------------------------------------------------

    def _open_for_writing(self, folder: str) -> None:
        self.select(folder, read_only=False)

    def add_flags(self, folder: str, uids: Sequence[int], flags: Iterable[Flag | str]) -> None:
        """UID STORE +FLAGS (never a full replace, which would undo others' changes)."""
        self._store(folder, uids, flags, "+FLAGS.SILENT")

    def remove_flags(self, folder: str, uids: Sequence[int], flags: Iterable[Flag | str]) -> None:
        """UID STORE -FLAGS."""
        self._store(folder, uids, flags, "-FLAGS.SILENT")

    def _store(
        self, folder: str, uids: Sequence[int], flags: Iterable[Flag | str], how: str
    ) -> None:
        if not uids:
            return
        names = " ".join(
            (_FLAG_NAMES[f] if isinstance(f, Flag) else f.encode("ascii")).decode() for f in flags
        )
        self._open_for_writing(folder)
        with self._wire("changing flags"):
            bulk.run(
                self.client._imap,
                f"UID STORE {wire.compress_uids(uids)} {how} ({names})".encode(),
            )

    def _copy_or_move(
        self, verb: str, folder: str, uids: Sequence[int], target: str
    ) -> dict[int, int]:
        self._open_for_writing(folder)
        name = self.client._normalise_folder(target)
        if isinstance(name, str):
            name = name.encode("utf-8")
        with self._wire(f"{verb.lower()} to {target!r}"):
            replies = bulk.run(
                self.client._imap,
                f"UID {verb} {wire.compress_uids(uids)} ".encode() + name,
            )
        for reply in replies:
            match = _COPYUID.search(reply)
            if match:
                return dict(
                    zip(
                        wire.expand_uids(match.group(1).decode()),
                        wire.expand_uids(match.group(2).decode()),
                        strict=False,
                    )
                )
        return {}

    def copy(self, folder: str, uids: Sequence[int], target: str) -> dict[int, int]:
        """UID COPY to another folder; returns old UID -> new UID where the server says."""
        return self._copy_or_move("COPY", folder, uids, target)

    def move(self, folder: str, uids: Sequence[int], target: str) -> dict[int, int]:
        """UID MOVE, or COPY + \\Deleted + expunge of just these UIDs where MOVE is missing.

        Returns old UID -> new UID in the target where the server says (UIDPLUS).
        """
        if "MOVE" in self.capabilities:
            return self._copy_or_move("MOVE", folder, uids, target)
        mapping = self._copy_or_move("COPY", folder, uids, target)
        self.add_flags(folder, uids, [Flag.DELETED])
        self.expunge(folder, uids)
        return mapping

    def expunge(self, folder: str, uids: Sequence[int]) -> None:
        """Remove these UIDs, which must be marked \\Deleted, and no other message.

        With UIDPLUS that is UID EXPUNGE. Without it a plain EXPUNGE would also remove what
        others marked \\Deleted and chose to keep: their mark is lifted for the moment and put
        back afterwards.
        """
        self._open_for_writing(folder)
        if "UIDPLUS" in self.capabilities:
            with self._wire("expunging"):
                self.client.uid_expunge(list(uids))
            return
        ours = set(uids)
        others = [uid for uid in self.search_uids("DELETED") if uid not in ours]
        self.remove_flags(folder, others, [Flag.DELETED])
        try:
            with self._wire("expunging"):
                self.client.expunge()
        finally:
            self.add_flags(folder, others, [Flag.DELETED])
        self.selected = None

    def search_header(self, name: str, value: str) -> list[int]:
        """UIDs of the open folder whose header ``name`` contains ``value`` (ASCII only)."""
        self._require()
        if not (name.isascii() and name.replace("-", "").isalnum()):
            raise ProtocolError(f"{name!r} is not a header name tuimail searches for.")
        if not value.isascii() or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ProtocolError("That value cannot be searched for on the server.")
        quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        with self._wire("SEARCH"):
            replies = bulk.run(self.client._imap, f"UID SEARCH HEADER {name} {quoted}".encode())
        return [
            int(token)
            for line in replies
            if line[:7].upper() == b"SEARCH "
            for token in line[7:].split()
            if token.isdigit()
        ]

    def append(
        self,
        folder: str,
        raw: bytes,
        flags: Iterable[Flag | str] = (),
        when: datetime | None = None,
    ) -> int | None:
        """APPEND a message; returns its UID when the server says (UIDPLUS), else None."""
        names = [(_FLAG_NAMES[f] if isinstance(f, Flag) else f.encode("ascii")) for f in flags]
        with self._wire(f"saving to {folder!r}"):
            reply = self.client.append(folder, raw, flags=names, msg_time=when)
        match = _APPENDUID.search(reply if isinstance(reply, bytes) else b"")
        if self.selected is not None and self.selected.name == folder:
            self.selected = None  # counts changed; reopen next time
        return int(match.group(2)) if match else None

    # -- waiting for mail ------------------------------------------------------------------

    def wait_for_changes(
        self, folder: str, cancel: threading.Event, timeout: float, *, poll: float = 60.0
    ) -> bool:
        """Block until the folder changes, ``timeout`` passes or ``cancel`` is set.

        Uses IDLE (restarted before the server's limit) where offered, else NOOP every
        ``poll`` seconds. Returns whether the server reported a change.
        """
        self.select(folder, read_only=True)
        deadline = time.monotonic() + timeout
        while not cancel.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._wire("waiting for new mail"):
                if "IDLE" in self.capabilities:
                    changed = self._idle_once(min(left, IDLE_RENEW_SECONDS), cancel)
                else:
                    cancel.wait(min(poll, left))
                    changed = _changed(self.client.noop()[1])
            if changed:
                self.selected = None
                return True
        return False

    def _idle_once(self, seconds: float, cancel: threading.Event) -> bool:
        self.client.idle()
        try:
            end = time.monotonic() + seconds
            while not cancel.is_set() and time.monotonic() < end:
                if _changed(self.client.idle_check(timeout=1)):
                    return True
            return False
        finally:
            self.client.idle_done()


def _folder_name(name: object) -> str | None:
    """A folder name from LIST, decoded; None when it cannot be used (see ``folders``)."""
    if isinstance(name, int):
        return str(name)
    if not isinstance(name, bytes):
        return None
    try:
        decoded: str = imap_utf7.decode(name)
    except (UnicodeError, ValueError):
        return None
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in decoded):
        return None
    return decoded


def _changed(replies: Iterable[object]) -> bool:
    return any(
        isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"EXPUNGE", b"FETCH")
        for r in replies
    )


def open_session(endpoint: Endpoint, password: str, account: str) -> ImapSession:
    """A logged-in session, or a MailError saying why not."""
    try:
        return ImapSession(endpoint, password, account=account)
    except MailError:
        raise
    except (OSError, EOFError, imaplib.IMAP4.abort) as exc:
        raise translate(exc, endpoint) from None
    except (IMAPClientError, imaplib.IMAP4.error) as exc:
        raise ConnectError(f"{endpoint.address}: {_text(str(exc))}") from None
