"""The demo mailbox is deterministic, valid, varied and readable by tuimail's own parser."""

from __future__ import annotations

import email
import email.policy
import re
import struct
import time
import unicodedata
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message

import pytest

from tuimail.mime.demo import (
    DEMO_ADDRESS,
    DEMO_FOLDERS,
    DEMO_NOW,
    DemoMessage,
    demo_messages,
    make_pdf,
    make_png,
)
from tuimail.mime.parse import parse_message
from tuimail.mime.render import html_to_text
from tuimail.model.message import Flag

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mailbox() -> list[DemoMessage]:
    return demo_messages()


@pytest.fixture(scope="module")
def parsed(mailbox: list[DemoMessage]) -> list[EmailMessage]:
    return [_parse(message.raw) for message in mailbox]


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data


def _attachments(parsed: list[EmailMessage]) -> list[EmailMessage]:
    return [part for message in parsed for part in message.iter_attachments()]


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, data) chunks of a PNG, checking each CRC."""
    assert data.startswith(PNG_SIGNATURE)
    chunks = []
    position = len(PNG_SIGNATURE)
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks.append((kind, body))
        position += 12 + length
    return chunks


def _check_png(data: bytes) -> None:
    chunks = _png_chunks(data)
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1] == (b"IEND", b"")
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (depth, colour) == (8, 2)  # 8-bit RGB
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(pixels) == height * (1 + 3 * width)
    assert all(pixels[row * (1 + 3 * width)] == 0 for row in range(height))


def _check_pdf(data: bytes) -> None:
    assert data.startswith(b"%PDF-1.")
    assert data.rstrip().endswith(b"%%EOF")
    start = re.search(rb"startxref\n(\d+)\n", data)
    assert start is not None
    xref = int(start.group(1))
    assert data[xref:].startswith(b"xref\n")
    table = data[xref:].split(b"\n")
    count = int(table[1].split()[1])
    for number in range(1, count):
        offset = int(table[2 + number][:10])
        assert data[offset:].startswith(b"%d 0 obj" % number)


# Determinism -------------------------------------------------------------------------------


def test_the_same_seed_and_now_give_the_same_bytes(mailbox: list[DemoMessage]) -> None:
    assert demo_messages() == mailbox
    now = datetime(2031, 5, 4, 12, 0, tzinfo=UTC)
    assert demo_messages(seed=7, now=now, count=80) == demo_messages(seed=7, now=now, count=80)


def test_another_seed_gives_another_mailbox(mailbox: list[DemoMessage]) -> None:
    other = demo_messages(seed=1)
    assert len(other) == len(mailbox)
    assert [m.raw for m in other] != [m.raw for m in mailbox]


def test_count_is_honoured() -> None:
    assert demo_messages(count=0) == []
    for count in (1, 2, 7, 60, 150):
        messages = demo_messages(count=count)
        assert len(messages) == count
        ids = {str(_parse(m.raw)["Message-ID"]) for m in messages}
        for message in messages:
            parsed = _parse(message.raw)
            for ref in str(parsed.get("References", "")).split():
                assert ref in ids


def test_messages_fall_in_the_three_years_before_now(mailbox: list[DemoMessage]) -> None:
    assert len(mailbox) == 500
    assert [m.received for m in mailbox] == sorted(m.received for m in mailbox)
    for message in mailbox:
        assert message.received.tzinfo is not None
        assert DEMO_NOW - timedelta(days=3 * 365 + 2) <= message.received <= DEMO_NOW
    assert mailbox[0].received < DEMO_NOW - timedelta(days=2 * 365)
    assert mailbox[-1].received > DEMO_NOW - timedelta(days=30)
    now = datetime(2030, 2, 1, 8, 0, tzinfo=UTC)
    later = demo_messages(now=now, count=100)
    assert all(now - timedelta(days=3 * 365 + 2) <= m.received <= now for m in later)


def test_generating_500_messages_is_fast() -> None:
    started = time.perf_counter()
    demo_messages(seed=99)
    assert time.perf_counter() - started < 3.0  # about 0.5 s; generous for a busy machine


# Validity ----------------------------------------------------------------------------------


def test_every_message_parses_without_defects(parsed: list[EmailMessage]) -> None:
    for message in parsed:
        for part in message.walk():
            assert part.defects == [], message["Subject"]
            for name, value in part.items():
                assert not getattr(value, "defects", ()), (name, value)


def test_every_message_has_the_usual_headers(
    mailbox: list[DemoMessage], parsed: list[EmailMessage]
) -> None:
    ids = Counter(str(message["Message-ID"]) for message in parsed)
    assert max(ids.values()) == 1
    for demo, message in zip(mailbox, parsed, strict=True):
        for name in ("From", "To", "Date", "Message-ID", "Subject"):
            assert message[name], name
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(message["Message-ID"]))
        assert str(message["Subject"]) == str(message["Subject"]).strip()
        sent = message["Date"].datetime
        assert timedelta(0) < demo.received - sent <= timedelta(minutes=10)


def test_headers_are_ascii_with_encoded_words(mailbox: list[DemoMessage]) -> None:
    encoded = 0
    for message in mailbox:
        head = message.raw.split(b"\n\n", 1)[0]
        assert head.isascii()
        assert b"\r" not in message.raw
        encoded += b"=?utf-8?" in head
    assert encoded > 50


def test_replies_point_to_messages_in_the_mailbox(parsed: list[EmailMessage]) -> None:
    by_id = {str(message["Message-ID"]): message for message in parsed}
    replies = 0
    for message in parsed:
        parent_id = message["In-Reply-To"]
        if parent_id is None:
            continue
        replies += 1
        parent = by_id[str(parent_id)]
        references = str(message["References"]).split()
        assert references[-1] == str(parent_id)
        assert all(ref in by_id for ref in references)
        assert str(message["Subject"]).startswith("Re: ")
        assert str(message["Subject"]).removeprefix("Re: ") in str(parent["Subject"])
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert re.search(r"^On \w{3}, \d{1,2} \w{3} \d{4} at \d\d:\d\d, .+ wrote:$", text, re.M)
        assert "\n> " in text
    assert replies > 100


# What the mailbox holds --------------------------------------------------------------------


def test_folders_and_flags_are_mixed_as_in_a_real_mailbox(
    mailbox: list[DemoMessage], parsed: list[EmailMessage]
) -> None:
    folders = Counter(message.folder for message in mailbox)
    assert set(folders) <= set(DEMO_FOLDERS)
    assert len(folders) >= 5
    for folder in ("INBOX", "Sent", "Drafts", "Archive", "Trash"):
        assert folders[folder] >= 2, folder
    assert sum(n for folder, n in folders.items() if folder.startswith("Lists/")) >= 50
    unread = sum(Flag.SEEN not in message.flags for message in mailbox)
    assert 0.05 * len(mailbox) <= unread <= 0.20 * len(mailbox)
    flagged = sum(Flag.FLAGGED in message.flags for message in mailbox)
    assert 0.02 * len(mailbox) <= flagged <= 0.10 * len(mailbox)
    assert sum(Flag.ANSWERED in message.flags for message in mailbox) >= 10
    for demo, message in zip(mailbox, parsed, strict=True):
        from_robin = message["From"].addresses[0].addr_spec == DEMO_ADDRESS
        assert (Flag.DRAFT in demo.flags) == (demo.folder == "Drafts")
        if demo.folder in ("Sent", "Drafts"):
            assert from_robin
            assert Flag.SEEN in demo.flags
        if Flag.ANSWERED in demo.flags:
            assert not from_robin
            assert Flag.SEEN in demo.flags


def test_list_mail_carries_list_headers(
    mailbox: list[DemoMessage], parsed: list[EmailMessage]
) -> None:
    for demo, message in zip(mailbox, parsed, strict=True):
        if not demo.folder.startswith("Lists/"):
            continue
        tag = demo.folder.removeprefix("Lists/")
        assert f"[{tag}]" in str(message["Subject"])
        assert f"<{tag}." in str(message["List-Id"])
        assert "mailto:" in str(message["List-Unsubscribe"])
        assert "https://" in str(message["List-Unsubscribe"])


def test_attachments_are_valid_files(parsed: list[EmailMessage]) -> None:
    attachments = _attachments(parsed)
    kinds = Counter(part.get_content_type() for part in attachments)
    for kind in ("application/pdf", "image/png", "text/plain", "text/csv"):
        assert kinds[kind] >= 1, kind
    for part in attachments:
        assert part.get_filename()
        if part.get_content_type() == "application/pdf":
            _check_pdf(_payload(part))
        elif part.get_content_type() == "image/png":
            _check_png(_payload(part))
        else:
            assert part.get_content().strip()
    names = {part.get_filename() for part in attachments}
    assert any(name and not name.isascii() for name in names)  # RFC 2231 encoded


def test_non_ascii_names_and_subjects_come_in_many_scripts(parsed: list[EmailMessage]) -> None:
    scripts: set[str] = set()
    emoji = False
    for message in parsed:
        words = str(message["Subject"]) + " ".join(
            address.display_name for address in message["From"].addresses
        )
        for char in words:
            if char.isalpha() and not char.isascii():
                scripts.add(unicodedata.name(char).split()[0])
            emoji = emoji or unicodedata.category(char) == "So"
    assert {"LATIN", "GREEK", "CYRILLIC", "ARABIC", "DEVANAGARI", "CJK"} <= scripts
    assert emoji


def test_newsletters_are_html_with_remote_images(parsed: list[EmailMessage]) -> None:
    alternatives = [m for m in parsed if m.get_content_type() == "multipart/alternative"]
    html_only = [m for m in parsed if m.get_content_type() == "text/html"]
    assert len(alternatives) >= 5
    assert len(html_only) >= 2
    for message in alternatives + html_only:
        assert message["List-Unsubscribe"]
        html = message.get_body(("html",))
        assert html is not None
        markup = html.get_content()
        assert re.search(r'<img src="https://[^"]+"', markup)
        assert '<a href="https://' in markup


def test_plain_notes_exist(parsed: list[EmailMessage]) -> None:
    plain = [m for m in parsed if m.get_content_type() == "text/plain" and not m["In-Reply-To"]]
    assert len(plain) >= 50


# tuimail reads it ---------------------------------------------------------------------------


def test_parse_message_reads_every_message(mailbox: list[DemoMessage]) -> None:
    for message in mailbox:
        read = parse_message(message.raw)
        assert not read.body.too_complex, read.subject
        assert read.subject
        assert read.sender
        assert read.date is not None
        assert read.message_id
        assert read.body.text.strip()


def test_html_newsletters_read_as_text_with_numbered_links(
    mailbox: list[DemoMessage], parsed: list[EmailMessage]
) -> None:
    html_read = 0
    for demo, message in zip(mailbox, parsed, strict=True):
        kind = message.get_content_type()
        if kind == "text/html":
            read = parse_message(demo.raw)
            assert read.body.from_html
            text, links = read.body.text, read.body.links
        elif kind == "multipart/alternative":
            read = parse_message(demo.raw)
            assert not read.body.from_html  # the text alternative is preferred
            html = message.get_body(("html",))
            assert html is not None
            text, links = html_to_text(html.get_content())
        else:
            continue
        html_read += 1
        assert links
        assert all(link.startswith("https://") for link in links)
        for number in range(1, len(links) + 1):
            assert f"[{number}]" in text
        assert "[image: " in text  # shown as its alt text, never fetched
        assert "<img" not in text
    assert html_read >= 7


def test_attachments_are_listed_by_the_parser(mailbox: list[DemoMessage]) -> None:
    names = [
        attachment.safe_name
        for message in mailbox
        for attachment in parse_message(message.raw).body.attachments
    ]
    assert any(name.endswith(".pdf") for name in names)
    assert any(name.endswith(".png") for name in names)
    assert any(name.endswith(".txt") for name in names)
    assert any(name.endswith(".csv") for name in names)


# The file makers ---------------------------------------------------------------------------


def test_make_pdf_builds_a_valid_one_page_pdf() -> None:
    data = make_pdf(["Invoice (draft)", "Total: EUR 12.00 \\ net"])
    _check_pdf(data)
    assert b"/Count 1" in data
    assert b"(Invoice \\(draft\\)) Tj" in data


def test_make_png_builds_a_decodable_image() -> None:
    data = make_png(3, 2, lambda x, y: (x * 80, y * 100, 7))
    _check_png(data)
    pixels = zlib.decompress(dict(_png_chunks(data))[b"IDAT"])
    assert pixels == bytes([0, 0, 0, 7, 80, 0, 7, 160, 0, 7, 0, 0, 100, 7, 80, 100, 7, 160, 100, 7])
