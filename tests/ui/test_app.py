"""The app as a person uses it, with the keyboard only, over a real demo mailbox."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path

from helpers.ui import demo_client, until
from textual.widgets import Static

from tuimail.backends.local.maildir import Maildir
from tuimail.services.client import MailClient, Scope
from tuimail.services.local import open_local, sync_local
from tuimail.ui.app import TuimailApp
from tuimail.ui.screens.dialogs import ConfirmDialog
from tuimail.ui.screens.help import HelpScreen
from tuimail.ui.screens.inbox import InboxScreen
from tuimail.ui.widgets.message_list import MessageList


def _run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def _inbox_keys(client: MailClient) -> list[int]:
    return client.keys(Scope())


def test_opens_on_the_unified_inbox_and_reads(tmp_path: Path) -> None:
    client = demo_client(tmp_path)
    expected = _inbox_keys(client)

    async def scenario() -> None:
        app = TuimailApp(client, sync_on_start=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            assert isinstance(app.screen, InboxScreen)
            messages = app.screen.query_one(MessageList)
            assert messages.keys == expected
            assert messages.cursor_key == expected[0]
            await pilot.press("j")
            assert messages.cursor_key == expected[1]
            await pilot.press("enter")
            await pilot.pause(0.5)
            assert type(app.screen).__name__ == "ReaderScreen"
            await pilot.press("q")
            await pilot.pause(0.2)
            assert isinstance(app.screen, InboxScreen)

    _run(scenario())


def test_search_narrows_and_escape_returns(tmp_path: Path) -> None:
    client = demo_client(tmp_path)

    async def scenario() -> None:
        app = TuimailApp(client, sync_on_start=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("slash", *"has:attachment", "enter")
            await pilot.pause(0.3)
            screen = app.screen
            assert isinstance(screen, InboxScreen)
            found = screen.query_one(MessageList).keys
            expected = client.keys(Scope(tuple(client.folders()), query="has:attachment"))
            assert found == expected
            assert 0 < len(found) < len(client.keys(Scope(tuple(client.folders()))))
            title = screen.query_one("#title", Static).render()
            assert "search: has:attachment" in str(title)
            await pilot.press("escape")
            await pilot.pause(0.3)
            assert screen.query_one(MessageList).keys == _inbox_keys(client)

    _run(scenario())


def test_delete_then_undo(tmp_path: Path) -> None:
    client = demo_client(tmp_path)
    subjects_before = sorted(e.envelope.subject for e in client.envelopes(_inbox_keys(client)))

    async def scenario() -> None:
        app = TuimailApp(client, sync_on_start=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            screen = app.screen
            messages = screen.query_one(MessageList)
            victim = messages.cursor_key
            await pilot.press("d")
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)
            assert victim not in messages.keys
            assert victim not in _inbox_keys(client)
            await pilot.press("u")
            for _ in range(3):  # undo, then the sync it starts to bring the message back
                await app.workers.wait_for_complete()
                await pilot.pause(0.3)
            subjects_after = sorted(
                c.envelope.subject for c in client.envelopes(_inbox_keys(client))
            )
            assert subjects_after == subjects_before  # it is back (with a new row id)

    _run(scenario())


def test_help_lists_every_binding(tmp_path: Path) -> None:
    client = demo_client(tmp_path)

    async def scenario() -> None:
        app = TuimailApp(client, sync_on_start=False, keymap={"inbox.delete": "x"})
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause(0.2)
            await pilot.press("question_mark")
            await pilot.pause(0.2)
            assert isinstance(app.screen, HelpScreen)
            shown = app.export_screenshot()
            for words in ("Compose", "Reply", "Archive", "Undo", "Search", "inbox.delete"):
                assert words in shown
            await pilot.press("escape")
            await pilot.pause(0.1)
            await pilot.press("x")  # the remapped delete
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)
            assert len(_inbox_keys(client)) == len(app.screen.query_one(MessageList).keys)

    _run(scenario())


def test_hostile_subject_is_shown_literally(tmp_path: Path) -> None:
    client = demo_client(tmp_path, count=20)
    account = client.accounts[0]
    assert account.local is not None
    msg = EmailMessage()
    msg["From"] = "\x1b]0;pwned\x07[b]Boss[/b] <boss@example.org>"
    msg["To"] = "robin@demo.example"
    msg["Subject"] = "[@click=app.quit]Click me[/] \x1b[31mred"
    msg["Date"] = "Wed, 14 Jan 2026 10:00:00 +0000"
    msg.set_content("[link=http://evil.example]x[/link] \x1b]52;c;aGk=\x07 body")
    Maildir(Path(account.local.path)).deliver("INBOX", bytes(msg))
    sync_local(client.cache_file, account, open_local(account))

    async def scenario() -> None:
        app = TuimailApp(client, sync_on_start=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause(0.3)
            messages = app.screen.query_one(MessageList)
            shown = "\n".join(messages.render_line(y).text for y in range(10))
            assert "[@click=app.quit]Click me[/]" in shown  # literally, not a link
            assert "\x1b" not in shown  # the escapes are made visible, never sent
            assert "␛" in shown
            await pilot.click(MessageList, offset=(60, 0))
            await pilot.pause(0.2)
            assert app.is_running  # no markup was clickable

    _run(scenario())


def test_command_palette_offers_the_apps_actions(tmp_path: Path) -> None:
    client = demo_client(tmp_path, count=30)

    async def scenario() -> None:
        app = TuimailApp(client, sync_on_start=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause(0.3)
            screen = app.screen
            assert isinstance(screen, InboxScreen)
            assert not screen.threaded
            await pilot.press("ctrl+p")
            await pilot.pause(0.3)
            await pilot.press(*"Threads")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause(0.5)
            assert screen.threaded

    _run(scenario())


def test_back_from_the_reader_keeps_the_last_message_read(tmp_path: Path) -> None:
    client = demo_client(tmp_path, count=30)
    keys = _inbox_keys(client)

    async def scenario() -> None:
        app = TuimailApp(client, sync_on_start=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("enter")
            await pilot.pause(0.4)
            await pilot.press("n")
            await pilot.pause(0.4)
            await pilot.press("n")
            await pilot.pause(0.4)
            await pilot.press("q")
            await app.workers.wait_for_complete()
            await pilot.pause(0.3)
            assert app.screen.query_one(MessageList).cursor_key == keys[2]

    _run(scenario())


def test_search_results_name_their_folder_and_the_preview_its_sender(tmp_path: Path) -> None:
    client = demo_client(tmp_path)

    async def scenario() -> None:
        app = TuimailApp(client, sync_on_start=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            assert isinstance(screen, InboxScreen)
            messages = screen.query_one(MessageList)
            await until(lambda: bool(messages.keys))
            assert not messages.show_folder  # one list of inboxes: no folder column
            await pilot.press("slash", *"has:attachment", "enter")
            await until(lambda: messages.show_folder)
            await until(lambda: bool(messages.keys) and screen.scope.query == "has:attachment")
            rows = client.envelopes(messages.keys[: messages.size.height])
            folders = {row.envelope.ref.folder for row in rows}
            assert {"INBOX", "Sent"} <= folders  # results from several folders
            for y, row in enumerate(rows):
                line = messages.render_line(y).text
                assert f" {row.envelope.ref.folder} " in line
            await pilot.press("P")
            preview = screen.query_one("#preview-text", Static)
            await until(lambda: "From: " in str(preview.render()))
            first = rows[0].envelope
            shown = str(preview.render()).splitlines()
            assert shown[0].startswith("From: ")
            assert first.sender[0].email in shown[0]
            assert shown[1].startswith("Date: ")
            assert shown[2] == f"Subject: {first.subject}"

    _run(scenario())


def test_threads_show_closed_with_counts_and_open_with_keys(tmp_path: Path) -> None:
    client = demo_client(tmp_path)
    rows = client.threads(Scope())
    heads = [row for row in rows if row.key == row.thread]
    big = next(row for row in heads if row.size > 2)

    async def scenario() -> None:
        app = TuimailApp(client, sync_on_start=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            assert isinstance(screen, InboxScreen)
            messages = screen.query_one(MessageList)
            await until(lambda: bool(messages.keys))
            await pilot.press("t")
            await until(lambda: len(messages.keys) == len(heads))  # one line per thread
            assert list(messages.keys) == [row.key for row in heads]
            messages.move_cursor(messages.keys.index(big.key))
            line = messages.render_line(messages.cursor - messages.scroll_offset.y).text
            assert f"▸ ({big.size}) " in line
            await pilot.press("z")  # opens it
            assert len(messages.keys) == len(heads) + big.size - 1
            line = messages.render_line(messages.cursor - messages.scroll_offset.y).text
            assert f"▾ ({big.size}) " in line
            await pilot.press("j")  # into the thread
            assert messages.cursor_key != big.key
            await pilot.press("left")  # closes it, the cursor back on its line
            assert len(messages.keys) == len(heads)
            assert messages.cursor_key == big.key
            await pilot.press("right")
            assert len(messages.keys) == len(heads) + big.size - 1
            await pilot.press("Z")  # one was open: all closed
            assert len(messages.keys) == len(heads)
            await pilot.press("Z")  # none open: all open
            assert len(messages.keys) == len(rows)
            await pilot.press("Z")
            assert len(messages.keys) == len(heads)
            await pilot.press("d")  # a closed thread is acted on whole: asked first
            question = app.screen
            assert isinstance(question, ConfirmDialog)
            assert f"Delete {big.size} messages?" in question.question.plain
            await pilot.press("n")

    _run(scenario())
