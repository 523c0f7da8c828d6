"""Files tuimail writes are the owner's only (0600 files, 0700 directories), under umask 022."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.pop3_server import PASSWORD, Maildrop, serve

from tuimail.cli.mail import welcome
from tuimail.config.paths import Paths
from tuimail.config.settings import Settings
from tuimail.config.vault import Vault
from tuimail.model.account import (
    Account,
    Endpoint,
    LocalFormat,
    LocalSource,
    Pop3Options,
    Protocol,
    Security,
)
from tuimail.model.message import Address, Draft
from tuimail.services.compose import save_draft
from tuimail.services.pop3_fetch import fetch_pop3, ledger_file, lock_file, open_maildir


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most systems give a person: files 0644 and directories 0755 unless asked."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _loose(root: Path) -> list[str]:
    """Everything under root (root included) readable by others than the owner."""
    found = []
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        want = 0o700 if path.is_dir() else 0o600
        if _mode(path) & ~want:
            found.append(f"{path.relative_to(root.parent)} {_mode(path):o}")
    return found


def _pop3_account(maildir: Path, port: int = 110) -> Account:
    endpoint = Endpoint(
        Protocol.POP3, "127.0.0.1", port, Security.NONE, "pat", allow_plaintext=True, timeout=10
    )
    return Account(
        "perm",
        "Pat",
        "pat@example.test",
        endpoint,
        pop3=Pop3Options(),
        local=LocalSource(LocalFormat.MAILDIR, str(maildir)),
    )


def test_password_vault_is_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "passwords.vault"
    vault = Vault.create(path, "a passphrase")
    vault.set("acct:incoming", "canary-Secret")
    assert _loose(path.parent) == []


def test_pop3_ledger_lock_and_maildir_are_private(tmp_path: Path) -> None:
    drop = Maildrop()
    drop.add(b"From: a@b.test\nSubject: one\nMessage-ID: <p1@b.test>\n\nBody.\n")
    data, maildir = tmp_path / "data", tmp_path / "Mail"
    data.mkdir(mode=0o700)  # the data directory, as Paths.ensure_private_dirs makes it
    with serve(drop) as server:
        result = fetch_pop3(data, _pop3_account(maildir, server.port), PASSWORD)
    assert result.downloaded == 1, [e.message for e in result.errors]
    assert ledger_file(data, "perm").exists()
    assert lock_file(data, "perm").exists()
    assert _loose(data) == []
    assert _loose(maildir) == []


def test_drafts_saved_in_a_local_maildir_are_private(tmp_path: Path) -> None:
    maildir = tmp_path / "Mail"
    account = _pop3_account(maildir)
    open_maildir(maildir)  # as the first fetch makes it
    draft = Draft("perm", to=(Address("Bo", "bo@example.test"),), subject="s", body="secret plan")
    save_draft(account, draft, lambda _account, _role: "unused")
    drafts = list((maildir / ".Drafts" / "cur").iterdir())
    assert len(drafts) == 1
    assert _loose(maildir) == []


def test_settings_file_written_by_the_welcome_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mbox = tmp_path / "spool"
    mbox.write_bytes(b"From a@b.test Mon Jun  1 10:00:00 2026\nSubject: x\n\nhi\n")
    monkeypatch.setenv("MAIL", str(mbox))
    monkeypatch.setenv("USER", "nobody-here")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = tmp_path / "config" / "tuimail" / "config.toml"
    paths = Paths(config, tmp_path / "data", tmp_path / "cache")
    out = io.StringIO()
    welcome(paths, Settings(config), out, lambda _question: "y")
    assert "Written." in out.getvalue()
    assert _loose(config.parent) == []
