"""The setup wizard end to end against the real Dovecot + Postfix, with the keyboard only."""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import threading
import tomllib
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import pytest
from fakeserver.certs import CertFiles, make_ca
from fakeserver.server import ScriptedServer, closed_port, imap_script, secret_in, smtp_script
from helpers.setup import (
    Servers,
    discovery_for,
    file_keyring,
    settle,
    shown,
    stack_servers,
    type_address,
    wizard_app,
)
from mailstack.stack import MailStack
from textual.screen import Screen
from textual.widgets import Checkbox, Input, Select, Static

from tuimail.config.vault import Vault
from tuimail.model.account import Protocol, Security
from tuimail.model.discovery import DiscoveryNetwork
from tuimail.services.discover import discover
from tuimail.ui.app import TuimailApp
from tuimail.ui.screens.inbox import InboxScreen
from tuimail.ui.screens.setup import SetupScreen
from tuimail.ui.widgets.message_list import MessageList


def _top(app: TuimailApp) -> Screen[Any]:
    """The screen on top (a call, so that type narrowing does not stick to it)."""
    return app.screen_stack[-1]


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
                inbox = _top(app)
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
                assert f"SHA-256 {fingerprint[:48]}" in failure  # on two lines, to fit 80 columns
                assert fingerprint[48:] in failure
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


def _failure_after_test(
    app_root: Path,
    discover: object,
    password: str = "a-password-0xC0FFEE",  # noqa: S107
) -> str:
    """Run the wizard to the login test and return what its failure panel says."""
    app, setup = wizard_app(app_root, discover)  # type: ignore[arg-type]
    said: list[str] = []

    async def scenario() -> None:
        with file_keyring(app_root / "keyring.json"):
            async with app.run_test(size=(80, 24)) as pilot:
                await type_address(pilot, "alice@example.test", password)
                await settle(app, pilot)
                app.screen.query_one("#test").focus()
                await pilot.press("enter")
                await settle(app, pilot)
                said.append(shown(app, "#test-failure"))
                assert password not in app.export_screenshot()

    _run(scenario())
    assert not setup.config_file.exists()
    return said[0]


@pytest.mark.mailstack
def test_unreachable_port(mailstack: MailStack, trusted_stack_ca: None, tmp_path: Path) -> None:
    with closed_port() as port:
        servers = Servers(
            (Protocol.IMAP, "localhost", port, Security.TLS), ("localhost", port, Security.TLS)
        )
        failure = _failure_after_test(tmp_path, discovery_for(servers, "alice"))
    assert "Incoming server: Server unreachable" in failure
    assert f"tuimail could not reach localhost:{port}" in failure
    assert "refused the connection" in failure


@pytest.fixture(scope="module")
def fake_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CertFiles]:
    """A CA (trusted through SSL_CERT_FILE together with the stack's) and a localhost cert."""
    path = tmp_path_factory.mktemp("setup-pki")
    ca = make_ca(path, "tuimail setup test CA")
    return ca.cert_path, ca.issue(path, ["localhost", "127.0.0.1"])


@pytest.fixture
def trust_both(
    mailstack: MailStack,
    fake_pki: tuple[Path, CertFiles],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> CertFiles:
    bundle = tmp_path / "cas.pem"
    bundle.write_bytes(mailstack.ca_file.read_bytes() + fake_pki[0].read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return fake_pki[1]


@pytest.mark.mailstack
def test_no_common_login_method(
    mailstack: MailStack, trust_both: CertFiles, tmp_path: Path
) -> None:
    script = smtp_script(
        cert=trust_both, implicit_tls=True, tls_extensions=["PIPELINING", "AUTH CRAM-SHA256 GSSAPI"]
    )
    with ScriptedServer(script) as smtp:
        servers = Servers(
            (Protocol.IMAP, "localhost", mailstack.imaps, Security.TLS),
            ("localhost", smtp.port, Security.TLS),
        )
        password = mailstack.password("alice")
        failure = _failure_after_test(tmp_path / "app", discovery_for(servers, "alice"), password)
        assert secret_in(smtp.captured, password) == []  # never sent to a method it cannot use
    assert "Incoming server" not in failure  # Dovecot accepted the login
    assert "Outgoing server: No common login method" in failure
    assert "it offers: CRAM-SHA256 GSSAPI" in failure


@pytest.mark.mailstack
def test_oauth2_required(mailstack: MailStack, trust_both: CertFiles, tmp_path: Path) -> None:
    caps = ["IMAP4rev1", "AUTH=XOAUTH2", "AUTH=OAUTHBEARER", "LOGINDISABLED"]
    script = imap_script(
        cert=trust_both, implicit_tls=True, capabilities=caps, tls_capabilities=caps
    )
    with ScriptedServer(script) as imap:
        servers = Servers(
            (Protocol.IMAP, "localhost", imap.port, Security.TLS),
            ("localhost", mailstack.smtps, Security.TLS),
        )
        password = mailstack.password("alice")
        failure = _failure_after_test(tmp_path / "app", discovery_for(servers, "alice"), password)
        assert secret_in(imap.captured, password) == []
    assert "Incoming server: OAuth2 sign-in required" in failure
    assert "Test stack accepts only OAuth2" in failure
    assert "Outgoing server" not in failure


@pytest.mark.mailstack
def test_no_keyring_over_ssh_offers_the_vault(
    mailstack: MailStack,
    trusted_stack_ca: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No keyring (keyring's fail backend, as over SSH): the choices, and the vault works."""
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    password = mailstack.password("alice")
    app, setup = wizard_app(tmp_path, discovery_for(stack_servers(mailstack), "alice"))
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await type_address(pilot, mailstack.address("alice"), password)
            await settle(app, pilot)
            app.screen.query_one("#test").focus()
            await pilot.press("enter")
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, SetupScreen)
            assert screen.step == "store"
            why = shown(app, "#password-why")
            assert "cannot go to a keyring here: no keyring over this SSH session" in why
            assert "tuimail asks for the passphrase" in shown(app, "#place-note")
            await pilot.press("down")  # the choices are explained as the cursor moves
            await pilot.press("enter")
            assert "runs this command" in shown(app, "#place-note")
            await pilot.press("up", "enter")
            screen.query_one("#passphrase").focus()
            await pilot.press(*"vault-pass-1", "tab", *"vault-pass-1", "enter")
            await settle(app, pilot)
            assert screen.step == "saved", shown(app, "#setup-error")
            assert "in the encrypted vault" in shown(app, "#saved-text")

    try:
        _run(scenario())
    finally:
        keyring.set_keyring(previous)
    assert setup.paths.vault_file.exists()
    assert password.encode() not in setup.paths.vault_file.read_bytes()
    vault = Vault.open(setup.paths.vault_file, "vault-pass-1")
    assert vault.get("example") == password


@pytest.mark.mailstack
def test_accounts_edit_and_remove(
    mailstack: MailStack, trusted_stack_ca: None, tmp_path: Path
) -> None:
    """A, then edit (prefilled; empty password keeps it) and remove (asked first)."""
    password = mailstack.password("alice")
    app, setup = wizard_app(tmp_path, discovery_for(stack_servers(mailstack), "alice"))
    setup.config_file.parent.mkdir(parents=True)
    setup.config_file.write_text('# mine\n[keys]\n"inbox.delete" = "x"  # I like x\n')

    async def scenario() -> None:
        with file_keyring(tmp_path / "keyring.json"):
            async with app.run_test(size=(80, 24)) as pilot:
                await type_address(pilot, mailstack.address("alice"), password)
                await settle(app, pilot)
                app.screen.query_one("#test").focus()
                await pilot.press("enter")
                await settle(app, pilot)
                await pilot.press("enter")  # open my mail
                await settle(app, pilot, rounds=6)
                assert isinstance(_top(app), InboxScreen)
                await pilot.press("A")
                await pilot.pause(0.1)
                assert type(_top(app)).__name__ == "AccountsScreen"
                await pilot.press("e")
                await pilot.pause(0.1)
                edit = _top(app)
                assert isinstance(edit, SetupScreen)
                assert edit.query_one("#email", Input).value == mailstack.address("alice")
                await pilot.press("enter", "enter")  # empty password: keep the stored one
                await pilot.pause(0.1)
                assert edit.step == "settings"
                assert edit.query_one("#in-port", Input).value == str(mailstack.imaps)
                edit.query_one("#out-port", Input).value = str(mailstack.submission)
                edit.query_one("#out-security", Select).value = Security.STARTTLS
                edit.query_one("#test").focus()
                await pilot.press("enter")
                await settle(app, pilot)
                assert edit.step == "saved", shown(app, "#test-failure")
                assert "stays where it was kept" in shown(app, "#saved-text")
                await pilot.press("enter")
                await settle(app, pilot, rounds=6)
                outgoing = tomllib.loads(setup.config_file.read_text())["accounts"]["example"]
                assert outgoing["outgoing"]["port"] == mailstack.submission
                await pilot.press("A", "d")
                await pilot.pause(0.1)
                question = _top(app).query_one(".dialog-text", Static).render()
                assert "The mail on the server is not touched" in str(question)
                await pilot.press("y")
                await settle(app, pilot, rounds=6)
                assert isinstance(_top(app), SetupScreen)  # no account left

    _run(scenario())
    text = setup.config_file.read_text()
    assert text.startswith('# mine\n[keys]\n"inbox.delete" = "x"  # I like x\n')
    assert "accounts" not in text
    assert json.loads((tmp_path / "keyring.json").read_text()) == {}


@pytest.mark.mailstack
def test_nothing_found_then_settings_by_hand(
    mailstack: MailStack, trusted_stack_ca: None, tmp_path: Path
) -> None:
    """Discovery finds nothing: guesses to correct by hand, with tab, then the test passes."""

    def nothing(email: str, **options: object) -> None:
        return None

    app, setup = wizard_app(tmp_path, nothing)

    async def scenario() -> None:
        with file_keyring(tmp_path / "keyring.json"):
            async with app.run_test(size=(80, 24)) as pilot:
                await type_address(pilot, "alice@example.test", mailstack.password("alice"))
                await settle(app, pilot)
                screen = _top(app)
                assert isinstance(screen, SetupScreen)
                assert screen.step == "settings"
                assert "No settings were found for this address" in shown(app, "#found")
                assert screen.query_one("#in-host", Input).value == "imap.example.test"
                assert app.focused is screen.query_one("#in-host", Input)
                await pilot.press("ctrl+u", *"localhost", "enter")  # to the port
                await pilot.press("ctrl+u", *str(mailstack.imaps), "tab", "tab")  # past security
                await pilot.press("ctrl+u", *"alice", "enter")
                # the outgoing server: host, port, security, user
                await pilot.press("ctrl+u", *"localhost", "enter")
                await pilot.press("ctrl+u", *str(mailstack.smtps), "tab", "tab")
                await pilot.press("ctrl+u", *"alice", "enter")  # enter on the last field tests
                await settle(app, pilot)
                assert screen.step == "saved", shown(app, "#test-failure") + shown(
                    app, "#setup-error"
                )

    _run(scenario())
    account = tomllib.loads(setup.config_file.read_text())["accounts"]["example"]
    assert account["incoming"] == {
        "protocol": "imap",
        "host": "localhost",
        "port": mailstack.imaps,
        "security": "tls",
        "username": "alice",
    }
    assert account["outgoing"]["port"] == mailstack.smtps


def test_escape_stops_discovery(tmp_path: Path) -> None:
    """Escape while looking: discovery is told to stop, and the settings are typed by hand."""
    started = threading.Event()
    seen: list[bool] = []

    def slow(email: str, **options: Any) -> None:
        options["on_progress"]("asking the provider list")
        started.set()
        cancel: threading.Event = options["cancel"]
        seen.append(cancel.wait(10))  # a real discovery gives up when told

    app, _ = wizard_app(tmp_path, slow)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await type_address(pilot, "alice@example.test", "pw-123456")
            started.wait(10)
            await pilot.pause(0.1)
            screen = _top(app)
            assert isinstance(screen, SetupScreen)
            assert screen.step == "looking"
            assert "asking the provider list" in shown(app, "#looking-text")
            await pilot.press("escape")
            assert screen.step == "settings"
            assert "Stopped looking" in shown(app, "#found")
            await settle(app, pilot)

    _run(scenario())
    assert seen == [True]


def test_app_keys_in_the_wizard_do_no_harm(tmp_path: Path) -> None:
    """With no account yet, the app's own keys (c compose, A accounts) while a button has the
    focus neither crash nor leave the wizard."""
    app, _ = wizard_app(tmp_path, lambda email, **options: None)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            _top(app).query_one("#continue").focus()
            await pilot.press("c", "A", "question_mark", "escape")
            await pilot.pause(0.1)
            assert isinstance(_top(app), SetupScreen)
            assert app.return_code is None

    _run(scenario())


def test_mail_on_this_machine_instead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An mbox in $MAIL: the first step offers it; one button and the app reads it."""
    mbox = tmp_path / "mbox"
    mbox.write_bytes(
        b"From bob@example.test Thu Jan  1 00:00:00 2026\n"
        b"From: bob@example.test\nTo: me@example.test\nSubject: Local hello\n\nHi.\n"
    )
    monkeypatch.setenv("MAIL", str(mbox))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USER", "nobody-here-0")
    app, setup = wizard_app(tmp_path / "app", lambda email, **options: None)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            assert str(mbox) in shown(app, "#local-note")
            _top(app).query_one("#local").focus()
            await pilot.press("enter")
            await settle(app, pilot)
            assert "No password is needed" in shown(app, "#saved-text")
            await pilot.press("enter")
            await settle(app, pilot, rounds=6)
            inbox = _top(app)
            assert isinstance(inbox, InboxScreen)
            messages = inbox.query_one(MessageList)
            for _ in range(100):
                if messages.keys:
                    break
                await settle(app, pilot)
            assert app.client is not None
            subjects = [c.envelope.subject for c in app.client.envelopes(messages.keys)]
            assert subjects == ["Local hello"]

    _run(scenario())
    account = tomllib.loads(setup.config_file.read_text())["accounts"]["local"]
    assert account["incoming"] == {"protocol": "mbox", "path": str(mbox.resolve())}


# -- with the real discovery engine: dnsmasq and an HTTPS autoconfig server on loopback --------


@pytest.mark.mailstack
def test_discovered_settings_to_the_inbox(
    mailstack: MailStack,
    discovery_net: DiscoveryNetwork,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """alice@example.test: autoconfig finds the stack, the login passes, alice's mail shows."""
    assert discovery_net.ca_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", discovery_net.ca_file)
    subject = f"Found by autoconfig {tmp_path.name}"
    message = EmailMessage()
    message["From"] = "bob@example.test"
    message["To"] = mailstack.address("alice")
    message["Subject"] = subject
    message.set_content("Hello.\n")
    mailstack.deliver("alice", bytes(message))
    app, setup = wizard_app(tmp_path, partial(discover, network=discovery_net))

    async def scenario() -> None:
        with file_keyring(tmp_path / "keyring.json"):
            async with app.run_test(size=(80, 24)) as pilot:
                await type_address(pilot, mailstack.address("alice"), mailstack.password("alice"))
                screen = _top(app)
                assert isinstance(screen, SetupScreen)
                for _ in range(300):  # discovery runs up to its 10 s limit
                    await settle(app, pilot, rounds=1)
                    if screen.step != "looking":
                        break
                assert screen.step == "settings"
                assert "Found in the provider's autoconfig file" in shown(app, "#found")
                assert screen.query_one("#in-port", Input).value == str(mailstack.imaps)
                screen.query_one("#test").focus()
                await pilot.press("enter")
                await settle(app, pilot)
                assert screen.step == "saved", shown(app, "#test-failure")
                await pilot.press("enter")
                await settle(app, pilot, rounds=6)
                inbox = _top(app)
                assert isinstance(inbox, InboxScreen)
                messages = inbox.query_one(MessageList)
                for _ in range(100):
                    if messages.keys:
                        break
                    await settle(app, pilot)
                assert app.client is not None
                subjects = [c.envelope.subject for c in app.client.envelopes(messages.keys)]
                assert subject in subjects

    _run(scenario())
    saved = tomllib.loads(setup.config_file.read_text())["accounts"]["example"]
    assert saved["incoming"]["host"] == "127.0.0.1"


@pytest.mark.mailstack
def test_nothing_discovered_says_what_was_asked(
    discovery_net: DiscoveryNetwork, tmp_path: Path
) -> None:
    """nothing.test has no records: manual entry within the time limit, with what was asked."""
    app, _ = wizard_app(tmp_path, partial(discover, network=discovery_net, timeout=5.0))

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await type_address(pilot, "alice@nothing.test", "pw-123456")
            screen = _top(app)
            assert isinstance(screen, SetupScreen)
            for _ in range(300):
                await settle(app, pilot, rounds=1)
                if screen.step != "looking":
                    break
            assert screen.step == "settings"
            found = shown(app, "#found")
            assert "No settings were found for this address" in found
            assert "•" in found  # what was asked
            assert screen.query_one("#in-host", Input).value == "imap.nothing.test"

    _run(scenario())


@pytest.mark.mailstack
def test_pop3_account_to_the_inbox(
    mailstack: MailStack,
    trusted_stack_ca: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """POP3 chosen: its leave-on-server options are shown, and the first sync downloads."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))  # the POP3 Maildir
    subject = f"Fetched by POP3 {tmp_path.name}"
    message = EmailMessage()
    message["From"] = "bob@example.test"
    message["To"] = mailstack.address("carol")
    message["Subject"] = subject
    message.set_content("Hello.\n")
    mailstack.deliver("carol", bytes(message))
    servers = Servers(
        (Protocol.POP3, "localhost", mailstack.pop3s, Security.TLS),
        ("localhost", mailstack.smtps, Security.TLS),
    )
    app, setup = wizard_app(tmp_path, discovery_for(servers, "carol"))

    async def scenario() -> None:
        with file_keyring(tmp_path / "keyring.json"):
            async with app.run_test(size=(80, 24)) as pilot:
                await type_address(pilot, mailstack.address("carol"), mailstack.password("carol"))
                await settle(app, pilot)
                screen = _top(app)
                assert isinstance(screen, SetupScreen)
                assert screen.query_one("#pop3-options").display
                assert screen.query_one("#pop3-leave", Checkbox).value  # leave on the server
                screen.query_one("#test").focus()
                await pilot.press("enter")
                await settle(app, pilot)
                assert screen.step == "saved", shown(app, "#test-failure")
                await pilot.press("enter")
                await settle(app, pilot, rounds=6)
                inbox = _top(app)
                assert isinstance(inbox, InboxScreen)
                messages = inbox.query_one(MessageList)
                for _ in range(100):
                    if messages.keys:
                        break
                    await settle(app, pilot)
                assert app.client is not None
                subjects = [c.envelope.subject for c in app.client.envelopes(messages.keys)]
                assert subject in subjects

    _run(scenario())
    saved = tomllib.loads(setup.config_file.read_text())["accounts"]["example"]
    assert saved["incoming"]["protocol"] == "pop3"
    assert saved["pop3"]["leave_on_server"] is True
