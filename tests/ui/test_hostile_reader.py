"""The hostile corpus in the app: every message opened in the reader (Pilot), and the whole app
on a real terminal (a pty), where no control sequence from a message may reach the terminal."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from helpers.cli import Cli
from helpers.hostile import (
    CASES,
    injected,
    no_network,
    raw_case,
    run_on_pty,
    unsafe_in_text,
)
from textual.pilot import Pilot

from tuimail.backends.local.maildir import Maildir
from tuimail.ui.screens.dialogs import ConfirmDialog, PathPrompt
from tuimail.ui.screens.reader import ReaderScreen
from ui.test_reader import ReaderApp, _mail, _screen_text, _settle, _terminal_output

HOSTILE_FOLDER = "Evil\x1b]0;PWNED-TITLE\x07[b]x[/b]\x9b2J"
SMALL = 20_000
"""Bigger messages are shown in the body view only (the raw view of 1 MB is slow to draw)."""
MARKUP_CASES = [case for case in CASES if case.covers == "markup"]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-ui")


def test_every_message_in_the_reader(tmp_path: Path, scratch: Path) -> None:
    mail = _mail(tmp_path, [raw_case(case, scratch) for case in CASES])
    keys = mail.keys()
    assert len(keys) == len(CASES)
    sizes = [cached.envelope.size for cached in mail.client.envelopes(keys)]
    app = ReaderApp(mail.client, keys[0], keys)
    seen: list[str] = []

    async def main() -> None:
        async with app.run_test(size=(200, 60)) as pilot:
            await _settle(app, pilot)
            for index in range(len(keys)):
                assert isinstance(app.screen, ReaderScreen)
                text = _screen_text(app)
                seen.append(text)
                assert not unsafe_in_text(text), index
                assert not injected(_terminal_output(app).encode()), index
                if sizes[index] > SMALL:  # the bombs: the body view is enough
                    await pilot.press("n")
                    await _settle(app, pilot)
                    continue
                # the raw source and every header are shown safely too
                await pilot.press("h")
                await pilot.pause()
                assert not unsafe_in_text(_screen_text(app))
                await pilot.press("h", "R")
                await pilot.pause()
                assert not unsafe_in_text(_screen_text(app))
                assert not injected(_terminal_output(app).encode())
                await pilot.press("R", "n")
                await _settle(app, pilot)
            assert app.is_running

    with no_network() as network:
        asyncio.run(main())
    assert network == []  # nothing fetched: no image, no stylesheet, no link
    shown = "\n".join(seen)
    for case in MARKUP_CASES:  # markup is shown as typed, never interpreted
        for text in case.shows:
            assert text in shown, (case.name, text)
    assert "View the raw source" in shown
    assert "Possibly forged sender: the name shows support@bank.example" in shown
    assert app.return_code is None  # no [@click=app.quit] ran


async def _save(app: ReaderApp, pilot: Pilot[None], directory: Path, answer: str) -> None:
    await pilot.press("w")  # w: write the attachment to a file
    await pilot.pause()
    assert isinstance(app.screen, PathPrompt)
    app.screen.query_one("Input").value = f"{directory}/"  # type: ignore[attr-defined]
    await pilot.press("enter")
    await _settle(app, pilot)
    if isinstance(app.screen, ConfirmDialog):
        await pilot.press(answer)
        await _settle(app, pilot)


@pytest.mark.parametrize("name", ["attach-dotdot", "attach-colliding", "escape-filename"])
def test_saving_hostile_attachments_from_the_reader(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    case = next(case for case in CASES if case.name == name)
    mail = _mail(tmp_path, [raw_case(case, scratch)])
    monkeypatch.setenv("HOME", str(mail.home))
    chosen = mail.home / "chosen"
    chosen.mkdir()
    (key,) = mail.keys()
    app = ReaderApp(mail.client, key, [key])

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await _settle(app, pilot)
            app.screen.query_one("#attachments").focus()
            for index in range(case.attachments):
                await _save(app, pilot, chosen, "n")
                await pilot.press("down")
                assert index < case.attachments

    asyncio.run(main())
    assert sorted(os.listdir(chosen)) == sorted(set(case.file_names))
    everything = {path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file()}
    outside = {
        path
        for path in everything
        if not str(path).startswith(("home/chosen/", "Maildir", "cache", "data"))
    }
    assert outside == set(), outside


def test_the_app_on_a_terminal_writes_no_control_sequence_from_mail(
    tmp_path: Path, scratch: Path
) -> None:
    box = Maildir(tmp_path / "Maildir", create=True)
    for case in CASES:
        if not case.generated:  # the bombs are read in the Pilot test; here: what is drawn
            box.deliver("INBOX", raw_case(case, scratch))
    box.create_folder(HOSTILE_FOLDER)  # drawn in the folder list
    box.deliver(HOSTILE_FOLDER, raw_case(CASES[0], scratch))
    cli = Cli(tmp_path)
    cli.write_config(
        f"""
[accounts.home]
email = "robin@example.test"
[accounts.home.incoming]
protocol = "maildir"
path = "{box.root}"
"""
    )
    assert cli.run("sync").returncode == 0
    count = sum(1 for case in CASES if not case.generated)
    # keys: open the first message once the list is drawn, then "n" through every message
    # (each after the screen has changed), then back and quit
    plan = [b"\r"] + [b"n"] * count + [b"q", b"q"]
    state = {"sent": 0, "seen": 0}

    def keys(output: bytes) -> bytes | None:
        if state["sent"] == 0 and b"hostile.test" not in output and b"Mallory" not in output:
            return None  # the list is not drawn yet
        if len(output) == state["seen"] or state["sent"] >= len(plan):
            return None  # wait for the screen to change after the last key
        state["seen"] = len(output)
        key = plan[state["sent"]]
        state["sent"] += 1
        return key

    status, output = run_on_pty(
        [sys.executable, "-m", "tuimail"], cli.env(), size=(160, 50), timeout=240, keys=keys
    )
    assert state["sent"] == len(plan)
    assert status == 0, output[-2000:]
    assert not injected(output)
    assert b"\x1b]52;" not in output  # no clipboard write at all
    assert b"PWNED-TITLE\x07" not in output
    assert b"Traceback" not in output
    # what a message held was drawn, made inert: the ESC of its OSC shows as a picture
    assert "␛]0;PWNED-TITLE␇".encode() in output
