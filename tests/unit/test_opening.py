"""Choosing the command that opens an attachment from the [open] rules."""

from __future__ import annotations

from tuimail.services.opening import configured_command

RULES = (
    ("application/pdf", "zathura --fork %s"),
    ("image/*", "feh"),
    ("*.odt", "libreoffice --view %s --norestore"),
)


def test_a_mime_type_rule_puts_the_path_where_percent_s_is() -> None:
    assert configured_command(RULES, "application/pdf", "a.pdf", "/t/a.pdf") == [
        "zathura",
        "--fork",
        "/t/a.pdf",
    ]


def test_a_type_wildcard_fits_every_subtype_and_the_path_goes_last() -> None:
    assert configured_command(RULES, "image/png", "x.png", "/t/x.png") == ["feh", "/t/x.png"]
    assert configured_command(RULES, "IMAGE/JPEG", "x.jpg", "/t/x.jpg") == ["feh", "/t/x.jpg"]


def test_a_name_pattern_matches_the_file_name_whatever_its_type() -> None:
    argv = configured_command(RULES, "application/octet-stream", "Minutes.ODT", "/t/m.odt")
    assert argv == ["libreoffice", "--view", "/t/m.odt", "--norestore"]


def test_the_path_is_one_argument_even_with_spaces_and_quotes() -> None:
    path = "/t/a b; rm -rf ~ 'x'.pdf"
    assert configured_command(RULES, "application/pdf", "a.pdf", path) == [
        "zathura",
        "--fork",
        path,
    ]


def test_nothing_fits() -> None:
    assert configured_command(RULES, "text/plain", "notes.txt", "/t/n.txt") is None
    assert configured_command((), "application/pdf", "a.pdf", "/t/a.pdf") is None
