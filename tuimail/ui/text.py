"""Text from mail or a server, made safe for widgets: plain Text, never markup, controls shown."""

from __future__ import annotations

from rich.text import Text

from tuimail.mime.sanitize import safe_line, safe_text
from tuimail.model.errors import MailError


def line(value: str, style: str = "") -> Text:
    """One line of hostile text as a Text (markup characters stay characters)."""
    return Text(safe_line(value), style=style, no_wrap=True, overflow="ellipsis")


def block(value: str, style: str = "") -> Text:
    """Several lines of hostile text (a body) as a Text."""
    return Text(safe_text(value), style=style)


def error_text(error: MailError) -> tuple[str, str]:
    """(title, message) of an error, safe to show (notify must be called with markup=False)."""
    return safe_line(error.title), safe_text(error.message)
