"""Make text from mail or a server safe for a terminal: no control or bidi-override characters."""

from __future__ import annotations

import re

_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")
_UNSAFE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")


def _picture(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # control pictures: ESC shows as a visible symbol
    if code == 0x7F:
        return "\u2421"
    return "\ufffd"


def safe_text(text: str) -> str:
    """Return ``text`` with terminal control and bidi-override characters made visible and inert.

    Tabs and newlines stay; CRLF and lone CR become newlines; every other C0 or C1 control, DEL and
    every bidi embedding, override or isolate becomes a visible replacement character.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub(_picture, text)


def safe_line(text: str) -> str:
    """Return ``text`` as one safe line: breaks and tabs become spaces, controls are made inert."""
    text = re.sub(r"[\r\n\t]+", " ", text)
    return _UNSAFE_LINE.sub(_picture, text)
