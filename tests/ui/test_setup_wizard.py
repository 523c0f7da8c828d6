"""The setup wizard end to end against the real Dovecot + Postfix, with the keyboard only."""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import tomllib
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers.setup import (
    discovery_for,
    file_keyring,
    settle,
    shown,
    stack_servers,
    type_address,
    wizard_app,
)
from mailstack.stack import MailStack

from tuimail.ui.screens.inbox import InboxScreen
from tuimail.ui.screens.setup import SetupScreen
from tuimail.ui.widgets.message_list import MessageList


def _run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def _stack_fingerprint(stack: MailStack) -> str:
    pem = ssl.get_server_certificate(("127.0.0.1", stack.imaps))
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


@pytest.fixture
def trusted_stack_ca(mailstack: MailStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack's CA trusted like a public one (OpenSSL reads SSL_CERT_FILE per context)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(mailstack.ca_file))


@pytest.mark.mailstack
def test_address_and_password_to_the_inbox(
    mailstack: MailStack, trusted_stack_ca: None, tmp_path: Path
) -> None:
    subject = f"Welcome to the wizard {tmp_path.name}"
    message = EmailMessage()
    message["From"] = "bob@example.test"
    message["To"] = mailstack.address("alice")
    message["Subject"] = subject
    message.set_content("Hello Alice.\n")
    mailstack.deliver("alice", bytes(message))
    password = mailstack.password("alice")
    app, setup = wizard_app(tmp_path, discovery_for(stack_servers(mailstack), "alice"))

    async def scenario() -> None:
        with file_keyring(tmp_path / "keyring.json"):
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause(0.1)
                assert isinstance(app.screen, SetupScreen)
                await type_address(pilot, mailstack.address("alice"), password, "Alice Liddell")
                await settle(app, pilot)
                screen = app.screen
                assert isinstance(screen, SetupScreen)
                assert screen.step == "settings"
                assert "Found in tuimail's provider list (Test stack)" in shown(app, "#found")
                assert screen.query_one("#in-host").value == "localhost"  # type: ignore[attr-defined]
                assert screen.query_one("#in-port").value == str(mailstack.imaps)  # type: ignore[attr-defined]
                screen.query_one("#test").focus()
                await pilot.press("enter")
                await settle(app, pilot)
                assert screen.step == "saved", shown(app, "#test-failure")
                saved = shown(app, "#saved-text")
                assert "in the OS keyring (file_keyring.FileKeyring)" in saved
                assert "because a keyring answered" in saved
                await pilot.press("enter")
                await settle(app, pilot, rounds=6)
                inbox = app.screen_stack[-1]
                assert isinstance(inbox, InboxScreen)
                messages = inbox.query_one(MessageList)
                for _ in range(100):  # the first sync fills the list
                    if messages.keys:
                        break
                    await settle(app, pilot)
                assert app.client is not None
                envelopes = app.client.envelopes(messages.keys)
                assert subject in [cached.envelope.subject for cached in envelopes]
                assert {cached.envelope.ref.account for cached in envelopes} == {"example"}

    _run(scenario())
    settings = tomllib.loads(setup.config_file.read_text())
    account = settings["accounts"]["example"]
    assert account["email"] == mailstack.address("alice")
    assert account["name"] == "Alice Liddell"
    assert account["incoming"]["port"] == mailstack.imaps
    assert password not in setup.config_file.read_text()
    stored = json.loads((tmp_path / "keyring.json").read_text())
    assert stored == {"tuimail\0example": password}


@pytest.mark.mailstack
def test_wrong_password_is_said_and_nothing_saved(
    mailstack: MailStack, trusted_stack_ca: None, tmp_path: Path
) -> None:
    wrong = "not-alices-password-0xBAD"
    app, setup = wizard_app(tmp_path, discovery_for(stack_servers(mailstack), "alice"))

    async def scenario() -> None:
        with file_keyring(tmp_path / "keyring.json"):
            async with app.run_test(size=(80, 24)) as pilot:
                await type_address(pilot, mailstack.address("alice"), wrong)
                await settle(app, pilot)
                app.screen.query_one("#test").focus()
                await pilot.press("enter")
                await settle(app, pilot)
                failure = shown(app, "#test-failure")
                assert "Incoming server: Wrong user name or password" in failure
                assert "Outgoing server: Wrong user name or password" in failure
                assert "refused the login for 'alice'" in failure
                assert wrong not in app.export_screenshot()
                await pilot.press("escape")  # back to the settings, still editable
                assert app.screen.step == "settings"  # type: ignore[attr-defined]

    _run(scenario())
    assert not setup.config_file.exists()
    assert not (tmp_path / "keyring.json").exists()


@pytest.mark.mailstack
def test_untrusted_certificate_trusted_for_the_account(
    mailstack: MailStack, tmp_path: Path
) -> None:
    fingerprint = _stack_fingerprint(mailstack)
    app, setup = wizard_app(tmp_path, discovery_for(stack_servers(mailstack), "alice"))

    async def scenario() -> None:
        with file_keyring(tmp_path / "keyring.json"):
            async with app.run_test(size=(80, 24)) as pilot:
                await type_address(pilot, mailstack.address("alice"), mailstack.password("alice"))
                await settle(app, pilot)
                app.screen.query_one("#test").focus()
                await pilot.press("enter")
                await settle(app, pilot)
                failure = shown(app, "#test-failure")
                assert "Incoming server: Certificate not trusted" in failure
                assert f"SHA-256 {fingerprint}" in failure
                assert app.focused is not None
                assert app.focused.id == "trust"
                await pilot.press("enter")  # trust it
                await settle(app, pilot)
                assert app.screen.step == "saved", shown(app, "#test-failure")  # type: ignore[attr-defined]

    _run(scenario())
    settings = tomllib.loads(setup.config_file.read_text())
    account = settings["accounts"]["example"]
    assert account["incoming"]["tls_fingerprint"] == fingerprint
    assert account["outgoing"]["tls_fingerprint"] == _stack_fingerprint(mailstack)
