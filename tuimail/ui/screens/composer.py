"""The composer: write a message or a draft, attach files, save it to Drafts, send it."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, Select, Static, TextArea

from tuimail.mime.build import AddressError, format_addresses, parse_addresses
from tuimail.mime.sanitize import safe_line, safe_text
from tuimail.model.errors import MailError
from tuimail.model.message import Address, Draft
from tuimail.services.client import MailClient
from tuimail.ui.screens.dialogs import ChoiceDialog, PickDialog
from tuimail.ui.text import error_text, line

if TYPE_CHECKING:
    from tuimail.services.compose import Outcome

Editor = Callable[[str], str]
"""Edits a body: takes the text, returns the text edited (raises MailError when it cannot)."""

_State = tuple[object, ...]
"""What the person wrote, to tell whether anything changed since the last save or send."""

_RETRYABLE_STATES = frozenset({"waiting", "held"})
"""Outbox states of a message that is not going out right now (it can still be taken back)."""

_SHOWN_PATHS = 6
"""How many matching file names the path prompt lists under its input."""


# Completion -------------------------------------------------------------------------------


def split_last_entry(value: str) -> tuple[str, str]:
    """``value`` cut before the address being typed: (what comes before, the partial entry).

    Entries are separated by commas or semicolons outside quotes and ``<...>``; the partial
    entry has its leading spaces left in the first part.
    """
    cut = 0
    quoted = False
    angle = 0
    for index, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char == "<":
            angle += 1
        elif char == ">" and angle:
            angle -= 1
        elif char in ",;" and not angle:
            cut = index + 1
    partial = value[cut:].lstrip()
    return value[: len(value) - len(partial)], partial


def complete_address(value: str, found: list[Address]) -> str | None:
    """``value`` with its last entry completed from ``found`` (best first); None: no completion.

    The entry completes to ``Name <address>`` when the name starts with what was typed, else
    to the bare address when that does (letter case is taken from the address book).
    """
    head, partial = split_last_entry(value)
    if not partial:
        return None
    typed = partial.casefold()
    for address in found:
        for written in (format_addresses([address]), address.email):
            candidate = safe_line(written)
            if len(candidate) > len(partial) and candidate[: len(partial)].casefold() == typed:
                return head + candidate
    return None


class AddressSuggester(Suggester):
    """Completes the address being typed (the last entry of a list) from the cache."""

    def __init__(self, lookup: Callable[[str], list[Address]]) -> None:
        super().__init__(use_cache=True, case_sensitive=True)
        self._lookup = lookup

    async def get_suggestion(self, value: str) -> str | None:
        """The whole value with its last entry completed, looked up in a thread."""
        _head, partial = split_last_entry(value)
        if not partial:
            return None
        try:
            found = await asyncio.to_thread(self._lookup, partial)
        except Exception:  # completion is a convenience: a failure means no suggestion
            return None
        return complete_address(value, found)


def path_matches(value: str) -> tuple[str, list[str]]:
    """The folder part of a path as typed, and the names in it that start with the rest.

    ``~`` is expanded; folders end with ``/``; hidden names only when the rest starts with a dot.
    """
    if value == "~":
        return "", ["~/"]
    typed_folder, slash, prefix = value.rpartition("/")
    typed_folder += slash
    folder = Path(os.path.expanduser(typed_folder or "."))
    names: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.name.startswith(prefix):
                    continue
                if entry.name.startswith(".") and not prefix.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                names.append(entry.name + ("/" if is_dir else ""))
    except OSError:
        return typed_folder, []
    return typed_folder, sorted(names)


def complete_path(value: str, typed_folder: str, names: list[str]) -> str | None:
    """Like a shell: the one match, else what all matches share; None when that adds nothing."""
    if not names:
        return None
    common = names[0]
    for name in names[1:]:
        while not name.startswith(common):
            common = common[:-1]
    completed = typed_folder + common
    return completed if len(completed) > len(value) else None


class PathSuggester(Suggester):
    """Completes a file path like a shell; tells ``shown`` every name that matches."""

    def __init__(self, shown: Callable[[list[str]], None]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._shown = shown

    async def get_suggestion(self, value: str) -> str | None:
        """The path completed as far as it is unambiguous (the folder is read in a thread)."""
        typed_folder, names = await asyncio.to_thread(path_matches, value)
        self._shown(names)
        return complete_path(value, typed_folder, names)


# Small dialogs ----------------------------------------------------------------------------


class _PathPrompt(ModalScreen[str]):
    """Asks for the path of a file; tab completes like a shell, matches are listed below."""

    DEFAULT_CSS = """
    _PathPrompt {
        align: center middle;
        & > Vertical {
            width: 90%; max-width: 100; height: auto; padding: 0 1;
            border: thick $primary; background: $surface;
        }
        & #matches { color: $text-muted; height: auto; max-height: 6; }
        & #problem { color: $error; height: auto; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False, priority=True),
        Binding("escape", "cancel", "Cancel", show=False),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        """The title, the input and the matching names."""
        with Vertical():
            yield Label(Text(self.title_text))
            yield Input(
                placeholder="path of the file (tab completes)",
                suggester=PathSuggester(self._show_matches),
                compact=True,
                id="path",
            )
            yield Static(id="matches")
            yield Static(id="problem")

    def _show_matches(self, names: list[str]) -> None:
        shown = ", ".join(names[:_SHOWN_PATHS])
        if len(names) > _SHOWN_PATHS:
            shown += f", … ({len(names)} in all)"
        self.query_one("#matches", Static).update(Text(safe_line(shown)) if len(names) > 1 else "")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.query_one("#problem", Static).update("")
        if not event.value:
            self._show_matches([])

    def action_complete(self) -> None:
        """Take the completion (tab)."""
        field = self.query_one("#path", Input)
        field.cursor_position = len(field.value)
        field.action_cursor_right()

    def action_cancel(self) -> None:
        """Close without a path."""
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value:
            self.dismiss(None)
            return
        path = Path(os.path.expanduser(value))
        if not path.is_file():
            why = "is a folder" if path.is_dir() else "is not a file that can be read"
            self.query_one("#problem", Static).update(Text(safe_line(f"{value} {why}.")))
            return
        self.dismiss(str(path.resolve()))


# The composer -----------------------------------------------------------------------------


def _size(nbytes: int) -> str:
    if nbytes < 1024:
        return f"{nbytes} B"
    if nbytes < 1024 * 1024:
        return f"{nbytes / 1024:.0f} KB"
    return f"{nbytes / (1024 * 1024):.1f} MB"


def _file_size(path: str) -> str:
    try:
        return _size(Path(path).stat().st_size)
    except OSError:
        return "missing"


def _editor_argv() -> list[str]:
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = []
    if not argv:
        raise MailError(f"Cannot read the editor command {command!r}.", title="No editor")
    return argv


class ComposerScreen(Screen[None]):
    """Write a message: From, To, Cc, Bcc, Subject, the body and attachments; save or send it.

    A send goes through the outbox: when it fails, the screen and its text stay, the message
    waits in the outbox, and sending again replaces that copy. Nothing typed is lost without
    a question.
    """

    DEFAULT_CSS = """
    ComposerScreen {
        layout: vertical;
        & #fields { height: 1fr; }
        & .row { height: 1; }
        & .label { width: 9; padding: 0 1 0 0; color: $text-muted; text-align: right; }
        & .row Input, & .row Select { width: 1fr; }
        & Input.-invalid { color: $error; text-style: bold; }
        & #attachments { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
        & #body { height: 1fr; min-height: 4; }
        & #status { height: auto; max-height: 3; padding: 0 1; display: none; }
        & #status.-shown { display: block; }
        & #status.-error { background: $error 30%; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send", id="composer.send"),
        Binding("f5", "save_draft", "Save draft", id="composer.save_draft"),
        Binding("f4", "edit_body", "Editor", id="composer.edit_body"),
        Binding("f2", "attach", "Attach", id="composer.attach"),
        Binding("f3", "detach", "Detach", id="composer.detach"),
        Binding("escape", "close", "Close", id="composer.close"),
    ]

    def __init__(
        self,
        client: MailClient,
        draft: Draft,
        *,
        editor: Editor | None = None,
        draft_location: str | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.draft = draft
        """The draft as given: its threading headers and Message-ID go out with the message."""
        self.editor: Editor = editor or self.edit_in_terminal
        self.draft_location = draft_location
        """Where the draft was last saved (replaced by the next save), None when never."""
        self._files: list[str] = list(draft.attachments)
        self._raw: list[tuple[str, str, bytes]] = list(draft.raw_attachments)
        self._busy = ""
        self._saved_state: _State | None = None
        self._close_after_save = False
        self._queued: int | None = None
        """The outbox entry of a send that failed: sending again replaces it."""
        self._refocus: Widget | None = None
        self._close_when_active = False

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """The header fields, attachments, body, a status line and the keys."""
        accounts = self.client.accounts
        options = [
            (Text(safe_line(str(Address(account.name, account.email)))), account.id)
            for account in accounts
        ]
        ids = [account.id for account in accounts]
        chosen = self.draft.account if self.draft.account in ids else (ids[0] if ids else None)
        with Vertical(id="fields"):
            with Horizontal(classes="row"):
                yield Label("From", classes="label")
                select: Select[str] = Select(
                    options,
                    allow_blank=not options,
                    compact=True,
                    id="from",
                    value=Select.NULL if chosen is None else chosen,
                )
                yield select
            lookup = self.client.addresses
            for field, label, addresses in (
                ("to", "To", self.draft.to),
                ("cc", "Cc", self.draft.cc),
                ("bcc", "Bcc", self.draft.bcc),
            ):
                with Horizontal(classes="row"):
                    yield Label(label, classes="label")
                    yield Input(
                        safe_line(format_addresses(addresses)),
                        placeholder="Name <address>, …" if field == "to" else "",
                        suggester=AddressSuggester(lookup),
                        compact=True,
                        id=field,
                    )
            with Horizontal(classes="row"):
                yield Label("Subject", classes="label")
                yield Input(safe_line(self.draft.subject), compact=True, id="subject")
            yield Static(id="attachments")
            body = safe_text(self.draft.body)
            if self.draft.in_reply_to and body and not body.startswith("\n"):
                body = "\n\n" + body  # room to write above the quote; the cursor starts there
            yield TextArea(body, soft_wrap=True, tab_behavior="focus", id="body")
        yield Static(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Remember the text as given (nothing typed yet) and focus where writing starts."""
        self._show_attachments()
        self._saved_state = self._state()
        target = "#body" if self.draft.to else "#to"
        self.query_one(target).focus()

    # -- state -----------------------------------------------------------------------------

    def _state(self) -> _State:
        return (
            self.query_one("#from", Select).value,
            *(self.query_one(f"#{name}", Input).value for name in ("to", "cc", "bcc", "subject")),
            self.query_one("#body", TextArea).text,
            tuple(self._files),
            tuple(name for name, _type, _data in self._raw),
        )

    @property
    def unsaved(self) -> bool:
        """Whether anything was written since the message was opened, saved or sent."""
        return self._state() != self._saved_state

    @property
    def busy(self) -> str:
        """What the composer is doing (``Sending…``, ``Saving…``), empty when idle."""
        return self._busy

    def _set_status(self, text: Text | str, *, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(text)
        status.set_class(bool(text), "-shown")
        status.set_class(error, "-error")

    def _set_busy(self, what: str, *, lock: bool = False) -> None:
        self._busy = what
        fields = self.query_one("#fields")
        if lock:
            self._refocus = self.focused
            fields.disabled = True
        elif fields.disabled:
            fields.disabled = False
            if self._refocus is not None and self._refocus.is_attached:
                self._refocus.focus()
            self._refocus = None
        self._set_status(Text(what) if what else "")

    def _show_attachments(self) -> None:
        parts: list[Text] = []
        for path in self._files:
            parts.append(line(f"{Path(path).name} ({_file_size(path)})"))
        for name, _type, data in self._raw:
            parts.append(line(f"{name} ({_size(len(data))})"))
        shown = self.query_one("#attachments", Static)
        if not parts:
            shown.update(Text("No attachments (F2 attaches a file)", style="dim"))
            return
        text = Text("Attached: ", style="bold")
        text.append(Text(", ").join(parts))
        shown.update(text)

    def _attachment_names(self) -> list[Text]:
        names = [line(f"{Path(path).name}  ({path})") for path in self._files]
        names += [line(f"{name}  (from the original message)") for name, _t, _d in self._raw]
        return names

    def _tell(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information"
    ) -> None:
        self.notify(message, title=title, severity=severity, markup=False)

    def _tell_error(self, error: MailError, *, note: str = "") -> None:
        title, message = error_text(error)
        if note:
            message = f"{message} {note}"
        self._tell(message, title=title, severity="error")
        self._set_status(Text(safe_line(f"{title}: {message}")), error=True)

    def _refuse_when_busy(self) -> bool:
        if self._busy:
            self._tell(f"{self._busy.rstrip('…')}: wait a moment.", severity="warning")
            return True
        return False

    # -- the draft -------------------------------------------------------------------------

    def _draft(self) -> Draft | None:
        """The draft as written now; None (and the bad entry shown) when an address is bad."""
        recipients: dict[str, tuple[Address, ...]] = {}
        for name, label in (("to", "To"), ("cc", "Cc"), ("bcc", "Bcc")):
            field = self.query_one(f"#{name}", Input)
            try:
                recipients[name] = parse_addresses(field.value)
            except AddressError as exc:
                self._bad_address(field, label, exc)
                return None
        chosen = self.query_one("#from", Select).value
        return replace(
            self.draft,
            account=chosen if isinstance(chosen, str) else self.draft.account,
            to=recipients["to"],
            cc=recipients["cc"],
            bcc=recipients["bcc"],
            subject=self.query_one("#subject", Input).value,
            body=self.query_one("#body", TextArea).text,
            attachments=tuple(self._files),
            raw_attachments=tuple(self._raw),
        )

    def _bad_address(self, field: Input, label: str, error: AddressError) -> None:
        field.add_class("-invalid")
        field.focus()
        where = field.value.find(error.entry)
        field.cursor_position = where if where >= 0 else len(field.value)
        title, message = error_text(error)
        self._tell(f"{label}: {message}", title=title, severity="error")
        self._set_status(Text(safe_line(f"{label}: {message}")), error=True)

    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        if event.input.has_class("-invalid"):
            event.input.remove_class("-invalid")
            if not self._busy:
                self._set_status("")

    @on(Input.Submitted)
    def _field_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    # -- sending ---------------------------------------------------------------------------

    def action_send(self) -> None:
        """Check the addresses, then send through the outbox (in a thread)."""
        if self._refuse_when_busy():
            return
        draft = self._draft()
        if draft is None:
            return
        state = self._state()
        self._set_busy("Sending…", lock=True)
        self._send(draft, state, self._queued)

    @work(thread=True, exit_on_error=False, group="composer.send")
    def _send(self, draft: Draft, state: _State, earlier: int | None) -> None:
        try:
            if earlier is not None and not self._take_back(earlier):
                self.app.call_from_thread(self._earlier_went_out)
                return
            outcome = self.client.send(draft)
        except MailError as exc:
            self.app.call_from_thread(self._not_sent, exc)
        except Exception as exc:  # never a traceback on screen (its locals may hold secrets)
            error = MailError(
                f"Something unexpected went wrong ({type(exc).__name__}: {exc}); the message "
                "may be waiting in the outbox.",
                title="Not sent",
            )
            self.app.call_from_thread(self._not_sent, error, "The text is still here.")
        else:
            self.app.call_from_thread(self._after_send, outcome, state)

    def _take_back(self, entry: int) -> bool:
        """Remove an earlier failed try from the outbox; False when it has gone out meanwhile."""
        from tuimail.services.compose import Outbox  # noqa: PLC0415 - loaded when sending

        with Outbox(self.client.outbox_file) as outbox:
            found = next((queued for queued in outbox.entries() if queued.id == entry), None)
            if found is None or found.sent_at is not None or found.state not in _RETRYABLE_STATES:
                return False
            outbox.drop(entry)
        return True

    def _earlier_went_out(self) -> None:
        if not self.is_attached:
            return
        self._queued = None
        self._set_busy("")
        message = (
            "The earlier try of this message was sent from the outbox meanwhile. Press ctrl+s "
            "again to send this version as well, or escape to close."
        )
        self._tell(message, title="Sent already", severity="warning")
        self._set_status(Text(message), error=True)

    def _not_sent(
        self, error: MailError, note: str = "Nothing was sent; the text is still here."
    ) -> None:
        if not self.is_attached:
            return
        self._set_busy("")
        self._tell_error(error, note=note)

    def _after_send(self, outcome: Outcome, state: _State) -> None:
        if not self.is_attached:
            return
        self._set_busy("")
        self._saved_state = state  # the message is safe: sent, or kept in the outbox
        if not outcome.sent:
            self._queued = outcome.entry
            note = "It waits in the outbox; ctrl+s tries again (replacing that copy)."
            error = outcome.error or MailError("It was not sent yet.", title="Not sent")
            self._tell_error(error, note=note)
            return
        self._queued = None
        if outcome.refused:
            refused = "; ".join(f"{who}: {why}" for who, why in outcome.refused.items())
            self._tell(safe_line(refused), title="Some recipients refused", severity="warning")
        if outcome.copy_error is not None:
            title, message = error_text(outcome.copy_error)
            self._tell(
                f"Sent, but not filed in Sent: {message} It is tried again later.",
                title=title,
                severity="warning",
            )
        self._tell("Sent")
        self._close()

    # -- drafts ----------------------------------------------------------------------------

    def action_save_draft(self) -> None:
        """Save to the account's Drafts, replacing the copy saved before."""
        if self._refuse_when_busy():
            return
        draft = self._draft()
        if draft is None:
            return
        state = self._state()
        self._set_busy("Saving…")
        self._save(draft, state, self.draft_location)

    @work(thread=True, exit_on_error=False, group="composer.save")
    def _save(self, draft: Draft, state: _State, replaces: str | None) -> None:
        try:
            location = self.client.save_draft(draft, replaces=replaces)
        except MailError as exc:
            self.app.call_from_thread(self._not_saved, exc)
        except Exception as exc:  # never a traceback on screen
            error = MailError(f"{type(exc).__name__}: {exc}", title="Draft not saved")
            self.app.call_from_thread(self._not_saved, error)
        else:
            self.app.call_from_thread(self._saved, location, state)

    def _saved(self, location: str, state: _State) -> None:
        if not self.is_attached:
            return
        self._set_busy("")
        self.draft_location = location or None
        self._saved_state = state
        self._tell("Draft saved")
        if self._close_after_save:
            self._close_after_save = False
            self._close()

    def _not_saved(self, error: MailError) -> None:
        if not self.is_attached:
            return
        self._set_busy("")
        self._close_after_save = False  # not saved: stay, with the text
        self._tell_error(error, note="The text is still here.")

    # -- the body in an editor -------------------------------------------------------------

    def action_edit_body(self) -> None:
        """Edit the body in $VISUAL or $EDITOR (the app steps aside meanwhile)."""
        if self._refuse_when_busy():
            return
        body = self.query_one("#body", TextArea)
        try:
            edited = self.editor(body.text)
        except MailError as exc:
            self._tell_error(exc, note="The text is unchanged.")
            return
        if edited != body.text:
            body.load_text(safe_text(edited))
        body.focus()

    def edit_in_terminal(self, text: str) -> str:
        """Run $VISUAL (else $EDITOR, else vi) on ``text`` in a private temporary file."""
        argv = _editor_argv()
        descriptor, name = tempfile.mkstemp(prefix="tuimail-", suffix=".txt")  # mode 0600
        path = Path(name)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
            try:
                with self.app.suspend():
                    done = subprocess.run([*argv, name], check=False)
            except SuspendNotSupported:
                raise MailError(
                    "This terminal cannot hand itself over to an editor.", title="No editor"
                ) from None
            except OSError as exc:
                raise MailError(
                    f"Cannot run {argv[0]!r}: {exc.strerror}.", title="No editor"
                ) from None
            if done.returncode != 0:
                raise MailError(
                    f"{argv[0]} ended with exit status {done.returncode}.", title="Editor failed"
                )
            try:
                return path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise MailError(
                    f"Cannot read the edited text back: {exc.strerror}.", title="Editor failed"
                ) from None
        finally:
            path.unlink(missing_ok=True)

    # -- attachments -----------------------------------------------------------------------

    def action_attach(self) -> None:
        """Ask for a file to attach."""
        if self._refuse_when_busy():
            return
        self.app.push_screen(_PathPrompt("Attach which file?"), self._add_file)

    def _add_file(self, path: str | None) -> None:
        if not path:
            return
        if path in self._files:
            self._tell(f"{Path(path).name} is attached already.", severity="warning")
            return
        self._files.append(path)
        self._show_attachments()

    def action_detach(self) -> None:
        """Remove an attachment (asks which when there are several)."""
        if self._refuse_when_busy():
            return
        names = self._attachment_names()
        if not names:
            self._tell("There is no attachment to remove.", severity="warning")
        elif len(names) == 1:
            self._remove_attachment(0)
        else:
            choices = [(str(index), name) for index, name in enumerate(names)]
            self.app.push_screen(
                PickDialog("Remove which attachment?", choices, placeholder="Type to filter"),
                self._remove_chosen,
            )

    def _remove_chosen(self, choice: str | None) -> None:
        if choice is not None:
            self._remove_attachment(int(choice))

    def _remove_attachment(self, index: int) -> None:
        if index < len(self._files):
            removed = Path(self._files.pop(index)).name
        elif index - len(self._files) < len(self._raw):
            removed = self._raw.pop(index - len(self._files))[0]
        else:
            return
        self._show_attachments()
        self._tell(f"Removed {safe_line(removed)}")

    # -- closing ---------------------------------------------------------------------------

    def action_close(self) -> None:
        """Close; asks first when something written would be lost."""
        if self._refuse_when_busy():
            return
        if not self.unsaved:
            self._close()
            return
        question = ChoiceDialog(
            "This message is not saved.",
            [("save", "Save draft", "s"), ("discard", "Discard", "d"), ("cancel", "Cancel", "c")],
            title="Close the message?",
        )
        self.app.push_screen(question, self._close_answered)

    def _close_answered(self, answer: str | None) -> None:
        if answer == "discard":
            self._close()
        elif answer == "save":
            self._close_after_save = True
            self.action_save_draft()

    def _close(self) -> None:
        """Leave the screen, once it is on top again when something covers it."""
        if self.is_active:
            self.dismiss(None)
        else:
            self._close_when_active = True

    def on_screen_resume(self) -> None:
        """Close now when that was asked while another screen covered this one."""
        if self._close_when_active:
            self._close_when_active = False
            self.dismiss(None)
