"""The reader screen over a real Maildir and cache: display, hostile text, attachments, filing."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import stat
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App
from textual.notifications import SeverityLevel
from textual.pilot import Pilot
from textual.widgets import Input

from tuimail.backends.local.maildir import Maildir
from tuimail.config.paths import Paths
from tuimail.mime.parse import parse_message
from tuimail.mime.sender import forgery_reasons
from tuimail.model.account import Account, LocalFormat, LocalSource
from tuimail.model.message import Flag
from tuimail.services.client import MailClient, Scope
from tuimail.services.local import open_local, sync_local
from tuimail.ui.screens.dialogs import ConfirmDialog, FolderPicker, PathPrompt, complete_directory
from tuimail.ui.screens.reader import ReaderScreen, _date_text, links_text

HOSTILE_SUBJECT = "[@click=app.quit]x[/]"
HOSTILE_NAME = "\x1b]0;pwned\x07 [b]x"
HOSTILE_BODY = "Before \x1b[31mred\x1b[0m and [link=http://x]y[/link] after.\n"


def _message(
    subject: str,
    body: str = "Hello there.\n",
    *,
    sender: str = "Åsa Berg <asa@example.org>",
    date: str = "Mon, 02 Jan 2023 10:00:00 +0000",
    headers: Sequence[tuple[str, str]] = (),
    attachments: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "Robin <robin@example.test>"
    msg["Cc"] = "Kim <kim@example.net>"
    msg["Subject"] = subject
    msg["Date"] = date
    for name, value in headers:
        msg[name] = value
    msg.set_content(body)
    for filename, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
    return bytes(msg)


def _hostile() -> bytes:
    """Markup and escape sequences in the subject, the sender's name and the body."""
    name = base64.b64encode(HOSTILE_NAME.encode()).decode()
    return (
        f"From: =?utf-8?b?{name}?= <evil@example.org>\r\n"
        "To: robin@example.test\r\n"
        f"Subject: {HOSTILE_SUBJECT}\r\n"
        "Date: Mon, 02 Jan 2023 12:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
    ).encode() + HOSTILE_BODY.encode()


@dataclass
class Mail:
    """A real Maildir, its account, a filled cache and a client over them."""

    box: Maildir
    account: Account
    client: MailClient
    home: Path

    def keys(self) -> list[int]:
        """The Inbox, newest first."""
        return self.client.keys(Scope())

    def files(self, folder: str) -> list[Path]:
        """The message files of a folder."""
        root = self.box.root if folder == "INBOX" else self.box.root / f".{folder}"
        return sorted(p for sub in ("cur", "new") for p in (root / sub).iterdir())


def _mail(tmp_path: Path, messages: Sequence[bytes]) -> Mail:
    box = Maildir(tmp_path / "Maildir", create=True)
    box.create_folder("Trash")
    box.create_folder("Archive")
    for raw in messages:
        box.deliver("INBOX", raw)
    account = Account(
        "home",
        "Robin",
        "robin@example.test",
        None,
        local=LocalSource(LocalFormat.MAILDIR, str(box.root)),
    )
    cache = tmp_path / "cache" / "cache.sqlite"
    cache.parent.mkdir()
    result = sync_local(cache, account, open_local(account))
    assert not result.errors
    paths = Paths(tmp_path / "config.toml", tmp_path / "data", tmp_path / "cache")
    client = MailClient(paths, [account], passwords=lambda a, r: "", cache_file=cache)
    home = tmp_path / "home"
    home.mkdir()
    return Mail(box, account, client, home)


class ReaderApp(App[None]):
    """A bare app that shows one ReaderScreen and records what the screen asks of it."""

    def __init__(self, client: MailClient, key: int, keys: Sequence[int]) -> None:
        super().__init__()
        self.reader = ReaderScreen(client, key, keys)
        self.notes: list[tuple[str, str, SeverityLevel]] = []
        self.compose_requests: list[tuple[str, int]] = []
        self.applied: list[tuple[int, str]] = []
        self.reader_closed = False

    def on_mount(self) -> None:
        """Open the reader."""
        self.push_screen(self.reader, callback=self._reader_closed)

    def _reader_closed(self, result: None) -> None:
        self.reader_closed = True

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Record the notification (every one from mail must come with markup off)."""
        assert markup is False
        self.notes.append((message, title, severity))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_reader_screen_compose_requested(self, event: ReaderScreen.ComposeRequested) -> None:
        """Record a request for the composer."""
        self.compose_requests.append((event.draft_kind, event.key))

    def on_reader_screen_action_applied(self, event: ReaderScreen.ActionApplied) -> None:
        """Record a change made from the reader."""
        self.applied.append((event.key, event.action))


Scenario = Callable[[ReaderApp, Pilot[None]], Awaitable[None]]


def _run(app: ReaderApp, scenario: Scenario, size: tuple[int, int] = (80, 24)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await _settle(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())


async def _settle(app: ReaderApp, pilot: Pilot[None]) -> None:
    """Let every worker (and the workers they start) finish and the screen repaint."""
    for _ in range(6):
        await app.workers.wait_for_complete()
        await pilot.pause()


def _screen_text(app: App[None]) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def _terminal_output(app: App[None]) -> str:
    """What the app would write to a terminal for the whole screen."""
    console = Console(force_terminal=True, color_system="truecolor", width=app.size.width)
    return "".join(strip.render(console) for strip in app.screen._compositor.render_strips())


def _subject_shown(app: ReaderApp) -> str:
    for row in _screen_text(app).splitlines():
        if row.strip().startswith("Subject:"):
            return row.strip().removeprefix("Subject:").strip()
    return ""


# -- display ---------------------------------------------------------------------------------


def test_headers_and_body_are_shown(tmp_path: Path) -> None:
    mail = _mail(tmp_path, [_message("Lunch on Friday", "Shall we meet at noon?\n")])
    (key,) = mail.keys()
    app = ReaderApp(mail.client, key, [key])

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        text = _screen_text(app)
        assert "From: Åsa Berg <asa@example.org>" in text
        assert "To: Robin <robin@example.test>" in text
        assert "Cc: Kim <kim@example.net>" in text
        assert "Date: Mon, 02 Jan 2023" in text
        assert "Subject: Lunch on Friday" in text
        assert "Shall we meet at noon?" in text
        assert "forged" not in text
        await pilot.press("h")
        assert "MIME-Version: 1.0" in _screen_text(app)
        await pilot.press("h", "V")
        await pilot.pause()
        raw = _screen_text(app)
        assert "Content-Transfer-Encoding" in raw
        assert "Shall we meet at noon?" in raw
        await pilot.press("V")
        assert "Content-Transfer-Encoding" not in _screen_text(app)
        # opening it marked it read, in the cache and (after the push) in the file name
        flags = mail.client.envelopes([key])[0].envelope.flags
        assert Flag.SEEN in flags
        assert mail.files("INBOX")[0].name.endswith(",S")
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, ReaderScreen)
        assert app.reader_closed

    _run(app, scenario)
    assert (key, "read") in app.applied


def test_hostile_text_is_shown_literally_and_sends_no_escapes(tmp_path: Path) -> None:
    mail = _mail(tmp_path, [_hostile()])
    (key,) = mail.keys()
    app = ReaderApp(mail.client, key, [key])

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        text = _screen_text(app)
        assert f"Subject: {HOSTILE_SUBJECT}" in text
        assert "pwned\u2407 [b]x" in text  # BEL shown as a control picture
        assert "\u241b]0;pwned" in text  # and ESC too
        assert "\u241b[31mred" in text
        assert "[link=http://x]y[/link]" in text
        assert "\x1b" not in text
        assert "\x07" not in text
        output = _terminal_output(app)
        assert "\x1b]0;" not in output
        assert "\x07" not in output
        assert "\x1b[31m" not in output
        assert "\x1b]8;" not in output  # the [link] in the body is not a hyperlink
        # clicking the subject runs no action from it
        await pilot.click("#subject", offset=(14, 0))
        await _settle(app, pilot)
        assert app.is_running
        assert isinstance(app.screen, ReaderScreen)

    _run(app, scenario)
    assert app.return_code is None


def test_a_message_that_cannot_be_read_is_reported(tmp_path: Path) -> None:
    mail = _mail(tmp_path, [_message("Gone soon")])
    (key,) = mail.keys()
    for path in mail.files("INBOX"):
        path.unlink()  # behind the cache's back
    app = ReaderApp(mail.client, key, [key])

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        assert "This message could not be read." in _screen_text(app)
        assert [(title, severity) for _m, title, severity in app.notes] == [
            ("No such message", "error")
        ]
        await pilot.press("d", "w", "V")
        await _settle(app, pilot)
        assert app.is_running

    _run(app, scenario)


def test_forged_display_name_is_warned_about(tmp_path: Path) -> None:
    forged = _message("Your account", sender='"paypal@paypal.com" <evil@x.org>')
    mail = _mail(tmp_path, [forged])
    (key,) = mail.keys()
    app = ReaderApp(mail.client, key, [key])

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        text = _screen_text(app)
        assert "Possibly forged sender: the name shows paypal@paypal.com" in text
        assert 'From: "paypal@paypal.com" <evil@x.org>' in text

    _run(app, scenario)


@pytest.mark.parametrize(
    ("results", "sender", "expected"),
    [
        (["mx.example.org; dkim=fail header.d=bank.example; spf=pass"], "a@bank.example", "DKIM"),
        (["mx.example.org; spf=fail smtp.mailfrom=x.org"], "a@x.org", "SPF"),
        (["mx.example.org; dkim=pass; dmarc=fail (p=reject)"], "a@x.org", "DMARC"),
        (["mx.example.org; dkim=pass (not dkim=fail) header.d=x.org"], "a@x.org", None),
        (["mx.example.org; dkim=pass; spf=softfail; dmarc=pass"], "a@x.org", None),
        ([], '"Ann <ann@x.org>" <ann@x.org>', None),
        ([], '"ANN@X.ORG" <ann@x.org>', None),
        ([], '"Support support@bank.example" <a@x.org>', "support@bank.example"),
    ],
)
def test_forgery_reasons(results: list[str], sender: str, expected: str | None) -> None:
    headers = [("Authentication-Results", value) for value in results]
    parsed = parse_message(_message("Hi", sender=sender, headers=headers))
    reasons = forgery_reasons(parsed)
    if expected is None:
        assert reasons == []
    else:
        assert any(expected in reason for reason in reasons)


def test_dates_out_of_range_are_shown_as_given() -> None:
    far_east = timezone(timedelta(hours=14))
    assert _date_text(datetime(1, 1, 1, tzinfo=far_east)) == "0001-01-01 00:00+14:00"
    assert _date_text(None) == ""


def test_only_web_and_mail_links_become_hyperlinks() -> None:
    urls = [
        "https://example.org/a",
        "mailto:kim@example.net",
        "ftp://example.org/f",
        "http://x/\x1b",
    ]
    text = links_text(urls)
    linked = {
        text.plain[span.start : span.end]: str(getattr(span.style, "link", None))
        for span in text.spans
        if getattr(span.style, "link", None)
    }
    assert linked == {
        "https://example.org/a": "https://example.org/a",
        "mailto:kim@example.net": "mailto:kim@example.net",
    }
    assert "[3] ftp://example.org/f" in text.plain
    assert "\x1b" not in text.plain


def test_html_links_are_listed_and_linked(tmp_path: Path) -> None:
    msg = EmailMessage()
    msg["From"] = "news@example.org"
    msg["Subject"] = "News"
    msg.set_content(
        '<p>Read <a href="https://example.org/story">the story</a> or '
        '<a href="javascript:alert(1)">this</a>.</p>',
        subtype="html",
    )
    mail = _mail(tmp_path, [bytes(msg)])
    (key,) = mail.keys()
    app = ReaderApp(mail.client, key, [key])

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        text = _screen_text(app)
        assert "the story [1]" in text
        assert "[1] https://example.org/story" in text
        assert "javascript" not in text
        hyperlinks = re.findall(r"\x1b\]8;[^;\x1b]*;([^\x1b]*)\x1b\\", _terminal_output(app))
        assert [url for url in hyperlinks if url] == ["https://example.org/story"]

    _run(app, scenario)


# -- moving and filing -----------------------------------------------------------------------


def _three(tmp_path: Path) -> Mail:
    return _mail(
        tmp_path,
        [
            _message(f"Note {n}", f"Body {n}.\n", date=f"Mon, 02 Jan 2023 1{n}:00:00 +0000")
            for n in (1, 2, 3)
        ],
    )


def test_next_and_previous_follow_the_list(tmp_path: Path) -> None:
    mail = _three(tmp_path)
    keys = mail.keys()
    app = ReaderApp(mail.client, keys[0], keys)

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        assert _subject_shown(app) == "Note 3"
        await pilot.press("n")
        await _settle(app, pilot)
        assert _subject_shown(app) == "Note 2"
        await pilot.press("J")
        await _settle(app, pilot)
        assert _subject_shown(app) == "Note 1"
        await pilot.press("n")
        await _settle(app, pilot)
        assert _subject_shown(app) == "Note 1"
        assert app.notes[-1][0] == "This is the last message."
        await pilot.press("p")
        await _settle(app, pilot)
        assert _subject_shown(app) == "Note 2"
        await pilot.press("K", "K")
        await _settle(app, pilot)
        assert _subject_shown(app) == "Note 3"
        await pilot.press("r", "R", "f")
        await pilot.pause()

    _run(app, scenario)
    assert app.compose_requests == [
        ("reply", keys[0]),
        ("reply_all", keys[0]),
        ("forward", keys[0]),
    ]
    seen = [Flag.SEEN in c.envelope.flags for c in mail.client.envelopes(keys)]
    assert seen == [True, True, True]


def test_delete_moves_the_file_to_trash_and_shows_the_next(tmp_path: Path) -> None:
    mail = _three(tmp_path)
    keys = mail.keys()
    app = ReaderApp(mail.client, keys[0], keys)

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        await pilot.press("d")
        await _settle(app, pilot)
        assert _subject_shown(app) == "Note 2"

    _run(app, scenario)
    assert (keys[0], "delete") in app.applied
    assert len(mail.files("INBOX")) == 2
    (trashed,) = mail.files("Trash")
    assert b"Subject: Note 3" in trashed.read_bytes()


def test_deleting_the_last_message_goes_back(tmp_path: Path) -> None:
    mail = _mail(tmp_path, [_message("Only one")])
    (key,) = mail.keys()
    app = ReaderApp(mail.client, key, [key])

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        await pilot.press("d")
        await _settle(app, pilot)
        assert not isinstance(app.screen, ReaderScreen)

    _run(app, scenario)
    assert app.reader_closed
    assert mail.files("INBOX") == []
    assert len(mail.files("Trash")) == 1


def test_flag_unread_archive_and_move(tmp_path: Path) -> None:
    mail = _three(tmp_path)
    keys = mail.keys()
    app = ReaderApp(mail.client, keys[0], keys)

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        await pilot.press("s")
        await _settle(app, pilot)
        assert Flag.FLAGGED in mail.client.envelopes([keys[0]])[0].envelope.flags
        await pilot.press("exclamation_mark")
        await _settle(app, pilot)
        assert Flag.FLAGGED not in mail.client.envelopes([keys[0]])[0].envelope.flags
        await pilot.press("s")
        await _settle(app, pilot)
        await pilot.press("N")
        await _settle(app, pilot)
        assert Flag.SEEN not in mail.client.envelopes([keys[0]])[0].envelope.flags
        await pilot.press("s")  # flagged before: the flag comes off
        await _settle(app, pilot)
        assert Flag.FLAGGED not in mail.client.envelopes([keys[0]])[0].envelope.flags
        await pilot.press("u")  # undo puts it back
        await _settle(app, pilot)
        assert Flag.FLAGGED in mail.client.envelopes([keys[0]])[0].envelope.flags
        assert app.notes[-1][0].startswith("Undone")
        await pilot.press("a")
        await _settle(app, pilot)
        assert _subject_shown(app) == "Note 2"
        await pilot.press("m")
        await _settle(app, pilot)
        assert isinstance(app.screen, FolderPicker)
        await pilot.press(*"tra", "enter")
        await _settle(app, pilot)
        assert _subject_shown(app) == "Note 1"

    _run(app, scenario)
    assert [action for _key, action in app.applied] == [
        "read",
        "flag",
        "unflag",
        "flag",
        "unread",
        "unflag",
        "archive",
        "read",
        "move",
        "read",
    ]
    (archived,) = mail.files("Archive")
    assert b"Subject: Note 3" in archived.read_bytes()
    assert archived.name.endswith(",F")  # flagged, and unread again
    (trashed,) = mail.files("Trash")
    assert b"Subject: Note 2" in trashed.read_bytes()


# -- attachments -----------------------------------------------------------------------------


def _with_attachment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Mail:
    raw = _message(
        "Your dotfiles",
        "See attached.\n",
        attachments=[("../../.bashrc", b"alias ls='rm -rf ~'\n")],
    )
    mail = _mail(tmp_path, [raw])
    monkeypatch.setenv("HOME", str(mail.home))
    (mail.home / "Downloads").mkdir()
    return mail


def test_save_attachment_with_safe_name_and_overwrite_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = _with_attachment(tmp_path, monkeypatch)
    (key,) = mail.keys()
    downloads = mail.home / "Downloads"
    saved = downloads / "bashrc"
    app = ReaderApp(mail.client, key, [key])

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        assert "bashrc  application/octet-stream" in _screen_text(app)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, PathPrompt)
        field = app.screen.query_one(Input)
        assert field.value == f"{downloads}/"
        # completion: the home directory's only sub-directory
        field.value = f"{mail.home}/Do"
        await pilot.press("tab")
        assert field.value == f"{downloads}/"
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, ReaderScreen)
        assert saved.read_bytes() == b"alias ls='rm -rf ~'\n"
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert app.notes[-1] == (f"Saved to {saved}", "Attachment saved", "information")

        # a second save asks first; "no" leaves the file alone
        saved.write_bytes(b"mine\n")
        await pilot.press("w", "enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await _settle(app, pilot)
        assert saved.read_bytes() == b"mine\n"
        # "yes" replaces it
        await pilot.press("w", "enter")
        await _settle(app, pilot)
        await pilot.press("y")
        await _settle(app, pilot)
        assert saved.read_bytes() == b"alias ls='rm -rf ~'\n"

        # enter on the attachment asks too; a path that is no directory is refused there
        app.screen.query_one("#attachments").focus()
        await pilot.press("enter")
        await pilot.pause()
        app.screen.query_one(Input).value = str(tmp_path / "nowhere")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PathPrompt)
        assert "is not a directory" in _screen_text(app)
        await pilot.press("escape")

    _run(app, scenario)
    assert sorted(os.listdir(downloads)) == ["bashrc"]
    assert not (mail.home / ".bashrc").exists()
    assert not (tmp_path / ".bashrc").exists()


def test_open_attachment_needs_a_display(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mail = _with_attachment(tmp_path, monkeypatch)
    (key,) = mail.keys()
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app = ReaderApp(mail.client, key, [key])

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        await pilot.press("v")
        await _settle(app, pilot)
        assert "save it" in app.notes[-1][0]

    _run(app, scenario)


def test_open_attachment_hands_a_private_copy_to_xdg_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = _with_attachment(tmp_path, monkeypatch)
    (key,) = mail.keys()
    # the desktop cannot be real here: a stand-in xdg-open records what it was given
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "opened"
    opener = bin_dir / "xdg-open"
    opener.write_text(f'#!/bin/sh\ncp "$1" "{record}"\n')
    opener.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("DISPLAY", ":99")
    app = ReaderApp(mail.client, key, [key])

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        await pilot.press("v")
        await _settle(app, pilot)

    _run(app, scenario)
    assert record.read_bytes() == b"alias ls='rm -rf ~'\n"
    assert [severity for _m, _t, severity in app.notes] == ["information"]


def test_open_attachment_uses_the_command_the_settings_give_for_its_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = _with_attachment(tmp_path, monkeypatch)
    (key,) = mail.keys()
    # no display at all: a configured command still opens it (a viewer that needs none)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    record = tmp_path / "opened"
    viewer = tmp_path / "viewer"
    viewer.write_text(f'#!/bin/sh\necho "$1" > "{record}.args"\ncp "$2" "{record}"\n')
    viewer.chmod(0o755)
    mail.client.open_commands = (
        ("image/*", "false %s"),
        ("application/octet-stream", f"{viewer} --readonly %s"),
    )
    app = ReaderApp(mail.client, key, [key])

    async def scenario(app: ReaderApp, pilot: Pilot[None]) -> None:
        await pilot.press("v")
        await _settle(app, pilot)

    _run(app, scenario)
    assert record.read_bytes() == b"alias ls='rm -rf ~'\n"
    assert (tmp_path / "opened.args").read_text() == "--readonly\n"
    assert [severity for _m, _t, severity in app.notes] == ["information"]


def test_complete_directory(tmp_path: Path) -> None:
    for name in ("Documents", "Downloads", ".hidden"):
        (tmp_path / name).mkdir()
    (tmp_path / "Dofile").write_text("")
    assert complete_directory(f"{tmp_path}/Dow") == f"{tmp_path}/Downloads/"
    assert complete_directory(f"{tmp_path}/Do", unique=True) is None  # Documents or Downloads
    assert complete_directory(f"{tmp_path}/D", unique=True) == f"{tmp_path}/Do"
    assert complete_directory(f"{tmp_path}/.h") == f"{tmp_path}/.hidden/"
    assert complete_directory(f"{tmp_path}/h") is None
    assert complete_directory(f"{tmp_path}/none/x") is None
    assert complete_directory("~") == "~/"
