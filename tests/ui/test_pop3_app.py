"""A POP3 account in the app looks like any other: its Inbox fills from the server, read/unread,
flags and moves stay local, and the mail stays on the server (leave-on-server)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from helpers.imap import message
from mailstack.stack import MailStack

from tuimail.backends.local.maildir import Maildir
from tuimail.config.paths import Paths
from tuimail.model.account import Account, Endpoint, LocalFormat, LocalSource, Protocol, Security
from tuimail.services.client import MailClient
from tuimail.ui.app import TuimailApp
from tuimail.ui.widgets.message_list import MessageList

pytestmark = pytest.mark.mailstack
USER = "pat"


def test_pop3_account_fills_its_inbox_and_files_locally(
    mailstack: MailStack, tmp_path: Path
) -> None:
    mailstack.doveadm("expunge", "-u", mailstack.address(USER), "mailbox", "INBOX", "all")
    for index in range(3):
        mailstack.deliver(USER, message(f"Pop note {index}", f"Body of note {index}.\n"))
    maildir = tmp_path / "Mail"
    account = Account(
        "pop",
        "Pat",
        mailstack.address(USER),
        Endpoint(
            Protocol.POP3,
            "localhost",
            mailstack.pop3s,
            Security.TLS,
            USER,
            ca_file=str(mailstack.ca_file),
            timeout=20,
        ),
        local=LocalSource(LocalFormat.MAILDIR, str(maildir)),
    )
    paths = Paths(tmp_path / "config.toml", tmp_path / "data", tmp_path / "cache")
    client = MailClient(
        paths,
        [account],
        lambda _a, _r: mailstack.password(USER),
        cache_file=tmp_path / "cache" / "cache.sqlite",
    )

    async def until(check: object, pilot: object, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while not check():  # type: ignore[operator]
            assert time.monotonic() < deadline, "timed out waiting for the app"
            await pilot.pause(0.05)  # type: ignore[attr-defined]

    async def scenario() -> None:
        app = TuimailApp(client)
        async with app.run_test(size=(120, 36)) as pilot:
            messages = app.screen.query_one(MessageList)
            await until(lambda: len(messages.keys) == 3, pilot)
            subjects = sorted(c.envelope.subject for c in client.envelopes(messages.keys))
            assert subjects == [f"Pop note {i}" for i in range(3)]
            first = messages.cursor_key
            await pilot.press("enter")
            await until(lambda: type(app.screen).__name__ == "ReaderScreen", pilot)
            await pilot.press("q")
            await until(lambda: type(app.screen).__name__ == "InboxScreen", pilot)
            await pilot.press("d")
            await until(lambda: first not in messages.keys, pilot)
            await until(lambda: len(Maildir(maildir).scan("Trash")) == 1, pilot)

    asyncio.run(scenario())
    server = mailstack.doveadm("search", "-u", mailstack.address(USER), "mailbox", "INBOX", "all")
    assert len(server.splitlines()) == 3  # left on the server
