"""The help screen: every key binding of the app and its screens, as they are now mapped."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

_SCREENS = (
    ("Everywhere", "tuimail.ui.app", "TuimailApp"),
    ("Message list", "tuimail.ui.screens.inbox", "InboxScreen"),
    ("List movement", "tuimail.ui.widgets.message_list", "MessageList"),
    ("Reader", "tuimail.ui.screens.reader", "ReaderScreen"),
    ("Composer", "tuimail.ui.screens.composer", "ComposerScreen"),
)


_SHARED_TITLE = "List and reader"
_SHARING = ("Message list", "Reader")
"""Keys that do the same in these screens are listed once, under _SHARED_TITLE."""


def _shared(
    sections: dict[str, list[Binding]], keys_of: Callable[[Binding], str]
) -> dict[tuple[str, str], list[str]]:
    """(keys, description) -> binding ids, for what every screen of _SHARING binds alike."""
    found: dict[tuple[str, str], list[str]] = {}
    for title in _SHARING:
        for binding in sections.get(title, []):
            found.setdefault((keys_of(binding), binding.description), []).append(binding.id or "")
    return {what: ids for what, ids in found.items() if len(ids) == len(_SHARING)}


def _bindings(module: str, name: str) -> list[Binding]:
    try:
        owner = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return []
    return [b for b in getattr(owner, "BINDINGS", []) if isinstance(b, Binding)]


class HelpScreen(ModalScreen[None]):
    """Every binding, with the keys it has now (after the [keys] table of the settings)."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
        Binding("j,down", "scroll(1)", "Down", id="help.down", show=False),
        Binding("k,up", "scroll(-1)", "Up", id="help.up", show=False),
    ]

    def compose(self) -> ComposeResult:
        keymap = dict(getattr(self.app, "user_keymap", {}) or {})
        table = Table(box=None, show_header=False, padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_column(style="dim")

        def keys_of(binding: Binding) -> str:
            return str(keymap.get(binding.id or "", binding.key))

        sections = [(title, _bindings(module, name)) for title, module, name in _SCREENS]
        shared = _shared(dict(sections), keys_of)
        if shared:
            sections.insert(1, (_SHARED_TITLE, []))
        for title, rows in sections:
            if title == _SHARED_TITLE:
                entries = [(keys, text, ", ".join(ids)) for (keys, text), ids in shared.items()]
            else:
                entries = [
                    (keys_of(b), b.description or b.action, b.id or "")
                    for b in rows
                    if title not in _SHARING or (keys_of(b), b.description) not in shared
                ]
            if not entries:
                continue
            table.add_row(Text(title, style="bold underline"), "", "")
            for keys, text, ids in entries:
                table.add_row(
                    Text(", ".join(_pretty(k) for k in keys.split(","))), Text(text), Text(ids)
                )
            table.add_row("", "", "")
        note = Text(
            "Escape closes this. Any key can be remapped in the settings file, in a [keys] "
            'table by the ids above: "inbox.delete" = "d,delete". Ctrl+P opens the command '
            "palette; Ctrl+Q quits from anywhere.",
            style="dim",
        )
        with VerticalScroll(id="help"):
            yield Static(table)
            yield Static(note)

    def action_scroll(self, lines: int) -> None:
        """Scroll the list of keys."""
        self.query_one("#help", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


def _pretty(key: str) -> str:
    names = {
        "question_mark": "?",
        "exclamation_mark": "!",
        "slash": "/",
        "dollar_sign": "$",
        "space": "space",
    }
    return names.get(key.strip(), key.strip())
