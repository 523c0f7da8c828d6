"""The queue of actions waiting for the server, oldest first."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Pending:
    """One queued action."""

    id: int
    account: str
    folder_id: int
    uidvalidity: int
    """The folder's UIDVALIDITY when it was queued (0: the UIDs are found by ``message_id``)."""
    uids: tuple[int, ...]
    kind: str
    argument: str
    message_id: str
    attempts: int
    last_error: str


def add(
    db: sqlite3.Connection,
    *,
    account: str,
    folder: int,
    uidvalidity: int,
    uids: Sequence[int],
    kind: str,
    argument: str,
    message_id: str = "",
) -> int:
    """Queue an action (caller commits); returns its id."""
    cursor = db.execute(
        "INSERT INTO pending_action (account, folder_id, uidvalidity, uids, kind, argument,"
        " message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            account,
            folder,
            uidvalidity,
            " ".join(str(u) for u in uids),
            kind,
            argument,
            message_id,
            time.time(),
        ),
    )
    return int(cursor.lastrowid or 0)


def remove(db: sqlite3.Connection, ids: Sequence[int]) -> bool:
    """Drop queued actions; True when every one of them was still queued."""
    if not ids:
        return True
    cursor = db.executemany("DELETE FROM pending_action WHERE id = ?", [(i,) for i in ids])
    return cursor.rowcount == len(ids)


def pending(db: sqlite3.Connection, account: str) -> list[Pending]:
    """The account's queued actions, oldest first."""
    return [
        Pending(
            id=row[0],
            account=row[1],
            folder_id=row[2],
            uidvalidity=row[3],
            uids=tuple(int(u) for u in row[4].split()),
            kind=row[5],
            argument=row[6],
            message_id=row[7],
            attempts=row[8],
            last_error=row[9],
        )
        for row in db.execute(
            "SELECT id, account, folder_id, uidvalidity, uids, kind, argument, message_id,"
            " attempts, last_error FROM pending_action WHERE account = ? ORDER BY id",
            (account,),
        )
    ]


def failed(db: sqlite3.Connection, action: int, error: str) -> None:
    """Record a failed attempt to send an action that stays queued (caller commits)."""
    db.execute(
        "UPDATE pending_action SET attempts = attempts + 1, last_error = ? WHERE id = ?",
        (error, action),
    )


def count(db: sqlite3.Connection, account: str | None = None) -> int:
    """How many actions are queued (for one account, or all)."""
    (value,) = db.execute(
        "SELECT count(*) FROM pending_action WHERE ? IS NULL OR account = ?", (account, account)
    ).fetchone()
    return int(value)
