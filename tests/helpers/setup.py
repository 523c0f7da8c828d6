"""Driving the setup wizard in tests: an app with no account, a file keyring, a discovery stub."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import keyring
from file_keyring import FileKeyring
from mailstack.stack import MailStack
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tuimail.config.paths import Paths
from tuimail.config.secrets import Secrets
from tuimail.model.account import Protocol, Security
from tuimail.model.discovery import Discovery, ServerChoice, Source
from tuimail.services.client import MailClient
from tuimail.services.setup import AccountSetup
from tuimail.ui.app import TuimailApp


@dataclass(frozen=True)
class Servers:
    """Where the discovery stub says alice's servers are."""

    incoming: tuple[Protocol, str, int, Security]
    outgoing: tuple[str, int, Security]


def stack_servers(stack: MailStack) -> Servers:
    """The real Dovecot (IMAPS) and Postfix (SMTPS) of the test stack."""
    return Servers(
        (Protocol.IMAP, "localhost", stack.imaps, Security.TLS),
        ("localhost", stack.smtps, Security.TLS),
    )


def discovery_for(servers: Servers, username: str, **extra: object) -> Callable[..., Discovery]:
    """A discover() that answers with these servers (a collaborator of the wizard, not tested)."""

    def discover(
        email: str,
        *,
        timeout: float = 10.0,
        on_progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Discovery:
        if on_progress is not None:
            on_progress("tuimail's provider list: found")
        protocol, host, port, security = servers.incoming
        out_host, out_port, out_security = servers.outgoing
        return Discovery(
            email=email,
            source=Source.PROVIDER,
            incoming=(ServerChoice(protocol, host, port, security, username),),
            outgoing=(ServerChoice(Protocol.SMTP, out_host, out_port, out_security, username),),
            provider="Test stack",
            **extra,  # type: ignore[arg-type]
        )

    return discover


@contextmanager
def file_keyring(path: Path) -> Iterator[FileKeyring]:
    """A real keyring backend keeping its entries in a JSON file."""
    backend = FileKeyring(path)
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def wizard_app(
    root: Path, discover: Callable[..., Discovery | None]
) -> tuple[TuimailApp, AccountSetup]:
    """The app as `tuimail` starts it with no account: the wizard first."""
    paths = Paths(
        config_file=root / "config" / "config.toml",
        data_dir=root / "data",
        cache_dir=root / "cache",
    )
    secrets = Secrets(paths.vault_file)
    cache = paths.cache_dir / "cache.sqlite"
    setup = AccountSetup(paths, secrets, cache_file=cache, discover=discover)
    client = MailClient(paths, [], secrets.password, cache_file=cache)
    return TuimailApp(client, config_file=str(paths.config_file), setup=setup), setup


async def settle(app: TuimailApp, pilot: Pilot[None], rounds: int = 3) -> None:
    """Let workers finish and their results reach the screen.

    New-mail watches are left out: they run until the app quits.
    """
    for _ in range(rounds):
        busy = [w for w in app.workers if w.group != "watch"]
        if busy:  # (an empty list would mean every worker to Textual)
            await app.workers.wait_for_complete(busy)
        await pilot.pause(0.05)


async def type_address(pilot: Pilot[None], email: str, password: str, name: str = "") -> None:
    """Step 1 with the keyboard: address, enter, password, enter, name, enter."""
    await pilot.press(*email, "enter")
    await pilot.press(*password, "enter")
    await pilot.press(*name, "enter")


def shown(app: TuimailApp, selector: str) -> str:
    """The plain text of a Static on the current screen."""
    return str(app.screen.query_one(selector, Static).render())


def field(app: TuimailApp, selector: str) -> str:
    """The value of an Input on the current screen."""
    return app.screen.query_one(selector, Input).value
