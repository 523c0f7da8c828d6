"""Small modal dialogs any screen may push: a yes/no question, a path prompt, pick lists."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tuimail.ui.text import line

PlainText = str | Text | Content
"""What a dialog shows: a ``str`` is always taken literally (never as markup)."""

_DIALOG_CSS = """
{name} {{
    align: center middle;
    background: $background 60%;
}}
{name} > .dialog {{
    width: 72;
    max-width: 100%;
    height: auto;
    max-height: 100%;
    border: round $primary;
    background: $surface;
    padding: 0 1;
}}
{name} .dialog-title {{
    text-style: bold;
    width: 100%;
}}
{name} .dialog-text {{
    width: 100%;
    margin: 1 0 0 0;
}}
{name} .dialog-error {{
    color: $error;
    width: 100%;
}}
{name} .dialog-buttons {{
    height: auto;
    width: 100%;
    align-horizontal: right;
    margin-top: 1;
}}
{name} .dialog-buttons Button {{
    margin-left: 1;
}}
"""


def _content(value: PlainText) -> Content:
    """``value`` as Content, a plain string taken literally."""
    if isinstance(value, Content):
        return value
    if isinstance(value, Text):
        return Content.from_rich_text(value)
    return Content(value)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; dismisses with True for yes, False for no (or escape).

    ``y`` answers yes and ``n`` or escape answers no; the "no" button has the focus, so a
    stray enter never confirms something destructive.
    """

    DEFAULT_CSS = _DIALOG_CSS.format(name="ConfirmDialog")

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="dialog.yes"),
        Binding("n,escape", "answer(False)", "No", id="dialog.no"),
        Binding("left,right", "app.focus_next", "Other button", show=False),
    ]

    def __init__(
        self,
        question: PlainText,
        *,
        title: PlainText = "Are you sure?",
        yes: str = "Yes",
        no: str = "No",
    ) -> None:
        super().__init__()
        self.question = _content(question)
        self.dialog_title = _content(title)
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        """The question and two buttons."""
        with Vertical(classes="dialog"):
            yield Label(self.dialog_title, classes="dialog-title")
            yield Static(self.question, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content(f"{self.yes_label} (y)"), variant="warning", id="yes")
                yield Button(Content(f"{self.no_label} (n)"), variant="primary", id="no")

    def on_mount(self) -> None:
        """Focus the safe answer."""
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")


class ChoiceDialog(ModalScreen[str | None]):
    """A question with a few answers, each a button with its own key; dismisses with its value.

    ``choices`` are (value, label, key); the first has the focus. Escape answers None (the
    safe "not now"); left and right move between the buttons.
    """

    DEFAULT_CSS = _DIALOG_CSS.format(name="ChoiceDialog")

    BINDINGS = [
        Binding("escape", "answer_none", "Cancel", id="dialog.cancel"),
        Binding("left", "app.focus_previous", "Previous button", show=False),
        Binding("right", "app.focus_next", "Next button", show=False),
    ]

    def __init__(
        self,
        question: PlainText,
        choices: Sequence[tuple[str, str, str]],
        *,
        title: PlainText = "",
    ) -> None:
        super().__init__()
        self.question = _content(question)
        self.dialog_title = _content(title)
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        """The question and a button per answer."""
        with Vertical(classes="dialog"):
            if self.dialog_title:
                yield Label(self.dialog_title, classes="dialog-title")
            yield Static(self.question, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                for index, (value, label, key) in enumerate(self.choices):
                    yield Button(
                        Content(f"{label} ({key})"),
                        variant="primary" if index == 0 else "default",
                        name=value,
                    )

    def on_mount(self) -> None:
        """Focus the first answer."""
        self.query(Button).first().focus()

    def on_key(self, event: events.Key) -> None:
        """An answer's key answers it."""
        for value, _label, key in self.choices:
            if event.key == key:
                event.stop()
                self.dismiss(value)
                return

    def action_answer_none(self) -> None:
        """Close without an answer."""
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.name)


def complete_directory(value: str, *, unique: bool = False) -> str | None:
    """``value`` completed to a directory name, or None when nothing fits.

    ``~`` is understood; hidden directories are offered only once a ``.`` has been typed.
    By default the first match is offered (with its trailing ``/``); with ``unique`` the
    longest prefix all matches share, and the trailing ``/`` only when one directory fits.
    """
    if value == "~":
        return "~/"
    head, separator, partial = value.rpartition("/")
    parent = Path(os.path.expanduser(head + "/")) if separator else Path.cwd()
    try:
        with os.scandir(parent) as entries:
            names = sorted(
                entry.name
                for entry in entries
                if entry.name.startswith(partial)
                and (partial.startswith(".") or not entry.name.startswith("."))
                and entry.is_dir()
            )
    except OSError:
        return None
    if not names:
        return None
    if unique and len(names) > 1:
        common = os.path.commonprefix(names)  # noqa: RUF071 - names, not paths
        return value + common[len(partial) :] if len(common) > len(partial) else None
    return value + names[0][len(partial) :] + "/"


class DirectorySuggester(Suggester):
    """Suggests directory names as a path is typed (the rest shows dimmed; right accepts it)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        """The first directory that completes ``value``."""
        suggestion = complete_directory(value)
        return suggestion if suggestion != value else None


class PathPrompt(ModalScreen[Path | None]):
    """Asks for a directory, with completion; dismisses with the path (``~`` expanded) or None.

    Tab completes as far as the directories allow, right accepts the suggestion, enter
    accepts the path (when it is not a directory the dialog says so and stays), escape cancels.
    """

    DEFAULT_CSS = _DIALOG_CSS.format(name="PathPrompt")

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
        Binding("tab", "complete", "Complete", id="dialog.complete"),
    ]

    def __init__(self, title: PlainText, default: Path | str, *, hint: PlainText = "") -> None:
        super().__init__()
        self.dialog_title = _content(title)
        self.hint = _content(hint)
        text = str(default)
        self.default = text if text.endswith("/") else text + "/"

    def compose(self) -> ComposeResult:
        """Title, hint, the path field, an error line and the buttons."""
        with Vertical(classes="dialog"):
            yield Label(self.dialog_title, classes="dialog-title")
            if self.hint:
                yield Static(self.hint, classes="dialog-text")
            yield Input(self.default, suggester=DirectorySuggester(), id="path")
            yield Static("", classes="dialog-error", id="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content("Cancel"), id="cancel")
                yield Button(Content("OK"), variant="primary", id="ok")

    def on_mount(self) -> None:
        """Focus the field with the cursor at its end."""
        field = self.query_one("#path", Input)
        field.focus()
        field.cursor_position = len(field.value)

    def action_cancel(self) -> None:
        """Close without a path."""
        self.dismiss(None)

    def action_complete(self) -> None:
        """Complete the path in the field as far as it is unambiguous."""
        field = self.query_one("#path", Input)
        if not field.has_focus:
            self.app.action_focus_next()
            return
        completed = complete_directory(field.value, unique=True)
        if completed is None:
            self.app.bell()
            return
        field.value = completed
        field.cursor_position = len(completed)

    @on(Input.Submitted, "#path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._accept()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._accept()
        else:
            self.dismiss(None)

    def _accept(self) -> None:
        value = self.query_one("#path", Input).value.strip()
        path = Path(os.path.expanduser(value or "."))
        if not path.is_dir():
            self.query_one("#error", Static).update(Content(f"{value} is not a directory."))
            return
        self.dismiss(path)


class SecretDialog(ModalScreen[tuple[str, bool] | None]):
    """Asks for a password or passphrase (typed hidden); dismisses with (secret, remember) or None.

    With ``can_remember`` a "Remember" box is offered (space ticks it). Enter accepts, escape
    cancels; an empty answer is refused in place.
    """

    DEFAULT_CSS = _DIALOG_CSS.format(name="SecretDialog")

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(
        self, title: PlainText, why: PlainText = "", *, can_remember: bool = False
    ) -> None:
        super().__init__()
        self.dialog_title = _content(title)
        self.why = _content(why)
        self.can_remember = can_remember

    def compose(self) -> ComposeResult:
        """Title, why it is asked, the hidden field, "remember", an error line and the buttons."""
        with Vertical(classes="dialog"):
            yield Label(self.dialog_title, classes="dialog-title")
            if self.why:
                yield Static(self.why, classes="dialog-text")
            yield Input(password=True, id="secret")
            if self.can_remember:
                yield Checkbox(
                    Content("Remember it (in the keyring, else the encrypted vault)"),
                    id="remember",
                )
            yield Static("", classes="dialog-error", id="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content("Cancel"), id="cancel")
                yield Button(Content("OK"), variant="primary", id="ok")

    def on_mount(self) -> None:
        """Focus the field."""
        self.query_one("#secret", Input).focus()

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)

    @on(Input.Submitted, "#secret")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._accept()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._accept()
        else:
            self.dismiss(None)

    def _accept(self) -> None:
        secret = self.query_one("#secret", Input).value
        if not secret:
            self.query_one("#error", Static).update(Content("Type it, or escape to cancel."))
            return
        remember = self.can_remember and self.query_one("#remember", Checkbox).value
        self.dismiss((secret, remember))


class PickDialog(ModalScreen[str | None]):
    """Pick one of several values from a list that typing filters; dismisses with it or None.

    ``choices`` are (value, label) pairs; labels are shown literally. Up and down move in the
    list while typing, enter picks the highlighted entry, escape cancels.
    """

    DEFAULT_CSS = (
        _DIALOG_CSS.format(name="PickDialog")
        + """
    PickDialog OptionList {
        height: auto;
        max-height: 14;
        margin-top: 1;
    }
    """
    )

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
        Binding("down", "move(1)", "Down", show=False),
        Binding("up", "move(-1)", "Up", show=False),
    ]

    def __init__(
        self,
        title: PlainText,
        choices: Sequence[tuple[str, PlainText]],
        *,
        placeholder: str = "Type to filter",
    ) -> None:
        super().__init__()
        self.dialog_title = _content(title)
        self.choices = [(value, _content(label)) for value, label in choices]
        self.placeholder = placeholder
        self._shown: list[str] = []

    def compose(self) -> ComposeResult:
        """Title, filter field and the list."""
        with Vertical(classes="dialog"):
            yield Label(self.dialog_title, classes="dialog-title")
            yield Input(placeholder=self.placeholder, id="filter")
            yield OptionList(id="choices")

    def on_mount(self) -> None:
        """Fill the list and focus the filter."""
        self._fill("")
        self.query_one("#filter", Input).focus()

    def _fill(self, query: str) -> None:
        wanted = query.casefold().strip()
        options = self.query_one("#choices", OptionList)
        options.clear_options()
        self._shown = []
        for value, label in self.choices:
            if wanted and wanted not in label.plain.casefold():
                continue
            self._shown.append(value)
            options.add_option(Option(label))
        if self._shown:
            options.highlighted = 0

    def action_cancel(self) -> None:
        """Close without a choice."""
        self.dismiss(None)

    def action_move(self, step: int) -> None:
        """Move the highlight while the filter has the focus."""
        options = self.query_one("#choices", OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def _pick(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self._shown):
            self.app.bell()
            return
        self.dismiss(self._shown[index])

    @on(Input.Changed, "#filter")
    def _filtered(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._pick(self.query_one("#choices", OptionList).highlighted)

    @on(OptionList.OptionSelected, "#choices")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick(event.option_index)


Confirm = ConfirmDialog
"""A shorter name for :class:`ConfirmDialog`."""


class FolderPicker(PickDialog):
    """Pick a folder by name (names from a server are shown literally, controls made inert)."""

    def __init__(self, names: Sequence[str], *, title: PlainText = "Move to folder") -> None:
        super().__init__(title, [(name, line(name)) for name in names])
