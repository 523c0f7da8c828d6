"""POP3 fetching with leave-on-server against the real Dovecot: nothing lost, nothing twice."""

from __future__ import annotations

import email
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import Cli, account
from helpers.imap import message
from mailstack.stack import MailStack

from tuimail.backends.local.maildir import Maildir
from tuimail.model.account import (
    Account,
    Endpoint,
    LocalFormat,
    LocalSource,
    Pop3Options,
    Protocol,
    Security,
)
from tuimail.services.pop3_fetch import FetchResult, account_lock, fetch_pop3

pytestmark = pytest.mark.mailstack
USER = "pat"
DAY = 86400.0


def _empty(stack: MailStack) -> None:
    stack.doveadm("expunge", "-u", stack.address(USER), "mailbox", "INBOX", "all")


def _fill(stack: MailStack, count: int, prefix: str = "m") -> list[str]:
    """Deliver ``count`` messages; their Message-IDs."""
    ids = []
    for index in range(count):
        mid = f"<{prefix}{index}.{time.monotonic_ns()}@pop.test>"
        stack.deliver(USER, message(f"{prefix} {index}", f"Body {index}.\n", message_id=mid))
        ids.append(mid)
    return ids


def _seeded(stack: MailStack, count: int) -> list[str]:
    """``count`` messages written straight into the mailbox (fast); their Message-IDs."""
    stack.seed(USER, count)
    return sorted(_server_ids(stack))


def _server_ids(stack: MailStack) -> list[str]:
    out = stack.doveadm("fetch", "-u", stack.address(USER), "hdr.message-id", "mailbox", "INBOX")
    return [
        line.split(":", 1)[1].strip()
        for line in out.splitlines()
        if line.lower().startswith("hdr.message-id:")
    ]


def _local_ids(maildir: Path) -> list[str]:
    found = []
    for folder in [maildir, *maildir.glob(".*")]:
        for sub in ("cur", "new"):
            for path in (folder / sub).glob("*"):
                parsed = email.message_from_bytes(path.read_bytes())
                found.append(str(parsed["Message-ID"]).strip())
    return found


def _account(stack: MailStack, maildir: Path, **options: object) -> Account:
    endpoint = Endpoint(
        Protocol.POP3,
        "localhost",
        stack.pop3s,
        Security.TLS,
        USER,
        ca_file=str(stack.ca_file),
        timeout=20,
    )
    return Account(
        "pop",
        "Pat",
        stack.address(USER),
        endpoint,
        pop3=Pop3Options(**options),  # type: ignore[arg-type]
        local=LocalSource(LocalFormat.MAILDIR, str(maildir)),
    )


def _fetch(stack: MailStack, acct: Account, data: Path, **kwargs: object) -> FetchResult:
    result = fetch_pop3(data, acct, stack.password(USER), **kwargs)  # type: ignore[arg-type]
    assert not result.errors, [e.message for e in result.errors]
    return result


@pytest.fixture
def paths(tmp_path: Path, mailstack: MailStack) -> tuple[Path, Path]:
    _empty(mailstack)
    return tmp_path / "data", tmp_path / "Mail"


def test_thousand_messages_left_on_server_are_fetched_once(
    mailstack: MailStack, paths: tuple[Path, Path]
) -> None:
    data, maildir = paths
    ids = _seeded(mailstack, 1000)
    acct = _account(mailstack, maildir)

    first = _fetch(mailstack, acct, data)
    assert first.downloaded == 1000
    assert sorted(_local_ids(maildir)) == ids
    assert sorted(_server_ids(mailstack)) == ids  # all still on the server

    again = _fetch(mailstack, acct, data)
    assert (again.downloaded, again.deleted, again.on_server) == (0, 0, 1000)

    new = _fill(mailstack, 3, "late")
    third = _fetch(mailstack, acct, data)
    assert third.downloaded == 3
    assert sorted(_local_ids(maildir)) == sorted(ids + new)
    assert _fetch(mailstack, acct, data).downloaded == 0


def test_delete_after_days_deletes_exactly_the_old_ones(
    mailstack: MailStack, paths: tuple[Path, Path]
) -> None:
    data, maildir = paths
    start = time.time()
    old = _fill(mailstack, 4, "old")
    acct = _account(mailstack, maildir, delete_after_days=7)
    assert _fetch(mailstack, acct, data, now=lambda: start).downloaded == 4
    young = _fill(mailstack, 3, "young")
    assert _fetch(mailstack, acct, data, now=lambda: start + 5 * DAY).downloaded == 3
    assert sorted(_server_ids(mailstack)) == sorted(old + young)  # nothing is 7 days old yet

    result = _fetch(mailstack, acct, data, now=lambda: start + 7 * DAY + 1)
    assert result.deleted == 4
    assert sorted(_server_ids(mailstack)) == sorted(young)
    assert sorted(_local_ids(maildir)) == sorted(old + young)  # the local copies stay

    later = _fetch(mailstack, acct, data, now=lambda: start + 12 * DAY + 1)
    assert later.deleted == 3
    assert _server_ids(mailstack) == []


def test_delete_when_deleted_locally(mailstack: MailStack, paths: tuple[Path, Path]) -> None:
    data, maildir = paths
    ids = _fill(mailstack, 5, "loc")
    acct = _account(mailstack, maildir, delete_when_deleted_locally=True)
    _fetch(mailstack, acct, data)
    box = Maildir(maildir)
    box.create_folder("Trash")
    entries = {  # Message-ID -> key
        str(email.message_from_bytes(box.read("INBOX", e.key))["Message-ID"]): e.key
        for e in box.scan("INBOX")
    }
    box.move("INBOX", [entries[ids[0]], entries[ids[1]]], "Trash")  # in Trash: still here
    assert _fetch(mailstack, acct, data).deleted == 0
    trashed = {e.key for e in box.scan("Trash")}
    box.delete("Trash", [entries[ids[0]]])  # removed from the Trash: gone here
    assert entries[ids[0]] in trashed

    result = _fetch(mailstack, acct, data)
    assert result.deleted == 1
    assert sorted(_server_ids(mailstack)) == sorted(ids[1:])
    assert _fetch(mailstack, acct, data).downloaded == 0


def test_without_leave_on_server_each_message_is_deleted_once_stored(
    mailstack: MailStack, paths: tuple[Path, Path]
) -> None:
    data, maildir = paths
    ids = _fill(mailstack, 6, "move")
    acct = _account(mailstack, maildir, leave_on_server=False)
    result = _fetch(mailstack, acct, data)
    assert (result.downloaded, result.deleted) == (6, 6)
    assert _server_ids(mailstack) == []
    assert sorted(_local_ids(maildir)) == sorted(ids)


def _cli(tmp_path: Path, stack: MailStack, pop3: str) -> Cli:
    cli = Cli(tmp_path / "home")
    password = stack.password(USER)
    cli.write_config(
        account(stack, "pop", USER, protocol="pop3", extra=f'password_command = "echo {password}"')
        + f"\n[accounts.pop.pop3]\n{pop3}\n"
    )
    return cli


def _cli_maildir(cli: Cli) -> Path:
    return cli.home / "data" / "tuimail" / "mail" / "pop"


def test_dry_run_lists_and_changes_nothing(
    mailstack: MailStack, tmp_path: Path, paths: tuple[Path, Path]
) -> None:
    ids = _fill(mailstack, 3, "dry")
    cli = _cli(tmp_path, mailstack, "leave_on_server = false")
    planned = cli.run("sync", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert "3 would be downloaded, 3 would be deleted" in planned.stdout
    assert planned.stdout.count("  download #") == 3
    assert sorted(_server_ids(mailstack)) == sorted(ids)
    assert not _cli_maildir(cli).exists() or _local_ids(_cli_maildir(cli)) == []

    synced = cli.run("sync")
    assert synced.returncode == 0, synced.stderr
    assert "3 downloaded, 3 deleted on the server" in synced.stdout
    listed = cli.run("list")
    assert listed.returncode == 0, listed.stderr
    assert sum("dry " in line for line in listed.stdout.splitlines()) == 3  # in the cache too


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    mailstack: MailStack, tmp_path: Path, paths: tuple[Path, Path]
) -> None:
    ids = _seeded(mailstack, 1000)
    cli = _cli(tmp_path, mailstack, "leave_on_server = false")
    maildir = _cli_maildir(cli)
    rnd = random.Random(7)
    kills = 0
    for _attempt in range(30):
        process = subprocess.Popen(
            [sys.executable, "-m", "tuimail", "sync"],
            env=cli.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            process.wait(timeout=rnd.uniform(0.2, 1.6))  # the moment of the kill
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            kills += 1
        else:  # it finished first: give the next attempts new mail to be killed over
            before = set(_server_ids(mailstack))
            mailstack.seed(USER, 500)
            ids = sorted({*ids, *(set(_server_ids(mailstack)) - before)})
        local = _local_ids(maildir) if maildir.exists() else []
        assert len(local) == len(set(local)), "a message was stored twice"
        on_server = set(_server_ids(mailstack))
        assert set(ids) <= set(local) | on_server, "a message vanished from both sides"
    assert kills >= 10  # the test killed fetches, not only watched them finish
    finished = cli.run("sync")
    assert finished.returncode == 0, finished.stderr
    local = _local_ids(maildir)
    assert sorted(local) == ids
    assert _server_ids(mailstack) == []


def test_a_second_fetcher_is_turned_away_and_a_dead_ones_lock_taken_over(
    mailstack: MailStack, tmp_path: Path, paths: tuple[Path, Path]
) -> None:
    _fill(mailstack, 2, "lock")
    cli = _cli(tmp_path, mailstack, "leave_on_server = true")
    data = cli.home / "data" / "tuimail"
    with account_lock(data, "pop"):
        busy = cli.run("sync")
    assert busy.returncode == 1
    assert f"Another tuimail (process {os.getpid()}) is fetching 'pop'" in busy.stderr
    assert "Traceback" not in busy.stderr

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from tuimail.services.pop3_fetch import account_lock;"
            "lock = account_lock(Path(sys.argv[1]), 'pop'); lock.__enter__();"
            "print('held', flush=True); time.sleep(600)",
            str(data),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    taken = cli.run("sync")
    assert taken.returncode == 0, taken.stderr
    assert "2 downloaded" in taken.stdout
