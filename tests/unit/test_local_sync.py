"""Local accounts end to end on real files: scanned into the cache, read, searched, changed."""

from __future__ import annotations

import os
import sqlite3
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from tuimail.backends.local.maildir import Maildir
from tuimail.model.account import Account, LocalFormat, LocalSource
from tuimail.model.message import Flag
from tuimail.services.actions import Actions
from tuimail.services.local import discover_local, open_local, sync_local
from tuimail.services.mailbox import Mailbox, message_key


def _raw(subject: str, body: str = "Hello.\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Åsa <asa@example.org>"
    msg["To"] = "robin@example.test"
    msg["Subject"] = subject
    msg.set_content(body)
    return bytes(msg)


def _age(box: Maildir, *folders: str) -> None:
    old = time.time() - 60
    for folder in folders:
        path = box.root if folder == "INBOX" else box.root / ("." + folder.replace("/", "."))
        for sub in ("cur", "new"):
            os.utime(path / sub, (old, old))


@pytest.fixture
def home(tmp_path: Path) -> tuple[Account, Maildir, Path]:
    box = Maildir(tmp_path / "Maildir", create=True)
    box.create_folder("Trash")
    box.create_folder("Archive")
    for index in range(5):
        flags = frozenset({Flag.SEEN}) if index < 2 else frozenset()
        box.deliver("INBOX", _raw(f"Note {index}", f"Body word{index}.\n"), flags)
    account = Account(
        "home",
        "Robin",
        "robin@example.test",
        None,
        local=LocalSource(LocalFormat.MAILDIR, str(box.root)),
    )
    return account, box, tmp_path / "cache.sqlite"


def _subjects(db: Path, folder: str) -> dict[str, frozenset[Flag]]:
    with Mailbox(db) as mailbox:
        found = mailbox.envelopes(mailbox.folder_ids("home", folder), limit=100)
    return {c.envelope.subject: c.envelope.flags for c in found}


def test_scan_read_and_search(home: tuple[Account, Maildir, Path]) -> None:
    account, box, db = home
    _age(box, "INBOX", "Trash", "Archive")  # as between two syncs of a mailbox at rest
    first = sync_local(db, account, open_local(account))
    assert not first.errors
    assert first.added == 5
    subjects = _subjects(db, "INBOX")
    assert sorted(subjects) == [f"Note {i}" for i in range(5)]
    assert subjects["Note 0"] == frozenset({Flag.SEEN})
    again = sync_local(db, account, open_local(account))
    assert [f.unchanged for f in again.folders] == [True, True, True]
    with Mailbox(db) as mailbox:
        (note,) = mailbox.envelopes(mailbox.folder_ids("home", "INBOX"), query='subject:"Note 3"')
        message = mailbox.read(message_key(note.envelope.ref), open_local(account))
        assert "Body word3." in message.parsed.body.text
        hits = mailbox.envelopes(mailbox.folder_ids("home", "INBOX"), query="word3")
        assert [c.envelope.subject for c in hits] == ["Note 3"]  # its body is now searchable


def test_changes_by_another_program_are_picked_up(home: tuple[Account, Maildir, Path]) -> None:
    account, box, db = home
    sync_local(db, account, open_local(account))
    other = Maildir(box.root)
    entries = {e.key: e for e in other.scan("INBOX")}
    keys = sorted(entries)
    other.set_flags("INBOX", keys[4], frozenset({Flag.FLAGGED}))
    other.delete("INBOX", [keys[3]])
    other.deliver("INBOX", _raw("Arrived later"))
    result = sync_local(db, account, open_local(account))
    assert (result.added, result.removed, result.changed) == (1, 1, 1)
    subjects = _subjects(db, "INBOX")
    assert "Arrived later" in subjects
    assert "Note 3" not in subjects
    assert subjects["Note 4"] == frozenset({Flag.FLAGGED})


def test_actions_change_the_files(home: tuple[Account, Maildir, Path]) -> None:
    account, box, db = home
    sync_local(db, account, open_local(account))
    with Mailbox(db) as mailbox:
        rows = {
            c.envelope.subject: c.id
            for c in mailbox.envelopes(mailbox.folder_ids("home", "INBOX"), limit=10)
        }
    actions = Actions(db)
    actions.mark_read([rows["Note 4"]])
    actions.archive([rows["Note 2"]])
    actions.delete([rows["Note 1"]])
    actions.close()
    sync_local(db, account, open_local(account))  # sends the queue to the files, then rescans
    inbox = {e.key: e.flags for e in box.scan("INBOX")}
    assert len(inbox) == 3  # five, one archived, one deleted
    assert sum(flags == frozenset({Flag.SEEN}) for flags in inbox.values()) == 2
    assert len(box.scan("Archive")) == 1
    assert len(box.scan("Trash")) == 1
    assert sorted(_subjects(db, "Archive")) == ["Note 2"]
    assert sorted(_subjects(db, "Trash")) == ["Note 1"]
    assert _subjects(db, "INBOX")["Note 4"] == frozenset({Flag.SEEN})
    with sqlite3.connect(db) as raw:
        (queued,) = raw.execute("SELECT count(*) FROM pending_action").fetchone()
    assert queued == 0


def test_discover_local(tmp_path: Path) -> None:
    Maildir(tmp_path / "Maildir", create=True)
    spool = tmp_path / "spool"
    spool.write_bytes(b"From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nhi\n")
    found = discover_local(tmp_path, {"USER": "nobody-here", "MAIL": str(spool)})
    assert [(s.format, Path(s.path).name) for s in found] == [
        (LocalFormat.MBOX, "spool"),
        (LocalFormat.MAILDIR, "Maildir"),
    ]
    assert discover_local(tmp_path / "empty", {}) == []
