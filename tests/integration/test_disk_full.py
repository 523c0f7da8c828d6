"""A full disk while tuimail writes: a clear error, nothing half-written, and the next run after
space is freed completes (issue 9, section 5). Each test mounts a small tmpfs and fills it."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import Cli, account
from helpers.disk import SmallDisk, small_disk
from helpers.imap import cache_state, fresh_folder, index_rows, other_client, server_state
from helpers.pop3_server import PASSWORD, Maildrop, serve
from mailstack.stack import MailStack

from tuimail.backends.local.base import LocalMailboxError
from tuimail.backends.local.maildir import Maildir
from tuimail.backends.local.mbox import Mbox
from tuimail.model.account import (
    Account,
    Endpoint,
    LocalFormat,
    LocalSource,
    Pop3Options,
    Protocol,
    Security,
)
from tuimail.model.message import Flag
from tuimail.services.pop3_fetch import fetch_pop3, ledger_file, open_maildir


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    with small_disk(tmp_path / "disk") as mounted:
        yield mounted


def _msg(index: int, body_size: int = 20_000) -> bytes:
    return (
        f"From: Someone <s@full.test>\nTo: pat@example.test\nSubject: message {index}\n"
        f"Message-ID: <f{index}@full.test>\n\n" + f"line {index} of the body\n" * (body_size // 20)
    ).encode()


# -- (c) the POP3 Maildir ------------------------------------------------------------------------


def _pop3_account(port: int, maildir: Path) -> Account:
    endpoint = Endpoint(
        Protocol.POP3, "127.0.0.1", port, Security.NONE, "pat", allow_plaintext=True, timeout=10
    )
    return Account(
        "full",
        "Pat",
        "pat@example.test",
        endpoint,
        pop3=Pop3Options(leave_on_server=False),
        local=LocalSource(LocalFormat.MAILDIR, str(maildir)),
    )


def _stored(maildir: Path) -> list[bytes]:
    box = Maildir(maildir)
    return sorted(box.read("INBOX", e.key) for e in box.scan("INBOX"))


def _ledger_rows(data: Path) -> list[tuple[str, str]]:
    path = ledger_file(data, "full")
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path)) as db:
        return [(str(s), str(n)) for s, n in db.execute("SELECT state, local_name FROM message")]


@pytest.mark.parametrize("ledger_too", [False, True], ids=["maildir-full", "ledger-full-too"])
def test_pop3_fetch_into_a_full_maildir(tmp_path: Path, disk: SmallDisk, ledger_too: bool) -> None:
    originals = [_msg(i) for i in range(40)]
    drop = Maildrop()
    for raw in originals:
        drop.add(raw)
    maildir = disk.root / "Mail"
    data = disk.root / "data" if ledger_too else tmp_path / "data"
    open_maildir(maildir)
    if ledger_too:  # a ledger that exists already, as after earlier fetches
        with serve(Maildrop()) as server:
            assert not fetch_pop3(data, _pop3_account(server.port, maildir), PASSWORD).errors
    disk.fill()

    with serve(drop) as server:
        result = fetch_pop3(data, _pop3_account(server.port, maildir), PASSWORD)
    assert len(result.errors) == 1, [e.message for e in result.errors]
    message = result.errors[0].message
    if ledger_too:
        assert "Is the disk full? Free some space and try again" in message, message
        assert "damaged" not in message
    else:
        assert message.startswith("Cannot write messages into"), message
        assert "No space left on device" in message
        assert "Nothing was deleted from the server" in message
    assert len(drop.messages) == 40  # nothing deleted on the server
    stored = _stored(maildir)
    assert all(raw.replace(b"\r\n", b"\n") in originals for raw in stored)  # whole ones only
    names = Maildir(maildir).uniques()
    disk.free()  # (SQLite cannot even read a WAL database on a full disk)
    assert all(name in names for state, name in _ledger_rows(data) if state == "stored")
    assert len([1 for state, _ in _ledger_rows(data) if state == "stored"]) == len(stored)

    with serve(drop) as server:
        again = fetch_pop3(data, _pop3_account(server.port, maildir), PASSWORD)
    assert not again.errors, [e.message for e in again.errors]
    assert _stored(maildir) == sorted(originals)  # every message exactly once
    assert drop.messages == []
    assert list((maildir / "tmp").iterdir()) == []


# -- (d) local Maildir and mbox actions -----------------------------------------------------------


@pytest.mark.parametrize("room", [0, 16384], ids=["full", "room-for-the-lock-only"])
def test_mbox_rewrite_on_a_full_disk_leaves_the_original_intact(disk: SmallDisk, room: int) -> None:
    path = disk.root / "inbox.mbox"
    box = Mbox(path)
    for index in range(30):
        box.deliver("INBOX", _msg(index))
    before = path.read_bytes()
    keys = [entry.key for entry in box.scan("INBOX")]
    disk.fill(leave=room)

    # no room even for the dotlock: "Cannot lock"; room for it: the rewrite itself fails
    said = "No space left on device" + ("" if room == 0 else ".*left as it was")
    with pytest.raises(LocalMailboxError, match=said):
        box.set_flags("INBOX", keys[3], frozenset({Flag.SEEN, Flag.FLAGGED}))
    with pytest.raises(LocalMailboxError, match=said):
        box.delete("INBOX", keys[:2])
    with pytest.raises(LocalMailboxError, match=said):
        box.deliver("INBOX", _msg(99))
    assert path.read_bytes() == before
    assert sorted(p.name for p in disk.root.iterdir()) == [".filler", "inbox.mbox"]

    again = Mbox(path)  # a fresh reader sees the old mailbox, whole
    assert [e.key for e in again.scan("INBOX")] == keys
    disk.free()
    again.set_flags("INBOX", keys[3], frozenset({Flag.SEEN}))
    assert {e.key: e.flags for e in again.scan("INBOX")}[keys[3]] == frozenset({Flag.SEEN})


def test_maildir_actions_on_a_full_disk(disk: SmallDisk) -> None:
    box = Maildir(disk.root / "Mail", create=True)
    box.create_folder("Archive")
    originals = [_msg(index) for index in range(10)]
    for raw in originals:
        box.deliver("INBOX", raw)
    keys = [entry.key for entry in box.scan("INBOX")]
    disk.fill()

    # flag and move are renames: they need no space and still work
    box.set_flags("INBOX", keys[0], frozenset({Flag.FLAGGED}))
    box.move("INBOX", [keys[1]], "Archive")
    # copy and delivery need space: a clear error and nothing half-written
    with pytest.raises(LocalMailboxError, match="No space left on device"):
        box.copy("INBOX", [keys[2]], "Archive")
    with pytest.raises(LocalMailboxError, match="No space left on device"):
        box.deliver("INBOX", _msg(77))
    everything = sorted(
        [box.read("INBOX", e.key) for e in box.scan("INBOX")]
        + [box.read("Archive", e.key) for e in box.scan("Archive")]
    )
    assert everything == sorted(originals)
    for folder in (box.root, box.root / ".Archive"):
        assert list((folder / "tmp").iterdir()) == []
    disk.free()
    box.copy("INBOX", [keys[2]], "Archive")
    assert len(box.scan("Archive")) == 2


# -- (b) the outbox while `tuimail send` stores a message ----------------------------------------

SENDER = "alice"


def _outbox(cli: Cli) -> list[dict[str, object]]:
    result = cli.run("outbox", "--json")
    assert result.returncode == 0, result.stderr
    entries: list[dict[str, object]] = json.loads(result.stdout)
    return entries


@pytest.mark.mailstack
@pytest.mark.parametrize("room", [0, 64 * 1024], ids=["full", "room-to-open-only"])
def test_send_with_a_full_outbox_disk(mailstack: MailStack, tmp_path: Path, room: int) -> None:
    cli = Cli(tmp_path / "home")
    password = mailstack.password(SENDER)
    cli.write_config(
        account(mailstack, "a", SENDER, extra=f'password_command = "echo {password}"\n')
    )
    with small_disk(cli.home / "data") as data_disk:  # XDG_DATA_HOME: the outbox lives there
        assert _outbox(cli) == []  # the outbox exists, as after earlier sends
        data_disk.fill(leave=room)
        token = f"{room}-{time.monotonic_ns()}"
        subject = f"Never sent {token}"
        body = "A long letter that does not fit.\n" * 20_000
        sent = cli.run("send", "-s", subject, "bob@example.test", stdin=body)
        assert sent.returncode == 1, sent.stdout
        assert "Traceback" not in sent.stderr
        assert "Is the disk full?" in sent.stderr, sent.stderr
        assert "damaged" not in sent.stderr
        data_disk.free()
        assert _outbox(cli) == []  # nothing half-written, and the outbox still opens
        outbox = cli.home / "data" / "tuimail" / "outbox.sqlite"
        with contextlib.closing(sqlite3.connect(outbox)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        marker = f"Marker {token}"
        assert cli.run("send", "-s", marker, "bob@example.test", stdin="hi\n").returncode == 0
    with other_client(mailstack, "bob") as client:  # the marker arrived; the other never left
        client.select_folder("INBOX", readonly=True)
        for _ in range(120):
            if client.search(["SUBJECT", marker]):
                break
            client.idle()
            client.idle_check(timeout=0.5)
            client.idle_done()
        assert client.search(["SUBJECT", marker])
        assert not client.search(["SUBJECT", subject])
    with other_client(mailstack, SENDER) as client:
        client.select_folder("Sent", readonly=True)
        assert not client.search(["SUBJECT", subject])


# -- (a) the cache while syncing from the real Dovecot -------------------------------------------

SYNCER = "carol"


@pytest.mark.mailstack
def test_sync_into_a_full_cache(mailstack: MailStack, tmp_path: Path) -> None:
    total = 3000
    fresh_folder(mailstack, SYNCER, "DiskFull", 0)
    mailstack.seed(SYNCER, total, "DiskFull")
    server = server_state(mailstack, SYNCER, "DiskFull")
    cli = Cli(tmp_path / "home")
    password = mailstack.password(SYNCER)
    cli.write_config(
        account(mailstack, "c", SYNCER, extra=f'password_command = "echo {password}"\n')
    )
    db = cli.home / "cache" / "tuimail" / "cache.sqlite"
    with small_disk(cli.home / "cache", "16m") as cache_disk:  # XDG_CACHE_HOME
        first = cli.run("sync", "--folder", "INBOX")
        assert first.returncode == 0, first.stderr
        cache_disk.fill(leave=256 * 1024)  # room for a few hundred messages, not 3,000

        full = cli.run("sync", "--folder", "DiskFull", TUIMAIL_SYNC_BATCH="100")
        assert full.returncode == 1, full.stdout
        assert "Traceback" not in full.stderr
        assert "internal error" not in full.stderr
        assert "Is the disk full?" in full.stderr, full.stderr
        listed = cli.run("list", "--folder", "DiskFull", "--json")  # the cache still opens
        assert listed.returncode == 0, listed.stderr
        assert not (db.parent / "cache.sqlite.damaged").exists()

        cache_disk.free()
        cached = cache_state(db, "c", "DiskFull")
        assert 0 < len(cached) < total
        assert all(cached[uid] == server[uid] for uid in cached)  # what is there is right
        messages, texts = index_rows(db)
        assert messages == texts
        with contextlib.closing(sqlite3.connect(db)) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)

        again = cli.run("sync", "--folder", "DiskFull")
        assert again.returncode == 0, again.stderr
        assert cache_state(db, "c", "DiskFull") == server
