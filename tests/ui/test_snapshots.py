"""SVG snapshots of each screen at 80x24 and 120x36, from the demo at its fixed date."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.ui import demo_client

from tuimail.mime.demo import DEMO_NOW
from tuimail.ui.app import TuimailApp
from tuimail.ui.widgets import message_list

SIZES = [(80, 24), (120, 36)]
SCREENS = {
    "inbox": ["_"],
    "reader": ["j", "enter", "_", "_"],
    "composer": ["j", "r", "_", "_"],
    "help": ["question_mark", "_"],
    "search": ["slash", *"has:attachment", "enter", "_"],
    "threads": ["t", "_"],
}


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo's own "now", in UTC, so relative dates never change between runs."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    before = message_list.CLOCK[0]
    message_list.CLOCK[0] = lambda: DEMO_NOW.replace(tzinfo=None)
    yield
    message_list.CLOCK[0] = before
    time.tzset()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(
    screen: str, size: tuple[int, int], tmp_path: Path, snap_compare: Callable[..., Any]
) -> None:
    app = TuimailApp(demo_client(tmp_path, count=60), sync_on_start=False)
    assert snap_compare(app, press=SCREENS[screen], terminal_size=size)
