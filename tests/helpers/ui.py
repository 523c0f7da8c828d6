"""A real MailClient over the demo mailbox (generated at its fixed date), for app tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from tuimail.backends.local.maildir import Maildir
from tuimail.config.paths import Paths
from tuimail.mime.demo import demo_messages
from tuimail.model.account import Account, LocalFormat, LocalSource
from tuimail.services.client import MailClient
from tuimail.services.local import open_local, sync_local


def demo_account(root: Path, count: int = 120) -> Account:
    """The demo account over ``root/Maildir``, written from the demo at its fixed date."""
    maildir = root / "Maildir"
    if not (maildir / "cur").is_dir():
        box = Maildir(maildir, create=True)
        made: set[str] = set()
        for message in demo_messages(count=count):
            if message.folder != "INBOX" and message.folder not in made:
                box.create_folder(message.folder)
                made.add(message.folder)
            box.deliver(message.folder, message.raw, message.flags, received=message.received)
    return Account(
        "demo",
        "Robin Example",
        "robin@demo.example",
        None,
        default=True,
        local=LocalSource(LocalFormat.MAILDIR, str(maildir)),
    )


def demo_client(root: Path, count: int = 120) -> MailClient:
    """A client whose cache already holds the demo (so the app paints it at once)."""
    root.mkdir(parents=True, exist_ok=True)
    account = demo_account(root, count)
    cache = root / "cache.sqlite"
    sync_local(cache, account, open_local(account))
    paths = Paths(config_file=root / "config.toml", data_dir=root / "data", cache_dir=root)
    return MailClient(paths, [account], lambda a, r: "", cache_file=cache, demo=True)


async def until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait (letting the app run) until ``condition()`` is true; AssertionError after ``timeout``.

    For what a thread worker or a server does in its own time: the test waits on the state it
    expects, not for a guessed number of seconds.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout:g} s")
        await asyncio.sleep(0.02)
