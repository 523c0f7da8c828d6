"""The message list: keys, paging, marks and hostile text, driven through Pilot in a tiny app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input

from tuimail.ui.widgets.message_list import MessageList, Row, fit, format_date, format_size

HOSTILE_SUBJECT = "[@click=app.quit]x[/] \x1b]0;pwned\x07 [/nope]"
HOSTILE_SENDER = "[b]bold"


def make_row(key: int) -> Row:
    """A plausible row for any key."""
    return Row(
        key=key,
        date=datetime(2024, 3, 1, 12, 0) - timedelta(hours=key),
        sender=f"Sender {key}",
        subject=f"Subject {key}",
        unread=key % 2 == 0,
        flagged=key % 5 == 0,
        answered=key % 7 == 0,
        attachment=key % 3 == 0,
        size=key * 100,
    )


class Source:
    """A row source that records every request."""

    def __init__(self, rows: dict[int, Row] | None = None) -> None:
        self.rows = rows or {}
        self.calls: list[list[int]] = []

    def __call__(self, keys: Sequence[int]) -> list[Row]:
        self.calls.append(list(keys))
        return [self.rows.get(key) or make_row(key) for key in keys]

    @property
    def asked(self) -> int:
        """How many keys were requested in all."""
        return sum(len(call) for call in self.calls)


class ListApp(App[None]):
    """Just a message list, recording what it posts."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[Message] = []

    def compose(self) -> ComposeResult:
        yield MessageList()

    @property
    def messages(self) -> MessageList:
        return self.query_one(MessageList)

    def on_message_list_highlighted(self, event: MessageList.Highlighted) -> None:
        self.posted.append(event)

    def on_message_list_opened(self, event: MessageList.Opened) -> None:
        self.posted.append(event)

    def on_message_list_marks_changed(self, event: MessageList.MarksChanged) -> None:
        self.posted.append(event)

    def highlighted(self) -> list[int]:
        return [event.key for event in self.posted if isinstance(event, MessageList.Highlighted)]

    def opened(self) -> list[int]:
        return [event.key for event in self.posted if isinstance(event, MessageList.Opened)]

    def marks(self) -> list[int]:
        return [event.count for event in self.posted if isinstance(event, MessageList.MarksChanged)]


Scenario = Callable[[ListApp, Pilot[None]], Awaitable[None]]


def run(scenario: Scenario, size: tuple[int, int] = (80, 24)) -> None:
    """Run ``scenario`` against a fresh headless ListApp."""

    async def main() -> None:
        app = ListApp()
        async with app.run_test(size=size) as pilot:
            await scenario(app, pilot)

    asyncio.run(main())


def cursor_visible(messages: MessageList) -> bool:
    top = messages.scroll_offset.y
    return top <= messages.cursor < top + messages.scrollable_content_region.height


def test_navigation_keys_move_the_cursor_and_keep_it_visible() -> None:
    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys(list(range(1000)), Source())
        messages.focus()
        await pilot.pause()
        height = messages.scrollable_content_region.height
        assert height == 24
        await pilot.press("j", "j", "down")
        assert messages.cursor == 3
        await pilot.press("k", "up")
        assert messages.cursor == 1
        await pilot.press("G")
        await pilot.pause()
        assert messages.cursor == 999
        assert messages.cursor_key == 999
        assert cursor_visible(messages)
        assert messages.scroll_offset.y == 1000 - height
        await pilot.press("g")
        await pilot.pause()
        assert (messages.cursor, messages.scroll_offset.y) == (0, 0)
        await pilot.press("end")
        assert messages.cursor == 999
        await pilot.press("home")
        assert messages.cursor == 0
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert messages.cursor == height
        assert messages.scroll_offset.y == height
        await pilot.press("pagedown", "j")
        await pilot.pause()
        assert messages.cursor == 2 * height + 1
        assert cursor_visible(messages)
        await pilot.press("ctrl+u", "pageup")
        await pilot.pause()
        assert messages.cursor == 1
        assert cursor_visible(messages)
        for _ in range(30):
            await pilot.press("j")
        await pilot.pause()
        assert messages.cursor == 31
        assert cursor_visible(messages)
        await pilot.press("k", "k", "k", "k", "k", "k", "k", "k")
        await pilot.press("ctrl+u", "ctrl+u")
        await pilot.pause()
        assert messages.cursor == 0
        assert cursor_visible(messages)
        await pilot.press("k")  # stays on the first row
        assert messages.cursor == 0
        messages.move_cursor(500)
        await pilot.pause()
        assert cursor_visible(messages)
        assert app.highlighted()[-1] == 500

    run(scenario)


def test_100000_keys_paint_fast_and_fetch_only_windows() -> None:
    source = Source()

    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.focus()
        await pilot.pause()
        start = time.perf_counter()
        messages.set_keys(list(range(100_000)), source)
        await pilot.pause()
        elapsed = time.perf_counter() - start
        height = messages.scrollable_content_region.height
        assert elapsed < 1.0, elapsed  # about 0.05 s here; DataTable needs 7 s
        assert 0 < source.asked <= 3 * height
        assert "Subject 0" in messages.render_line(0).text
        first = source.asked
        for _ in range(20):
            await pilot.press("ctrl+d")
            await pilot.pause()
        assert messages.cursor == 20 * height
        assert cursor_visible(messages)
        assert all(len(call) <= 3 * height for call in source.calls)
        assert source.asked - first <= 22 * height
        assert max(max(call) for call in source.calls) < 23 * height
        await pilot.press("G")
        await pilot.pause()
        assert messages.cursor_key == 99_999
        assert "Subject 99999" in messages.render_line(height - 1).text
        assert source.asked < 30 * height

    run(scenario)


def test_a_window_is_fetched_once_and_served_from_the_cache() -> None:
    source = Source()

    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys(list(range(5000)), source)
        await pilot.pause()
        calls = len(source.calls)
        for y in range(10):
            messages.render_line(y)
        messages.refresh()
        await pilot.pause()
        assert len(source.calls) == calls
        messages.refresh_keys([3, 4])
        await pilot.pause()
        assert source.calls[-1] == [3, 4]

    run(scenario)


def test_the_cursor_stays_visible_when_the_terminal_shrinks() -> None:
    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys(list(range(1000)), Source())
        await pilot.pause()
        messages.move_cursor(23)
        await pilot.pause()
        assert messages.scroll_offset.y == 0
        await pilot.resize_terminal(80, 10)
        await pilot.pause()
        assert cursor_visible(messages)
        assert "Subject 23" in messages.render_line(23 - messages.scroll_offset.y).text

    run(scenario)


def test_the_cursor_row_looks_different_without_focus() -> None:
    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys([1, 2, 3], Source())
        messages.focus()
        await pilot.pause()
        focused = messages.render_line(0)
        other = messages.render_line(1)
        await app.mount(Input())
        app.query_one(Input).focus()
        await pilot.pause()
        blurred = messages.render_line(0)
        assert focused.text == blurred.text
        styles = [{segment.style for segment in strip} for strip in (focused, blurred, other)]
        assert styles[0] != styles[1]
        assert styles[0] != styles[2]
        assert styles[1] != styles[2]

    run(scenario)


def test_marks() -> None:
    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys([10, 11, 12, 13], Source())
        messages.focus()
        await pilot.pause()
        await pilot.press("space", "space")
        await pilot.pause()
        assert messages.marked == {10, 11}
        assert messages.cursor_key == 12
        assert messages.render_line(0).text.startswith("*")
        assert messages.render_line(2).text.startswith(" ")
        assert app.marks() == [1, 2]
        await pilot.press("k", "space")
        await pilot.pause()
        assert messages.marked == {10}
        messages.marked.add(13)  # a copy: the list does not change
        assert messages.marked == {10}
        messages.toggle_mark()  # the cursor is on 12 now, without moving down
        assert messages.marked == {10, 12}
        assert messages.cursor_key == 12
        messages.clear_marks()
        await pilot.pause()
        assert messages.marked == set()
        assert app.marks()[-1] == 0
        await pilot.press("g", "space")
        messages.set_keys([11, 12], Source())  # a mark on a message no longer shown goes
        await pilot.pause()
        assert messages.marked == set()
        assert app.marks()[-1] == 0

    run(scenario)


def test_marked_rows_are_styled_differently() -> None:
    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys([1, 3, 5], Source())
        await pilot.pause()
        plain = messages.render_line(2)
        messages.move_cursor(1)
        messages.toggle_mark()
        messages.move_cursor(0)
        marked = messages.render_line(1)
        assert [s.style for s in marked] != [s.style for s in plain]
        assert marked.text[0] == "*"

    run(scenario)


def test_remove_keys_keeps_the_cursor_on_the_next_row() -> None:
    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys(list(range(100)), Source())
        await pilot.pause()
        messages.move_cursor(50)
        await pilot.press("space")  # marks 50, cursor on 51
        messages.move_cursor(50)
        messages.remove_keys([50])
        await pilot.pause()
        assert messages.cursor_key == 51
        assert len(messages.keys) == 99
        assert messages.marked == set()
        assert app.highlighted()[-1] == 51
        messages.remove_keys([51, 52, 53, 10])
        await pilot.pause()
        assert messages.cursor_key == 54
        assert cursor_visible(messages)
        messages.move_cursor(len(messages.keys) - 1)
        messages.remove_keys([99])
        assert messages.cursor_key == 98
        messages.remove_keys([12345])  # not in the list: nothing happens
        assert messages.cursor_key == 98
        messages.remove_keys(list(messages.keys))
        await pilot.pause()
        assert len(messages.keys) == 0
        assert messages.render_line(0).text.strip() == "No messages"

    run(scenario)


def test_set_keys_keeps_the_cursor_on_its_message() -> None:
    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys(list(range(1000)), Source())
        await pilot.pause()
        messages.move_cursor(500)
        await pilot.pause()
        screen_row = messages.cursor - messages.scroll_offset.y
        messages.set_keys(list(reversed(range(1000))), Source())
        await pilot.pause()
        assert messages.cursor_key == 500
        assert messages.cursor == 499
        assert messages.cursor - messages.scroll_offset.y == screen_row
        messages.set_keys(list(range(2000, 2010)), Source(), keep_cursor=False)
        await pilot.pause()
        assert (messages.cursor_key, messages.scroll_offset.y) == (2000, 0)
        assert app.highlighted()[-1] == 2000

    run(scenario)


def test_update_row_repaints() -> None:
    source = Source()

    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys([1, 2, 3], source)
        await pilot.pause()
        assert "Optimistic" not in app.export_screenshot()
        calls = len(source.calls)
        row = make_row(2)
        messages.update_row(2, replace(row, subject="Optimistic", unread=False))
        await pilot.pause()
        assert "Optimistic" in app.export_screenshot()
        assert "Optimistic" in messages.render_line(1).text
        assert len(source.calls) == calls
        messages.refresh_keys([2])
        await pilot.pause()
        assert "Optimistic" not in messages.render_line(1).text

    run(scenario)


def test_hostile_text_is_shown_literally() -> None:
    rows = {
        1: Row(1, None, HOSTILE_SENDER, HOSTILE_SUBJECT, True, True, False, False, 10),
        2: Row(2, None, "evil\u202egnp.exe", "\x9b31mC1 \x00", False, False, False, False, 1),
    }

    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys([1, 2], Source(rows))
        await pilot.pause()
        line = messages.render_line(0)
        assert "[@click=app.quit]x[/]" in line.text
        assert "[b]bold" in line.text
        assert "pwned" in line.text
        for y in (0, 1):
            for segment in messages.render_line(y):
                assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in segment.text)
                assert "\u202e" not in segment.text
                assert segment.style is None or not segment.style.meta
        await pilot.click(MessageList, offset=(40, 0))
        await pilot.click(MessageList, offset=(30, 0), times=2)
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None
        assert "\x1b" not in app.export_screenshot()

    run(scenario)


def test_messages_are_posted() -> None:
    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys([7, 8, 9], Source())
        messages.focus()
        await pilot.pause()
        assert app.highlighted() == [7]
        await pilot.press("j")
        await pilot.press("enter")
        await pilot.pause()
        assert app.highlighted() == [7, 8]
        assert app.opened() == [8]
        await pilot.click(MessageList, offset=(20, 2))
        await pilot.pause()
        assert messages.cursor_key == 9
        assert app.highlighted() == [7, 8, 9]
        await pilot.click(MessageList, offset=(20, 0), times=2)
        await pilot.pause()
        assert messages.cursor_key == 7
        assert app.opened() == [8, 7]
        await pilot.click(MessageList, offset=(20, 10))  # below the rows: nothing
        await pilot.pause()
        assert messages.cursor_key == 7
        source = app.posted[-1]
        assert isinstance(source, MessageList.Opened)
        assert source.control is messages

    run(scenario)


def test_empty_list() -> None:
    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.focus()
        await pilot.pause()
        assert messages.render_line(0).text.strip() == "No messages"
        assert messages.cursor_key is None
        await pilot.press("j", "G", "space", "enter", "ctrl+d")
        await pilot.pause()
        assert app.posted == []
        assert "No messages" in app.export_screenshot().replace("&#160;", " ")

    run(scenario)


def test_a_failing_source_does_not_crash_the_app() -> None:
    calls: list[Sequence[int]] = []

    def broken(keys: Sequence[int]) -> list[Row]:
        calls.append(keys)
        raise RuntimeError("disk on fire")

    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys([1, 2, 3], broken)
        await pilot.pause()
        assert "…" in messages.render_line(0).text
        assert app.is_running
        assert len(calls) == 1  # not once per line
        messages.refresh_keys([2])
        await pilot.pause()
        assert calls[-1] == [2]
        assert len(app._notifications) == 1

    run(scenario)


def test_missing_rows_are_placeholders() -> None:
    def partial(keys: Sequence[int]) -> list[Row]:
        return [make_row(key) for key in keys if key != 2]

    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys([1, 2, 3], partial)
        await pilot.pause()
        assert "Subject 1" in messages.render_line(0).text
        assert "…" in messages.render_line(1).text
        assert "Subject 3" in messages.render_line(2).text

    run(scenario)


@pytest.mark.parametrize("width", [40, 80, 100, 160])
def test_rows_fill_the_width_exactly_with_wide_characters(width: int) -> None:
    rows = {
        1: Row(
            1,
            None,
            "山田太郎 (Yamada Tarō) 株式会社",
            "会議の件について" * 8,
            True,
            True,
            True,
            True,
            5_000_000,
            depth=3,
        ),
        2: Row(2, None, "Ann", "Re: 🎉 party", False, False, False, False, 0, thread_size=12),
    }

    async def scenario(app: ListApp, pilot: Pilot[None]) -> None:
        messages = app.messages
        messages.set_keys([1, 2], Source(rows))
        await pilot.pause()
        content = messages.scrollable_content_region.width
        for y in (0, 1, 2):
            strip = messages.render_line(y)
            assert strip.cell_length == content
            assert sum(cell_len(segment.text) for segment in strip) == content
        first = messages.render_line(0).text
        second = messages.render_line(1).text
        assert first[1:5] == "N!r@"
        assert "(12)" in second
        assert ("4.8M" in first) == (width >= 100)
        if width >= 80:
            assert "山田" in first
            assert "└─" in first

    run(scenario, size=(width, 10))


def test_format_date() -> None:
    now = datetime(2024, 10, 16, 15, 0)  # a Wednesday
    assert format_date(None, now) == ""
    assert format_date(datetime(2024, 10, 16, 9, 5), now) == "09:05"
    assert format_date(datetime(2024, 10, 14, 12, 30), now) == "Mon 12:30"
    assert format_date(datetime(2024, 10, 10, 12, 30), now) == "Thu 12:30"
    assert format_date(datetime(2024, 10, 9, 12, 30), now) == "9 Oct"
    assert format_date(datetime(2024, 3, 3, 1, 0), now) == "3 Mar"
    assert format_date(datetime(2023, 10, 3, 1, 0), now) == "2023-10-03"
    assert format_date(datetime(2024, 12, 24, 1, 0), now) == "24 Dec"
    aware = datetime(2024, 10, 16, 12, 0, tzinfo=UTC)
    assert format_date(aware, datetime.now()) != ""
    assert len(format_date(datetime(1, 1, 1, tzinfo=UTC), now)) == 10


def test_format_size() -> None:
    assert format_size(0) == ""
    assert format_size(1) == "1K"
    assert format_size(2048) == "2K"
    assert format_size(999 * 1024) == "999K"
    assert format_size(1024 * 1024) == "1.0M"
    assert format_size(15 * 1024 * 1024) == "15M"
    assert format_size(3 * 1024**3) == "3.0G"
    for size in (1, 10**3, 10**6, 10**7, 10**9, 10**12, 10**15):
        assert len(format_size(size)) <= 5


def test_fit_counts_cells() -> None:
    assert fit("abc", 5) == "abc  "
    assert fit("abcdef", 4) == "abc…"
    assert cell_len(fit("送信者送信者", 5)) == 5
    assert cell_len(fit("送信者", 6)) == 6
    assert fit("x", 0) == ""
