"""Text from mail reaches the terminal with no control or bidi-override characters."""

from __future__ import annotations

import re

import pytest

from tuimail.mime.sanitize import safe_line, safe_text

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b]0;pwned\x07title",  # OSC 0 window title, BEL-terminated
        "\x1b]52;c;ZXZpbA==\x1b\\clip",  # OSC 52 clipboard write, ST-terminated
        "\x1b[2J\x1b[31mred",  # CSI
        "\x9b31mC1 CSI",  # C1 control
        "evil\u202egnp.exe",  # right-to-left override
        "nul\x00byte",
    ],
)
def test_controls_are_made_inert(hostile: str) -> None:
    for cleaned in (safe_text(hostile), safe_line(hostile)):
        assert not UNSAFE.search(cleaned)
        assert "\x1b" not in cleaned


def test_escape_is_shown_not_dropped() -> None:
    assert safe_text("a\x1b[31mb") == "a\u241b[31mb"


def test_text_keeps_tabs_and_newlines_and_folds_cr() -> None:
    assert safe_text("a\tb\r\nc\rd") == "a\tb\nc\nd"


def test_line_folds_breaks() -> None:
    assert safe_line("Subject\r\n\tcontinued") == "Subject continued"


def test_plain_text_and_scripts_untouched() -> None:
    text = "Grüße, Ζεύς, 日本語, עברית, emoji 📬"
    assert safe_text(text) == text
    assert safe_line(text) == text
