"""Raw messages, friendly and hostile, become safe headers, body text and attachments."""

from __future__ import annotations

import base64
import re
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTPUTF8

import pytest

from tuimail.mime import parse
from tuimail.mime.parse import (
    MAX_DEPTH,
    MAX_PARTS,
    ParsedMessage,
    mime_parameters,
    parse_message,
)
from tuimail.model.message import Address

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
TOO_COMPLEX = "too complex to show"


def _message(subject: str = "Hello", body: str = "Body text\n") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Alice Example <alice@example.org>"
    message["To"] = "Bob <bob@example.org>, carol@example.org"
    message["Cc"] = "Dave <dave@example.org>"
    message["Reply-To"] = "list@example.org"
    message["Subject"] = subject
    message["Date"] = "Tue, 02 Jan 2024 10:30:00 +0100"
    message["Message-ID"] = "<m1@example.org>"
    message["In-Reply-To"] = "<m0@example.org>"
    message["References"] = "<root@example.org> <m0@example.org>"
    message.set_content(body)
    return message


def _assert_all_safe(parsed: ParsedMessage) -> None:
    """Every display field of a parsed message holds no terminal control character."""
    lines: list[str] = [parsed.subject, parsed.message_id, parsed.in_reply_to, parsed.list_id]
    lines += parsed.references + parsed.auth_results + parsed.list_unsubscribe
    for address in parsed.sender + parsed.to + parsed.cc + parsed.reply_to:
        lines += [address.name, address.email]
    for name, value in parsed.headers:
        lines += [name, value]
    for part in parsed.body.parts:
        lines += [part.content_type, part.filename or "", part.charset or ""]
    lines += [attachment.safe_name for attachment in parsed.body.attachments]
    lines += parsed.body.links
    for line in lines:
        assert not UNSAFE_LINE.search(line), repr(line)
    assert not UNSAFE.search(parsed.body.text), repr(parsed.body.text)


def test_plain_message() -> None:
    parsed = parse_message(_message().as_bytes())
    assert parsed.subject == "Hello"
    assert parsed.sender == (Address("Alice Example", "alice@example.org"),)
    assert parsed.to == (Address("Bob", "bob@example.org"), Address("", "carol@example.org"))
    assert parsed.cc == (Address("Dave", "dave@example.org"),)
    assert parsed.reply_to == (Address("", "list@example.org"),)
    assert parsed.date == datetime(2024, 1, 2, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert parsed.message_id == "<m1@example.org>"
    assert parsed.in_reply_to == "<m0@example.org>"
    assert parsed.references == ("<root@example.org>", "<m0@example.org>")
    assert ("Subject", "Hello") in parsed.headers
    assert ("References", "<root@example.org> <m0@example.org>") in parsed.headers
    assert parsed.body.text == "Body text"
    assert not parsed.body.from_html
    assert not parsed.body.too_complex
    assert parsed.body.attachments == ()
    assert [(part.content_type, part.section) for part in parsed.body.parts] == [
        ("text/plain", "1")
    ]


def test_alternative_prefers_plain_text() -> None:
    message = _message(body="The plain version\n")
    message.add_alternative(
        '<p>The <b>HTML</b> version <a href="https://example.org/">link</a></p>', subtype="html"
    )
    parsed = parse_message(message.as_bytes())
    assert parsed.body.text == "The plain version"
    assert not parsed.body.from_html
    assert parsed.body.links == ()
    # the HTML alternative is still listed, so a reader can offer it
    assert [(part.content_type, part.section) for part in parsed.body.parts] == [
        ("text/plain", "1"),
        ("text/html", "2"),
    ]
    assert parsed.body.attachments == ()


def test_alternative_with_related_html_and_no_plain_uses_html() -> None:
    raw = (
        b"Content-Type: multipart/alternative; boundary=alt\r\n\r\n"
        b"--alt\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n"
        b"--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b'<p>Rich <img src="cid:logo" alt="Logo"></p>\r\n'
        b"--rel\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
        b"--rel--\r\n--alt--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.body.text == "Rich [image: Logo]"
    assert parsed.body.from_html
    assert [attachment.safe_name for attachment in parsed.body.attachments] == [
        "attachment-1.2.png"
    ]


def test_html_only_message() -> None:
    message = _message()
    message.set_content(
        "<html><head><style>.x{}</style><script>steal()</script></head><body>"
        "<h1>News</h1><p>Read <a href='https://example.org/story'>the story</a>.</p>"
        "<p><a href='javascript:steal()'>Win a prize</a></p>"
        "<img src='https://tracker.example/open.gif?id=42' alt='Our logo'>"
        "<p>&#27;]0;pwned&#7;</p></body></html>",
        subtype="html",
    )
    parsed = parse_message(message.as_bytes())
    text = parsed.body.text
    assert parsed.body.from_html
    assert "the story [1]" in text
    assert parsed.body.links == ("https://example.org/story",)
    assert "Win a prize [unsafe link removed]" in text
    assert "[image: Our logo]" in text
    assert "tracker.example" not in text
    assert "steal" not in text
    assert ".x{}" not in text
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\u241b]0;pwned" in text
    _assert_all_safe(parsed)


def test_links_of_several_html_parts_are_numbered_on() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<a href='https://one.example/'>one</a>\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<a href='https://two.example/'>two</a>\r\n"
        b"--b--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.body.text == "one [1]\n\ntwo [2]"
    assert parsed.body.links == ("https://one.example/", "https://two.example/")


def test_attachments_get_safe_names() -> None:
    message = _message(body="See attached\n")
    long_name = "report-" + "x" * 1000 + ".pdf"
    for name in ("../../.bashrc", "..\\..\\x.bat", "CON", long_name, "Отчёт за 2024.pdf"):
        message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename=name)
    raw = message.as_bytes()
    assert b"filename*=utf-8''" in raw  # the non-ASCII name really went out RFC 2231 encoded
    parsed = parse_message(raw)
    assert parsed.body.text == "See attached"
    names = [attachment.safe_name for attachment in parsed.body.attachments]
    assert names[:3] == ["bashrc", "x.bat", "_CON"]
    assert names[3].startswith("report-xxx")
    assert names[3].endswith(".pdf")
    assert len(names[3].encode("utf-8")) <= 255
    assert names[4] == "Отчёт за 2024.pdf"
    first = parsed.body.attachments[0].part
    assert first.filename == "../../.bashrc"  # the sender's name, for display only
    assert first.disposition == "attachment"
    assert first.content_type == "application/pdf"
    assert first.size == len(b"%PDF-1.4")
    assert [attachment.part.section for attachment in parsed.body.attachments] == [
        "2",
        "3",
        "4",
        "5",
        "6",
    ]
    for name in names:
        assert "/" not in name
        assert "\\" not in name
        assert not name.startswith(".")


def test_rfc2231_continuations_and_rfc2047_filenames() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment;\r\n"
        b" filename*0*=utf-8''%E6%97%A5%E6%9C%AC; filename*1*=%E8%AA%9E.txt\r\n\r\nx\r\n"
        b"--b\r\nContent-Type: application/octet-stream;\r\n"
        b' name="=?utf-8?b?2YXZhNmBLnBkZg==?="\r\n\r\nx\r\n'
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename*=iso-8859-1'fr'r%E9sum%E9.txt\r\n\r\nx\r\n"
        b"--b--\r\n"
    )
    parsed = parse_message(raw)
    assert [attachment.safe_name for attachment in parsed.body.attachments] == [
        "日本語.txt",
        "ملف.pdf",
        "résumé.txt",
    ]


def test_non_text_parts_without_names_are_attachments() -> None:
    message = _message(body="Photo below\n")
    message.add_attachment(b"\x89PNG", maintype="image", subtype="png", disposition="inline")
    parsed = parse_message(message.as_bytes())
    assert parsed.body.text == "Photo below"
    (attachment,) = parsed.body.attachments
    assert attachment.part.content_type == "image/png"
    assert attachment.safe_name == "attachment-2.png"


def test_inline_text_parts_are_concatenated() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"preamble is not shown\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nFirst part\r\n"
        b"--b\r\nContent-Type: image/gif\r\n\r\nGIF89a\r\n"
        b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: inline\r\n\r\nSecond part\r\n"
        b"--b\r\n\r\nThird, typed by default\r\n"
        b"--b--\r\nepilogue is not shown\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.body.text == "First part\n\nSecond part\n\nThird, typed by default"
    assert len(parsed.body.attachments) == 1


def test_forwarded_message_is_shown_inline_and_offered_as_a_file() -> None:
    inner = _message(subject="Inner subject", body="Inner body\n")
    outer = _message(body="FYI\n")
    outer.add_attachment(inner, disposition="inline")
    parsed = parse_message(outer.as_bytes())
    assert "FYI" in parsed.body.text
    assert "Forwarded message" in parsed.body.text
    assert "Subject: Inner subject" in parsed.body.text
    assert "From: Alice Example <alice@example.org>" in parsed.body.text
    assert parsed.body.text.endswith("Inner body")
    (attachment,) = parsed.body.attachments
    assert attachment.part.content_type == "message/rfc822"
    assert attachment.safe_name == "message-2.eml"
    assert [part.section for part in parsed.body.parts] == ["1", "2", "2.1"]


def test_unknown_charset_falls_back() -> None:
    latin = "Subject: =?x-klingon?q?caf=E9?=\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\n"
    parsed = parse_message((latin + "caf\u00e9 na\u00efve").encode("latin-1"))
    assert parsed.subject == "café"
    assert parsed.body.text == "café naïve"
    utf8 = "Content-Type: text/plain; charset=x-klingon\r\n\r\nПривет 你好"
    assert parse_message(utf8.encode("utf-8")).body.text == "Привет 你好"


@pytest.mark.parametrize("charset", ["unicode_escape", "raw_unicode_escape", "rot13", "base64"])
def test_codecs_that_are_not_charsets_are_refused(charset: str) -> None:
    raw = f"Content-Type: text/plain; charset={charset}\r\n\r\n\\x1b]0;x\\x07".encode()
    parsed = parse_message(raw)
    assert parsed.body.text == "\\x1b]0;x\\x07"  # shown as sent, never turned into ESC


def test_utf7_lone_surrogates_are_replaced() -> None:
    parsed = parse_message(b"Content-Type: text/plain; charset=utf-7\r\n\r\n+2D3- hi")
    assert parsed.body.text == "\ufffd hi"


def test_broken_base64_and_quoted_printable() -> None:
    b64 = (
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode("Grüße aus Köln".encode())[:-2]
        + b"!!\r\n*%\r\n"
    )
    parsed = parse_message(b64)
    assert parsed.body.text.startswith("Grüße aus K")
    qp = (
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
        b"\r\n\r\nCaf=C3=A9 =ZZ =\r\nsoft=\r\n"
    )
    assert parse_message(qp).body.text == "Café =ZZ soft"


def test_encoded_line_breaks_never_reach_a_header_value() -> None:
    raw = (
        b"Subject: =?utf-8?q?Hello=0D=0ABcc:_victim@example.org?= "
        b"=?utf-8?b?DQpYLUluamVjdGVkOiB5ZXM=?=\r\n"
        b"From: =?utf-8?q?Eve=0D=0ATo=3A_x=40example.org?= <eve@example.org>\r\n"
        b"Content-Type: text/plain\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''a%0D%0Ab%0A.txt\r\n\r\nx"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "Hello Bcc: victim@example.org X-Injected: yes"
    assert parsed.raw_subject == parsed.subject
    assert parsed.sender == (Address("Eve To: x@example.org", "eve@example.org"),)
    for _, value in parsed.headers:
        assert "\r" not in value
        assert "\n" not in value
    assert parsed.body.attachments[0].safe_name == "a__b_.txt"
    _assert_all_safe(parsed)


def test_control_characters_everywhere_are_made_inert() -> None:
    raw = (
        b"Subject: caf\xc3\xa9 \x1b]0;title\x07 \x00 \xe2\x80\xae evil\r\n"
        b'From: "Mal\x1b[31mlory\x00" <mallory@example.org>\r\n'
        b"To: =?utf-8?q?=1B=5D52;c;ZXZpbA=3D=3D=07?= <bob@example.org>\r\n"
        b"Message-ID: <id\x1b@example.org>\r\n"
        b"X-Evil: \x9b31m\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nbody \x1b[2J\x00 nul \xc2\x9b C1\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="x\x1b]0;y\x07.txt"\r\n\r\ndata\r\n'
        b"--b--\r\n"
    )
    parsed = parse_message(raw)
    _assert_all_safe(parsed)
    assert parsed.subject.startswith("café \u241b]0;title\u2407 \u2400")
    assert parsed.sender[0].name == "Mal\u241b[31mlory\u2400"
    assert parsed.sender[0].email == "mallory@example.org"
    assert parsed.body.text.startswith("body \u241b[2J\u2400 nul")
    assert "\x00" in parsed.raw_subject  # documented as not safe: kept for replies


def test_nul_bytes() -> None:
    raw = b"Subject: a\x00b\r\nFrom: x\x00y@example.org\r\n\r\nline\x00one\x00\r\n"
    parsed = parse_message(raw)
    assert parsed.subject == "a\u2400b"
    assert parsed.body.text == "line\u2400one\u2400"
    _assert_all_safe(parsed)


@pytest.mark.parametrize(
    ("raw_name", "name"),
    [
        ("Иван Петров", "Иван Петров"),
        ("李小龙", "李小龙"),
        ("محمد علي", "محمد علي"),
        ("Ζεύς", "Ζεύς"),
    ],
)
def test_non_ascii_names_encoded_and_raw(raw_name: str, name: str) -> None:
    message = EmailMessage()
    message["From"] = Address(raw_name, "sender@example.org").__str__()
    message["To"] = f"{raw_name} <to@example.org>"
    message["Subject"] = f"Re: {raw_name}"
    message.set_content(f"{raw_name}\n")
    encoded = message.as_bytes()
    assert raw_name.encode() not in encoded.split(b"\n\n")[0]  # headers are RFC 2047 encoded
    raw_utf8 = message.as_bytes(policy=SMTPUTF8)
    assert raw_name.encode() in raw_utf8.split(b"\n\n")[0]  # SMTPUTF8: raw UTF-8 headers
    for raw in (encoded, raw_utf8):
        parsed = parse_message(raw)
        assert parsed.sender == (Address(name, "sender@example.org"),)
        assert parsed.to == (Address(name, "to@example.org"),)
        assert parsed.subject == f"Re: {name}"
        assert parsed.body.text == name


def test_latin1_raw_header_bytes_are_read() -> None:
    parsed = parse_message(b"Subject: Caf\xe9\r\nFrom: Jos\xe9 <jose@example.org>\r\n\r\nx")
    assert parsed.subject == "Café"
    assert parsed.sender == (Address("José", "jose@example.org"),)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "Mon, 99 Foo 99999 99:99:99 +9999",
        "Tue, 2 Jan 2024 10:00:00 +9999",
        "1 Jan 99999 10:00:00 +0000",
        "\x00\x1b",
    ],
)
def test_bad_dates_are_none(value: str) -> None:
    assert parse_message(f"Date: {value}\r\n\r\nx".encode()).date is None


def test_missing_date_and_zoneless_date() -> None:
    assert parse_message(b"Subject: x\r\n\r\n").date is None
    parsed = parse_message(b"Date: Tue, 2 Jan 2024 03:04:05 -0000\r\n\r\n")
    assert parsed.date == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def _deep(levels: int, before: bytes = b"") -> bytes:
    raw = b"Subject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    raw += before
    for level in range(1, levels):
        raw += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (level - 1, level)
    return raw + b"--b%d\r\nContent-Type: text/plain\r\n\r\ndeepest text\r\n" % (levels - 1)


def test_very_deep_nesting_is_not_walked() -> None:
    before = b"--b0\r\nContent-Type: text/plain\r\n\r\nText before the depths\r\n"
    parsed = parse_message(_deep(2000, before))
    assert parsed.subject == "deep"
    assert parsed.body.too_complex
    assert parsed.body.text.startswith("Text before the depths")
    assert TOO_COMPLEX in parsed.body.text
    assert "raw source" in parsed.body.text
    assert "deepest text" not in parsed.body.text


def test_nesting_past_the_depth_limit_says_so() -> None:
    parsed = parse_message(_deep(MAX_DEPTH + 10))  # far fewer entities than MAX_PARTS
    assert parsed.body.too_complex
    assert f"more than {MAX_DEPTH} levels" in parsed.body.text
    assert "deepest text" not in parsed.body.text


def test_recursion_error_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "MAX_DEPTH", 10**9)
    monkeypatch.setattr(parse, "MAX_PARTS", 10**9)
    parsed = parse_message(_deep(2000))
    assert parsed.body.too_complex
    assert TOO_COMPLEX in parsed.body.text
    assert parsed.subject == "deep"


def test_moderate_nesting_is_walked() -> None:
    parsed = parse_message(_deep(40))
    assert parsed.body.text == "deepest text"
    assert not parsed.body.too_complex


def test_twenty_thousand_parts_stop_at_the_limit() -> None:
    parts = b"".join(
        b"--zz\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % index for index in range(20_000)
    )
    raw = b"Subject: many\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n" + parts + b"--zz--"
    parsed = parse_message(raw)
    assert parsed.body.too_complex
    assert parsed.body.text.startswith("part 0\n\npart 1\n\n")
    assert TOO_COMPLEX in parsed.body.text
    assert "raw source" in parsed.body.text
    assert "part 19999" not in parsed.body.text
    assert len(parsed.body.parts) < MAX_PARTS


def test_a_text_part_too_big_is_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "MAX_PART_BYTES", 1000)
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nsmall\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 2000 + b"\r\n"
        b"--b\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=a.zip"
        b"\r\n\r\n" + b"y" * 2000 + b"\r\n--b--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.body.too_complex
    assert parsed.body.text.startswith("small\n\n")
    assert "xxx" not in parsed.body.text
    assert TOO_COMPLEX in parsed.body.text
    # a big attachment is only listed, never decoded, so it does not make the message complex
    assert [attachment.safe_name for attachment in parsed.body.attachments] == ["a.zip"]


def test_big_attachments_alone_are_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "MAX_PART_BYTES", 1000)
    message = _message(body="Here it is\n")
    message.add_attachment(b"z" * 5000, maintype="application", subtype="zip", filename="a.zip")
    parsed = parse_message(message.as_bytes())
    assert not parsed.body.too_complex
    assert parsed.body.text == "Here it is"
    assert parsed.body.attachments[0].part.size == 5000


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "header",
    [
        b'Content-Type: text/plain; charset="' + b'"' * 80_000,
        b"Content-Type: text/plain" + b";" * 80_000,
        b"Content-Disposition: attachment; filename=" + b'"' * 80_000,
        b"To: " + b'"' * 80_000,
        b"From: " + b"(" * 5000 + b"a" + b")" * 5000 + b" <b@example.org>",
    ],
    ids=["type-quotes", "type-semicolons", "disposition-quotes", "to-quotes", "from-comments"],
)
def test_hostile_headers_are_read_quickly(header: bytes) -> None:
    parsed = parse_message(header + b"\r\n\r\nbody")
    assert parsed.body.text in ("body", "")
    _assert_all_safe(parsed)


def test_garbage_never_raises() -> None:
    samples = [
        b"",
        b"\r\n\r\n",
        bytes(range(256)) * 4,
        b"Content-Type: multipart/mixed\r\n\r\n--x\r\nno boundary parameter",
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n",
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!",
        b"Content-Type: text/html\r\n\r\n<" + b"<a href='javascript:x'>" * 1000,
        b"Content-Type: ///\r\nContent-Transfer-Encoding: base64\r\n\r\n=",
        b"Subject: =?utf-8?b?====?= =?bogus?q?=ZZ?= =?utf-8?x?y?=\r\n\r\n",
    ]
    for raw in samples:
        _assert_all_safe(parse_message(raw))


def test_headers_only_message() -> None:
    parsed = parse_message(b"Subject: only headers")
    assert parsed.subject == "only headers"
    assert parsed.body.text == ""


def test_mbox_from_line_is_skipped() -> None:
    parsed = parse_message(b"From alice@example.org Tue Jan  2 10:00:00 2024\nSubject: x\n\nbody\n")
    assert parsed.subject == "x"
    assert [name for name, _ in parsed.headers] == ["Subject"]
    assert parsed.body.text == "body"


def test_flowed_plain_text() -> None:
    raw = b"Content-Type: text/plain; format=flowed\r\n\r\nThis is \r\none line.\r\n"
    assert parse_message(raw).body.text == "This is one line."


def test_html_charset_from_meta_tag() -> None:
    raw = (
        b'Content-Type: text/html\r\n\r\n<meta charset="windows-1251">'
        b"<p>\xcf\xf0\xe8\xe2\xe5\xf2</p>"
    )
    assert parse_message(raw).body.text == "Привет"


def test_list_and_authentication_headers() -> None:
    raw = (
        b"List-Id: Dev talk <dev.lists.example.org>\r\n"
        b"List-Unsubscribe: <javascript:alert(1)>, <https://example.org/u?x=1>,\r\n"
        b" <mailto:leave@example.org>\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        b"Authentication-Results: mx.example.org; dkim=pass header.d=example.org\r\n"
        b"Authentication-Results: mx.example.org; spf=fail\x1b[0m\r\n\r\nx"
    )
    parsed = parse_message(raw)
    assert parsed.list_id == "Dev talk <dev.lists.example.org>"
    assert parsed.list_unsubscribe == ("https://example.org/u?x=1", "mailto:leave@example.org")
    assert parsed.list_unsubscribe_post
    assert parsed.auth_results == (
        "mx.example.org; dkim=pass header.d=example.org",
        "mx.example.org; spf=fail\u241b[0m",
    )


def test_safety_of_every_field_is_covered() -> None:
    # a new string field must be added to _assert_all_safe (or documented as raw, like
    # raw_subject); this test notices when one is forgotten
    names = {field.name for field in fields(ParsedMessage)}
    assert names == {
        "subject",
        "raw_subject",
        "sender",
        "to",
        "cc",
        "reply_to",
        "date",
        "message_id",
        "in_reply_to",
        "references",
        "headers",
        "auth_results",
        "list_id",
        "list_unsubscribe",
        "list_unsubscribe_post",
        "body",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('text/plain; charset="utf-8"; format=flowed', ("text/plain", "utf-8", "flowed")),
        ("TEXT/HTML ; CHARSET = ISO-8859-1", ("text/html", "ISO-8859-1", None)),
        ('text/plain; charset="a\\"b;c"', ("text/plain", 'a"b;c', None)),
    ],
)
def test_mime_parameters(value: str, expected: tuple[str, str, str | None]) -> None:
    kind, params = mime_parameters(value)
    assert (kind, params.get("charset"), params.get("format")) == expected


@pytest.mark.timeout(10)  # a hang guard: it took 25 s before
def test_many_folded_header_lines_read_in_linear_time() -> None:
    # a header folded over 100,000 lines was joined piece by piece: quadratic, 25 s
    folded = ",\r\n ".join(f"r{index}@example.org" for index in range(100_000))
    raw = f"From: a@example.org\r\nCc: {folded}\r\nSubject: many\r\n\r\nHi\r\n".encode()
    headers = parse._header_fields(raw.decode())
    assert [name for name, _ in headers] == ["From", "Cc", "Subject"]
    assert headers[1][1].count("@") == 100_000


def test_address_fields_are_capped() -> None:
    many = ", ".join(f"R{index} <r{index}@example.org>" for index in range(3 * parse.MAX_ADDRESSES))
    huge = ", ".join(f"r{index}@example.org" for index in range(30_000))  # the plain pattern
    raw = f"From: a@example.org\r\nTo: {many}\r\nCc: {huge}\r\n\r\nHi\r\n".encode()
    parsed = parse_message(raw)
    assert len(parsed.to) == parse.MAX_ADDRESSES
    assert parsed.to[-1].email == f"r{parse.MAX_ADDRESSES - 1}@example.org"
    assert len(parsed.cc) == parse.MAX_ADDRESSES
