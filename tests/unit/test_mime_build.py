"""Drafts become messages that read back the same, and nothing a person types can inject headers."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from tuimail.mime.build import (
    AddressError,
    AttachmentError,
    HeaderError,
    build_message,
    envelope_recipients,
    format_addresses,
    guess_content_type,
    parse_addresses,
    smtp_address,
)
from tuimail.mime.parse import parse_message
from tuimail.mime.quote import attachments_of
from tuimail.model.errors import MailError
from tuimail.model.message import Address, Draft

RESUME = "Résumé \u2013 日本.pdf"  # an en dash, spaces and CJK in one name
NOW = datetime(2024, 1, 2, 10, 30, tzinfo=timezone(timedelta(hours=1)))
ALICE = Address("Alice Ärger", "alice@example.org")
BOB = Address("Bob", "bob@example.org")


def _build(
    draft: Draft, *, eight_bit: bool = False, signature: str = "", sender: Address = ALICE
) -> bytes:
    message = build_message(
        draft, sender, domain="example.org", eight_bit=eight_bit, signature=signature, now=NOW
    )
    return message.as_bytes()


def _read(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _text_body(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    content = body.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")  # a decoded quoted-printable body keeps the CRLFs


# Addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bob@example.org", [Address("", "bob@example.org")]),
        ("Bob <bob@example.org>", [Address("Bob", "bob@example.org")]),
        ('"Doe, John" <john@example.org>', [Address("Doe, John", "john@example.org")]),
        ('"Say \\"hi\\"" <hi@example.org>', [Address('Say "hi"', "hi@example.org")]),
        ("<bare@example.org>", [Address("", "bare@example.org")]),
        ("carol@example.org (Carol Q)", [Address("Carol Q", "carol@example.org")]),
        ("Zoë Ünal <zoe@example.org>", [Address("Zoë Ünal", "zoe@example.org")]),
        ("山田 太郎 <taro@例え.jp>", [Address("山田 太郎", "taro@例え.jp")]),
        ("info@bücher.de", [Address("", "info@bücher.de")]),
        ("root@[192.0.2.1]", [Address("", "root@[192.0.2.1]")]),
        (
            "a@example.org, Bob <b@example.org>; c@example.org,",
            [
                Address("", "a@example.org"),
                Address("Bob", "b@example.org"),
                Address("", "c@example.org"),
            ],
        ),
        ("  ,  , ", []),
        ("", []),
        ("first.last+tag@sub.example.co.uk", [Address("", "first.last+tag@sub.example.co.uk")]),
    ],
)
def test_addresses_parse_as_people_type_them(text: str, expected: list[Address]) -> None:
    assert list(parse_addresses(text)) == expected


@pytest.mark.parametrize(
    ("text", "bad", "reason"),
    [
        ("bob", "bob", "no @"),
        ("ok@example.org, bob@", "bob@", "nothing after the @"),
        ("@example.org", "@example.org", "nothing before the @"),
        ("a b@example.org", "a b@example.org", "space"),
        ("Bob <bob smith@example.org>", "Bob <bob smith@example.org>", "space"),
        ("Bob bob@example.org", "Bob bob@example.org", "Name <address>"),
        ("a@@example.org", "a@@example.org", "more than one @"),
        ("a@example..org", "a@example..org", "empty part"),
        ("a@example.org.", "a@example.org.", "empty part"),
        (".a@example.org", ".a@example.org", "dot"),
        ("a..b@example.org", "a..b@example.org", "dot"),
        ("Bob <bob@example.org", "Bob <bob@example.org", "not closed"),
        ('"Bob <bob@example.org>', '"Bob <bob@example.org>', "quote is not closed"),
        ("Bob <b@example.org> <c@example.org>", "Bob <b@example.org> <c@example.org>", "more"),
        ("Bob <b@example.org> extra", "Bob <b@example.org> extra", "after the >"),
        ("Bob <>", "Bob <>", "no address"),
        ("jörg@example.de", "jörg@example.de", "ASCII"),
        ("a@-bad.example", "a@-bad.example", "not valid"),
        ("a@1.2.3.4", "a@1.2.3.4", "[192.0.2.1]"),
        ("a@[300.1.1.1]", "a@[300.1.1.1]", "not an IP address"),
        ("a@exa_mple.org", "a@exa_mple.org", "not valid"),
        ("a@xn--zz-.org", "a@xn--zz-.org", "not valid"),
        ("a\x1b@example.org", "a\x1b@example.org", "control character"),
        ("x@" + "a" * 64 + ".org", "x@" + "a" * 64 + ".org", "not valid"),
        ("a(b@example.org", "a(b@example.org", "( is not closed"),
    ],
)
def test_bad_addresses_are_refused_naming_the_entry(text: str, bad: str, reason: str) -> None:
    with pytest.raises(AddressError) as caught:
        parse_addresses(text)
    error = caught.value
    assert isinstance(error, MailError)
    assert error.title == "Bad address"
    assert error.entry == bad
    assert reason in str(error)
    if "\x1b" not in bad:
        assert f'"{bad}"' in str(error)


@pytest.mark.parametrize(
    "text",
    [
        "bob@example.org\r\nBcc: victim@example.org",
        "Bob\n <bob@example.org>",
        "bob@example.org\r",
        "a@example.org,\nb@example.org",
        "Bob\u2028 <bob@example.org>",
        "Bob\x85 <bob@example.org>",
    ],
)
def test_line_breaks_in_an_address_list_are_refused(text: str) -> None:
    with pytest.raises(AddressError, match="line break") as caught:
        parse_addresses(text)
    assert "\n" not in str(caught.value)
    assert "\r" not in str(caught.value)


def test_formatted_addresses_parse_back_the_same() -> None:
    addresses = (
        Address("Doe, John", "john@example.org"),
        Address('Say "hi" \\ there', "hi@example.org"),
        Address("J. R. (Bob) <Dobbs>", "bob@example.org"),
        Address("Zoë", "zoe@bücher.de"),
        Address("", "plain@example.org"),
        Address("Semi; colon", "semi@example.org"),
    )
    assert parse_addresses(format_addresses(addresses)) == addresses


def test_idn_domains_are_kept_and_sent_as_idna() -> None:
    assert parse_addresses("info@Bücher.de")[0].email == "info@Bücher.de"
    assert smtp_address("info@bücher.de") == "info@xn--bcher-kva.de"
    assert smtp_address("ich@faß.de") == "ich@xn--fa-hia.de"  # IDNA 2008, not 2003's "fass"
    assert smtp_address("a@例え。jp") == "a@xn--r8jz45g.jp"  # ideographic full stop
    assert smtp_address("a@xn--bcher-kva.de") == "a@xn--bcher-kva.de"
    with pytest.raises(AddressError):
        smtp_address("a@bü☃cher.de")


# Round trip -------------------------------------------------------------------------------


def test_a_built_message_reads_back_the_same(tmp_path: Path) -> None:
    pdf = tmp_path / RESUME
    pdf.write_bytes(b"%PDF-1.4\n\x00\x01\xff binary\n")
    notes = tmp_path / "notes.txt"
    notes.write_bytes("Grüße\n".encode())
    long_name = tmp_path / ("Ein sehr langer Dateiname mit Ümlauten " * 3 + ".png")
    long_name.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    draft = Draft(
        account="alice",
        to=(Address("Zoë Ünal, PhD", "zoe@example.org"), Address("", "info@bücher.de")),
        cc=(Address("山田 太郎", "taro@example.jp"),),
        subject="Grüße \u2013 日本 " + "and a subject long enough to fold " * 3,
        body="Hallo Zoë,\n\nanbei der Lebenslauf.\n\n日本語のテキスト\n",
        attachments=(str(pdf), str(notes), str(long_name)),
        extra_headers=(("X-Mailer", "tuimail"), ("Reply-To", "Ärger Team <team@example.org>")),
    )
    data = _build(draft)
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF throughout
    assert data.isascii()  # RFC 2047, RFC 2231 and quoted-printable: nothing 8-bit
    message = _read(data)
    assert message["Subject"] == " ".join(draft.subject.split())
    sender = message["From"].addresses
    assert [(a.display_name, a.addr_spec) for a in sender] == [("Alice Ärger", ALICE.email)]
    to = [(a.display_name, a.addr_spec) for a in message["To"].addresses]
    assert to == [("Zoë Ünal, PhD", "zoe@example.org"), ("", "info@xn--bcher-kva.de")]
    assert [a.display_name for a in message["Cc"].addresses] == ["山田 太郎"]
    assert message["Reply-To"].addresses[0].display_name == "Ärger Team"
    assert message["X-Mailer"] == "tuimail"
    assert message["MIME-Version"] == "1.0"
    assert message["Date"].datetime == NOW
    assert str(message["Message-ID"]).endswith("@example.org>")
    assert _text_body(message) == draft.body
    attachments = list(message.iter_attachments())
    assert [part.get_filename() for part in attachments] == [pdf.name, notes.name, long_name.name]
    assert [part.get_content_type() for part in attachments] == [
        "application/pdf",
        "text/plain",
        "image/png",
    ]
    for part, path in zip(attachments, (pdf, notes, long_name), strict=True):
        assert part.get_payload(decode=True) == path.read_bytes()
    # tuimail's own reader agrees
    parsed = parse_message(data)
    assert parsed.raw_subject == message["Subject"]
    assert [a.safe_name for a in parsed.body.attachments] == [
        pdf.name,
        notes.name,
        long_name.name,
    ]


def test_bcc_is_never_in_the_message_but_is_a_recipient() -> None:
    draft = Draft(
        account="alice",
        to=(BOB,),
        cc=(Address("", "Carol@Example.org"),),
        bcc=(Address("Secret Sam", "sam@example.net"), Address("", "BOB@example.org")),
        subject="Hi",
        body="Hello\n",
    )
    data = _build(draft)
    assert b"sam@example.net" not in data
    assert b"Secret Sam" not in data
    assert b"bcc" not in data.lower()
    assert envelope_recipients(draft) == ["bob@example.org", "Carol@Example.org", "sam@example.net"]
    kept = build_message(draft, ALICE, domain="example.org", now=NOW, keep_bcc=True)
    assert kept["Bcc"].addresses[0].addr_spec == "sam@example.net"


def test_envelope_recipients_refuse_a_bad_address() -> None:
    draft = Draft(account="alice", to=(BOB, Address("", "not an address")))
    with pytest.raises(AddressError, match='"not an address"'):
        envelope_recipients(draft)


@pytest.mark.parametrize(
    ("body", "eight_bit", "encoding"),
    [
        ("plain ASCII\n", False, "7bit"),
        ("plain ASCII\n", True, "7bit"),
        ("Grüße, 日本\n", True, "8bit"),
        ("Grüße, 日本\n", False, "quoted-printable"),
        ("x" * 1200 + "\n", False, "quoted-printable"),
        ("ü" * 600 + "\n", True, "quoted-printable"),  # 1200 bytes: too long even for 8bit
        ("bell \x07 in text\n", False, "quoted-printable"),
    ],
)
def test_the_body_encoding_fits_the_server(body: str, eight_bit: bool, encoding: str) -> None:
    data = _build(Draft(account="alice", to=(BOB,), body=body), eight_bit=eight_bit)
    message = _read(data)
    assert message["Content-Transfer-Encoding"] == encoding
    assert message.get_content_charset() == "utf-8"
    assert _text_body(message) == body
    assert data.isascii() == (encoding != "8bit")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


def test_the_signature_follows_the_dash_dash_line_once() -> None:
    draft = Draft(account="alice", to=(BOB,), body="Hi Bob\n")
    body = _text_body(_read(_build(draft, signature="Alice\r\nexample.org\n")))
    assert body == "Hi Bob\n\n-- \nAlice\nexample.org\n"
    again = Draft(account="alice", to=(BOB,), body=body)
    assert _text_body(_read(_build(again, signature="Alice\nexample.org"))) == body
    empty = Draft(account="alice", to=(BOB,))
    assert _text_body(_read(_build(empty, signature="Alice"))) == "-- \nAlice\n"
    assert _text_body(_read(_build(draft, signature="  \n"))) == "Hi Bob\n"


def test_threading_headers_stay_literal_however_long() -> None:
    parent = "<" + "p" * 120 + "@example.org>"
    references = (*(f"<{index}.{'r' * 60}@example.org>" for index in range(12)), parent)
    draft = Draft(
        account="alice",
        to=(BOB,),
        subject="Re: x",
        in_reply_to=parent,
        references=references,
    )
    data = _build(draft, sender=BOB)
    assert b"=?" not in data  # no RFC 2047 word in an id header
    assert f"In-Reply-To: {parent}\r\n".encode() in data
    message = _read(data)
    assert str(message["References"]).split() == list(references)
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


def test_a_message_id_without_brackets_gets_them_and_a_draft_keeps_its_own() -> None:
    draft = Draft(account="alice", to=(BOB,), in_reply_to="parent@example.org")
    assert _read(_build(draft))["In-Reply-To"] == "<parent@example.org>"
    kept = Draft(account="alice", to=(BOB,), message_id="<draft-1@example.org>")
    assert _read(_build(kept))["Message-ID"] == "<draft-1@example.org>"
    fresh = build_message(Draft(account="alice"), BOB, domain="", now=NOW)
    assert str(fresh["Message-ID"]).endswith("@example.org>")  # the sender's domain
    idn = build_message(Draft(account="alice"), BOB, domain="bücher.de", now=NOW)
    assert str(idn["Message-ID"]).endswith("@xn--bcher-kva.de>")


def test_the_date_defaults_to_now_with_a_zone() -> None:
    message = build_message(Draft(account="alice", to=(BOB,)), ALICE, domain="example.org")
    sent = message["Date"].datetime
    assert sent.tzinfo is not None
    assert abs(sent - datetime.now(UTC)) < timedelta(minutes=1)


# Header injection -------------------------------------------------------------------------

INJECTIONS = ["x\r\nBcc: victim@example.org", "x\nX-Evil: 1", "x\rX-Evil: 1", "x\u2028y", "x\x00"]


@pytest.mark.parametrize("bad", INJECTIONS)
@pytest.mark.parametrize(
    "where",
    [
        "subject",
        "to name",
        "cc name",
        "bcc name",
        "sender name",
        "extra value",
        "extra name",
        "in-reply-to",
        "references",
        "message-id",
        "raw attachment name",
        "domain",
    ],
)
def test_line_breaks_in_any_header_value_are_refused(where: str, bad: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "never-read.pdf")  # headers are checked before files are read
    draft = Draft(account="alice", to=(BOB,), attachments=(missing,))
    sender, domain = ALICE, "example.org"
    evil = Address(bad, "eve@example.org")
    match where:
        case "subject":
            draft = Draft(account="alice", to=(BOB,), subject=bad, attachments=(missing,))
        case "to name":
            draft = Draft(account="alice", to=(evil,), attachments=(missing,))
        case "cc name":
            draft = Draft(account="alice", to=(BOB,), cc=(evil,), attachments=(missing,))
        case "bcc name":
            draft = Draft(account="alice", to=(BOB,), bcc=(evil,), attachments=(missing,))
        case "sender name":
            sender = Address(bad, "alice@example.org")
        case "extra value":
            draft = Draft(account="alice", extra_headers=(("X-Tag", bad),), attachments=(missing,))
        case "extra name":
            draft = Draft(account="alice", extra_headers=((bad, "v"),), attachments=(missing,))
        case "in-reply-to":
            draft = Draft(account="alice", in_reply_to=f"<{bad}@x>", attachments=(missing,))
        case "references":
            draft = Draft(account="alice", references=("<a@x>", bad), attachments=(missing,))
        case "message-id":
            draft = Draft(account="alice", message_id=bad, attachments=(missing,))
        case "raw attachment name":
            draft = Draft(
                account="alice",
                raw_attachments=((bad, "text/plain", b"x"),),
                attachments=(missing,),
            )
        case "domain":
            domain = f"example.org{bad}"
    with pytest.raises(MailError) as caught:
        build_message(draft, sender, domain=domain, now=NOW)
    assert isinstance(caught.value, HeaderError | AddressError)
    assert "\n" not in str(caught.value)


def test_a_line_break_in_an_address_is_refused() -> None:
    draft = Draft(account="alice", to=(Address("", "bob@example.org\r\nBcc: x@example.org"),))
    with pytest.raises(AddressError, match="line break"):
        build_message(draft, ALICE, domain="example.org")


def test_bad_addresses_in_a_draft_are_named() -> None:
    draft = Draft(account="alice", to=(BOB, Address("Eve", "eve@")))
    with pytest.raises(AddressError, match='"Eve <eve@>"') as caught:
        build_message(draft, ALICE, domain="example.org")
    assert caught.value.entry == "Eve <eve@>"


@pytest.mark.parametrize(
    "name", ["From", "to", "BCC", "Subject", "Message-ID", "Content-Type", "MIME-Version"]
)
def test_extra_headers_cannot_replace_the_built_ones(name: str) -> None:
    draft = Draft(account="alice", to=(BOB,), extra_headers=((name, "x@example.org"),))
    with pytest.raises(HeaderError, match=name):
        build_message(draft, ALICE, domain="example.org")


@pytest.mark.parametrize("name", ["X Space", "X:Colon", "", "Ümlaut"])
def test_extra_header_names_must_be_field_names(name: str) -> None:
    draft = Draft(account="alice", extra_headers=((name, "v"),))
    with pytest.raises(HeaderError, match="not a valid header name"):
        build_message(draft, ALICE, domain="example.org")


def test_a_long_ascii_extra_header_folds_between_words_and_stays_ascii() -> None:
    value = " ".join(f"word{index}" for index in range(40)) + " " + "k" * 120
    draft = Draft(account="alice", extra_headers=(("X-Long", value),))
    data = _build(draft, sender=BOB)
    assert b"=?" not in data
    assert _read(data)["X-Long"] == value


# Attachments ------------------------------------------------------------------------------


def test_an_unreadable_attachment_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "gone.pdf"
    draft = Draft(account="alice", to=(BOB,), attachments=(str(missing),))
    with pytest.raises(AttachmentError, match="no such file") as caught:
        build_message(draft, ALICE, domain="example.org")
    assert str(missing) in str(caught.value)
    assert caught.value.title == "Cannot attach"
    folder = Draft(account="alice", to=(BOB,), attachments=(str(tmp_path),))
    with pytest.raises(AttachmentError, match="folder"):
        build_message(folder, ALICE, domain="example.org")


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("report.pdf", b"anything", "application/pdf"),
        ("photo.JPG", b"", "image/jpeg"),
        ("notes.txt", b"\x00\x01", "text/plain"),  # the name wins over the content
        ("backup.tar.gz", b"\x1f\x8b", "application/gzip"),
        ("scan", b"%PDF-1.7\n...", "application/pdf"),
        ("screenshot", b"\x89PNG\r\n\x1a\n....", "image/png"),
        ("picture", b"\xff\xd8\xff\xe0....", "image/jpeg"),
        ("archive", b"PK\x03\x04....", "application/zip"),
        ("invite", b"BEGIN:VCALENDAR\r\n", "text/calendar"),
        ("README", "Grüße, plain text\n".encode(), "text/plain"),
        ("blob", b"\x00\x01\x02\x03", "application/octet-stream"),
        ("blob.unknownext", b"\xfe\xfd\x00", "application/octet-stream"),
        ("empty", b"", "application/octet-stream"),
        ("big-text", b"a" * 65535 + "ü".encode(), "text/plain"),  # sample cuts the ü in two
        ("big-binary", b"a" * 100 + b"\xff" + b"a" * 70000, "application/octet-stream"),
    ],
)
def test_attachment_types_are_guessed_from_name_then_content(
    name: str, data: bytes, expected: str
) -> None:
    assert guess_content_type(name, data) == expected


def test_a_forwarded_message_is_attached_byte_for_byte() -> None:
    original = (
        b"From: Carol <carol@example.org>\r\nTo: alice@example.org\r\n"
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <orig@example.org>\r\n\r\n"
        b"Line one\r\n.starts with a dot\r\nFrom the start\r\n"
    )
    draft = Draft(
        account="alice",
        to=(BOB,),
        subject="Fwd: Grüße",
        raw_attachments=(("Grüße.eml", "message/rfc822", original),),
    )
    data = _build(draft)
    assert original in data
    part = next(_read(data).iter_attachments())
    assert part.get_content_type() == "message/rfc822"
    assert part.get_filename() == "Grüße.eml"
    inner = part.get_content()
    assert isinstance(inner, EmailMessage)
    assert inner["Subject"] == "Grüße"
    assert inner["Message-ID"] == "<orig@example.org>"


def test_a_forwarded_message_gets_crlf_and_8bit_only_where_allowed() -> None:
    original = "From: a@example.org\nSubject: café\n\nBody with ü\n".encode()
    draft = Draft(
        account="alice", to=(BOB,), raw_attachments=(("m.eml", "message/rfc822", original),)
    )
    crlf = original.replace(b"\n", b"\r\n")
    eight = _build(draft, eight_bit=True)
    assert crlf in eight
    assert b"Content-Transfer-Encoding: 8bit" in eight
    seven = _build(draft, eight_bit=False)
    assert seven.isascii()
    assert b"Content-Transfer-Encoding: base64" in seven
    # base64 message/rfc822 (RFC 2046 wants it unencoded): tuimail's reader still gets the bytes
    assert attachments_of(seven) == (("m.eml", "message/rfc822", crlf),)


def test_raw_attachments_keep_their_bytes_and_a_bad_type_becomes_octet_stream() -> None:
    draft = Draft(
        account="alice",
        to=(BOB,),
        raw_attachments=(
            (RESUME, "application/pdf", b"%PDF-\x00\xff"),
            ("latin1.txt", "text/plain", "café".encode("latin-1")),
            ("x.bin", "not a type\r\nX-Evil: 1", b"\x00"),
            ("y.bin", "multipart/mixed", b"\x01"),
        ),
    )
    data = _build(draft)
    assert b"X-Evil" not in data
    parts = list(_read(data).iter_attachments())
    assert [p.get_filename() for p in parts] == [
        RESUME,
        "latin1.txt",
        "x.bin",
        "y.bin",
    ]
    assert [p.get_content_type() for p in parts] == [
        "application/pdf",
        "text/plain",
        "application/octet-stream",
        "application/octet-stream",
    ]
    assert [p.get_payload(decode=True) for p in parts] == [
        b"%PDF-\x00\xff",
        "café".encode("latin-1"),
        b"\x00",
        b"\x01",
    ]


@pytest.mark.parametrize(
    "text", ["=?utf-8?q?=0D=0ABcc:_victim@example.org", "=?utf-8?q?=0D=0AX-Evil:_1?=", "=?x?q?=1B"]
)
def test_encoded_words_never_become_raw_header_lines(text: str) -> None:
    # the email package decoded a never-ended encoded word in a subject or name and wrote the
    # result raw: a reply to such a subject carried an injected Bcc header
    draft = Draft(account="a", to=(Address(text, "kim@example.org"),), subject=f"Re: {text}")
    built = build_message(draft, Address("Me", "me@example.net"), domain="example.net")
    data = built.as_bytes()
    head = data.partition(b"\r\n\r\n")[0]
    names = [line.split(b":")[0] for line in head.split(b"\r\n") if line[:1] not in b" \t"]
    assert names == [
        b"Date",
        b"From",
        b"To",
        b"Subject",
        b"Message-ID",
        b"MIME-Version",
        b"Content-Type",
        b"Content-Transfer-Encoding",
    ]
    assert b"\x1b" not in head
    assert parse_message(data).subject == f"Re: {text}".replace("=?", "= ?")
