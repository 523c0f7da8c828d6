"""The hostile corpus through the command line on a real terminal (a pty): a local Maildir
account, and the real Dovecot (APPENDed, synced into the cache). Nothing may crash or hang, and
no control byte from a message may reach the terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from helpers.cli import Cli, account
from helpers.hostile import (
    CASES,
    Case,
    injected,
    raw_case,
    run_on_pty,
    terminal_controls,
)
from helpers.imap import other_client
from mailstack.stack import MailStack

from tuimail.backends.local.maildir import Maildir

# A folder name of escapes and markup (Maildir++ allows any byte but "/" in a name).
HOSTILE_FOLDER = "Evil\x1b]0;PWNED-TITLE\x07[b]x[/b]\x9b2J"
BIG = 1024 * 1024
"""Messages bigger than this are not printed raw (50 MB through a pty proves nothing more)."""
ALTERED_BY_DOVECOT = frozenset({"nul-bytes"})
"""Dovecot stores NUL bytes as 0x80: what these show differs from the file (checked elsewhere)."""
RAW_VIEWS = frozenset({"escapes", "markup", "NUL", "8-bit headers", "RFC 2047", "bidi"})
"""The cases also shown with --headers and --raw (where escapes hide in headers and bytes)."""


@dataclass
class Run:
    """One command on a pty: its status and every byte it wrote."""

    status: int
    output: bytes

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace").replace("\r\n", "\n")


def _pty(cli: Cli, *args: str, timeout: float = 180.0) -> Run:
    status, output = run_on_pty(
        [sys.executable, "-m", "tuimail", *args], cli.env(), timeout=timeout
    )
    run = Run(status, output)
    assert not terminal_controls(output), (args, terminal_controls(output)[:10])
    assert not injected(output), args
    assert b"Traceback" not in output, run.text[-3000:]
    return run


def _by_case(items: list[dict[str, object]]) -> dict[str, str]:
    """Message id of each case, found by its Message-ID."""
    found = {}
    for item in items:
        message_id = str(item["message_id"])
        if message_id.endswith("@hostile.test>"):
            found[message_id[1:].partition("@")[0]] = str(item["id"])
    return found


def _check_read(cli: Cli, case: Case, key: str, raw: bytes, *, more: bool) -> None:
    shown = _pty(cli, "read", key)
    assert shown.status == 0, shown.text[-2000:]
    text = shown.text
    for expected in () if case.name in ALTERED_BY_DOVECOT else case.shows:
        assert expected in text, (case.name, expected)
    body = text.partition("\n\n")[2]
    for hidden in case.hides:
        assert hidden not in body, (case.name, hidden)
    if case.too_complex:
        assert "View the raw source" in text
    if case.name.startswith("forged-"):
        assert "Warning: Possibly forged sender: the name shows" in text
    if more and case.covers in RAW_VIEWS and len(raw) <= BIG:
        assert _pty(cli, "read", "--headers", key).status == 0
        assert _pty(cli, "read", "--raw", key).status == 0


def _read_only(cli: Cli, key: str) -> None:
    assert _pty(cli, "read", key).status == 0


def _check_all(cli: Cli, scratch: Path, folder_args: tuple[str, ...], *, more: bool) -> None:
    """List, search and read the corpus; ``more``: the header and raw views too."""
    listed = _pty(cli, "list", "--limit", "1000", *folder_args)
    assert listed.status == 0, listed.text
    items = json.loads(_pty(cli, "list", "--json", "--limit", "1000", *folder_args).text)
    keys = _by_case(items)
    missing = {case.name for case in CASES if case.name not in ("empty", "garbage")} - set(keys)
    missing -= {"headers-only", "dates-and-ids"}  # no Message-ID of the usual form
    assert not missing
    assert len(items) >= len(CASES) - 1
    checks = [
        partial(_check_read, cli, case, keys[case.name], raw_case(case, scratch), more=more)
        for case in CASES
        if case.name in keys
    ]
    for item in items:  # the ones with no usable Message-ID too
        if not str(item["message_id"]).endswith("@hostile.test>"):
            checks.append(partial(_read_only, cli, str(item["id"])))
    with ThreadPoolExecutor(max_workers=3) as pool:  # separate processes: the waits overlap
        for done in [pool.submit(check) for check in checks]:
            done.result()
    for query in ("PWNED", "from:hostile.test", "subject:markup", "has:attachment", "bashrc"):
        found = _pty(cli, "search", query, "--limit", "1000")
        assert found.status == 0, found.text
    assert _pty(cli, "folders").status == 0


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-cli")


def test_local_maildir_corpus_on_a_terminal(tmp_path: Path, scratch: Path) -> None:
    box = Maildir(tmp_path / "Maildir", create=True)
    for case in CASES:
        box.deliver("INBOX", raw_case(case, scratch))
    box.create_folder(HOSTILE_FOLDER)
    box.deliver(HOSTILE_FOLDER, raw_case(CASES[0], scratch))
    cli = Cli(tmp_path)
    cli.write_config(
        f"""
[accounts.home]
email = "robin@example.test"
[accounts.home.incoming]
protocol = "maildir"
path = "{box.root}"
"""
    )
    synced = _pty(cli, "sync", timeout=600)
    assert synced.status == 0, synced.text
    folders = _pty(cli, "folders")
    assert "Evil␛]0;PWNED-TITLE␇[b]x[/b]" in folders.text
    _check_all(cli, scratch, ("--folder", "INBOX"), more=True)
    in_folder = _pty(cli, "list", "--all-folders")
    assert "␛]0;PWNED-TITLE␇" in in_folder.text or "markup-subject" not in in_folder.text


@pytest.fixture
def hostile_imap(mailstack: MailStack, scratch: Path) -> Iterator[str]:
    """alice's folder Hostile holding the whole corpus (APPENDed), and a folder of markup."""
    user = "alice"
    folder = "Hostile"
    markup_folder = "[b]Markup[/b] [@click=app.quit]x[/]"
    with other_client(mailstack, user) as client:
        for name in (folder, markup_folder):
            if client.folder_exists(name):
                client.delete_folder(name)
            client.create_folder(name)
        for case in CASES:
            raw = raw_case(case, scratch)
            if not raw:
                raw = b"\r\n"  # IMAP refuses an empty literal: the next-emptiest message
            client.append(folder, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        client.append(markup_folder, raw_case(CASES[0], scratch))
    yield user
    with other_client(mailstack, user) as client:
        for name in (folder, markup_folder):
            if client.folder_exists(name):
                client.delete_folder(name)


@pytest.mark.mailstack
def test_dovecot_corpus_synced_listed_and_read_on_a_terminal(
    mailstack: MailStack, hostile_imap: str, tmp_path: Path, scratch: Path
) -> None:
    cli = Cli(tmp_path)
    password = mailstack.password(hostile_imap)
    cli.write_config(
        account(mailstack, "a", hostile_imap, extra=f'password_command = "echo {password}"\n')
    )
    synced = _pty(cli, "sync", timeout=900)
    assert synced.status == 0, synced.text
    folders = _pty(cli, "folders")
    assert "[b]Markup[/b] [@click=app.quit]x[/]" in folders.text
    _check_all(cli, scratch, ("--folder", "Hostile"), more=False)
