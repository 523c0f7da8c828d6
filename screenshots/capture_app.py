"""Render each screen of the app from the demo mailbox to screenshots/ (SVG; PNG when possible).

Run from the repository: .venv/bin/python screenshots/capture_app.py
The demo is generated with its fixed date, so the pictures only change when the app does.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from helpers.ui import demo_client  # noqa: E402
from textual.pilot import Pilot  # noqa: E402

from tuimail.mime.demo import DEMO_NOW  # noqa: E402
from tuimail.ui.app import TuimailApp  # noqa: E402
from tuimail.ui.widgets import message_list  # noqa: E402

Steps = Callable[[Pilot[None]], Awaitable[None]]


async def _inbox(pilot: Pilot[None]) -> None:
    await pilot.pause()


async def _reader(pilot: Pilot[None]) -> None:
    await pilot.press("j", "j", "enter")
    await pilot.pause(0.3)


async def _composer(pilot: Pilot[None]) -> None:
    await pilot.press("j", "r")
    await pilot.pause(0.5)


async def _search(pilot: Pilot[None]) -> None:
    await pilot.press("slash", *"has:attachment", "enter")
    await pilot.pause(0.3)


async def _help(pilot: Pilot[None]) -> None:
    await pilot.press("question_mark")
    await pilot.pause(0.2)


SHOTS: dict[str, Steps] = {
    "inbox": _inbox,
    "reader": _reader,
    "composer": _composer,
    "search": _search,
    "help": _help,
}


async def shoot(name: str, steps: Steps, size: tuple[int, int], work: Path) -> Path:
    client = demo_client(work / name / f"{size[0]}x{size[1]}")
    app = TuimailApp(client, sync_on_start=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.3)
        await steps(pilot)
        path = HERE / f"app-{name}-{size[0]}x{size[1]}.svg"
        app.save_screenshot(str(path.name), str(path.parent))
    return path


WIZARD_STEPS = ("address", "settings", "test-failed", "saved")


async def shoot_wizard(step: str, size: tuple[int, int]) -> Path:
    """A setup wizard step, with the fixed stand-in answers of its snapshot tests."""
    from ui import test_setup_snapshots as wizard  # noqa: PLC0415 - tests/ is on the path

    outcome, block, drive = wizard.STEPS[step]
    wizard.RELEASE.clear()
    app = wizard._app(wizard.StandInSetup(outcome, block_discovery=block))
    try:
        async with app.run_test(size=size) as pilot:
            await drive(pilot)
            path = HERE / f"wizard-{step}-{size[0]}x{size[1]}.svg"
            app.save_screenshot(str(path.name), str(path.parent))
    finally:
        wizard.RELEASE.set()
    return path


def _png(path: Path) -> None:
    if shutil.which("rsvg-convert"):
        subprocess.run(
            ["rsvg-convert", str(path), "-o", str(path.with_suffix(".png"))], check=False
        )


def main() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    message_list.CLOCK[0] = lambda: DEMO_NOW.replace(tzinfo=None)  # dates as of the demo's day
    work = Path(tempfile.mkdtemp(prefix="tuimail-shots-"))
    try:
        for size in ((120, 36), (80, 24)):
            for name, steps in SHOTS.items():
                path = asyncio.run(shoot(name, steps, size, work))
                print(path.relative_to(HERE.parent))
                _png(path)
            for step in WIZARD_STEPS:
                path = asyncio.run(shoot_wizard(step, size))
                print(path.relative_to(HERE.parent))
                _png(path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
