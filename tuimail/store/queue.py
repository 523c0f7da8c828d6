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
    locations: tuple[str, ...] = ()
    """For local mailboxes: where each of ``uids`` lives (its file's key), in the same order."""


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
    locations: Sequence[str] = (),
) -> int:
    """Queue an action (caller commits); returns its id."""
    cursor = db.execute(
        "INSERT INTO pending_action (account, folder_id, uidvalidity, uids, kind, argument,"
        " message_id, created_at, locations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            account,
            folder,
            uidvalidity,
            " ".join(str(u) for u in uids),
            kind,
            argument,
            message_id,
            time.time(),
            "\n".join(locations) if any(locations) else "",
        ),
    )
    return int(cursor.lastrowid or 0)


CLAIM_SECONDS = 300.0
"""A claim older than this belongs to a sender that died: the action is sent again."""


def remove(db: sqlite3.Connection, ids: Sequence[int]) -> bool:
    """Drop queued actions; True when every one of them was still queued."""
    if not ids:
        return True
    cursor = db.executemany("DELETE FROM pending_action WHERE id = ?", [(i,) for i in ids])
    return cursor.rowcount == len(ids)


def withdraw(db: sqlite3.Connection, ids: Sequence[int]) -> bool:
    """Drop queued actions no sender has taken yet; True when all of them were still waiting.

    What an undo uses: an action being sent, or sent, has to be undone on the server too.
    """
    if not ids:
        return True
    cursor = db.executemany(
        "DELETE FROM pending_action WHERE id = ? AND claimed_at IS NULL", [(i,) for i in ids]
    )
    return cursor.rowcount == len(ids)


def claim_next(db: sqlite3.Connection, account: str, *, sole: bool = False) -> Pending | None:
    """Take the oldest waiting action of an account for sending (caller commits), or None.

    Two senders (the app and a cron sync) never take the same action. ``sole``: the caller
    knows no other sender is alive (it holds the account's replay lock), so an action claimed
    by one that died is taken again at once, in its turn, not after CLAIM_SECONDS.
    """
    now = time.time()
    row = db.execute(
        "SELECT id FROM pending_action WHERE account = ?"
        " AND (claimed_at IS NULL OR claimed_at < ?) ORDER BY id LIMIT 1",
        (account, now if sole else now - CLAIM_SECONDS),
    ).fetchone()
    if row is None:
        return None
    db.execute("UPDATE pending_action SET claimed_at = ? WHERE id = ?", (now, row[0]))
    found = _select(db, "id = ?", (row[0],))
    return found[0] if found else None


def release(db: sqlite3.Connection, action: int, error: str) -> None:
    """Give back an action that could not be sent now (offline); it waits for the next try."""
    db.execute(
        "UPDATE pending_action SET claimed_at = NULL, attempts = attempts + 1, last_error = ?"
        " WHERE id = ?",
        (error, action),
    )


def set_kind(db: sqlite3.Connection, action: int, kind: str) -> None:
    """Record that an action reached a later stage (a COPY done, its EXPUNGE still to do)."""
    db.execute("UPDATE pending_action SET kind = ? WHERE id = ?", (kind, action))


def pending(db: sqlite3.Connection, account: str) -> list[Pending]:
    """The account's queued actions, oldest first."""
    return _select(db, "account = ?", (account,))


def _select(db: sqlite3.Connection, where: str, params: tuple[object, ...]) -> list[Pending]:
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
            locations=tuple(row[10].split("\n")) if row[10] else (),
        )
        for row in db.execute(
            "SELECT id, account, folder_id, uidvalidity, uids, kind, argument, message_id,"
            f" attempts, last_error, locations FROM pending_action WHERE {where} ORDER BY id",
            params,
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
