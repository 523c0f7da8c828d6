"""The cache database: created at the current schema, migrated in place, damage reported clearly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tuimail.model.errors import CacheError
from tuimail.store.database import connect
from tuimail.store.migrations import SCHEMA_VERSION


def test_new_cache_has_current_schema_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "mail.sqlite"
    db = connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"folder", "message", "body", "message_text", "pending_action"} <= tables
    assert (path.stat().st_mode & 0o777) == 0o600
    db.close()
    again = connect(path)  # reopening runs no migration twice
    assert again.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_deleting_a_message_cascades_to_body_and_index(tmp_path: Path) -> None:
    db = connect(tmp_path / "c.sqlite")
    db.execute("INSERT INTO folder (id, account, name) VALUES (1, 'a', 'INBOX')")
    db.execute("INSERT INTO message (id, folder_id, uid, subject) VALUES (7, 1, 42, 'hello')")
    db.execute("INSERT INTO body (message, raw, size, used_at) VALUES (7, x'00', 1, 0)")
    db.execute("INSERT INTO message_text (rowid, subject) VALUES (7, 'hello')")
    db.execute("DELETE FROM folder WHERE id = 1")
    assert db.execute("SELECT count(*) FROM message").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM body").fetchone()[0] == 0
    hits = db.execute("SELECT count(*) FROM message_text WHERE message_text MATCH 'hello'")
    assert hits.fetchone()[0] == 0


def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(CacheError, match="written by a newer tuimail"):
        connect(path)


def test_damaged_file_reported(tmp_path: Path) -> None:
    """A damaged database that is not the cache is reported, never replaced."""
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="is damaged"):
        connect(path, disposable=False)
