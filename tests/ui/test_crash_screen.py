"""A crash in a worker never shows a password: tuimail's app replaces Textual's crash screen."""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path

import pytest
from helpers.ui import demo_client
from rich.console import Console
from textual import work
from textual.app import App
from textual.worker import WorkerFailed

from tuimail.ui import app as app_module
from tuimail.ui.app import TuimailApp

CANARY = "canary-crash-3f9e27d1b8"


class CrashingApp(TuimailApp):
    """tuimail's app, plus a worker that fails while a password sits in one of its locals."""

    CSS_PATH = str(Path(app_module.__file__).with_name("tuimail.tcss"))

    @work(thread=True, exit_on_error=True)
    def crash(self) -> None:
        password = CANARY  # what a sync worker holds while it logs in
        raise RuntimeError(f"bug while logging in ({len(password)} characters)")


def _crash_output(app: CrashingApp) -> str:
    shown: list[object] = []

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            worker = app.crash()
            with contextlib.suppress(WorkerFailed):
                await worker.wait()
            shown.extend(app._exit_renderables)  # printed and cleared as the app exits

    with pytest.raises(WorkerFailed):  # run_test hands the crash on once the app has stopped
        asyncio.run(scenario())
    console = Console(file=io.StringIO(), width=120, record=True, force_terminal=False)
    for renderable in shown:
        console.print(renderable)
    return console.export_text()


def test_worker_crash_shows_no_locals(tmp_path: Path) -> None:
    app = CrashingApp(demo_client(tmp_path), sync_on_start=False)
    shown = _crash_output(app)
    assert "tuimail stopped because of an internal error" in shown
    assert CANARY not in shown
    assert app.return_code not in (None, 0)


def test_textuals_own_crash_screen_would_show_it(tmp_path: Path) -> None:
    """The control: without tuimail's override the same crash prints the password."""
    app = CrashingApp(demo_client(tmp_path), sync_on_start=False)
    app._fatal_error = lambda: App._fatal_error(app)  # type: ignore[method-assign]
    assert CANARY in _crash_output(app)
