"""SVG snapshots of each setup wizard step at 80x24.

Discovery, the login test and saving are stand-ins here with fixed answers (host names, a
fingerprint, paths), so that the pictures never change between runs; the real thing is driven
against Dovecot and Postfix in test_setup_wizard.py.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tuimail.config.paths import Paths
from tuimail.config.secrets import Secrets, StoreStatus
from tuimail.config.settings import Settings
from tuimail.model.account import Account, LocalSource, Protocol, Role, Security
from tuimail.model.discovery import Discovery, ServerChoice, Source
from tuimail.model.errors import AuthError, MailError, TlsError
from tuimail.model.report import ServerReport
from tuimail.services.client import MailClient
from tuimail.services.events import EventSink, ServerChecked, ServerCheckStarted, ignore_events
from tuimail.services.setup import (
    AccountSetup,
    LoginTest,
    PasswordPlace,
    Saved,
    classify,
)
from tuimail.ui.app import TuimailApp
from tuimail.ui.screens.setup import SetupScreen

HOME = Path("/home/alice")
FINGERPRINT = ":".join(["3F", "A9"] * 16)
RELEASE = threading.Event()


def _found(email: str) -> Discovery:
    return Discovery(
        email=email,
        source=Source.AUTOCONFIG,
        incoming=(
            ServerChoice(Protocol.IMAP, "imap.example.org", 993, Security.TLS, email),
            ServerChoice(Protocol.POP3, "pop.example.org", 995, Security.TLS, email),
        ),
        outgoing=(ServerChoice(Protocol.SMTP, "smtp.example.org", 465, Security.TLS, email),),
        provider="Example Mail",
        notes=("Example Mail asks for an app password when two-step sign-in is on.",),
    )


class StandInSetup(AccountSetup):
    """Fixed answers: ``outcome`` is "fail", "no-keyring" or "keyring"."""

    def __init__(self, outcome: str, *, block_discovery: bool = False) -> None:
        paths = Paths(HOME / ".config/tuimail/config.toml", HOME / ".local/share/tuimail", HOME)
        super().__init__(paths, Secrets(paths.vault_file), cache_file=HOME / "cache.sqlite")
        self.outcome = outcome
        self.block_discovery = block_discovery

    def settings(self) -> Settings:
        return Settings(path=self.config_file)

    def local_sources(self) -> list[LocalSource]:
        return []  # what this machine holds must not change the pictures

    def discover(
        self,
        email: str,
        on_progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Discovery | None:
        assert on_progress is not None
        on_progress("tuimail's provider list: example.org is not in it")
        on_progress("autoconfig.example.org: asking...")
        if self.block_discovery:
            RELEASE.wait(10)
            return None
        return _found(email)

    def try_login(
        self,
        account: Account,
        password: str,
        hints: Discovery | None = None,
        on_event: EventSink = ignore_events,
        cancel: threading.Event | None = None,
    ) -> LoginTest:
        reports = []
        for role, endpoint in account.endpoints:
            on_event(ServerCheckStarted(account.id, role, endpoint))
            error: MailError | None = None
            if self.outcome == "fail":
                if role is Role.INCOMING:
                    error = TlsError(
                        f"The certificate of {endpoint.address} is not trusted.",
                        title="Certificate not trusted",
                    )
                    error.fingerprint = FINGERPRINT
                else:
                    error = AuthError(
                        f"{endpoint.address} refused the login for {endpoint.username!r}: "
                        "535 5.7.8 Authentication credentials invalid."
                    )
            report = ServerReport(
                account.id,
                role,
                endpoint.protocol,
                endpoint.address,
                endpoint.security,
                logged_in=error is None,
                error=error,
            )
            on_event(ServerChecked(report))
            reports.append(report)
        failures = tuple(
            classify(r, role, e, hints)
            for r, (role, e) in zip(reports, account.endpoints, strict=True)
            if r.error
        )
        return LoginTest(tuple(reports), failures)

    def password_status(self) -> StoreStatus:
        if self.outcome == "no-keyring":
            return StoreStatus("session", "", "no keyring over this SSH session (no D-Bus)")
        return StoreStatus("keyring", "in the OS keyring", "a keyring answered")

    def save(
        self,
        account: Account,
        password: str,
        place: PasswordPlace = PasswordPlace.AUTOMATIC,
        **options: Any,
    ) -> Saved:
        settings = Settings(path=self.config_file, accounts=(account,))
        note = (
            "The password is stored in the OS keyring (SecretService), because a keyring answered."
        )
        return Saved(account, settings, note)


def _app(setup: AccountSetup) -> TuimailApp:
    paths = setup.paths
    client = MailClient(paths, [], lambda a, r: "", cache_file=setup.cache_file)
    return TuimailApp(client, config_file=str(paths.config_file), setup=setup)


async def _address(pilot: Pilot[None]) -> None:
    await pilot.press(*"alice@example.org", "enter", *"secret-pw-1", "enter", *"Alice Liddell")
    await _steady(pilot)


async def _wait(pilot: Pilot[None], step: str) -> None:
    """Until the wizard shows ``step`` (worker results reach the screen a moment later)."""
    for _ in range(200):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        screen = pilot.app.screen
        if isinstance(screen, SetupScreen) and screen.step == step and not screen.busy:
            break
    await _steady(pilot)


async def _steady(pilot: Pilot[None]) -> None:
    """A cursor that does not blink: the picture must not depend on when it is taken."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause(0.1)


async def _to_settings(pilot: Pilot[None]) -> None:
    await _address(pilot)
    await pilot.press("enter")
    await _wait(pilot, "settings")


def _test_then(step: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def drive(pilot: Pilot[None]) -> None:
        await _to_settings(pilot)
        pilot.app.screen.query_one("#test").focus()
        await pilot.press("enter")
        await _wait(pilot, step)

    return drive


async def _looking(pilot: Pilot[None]) -> None:
    await _address(pilot)
    await pilot.press("enter")
    for _ in range(200):  # until both progress lines are on the screen
        await pilot.pause(0.05)
        if "asking..." in str(pilot.app.screen.query_one("#looking-text", Static).render()):
            break
    await _steady(pilot)


STEPS: dict[str, tuple[str, bool, Callable[[Pilot[None]], Awaitable[None]]]] = {
    "address": ("keyring", False, _address),
    "looking": ("keyring", True, _looking),
    "settings": ("keyring", False, _to_settings),
    "test-failed": ("fail", False, _test_then("testing")),
    "password-place": ("no-keyring", False, _test_then("store")),
    "saved": ("keyring", False, _test_then("saved")),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_wizard_step(step: str, snap_compare: Callable[..., Any]) -> None:
    outcome, block, drive = STEPS[step]
    RELEASE.clear()
    app = _app(StandInSetup(outcome, block_discovery=block))
    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=drive)
    finally:
        RELEASE.set()
