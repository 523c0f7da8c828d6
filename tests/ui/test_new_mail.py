"""New mail while the app is open: IDLE on a real Dovecot, file polling on a real Maildir."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from helpers.imap import imap_account, message, other_client
from helpers.ui import demo_client, until
from mailstack.stack import MailStack

from tuimail.backends.local.maildir import Maildir
from tuimail.config.paths import Paths
from tuimail.services.client import MailClient
from tuimail.ui.app import TuimailApp
from tuimail.ui.screens.inbox import InboxScreen
from tuimail.ui.widgets.message_list import MessageList

USER = "bob"


def _messages(app: TuimailApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def _subjects(client: MailClient, keys: object) -> list[str]:
    return [c.envelope.subject for c in client.envelopes(list(keys))]  # type: ignore[call-overload]


@pytest.mark.mailstack
def test_mail_delivered_to_dovecot_appears_with_a_notification(
    mailstack: MailStack, tmp_path: Path
) -> None:
    account = imap_account(mailstack, USER)
    paths = Paths(config_file=tmp_path / "c.toml", data_dir=tmp_path / "d", cache_dir=tmp_path)
    client = MailClient(
        paths, [account], lambda a, r: mailstack.password(USER), cache_file=tmp_path / "c.sqlite"
    )
    subject = f"Arrived while open {uuid.uuid4().hex[:8]}"
    with other_client(mailstack, USER) as imap:  # two messages, so the cursor can sit lower
        for index in range(2):
            imap.append("INBOX", message(f"Already there {index}", days_ago=1))

    async def scenario() -> None:
        app = TuimailApp(client)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            assert isinstance(screen, InboxScreen)
            messages = screen.query_one(MessageList)
            await until(lambda: screen.watching.get("acct") == "idle" and not screen.syncing)
            await until(lambda: len(messages.keys) >= 2)
            await pilot.press("j")
            kept = messages.cursor_key
            before = len(messages.keys)
            with other_client(mailstack, USER) as imap:
                imap.append("INBOX", message(subject))
            await until(lambda: "1 new message in Inbox" in _messages(app))
            await until(lambda: len(messages.keys) == before + 1)
            assert _subjects(client, messages.keys[:1]) == [subject]  # newest first, on top
            assert messages.cursor_key == kept  # the cursor stays on the message it was on
        await until(lambda: not client._watchers, timeout=5)  # quitting stopped the IDLE watch

    asyncio.run(scenario())


def test_mail_delivered_to_the_maildir_appears_with_a_notification(tmp_path: Path) -> None:
    client = demo_client(tmp_path, count=20)
    client.watch_poll = 0.05
    subject = "Delivered into the Maildir"

    async def scenario() -> None:
        app = TuimailApp(client)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            assert isinstance(screen, InboxScreen)
            messages = screen.query_one(MessageList)
            await until(lambda: screen.watching.get("demo") == "files" and not screen.syncing)
            await until(lambda: len(messages.keys) > 2)
            await pilot.press("j", "j")
            kept = messages.cursor_key
            before = len(messages.keys)
            Maildir(tmp_path / "Maildir").deliver("INBOX", message(subject))
            await until(lambda: "1 new message in Inbox" in _messages(app))
            await until(lambda: len(messages.keys) == before + 1)
            assert subject in _subjects(client, messages.keys)
            assert messages.cursor_key == kept
            assert messages.scroll_offset.y == 0  # seen from the top: the new row is in view
        await until(lambda: not client._watchers, timeout=5)  # quitting stopped the watch

    asyncio.run(scenario())
