"""A lean reader of bulk IMAP FETCH responses: envelopes of thousands of messages, parsed fast.

imapclient's generic parser costs about nine times the transfer on a bulk envelope fetch, so this
one path reads what imaplib received (lines with ``{n}`` literals split off) with a regular
expression tokenizer and a flat loop. Everything else about the connection stays with imapclient.
"""

from __future__ import annotations

import email.header
import email.utils
import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeAlias

from tuimail.model.message import Address, Envelope, Flag, MessageRef

Raw: TypeAlias = bytes | tuple[bytes, bytes]
"""One element of what imaplib returns for a FETCH: a line, or a line ending in a literal."""

Node: TypeAlias = bytes | list["Node"]

ENVELOPE_ITEMS = (
    "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE "
    "BODY.PEEK[HEADER.FIELDS (REFERENCES)]"
)
"""The FETCH items of a bulk envelope fetch (add MODSEQ where CONDSTORE is offered)."""

_LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}$")
_TOKEN = re.compile(
    rb'\(|\)|"(?:[^"\\]|\\.)*"|\{#\d+\}|[^\s()"\[{]+(?:\[[^\]]*\])?(?:<\d+>)?|\[[^\]]*\]'
)
_MESSAGE_START = re.compile(rb"(\d+) \(")
_LIST_LINE = re.compile(rb'\s*\(([^)]*)\)\s+("(?:[^"\\]|\\.)*"|NIL)\s+(.*?)\s*$', re.DOTALL)
_ESCAPE = re.compile(rb"\\(.)")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_ONE_MESSAGE_ID = re.compile(rb"<[^<>\s]+>")
# RFC 2047 encoded words (printable ASCII without "?" and spaces), alone or in runs separated by
# white space only: the space between two words is not part of the text
_WORD = r"=\?[!->@-~]+\?[bBqQ]\?[!->@-~]*\?="
_ENCODED_WORD = re.compile(_WORD)
_ENCODED_RUN = re.compile(rf"{_WORD}(?:\s+{_WORD})*")

_SYSTEM_FLAGS: dict[bytes, Flag] = {
    b"\\seen": Flag.SEEN,
    b"\\answered": Flag.ANSWERED,
    b"\\flagged": Flag.FLAGGED,
    b"\\deleted": Flag.DELETED,
    b"\\draft": Flag.DRAFT,
}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DATE = re.compile(
    r"\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{2,4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4})?"
)
_INTERNALDATE = re.compile(
    r"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})"
)
_ZONES: dict[str, timezone] = {}

# The fast path: one message in the order the items were asked for (Dovecot's way), every string
# quoted without escapes. Anything else (literals inside the envelope, another order, escapes)
# goes through the general tokenizer, which gives the same result more slowly.
_S = rb'(?:"([^"\\]*)"|NIL)'
_ADDRESS_LIST = rb'(NIL|\((?:\((?:"[^"\\]*"|NIL)(?: (?:"[^"\\]*"|NIL)){3}\))+\))'
_FAST = re.compile(
    rb"(\d+) \(UID (\d+) (?:MODSEQ \((\d+)\) )?FLAGS \(([^)\"]*)\) "
    rb'INTERNALDATE "([^"]*)" RFC822\.SIZE (\d+) (?:MODSEQ \((\d+)\) )?'
    rb"ENVELOPE \(" + _S + b" " + _S + (b" " + _ADDRESS_LIST) * 6 + b" " + _S + b" " + _S + rb"\) "
    rb"BODYSTRUCTURE (\(.*\)) BODY\[HEADER\.FIELDS \(REFERENCES\)\] \{#0\}"
    rb"(?: MODSEQ \((\d+)\))?\)"
)
_STRUCTURE_GROUP = 18
_FAST_ADDRESS = re.compile(
    rb'\((?:"([^"\\]*)"|NIL) (?:"[^"\\]*"|NIL) (?:"([^"\\]*)"|NIL) (?:"([^"\\]*)"|(NIL))\)'
)
_ATTACHMENT_HINTS = re.compile(
    rb'"(?:attachment|(?:file)?name(?:\*[^"]*)?|message)"', re.IGNORECASE
)


def group_messages(data: Iterable[Raw]) -> Iterator[tuple[bytes, list[bytes]]]:
    """Split imaplib's FETCH data into one line per message, literals replaced by ``{#i}``.

    imaplib hands over a response with literals as ``(text ending in {n}, literal)`` tuples
    followed by the rest of the line as bytes; each message therefore ends at a plain bytes
    element.
    """
    parts: list[bytes] = []
    literals: list[bytes] = []
    for item in data:
        if isinstance(item, tuple):
            text, literal = item
            parts.append(_LITERAL_AT_END.sub(b"{#%d}" % len(literals), text))
            literals.append(literal)
        elif isinstance(item, bytes):
            parts.append(item)
            yield b"".join(parts), literals
            parts = []
            literals = []
    if parts:
        yield b"".join(parts), literals


def list_entries(data: Iterable[Raw | None]) -> list[tuple[tuple[bytes, ...], bytes, bytes]]:
    """imaplib's LIST data as (flags, delimiter, name) each, the name as sent (modified UTF-7).

    The name is a quoted string, a literal or an atom taken whole (``x[`` is a legal atom).
    """
    found = []
    for line, literals in group_messages(item for item in data if item is not None):
        match = _LIST_LINE.match(line)
        if match is None:
            continue
        name = string(match.group(3), literals)
        if name is None:
            continue
        delimiter = string(match.group(2), literals) or b""
        found.append((tuple(match.group(1).split()), delimiter, name))
    return found


def tokenize(line: bytes) -> list[Node]:
    """The line as nested lists of raw tokens (strings keep their quotes)."""
    stack: list[list[Node]] = []
    current: list[Node] = []
    for token in _TOKEN.findall(line):
        if token == b"(":
            child: list[Node] = []
            current.append(child)
            stack.append(current)
            current = child
        elif token == b")":
            if stack:
                current = stack.pop()
        else:
            current.append(token)
    return current


def string(token: Node, literals: Sequence[bytes]) -> bytes | None:
    """The bytes a string token stands for: quoted, literal, atom, or None for NIL."""
    if isinstance(token, list):
        return None
    if token[:1] == b'"':
        body = token[1:-1]
        return _ESCAPE.sub(rb"\1", body) if b"\\" in body else body
    if token[:2] == b"{#":
        index = int(token[2:-1])
        return literals[index] if index < len(literals) else b""
    if token.upper() == b"NIL":
        return None
    return token


def text(value: bytes | None) -> str:
    """Header text: UTF-8 (or Latin-1 when it is not), RFC 2047 words decoded, one line."""
    if not value:
        return ""
    try:
        decoded = value.decode("utf-8")
    except UnicodeDecodeError:
        decoded = value.decode("latin-1")
    if "=?" in decoded:
        decoded = decode_words(decoded)
    if "\r" in decoded or "\n" in decoded:
        decoded = " ".join(decoded.split())
    return decoded


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; unknown charsets and broken encodings never raise.

    Only the words are decoded: the text around them (8-bit UTF-8 included) stays as it is.
    """
    return _ENCODED_RUN.sub(_decoded_run, value)


def _decoded_run(match: re.Match[str]) -> str:
    run = match.group()
    decoded = _decoded(run)
    if decoded is None:  # one broken word spoils the run: decode the words one by one
        return _ENCODED_WORD.sub(_decoded_word, run)
    return decoded


def _decoded_word(match: re.Match[str]) -> str:
    decoded = _decoded(match.group())
    return match.group() if decoded is None else decoded


def _decoded(words: str) -> str | None:
    """Encoded words as text (adjacent words of one charset joined first), None if broken."""
    try:
        chunks = email.header.decode_header(words)
    except Exception:  # HeaderParseError for broken base64; hostile input must not stop a fetch
        return None
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        try:  # RFC 2231 allows a language after the charset: utf-8*en
            out.append(chunk.decode((charset or "ascii").split("*", 1)[0]))
        except Exception:  # unknown charsets, bad bytes, codecs that raise what they like
            out.append(chunk.decode("utf-8", "replace"))
    return "".join(out)


def _zone(offset: str | None) -> timezone:
    key = offset or "+0000"
    zone = _ZONES.get(key)
    if zone is None:
        sign = -1 if key[0] == "-" else 1
        minutes = int(key[1:3]) * 60 + int(key[3:5])
        if minutes >= 24 * 60:
            minutes = 0
        zone = timezone(sign * timedelta(minutes=minutes)) if minutes else UTC
        _ZONES[key] = zone
    return zone


def _datetime(match: re.Match[str]) -> datetime | None:
    day, month_name, year_text, hour, minute, second, offset = match.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None:
        return None
    year = int(year_text)
    if year < 100:
        year += 2000 if year < 50 else 1900
    try:
        return datetime(
            year, month, int(day), int(hour), int(minute), int(second or 0), tzinfo=_zone(offset)
        )
    except ValueError:
        return None


def parse_date(value: str) -> datetime | None:
    """A Date header as an aware datetime, or None when it cannot be understood."""
    # the usual shape, "Fri, 29 Nov 2024 16:24:34 +0000", without a regular expression
    if len(value) == 31 and value[3:5] == ", " and value[25] == " " and value[7] == " ":
        month = _MONTHS.get(value[8:11].lower())
        if month is not None and value[16] == " " and value[19] == ":":
            try:
                return datetime(
                    int(value[12:16]),
                    month,
                    int(value[5:7]),
                    int(value[17:19]),
                    int(value[20:22]),
                    int(value[23:25]),
                    tzinfo=_zone(value[26:31]),
                )
            except ValueError:
                pass
    match = _DATE.match(value)
    # a zone name (EST, PDT, GMT...) instead of an offset is left to the standard library
    if match and (match.group(7) or not value[match.end() :].lstrip()[:1].isalpha()):
        parsed = _datetime(match)
        if parsed is not None:
            return parsed
    try:
        fallback = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if fallback.tzinfo is None:
        fallback = fallback.replace(tzinfo=UTC)
    return fallback


def parse_internaldate(value: str) -> datetime | None:
    """An IMAP INTERNALDATE (``17-Jul-1996 02:44:25 -0700``) as an aware datetime."""
    if len(value) == 26 and value[2] == "-" and value[20] == " ":
        month = _MONTHS.get(value[3:6].lower())
        if month is not None:
            try:
                return datetime(
                    int(value[7:11]),
                    month,
                    int(value[0:2]),
                    int(value[12:14]),
                    int(value[15:17]),
                    int(value[18:20]),
                    tzinfo=_zone(value[21:26]),
                )
            except ValueError:
                pass
    match = _INTERNALDATE.match(value)
    return _datetime(match) if match else None


def addresses(node: Node, literals: Sequence[bytes]) -> tuple[Address, ...]:
    """An ENVELOPE address list (RFC 3501), group markers dropped."""
    if not isinstance(node, list):
        return ()
    result = []
    for item in node:
        if not isinstance(item, list) or len(item) < 4:
            continue
        mailbox = string(item[2], literals)
        host = string(item[3], literals)
        if host is None:  # start or end of a group (RFC 2822 group syntax)
            continue
        name = text(string(item[0], literals))
        local = mailbox.decode("utf-8", "replace") if mailbox else ""
        domain = host.decode("utf-8", "replace")
        result.append(Address(name, f"{local}@{domain}" if local else domain))
    return tuple(result)


def _parameters(node: Node, literals: Sequence[bytes]) -> dict[bytes, bytes]:
    if not isinstance(node, list):
        return {}
    values = [string(item, literals) or b"" for item in node if not isinstance(item, list)]
    # RFC 2231 names (filename*, name*0*...) count as the plain name
    return {
        values[i].lower().split(b"*", 1)[0]: values[i + 1] for i in range(0, len(values) - 1, 2)
    }


def has_attachments(structure: Node, literals: Sequence[bytes], depth: int = 0) -> bool:
    """Whether a BODYSTRUCTURE holds a part meant to be saved rather than read."""
    if not isinstance(structure, list) or not structure or depth > 50:
        return False
    if isinstance(structure[0], list):  # multipart: children, then the subtype
        return any(
            has_attachments(child, literals, depth + 1)
            for child in structure
            if isinstance(child, list)
        )
    kind = (string(structure[0], literals) or b"").lower()
    subtype = (string(structure[1], literals) or b"").lower() if len(structure) > 1 else b""
    if kind == b"message" and subtype == b"rfc822":
        return True
    disposition_index = 9 if kind == b"text" else 8
    if len(structure) > disposition_index:
        disposition = structure[disposition_index]
        if isinstance(disposition, list) and disposition:
            disposition_type = (string(disposition[0], literals) or b"").lower()
            if disposition_type == b"attachment":
                return True
            if len(disposition) > 1 and b"filename" in _parameters(disposition[1], literals):
                return kind != b"text"
    if kind in (b"text", b"multipart"):
        return False
    if depth == 0:  # the whole message is one non-text part: a file, not something to read
        return True
    return b"name" in _parameters(structure[2], literals) if len(structure) > 2 else False


def message_ids(value: str) -> tuple[str, ...]:
    """The ``<id>`` items of a References or In-Reply-To value, in order."""
    return tuple(_MESSAGE_ID.findall(value))


def _flags(node: Node) -> tuple[frozenset[Flag], frozenset[str]]:
    flags = set()
    keywords = set()
    if isinstance(node, list):
        for item in node:
            if isinstance(item, list):
                continue
            flag = _SYSTEM_FLAGS.get(item.lower())
            if flag is not None:
                flags.add(flag)
            elif item[:1] != b"\\":
                keywords.add(item.decode("utf-8", "replace"))
    return frozenset(flags), frozenset(keywords)


def _items(tokens: list[Node]) -> tuple[int, dict[bytes, Node]] | None:
    """``n (NAME value NAME value ...)`` as the sequence number and a dict of upper-case names."""
    if len(tokens) < 2 or not isinstance(tokens[1], list) or isinstance(tokens[0], list):
        return None
    try:
        sequence = int(tokens[0])
    except ValueError:
        return None
    pairs = tokens[1]
    items: dict[bytes, Node] = {}
    for index in range(0, len(pairs) - 1, 2):
        name = pairs[index]
        if isinstance(name, bytes):
            items[name.upper()] = pairs[index + 1]
    return sequence, items


def _int(node: Node | None) -> int:
    while isinstance(node, list):
        node = node[0] if node else None
    try:
        return int(node) if node is not None else 0
    except ValueError:
        return 0


def _references(items: dict[bytes, Node], literals: Sequence[bytes]) -> tuple[str, ...]:
    for name, value in items.items():
        if name.startswith(b"BODY[HEADER.FIELDS"):
            raw = string(value, literals)
            return message_ids(raw.decode("utf-8", "replace")) if raw else ()
    return ()


@functools.lru_cache(maxsize=8192)
def _fast_addresses(value: bytes | None) -> tuple[Address, ...]:
    # senders and recipients repeat all over a mailbox: each distinct list is decoded once
    if value is None or value[:1] != b"(":
        return ()
    result = []
    for name, mailbox, host, nil_host in _FAST_ADDRESS.findall(value):
        if nil_host:  # a group marker
            continue
        domain = host.decode("utf-8", "replace")
        local = mailbox.decode("utf-8", "replace")
        result.append(Address(text(name), f"{local}@{domain}" if local else domain))
    return tuple(result)


def _fast_has_attachments(structure: bytes) -> bool:
    if _ATTACHMENT_HINTS.search(structure) is None:
        return not structure.lower().startswith((b'("text" ', b"(("))
    return has_attachments(tokenize(structure)[0], ())


@functools.lru_cache(maxsize=256)
def _cached_flags(flag_text: bytes) -> tuple[frozenset[Flag], frozenset[str]]:
    return _flags(list(flag_text.split()))


def _message_id(value: bytes | None) -> str:
    if value and _ONE_MESSAGE_ID.fullmatch(value):
        return value.decode("utf-8", "replace")
    return _first_id(text(value))


def _date(value: bytes | None) -> datetime | None:
    return parse_date(value.decode("utf-8", "replace")) if value else None


def _subject(value: bytes | None) -> str:
    if not value:
        return ""
    if value.isascii() and b"=?" not in value:
        return value.decode("ascii")
    return text(value)


def _fast_envelope(
    match: re.Match[bytes], literals: Sequence[bytes], account: str, folder: str, uidvalidity: int
) -> Envelope:
    (
        _sequence,
        uid,
        modseq_before,
        flag_text,
        internal,
        size,
        modseq_middle,
        date_text,
        subject,
        from_,
        sender,
        reply_to,
        to,
        cc,
        _bcc,
        in_reply_to,
        message_id,
        structure,
        modseq_after,
    ) = match.groups()
    flags, keywords = _cached_flags(flag_text)
    arrived = parse_internaldate(internal.decode("ascii", "replace"))
    date = _date(date_text)
    reference_text = literals[0].decode("utf-8", "replace") if literals else ""
    return Envelope(
        ref=MessageRef(account, folder, int(uid), uidvalidity),
        message_id=_message_id(message_id),
        date=date or arrived,
        subject=_subject(subject),
        sender=_fast_addresses(from_) or _fast_addresses(sender),
        to=_fast_addresses(to),
        cc=_fast_addresses(cc),
        reply_to=_fast_addresses(reply_to),
        in_reply_to=_message_id(in_reply_to),
        references=message_ids(reference_text) if "<" in reference_text else (),
        flags=flags,
        keywords=keywords,
        size=int(size),
        has_attachments=_fast_has_attachments(structure),
        arrived=arrived,
        modseq=int(modseq_before or modseq_middle or modseq_after or 0),
    )


def envelope_from(
    line: bytes, literals: Sequence[bytes], account: str, folder: str, uidvalidity: int
) -> Envelope | None:
    """One message of a bulk FETCH as an Envelope.

    None for a response without a UID or without an ENVELOPE: an unsolicited FETCH that
    reports another client's flag change is not an envelope to store.
    """
    if len(literals) <= 1:
        match = _FAST.fullmatch(line)
        # the greedy BODYSTRUCTURE group would swallow a MODSEQ item sent just after it
        if match is not None and b"MODSEQ" not in match.group(_STRUCTURE_GROUP):
            return _fast_envelope(match, literals, account, folder, uidvalidity)
    return slow_envelope(line, literals, account, folder, uidvalidity)


def slow_envelope(
    line: bytes, literals: Sequence[bytes], account: str, folder: str, uidvalidity: int
) -> Envelope | None:
    """:func:`envelope_from` through the general tokenizer, for any order and any strings."""
    parsed = _items(tokenize(line))
    if parsed is None:
        return None
    _, items = parsed
    uid = _int(items.get(b"UID"))
    if uid <= 0:
        return None
    envelope = items.get(b"ENVELOPE")
    if not isinstance(envelope, list):
        return None
    flags, keywords = _flags(items.get(b"FLAGS", []))
    fields = envelope + [b"NIL"] * (10 - len(envelope))
    internal = string(items.get(b"INTERNALDATE", b"NIL"), literals)
    arrived = parse_internaldate(internal.decode("ascii", "replace")) if internal else None
    sender = addresses(fields[2], literals) or addresses(fields[3], literals)
    return Envelope(
        ref=MessageRef(account, folder, uid, uidvalidity),
        message_id=_message_id(string(fields[9], literals)),
        date=_date(string(fields[0], literals)) or arrived,
        subject=text(string(fields[1], literals)),
        sender=sender,
        to=addresses(fields[5], literals),
        cc=addresses(fields[6], literals),
        reply_to=addresses(fields[4], literals),
        in_reply_to=_message_id(string(fields[8], literals)),
        references=_references(items, literals),
        flags=flags,
        keywords=keywords,
        size=_int(items.get(b"RFC822.SIZE")),
        has_attachments=has_attachments(items.get(b"BODYSTRUCTURE", []), literals),
        arrived=arrived,
        modseq=_int(items.get(b"MODSEQ")),
    )


def _first_id(value: str) -> str:
    ids = _MESSAGE_ID.findall(value)
    if ids:
        return str(ids[0])
    return value.strip()[:998]


def parse_envelopes(
    data: Iterable[Raw], account: str, folder: str, uidvalidity: int
) -> list[Envelope]:
    """Every message of a bulk envelope FETCH, in the order received."""
    result = []
    for line, literals in group_messages(data):
        envelope = envelope_from(line, literals, account, folder, uidvalidity)
        if envelope is not None:
            result.append(envelope)
    return result


FlagState = tuple[int, frozenset[Flag], frozenset[str], int]
"""(uid, flags, keywords, modseq) of one message."""

_FAST_FLAGS = re.compile(
    rb"\d+ \((?:UID (\d+) FLAGS \(([^()\"]*)\)|FLAGS \(([^()\"]*)\) UID (\d+))"
    rb"(?: MODSEQ \((\d+)\))?\)"
)


def flags_from(line: bytes) -> FlagState | None:
    """One ``n (UID u FLAGS (...) [MODSEQ (m)])`` reply, or None when it lacks UID or FLAGS."""
    match = _FAST_FLAGS.fullmatch(line)
    if match is not None:
        uid_a, flags_a, flags_b, uid_b, modseq = match.groups()
        flags, keywords = _cached_flags(flags_a if flags_a is not None else flags_b)
        return int(uid_a or uid_b), flags, keywords, int(modseq or 0)
    parsed = _items(tokenize(line))
    if parsed is None:
        return None
    items = parsed[1]
    uid = _int(items.get(b"UID"))
    if uid <= 0 or b"FLAGS" not in items:
        return None
    flags, keywords = _flags(items[b"FLAGS"])
    return uid, flags, keywords, _int(items.get(b"MODSEQ"))


def parse_flags(data: Iterable[Raw]) -> list[FlagState]:
    """``UID FETCH ... (FLAGS)`` replies as (uid, flags, keywords, modseq) tuples."""
    result = []
    for line, _literals in group_messages(data):
        state = flags_from(line)
        if state is not None:
            result.append(state)
    return result


def compress_uids(uids: Iterable[int]) -> str:
    """A UID set in IMAP syntax with runs folded into ranges: ``1:5,8,10:12``."""
    ordered = sorted(set(uids))
    if not ordered:
        return ""
    pieces = []
    start = previous = ordered[0]
    for uid in ordered[1:]:
        if uid == previous + 1:
            previous = uid
            continue
        pieces.append(f"{start}:{previous}" if previous != start else str(start))
        start = previous = uid
    pieces.append(f"{start}:{previous}" if previous != start else str(start))
    return ",".join(pieces)


def expand_uids(uid_set: str) -> list[int]:
    """The UIDs of a set in IMAP syntax (``1:3,7`` -> 1, 2, 3, 7), in the order written."""
    result: list[int] = []
    for piece in uid_set.split(","):
        first, _, last = piece.partition(":")
        if not first.isdigit() or (last and not last.isdigit()):
            continue
        start, end = int(first), int(last or first)
        step = 1 if end >= start else -1
        if abs(end - start) > 1_000_000:
            continue
        result.extend(range(start, end + step, step))
    return result
