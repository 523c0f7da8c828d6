"""Opening the cache database: WAL, foreign keys, and migrations up to the current schema."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tuimail.model.errors import CacheError
from tuimail.store.migrations import MIGRATIONS


def _describe(exc: sqlite3.Error) -> str:
    return str(exc) or type(exc).__name__


def connect(
    path: Path, migrations: tuple[str, ...] = MIGRATIONS, *, shared: bool = False
) -> sqlite3.Connection:
    """A connection to the cache at ``path``, created or migrated as needed.

    One connection per thread: sqlite3 connections are not shared across threads, unless
    ``shared`` says the caller serialises every use with a lock of its own. A file written by
    a newer tuimail is refused rather than damaged.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        connection = sqlite3.connect(
            path, isolation_level=None, timeout=30.0, check_same_thread=not shared
        )
    except (OSError, sqlite3.Error) as exc:
        raise CacheError(f"Cannot open the cache {path}: {exc}.") from None
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA temp_store = MEMORY")
        path.chmod(0o600)
        migrate(connection, path, migrations)
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise CacheError(
            f"The cache {path} is damaged ({_describe(exc)}). Remove it; tuimail rebuilds it from "
            "the servers."
        ) from None
    return connection


_MIGRATING = threading.Lock()
"""flock() locks belong to open files, not threads: threads of one process also take this."""


def migrate(
    connection: sqlite3.Connection, path: Path, migrations: tuple[str, ...] = MIGRATIONS
) -> None:
    """Apply the migrations the file has not seen yet, each in its own transaction.

    Threads and processes opening a new file at once take turns (a lock file beside it), and
    each reads the version again once it has the lock: a migration never runs twice.
    """
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version > len(migrations):
        raise CacheError(
            f"The cache {path} was written by a newer tuimail (schema {version}; this one knows "
            f"{len(migrations)}). Upgrade tuimail, or remove the cache to rebuild it."
        )
    if version == len(migrations):
        return
    with _MIGRATING, open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        for number in range(version, len(migrations)):
            _apply(connection, migrations[number], number)


def _apply(connection: sqlite3.Connection, script: str, number: int) -> None:
    try:
        connection.executescript(
            f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number + 1};\nCOMMIT;"
        )
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed when the block ends, rolled back when it raises.

    The connection runs in autocommit mode (``isolation_level=None``), where ``with connection``
    would commit each statement on its own; every group of writes goes through here instead.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
