"""The cache and outbox files: private modes, and a damaged cache started afresh."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tuimail.model.errors import CacheError
from tuimail.store.database import connect, transaction
from tuimail.store.outbox import OUTBOX_MIGRATIONS


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cache_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    import os  # noqa: PLC0415

    old = os.umask(0o022)
    try:
        db = connect(tmp_path / "cache" / "cache.sqlite")
        with transaction(db):
            db.execute("INSERT INTO folder (account, name) VALUES ('a', 'INBOX')")
        files = sorted(p.name for p in (tmp_path / "cache").iterdir())
        modes = {p.name: _mode(p) for p in (tmp_path / "cache").iterdir()}
        db.close()
    finally:
        os.umask(old)
    assert {"cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm"} <= set(files)
    assert set(modes.values()) == {0o600}, modes
    assert _mode(tmp_path / "cache") == 0o700


def test_garbage_cache_is_moved_aside_and_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"\x00garbage, not a database" * 1000)
    db = connect(path)
    assert db.execute("SELECT count(*) FROM message").fetchone() == (0,)
    db.close()
    assert (tmp_path / "cache.sqlite.damaged").read_bytes().startswith(b"\x00garbage")


def test_damaged_outbox_is_never_thrown_away(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    path.write_bytes(b"\x00garbage, not a database" * 1000)
    with pytest.raises(CacheError, match="keep a copy"):
        connect(path, OUTBOX_MIGRATIONS)
    assert path.read_bytes().startswith(b"\x00garbage")
    assert not (tmp_path / "outbox.sqlite.damaged").exists()
