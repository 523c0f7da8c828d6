"""Property tests over parse -> render -> quote -> build: arbitrary bytes and mutated messages.

No exception but a MailError may escape, and nothing that reaches the screen or a header may
hold a control character (tab and newline aside). Bounded: together well under a minute.
"""

from __future__ import annotations

import contextlib

from helpers.hostile import (
    CASES,
    CORPUS,
    ME,
    check_built,
    check_draft,
    check_parsed,
    unsafe_in_line,
    unsafe_in_text,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuimail.mime.parse import decode_words, mime_parameters, parse_message
from tuimail.mime.quote import attachments_of, forward_draft, reply_draft
from tuimail.mime.render import html_to_text, render_plain, safe_filename
from tuimail.model.errors import MailError

FUZZ = settings(
    max_examples=150,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SEEDS = [
    (CORPUS / f"{case.name}.eml").read_bytes()
    for case in CASES
    if not case.generated and (CORPUS / f"{case.name}.eml").stat().st_size < 20_000
]
"""Small corpus messages to mutate: real structure with hostile content."""
NASTY = [
    b"\x00",
    b"\x1b",
    b"\x1b]0;x\x07",
    b"\x9b",
    b"\xc2\x9b",
    b"\r",
    b"\n",
    b"\r\n\r\n",
    b"\n ",
    b"=?",
    b"?=",
    b"=?utf-8?b?",
    b"=?x?q?=1B",
    b"--",
    b"--hostile-boundary",
    b"--hostile-boundary--",
    b";",
    b'"',
    b"\\",
    b"*0*=",
    b"'",
    b"%1B",
    b"<",
    b">",
    b"@",
    b"[/]",
    b"[@click=app.quit]",
    b"&#27;",
    b"<script>",
    b"Content-Type: multipart/mixed; boundary=x\r\n",
    b"Content-Type: message/rfc822\r\n\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"\xff\xfe",
    b"\xe2\x80\xae",
    b"\xed\xa0\x80",
]


def _through_everything(raw: bytes) -> None:
    """parse -> render -> reply, reply all, forward both ways -> build; check what comes out."""
    parsed = parse_message(raw)
    check_parsed(parsed)
    drafts = [
        reply_draft(raw, {ME.email}, account="a", reply_all=False),
        reply_draft(raw, {ME.email}, account="a", reply_all=True),
        forward_draft(raw, account="a", inline=True, keep_attachments=True),
        forward_draft(raw, account="a", inline=False),
    ]
    for draft in drafts:
        check_draft(draft)
        with contextlib.suppress(MailError):  # refusing to build is allowed, crashing is not
            check_built(draft)
    for name, _kind, _data in attachments_of(raw, nested=True):
        assert name == safe_filename(name, "x")


@FUZZ
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(raw: bytes) -> None:
    _through_everything(raw)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    """A corpus message with pieces cut out and nasty bytes put in at random places."""
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        where = draw(st.integers(0, max(0, len(raw))))
        action = draw(st.sampled_from(["insert", "cut", "flip"]))
        if action == "insert":
            raw[where:where] = draw(st.sampled_from(NASTY) | st.binary(min_size=1, max_size=8))
        elif action == "cut":
            del raw[where : where + draw(st.integers(1, 64))]
        elif raw:
            raw[min(where, len(raw) - 1)] ^= draw(st.integers(1, 255))
    return bytes(raw)


@FUZZ
@given(_mutated())
def test_mutated_corpus_messages(raw: bytes) -> None:
    _through_everything(raw)


_HEADER_TEXT = st.lists(
    st.text(st.characters(codec="utf-8"), max_size=8)
    | st.sampled_from(["\x1b", "\x9d", "\u202e", "[/]", "=?", "?=", "\r\n", "=?utf-8?q?=1B"]),
    max_size=10,
).map("".join)


@FUZZ
@given(
    subject=_HEADER_TEXT,
    name=_HEADER_TEXT,
    filename=_HEADER_TEXT,
    body=st.text(max_size=300),
    html=st.booleans(),
)
def test_structured_messages_with_hostile_fields(
    subject: str, name: str, filename: str, body: str, html: bool
) -> None:
    kind = "text/html" if html else "text/plain"
    raw = (
        f"From: {name} <a@example.org>\r\nTo: {name} <b@example.org>\r\nSubject: {subject}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
        f"--zz\r\nContent-Type: {kind}; charset=utf-8\r\n\r\n{body}\r\n"
        f"--zz\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
        f'filename="{filename}"\r\n\r\ndata\r\n--zz--\r\n'
    ).encode("utf-8", "surrogatepass")
    _through_everything(raw)


@FUZZ
@given(st.text(max_size=2000))
def test_render_is_always_terminal_safe(text: str) -> None:
    html, links = html_to_text(text)
    assert not unsafe_in_text(html)
    for link in links:
        assert not unsafe_in_line(link)
    assert not unsafe_in_text(render_plain(text))
    assert not unsafe_in_text(render_plain(text, flowed=True, delsp=True))
    decode_words(text)  # never raises, whatever the charset or encoding named
    kind, _params = mime_parameters(text)
    assert kind == kind.lower()


@FUZZ
@given(st.text(max_size=400))
def test_safe_filename_is_one_safe_component(name: str) -> None:
    safe = safe_filename(name, "attachment.bin")
    assert safe
    assert safe not in (".", "..")
    assert "/" not in safe
    assert "\\" not in safe
    assert not safe.startswith((".", "-"))
    assert len(safe.encode("utf-8")) <= 255
    assert not unsafe_in_line(safe)
