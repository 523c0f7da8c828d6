"""Benchmark: the message list with 100,000 keys: set them and paint, then 20 page-downs."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from textual.app import App, ComposeResult

from tuimail.ui.widgets.message_list import MessageList, Row

NOW = datetime.now()


class Source:
    """Rows made on demand (the real source is SQLite by id), counting the keys asked for."""

    def __init__(self) -> None:
        self.asked = 0
        self.calls = 0

    def __call__(self, keys: Sequence[int]) -> list[Row]:
        self.calls += 1
        self.asked += len(keys)
        return [
            Row(
                key=key,
                date=NOW - timedelta(minutes=17 * key),
                sender=f"Sender Name {key % 977}",
                subject=f"Subject of message {key} about something or other",
                unread=key % 3 == 0,
                flagged=key % 11 == 0,
                answered=key % 7 == 0,
                attachment=key % 5 == 0,
                size=1000 + key * 37,
                depth=key % 4,
                thread_size=5 if key % 4 == 0 else 0,
            )
            for key in keys
        ]


class BenchApp(App[None]):
    """Only the message list."""

    def compose(self) -> ComposeResult:
        yield MessageList()


async def bench(count: int, pages: int, size: tuple[int, int]) -> None:
    """Print the milliseconds for set_keys plus first paint, and for the page-downs."""
    source = Source()
    app = BenchApp()
    async with app.run_test(size=size) as pilot:
        messages = app.query_one(MessageList)
        messages.focus()
        await pilot.pause()
        keys = list(range(count))
        began = time.perf_counter()
        messages.set_keys(keys, source)
        set_done = time.perf_counter()
        await pilot.pause()
        painted = time.perf_counter()
        print(
            f"{count} keys: set_keys {1000 * (set_done - began):.1f} ms, "
            f"set_keys + first paint {1000 * (painted - began):.1f} ms "
            f"({source.asked} rows fetched in {source.calls} calls)"
        )
        asked, calls = source.asked, source.calls
        began = time.perf_counter()
        for _ in range(pages):
            await pilot.press("ctrl+d")
            await pilot.pause()
        elapsed = time.perf_counter() - began
        print(
            f"{pages} page-downs with a repaint each: {1000 * elapsed:.1f} ms "
            f"({1000 * elapsed / pages:.1f} ms each; {source.asked - asked} rows fetched "
            f"in {source.calls - calls} calls; cursor at {messages.cursor})"
        )
        began = time.perf_counter()
        for _ in range(pages):
            await pilot.press("x")  # bound to nothing: what Pilot itself costs per step
            await pilot.pause()
        baseline = time.perf_counter() - began
        print(
            f"  of which Pilot's own cost ({pages} unbound key presses): {1000 * baseline:.1f} ms"
        )
        height = messages.scrollable_content_region.height
        began = time.perf_counter()
        for _ in range(pages):
            messages.action_cursor_page_down()
            for y in range(height):
                messages.render_line(y)
        elapsed = time.perf_counter() - began
        print(
            f"  the widget's own work for {pages} more page-downs ({height} lines rendered each): "
            f"{1000 * elapsed:.1f} ms ({1000 * elapsed / pages:.2f} ms each)"
        )
        began = time.perf_counter()
        await pilot.press("G")
        await pilot.pause()
        print(f"jump to the last row and paint: {1000 * (time.perf_counter() - began):.1f} ms")


def main() -> None:
    """Run the benchmark with the sizes given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(bench(args.count, args.pages, (args.width, args.height)))


if __name__ == "__main__":
    main()
