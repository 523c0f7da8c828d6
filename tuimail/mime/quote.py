"""Replies and forwards: recipients, subjects, threading headers and the original's quoted text."""

from __future__ import annotations

import contextlib
import email.utils
import re
from collections.abc import Iterable
from datetime import datetime, tzinfo

from tuimail.mime.build import AddressError, check_address, format_addresses, smtp_address
from tuimail.mime.envelope import header_block

# _Walker and _Reader are the code behind parse_message: a forward keeps exactly the attachments
# the reader lists, found by the same hostile-input-proof walk (parse.py has no public hook).
from tuimail.mime.parse import (
    _MESSAGE_TYPES,
    MAX_ADDRESSES,
    MAX_STRUCTURED_HEADER,
    ParsedMessage,
    _Entity,
    _is_attachment,
    _Reader,
    _Walker,
    decode_words,
    parse_message,
)
from tuimail.mime.render import safe_filename
from tuimail.mime.sanitize import safe_line
from tuimail.mime.subject import base_subject
from tuimail.model.message import Address, Draft

MAX_REFERENCES = 20
"""Message ids kept in a reply's References: the thread's first and the latest ones."""
MAX_QUOTE_CHARS = 500_000
"""Text of the original quoted in a reply or forwarded inline; the rest is left out."""
MAX_NAME_CHARS = 200
"""Characters of the original sender's name used in the attribution line."""
FORWARD_SEPARATOR = "---------- Forwarded message ----------"

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Controls and bidi overrides (which would reorder the subject on screen) leave reply subjects.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A list tag stands alone: "[dev] Re: x" or "Re: [dev] x", not the count in "Re[2]: x".
_LIST_TAG = re.compile(r"(?:^|(?<=[\s:\uff1a]))\[[^\]\s]{1,40}\](?=\s|$)")
_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}>")
_SPACES = re.compile(r"\s+")


def reply_draft(
    original: bytes,
    account_addresses: set[str],
    *,
    account: str,
    reply_all: bool,
    now: datetime | None = None,
) -> Draft:
    """A reply to the raw message ``original``, sent from ``account``; never raises on bad input.

    To is the Reply-To (else the From); replying to one's own message goes to its recipients.
    ``reply_all`` adds the original To and Cc as Cc, or follows Mail-Followup-To when the
    original has one. The account's own addresses (``account_addresses``: plain addresses,
    compared without case) and repeats are dropped, as are addresses mail cannot go to. The
    subject gets one ``Re:``; In-Reply-To and References thread the reply; the body quotes the
    original's text under ``On DATE, NAME wrote:``, its date shown in the time zone of ``now``
    (default: local time).
    """
    parsed = parse_message(original)
    own = {_key(address) for address in account_addresses}
    to, cc = _reply_recipients(parsed, original, own, reply_all=reply_all)
    when = now or datetime.now().astimezone()
    zone = when.tzinfo if when.tzinfo is not None else when.astimezone().tzinfo
    text = _quotable(parsed)
    line = attribution(parsed, zone)
    body = f"{line}\n{quote_text(text)}\n" if text else f"{line}\n"
    message_id = parsed.message_id if _MESSAGE_ID.fullmatch(parsed.message_id) else ""
    return Draft(
        account=account,
        to=to,
        cc=cc,
        subject=reply_subject(parsed.raw_subject),
        body=body,
        in_reply_to=message_id,
        references=reply_references(parsed),
    )


def forward_draft(
    original: bytes, *, account: str, inline: bool = True, keep_attachments: bool = False
) -> Draft:
    """A forward of the raw message ``original`` from ``account``, recipients left to fill in.

    ``inline``: the body holds a ``---------- Forwarded message ----------`` block (From, Date,
    Subject, To, Cc) and the original's text, and ``keep_attachments`` adds the original's
    attachments as :attr:`Draft.raw_attachments`. Otherwise the whole original is attached as
    ``message/rfc822`` (its attachments inside it). Never raises on bad input.
    """
    parsed = parse_message(original)
    subject = forward_subject(parsed.raw_subject)
    if not inline:
        stem = base_subject(parsed.subject)[:150] or "message"
        name = safe_filename(f"{stem}.eml", "message.eml")
        return Draft(
            account=account,
            subject=subject,
            raw_attachments=((name, "message/rfc822", original),),
        )
    lines = [FORWARD_SEPARATOR]
    if parsed.sender:
        lines.append(f"From: {format_addresses(parsed.sender)}")
    if parsed.date is not None:
        lines.append(f"Date: {_rfc_date(parsed.date)}")
    lines.append(f"Subject: {parsed.subject}")
    if parsed.to:
        lines.append(f"To: {format_addresses(parsed.to)}")
    if parsed.cc:
        lines.append(f"Cc: {format_addresses(parsed.cc)}")
    text = _limited(_with_links(parsed))
    body = "\n" + "\n".join(lines) + "\n\n" + (f"{text}\n" if text else "")
    kept = attachments_of(original) if keep_attachments else ()
    return Draft(account=account, subject=subject, body=body, raw_attachments=kept)


# Subjects ---------------------------------------------------------------------------------


def reply_subject(subject: str) -> str:
    """``Re:`` and the subject without its reply and forward prefixes (a list tag kept).

    ``"Re: Re: x"`` and ``"AW: x"`` give ``"Re: x"``; ``"[dev] Fwd: x"`` gives ``"Re: [dev] x"``.
    """
    return _prefixed("Re:", subject)


def forward_subject(subject: str) -> str:
    """``Fwd:`` and the subject without its reply and forward prefixes (a list tag kept)."""
    return _prefixed("Fwd:", subject)


def _prefixed(prefix: str, subject: str) -> str:
    subject = " ".join(_CONTROLS.sub("", subject).split())
    core = base_subject(subject)
    zone = subject[: len(subject) - len(core)] if subject.endswith(core) else ""
    tag = _LIST_TAG.search(zone)
    return " ".join(part for part in (prefix, tag.group() if tag else "", core) if part)


# Threading --------------------------------------------------------------------------------


def reply_references(parsed: ParsedMessage) -> tuple[str, ...]:
    """The References of a reply to ``parsed``: its References (or In-Reply-To) and its id.

    Malformed ids and repeats are dropped; a chain longer than :data:`MAX_REFERENCES` keeps
    its first id (the thread's start) and the latest ones.
    """
    chain = [item for item in parsed.references if _MESSAGE_ID.fullmatch(item)]
    if not chain and _MESSAGE_ID.fullmatch(parsed.in_reply_to):
        chain = [parsed.in_reply_to]
    if _MESSAGE_ID.fullmatch(parsed.message_id):
        chain = [item for item in chain if item != parsed.message_id]
        chain.append(parsed.message_id)
    unique = list(dict.fromkeys(chain))
    if len(unique) > MAX_REFERENCES:
        unique = [unique[0], *unique[len(unique) - MAX_REFERENCES + 1 :]]
    return tuple(unique)


# Recipients -------------------------------------------------------------------------------


def _reply_recipients(
    parsed: ParsedMessage, raw: bytes, own: set[str], *, reply_all: bool
) -> tuple[tuple[Address, ...], tuple[Address, ...]]:
    """To and Cc of a reply, without the account's addresses, repeats and unusable ones."""
    followup = _header_addresses(raw, "mail-followup-to") if reply_all else ()
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    from_me = bool(parsed.sender) and all(_key(item.email) in own for item in parsed.sender)
    if followup:
        to, cc = followup, ()
    elif from_me and not parsed.reply_to:
        to, cc = parsed.to, parsed.cc if reply_all else ()
    else:
        to = parsed.reply_to or parsed.sender
        cc = (*parsed.to, *parsed.cc) if reply_all else ()
    seen = set(own)
    kept_to = _usable(to, seen)
    kept_cc = _usable(cc, seen)
    if not kept_to and kept_cc:
        kept_to, kept_cc = kept_cc, ()
    if not kept_to and from_me:
        kept_to = _usable(parsed.to, seen)
    return kept_to, kept_cc


def _usable(addresses: Iterable[Address], seen: set[str]) -> tuple[Address, ...]:
    """The addresses mail can go to that are not in ``seen`` (which they are added to)."""
    kept: list[Address] = []
    for address in addresses:
        try:
            check_address(address)
        except AddressError:
            continue
        key = _key(address.email)
        if key not in seen:
            seen.add(key)
            kept.append(address)
    return tuple(kept)


def _key(address: str) -> str:
    """An address as compared: SMTP form (IDNA domain), case folded."""
    try:
        return smtp_address(address.strip()).casefold()
    except AddressError:
        return address.strip().casefold()


def _header_addresses(raw: bytes, name: str) -> tuple[Address, ...]:
    """The addresses in the top-level header ``name`` (lower case) of a raw message."""
    try:
        text = header_block(raw).decode("utf-8", "replace")
    except Exception:  # a contract: hostile input costs the header, nothing more
        return ()
    values: list[str] = []
    wanted = False
    for line in text.split("\n"):
        content = line.removesuffix("\r")
        if content[:1] in (" ", "\t"):
            if wanted:
                values[-1] += content
            continue
        field, colon, value = content.partition(":")
        wanted = bool(colon) and field.strip().lower() == name
        if wanted:
            values.append(value)
    found: list[Address] = []
    for value in values:
        if len(value) > MAX_STRUCTURED_HEADER:
            continue
        pairs: list[tuple[str, str]] = []
        with contextlib.suppress(Exception):  # RecursionError on deeply nested comments
            pairs = email.utils.getaddresses([value])
        for display_name, address in pairs[: MAX_ADDRESSES - len(found)]:
            found.append(Address(_one_line(decode_words(display_name)), _one_line(address)))
    return tuple(found)


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", safe_line(text)).strip()


# Quoted text ------------------------------------------------------------------------------


def attribution(parsed: ParsedMessage, zone: tzinfo | None = None) -> str:
    """``On Tue, 2 Jan 2024 at 10:30, NAME wrote:``, the date in ``zone`` (default: its own)."""
    sender = parsed.sender[0] if parsed.sender else None
    who = (sender.name or sender.email) if sender is not None else ""
    who = who[:MAX_NAME_CHARS]
    if parsed.date is None:
        return f"{who or 'Someone'} wrote:"
    try:
        local = parsed.date.astimezone(zone) if zone is not None else parsed.date
    except (OverflowError, ValueError, OSError):
        local = parsed.date
    day, month = _DAYS[local.weekday()], _MONTHS[local.month - 1]
    stamp = f"{day}, {local.day} {month} {local.year} at {local:%H:%M}"
    return f"On {stamp}, {who or 'someone'} wrote:"


def quote_text(text: str) -> str:
    """Every line of ``text`` quoted with ``> `` (``>`` before an empty or quoted line)."""
    lines = text.split("\n")
    return "\n".join(
        ">" + line if line.startswith(">") else f"> {line}" if line.strip() else ">"
        for line in lines
    )


def _quotable(parsed: ParsedMessage) -> str:
    """The original's text to quote: its signature left out, its links listed, size capped."""
    text = _with_links(parsed)
    if text.startswith("-- \n"):
        text = ""
    cut = text.rfind("\n-- \n")
    if cut >= 0:
        text = text[:cut]
    return _limited(text.rstrip())


def _with_links(parsed: ParsedMessage) -> str:
    """The body text, with the URLs its ``[n]`` marks stand for listed at the end."""
    text = parsed.body.text.strip("\n")
    links = parsed.body.links
    if not links:
        return text
    listed = "\n".join(f"[{number}] {url}" for number, url in enumerate(links, 1))
    return f"{text}\n\n{listed}"


def _limited(text: str) -> str:
    if len(text) <= MAX_QUOTE_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_QUOTE_CHARS)
    return text[: cut if cut > 0 else MAX_QUOTE_CHARS] + "\n[... the rest is left out]"


def _rfc_date(when: datetime) -> str:
    try:
        return email.utils.format_datetime(when)
    except (OverflowError, ValueError):
        return when.isoformat()


# Attachments ------------------------------------------------------------------------------


class _AttachmentReader(_Reader):
    """Finds a message's attachments as the reader lists them, with their decoded bytes."""

    def __init__(self, walker: _Walker, *, nested: bool) -> None:
        super().__init__(walker)
        self.nested = nested
        self.found: list[tuple[str, str, bytes]] = []

    def entity(self, entity: _Entity) -> None:
        """Collect the attachments under ``entity``; body text is not read."""
        kind = entity.content_type
        if kind.startswith("multipart/"):
            super().entity(entity)
        elif kind in _MESSAGE_TYPES:
            self.attach(entity)
            if self.nested and entity.children:  # the reader lists what is inside it too
                self.entity(entity.children[0])
        elif _is_attachment(entity):
            self.attach(entity)

    def attach(self, entity: _Entity) -> None:
        """Record one attachment: its safe name, its type and its bytes."""
        super().attach(entity)
        content_type = entity.content_type
        if content_type in _MESSAGE_TYPES:
            content_type = "message/rfc822"
        self.found.append((self.attachments[-1].safe_name, content_type, entity.payload()))


def attachments_of(original: bytes, *, nested: bool = False) -> tuple[tuple[str, str, bytes], ...]:
    """The attachments of a raw message as ``(safe name, content type, bytes)``; never raises.

    With ``nested``, exactly the ones the reader lists, in its order (an attached message and
    then the attachments inside it): the n-th is the reader's n-th. Without, an attached
    message counts as one, its own attachments inside it (what a forward keeps). Parts past
    the reader's limits are left out.
    """
    walker = _Walker()
    reader = _AttachmentReader(walker, nested=nested)
    # a contract: hostile input costs the attachments not yet found, nothing more
    with contextlib.suppress(Exception):
        root = walker.entity(original, 0, len(original), "", 0, message_root=True)
        if root is not None:
            reader.entity(root)
    return tuple(reader.found)
