"""HTML and plain bodies become safe readable text; attachment names become safe base names."""

from __future__ import annotations

import re

import pytest

from tuimail.mime.render import (
    MAX_HTML_CHARS,
    MAX_NESTING,
    UNSAFE_LINK,
    html_to_text,
    link_target,
    render_plain,
    safe_filename,
)

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def test_links_are_numbered_and_listed_not_inline() -> None:
    text, links = html_to_text(
        '<p>Read <a href="https://example.org/a">the post</a> or '
        '<a href="mailto:team@example.org">write</a>, then '
        '<a href="https://example.org/a">the post again</a>.</p>'
    )
    assert "the post [1]" in text
    assert "write [2]" in text
    assert "the post again [1]" in text  # the same URL keeps its number
    assert links == ("https://example.org/a", "mailto:team@example.org")
    assert "https://" not in text
    assert "](" not in text  # no Markdown inline links


def test_link_numbers_can_continue_from_an_earlier_part() -> None:
    text, links = html_to_text('<a href="https://example.org/">x</a>', first_link=4)
    assert text == "x [4]"
    assert links == ("https://example.org/",)


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(document.cookie)",
        " JaVaScRiPt:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox",
        "file:///etc/passwd",
    ],
)
def test_unsafe_links_are_not_offered(href: str) -> None:
    escaped = href.replace("\n", "&#10;").replace("\x01", "&#1;")
    text, links = html_to_text(f'<p>Click <a href="{escaped}">here</a> now</p>')
    assert links == ()
    assert UNSAFE_LINK in text
    assert "alert" not in text
    assert link_target(href) == ""


def test_relative_links_and_anchors_go_nowhere() -> None:
    text, links = html_to_text('<a href="#top">top</a> <a href="/local/file">file</a>')
    assert links == ()
    assert text == "top file"


def test_link_urls_with_spaces_and_controls_are_percent_encoded() -> None:
    _, links = html_to_text('<a href="https://example.org/a b&#x202E;c\x1bd">x</a>')
    assert links == ("https://example.org/a%20b%E2%80%AEc%1Bd",)


def test_images_show_their_alt_text_and_are_never_linked() -> None:
    text, links = html_to_text(
        '<p>Hi <img src="https://tracker.example/p.gif?u=1" alt="Company   logo"> there '
        '<img src="https://cdn.example/x.png"> '
        '<img src="https://tracker.example/pixel.gif" width="1" height="1" alt="pixel"></p>'
    )
    assert "[image: Company logo]" in text
    assert "[image]" in text
    assert "pixel" not in text  # a 1x1 tracking image is left out
    assert "tracker" not in text
    assert "cdn.example" not in text
    assert links == ()


def test_scripts_styles_and_form_controls_are_dropped() -> None:
    text, _ = html_to_text(
        "<html><head><title>Page title</title><style>p { color: red }</style>"
        "<script>var secret = 1;</script></head><body>"
        "<p>Visible</p><script>alert('x')</script><noscript>No scripts here</noscript>"
        "<form action='https://evil.example/'>Your password: <input name=p>"
        "<button>Send it</button><select><option>Choice</option></select>"
        "<textarea>typed</textarea></form><p>After</p></body></html>"
    )
    assert "Visible" in text
    assert "After" in text
    assert "No scripts here" in text
    assert "Your password:" in text  # text around a form stays
    for hidden in ("Page title", "color", "secret", "alert", "Send it", "Choice", "typed"):
        assert hidden not in text


def test_a_head_never_closed_does_not_hide_the_body() -> None:
    text, links = html_to_text(
        "<html><head><meta charset=utf-8><p>Body text <a href=http://x.org>x"
    )
    assert text == "Body text x [1]"
    assert links == ("http://x.org",)


def test_numeric_escape_entity_does_not_reach_the_terminal() -> None:
    text, _ = html_to_text("<p>before &#27;]0;pwned title&#7; after &#x9b;31m &#x202e;x</p>")
    assert "\x1b" not in text
    assert "\x07" not in text
    assert not UNSAFE.search(text)
    assert "\u241b]0;pwned title" in text  # shown, made inert


def test_unicode_is_kept() -> None:
    text, _ = html_to_text("<p>caf&eacute; cafés &mdash; Ζεύς 日本語 <b>مرحبا</b> &nbsp;x</p>")
    assert "café cafés — Ζεύς 日本語" in text
    assert "مرحبا" in text


def test_text_is_not_markdown_escaped() -> None:
    text, _ = html_to_text(r"<p>1. step</p><p>C:\dir\file - item + more</p>")
    assert "1. step" in text
    assert r"C:\dir\file - item + more" in text


def test_layout_tables_read_as_text() -> None:
    text, _ = html_to_text("<table><tr><td>Logo</td><td>Menu</td></tr></table><p>Body</p>")
    assert "|" not in text
    assert "Logo Menu" in text


def test_deep_nesting_does_not_blow_up_the_text() -> None:
    text, _ = html_to_text("<blockquote>x" * 3000 + "<ul><li>y" * 3000)
    assert len(text) < 200_000
    indents = [len(line) - len(line.lstrip("> ")) for line in text.splitlines()]
    assert max(indents) <= 2 * MAX_NESTING * 2


def test_preview_padding_is_removed() -> None:
    text, _ = html_to_text("<p>Hello</p><p>\u200b&zwnj;&nbsp;\u00ad&#8203;&nbsp;</p><p>World</p>")
    assert text == "Hello\n\nWorld"


def test_overlong_html_is_cut_and_says_so() -> None:
    text, _ = html_to_text("<p>start</p>" + "<p>x</p>" * 20, max_chars=30)
    assert text.startswith("start")
    assert "too long" in text
    assert len(text) < 200
    assert MAX_HTML_CHARS >= 1_000_000


def test_lone_surrogates_do_not_survive() -> None:
    text, _ = html_to_text("<p>a\ud800b</p>")
    assert text == "a\ufffdb"
    assert render_plain("a\udce9b") == "a\ufffdb"


def test_plain_text_is_made_safe() -> None:
    assert (
        render_plain("Hi\r\n\x1b]52;c;ZXZpbA==\x07 there\r\n\r\n")
        == "Hi\n\u241b]52;c;ZXZpbA==\u2407 there"
    )


def test_flowed_text_is_joined() -> None:
    flowed = "A long \r\nparagraph.\r\n> quoted \r\n> line\r\n>> deeper\r\n-- \r\nSig\r\n From here"
    assert render_plain(flowed, flowed=True) == (
        "A long paragraph.\n> quoted line\n>> deeper\n-- \nSig\nFrom here"
    )
    assert render_plain("no\u0020\r\nspace", flowed=True, delsp=True) == "nospace"
    assert render_plain("keep \r\nbreaks") == "keep \nbreaks"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../.bashrc", "bashrc"),
        ("..\\..\\x.bat", "x.bat"),
        ("/etc/passwd", "passwd"),
        ("C:\\Windows\\system32\\evil.dll", "evil.dll"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("nul", "_nul"),
        ("COM1.log", "_COM1.log"),
        ("lpt9", "_lpt9"),
        ("...", "fallback.bin"),
        ("..", "fallback.bin"),
        ("", "fallback.bin"),
        (None, "fallback.bin"),
        (" .hidden ", "hidden"),
        ("-rf", "rf"),
        ("report..pdf", "report.pdf"),
        ("trailing.txt. ", "trailing.txt"),
        ("evil\u202egnp.exe", "evil_gnp.exe"),
        ("a\x00b\x1b[31m.txt", "a_b_[31m.txt"),
        ("line\r\nbreak.txt", "line__break.txt"),
        ('what?"<>|*:.txt', "what_______.txt"),
        ("Отчёт 2024.pdf", "Отчёт 2024.pdf"),
        ("日本語.txt", "日本語.txt"),
    ],
)
def test_safe_filename(name: str | None, expected: str) -> None:
    assert safe_filename(name, "fallback.bin") == expected


def test_safe_filename_keeps_the_extension_within_255_bytes() -> None:
    name = safe_filename("a" * 1000 + ".pdf", "x")
    assert len(name.encode("utf-8")) == 255
    assert name.endswith(".pdf")
    wide = safe_filename("ж" * 1000 + ".docx", "x")
    assert len(wide.encode("utf-8")) <= 255
    assert wide.endswith(".docx")
    assert wide.startswith("жжж")
    wide.encode("utf-8").decode("utf-8")  # not cut inside a character
    huge_extension = safe_filename("a." + "b" * 1000, "x")
    assert len(huge_extension.encode("utf-8")) <= 255


def test_safe_filename_never_returns_a_path_or_nothing() -> None:
    for name in ("/", "\\", "./", "../..", " ", "\x00", "\u202e", ".\\.\\"):
        result = safe_filename(name, "")
        assert result
        assert "/" not in result
        assert "\\" not in result
        assert not result.startswith(".")
