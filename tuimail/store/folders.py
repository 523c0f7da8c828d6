"""Cached folders: their roles, counts and the server state a sync compares against."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from tuimail.model.folder import Folder, FolderRole
from tuimail.model.message import Flag
from tuimail.store.codec import FLAG_BITS
from tuimail.store.database import transaction


@dataclass(frozen=True)
class FolderState:
    """What the cache knows of a folder's server state."""

    id: int
    """The cache's key of the folder."""
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: int
    """How many messages the server had at the end of the last complete sync."""
    synced_at: float | None


def save_folders(db: sqlite3.Connection, account: str, folders: list[Folder]) -> list[str]:
    """Record the account's folder list; folders gone from the server are dropped.

    Returns the names that were dropped.
    """
    names = {folder.name for folder in folders}
    with transaction(db):
        known = [
            row[0] for row in db.execute("SELECT name FROM folder WHERE account = ?", (account,))
        ]
        gone = [name for name in known if name not in names]
        db.executemany(
            "DELETE FROM folder WHERE account = ? AND name = ?", [(account, n) for n in gone]
        )
        db.executemany(
            "INSERT INTO folder (account, name, delimiter, role, selectable) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (account, name) DO UPDATE SET delimiter = excluded.delimiter,"
            " role = excluded.role, selectable = excluded.selectable",
            [(account, f.name, f.delimiter, f.role.value, int(f.selectable)) for f in folders],
        )
    return gone


def folder_id(db: sqlite3.Connection, account: str, name: str) -> int | None:
    """The cache's key of a folder, or None when it is not known."""
    row = db.execute(
        "SELECT id FROM folder WHERE account = ? AND name = ?", (account, name)
    ).fetchone()
    return int(row[0]) if row else None


def folder_by_role(db: sqlite3.Connection, account: str, role: FolderRole) -> str | None:
    """The name of the account's folder with this role, or None."""
    row = db.execute(
        "SELECT name FROM folder WHERE account = ? AND role = ? ORDER BY id LIMIT 1",
        (account, role.value),
    ).fetchone()
    return str(row[0]) if row else None


def folders(db: sqlite3.Connection, account: str | None = None) -> list[Folder]:
    """Cached folders with counts from the cache, accounts and roles in display order."""
    seen = FLAG_BITS[Flag.SEEN]
    deleted = FLAG_BITS[Flag.DELETED]
    # one pass over the messages for every folder's counts (a subquery per folder would scan
    # each folder twice)
    rows = db.execute(
        "SELECT f.account, f.name, f.delimiter, f.role, f.selectable,"
        " coalesce(c.total, 0), coalesce(c.unread, 0) FROM folder f LEFT JOIN ("
        "  SELECT folder_id, sum(flags & ? = 0) AS total,"
        "   sum(flags & ? = 0 AND flags & ? = 0) AS unread FROM message GROUP BY folder_id"
        " ) c ON c.folder_id = f.id WHERE ? IS NULL OR f.account = ?",
        (deleted, seen, deleted, account, account),
    ).fetchall()
    return [
        Folder(
            account=row[0],
            name=row[1],
            delimiter=row[2],
            role=FolderRole(row[3]) if row[3] in FolderRole._value2member_map_ else FolderRole.NONE,
            selectable=bool(row[4]),
            total=row[5],
            unread=row[6],
        )
        for row in rows
    ]


def state(db: sqlite3.Connection, account: str, name: str) -> FolderState | None:
    """The sync state of a folder, or None when the folder is not cached."""
    row = db.execute(
        "SELECT id, uidvalidity, uidnext, highestmodseq, messages, synced_at FROM folder"
        " WHERE account = ? AND name = ?",
        (account, name),
    ).fetchone()
    return FolderState(*row) if row else None


def save_state(
    db: sqlite3.Connection,
    folder: int,
    *,
    uidvalidity: int,
    uidnext: int,
    highestmodseq: int,
    messages: int,
) -> None:
    """Record the server state a complete sync reached (caller commits)."""
    db.execute(
        "UPDATE folder SET uidvalidity = ?, uidnext = ?, highestmodseq = ?, messages = ?,"
        " synced_at = ? WHERE id = ?",
        (uidvalidity, uidnext, highestmodseq, messages, time.time(), folder),
    )


def reset(db: sqlite3.Connection, folder: int, uidvalidity: int) -> int:
    """Forget every message and pending action of a folder (its UIDVALIDITY changed).

    Returns how many cached messages were dropped. The caller commits.
    """
    (count,) = db.execute("SELECT count(*) FROM message WHERE folder_id = ?", (folder,)).fetchone()
    db.execute("DELETE FROM message WHERE folder_id = ?", (folder,))
    db.execute("DELETE FROM pending_action WHERE folder_id = ?", (folder,))
    db.execute(
        "UPDATE folder SET uidvalidity = ?, uidnext = 0, highestmodseq = 0, messages = 0,"
        " local_state = '' WHERE id = ?",
        (uidvalidity, folder),
    )
    return int(count)


def folder_name(db: sqlite3.Connection, folder: int) -> str | None:
    """The name of a cached folder by its key."""
    row = db.execute("SELECT name FROM folder WHERE id = ?", (folder,)).fetchone()
    return str(row[0]) if row else None


def force_full_sync(db: sqlite3.Connection, folder: int) -> None:
    """Make the next sync re-read every flag and UID of a folder (caller commits)."""
    db.execute(
        "UPDATE folder SET highestmodseq = 0, uidnext = 0, messages = -1, local_state = ''"
        " WHERE id = ?",
        (folder,),
    )


def local_state(db: sqlite3.Connection, folder: int) -> str:
    """The token of a local folder's files at its last scan ("" when never scanned)."""
    row = db.execute("SELECT local_state FROM folder WHERE id = ?", (folder,)).fetchone()
    return str(row[0]) if row else ""


def save_local_state(db: sqlite3.Connection, folder: int, token: str, messages: int) -> None:
    """Record a complete scan of a local folder (caller commits)."""
    db.execute(
        "UPDATE folder SET local_state = ?, messages = ?, synced_at = ? WHERE id = ?",
        (token, messages, time.time(), folder),
    )


def ids_with_role(db: sqlite3.Connection, role: FolderRole, accounts: list[str]) -> list[int]:
    """Keys of the folders with this role in these accounts (no counting: cheap)."""
    marks = ",".join("?" * len(accounts))
    return [
        row[0]
        for row in db.execute(
            f"SELECT id FROM folder WHERE role = ? AND selectable = 1 AND account IN ({marks})",
            (role.value, *accounts),
        )
    ]


def forget_account(db: sqlite3.Connection, account: str) -> int:
    """Drop every cached folder, message and queued action of an account; messages dropped.

    The caller commits (the cache is only a copy: the mail on the server is not touched).
    """
    (count,) = db.execute(
        "SELECT count(*) FROM message WHERE folder_id IN (SELECT id FROM folder WHERE account = ?)",
        (account,),
    ).fetchone()
    db.execute("DELETE FROM pending_action WHERE account = ?", (account,))
    db.execute(
        "DELETE FROM message WHERE folder_id IN (SELECT id FROM folder WHERE account = ?)",
        (account,),
    )
    db.execute("DELETE FROM folder WHERE account = ?", (account,))
    return int(count)
