"""`tuimail --demo` and local Maildir/mbox accounts, run as a user runs them."""

from __future__ import annotations

import json
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers.cli import Cli

from tuimail.backends.local.maildir import Maildir
from tuimail.model.message import Flag


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def _raw(subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Cron Daemon <root@server.example>"
    msg["To"] = "robin@server.example"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 01 Oct 2024 10:00:00 +0000"
    msg.set_content(body)
    return bytes(msg)


def test_demo_runs_with_no_account(cli: Cli) -> None:
    started = time.monotonic()
    overview = cli.run("--demo")
    assert overview.returncode == 0, overview.stderr
    assert "The demo mailbox" in overview.stdout
    assert "INBOX" in overview.stdout
    assert "tuimail --demo read demo:INBOX:" in overview.stdout
    assert time.monotonic() - started < 60
    listed = cli.run("--demo", "list", "--json", "--limit", "500", "--all-folders")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert len(items) >= 300
    folders = {item["folder"] for item in items}
    assert {"INBOX", "Sent"} <= folders
    with_files = [i for i in items if i["has_attachments"]]
    assert with_files
    shown = cli.run("--demo", "read", with_files[0]["id"])
    assert shown.returncode == 0, shown.stderr
    assert "Attachments:" in shown.stdout
    assert "\x1b" not in shown.stdout
    found = cli.run("--demo", "search", "is:unread", "--json")
    assert found.returncode == 0, found.stderr
    assert 0 < len(json.loads(found.stdout)) <= 50
    again = cli.run("--demo", "folders", "--json")  # the second run reuses what the first made
    assert again.returncode == 0, again.stderr
    assert any(f["role"] == "sent" for f in json.loads(again.stdout))


def test_local_maildir_account(cli: Cli, tmp_path: Path) -> None:
    box = Maildir(tmp_path / "Maildir", create=True)
    box.deliver("INBOX", _raw("Backup finished", "All 42 volumes saved.\n"))
    box.deliver("INBOX", _raw("Disk almost full", "/var is at 97%.\n"), frozenset({Flag.SEEN}))
    cli.write_config(
        f"""
[accounts.server]
email = "robin@server.example"
[accounts.server.incoming]
protocol = "maildir"
path = "{box.root}"
"""
    )
    synced = cli.run("sync")
    assert synced.returncode == 0, synced.stderr
    assert "server: 1 folder, 2 new" in synced.stdout
    listed = json.loads(cli.run("list", "--json").stdout)
    assert [i["subject"] for i in listed] == ["Disk almost full", "Backup finished"] or [
        i["subject"] for i in listed
    ] == ["Backup finished", "Disk almost full"]
    unread = json.loads(cli.run("search", "is:unread", "--json").stdout)
    assert [i["subject"] for i in unread] == ["Backup finished"]
    shown = cli.run("read", unread[0]["id"])
    assert "All 42 volumes saved." in shown.stdout
    # new mail delivered by the system is seen by the next command, no sync needed
    box.deliver("INBOX", _raw("Cron output", "nothing to do\n"))
    assert any(i["subject"] == "Cron output" for i in json.loads(cli.run("list", "--json").stdout))


def test_local_mbox_account(cli: Cli, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.write_bytes(
        b"From root@server.example Tue Oct  1 10:00:00 2024\n"
        + _raw("Logwatch", "From the logs:\n>From here it is quiet.\n").replace(b"\r\n", b"\n")
        + b"\n"
    )
    cli.write_config(
        f"""
[accounts.spool]
email = "robin@server.example"
[accounts.spool.incoming]
protocol = "mbox"
path = "{spool}"
"""
    )
    listed = json.loads(cli.run("list", "--json").stdout)
    assert [i["subject"] for i in listed] == ["Logwatch"]
    shown = cli.run("read", listed[0]["id"])
    assert shown.returncode == 0, shown.stderr
    assert "From here it is quiet." in shown.stdout


def test_first_run_points_at_the_demo_and_offers_local_mail(cli: Cli, tmp_path: Path) -> None:
    box = Maildir(tmp_path / "Maildir", create=True)
    box.deliver("INBOX", _raw("Hello", "hi\n"))
    result = cli.run(HOME=str(tmp_path), MAIL="")
    assert result.returncode == 0, result.stderr
    assert "tuimail --demo" in result.stdout
    assert str(box.root) in result.stdout
    assert 'protocol = "maildir"' in result.stdout  # no terminal: the lines to add are shown
    assert not cli.config.exists()  # nothing written without asking
