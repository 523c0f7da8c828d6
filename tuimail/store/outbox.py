"""The outbox: built messages kept durably until a server has accepted them.

It lives in the data directory, not in the disposable cache: deleting the cache never loses a
message waiting to be sent. Every change is committed with ``synchronous = FULL``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

OUTBOX_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE outbox (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        account      TEXT    NOT NULL,
        created_at   REAL    NOT NULL,
        raw          BLOB    NOT NULL,
        sender       TEXT    NOT NULL,
        recipients   TEXT    NOT NULL,
        message_id   TEXT    NOT NULL DEFAULT '',
        subject      TEXT    NOT NULL DEFAULT '',
        state        TEXT    NOT NULL DEFAULT 'waiting',
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_error   TEXT    NOT NULL DEFAULT '',
        next_try     REAL    NOT NULL DEFAULT 0,
        claimed_at   REAL,
        sent_at      REAL,
        refused      TEXT    NOT NULL DEFAULT '',
        sent_copy    TEXT    NOT NULL DEFAULT 'pending',
        sent_copy_error TEXT NOT NULL DEFAULT ''
    );
    """,
)
"""The outbox file's own schema, one migration per version."""

WAITING = "waiting"
"""Not accepted yet: tried at the next flush once ``next_try`` has passed."""
SENDING = "sending"
"""Claimed by a sender right now."""
SENT = "sent"
"""Accepted by the server (for every recipient); kept until its copy is in Sent."""
HELD = "held"
"""Not retried by itself: a refusal that needs the person (see ``last_error``)."""
UNCERTAIN = "uncertain"
"""tuimail stopped while the server was taking it: it may have gone out; never resent alone."""

CLAIM_SECONDS = 600.0


@dataclass(frozen=True)
class Queued:
    """One message in the outbox."""

    id: int
    account: str
    created_at: float
    sender: str
    recipients: tuple[str, ...]
    message_id: str
    subject: str
    state: str
    attempts: int
    last_error: str
    next_try: float
    sent_at: float | None
    refused: str
    sent_copy: str
    sent_copy_error: str


_COLUMNS = (
    "id, account, created_at, sender, recipients, message_id, subject, state, attempts,"
    " last_error, next_try, sent_at, refused, sent_copy, sent_copy_error"
)


def _queued(row: Sequence[object]) -> Queued:
    values = list(row)
    values[4] = tuple(str(values[4]).split("\n")) if values[4] else ()
    return Queued(*values)  # type: ignore[arg-type]


@contextmanager
def durable(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction synced to disk before it returns (a message must not be lost)."""
    db.execute("PRAGMA synchronous = FULL")
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def add(
    db: sqlite3.Connection,
    *,
    account: str,
    raw: bytes,
    sender: str,
    recipients: Sequence[str],
    message_id: str,
    subject: str,
) -> int:
    """Keep a built message; returns its outbox id. Committed and synced."""
    with durable(db):
        cursor = db.execute(
            "INSERT INTO outbox (account, created_at, raw, sender, recipients, message_id,"
            " subject) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (account, time.time(), raw, sender, "\n".join(recipients), message_id, subject),
        )
    return int(cursor.lastrowid or 0)


def claim(
    db: sqlite3.Connection, entry: int, *, force: bool = False, now_anyway: bool = False
) -> bool:
    """Take a waiting message for sending; False when it is not due or someone else has it.

    A claim older than CLAIM_SECONDS means a sender died while the server may have been taking
    the message: such a message becomes UNCERTAIN instead of being sent again.
    """
    now = time.time()
    with durable(db):
        db.execute(
            "UPDATE outbox SET state = ?, last_error = ? WHERE state = ? AND claimed_at < ?",
            (
                UNCERTAIN,
                "tuimail stopped while sending it; it may have gone out. Check, then send it "
                "again with: tuimail outbox flush --resend-uncertain",
                SENDING,
                now - CLAIM_SECONDS,
            ),
        )
        states = (WAITING, HELD, UNCERTAIN) if force else (WAITING,)
        marks = ",".join("?" * len(states))
        cursor = db.execute(
            f"UPDATE outbox SET state = ?, claimed_at = ? WHERE id = ? AND state IN ({marks})"
            + ("" if force or now_anyway else " AND next_try <= ?"),
            (SENDING, now, entry, *states, *(() if force or now_anyway else (now,))),
        )
    return cursor.rowcount == 1


def raw(db: sqlite3.Connection, entry: int) -> bytes:
    """The message's bytes."""
    row = db.execute("SELECT raw FROM outbox WHERE id = ?", (entry,)).fetchone()
    return bytes(row[0]) if row else b""


def accepted(db: sqlite3.Connection, entry: int, refused: dict[str, str]) -> None:
    """The server took it (for everyone, or all but ``refused``). Committed and synced."""
    with durable(db):
        if refused:
            left = "\n".join(refused)
            why = "; ".join(f"{rcpt}: {reason}" for rcpt, reason in refused.items())
            db.execute(
                "UPDATE outbox SET state = ?, recipients = ?, refused = ?, last_error = ?,"
                " sent_at = ?, claimed_at = NULL, sent_copy = 'saving' WHERE id = ?",
                (
                    HELD,
                    left,
                    why,
                    f"Sent to the others, but refused for: {why}",
                    time.time(),
                    entry,
                ),
            )
        else:
            db.execute(
                "UPDATE outbox SET state = ?, sent_at = ?, claimed_at = NULL, last_error = '',"
                " sent_copy = 'saving' WHERE id = ?",
                (SENT, time.time(), entry),
            )


def failed(db: sqlite3.Connection, entry: int, error: str, *, retry_in: float | None) -> None:
    """Not sent: wait ``retry_in`` seconds and try again, or hold it (None) for the person."""
    with durable(db):
        db.execute(
            "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?,"
            " next_try = ?, claimed_at = NULL WHERE id = ?",
            (
                WAITING if retry_in is not None else HELD,
                error,
                time.time() + (retry_in or 0.0),
                entry,
            ),
        )


def uncertain(db: sqlite3.Connection, entry: int, error: str) -> None:
    """The server may have taken it (the connection broke after the data): never resent alone."""
    with durable(db):
        db.execute(
            "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?,"
            " claimed_at = NULL WHERE id = ?",
            (UNCERTAIN, error, entry),
        )


def copy_saved(db: sqlite3.Connection, entry: int, error: str = "") -> None:
    """Record how the copy to Sent went; a sent message with its copy saved leaves the outbox."""
    with durable(db):
        if error:
            db.execute(
                "UPDATE outbox SET sent_copy = 'failed', sent_copy_error = ? WHERE id = ?",
                (error, entry),
            )
        else:
            db.execute(
                "UPDATE outbox SET sent_copy = 'done', sent_copy_error = '' WHERE id = ?",
                (entry,),
            )
            db.execute("DELETE FROM outbox WHERE id = ? AND state = ?", (entry, SENT))


def claim_copy(db: sqlite3.Connection, entry: int) -> bool:
    """Take a sent message whose copy to Sent failed, to try that again; False if taken."""
    with durable(db):
        cursor = db.execute(
            "UPDATE outbox SET sent_copy = 'saving' WHERE id = ? AND sent_copy = 'failed'",
            (entry,),
        )
    return cursor.rowcount == 1


def listing(db: sqlite3.Connection, account: str | None = None) -> list[Queued]:
    """Everything in the outbox, oldest first."""
    return [
        _queued(row)
        for row in db.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE ? IS NULL OR account = ? ORDER BY id",
            (account, account),
        )
    ]


def get(db: sqlite3.Connection, entry: int) -> Queued | None:
    """One message of the outbox."""
    row = db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (entry,)).fetchone()
    return _queued(row) if row else None


def remove(db: sqlite3.Connection, entry: int) -> None:
    """Take a message out of the outbox (the person gave up on it)."""
    with durable(db):
        db.execute("DELETE FROM outbox WHERE id = ?", (entry,))
