"""The composer over a real local Maildir account that sends through a sendmail script."""

from __future__ import annotations

import asyncio
import email
import email.policy
import shlex
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers.ui import until
from textual.app import App
from textual.notifications import SeverityLevel
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Select, Static, TextArea
from textual.worker import WorkerCancelled

from tuimail.backends.local.maildir import Maildir
from tuimail.config.paths import Paths
from tuimail.model.account import Account, LocalFormat, LocalSource, Role
from tuimail.model.message import Address, Draft
from tuimail.services.client import MailClient
from tuimail.services.compose import Outbox
from tuimail.ui.screens.composer import (
    ComposerScreen,
    complete_address,
    complete_path,
    path_matches,
    split_last_entry,
)
from tuimail.ui.screens.dialogs import ChoiceDialog, PickDialog

WIDTH, HEIGHT = 80, 24


@dataclass(frozen=True)
class Note:
    """One notification the app showed."""

    message: str
    title: str
    severity: str
    markup: bool


class ComposerApp(App[None]):
    """An app that shows one composer and records its notifications."""

    def __init__(self, composer: ComposerScreen) -> None:
        super().__init__()
        self.composer = composer
        self.notes: list[Note] = []

    def on_mount(self) -> None:
        """Open the composer."""
        self.push_screen(self.composer)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Record, then show."""
        self.notes.append(Note(message, title, severity, markup))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def errors(self) -> list[Note]:
        """The error notifications so far."""
        return [note for note in self.notes if note.severity == "error"]


@dataclass
class Mail:
    """A real local account, its client, and where its sendmail writes what it gets."""

    tmp: Path
    root: Path
    client: MailClient
    received: Path
    editor_calls: list[str] = field(default_factory=list)

    def composer(self, draft: Draft | None = None, **kwargs: object) -> ComposerScreen:
        """A composer on this account (with a fake editor that appends a line)."""

        def editor(text: str) -> str:
            self.editor_calls.append(text)
            return "Written in the editor.\n"

        return ComposerScreen(
            self.client,
            draft or Draft(account="home"),
            editor=editor,
            **kwargs,  # type: ignore[arg-type]
        )

    def sent(self) -> EmailMessage:
        """What the sendmail script received."""
        parsed = email.message_from_bytes(self.received.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def outbox(self) -> int:
        """How many messages wait in the outbox."""
        with Outbox(self.client.outbox_file) as outbox:
            return len(outbox.entries())

    def drafts(self) -> list[Path]:
        """The files of the Maildir's Drafts folder."""
        folder = self.root / ".Drafts"
        return sorted((folder / "cur").iterdir()) if folder.is_dir() else []


def _sendmail(tmp: Path, received: Path, body: str) -> str:
    script = tmp / "sendmail.sh"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return shlex.quote(str(script))


def make_mail(tmp: Path, *, sendmail: str = "", second: bool = False) -> Mail:
    """A Maildir account whose sendmail saves its input (or runs ``sendmail`` instead).

    ``second`` adds an account "work" on the same Maildir and sendmail.
    """
    root = tmp / "Maildir"
    Maildir(root, create=True)
    received = tmp / "received.eml"
    command = _sendmail(tmp, received, sendmail or f"cat > {shlex.quote(str(received))}")
    account = Account(
        "home",
        "Robin",
        "robin@example.test",
        None,
        local=LocalSource(LocalFormat.MAILDIR, str(root)),
        sendmail=command,
    )
    accounts = [account]
    if second:
        accounts.append(replace(account, id="work", name="Robin at work", email="robin@work.test"))
    paths = Paths(config_file=tmp / "config.toml", data_dir=tmp / "data", cache_dir=tmp / "cache")
    paths.ensure_private_dirs()

    def passwords(_account: Account, _role: Role) -> str:
        return ""

    client = MailClient(paths, accounts, passwords, cache_file=tmp / "cache" / "cache.sqlite")
    return Mail(tmp, root, client, received)


@pytest.fixture
def mail(tmp_path: Path) -> Mail:
    """A working account."""
    return make_mail(tmp_path)


Scenario = Callable[[ComposerApp, Pilot[None]], Awaitable[None]]


def run(composer: ComposerScreen, scenario: Scenario) -> None:
    """Run ``scenario`` against an app showing ``composer`` at 80x24."""

    async def main() -> None:
        app = ComposerApp(composer)
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())


async def settle(app: ComposerApp, pilot: Pilot[None]) -> None:
    """Wait for every worker (sending, saving, completion) and the screen updates after them."""
    for _ in range(3):
        for worker in list(app.workers):
            with suppress(WorkerCancelled):  # a screen's workers end with it
                await worker.wait()
        await pilot.pause()


async def type_text(pilot: Pilot[None], text: str) -> None:
    """Type ``text`` key by key (a newline is enter)."""
    await pilot.press(*("enter" if char == "\n" else char for char in text))


def value(app: ComposerApp, selector: str) -> str:
    """The value of an Input of the composer."""
    return app.composer.query_one(selector, Input).value


def body(app: ComposerApp) -> str:
    """The body text of the composer."""
    return app.composer.query_one("#body", TextArea).text


def top(app: ComposerApp) -> Screen[object]:
    """The screen on top (a call: mypy must not narrow it across key presses)."""
    return app.screen


def unsaved(app: ComposerApp) -> bool:
    """Whether the composer holds text not saved or sent (a call: mypy must not narrow it)."""
    return app.composer.unsaved


def status(app: ComposerApp) -> str:
    """The composer's status line as plain text."""
    return str(app.composer.query_one("#status", Static).render())


# Sending -----------------------------------------------------------------------------------


def test_typed_message_is_sent_through_sendmail(mail: Mail) -> None:
    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        assert app.composer.query_one("#to", Input).has_focus
        await type_text(pilot, "Ada Lovelace <ada@example.org>")
        await pilot.press("tab", "tab", "tab")  # Cc, Bcc, Subject
        await type_text(pilot, "Engines")
        await pilot.press("enter")  # on to the body
        assert app.composer.query_one("#body", TextArea).has_focus
        await type_text(pilot, "Dear Ada,\nthe numbers are ready.")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not isinstance(top(app), ComposerScreen)
        assert any(note.message == "Sent" for note in app.notes)
        assert app.errors() == []

    run(mail.composer(), scenario)
    sent = mail.sent()
    assert sent["To"] == "Ada Lovelace <ada@example.org>"
    assert sent["From"] == "Robin <robin@example.test>"
    assert sent["Subject"] == "Engines"
    part = sent.get_body(("plain",))
    assert part is not None
    assert part.get_content() == "Dear Ada,\nthe numbers are ready.\n"
    assert mail.outbox() == 0
    assert len(list((mail.root / ".Sent" / "cur").iterdir())) == 1


def test_from_picks_the_account(tmp_path: Path) -> None:
    mail = make_mail(tmp_path, second=True)
    draft = Draft(account="home", to=(Address("", "ada@example.org"),), body="Hi")

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        choice = app.composer.query_one("#from", Select)
        assert choice.value == "home"
        choice.focus()
        await pilot.press("enter", "down", "enter")
        assert choice.value == "work"
        assert unsaved(app)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.errors() == []

    run(mail.composer(draft), scenario)
    assert mail.sent()["From"] == "Robin at work <robin@work.test>"


def test_bad_address_is_named_and_nothing_is_sent(mail: Mail) -> None:
    draft = Draft(account="home", subject="Hello", body="Some text")

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        to = app.composer.query_one("#to", Input)
        to.value = "ada@example.org, [/nope]@@bad"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert top(app) is app.composer
        errors = app.errors()
        assert len(errors) == 1
        assert "[/nope]@@bad" in errors[0].message
        assert errors[0].message.startswith("To: ")
        assert not errors[0].markup
        assert "[/nope]@@bad" in status(app)
        assert to.has_class("-invalid")
        assert to.has_focus
        assert to.cursor_position == len("ada@example.org, ")
        assert body(app) == "Some text"
        await type_text(pilot, "x")  # typing clears the mark
        assert not to.has_class("-invalid")

    run(mail.composer(draft), scenario)
    assert not mail.received.exists()
    assert mail.outbox() == 0


def test_failing_sendmail_keeps_the_text_and_the_message_waits_in_the_outbox(
    tmp_path: Path,
) -> None:
    mail = make_mail(tmp_path, sendmail="cat > /dev/null\necho 'queue is full' >&2\nexit 1")
    draft = Draft(account="home", to=(Address("", "ada@example.org"),), subject="Engines")

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        await type_text(pilot, "The text I wrote.")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert top(app) is app.composer
        errors = app.errors()
        assert len(errors) == 1
        assert errors[0].title == "Not sent"
        assert "exit status 1" in errors[0].message
        assert "queue is full" in errors[0].message
        assert "outbox" in errors[0].message
        assert body(app) == "The text I wrote."
        assert app.composer.query_one("#body", TextArea).has_focus  # back where it was
        assert value(app, "#subject") == "Engines"
        assert mail.outbox() == 1
        # the fields are usable again, and a second try replaces the first in the outbox
        assert not app.composer.query_one("#fields").disabled
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert len(app.errors()) == 2
        assert mail.outbox() == 1
        assert top(app) is app.composer

    run(mail.composer(draft), scenario)
    with Outbox(mail.client.outbox_file) as outbox:
        (waiting,) = outbox.entries()
    assert waiting.subject == "Engines"
    assert "queue is full" in waiting.last_error


def test_sending_is_shown_and_the_screen_waits_for_it(tmp_path: Path) -> None:
    go = tmp_path / "go"
    received = tmp_path / "received.eml"
    wait = f"while [ ! -e {shlex.quote(str(go))} ]; do sleep 0.02; done"
    mail = make_mail(tmp_path, sendmail=f"{wait}\ncat > {shlex.quote(str(received))}")
    draft = Draft(account="home", to=(Address("", "ada@example.org"),), body="Hi")

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.composer.busy == "Sending…"
        assert "Sending" in status(app)
        assert app.composer.query_one("#fields").disabled
        await pilot.press("escape")  # no closing while it goes out
        await pilot.pause()
        assert top(app) is app.composer
        go.touch()
        await settle(app, pilot)
        assert not isinstance(top(app), ComposerScreen)

    run(mail.composer(draft), scenario)
    assert mail.sent()["To"] == "ada@example.org"


# The body in an editor ---------------------------------------------------------------------


def test_editor_replaces_the_body(mail: Mail) -> None:
    draft = Draft(account="home", to=(Address("", "ada@example.org"),), body="Before.\n")

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        assert app.composer.query_one("#body", TextArea).has_focus  # a recipient: the body
        await pilot.press("f4")
        assert body(app) == "Written in the editor.\n"
        assert unsaved(app)
        await pilot.press("ctrl+s")
        await settle(app, pilot)

    run(mail.composer(draft), scenario)
    assert mail.editor_calls == ["Before.\n"]
    part = mail.sent().get_body(("plain",))
    assert part is not None
    assert part.get_content() == "Written in the editor.\n"


def test_default_editor_cannot_suspend_under_tests_and_says_so(mail: Mail) -> None:
    composer = ComposerScreen(mail.client, Draft(account="home", body="Kept"))

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        await pilot.press("f4")
        await pilot.pause()
        assert body(app) == "Kept"
        assert [note.title for note in app.errors()] == ["No editor"]

    run(composer, scenario)


class SuspendingApp(ComposerApp):
    """An app whose suspend() works under run_test (it steps aside without a terminal)."""

    @contextmanager
    def suspend(self) -> Iterator[None]:
        """Nothing to hand over: the editor runs without a terminal."""
        yield


def test_default_editor_runs_visual_on_a_private_file(
    mail: Mail, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = mail.tmp / "seen.txt"
    script = mail.tmp / "editor.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s %s" "$(stat -c %a "$2")" "$2" > {shlex.quote(str(seen))}\n'
        'printf "From the editor\\n" >> "$2"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setenv("VISUAL", f"{shlex.quote(str(script))} --wait")
    composer = ComposerScreen(mail.client, Draft(account="home", body="Typed first.\n"))

    async def main() -> None:
        app = SuspendingApp(composer)
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            await pilot.pause()
            await pilot.press("f4")
            await pilot.pause()
            assert body(app) == "Typed first.\nFrom the editor\n"
            assert app.errors() == []

    asyncio.run(main())
    mode, path = seen.read_text(encoding="utf-8").split(" ", 1)
    assert mode == "600"
    assert not Path(path).exists()


def test_an_editor_that_fails_leaves_the_body(mail: Mail, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISUAL", "false")
    composer = ComposerScreen(mail.client, Draft(account="home", body="Kept"))

    async def main() -> None:
        app = SuspendingApp(composer)
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            await pilot.pause()
            await pilot.press("f4")
            await pilot.pause()
            assert body(app) == "Kept"
            assert [note.title for note in app.errors()] == ["Editor failed"]

    asyncio.run(main())


# Attachments -------------------------------------------------------------------------------


def test_attached_file_goes_out_with_the_message(mail: Mail) -> None:
    notes = mail.tmp / "notes-for-ada.txt"
    notes.write_text("Bernoulli numbers\n", encoding="utf-8")
    draft = Draft(account="home", to=(Address("", "ada@example.org"),), subject="Notes")

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        await pilot.press("f2")
        await pilot.pause()
        assert top(app) is not app.composer
        path = top(app).query_one("#path", Input)
        path.value = str(mail.tmp / "notes")
        await type_text(pilot, "-")
        await settle(app, pilot)
        await pilot.press("tab")  # completes like a shell
        assert top(app).query_one("#path", Input).value == str(notes)
        await pilot.press("enter")
        await pilot.pause()
        assert top(app) is app.composer
        shown = str(app.composer.query_one("#attachments", Static).render())
        assert "notes-for-ada.txt" in shown
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.errors() == []

    run(mail.composer(draft), scenario)
    attachments = list(mail.sent().iter_attachments())
    assert [part.get_filename() for part in attachments] == ["notes-for-ada.txt"]
    assert isinstance(attachments[0], EmailMessage)
    assert attachments[0].get_content() == "Bernoulli numbers\n"


def test_path_prompt_refuses_what_is_not_a_file(mail: Mail) -> None:
    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        await pilot.press("f2")
        await pilot.pause()
        top(app).query_one("#path", Input).value = str(mail.tmp / "missing.pdf")
        await pilot.press("enter")
        await pilot.pause()
        assert top(app) is not app.composer
        assert "missing.pdf" in str(top(app).query_one("#problem", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert top(app) is app.composer
        assert "No attachments" in str(app.composer.query_one("#attachments", Static).render())

    run(mail.composer(), scenario)


def test_attachments_are_removed(mail: Mail) -> None:
    first = mail.tmp / "first.txt"
    second = mail.tmp / "second.txt"
    first.write_text("1", encoding="utf-8")
    second.write_text("2", encoding="utf-8")
    draft = Draft(
        account="home",
        to=(Address("", "ada@example.org"),),
        attachments=(str(first), str(second)),
        raw_attachments=(("forwarded.eml", "message/rfc822", b"Subject: x\r\n\r\nx\r\n"),),
    )

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        def shown() -> str:
            return str(app.composer.query_one("#attachments", Static).render())

        assert all(name in shown() for name in ("first.txt", "second.txt", "forwarded.eml"))
        await pilot.press("f3")  # several: asks which
        await pilot.pause()
        assert isinstance(top(app), PickDialog)
        await pilot.press("enter")  # the first
        await pilot.pause()
        assert top(app) is app.composer
        assert "first.txt" not in shown()
        assert "second.txt" in shown()
        await pilot.press("f3")
        await pilot.press("escape")  # keeps them
        await pilot.pause()
        assert "second.txt" in shown()
        await pilot.press("f3")
        await pilot.pause()
        await type_text(pilot, "forw")  # typing filters
        await pilot.press("enter")
        await pilot.pause()
        assert "forwarded.eml" not in shown()
        await pilot.press("f3")  # one left: removed at once
        await pilot.pause()
        assert "No attachments" in shown()
        assert unsaved(app)
        await pilot.press("ctrl+s")
        await settle(app, pilot)

    run(mail.composer(draft), scenario)
    assert list(mail.sent().iter_attachments()) == []


# Drafts and closing ------------------------------------------------------------------------


def test_save_draft_and_save_again_replaces_it(mail: Mail) -> None:
    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        await type_text(pilot, "ada@example.org")
        app.composer.query_one("#subject", Input).value = "Plans"
        await pilot.press("f5")
        await settle(app, pilot)
        assert any(note.message == "Draft saved" for note in app.notes)
        (saved,) = mail.drafts()
        info = saved.name.rpartition(":2,")[2]
        assert "D" in info
        assert b"Subject: Plans" in saved.read_bytes()
        assert not unsaved(app)
        first_location = app.composer.draft_location
        assert first_location
        app.composer.query_one("#subject", Input).value = "Plans, revised"
        assert unsaved(app)
        await pilot.press("f5")
        await settle(app, pilot)
        (again,) = mail.drafts()
        assert b"Subject: Plans, revised" in again.read_bytes()
        assert app.composer.draft_location != first_location
        await pilot.press("escape")  # saved: closes without asking
        await pilot.pause()
        assert not isinstance(top(app), ComposerScreen)

    run(mail.composer(), scenario)
    assert not mail.received.exists()


def test_a_draft_opened_from_drafts_replaces_its_copy(mail: Mail) -> None:
    location = mail.client.save_draft(Draft(account="home", subject="Old"))
    assert len(mail.drafts()) == 1
    draft = Draft(account="home", subject="Old")

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        app.composer.query_one("#subject", Input).value = "New"
        await pilot.press("f5")
        await settle(app, pilot)

    run(mail.composer(draft, draft_location=location), scenario)
    (saved,) = mail.drafts()
    assert b"Subject: New" in saved.read_bytes()


def test_closing_with_typed_text_asks_first(mail: Mail) -> None:
    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        await type_text(pilot, "ada@")
        await pilot.press("escape")
        await pilot.pause()
        question = top(app)
        assert isinstance(question, ChoiceDialog)
        assert question.question.plain == "This message is not saved."
        assert [value for value, _, _ in question.choices] == ["save", "discard", "cancel"]
        await pilot.press("c")  # cancel: back to writing
        await pilot.pause()
        assert top(app) is app.composer
        assert value(app, "#to") == "ada@"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape")  # escape in the question is cancel too
        await pilot.pause()
        assert top(app) is app.composer
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(top(app), ComposerScreen)

    run(mail.composer(), scenario)
    assert not mail.drafts()  # discarded: nothing saved


def test_closing_offers_to_save_the_draft(mail: Mail) -> None:
    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        await type_text(pilot, "ada@example.org")
        app.composer.query_one("#subject", Input).value = "Kept for later"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(top(app), ChoiceDialog)
        await pilot.press("enter")  # the first answer, focused: save the draft
        await until(lambda: not isinstance(top(app), ComposerScreen | ChoiceDialog))

    run(mail.composer(), scenario)
    (saved,) = mail.drafts()
    assert b"Subject: Kept for later" in saved.read_bytes()


def test_closing_untouched_closes_at_once(mail: Mail) -> None:
    draft = Draft(account="home", to=(Address("Ada", "ada@example.org"),), body="> quoted\n")

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(top(app), ComposerScreen)

    run(mail.composer(draft), scenario)


# Completion --------------------------------------------------------------------------------


def test_to_completes_an_address_seen_in_the_cache(mail: Mail) -> None:
    raw = (
        "From: Zoë <zoe@example.org>\r\nTo: Robin <robin@example.test>\r\n"
        "Subject: Hello\r\nMessage-ID: <1@example.org>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nHi\r\n"
    ).encode()
    Maildir(mail.root).deliver("INBOX", raw)
    results = mail.client.sync()
    assert all(not result.errors for result in results)

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        to = app.composer.query_one("#to", Input)
        await type_text(pilot, "ada@example.org, zo")
        await settle(app, pilot)
        await pilot.press("right")  # takes the suggestion
        assert to.value == "ada@example.org, Zoë <zoe@example.org>"
        to.value = ""
        await type_text(pilot, "zoe@")
        await settle(app, pilot)
        await pilot.press("right")
        assert to.value == "zoe@example.org"

    run(mail.composer(), scenario)


def test_last_entry_is_found_outside_quotes_and_brackets() -> None:
    assert split_last_entry("") == ("", "")
    assert split_last_entry("zo") == ("", "zo")
    assert split_last_entry("a@x.org,  zo") == ("a@x.org,  ", "zo")
    assert split_last_entry('"Doe, J" <j@y.org>; an') == ('"Doe, J" <j@y.org>; ', "an")
    assert split_last_entry('"Doe, J') == ("", '"Doe, J')
    found = [Address("Zoë Z", "zoe@example.org"), Address("", "zorro@example.org")]
    assert complete_address("a@x.org, ZO", found) == "a@x.org, Zoë Z <zoe@example.org>"
    assert complete_address("zoe@", found) == "zoe@example.org"
    assert complete_address("zor", found) == "zorro@example.org"
    assert complete_address("a@x.org, ", found) is None
    assert complete_address("zoe@example.org", found) is None  # nothing to add
    hostile = [Address("Eve\x1b]0;pwned\x07", "eve@example.org")]
    completed = complete_address("eve", hostile)
    assert completed is not None
    assert "\x1b" not in completed
    assert "\x07" not in completed


def test_paths_complete_like_a_shell(tmp_path: Path) -> None:
    (tmp_path / "report-2023.pdf").write_bytes(b"%PDF-")
    (tmp_path / "report-2024.pdf").write_bytes(b"%PDF-")
    (tmp_path / "photos").mkdir()
    (tmp_path / ".hidden").write_text("x", encoding="utf-8")
    base = f"{tmp_path}/"
    typed, names = path_matches(base + "rep")
    assert (typed, names) == (base, ["report-2023.pdf", "report-2024.pdf"])
    assert complete_path(base + "rep", typed, names) == base + "report-202"
    typed, names = path_matches(base + "ph")
    assert complete_path(base + "ph", typed, names) == base + "photos/"
    assert path_matches(base)[1] == ["photos/", "report-2023.pdf", "report-2024.pdf"]
    assert path_matches(base + ".h")[1] == [".hidden"]
    assert path_matches(base + "nothing/x") == (base + "nothing/", [])
    assert complete_path("~", *path_matches("~")) == "~/"


# Layout and hostile text -------------------------------------------------------------------


def test_fits_80x24_and_shows_mail_text_literally(mail: Mail) -> None:
    hostile = "[@click=app.quit]Click[/] [bold]me"
    draft = Draft(
        account="home",
        to=(Address(hostile, "eve@example.org"),),
        subject=hostile + "\x1b]0;title\x07",
        body=f"> {hostile}\n> \x1b[31mred\n",
        raw_attachments=(("[red]evil[/red].txt", "text/plain", b"x"),),
    )

    async def scenario(app: ComposerApp, pilot: Pilot[None]) -> None:
        screen = app.composer
        assert f"{hostile}" in value(app, "#to")
        assert value(app, "#subject").startswith(hostile)
        assert "\x1b" not in value(app, "#subject")
        assert "\x1b" not in body(app)
        assert hostile in body(app)
        assert "[red]evil[/red].txt" in str(screen.query_one("#attachments", Static).render())
        for selector in ("#from", "#to", "#cc", "#bcc", "#subject", "#attachments"):
            region = screen.query_one(selector).region
            assert region.height >= 1
            assert region.right <= WIDTH
            assert region.bottom <= HEIGHT
        area = screen.query_one("#body", TextArea).region
        assert area.height >= 10
        assert area.bottom <= HEIGHT - 1  # the key line stays visible

    run(mail.composer(draft), scenario)
