"""Replies and forwards: who they go to, their subjects, threading, quoting, hostile originals."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from tuimail.mime.build import build_message
from tuimail.mime.parse import parse_message
from tuimail.mime.quote import (
    FORWARD_SEPARATOR,
    MAX_REFERENCES,
    attachments_of,
    forward_draft,
    forward_subject,
    quote_text,
    reply_draft,
    reply_references,
    reply_subject,
)
from tuimail.model.message import Address, Draft

RESUME = "Résumé \u2013 日本.pdf"  # an en dash, spaces and CJK in one name
ME = "me@example.net"
MINE = {ME, "Me.Too@Example.NET"}
PARIS = timezone(timedelta(hours=1))
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=PARIS)


def _original(
    *,
    sender: str = "Alice Example <alice@example.org>",
    to: str = "Me <ME@example.net>, bob@example.org",
    cc: str = "Carol <carol@example.org>, BOB@Example.org, me.too@example.net",
    extra: str = "",
    body: bytes = b"Hello\r\n> earlier words\r\n\r\nBye\r\n-- \r\nAlice's signature\r\n",
    subject: str = "=?utf-8?q?AW=3A_Re=3A_Gr=C3=BC=C3=9Fe?=",
) -> bytes:
    head = (
        f"From: {sender}\r\nTo: {to}\r\nCc: {cc}\r\nSubject: {subject}\r\n"
        "Date: Tue, 02 Jan 2024 10:30:00 +0100\r\nMessage-ID: <m2@example.org>\r\n"
        "References: <m0@example.org> <m1@example.org>\r\nIn-Reply-To: <m1@example.org>\r\n"
        f"{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    return head.encode() + body


def _emails(addresses: tuple[Address, ...]) -> list[str]:
    return [address.email for address in addresses]


# Subjects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Plans", "Re: Plans"),
        ("Re: Plans", "Re: Plans"),
        ("Re: Re: Plans", "Re: Plans"),
        ("RE: re: Plans", "Re: Plans"),
        ("AW: Plans", "Re: Plans"),
        ("SV: Re[2]: Plans", "Re: Plans"),
        ("Fwd: Plans", "Re: Plans"),
        ("[dev] Plans", "Re: [dev] Plans"),
        ("[dev] Re: Plans", "Re: [dev] Plans"),
        ("Re: [dev] Re: Plans", "Re: [dev] Plans"),
        ("Plans [dev]", "Re: Plans [dev]"),
        ("", "Re:"),
        ("Re:", "Re:"),
        ("  Re:   spaced    out  ", "Re: spaced out"),
        ("Grüße\x1b]0;evil\x07 aus Köln", "Re: Grüße]0;evil aus Köln"),
    ],
)
def test_reply_subjects_get_one_re(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Plans", "Fwd: Plans"),
        ("Fwd: Fwd: Plans", "Fwd: Plans"),
        ("Fw: Plans", "Fwd: Plans"),
        ("WG: Plans", "Fwd: Plans"),
        ("Re: Plans", "Fwd: Plans"),
        ("[dev] Fwd: Plans", "Fwd: [dev] Plans"),
        ("", "Fwd:"),
    ],
)
def test_forward_subjects_get_one_fwd(subject: str, expected: str) -> None:
    assert forward_subject(subject) == expected


def test_a_reply_subject_is_decoded_and_unstacked() -> None:
    draft = reply_draft(_original(), MINE, account="me", reply_all=False)
    assert draft.subject == "Re: Grüße"
    assert draft.account == "me"


# Recipients -------------------------------------------------------------------------------


def test_a_reply_goes_to_the_sender_only() -> None:
    draft = reply_draft(_original(), MINE, account="me", reply_all=False)
    assert draft.to == (Address("Alice Example", "alice@example.org"),)
    assert draft.cc == ()
    assert draft.bcc == ()


def test_a_reply_honours_reply_to() -> None:
    original = _original(extra="Reply-To: Team <team@example.org>, alice@example.org\r\n")
    draft = reply_draft(original, MINE, account="me", reply_all=False)
    assert _emails(draft.to) == ["team@example.org", "alice@example.org"]
    assert draft.to[0].name == "Team"


def test_reply_all_drops_own_addresses_and_duplicates() -> None:
    draft = reply_draft(_original(), MINE, account="me", reply_all=True)
    assert _emails(draft.to) == ["alice@example.org"]
    # ME@example.net and me.too@example.net are the account's (case-insensitive); BOB is bob
    assert _emails(draft.cc) == ["bob@example.org", "carol@example.org"]


def test_reply_all_with_reply_to_leaves_the_author_out() -> None:
    original = _original(extra="Reply-To: list@example.org\r\n", cc="list@example.org")
    draft = reply_draft(original, MINE, account="me", reply_all=True)
    assert _emails(draft.to) == ["list@example.org"]
    assert _emails(draft.cc) == ["bob@example.org"]


def test_reply_all_follows_mail_followup_to() -> None:
    original = _original(extra="Mail-Followup-To: dev@lists.example.org, ME@example.net\r\n")
    draft = reply_draft(original, MINE, account="me", reply_all=True)
    assert _emails(draft.to) == ["dev@lists.example.org"]
    assert draft.cc == ()
    plain = reply_draft(original, MINE, account="me", reply_all=False)
    assert _emails(plain.to) == ["alice@example.org"]  # a private reply ignores it


def test_mail_followup_to_names_are_decoded_and_folded_headers_read() -> None:
    original = _original(
        extra="Mail-Followup-To: =?utf-8?q?Entwickler=2C_K=C3=B6ln?= <dev@example.org>,\r\n"
        " other@example.org\r\n"
    )
    draft = reply_draft(original, MINE, account="me", reply_all=True)
    assert draft.to == (
        Address("Entwickler, Köln", "dev@example.org"),
        Address("", "other@example.org"),
    )


def test_replying_to_my_own_message_goes_to_its_recipients() -> None:
    original = _original(sender="Me <me@example.net>", to="bob@example.org", cc="carol@example.org")
    plain = reply_draft(original, MINE, account="me", reply_all=False)
    assert _emails(plain.to) == ["bob@example.org"]
    assert plain.cc == ()
    every = reply_draft(original, MINE, account="me", reply_all=True)
    assert _emails(every.to) == ["bob@example.org"]
    assert _emails(every.cc) == ["carol@example.org"]


def test_unusable_addresses_are_left_out() -> None:
    original = _original(to="undisclosed-recipients:;", cc="not an address, dave@example.org")
    draft = reply_draft(original, MINE, account="me", reply_all=True)
    assert _emails(draft.to) == ["alice@example.org"]
    assert _emails(draft.cc) == ["dave@example.org"]


# Threading --------------------------------------------------------------------------------


def test_a_reply_threads_under_the_original() -> None:
    draft = reply_draft(_original(), MINE, account="me", reply_all=False)
    assert draft.in_reply_to == "<m2@example.org>"
    assert draft.references == ("<m0@example.org>", "<m1@example.org>", "<m2@example.org>")


def test_references_come_from_in_reply_to_when_missing() -> None:
    raw = b"From: a@example.org\r\nMessage-ID: <c@x>\r\nIn-Reply-To: <p@x>\r\n\r\nhi\r\n"
    assert reply_references(parse_message(raw)) == ("<p@x>", "<c@x>")
    alone = b"From: a@example.org\r\nMessage-ID: <c@x>\r\n\r\nhi\r\n"
    assert reply_references(parse_message(alone)) == ("<c@x>",)
    none = reply_draft(b"From: a@example.org\r\n\r\nhi\r\n", MINE, account="me", reply_all=False)
    assert none.in_reply_to == ""
    assert none.references == ()


def test_huge_references_keep_the_root_and_the_latest() -> None:
    chain = [f"<r{index}@example.org>" for index in range(100)]
    raw = (
        "From: a@example.org\r\nMessage-ID: <last@example.org>\r\n"
        f"References: {' '.join(chain)} <r5@example.org> <bad id> <r7@example.org>\r\n\r\nhi\r\n"
    ).encode()
    references = reply_references(parse_message(raw))
    assert len(references) == MAX_REFERENCES
    assert references[0] == "<r0@example.org>"
    assert references[-1] == "<last@example.org>"
    assert references[-2] == "<r99@example.org>"
    assert len(set(references)) == len(references)


def test_a_built_reply_carries_the_chain() -> None:
    draft = reply_draft(_original(), MINE, account="me", reply_all=True)
    data = build_message(draft, Address("Me", ME), domain="example.net").as_bytes()
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["In-Reply-To"] == "<m2@example.org>"
    assert str(message["References"]).split() == list(draft.references)
    assert message["Subject"] == "Re: Grüße"
    assert parse_message(data).references == draft.references


# Quoting ----------------------------------------------------------------------------------


def test_the_quote_has_an_attribution_and_no_signature() -> None:
    draft = reply_draft(_original(), MINE, account="me", reply_all=False, now=NOW)
    assert draft.body == (
        "On Tue, 2 Jan 2024 at 10:30, Alice Example wrote:\n> Hello\n>> earlier words\n>\n> Bye\n"
    )


def test_the_attribution_date_is_in_the_readers_zone() -> None:
    tokyo = datetime(2024, 3, 1, tzinfo=timezone(timedelta(hours=9)))
    body = reply_draft(_original(), MINE, account="me", reply_all=False, now=tokyo).body
    assert body.startswith("On Tue, 2 Jan 2024 at 18:30, Alice Example wrote:\n")
    utc = datetime(2024, 3, 1, tzinfo=UTC)
    body = reply_draft(_original(), MINE, account="me", reply_all=False, now=utc).body
    assert body.startswith("On Tue, 2 Jan 2024 at 09:30, Alice Example wrote:\n")


def test_the_attribution_falls_back_to_the_address_and_no_date() -> None:
    raw = b"From: alice@example.org\r\n\r\nhi\r\n"
    assert reply_draft(raw, MINE, account="me", reply_all=False).body == (
        "alice@example.org wrote:\n> hi\n"
    )
    anonymous = reply_draft(b"\r\nhi\r\n", MINE, account="me", reply_all=False)
    assert anonymous.body == "Someone wrote:\n> hi\n"


def test_quote_text_marks_every_line() -> None:
    assert quote_text("a\n\n> b\n  \nc") == "> a\n>\n>> b\n>\n> c"


def test_an_html_only_original_is_quoted_as_text() -> None:
    html = (
        "<html><head><style>p{color:red}</style></head><body>"
        "<p>Hello <b>there</b>, caf&eacute;!</p>"
        '<p>See <a href="https://example.org/doc">the doc</a>.</p>'
        "<script>alert(1)</script></body></html>"
    )
    message = EmailMessage()
    message["From"] = "Alice <alice@example.org>"
    message["Subject"] = "HTML"
    message["Date"] = "Tue, 02 Jan 2024 10:30:00 +0100"
    message.set_content(html, subtype="html")
    draft = reply_draft(message.as_bytes(), MINE, account="me", reply_all=False, now=NOW)
    assert draft.body.startswith("On Tue, 2 Jan 2024 at 10:30, Alice wrote:\n")
    assert "> Hello **there** , café!" in draft.body  # html2text's emphasis marks
    assert "> See the doc [1]." in draft.body
    assert "> [1] https://example.org/doc" in draft.body
    for unwanted in ("<p>", "<b>", "color", "alert", "&eacute;"):
        assert unwanted not in draft.body


def test_the_text_part_of_an_alternative_is_quoted() -> None:
    message = EmailMessage()
    message["From"] = "Alice <alice@example.org>"
    message.set_content("The plain words\n")
    message.add_alternative("<p>The <i>html</i> words</p>", subtype="html")
    draft = reply_draft(message.as_bytes(), MINE, account="me", reply_all=False)
    assert "> The plain words" in draft.body
    assert "html" not in draft.body


# Forwarding -------------------------------------------------------------------------------


def _with_attachment() -> bytes:
    message = EmailMessage()
    message["From"] = "Alice Example <alice@example.org>"
    message["To"] = "me@example.net"
    message["Subject"] = "Re: Lebenslauf"
    message["Date"] = "Tue, 02 Jan 2024 10:30:00 +0100"
    message["Message-ID"] = "<cv@example.org>"
    message.set_content("See attached.\n")
    message.add_attachment(
        b"%PDF-1.4\x00\xff", maintype="application", subtype="pdf", filename=RESUME
    )
    message.add_attachment(b"\x89PNG\r\n\x1a\n", maintype="image", subtype="png", filename="a.png")
    return message.as_bytes()


def test_an_inline_forward_shows_the_original_headers_and_text() -> None:
    draft = forward_draft(_original(), account="me")
    assert draft.subject == "Fwd: Grüße"
    assert draft.to == draft.cc == draft.bcc == ()
    assert draft.in_reply_to == ""
    assert draft.raw_attachments == ()
    assert draft.body == (
        "\n"
        f"{FORWARD_SEPARATOR}\n"
        "From: Alice Example <alice@example.org>\n"
        "Date: Tue, 02 Jan 2024 10:30:00 +0100\n"
        "Subject: AW: Re: Grüße\n"
        "To: Me <ME@example.net>, bob@example.org\n"
        "Cc: Carol <carol@example.org>, BOB@Example.org, me.too@example.net\n"
        "\n"
        "Hello\n"
        "> earlier words\n"
        "\n"
        "Bye\n"
        "-- \n"
        "Alice's signature\n"
    )


def test_an_inline_forward_keeps_attachments_when_asked() -> None:
    original = _with_attachment()
    assert forward_draft(original, account="me").raw_attachments == ()
    draft = forward_draft(original, account="me", keep_attachments=True)
    assert draft.raw_attachments == (
        (RESUME, "application/pdf", b"%PDF-1.4\x00\xff"),
        ("a.png", "image/png", b"\x89PNG\r\n\x1a\n"),
    )
    assert "See attached." in draft.body
    addressed = dataclasses.replace(draft, to=(Address("", "bob@example.org"),))
    data = build_message(addressed, Address("Me", ME), domain="example.net").as_bytes()
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    parts = list(parsed.iter_attachments())
    assert [part.get_filename() for part in parts] == [RESUME, "a.png"]
    assert [part.get_payload(decode=True) for part in parts] == [
        b"%PDF-1.4\x00\xff",
        b"\x89PNG\r\n\x1a\n",
    ]


def test_a_forward_as_attachment_carries_the_original_bytes() -> None:
    original = _with_attachment()
    draft = forward_draft(original, account="me", inline=False, keep_attachments=True)
    assert draft.subject == "Fwd: Lebenslauf"
    assert draft.body == ""
    assert draft.raw_attachments == (("Lebenslauf.eml", "message/rfc822", original),)
    crlf = original.replace(b"\n", b"\r\n")  # the stdlib wrote LF; SMTP wants CRLF
    sent = Draft(
        account="me",
        to=(Address("", "bob@example.org"),),
        subject=draft.subject,
        raw_attachments=draft.raw_attachments,
    )
    data = build_message(sent, Address("Me", ME), domain="example.net", eight_bit=True).as_bytes()
    assert crlf in data
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    part = next(parsed.iter_attachments())
    assert part.get_content_type() == "message/rfc822"
    assert part.get_filename() == "Lebenslauf.eml"
    inner = part.get_content()
    assert isinstance(inner, EmailMessage)
    assert inner["Message-ID"] == "<cv@example.org>"
    assert [p.get_filename() for p in inner.iter_attachments()] == [RESUME, "a.png"]
    assert attachments_of(data) == (("Lebenslauf.eml", "message/rfc822", crlf),)


def test_a_forward_of_an_attached_message_keeps_it_whole() -> None:
    inner = _with_attachment()
    outer = EmailMessage()
    outer["From"] = "carol@example.org"
    outer["Subject"] = "FYI"
    outer.set_content("Look at this.\n")
    outer.add_attachment(inner, maintype="message", subtype="rfc822", filename="cv.eml")
    found = attachments_of(outer.as_bytes())
    assert [(name, kind) for name, kind, _ in found] == [("cv.eml", "message/rfc822")]
    assert parse_message(found[0][2]).message_id == "<cv@example.org>"


# Hostile originals ------------------------------------------------------------------------

_DEEP = (
    b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    + b"".join(
        f"--b{level}\r\nContent-Type: multipart/mixed; boundary=b{level + 1}\r\n\r\n".encode()
        for level in range(3000)
    )
    + b"text\r\n"
)

HOSTILE = [
    pytest.param(b"", id="empty"),
    pytest.param(b"\x00\xff" * 500, id="binary"),
    pytest.param(b"no headers at all", id="no-headers"),
    pytest.param(_DEEP, id="3000-deep"),
    pytest.param(
        b"From: =?utf-8?q?Eve=0D=0ABcc=3A_x=40example=2Eorg?= <eve@example.org>\r\n"
        b"Subject: =?utf-8?q?hi=0D=0ABcc=3A_victim=40example=2Eorg?=\r\n"
        b"Message-ID: <a\x1b]0;x\x07@example.org>\r\nReferences: <ok@x> <b\x00d@x>\r\n\r\nbody\r\n",
        id="encoded-line-breaks",
    ),
    pytest.param(
        b"From: Eve <eve@example.org>\r\nSubject: \x1b[31mred\x1b[0m \xff\xfe\r\n"
        b"Reply-To: " + b"(" * 5000 + b"\r\n"
        b"Mail-Followup-To: " + b'"' * 60000 + b"\r\n"
        b"Date: Mon, 01 Jan 0001 00:00:00 +2359\r\n"
        b"Content-Type: text/html; charset=x-no-such-charset\r\n\r\n<p>&#27;]0;t&#7;hi",
        id="escapes-and-bad-parentheses",
    ),
    pytest.param(
        b"From: Eve <eve@example.org>\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        b"filename=../../.bashrc\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!not base64\r\n--x--",
        id="path-in-filename",
    ),
]


@pytest.mark.parametrize("original", HOSTILE)
def test_hostile_originals_give_replies_and_forwards_that_build(original: bytes) -> None:
    sender = Address("Me", ME)
    bob = (Address("", "bob@example.org"),)
    drafts = [
        reply_draft(original, MINE, account="me", reply_all=True, now=NOW),
        reply_draft(original, MINE, account="me", reply_all=False),
        forward_draft(original, account="me", keep_attachments=True),
        forward_draft(original, account="me", inline=False),
    ]
    for draft in drafts:
        ready = Draft(
            account="me",
            to=draft.to or bob,
            cc=draft.cc,
            subject=draft.subject,
            body=draft.body,
            in_reply_to=draft.in_reply_to,
            references=draft.references,
            raw_attachments=draft.raw_attachments,
        )
        data = build_message(ready, sender, domain="example.net").as_bytes()
        # headers only: the stdlib parser itself overflows on the deep original inside
        message = BytesParser(policy=email.policy.default).parsebytes(data, headersonly=True)
        assert message.get_all("Bcc") is None
        assert "\x1b" not in str(message["Subject"])
        for name, _kind, _data in draft.raw_attachments:
            assert "/" not in name


def test_a_hostile_subject_cannot_inject_a_header() -> None:
    (original,) = HOSTILE[4].values
    assert isinstance(original, bytes)
    draft = reply_draft(original, MINE, account="me", reply_all=False)
    assert "\r" not in draft.subject
    assert "\n" not in draft.subject
    assert draft.references == ("<ok@x>",)
    assert draft.in_reply_to == ""
    assert all("\n" not in address.name for address in draft.to)


def test_reply_subject_loses_bidi_overrides() -> None:
    raw = _original(subject="Invoice \u202efdp.exe\u202c \u2066x\u2069 \u200f")
    draft = reply_draft(raw, MINE, account="home", reply_all=False, now=NOW)
    assert draft.subject == "Re: Invoice fdp.exe x"


def test_attachments_are_numbered_as_the_reader_lists_them() -> None:
    # an inline attached message: the reader lists it and then the attachment inside it;
    # saving the n-th must save the reader's n-th, not the next one of the outer message
    inner = EmailMessage()
    inner["From"] = "carol@example.org"
    inner["Subject"] = "Inner"
    inner.set_content("Inside.\n")
    inner.add_attachment(b"inner", maintype="application", subtype="pdf", filename="inner.pdf")
    outer = EmailMessage()
    outer["From"] = "dave@example.org"
    outer["Subject"] = "Outer"
    outer.set_content("See below.\n")
    outer.add_attachment(inner, disposition="inline")
    outer.add_attachment(b"outer", maintype="application", subtype="pdf", filename="outer.pdf")
    raw = outer.as_bytes()
    listed = [a.safe_name for a in parse_message(raw).body.attachments]
    found = attachments_of(raw, nested=True)
    assert [name for name, _kind, _data in found] == listed
    assert listed[1:] == ["inner.pdf", "outer.pdf"]
    assert [data for _name, _kind, data in found][1:] == [b"inner", b"outer"]
    # a forward keeps the attached message whole, its attachment inside it
    assert [name for name, _kind, _data in attachments_of(raw)][1:] == ["outer.pdf"]
