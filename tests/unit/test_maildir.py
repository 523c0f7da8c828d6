"""The Maildir backend on real directories, checked against the stdlib's Maildir reader."""

from __future__ import annotations

import mailbox
import os
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from tuimail.backends.local.base import LocalMailboxError
from tuimail.backends.local.maildir import Maildir
from tuimail.model.folder import FolderRole
from tuimail.model.message import Flag, MessageRef


def _raw(subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Zoë <zoe@example.org>"
    msg["To"] = "robin@example.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}@example.org>"
    msg.set_content("Hello.\n")
    return bytes(msg)


def _age(path: Path) -> None:
    """Make a folder look untouched for a while (as it is between two real syncs)."""
    old = time.time() - 60
    for sub in ("cur", "new"):
        os.utime(path / sub, (old, old))


@pytest.fixture
def box(tmp_path: Path) -> Maildir:
    return Maildir(tmp_path / "Maildir", create=True)


def test_flags_round_trip_with_another_reader(box: Maildir) -> None:
    key = box.deliver("INBOX", _raw("one"))
    box.set_flags("INBOX", key, frozenset({Flag.SEEN, Flag.FLAGGED}))
    names = os.listdir(box.root / "cur")
    assert names == [f"{key}:2,FS"]  # the standard name: letters in ASCII order
    other = mailbox.Maildir(box.root, factory=None, create=False)
    (message,) = list(other)
    assert isinstance(message, mailbox.MaildirMessage)
    assert set(message.get_flags()) == {"F", "S"}
    # the other reader answers it; tuimail sees that and keeps its own letters
    other_key = next(iter(other.keys()))
    message.add_flag("R")
    other[other_key] = message
    (entry,) = box.scan("INBOX")
    assert entry.flags == frozenset({Flag.SEEN, Flag.FLAGGED, Flag.ANSWERED})


def test_unknown_info_letters_are_kept(box: Maildir) -> None:
    key = box.deliver("INBOX", _raw("passed"))
    (name,) = os.listdir(box.root / "cur")
    os.rename(box.root / "cur" / name, box.root / "cur" / f"{key}:2,Pa")  # passed + a keyword
    box.scan("INBOX")
    box.set_flags("INBOX", key, frozenset({Flag.SEEN}))
    assert os.listdir(box.root / "cur") == [f"{key}:2,PSa"]


def test_new_mail_is_noticed_and_adopted(box: Maildir) -> None:
    box.deliver("INBOX", _raw("first"))
    box.scan("INBOX")
    _age(box.root)
    before = box.state("INBOX")
    assert box.state("INBOX") == before  # nothing changed: the same cheap token
    # a delivery agent drops a message into new/
    (box.root / "tmp" / "1700000000.X1.host").write_bytes(_raw("second"))
    os.rename(box.root / "tmp" / "1700000000.X1.host", box.root / "new" / "1700000000.X1.host")
    assert box.state("INBOX") != before
    entries = {e.key: e for e in box.scan("INBOX")}
    assert "1700000000.X1.host" in entries
    assert entries["1700000000.X1.host"].flags == frozenset()  # new, not yet seen
    assert os.listdir(box.root / "new") == []  # moved to cur/ like any mail reader does
    assert "1700000000.X1.host:2," in os.listdir(box.root / "cur")


def test_folders_moves_and_deletes(box: Maildir) -> None:
    box.create_folder("Archive")
    box.create_folder("Lists/dev")
    names = {f.name: f.role for f in box.folders()}
    assert names == {
        "INBOX": FolderRole.INBOX,
        "Archive": FolderRole.ARCHIVE,
        "Lists/dev": FolderRole.NONE,
    }
    assert (box.root / ".Lists.dev" / "cur").is_dir()  # Maildir++ layout
    one = box.deliver("INBOX", _raw("one"), frozenset({Flag.SEEN}))
    two = box.deliver("INBOX", _raw("two"))
    box.scan("INBOX")
    box.move("INBOX", [one], "Archive")
    assert [e.key for e in box.scan("INBOX")] == [two]
    (moved,) = box.scan("Archive")
    assert moved.key == one
    assert moved.flags == frozenset({Flag.SEEN})  # flags travel with the file
    assert box.read("Archive", one) == _raw("one")
    box.copy("Archive", [one], "Lists/dev")
    assert len(box.scan("Lists/dev")) == 1
    box.delete("INBOX", [two])
    assert box.scan("INBOX") == []
    with pytest.raises(LocalMailboxError, match="no longer in INBOX"):
        box.read("INBOX", two)
    with pytest.raises(LocalMailboxError, match="no folder"):
        box.move("Archive", [one], "Nowhere")
    with pytest.raises(LocalMailboxError, match="not a folder name"):
        box.create_folder("../escape")


def test_delivery_is_atomic_on_a_full_disk(box: Maildir, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(LocalMailboxError, match="No space left"):
        box.deliver("INBOX", _raw("lost?"))
    assert os.listdir(box.root / "cur") == []  # nothing half-written is visible
    assert os.listdir(box.root / "tmp") == []  # and nothing is left behind


def test_envelope_from_headers(box: Maildir) -> None:
    key = box.deliver("INBOX", _raw("Envelope test"), frozenset({Flag.ANSWERED}))
    (entry,) = box.scan("INBOX")
    envelope = box.envelope("INBOX", entry, MessageRef("home", "INBOX", 1, 5))
    assert envelope.subject == "Envelope test"
    assert envelope.sender[0].name == "Zoë"
    assert envelope.message_id == "<Envelope.test@example.org>"
    assert envelope.flags == frozenset({Flag.ANSWERED})
    assert envelope.size == len(_raw("Envelope test"))
    assert entry.key == key


def test_not_a_maildir(tmp_path: Path) -> None:
    with pytest.raises(LocalMailboxError, match="is not a Maildir"):
        Maildir(tmp_path)
