"""The help screen: every key binding of the app and its screens, as they are now mapped."""

from __future__ import annotations

import importlib

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
        for title, module, name in _SCREENS:
            rows = _bindings(module, name)
            if not rows:
                continue
            table.add_row(Text(title, style="bold underline"), "", "")
            for binding in rows:
                keys = keymap.get(binding.id or "", binding.key)
                table.add_row(
                    Text(", ".join(_pretty(k) for k in keys.split(","))),
                    Text(binding.description or binding.action),
                    Text(binding.id or ""),
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
