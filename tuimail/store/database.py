"""Opening the cache database: WAL, foreign keys, and migrations up to the current schema."""

from __future__ import annotations

import fcntl
import os
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
    path: Path,
    migrations: tuple[str, ...] = MIGRATIONS,
    *,
    shared: bool = False,
    disposable: bool | None = None,
) -> sqlite3.Connection:
    """A connection to the database at ``path``, created or migrated as needed.

    One connection per thread: sqlite3 connections are not shared across threads, unless
    ``shared`` says the caller serialises every use with a lock of its own. A file written by
    a newer tuimail is refused rather than damaged. The file (and SQLite's -wal and -shm files,
    which take its mode) is readable by the owner only. A damaged ``disposable`` file (the
    cache, by default: the database of ``MIGRATIONS``) is moved aside as ``NAME.damaged`` and
    started afresh, to be filled from the servers again; any other one is reported.
    """
    if disposable is None:
        disposable = migrations is MIGRATIONS
    try:
        return _open(path, migrations, shared)
    except _Damaged as damaged:
        if not disposable:
            raise CacheError(
                f"The database {path} is damaged ({damaged}). It holds data tuimail cannot "
                "fetch again: keep a copy, then move it away."
            ) from None
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    path.replace(path.with_name(path.name + ".damaged"))
    try:
        return _open(path, migrations, shared)
    except _Damaged as damaged:
        raise CacheError(f"The cache {path} cannot be rebuilt ({damaged}).") from None


class _Damaged(Exception):
    """SQLite says the file is not a (sound) database."""


def _private_file(path: Path) -> None:
    """Create ``path`` (if missing) readable by the owner only, before SQLite creates it."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.close(descriptor)
    path.chmod(0o600)


def _open(path: Path, migrations: tuple[str, ...], shared: bool) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _private_file(path)
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
        migrate(connection, path, migrations)
    except sqlite3.DatabaseError as exc:
        connection.close()
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise CacheError(f"The cache {path} is busy ({_describe(exc)}).") from None
        raise _Damaged(_describe(exc)) from None
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
    lock_path = path.with_name(path.name + ".lock")
    with _MIGRATING, os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600), "r+") as lock:
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
