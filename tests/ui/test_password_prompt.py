"""A password no store holds is asked for in the app, and kept as the secrets module keeps it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from file_keyring import FileKeyring
from helpers.imap import imap_account, message, other_client
from helpers.ui import until
from mailstack.stack import MailStack
from textual.pilot import Pilot

from tuimail.config.paths import Paths
from tuimail.config.secrets import SERVICE, Secrets, account_key
from tuimail.config.vault import Vault
from tuimail.model.account import Role
from tuimail.services.client import MailClient
from tuimail.ui.app import TuimailApp
from tuimail.ui.screens.dialogs import SecretDialog
from tuimail.ui.screens.inbox import InboxScreen
from tuimail.ui.widgets.message_list import MessageList

pytestmark = pytest.mark.mailstack
USER = "bob"


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[FileKeyring]:
    backend = FileKeyring(tmp_path / "keyring.json")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    yield
    keyring.set_keyring(previous)


def _client(stack: MailStack, tmp_path: Path) -> tuple[MailClient, Secrets]:
    with other_client(stack, USER) as imap:
        imap.append("INBOX", message("Waiting behind a password"))
    paths = Paths(config_file=tmp_path / "c.toml", data_dir=tmp_path / "d", cache_dir=tmp_path)
    vault = tmp_path / "vault"
    client: MailClient | None = None

    def passphrase(prompt: str) -> str | None:
        assert client is not None
        return client.passphrase(prompt)

    secrets = Secrets(vault, keyring_timeout=5.0, ask_passphrase=passphrase)
    client = MailClient(
        paths,
        [imap_account(stack, USER)],
        secrets.password,
        cache_file=tmp_path / "cache.sqlite",
        keep_password=lambda a, p, r: secrets.store(a, p, r).description,
    )
    return client, secrets


async def _answer(pilot: Pilot[None], secret: str, *, remember: bool = False) -> SecretDialog:
    app = pilot.app
    await until(lambda: isinstance(app.screen, SecretDialog))
    dialog = app.screen
    assert isinstance(dialog, SecretDialog)
    await pilot.press(*secret)
    if remember:
        await pilot.press("tab", "space", "shift+tab")
    await pilot.press("enter")
    await until(lambda: app.screen is not dialog)
    return dialog


def _synced(app: TuimailApp) -> bool:
    screen = app.screen
    return (
        isinstance(screen, InboxScreen)
        and not screen.syncing
        and bool(screen.query_one(MessageList).keys)
    )


def test_asked_password_syncs_and_is_remembered_in_the_keyring(
    mailstack: MailStack, tmp_path: Path, file_keyring: FileKeyring
) -> None:
    client, _secrets = _client(mailstack, tmp_path)
    password = mailstack.password(USER)

    async def scenario() -> None:
        app = TuimailApp(client)
        async with app.run_test(size=(80, 24)) as pilot:
            dialog = await _answer(pilot, password, remember=True)
            assert "bob@example.test" in str(dialog.dialog_title)
            await until(lambda: _synced(app))
            screen = app.screen
            assert isinstance(screen, InboxScreen)
            assert not screen.last_error
            await until(lambda: screen.watching.get("acct") == "idle")  # asked once for both

    asyncio.run(scenario())
    stored = file_keyring.get_password(SERVICE, account_key("acct", Role.INCOMING))
    assert stored == password


def test_declined_then_asked_again_and_kept_in_a_new_vault(
    mailstack: MailStack, tmp_path: Path, no_keyring: None
) -> None:
    client, _secrets = _client(mailstack, tmp_path)
    password = mailstack.password(USER)

    async def scenario() -> None:
        app = TuimailApp(client)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(lambda: isinstance(app.screen, SecretDialog))
            await pilot.press("escape")
            screen = app.screen
            assert isinstance(screen, InboxScreen)
            await until(lambda: "No password is stored" in screen.last_error)
            assert not isinstance(app.screen, SecretDialog)  # declined: not asked again
            await pilot.press("dollar_sign")  # a sync asked for: the question comes back
            await _answer(pilot, password, remember=True)
            new = await _answer(pilot, "vault words")
            assert "New passphrase" in str(new.dialog_title)
            await _answer(pilot, "vault words")  # repeated
            await until(lambda: _synced(app) and not screen.last_error)
            await until(lambda: screen.watching.get("acct") == "idle")  # the watch is back

    asyncio.run(scenario())
    vault = Vault.open(tmp_path / "vault", "vault words")
    assert vault.get(account_key("acct", Role.INCOMING)) == password
