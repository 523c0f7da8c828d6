"""Envelopes of messages read from files: the cache's row for a Maildir or mbox message."""

from __future__ import annotations

import re
from datetime import datetime

from tuimail.mime.parse import parse_headers
from tuimail.model.message import Envelope, Flag, MessageRef

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_ATTACHMENT_TYPES = ("multipart/mixed", "multipart/report", "application/", "image/", "audio/")


def header_block(raw: bytes) -> bytes:
    """The header lines of a message (up to the first empty line)."""
    match = _HEADER_END.search(raw)
    return raw[: match.start() + 1] if match else raw


def envelope_of(
    raw_headers: bytes,
    ref: MessageRef,
    *,
    flags: frozenset[Flag] = frozenset(),
    keywords: frozenset[str] = frozenset(),
    size: int = 0,
    arrived: datetime | None = None,
) -> Envelope:
    """An Envelope from a message's header block; never raises on hostile headers.

    Without the body, an attachment is guessed from the top-level type: multipart/mixed (what
    mailers send files in) or a non-text single part.
    """
    parsed = parse_headers(raw_headers)
    content_type = parsed.body.parts[0].content_type if parsed.body.parts else "text/plain"
    return Envelope(
        ref=ref,
        message_id=parsed.message_id,
        date=parsed.date or arrived,
        subject=parsed.raw_subject,
        sender=parsed.sender,
        to=parsed.to,
        cc=parsed.cc,
        reply_to=parsed.reply_to,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        flags=flags,
        keywords=keywords,
        size=size,
        has_attachments=content_type.startswith(_ATTACHMENT_TYPES),
        arrived=arrived,
    )
