"""The POP3 ledger: what tuimail knows about each message of a POP3 account's server.

One file per account in the data directory (not the disposable cache). Each row is one message
the server listed, keyed by its UIDL (or by a digest of its headers where the UIDL cannot be
trusted), with the state of its local copy:

- ``writing``: about to be written into the Maildir as ``local_name``. If tuimail dies here, the
  next fetch looks for that file: found, the message is stored; missing, it is fetched again.
- ``stored``: written and fsynced into the Maildir. Only such a message may be deleted on the
  server.
- ``gone``: no longer on the server (deleted by tuimail after the server confirmed QUIT, or
  missing from its listing). Kept so that a UIDL that comes back is not downloaded twice.

Every change is committed with ``synchronous = FULL``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tuimail.store.outbox import durable

LEDGER_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE message (
        key         TEXT PRIMARY KEY,
        uidl        TEXT    NOT NULL DEFAULT '',
        identity    TEXT    NOT NULL DEFAULT '',
        size        INTEGER NOT NULL DEFAULT 0,
        first_seen  REAL    NOT NULL,
        state       TEXT    NOT NULL,
        stored_at   REAL,
        local_name  TEXT    NOT NULL DEFAULT '',
        deleted_at  REAL
    ) WITHOUT ROWID;
    CREATE INDEX message_identity ON message (identity) WHERE identity != '';
    """,
)

WRITING = "writing"
STORED = "stored"
GONE = "gone"


@dataclass(frozen=True)
class Entry:
    """One row of the ledger."""

    key: str
    uidl: str
    identity: str
    size: int
    first_seen: float
    state: str
    stored_at: float | None
    local_name: str
    deleted_at: float | None


_COLUMNS = "key, uidl, identity, size, first_seen, state, stored_at, local_name, deleted_at"


def entries(db: sqlite3.Connection) -> dict[str, Entry]:
    """Every row, by key."""
    rows = db.execute(f"SELECT {_COLUMNS} FROM message")
    return {row[0]: Entry(*row) for row in rows}


def begin_writing(db: sqlite3.Connection, rows: Sequence[Entry]) -> None:
    """Record that these messages are about to be written under their local names."""
    with durable(db):
        db.executemany(
            f"INSERT OR REPLACE INTO message ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (e.key, e.uidl, e.identity, e.size, e.first_seen, WRITING, None, e.local_name, None)
                for e in rows
            ],
        )


def mark_stored(db: sqlite3.Connection, keys: Iterable[str], at: float) -> None:
    """The messages are durably in the Maildir."""
    with durable(db):
        db.executemany(
            "UPDATE message SET state = ?, stored_at = ? WHERE key = ?",
            [(STORED, at, key) for key in keys],
        )


def forget(db: sqlite3.Connection, keys: Iterable[str]) -> None:
    """Drop rows (a write that never reached the Maildir: the message is fetched again)."""
    with durable(db):
        db.executemany("DELETE FROM message WHERE key = ?", [(key,) for key in keys])


def mark_gone(db: sqlite3.Connection, keys: Iterable[str], at: float) -> None:
    """The server no longer has these messages."""
    with durable(db):
        db.executemany(
            "UPDATE message SET state = ?, deleted_at = ? WHERE key = ?",
            [(GONE, at, key) for key in keys],
        )


def revive(db: sqlite3.Connection, keys: Iterable[str]) -> None:
    """Messages believed gone are listed by the server again: they are stored, not new."""
    with durable(db):
        db.executemany(
            "UPDATE message SET state = ?, deleted_at = NULL WHERE key = ? AND state = ?",
            [(STORED, key, GONE) for key in keys],
        )


def rekey(db: sqlite3.Connection, old: str, new: str, uidl: str) -> None:
    """The server now calls a known message by another UIDL."""
    with durable(db):
        db.execute(
            "UPDATE message SET key = ?, uidl = ?, state = CASE state WHEN ? THEN ? ELSE state END"
            " WHERE key = ?",
            (new, uidl, GONE, STORED, old),
        )
