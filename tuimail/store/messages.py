"""Cached envelopes: added in batches, flags updated, expunged, and read back in pages."""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tuimail.mime.subject import subject_sort_key
from tuimail.model.message import Envelope, Flag, MessageRef
from tuimail.store.codec import (
    bits_to_flags,
    flags_to_bits,
    pack_addresses,
    pack_keywords,
    unpack_addresses,
    unpack_keywords,
)


class Sort(enum.StrEnum):
    """The orders a message list can be sorted in."""

    DATE = "date"
    SENDER = "sender"
    SUBJECT = "subject"
    SIZE = "size"


_ORDER = {
    Sort.DATE: "coalesce(m.date, m.arrived, 0) {d}, m.id {d}",
    Sort.SENDER: "m.sender_sort {d}, m.date DESC, m.id DESC",
    Sort.SUBJECT: "m.subject_sort {d}, m.date DESC, m.id DESC",
    Sort.SIZE: "m.size {d}, m.id {d}",
}

_COLUMNS = (
    "m.id, f.account, f.name, f.uidvalidity, m.uid, m.message_id, m.date, m.subject, m.sender,"
    " m.recipients, m.cc, m.reply_to, m.in_reply_to, m.refs, m.flags, m.keywords, m.size,"
    " m.has_attachments, m.arrived, m.modseq, m.location"
)


@dataclass(frozen=True)
class CachedEnvelope:
    """An envelope with the cache's key of its row."""

    id: int
    envelope: Envelope
    location: str = ""
    """Where a local message lives (its Maildir or mbox key); empty for IMAP."""


def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _sender_key(envelope: Envelope) -> str:
    if not envelope.sender:
        return ""
    first = envelope.sender[0]
    return (first.name or first.email).casefold()


def _row(folder: int, e: Envelope, location: str = "") -> tuple[object, ...]:
    return (
        folder,
        e.ref.uid,
        e.message_id,
        _epoch(e.date),
        e.subject,
        pack_addresses(e.sender),
        pack_addresses(e.to),
        pack_addresses(e.cc),
        pack_addresses(e.reply_to),
        e.in_reply_to,
        " ".join(e.references),
        flags_to_bits(e.flags),
        pack_keywords(e.keywords),
        e.size,
        int(e.has_attachments),
        e.modseq,
        _epoch(e.arrived),
        _sender_key(e),
        subject_sort_key(e.subject),
        location,
    )


def add(
    db: sqlite3.Connection,
    folder: int,
    envelopes: Sequence[Envelope],
    locations: Sequence[str] | None = None,
) -> int:
    """Add envelopes to a folder and to the full-text index (caller commits).

    A UID already cached is left as it is. ``locations`` gives local messages' keys, one per
    envelope. Returns how many were new.
    """
    if not envelopes:
        return 0
    # ids come from a counter that only grows, never from max(id) + 1: a deleted message's id
    # is never given to another one
    (before,) = db.execute("SELECT value FROM id_counter WHERE name = 'message'").fetchone()
    (highest,) = db.execute("SELECT coalesce(max(id), 0) FROM message").fetchone()
    before = max(before, highest)
    where = locations if locations is not None else [""] * len(envelopes)
    db.executemany(
        "INSERT OR IGNORE INTO message (id, folder_id, uid, message_id, date, subject, sender,"
        " recipients, cc, reply_to, in_reply_to, refs, flags, keywords, size, has_attachments,"
        " modseq, arrived, sender_sort, subject_sort, location)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (before + index, *_row(folder, e, place))
            for index, (e, place) in enumerate(zip(envelopes, where, strict=True), 1)
        ],
    )
    db.execute("UPDATE id_counter SET value = ? WHERE name = 'message'", (before + len(envelopes),))
    cursor = db.execute(
        "INSERT INTO message_text (rowid, subject, sender, recipients)"
        " SELECT id, subject, sender, recipients || char(10) || cc FROM message WHERE id > ?",
        (before,),
    )
    return int(cursor.rowcount)


def uids(db: sqlite3.Connection, folder: int) -> list[int]:
    """The cached UIDs of a folder, ascending."""
    return [
        row[0]
        for row in db.execute("SELECT uid FROM message WHERE folder_id = ? ORDER BY uid", (folder,))
    ]


def max_uid(db: sqlite3.Connection, folder: int) -> int:
    """The highest cached UID of a folder (0 when empty)."""
    (value,) = db.execute(
        "SELECT coalesce(max(uid), 0) FROM message WHERE folder_id = ?", (folder,)
    ).fetchone()
    return int(value)


def count(db: sqlite3.Connection, folder: int) -> int:
    """How many messages of a folder are cached."""
    (value,) = db.execute("SELECT count(*) FROM message WHERE folder_id = ?", (folder,)).fetchone()
    return int(value)


def flag_bits(db: sqlite3.Connection, folder: int) -> dict[int, tuple[int, str]]:
    """UID -> (flag bits, packed keywords) for every cached message of a folder."""
    return {
        row[0]: (row[1], row[2])
        for row in db.execute(
            "SELECT uid, flags, keywords FROM message WHERE folder_id = ?", (folder,)
        )
    }


def set_flags(
    db: sqlite3.Connection,
    folder: int,
    changes: Iterable[tuple[int, frozenset[Flag], frozenset[str], int]],
) -> int:
    """Store the server's flags for (uid, flags, keywords, modseq) items; returns rows changed.

    The cached flags are read once and compared here, so a full scan of a folder where little
    changed writes little.
    """
    cached = flag_bits(db, folder)
    updates = []
    for uid, flags, keywords, modseq in changes:
        known = cached.get(uid)
        if known is None:
            continue
        bits = flags_to_bits(flags)
        words = pack_keywords(keywords) if keywords else ""
        if known != (bits, words):
            updates.append((bits, words, modseq, folder, uid))
    db.executemany(
        "UPDATE message SET flags = ?, keywords = ?, modseq = max(modseq, ?)"
        " WHERE folder_id = ? AND uid = ?",
        updates,
    )
    return len(updates)


def change_flag_bits(
    db: sqlite3.Connection, ids: Sequence[int], add: int = 0, remove: int = 0
) -> None:
    """Set and clear flag bits on cached messages by row id (caller commits)."""
    db.executemany(
        "UPDATE message SET flags = (flags | ?) & ~? WHERE id = ?",
        [(add, remove, message) for message in ids],
    )


def remove_uids(db: sqlite3.Connection, folder: int, gone: Iterable[int]) -> int:
    """Drop messages the server no longer has; returns how many were cached."""
    cursor = db.executemany(
        "DELETE FROM message WHERE folder_id = ? AND uid = ?", [(folder, uid) for uid in gone]
    )
    return int(cursor.rowcount)


def remove_ids(db: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Drop cached messages by row id (caller commits)."""
    db.executemany("DELETE FROM message WHERE id = ?", [(i,) for i in ids])


def _envelope(row: Sequence[object]) -> CachedEnvelope:
    (
        row_id,
        account,
        folder,
        uidvalidity,
        uid,
        message_id,
        date,
        subject,
        sender,
        recipients,
        cc,
        reply_to,
        in_reply_to,
        refs,
        flags,
        keywords,
        size,
        has_attachments,
        arrived,
        modseq,
        location,
    ) = row
    return CachedEnvelope(
        id=int(row_id),  # type: ignore[call-overload]
        envelope=Envelope(
            ref=MessageRef(str(account), str(folder), int(uid), int(uidvalidity)),  # type: ignore[call-overload]
            message_id=str(message_id),
            date=datetime.fromtimestamp(date, UTC) if isinstance(date, int) else None,
            subject=str(subject),
            sender=unpack_addresses(str(sender)),
            to=unpack_addresses(str(recipients)),
            cc=unpack_addresses(str(cc)),
            reply_to=unpack_addresses(str(reply_to)),
            in_reply_to=str(in_reply_to),
            references=tuple(str(refs).split()),
            flags=bits_to_flags(int(flags)),  # type: ignore[call-overload]
            keywords=unpack_keywords(str(keywords)),
            size=int(size),  # type: ignore[call-overload]
            has_attachments=bool(has_attachments),
            arrived=datetime.fromtimestamp(arrived, UTC) if isinstance(arrived, int) else None,
            modseq=int(modseq),  # type: ignore[call-overload]
        ),
        location=str(location),
    )


def page(
    db: sqlite3.Connection,
    folder_ids: Sequence[int],
    *,
    sort: Sort = Sort.DATE,
    descending: bool = True,
    offset: int = 0,
    limit: int = 100,
    where: str = "",
    params: Sequence[object] = (),
) -> list[CachedEnvelope]:
    """One page of envelopes from these folders, in order; ``where`` narrows it (a search)."""
    if not folder_ids:
        return []
    marks = ",".join("?" * len(folder_ids))
    order = _ORDER[sort].format(d="DESC" if descending else "ASC")
    condition = f" AND ({where})" if where else ""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM message m JOIN folder f ON f.id = m.folder_id"
        f" WHERE m.folder_id IN ({marks}){condition} ORDER BY {order} LIMIT ? OFFSET ?",
        [*folder_ids, *params, limit, offset],
    ).fetchall()
    return [_envelope(row) for row in rows]


def ordered_ids(
    db: sqlite3.Connection,
    folder_ids: Sequence[int],
    *,
    sort: Sort = Sort.DATE,
    descending: bool = True,
    where: str = "",
    params: Sequence[object] = (),
    limit: int | None = None,
) -> list[int]:
    """Every matching row id in order (or the first ``limit``): what a virtual list holds."""
    if not folder_ids:
        return []
    marks = ",".join("?" * len(folder_ids))
    order = _ORDER[sort].format(d="DESC" if descending else "ASC")
    condition = f" AND ({where})" if where else ""
    return [
        row[0]
        for row in db.execute(
            f"SELECT m.id FROM message m WHERE m.folder_id IN ({marks}){condition}"
            f" ORDER BY {order}" + ("" if limit is None else f" LIMIT {int(limit)}"),
            [*folder_ids, *params],
        )
    ]


def by_ids(db: sqlite3.Connection, ids: Sequence[int]) -> list[CachedEnvelope]:
    """The envelopes of these row ids, in the order given (unknown ids are skipped)."""
    if not ids:
        return []
    found: dict[int, CachedEnvelope] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(
            f"SELECT {_COLUMNS} FROM message m JOIN folder f ON f.id = m.folder_id"
            f" WHERE m.id IN ({marks})",
            list(chunk),
        ):
            cached = _envelope(row)
            found[cached.id] = cached
    return [found[i] for i in ids if i in found]


def by_ref(db: sqlite3.Connection, ref: MessageRef) -> CachedEnvelope | None:
    """The cached envelope a reference points at (None when gone or of an old UIDVALIDITY)."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM message m JOIN folder f ON f.id = m.folder_id"
        " WHERE f.account = ? AND f.name = ? AND m.uid = ?"
        " AND (? = 0 OR f.uidvalidity = ?)",
        (ref.account, ref.folder, ref.uid, ref.uidvalidity, ref.uidvalidity),
    ).fetchone()
    return _envelope(row) if row else None


def thread_fields(
    db: sqlite3.Connection, folder_ids: Sequence[int]
) -> list[tuple[int, str, str, str, str, int | None]]:
    """(id, message_id, in_reply_to, refs, subject, date) of every message, for threading."""
    if not folder_ids:
        return []
    marks = ",".join("?" * len(folder_ids))
    return db.execute(
        "SELECT id, message_id, in_reply_to, refs, subject, coalesce(date, arrived)"
        f" FROM message WHERE folder_id IN ({marks})",
        list(folder_ids),
    ).fetchall()


def locations(db: sqlite3.Connection, folder: int) -> dict[str, tuple[int, int, str]]:
    """Location -> (uid, flag bits, packed keywords) of a local folder's cached messages."""
    return {
        row[0]: (row[1], row[2], row[3])
        for row in db.execute(
            "SELECT location, uid, flags, keywords FROM message WHERE folder_id = ?", (folder,)
        )
    }


def locations_of(db: sqlite3.Connection, folder: int, message_id: str) -> list[str]:
    """Where the messages with this Message-ID live in a local folder, oldest UID first."""
    return [
        row[0]
        for row in db.execute(
            "SELECT location FROM message WHERE folder_id = ? AND message_id = ? ORDER BY uid",
            (folder, message_id),
        )
    ]


def ids_with_message_id(
    db: sqlite3.Connection, folders: Sequence[int], message_id: str
) -> list[int]:
    """Row ids of the messages with this Message-ID in these folders."""
    if not folders or not message_id:
        return []
    marks = ",".join("?" * len(folders))
    return [
        row[0]
        for row in db.execute(
            f"SELECT id FROM message WHERE message_id = ? AND folder_id IN ({marks})",
            (message_id, *folders),
        )
    ]
