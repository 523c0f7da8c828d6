"""`tuimail sync/list/read/search/folders` as a user runs them, against the real Dovecot."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import Cli, account
from helpers.imap import cache_state, fresh_folder, index_rows, message, other_client, server_state
from mailstack.stack import MailStack

pytestmark = pytest.mark.mailstack
USER = "carol"


@pytest.fixture
def cli(tmp_path: Path, mailstack: MailStack) -> Cli:
    cli = Cli(tmp_path)
    password = mailstack.password(USER)
    cli.write_config(account(mailstack, "c", USER, extra=f'password_command = "echo {password}"\n'))
    return cli


def _cache(cli: Cli) -> Path:
    return cli.home / "cache" / "tuimail" / "cache.sqlite"


def test_sync_list_read_search_folders(mailstack: MailStack, cli: Cli) -> None:
    fresh_folder(mailstack, USER, "Reports", 0)
    with other_client(mailstack, USER) as client:
        client.append(
            "Reports",
            message(
                "Quarterly numbers",
                "Revenue went up.\nSee the attachment.\n",
                sender="Åsa Öberg <asa@example.org>",
                days_ago=3,
            ),
        )
        client.append("Reports", message("Weekly \x1b]0;pwned\x07 status", "All fine.\n"))
        client.append("Reports", message("Invoice [b]bold[/b]", "Pay now.\n"), flags=[b"\\Seen"])

    synced = cli.run("sync")
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.startswith("c: ")
    assert " new, " in synced.stdout
    assert "Traceback" not in synced.stderr

    listed = cli.run("list", "--folder", "Reports", "--json")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert [i["subject"] for i in items][-1] == "Quarterly numbers"  # newest first
    first = items[-1]
    for key in (
        "id",
        "account",
        "folder",
        "uid",
        "message_id",
        "date",
        "from",
        "to",
        "subject",
        "flags",
        "size",
        "has_attachments",
    ):
        assert key in first
    assert first["from"] == [{"name": "Åsa Öberg", "email": "asa@example.org"}]
    assert first["flags"] == []
    assert first["date"].endswith("+00:00")
    assert "\x1b" not in listed.stdout  # the escape in a subject never reaches the terminal
    assert {"seen"} == {f for i in items if i["subject"].startswith("Invoice") for f in i["flags"]}

    shown = cli.run("read", first["id"])
    assert shown.returncode == 0, shown.stderr
    assert "From:    Åsa Öberg <asa@example.org>" in shown.stdout
    assert "Subject: Quarterly numbers" in shown.stdout
    assert "Revenue went up." in shown.stdout

    found = cli.run("search", "from:asa revenue", "--json")  # body words are indexed once read
    assert found.returncode == 0, found.stderr
    assert [i["id"] for i in json.loads(found.stdout)] == [first["id"]]
    plain = cli.run("search", "invoice", "--folder", "Reports")
    assert "Invoice [b]bold[/b]" in plain.stdout
    nothing = cli.run("search", "is:flagged", "--folder", "Reports", "--json")
    assert json.loads(nothing.stdout) == []
    bad = cli.run("search", "(unbalanced")
    assert bad.returncode != 0
    assert "Traceback" not in bad.stderr

    folders = cli.run("folders", "--json")
    assert folders.returncode == 0, folders.stderr
    by_name = {f["name"]: f for f in json.loads(folders.stdout)}
    assert by_name["Reports"]["total"] == 3
    assert by_name["Reports"]["unread"] == 2
    assert by_name["INBOX"]["role"] == "inbox"
    assert by_name["Trash"]["role"] == "trash"


def test_read_unknown_id_and_list_before_sync(cli: Cli) -> None:
    empty = cli.run("list")
    assert empty.returncode == 1
    assert "run tuimail sync" in empty.stderr
    unknown = cli.run("read", "c:INBOX:1:1")
    assert unknown.returncode == 1
    assert "not in the cache" in unknown.stderr


def test_sync_with_a_wrong_password_fails_clearly(mailstack: MailStack, tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.write_config(account(mailstack, "c", USER, extra='password_command = "echo wrong"\n'))
    result = cli.run("sync")
    assert result.returncode == 1
    assert "refused the login" in result.stderr
    assert "Traceback" not in result.stderr


def _kill_when(process: subprocess.Popen[bytes], db: Path, threshold: int) -> int:
    """SIGKILL the sync once the cache holds ``threshold`` messages (or it ended by itself)."""
    count = 0
    while process.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=5) as raw:
                    (count,) = raw.execute("SELECT count(*) FROM message").fetchone()
            except sqlite3.Error:
                count = 0
        if count >= threshold:
            process.send_signal(signal.SIGKILL)
            break
        try:
            process.wait(timeout=0.005)
        except subprocess.TimeoutExpired:
            continue
    process.wait()
    return count


def test_sync_killed_at_random_points_resumes_exactly(mailstack: MailStack, cli: Cli) -> None:
    total = 3000
    fresh_folder(mailstack, USER, "Killed", 0)
    mailstack.seed(USER, total, "Killed")
    db = _cache(cli)
    rng = random.Random(20261129)
    thresholds = sorted(rng.sample(range(total), 20))
    server = server_state(mailstack, USER, "Killed")
    mid_fetch = 0
    for threshold in thresholds:
        process = subprocess.Popen(
            [sys.executable, "-m", "tuimail", "sync", "--folder", "Killed"],
            env=cli.env(TUIMAIL_SYNC_BATCH="37"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        seen = _kill_when(process, db, threshold)
        if process.returncode == -signal.SIGKILL and 0 < seen < total:
            mid_fetch += 1
        if db.exists():
            cached = cache_state(db, "c", "Killed")
            # what is cached is exactly what the server has: no ghost, no wrong row
            assert all(cached[uid] == server[uid] for uid in cached)
            messages, texts = index_rows(db)
            assert messages == texts  # no half-written batch: index and rows agree
    assert mid_fetch >= 10
    finished = cli.run("sync", "--folder", "Killed")
    assert finished.returncode == 0, finished.stderr
    assert cache_state(db, "c", "Killed") == server
    assert index_rows(db) == (total, total)
