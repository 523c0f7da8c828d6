"""Cached message bodies: kept up to a size limit, least recently read dropped first."""

from __future__ import annotations

import sqlite3
import time

DEFAULT_LIMIT = 256 * 1024 * 1024
"""Bytes of raw messages the cache keeps before it drops the least recently read."""


def get(db: sqlite3.Connection, message: int) -> bytes | None:
    """The raw message of a cached row, or None; a hit counts as a use."""
    row = db.execute("SELECT raw FROM body WHERE message = ?", (message,)).fetchone()
    if row is None:
        return None
    db.execute("UPDATE body SET used_at = ? WHERE message = ?", (time.time(), message))
    return bytes(row[0])


def put(
    db: sqlite3.Connection, message: int, raw: bytes, text: str, limit: int = DEFAULT_LIMIT
) -> None:
    """Keep a raw message and index its text for search, then trim the cache to ``limit``.

    The caller commits. A message bigger than the limit is indexed but not kept.
    """
    db.execute("UPDATE message_text SET body = ? WHERE rowid = ?", (text, message))
    if not raw or len(raw) > limit:  # local messages keep only their text here
        return
    db.execute(
        "INSERT OR REPLACE INTO body (message, raw, size, used_at) VALUES (?, ?, ?, ?)",
        (message, raw, len(raw), time.time()),
    )
    (total,) = db.execute("SELECT coalesce(sum(size), 0) FROM body").fetchone()
    if total <= limit:
        return
    excess = total - limit
    victims = []
    for victim, size in db.execute("SELECT message, size FROM body ORDER BY used_at"):
        if victim == message:
            continue
        victims.append((victim,))
        excess -= size
        if excess <= 0:
            break
    db.executemany("DELETE FROM body WHERE message = ?", victims)


def total_size(db: sqlite3.Connection) -> int:
    """Bytes of raw messages kept."""
    (total,) = db.execute("SELECT coalesce(sum(size), 0) FROM body").fetchone()
    return int(total)
