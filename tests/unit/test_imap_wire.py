"""The lean FETCH reader: generated envelopes rendered as IMAP servers send them, and hand cases."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeAlias

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tuimail.backends.imap import wire
from tuimail.model.message import Address, Envelope, Flag, MessageRef

ACCOUNT = "work"
FOLDER = "INBOX"
VALIDITY = 1234

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NAMED_ZONES = {
    "GMT": 0,
    "UT": 0,
    "EST": -300,
    "EDT": -240,
    "CST": -360,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
}
"""The obsolete RFC 822 zone names (RFC 5322 4.3) and their offsets in minutes."""
FLAG_NAMES = {
    Flag.SEEN: "\\Seen",
    Flag.ANSWERED: "\\Answered",
    Flag.FLAGGED: "\\Flagged",
    Flag.DELETED: "\\Deleted",
    Flag.DRAFT: "\\Draft",
}
FETCH_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# -- rendering as a server does -------------------------------------------------------------------


@dataclass(frozen=True)
class Lit:
    """A string the server sends as a literal (``{n}`` CRLF, then the bytes)."""

    data: bytes


Piece: TypeAlias = bytes | Lit


def quoted(data: bytes) -> bytes:
    """An IMAP quoted string, escapes where needed."""
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def assemble(pieces: list[Piece]) -> tuple[bytes, list[bytes]]:
    """The form ``envelope_from`` takes: literals replaced by ``{#i}``."""
    line = bytearray()
    literals: list[bytes] = []
    for piece in pieces:
        if isinstance(piece, Lit):
            line += b"{#%d}" % len(literals)
            literals.append(piece.data)
        else:
            line += piece
    return bytes(line), literals


def imaplib_form(pieces: list[Piece]) -> list[wire.Raw]:
    """The form imaplib hands over: ``(text ending in {n}, literal)`` tuples, then the rest."""
    out: list[wire.Raw] = []
    text = bytearray()
    for piece in pieces:
        if isinstance(piece, Lit):
            out.append((bytes(text) + b"{%d}" % len(piece.data), piece.data))
            text = bytearray()
        else:
            text += piece
    out.append(bytes(text))
    return out


def joined(parts: list[list[Piece]], separator: bytes = b" ") -> list[Piece]:
    """Rendered parts one after another with ``separator`` between them."""
    out: list[Piece] = []
    for index, part in enumerate(parts):
        if index and separator:
            out.append(separator)
        out.extend(part)
    return out


def parenthesized(parts: list[list[Piece]], separator: bytes = b" ") -> list[Piece]:
    """``(part part ...)``."""
    return [b"(", *joined(parts, separator), b")"]


class Renderer:
    """Renders strings as a server might: quoted where it can, literals sometimes or when needed.

    ``plain`` stays True while every string went out quoted without escapes: what the fast
    path of the reader is made for.
    """

    def __init__(self, draw: st.DrawFn, *, eight_bit_quoted: bool, any_literal: bool) -> None:
        self.draw = draw
        self.eight_bit_quoted = eight_bit_quoted
        """Whether 8-bit text may go in a quoted string (Dovecot does not, others do)."""
        self.any_literal = any_literal
        """Whether a string that could be quoted may still come as a literal."""
        self.plain = True

    def nstring(self, data: bytes | None) -> list[Piece]:
        """NIL, a quoted string or a literal."""
        if data is None:
            return [b"NIL"]
        can_quote = (
            b"\r" not in data
            and b"\n" not in data
            and b"\0" not in data
            and (self.eight_bit_quoted or data.isascii())
        )
        if not can_quote or (
            self.any_literal and self.draw(st.sampled_from((False, False, False, True)))
        ):
            self.plain = False
            return [Lit(data)]
        if b'"' in data or b"\\" in data:
            self.plain = False
        return [quoted(data)]


# -- header text ----------------------------------------------------------------------------------

_SPECIAL_BITS = (
    '"',
    "\\",
    "(",
    ")",
    "[",
    "]",
    "{5}",
    "{#0}",
    "{12}\r\n",
    "NIL",
    " ",
    "\t",
    "\r\n",
    "<a@b>",
    "=",
    "?",
    "_",
    "café",
    "Жёлтый",
    "中文件",
    "العربية",
    "עברית",
    "😀",
    "ß",
)
_HARD_BITS = ('"', "\\", "{12}\r\n", "\r\n")
"""What a quoted string cannot carry as it is."""
_CHARACTERS = st.characters(exclude_categories=("Cs", "Cc"))


def plain_texts(*, tame: bool) -> st.SearchStrategy[str]:
    """Text with what is hard to carry in IMAP, never an encoded word, never blank.

    ``tame`` text has no quotes, backslashes or line breaks: it fits a quoted string as it is.
    """
    bits = [bit for bit in _SPECIAL_BITS if not (tame and bit in _HARD_BITS)]
    characters = st.characters(
        exclude_categories=("Cs", "Cc"), exclude_characters='"\\' if tame else None
    )
    return (
        st.lists(
            st.one_of(st.sampled_from(bits), st.text(characters, min_size=1, max_size=4)),
            min_size=1,
            max_size=6,
        )
        .map("".join)
        .filter(lambda value: "=?" not in value and value.strip() != "")
    )


PLAIN_TEXTS = {tame: plain_texts(tame=tame) for tame in (False, True)}

_EW_CHARSETS = ("utf-8", "UTF-8", "iso-8859-1", "koi8-r", "shift_jis")


@st.composite
def encoded_words(draw: st.DrawFn) -> tuple[str, str]:
    """An RFC 2047 encoded word and the text it stands for."""
    value = draw(st.text(_CHARACTERS, max_size=12))
    usable = []
    for charset in _EW_CHARSETS:
        try:
            value.encode(charset)
        except UnicodeEncodeError:
            continue
        usable.append(charset)
    charset = draw(st.sampled_from(usable))
    data = value.encode(charset)
    encoding = draw(st.sampled_from("BbQq"))
    if encoding in "Bb":
        payload = base64.b64encode(data).decode("ascii")
    else:
        payload = "".join(
            chr(byte)
            if chr(byte).isalnum() and byte < 128
            else "_"
            if byte == 32
            else f"={byte:02X}"
            for byte in data
        )
    return f"=?{charset}?{encoding}?{payload}?=", value


def one_line(value: str) -> str:
    """What the reader makes of header text with line breaks: one line."""
    if "\r" in value or "\n" in value:
        return " ".join(value.split())
    return value


@st.composite
def header_texts(draw: st.DrawFn, *, tame: bool = False) -> tuple[str, str]:
    """Header text as sent (plain pieces and encoded words) and as it should read."""
    segments = draw(
        st.lists(
            st.one_of(
                PLAIN_TEXTS[tame].map(lambda text: (text, text, False)),
                encoded_words().map(lambda word: (word[0], word[1], True)),
            ),
            max_size=4,
        )
    )
    raw = " ".join(sent for sent, _, _ in segments)
    expected = ""
    for index, (_, meant, encoded) in enumerate(segments):
        if index and not (encoded and segments[index - 1][2]):
            expected += " "  # the space between two encoded words is not part of the text
        expected += meant
    return raw, one_line(expected)


@st.composite
def header_bytes(draw: st.DrawFn, *, tame: bool = False) -> tuple[bytes | None, str]:
    """Header text as the bytes a server holds (NIL, UTF-8 or Latin-1) and as it should read."""
    if draw(st.integers(0, 9)) == 0:
        return None, ""
    raw, expected = draw(header_texts(tame=tame))
    data = raw.encode("utf-8")
    if draw(st.booleans()):
        try:
            latin = raw.encode("latin-1")
        except UnicodeEncodeError:
            pass
        else:
            try:
                latin.decode("utf-8")
            except UnicodeDecodeError:
                data = latin  # 8-bit text that is not UTF-8: read as Latin-1
    return data, expected


# -- addresses ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mailbox:
    """One address as the server's ENVELOPE has it."""

    name: bytes | None
    route: bytes | None
    local: str
    host: str
    expected_name: str

    @property
    def expected(self) -> Address:
        """The Address the reader should make of it."""
        return Address(self.expected_name, f"{self.local}@{self.host}")


@dataclass(frozen=True)
class Group:
    """RFC 5322 group syntax: ``name: members;``."""

    name: str
    members: tuple[Mailbox, ...]


Member: TypeAlias = Mailbox | Group

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
locals_ = st.builds(
    "".join,
    st.tuples(st.sampled_from(_ALNUM), st.text(_ALNUM + "._+-", max_size=9)),
)
hosts = st.builds(
    ".".join,
    st.lists(st.text(_ALNUM.lower() + "-", min_size=1, max_size=8), min_size=1, max_size=3),
)


_COMMON_NAMES: tuple[tuple[bytes | None, str], ...] = (
    (None, ""),
    (b"", ""),
    (b"Ann Example", "Ann Example"),
    (b"O'Brien, Pat", "O'Brien, Pat"),
    ('Zoë "Z" Ünal'.encode(), 'Zoë "Z" Ünal'),
    (b"=?utf-8?q?J=C3=BCrgen_M=C3=BCller?=", "Jürgen Müller"),
)


@st.composite
def mailboxes(draw: st.DrawFn, *, tame: bool = False) -> Mailbox:
    """An address with a display name that may be anything."""
    common = [pair for pair in _COMMON_NAMES if not tame or b'"' not in (pair[0] or b"")]
    name, expected_name = draw(st.one_of(st.sampled_from(common), header_bytes(tame=tame)))
    route = draw(st.sampled_from((None, None, None, b"@relay.example")))
    return Mailbox(name, route, draw(locals_), draw(hosts), expected_name)


def address_lists(*, tame: bool = False) -> st.SearchStrategy[list[Member] | None]:
    """None for NIL, else the members of an address list (groups among them)."""
    members = st.one_of(
        mailboxes(tame=tame),
        st.builds(
            Group,
            st.sampled_from(("undisclosed-recipients", "team", "Friends & Family")),
            st.lists(mailboxes(tame=tame), max_size=2).map(tuple),
        ),
    )
    return st.one_of(st.none(), st.lists(members, min_size=1, max_size=3))


ADDRESS_LISTS = {tame: address_lists(tame=tame) for tame in (False, True)}


def render_addresses(renderer: Renderer, value: list[Member] | None) -> list[Piece]:
    """An ENVELOPE address list."""
    if value is None:
        return [b"NIL"]
    parts: list[list[Piece]] = []

    def mailbox(item: Mailbox) -> list[Piece]:
        return parenthesized(
            [
                renderer.nstring(item.name),
                renderer.nstring(item.route),
                renderer.nstring(item.local.encode()),
                renderer.nstring(item.host.encode()),
            ]
        )

    for member in value:
        if isinstance(member, Mailbox):
            parts.append(mailbox(member))
            continue
        parts.append(
            parenthesized([[b"NIL"], [b"NIL"], renderer.nstring(member.name.encode()), [b"NIL"]])
        )
        parts.extend(mailbox(item) for item in member.members)
        parts.append([b"(NIL NIL NIL NIL)"])
    return parenthesized(parts, b"")


def expected_addresses(value: list[Member] | None) -> tuple[Address, ...]:
    """The addresses of a list, groups flattened to their members."""
    result: list[Address] = []
    for member in value or ():
        if isinstance(member, Mailbox):
            result.append(member.expected)
        else:
            result.extend(item.expected for item in member.members)
    return tuple(result)


# -- dates ----------------------------------------------------------------------------------------

naive_moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2098, 12, 30)).map(
    lambda moment: moment.replace(microsecond=0)
)
offsets = st.integers(-48, 56).map(lambda quarters: quarters * 15)


def zone(minutes: int) -> timezone:
    """A fixed offset from UTC."""
    return timezone(timedelta(minutes=minutes))


def offset_text(minutes: int) -> str:
    """``+hhmm`` or ``-hhmm``."""
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def clock(moment: datetime, *, seconds: bool = True) -> str:
    """``hh:mm:ss`` (or ``hh:mm``)."""
    text = f"{moment.hour:02d}:{moment.minute:02d}"
    return text + f":{moment.second:02d}" if seconds else text


@st.composite
def date_headers(draw: st.DrawFn, *, tame: bool = False) -> tuple[str | None, datetime | None]:
    """A Date header in one of the shapes mail carries, and the moment it means (None: none).

    ``tame`` dates are never folded over two lines.
    """
    shape = draw(
        st.sampled_from(
            (
                "full",
                "full",
                "no-weekday",
                "short-day",
                "no-seconds",
                "comment",
                "two-digit-year",
                "named-zone",
                "folded",
                "nil",
                "junk",
            )
        )
    )
    if shape == "nil":
        return None, None
    if shape == "junk":
        return draw(st.sampled_from(("", "soon", "not a date", "32 Jan 2024 10:00:00 +0000"))), None
    minutes = draw(offsets)
    name = ""
    if shape == "named-zone":
        name = draw(st.sampled_from(sorted(NAMED_ZONES)))
        minutes = NAMED_ZONES[name]
    moment = draw(naive_moments).replace(tzinfo=zone(minutes))
    weekday = WEEKDAYS[moment.weekday()]
    month = MONTHS[moment.month - 1]
    day = f"{moment.day:02d}"
    year = f"{moment.year:04d}"
    rest = f"{clock(moment)} {name or offset_text(minutes)}"
    if shape == "no-weekday":
        return f"{day} {month} {year} {rest}", moment
    if shape == "short-day":
        return f"{weekday}, {moment.day} {month} {year} {rest}", moment
    if shape == "no-seconds":
        short = clock(moment, seconds=False)
        return f"{weekday}, {day} {month} {year} {short} {offset_text(minutes)}", moment.replace(
            second=0
        )
    if shape == "comment":
        return f"{weekday}, {day} {month} {year} {rest} (added by relay)", moment
    if shape == "two-digit-year" and 1950 <= moment.year <= 2049:
        return f"{weekday}, {day} {month} {moment.year % 100:02d} {rest}", moment
    if shape == "folded" and not tame:
        return f"{weekday}, {day} {month} {year}\r\n {rest}", moment
    return f"{weekday}, {day} {month} {year} {rest}", moment


@st.composite
def internal_dates(draw: st.DrawFn) -> tuple[str, datetime]:
    """An INTERNALDATE (``date-day-fixed``: space or zero before a one-digit day)."""
    minutes = draw(offsets)
    moment = draw(naive_moments).replace(tzinfo=zone(minutes))
    day = f"{moment.day:2d}" if draw(st.booleans()) else f"{moment.day:02d}"
    month = MONTHS[moment.month - 1]
    text = f"{day}-{month}-{moment.year:04d} {clock(moment)} {offset_text(minutes)}"
    return text, moment


# -- message ids ----------------------------------------------------------------------------------

message_ids = st.builds(
    lambda local, host: f"<{local}@{host}>",
    st.text(_ALNUM + ".$_+-", min_size=1, max_size=12),
    hosts,
)


@st.composite
def message_id_fields(draw: st.DrawFn) -> tuple[str | None, str]:
    """A Message-ID or In-Reply-To field as sent, and the id the reader should take from it."""
    first, second = draw(message_ids), draw(message_ids)
    return draw(
        st.sampled_from(
            (
                (None, ""),
                (first, first),
                (first, first),
                (f"  {first} ", first),
                (f"{first} {second}", first),
                (f"{first}{second}", first),
                (f"{first} (by relay)", first),
                ("bare@host.example", "bare@host.example"),
                ("", ""),
            )
        )
    )


# -- BODYSTRUCTURE --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """One body part."""

    kind: str
    subtype: str
    params: tuple[tuple[str, bytes], ...]
    disposition: tuple[str, tuple[tuple[str, bytes], ...]] | None
    extension: int
    """How many extension fields follow the basic ones (0, 1, 2 or 4)."""


@dataclass(frozen=True)
class Multipart:
    """A multipart body."""

    children: tuple[Body, ...]
    subtype: str
    extension: bool


Body: TypeAlias = Leaf | Multipart

_LEAF_TYPES = (
    ("text", "plain"),
    ("text", "html"),
    ("TEXT", "PLAIN"),
    ("image", "png"),
    ("application", "pdf"),
    ("APPLICATION", "OCTET-STREAM"),
    ("message", "rfc822"),
    ("message", "delivery-status"),
    ("audio", "mpeg"),
)
filenames = PLAIN_TEXTS[False].map(lambda name: name.encode("utf-8"))
extended_filenames = st.just(b"utf-8''%E2%82%AC%20invoice.pdf")


@st.composite
def leaves(draw: st.DrawFn) -> Leaf:
    """A body part with or without names, dispositions and extension data."""
    kind, subtype = draw(st.sampled_from(_LEAF_TYPES))
    params: list[tuple[str, bytes]] = []
    if kind.lower() == "text":
        params.append(("charset", b"utf-8"))
    name_key = draw(st.sampled_from((None, None, "name", "NAME", "name*")))
    if name_key is not None:
        value = draw(extended_filenames if name_key.endswith("*") else filenames)
        params.append((name_key, value))
    disposition = None
    if draw(st.booleans()):
        kind_of = draw(st.sampled_from(("inline", "attachment", "INLINE", "Attachment")))
        key = draw(st.sampled_from((None, "filename", "FILENAME", "filename*")))
        fields: tuple[tuple[str, bytes], ...] = ()
        if key is not None:
            fields = ((key, draw(extended_filenames if key.endswith("*") else filenames)),)
        disposition = (kind_of, fields)
    extension = draw(st.sampled_from((2, 4))) if disposition else draw(st.sampled_from((0, 1, 4)))
    return Leaf(kind, subtype, tuple(params), disposition, extension)


bodies = st.recursive(
    leaves(),
    lambda children: st.builds(
        Multipart,
        st.lists(children, min_size=1, max_size=3).map(tuple),
        st.sampled_from(("mixed", "alternative", "related", "MIXED")),
        st.booleans(),
    ),
    max_leaves=6,
)


def render_parameters(renderer: Renderer, params: tuple[tuple[str, bytes], ...]) -> list[Piece]:
    """A body parameter list, NIL when empty."""
    if not params:
        return [b"NIL"]
    parts: list[list[Piece]] = []
    for key, value in params:
        parts.append(renderer.nstring(key.encode()))
        parts.append(renderer.nstring(value))
    return parenthesized(parts)


def render_body(renderer: Renderer, body: Body) -> list[Piece]:
    """BODYSTRUCTURE as RFC 3501 (and Dovecot) writes it."""
    if isinstance(body, Multipart):
        parts = [render_body(renderer, child) for child in body.children]
        out: list[Piece] = [b"(", *joined(parts, b""), b" ", quoted(body.subtype.encode())]
        if body.extension:
            out.append(b' ("boundary" "b1_x") NIL NIL NIL')
        return [*out, b")"]
    fields: list[list[Piece]] = [
        [quoted(body.kind.encode())],
        [quoted(body.subtype.encode())],
        render_parameters(renderer, body.params),
        [b"NIL", b" ", b"NIL"],  # id, description
        [b'"base64"'],
        [b"1234"],
    ]
    kind = (body.kind.lower(), body.subtype.lower())
    if kind == ("message", "rfc822"):
        fields.append([b'(NIL "inner" NIL NIL NIL NIL NIL NIL NIL "<inner@x>")'])
        fields.append([b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1)'])
        fields.append([b"30"])
    elif kind[0] == "text":
        fields.append([b"42"])
    if body.extension >= 1:
        fields.append([b"NIL"])  # md5
    if body.extension >= 2:
        if body.disposition is None:
            fields.append([b"NIL"])
        else:
            kind_of, params = body.disposition
            fields.append(
                parenthesized([[quoted(kind_of.encode())], render_parameters(renderer, params)])
            )
    if body.extension >= 4:
        fields.append([b"NIL", b" ", b"NIL"])  # language, location
    return parenthesized(fields)


def _key(name: str) -> str:
    return name.lower().split("*", 1)[0]


def expected_attachments(body: Body, *, top: bool = True) -> bool:
    """Whether a message with this body should show the attachment mark.

    A part counts when it is a forwarded message, marked as an attachment, a non-text part with
    a file name (``name``/``filename``, RFC 2231 forms too), or the whole message is one
    non-text part. A text part shown inline stays text even when it carries a file name.
    """
    if isinstance(body, Multipart):
        return any(expected_attachments(child, top=False) for child in body.children)
    kind, subtype = body.kind.lower(), body.subtype.lower()
    if (kind, subtype) == ("message", "rfc822"):
        return True
    if body.disposition is not None:
        kind_of, params = body.disposition
        if kind_of.lower() == "attachment":
            return True
        if any(_key(key) == "filename" for key, _ in params):
            return kind != "text"
    if kind == "text":
        return False
    return top or any(_key(key) == "name" for key, _ in body.params)


# -- whole FETCH replies --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One generated FETCH reply and what the reader should make of it."""

    pieces: list[Piece]
    expected: Envelope
    fast_possible: bool
    """Dovecot's order and plain strings: the fast path must take it."""


keywords = st.one_of(
    st.sampled_from(("$Forwarded", "$MDNSent", "$Junk", "NonJunk", "$label1", "Work")),
    st.builds(
        "".join,
        st.tuples(
            st.sampled_from(("", "$")),
            st.sampled_from(_ALNUM[:52]),
            st.text(_ALNUM + "_.-", max_size=8),
        ),
    ),
)


@st.composite
def fetch_replies(draw: st.DrawFn) -> Case:
    """A reply to the bulk envelope FETCH, as a server could send it."""
    tame = draw(st.booleans())  # strings that fit Dovecot's fast path, most of the time
    renderer = Renderer(
        draw, eight_bit_quoted=draw(st.booleans()), any_literal=not tame and draw(st.booleans())
    )
    uid = draw(st.integers(1, 2**32 - 1))
    modseq = draw(st.one_of(st.none(), st.integers(1, 2**63 - 1)))
    flags = draw(st.sets(st.sampled_from(list(Flag))))
    words = draw(st.sets(keywords.filter(lambda word: word.upper() != "NIL"), max_size=3))
    recent = draw(st.booleans())
    size = draw(st.integers(0, 2**40))
    internal_text, arrived = draw(internal_dates())
    date_text, date = draw(date_headers(tame=tame))
    subject, expected_subject = draw(header_bytes(tame=tame))
    lists = [draw(ADDRESS_LISTS[tame]) for _ in range(6)]  # from sender reply-to to cc bcc
    in_reply_to, expected_in_reply_to = draw(message_id_fields())
    message_id, expected_message_id = draw(message_id_fields())
    references = draw(st.lists(message_ids, max_size=4))
    body = draw(bodies)

    flag_words = [
        draw(st.sampled_from((FLAG_NAMES[flag], FLAG_NAMES[flag].upper()))) for flag in flags
    ]
    flag_words += sorted(words) + (["\\Recent"] if recent else [])
    flag_words = draw(st.permutations(flag_words))
    envelope = parenthesized(
        [
            renderer.nstring(date_text.encode() if date_text is not None else None),
            renderer.nstring(subject),
            *(render_addresses(renderer, value) for value in lists),
            renderer.nstring(in_reply_to.encode() if in_reply_to is not None else None),
            renderer.nstring(message_id.encode() if message_id is not None else None),
        ]
    )
    envelope_plain = renderer.plain
    structure = render_body(renderer, body)
    header = b"\r\n"
    if references:
        header = b"References: " + "\r\n ".join(references).encode() + b"\r\n\r\n"
    items: list[tuple[str, list[Piece]]] = [
        ("UID", [str(uid).encode()]),
        ("FLAGS", [b"(" + " ".join(flag_words).encode() + b")"]),
        ("INTERNALDATE", [quoted(internal_text.encode())]),
        ("RFC822.SIZE", [str(size).encode()]),
        ("ENVELOPE", envelope),
        ("BODYSTRUCTURE", structure),
        ("BODY[HEADER.FIELDS (REFERENCES)]", [Lit(header)]),
    ]
    dovecot = draw(st.booleans())
    if dovecot:
        if modseq is not None:
            after = draw(
                st.sampled_from(("UID", "RFC822.SIZE", "BODY[HEADER.FIELDS (REFERENCES)]"))
            )
            where = [name for name, _ in items].index(after) + 1
            items.insert(where, ("MODSEQ", [b"(%d)" % modseq]))
    else:
        if not references:
            items[-1] = (items[-1][0], draw(st.sampled_from(([Lit(header)], [b"NIL"], [b'""']))))
        if modseq is not None:
            items.append(("MODSEQ", [b"(%d)" % modseq]))
        items = draw(st.permutations(items))
    sequence = draw(st.integers(1, 10**6))
    pieces: list[Piece] = [b"%d " % sequence]
    pieces += parenthesized([[name.encode(), b" ", *value] for name, value in items])
    expected = Envelope(
        ref=MessageRef(ACCOUNT, FOLDER, uid, VALIDITY),
        message_id=expected_message_id,
        date=date or arrived,
        subject=expected_subject,
        sender=expected_addresses(lists[0]) or expected_addresses(lists[1]),
        to=expected_addresses(lists[3]),
        cc=expected_addresses(lists[4]),
        reply_to=expected_addresses(lists[2]),
        in_reply_to=expected_in_reply_to,
        references=tuple(references),
        flags=frozenset(flags),
        keywords=frozenset(words),
        size=size,
        has_attachments=expected_attachments(body),
        arrived=arrived,
        modseq=modseq or 0,
    )
    fast_possible = (
        dovecot and envelope_plain and not any(isinstance(piece, Lit) for piece in structure)
    )
    return Case(pieces, expected, fast_possible)


@FETCH_SETTINGS
@given(fetch_replies())
def test_generated_fetch_replies_read_as_sent(case: Case) -> None:
    line, literals = assemble(case.pieces)
    note(f"line: {line!r}")
    note(f"literals: {literals!r}")
    slow = wire.slow_envelope(line, literals, ACCOUNT, FOLDER, VALIDITY)
    assert slow == case.expected
    assert wire.envelope_from(line, literals, ACCOUNT, FOLDER, VALIDITY) == case.expected
    fast = wire._FAST.fullmatch(line) if len(literals) <= 1 else None
    if fast is not None and b"MODSEQ" in fast.group(wire._STRUCTURE_GROUP):
        fast = None  # envelope_from leaves such a match to the tokenizer
    if case.fast_possible:
        assert fast is not None, "Dovecot's shape with plain strings missed the fast path"
    if fast is not None:
        assert wire._fast_envelope(fast, literals, ACCOUNT, FOLDER, VALIDITY) == slow
    parsed = wire.parse_envelopes(imaplib_form(case.pieces), ACCOUNT, FOLDER, VALIDITY)
    assert parsed == [case.expected]


# -- hand cases: BODYSTRUCTURE --------------------------------------------------------------------

TEXT_PLAIN = b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 120 4 NIL NIL NIL NIL)'
TEXT_HTML = b'("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 900 20 NIL NIL NIL NIL)'
PDF_ATTACHMENT = (
    b'("application" "pdf" ("name" "invoice.pdf") NIL NIL "base64" 52000 NIL '
    b'("attachment" ("filename" "invoice.pdf")) NIL NIL)'
)
INLINE_IMAGE = (
    b'("image" "png" NIL "<logo@x>" NIL "base64" 3000 NIL ("inline" ("filename" "logo.png")) '
    b"NIL NIL)"
)
NAMELESS_IMAGE = b'("image" "gif" NIL "<dot@x>" NIL "base64" 40 NIL NIL NIL NIL)'
FORWARDED = (
    b'("message" "rfc822" NIL NIL NIL "7bit" 800 (NIL "Fwd" NIL NIL NIL NIL NIL NIL NIL NIL) '
    + TEXT_PLAIN
    + b" 12 NIL NIL NIL NIL)"
)
TEXT_ATTACHMENT = (
    b'("text" "plain" ("charset" "utf-8" "name" "notes.txt") NIL NIL "7bit" 300 9 NIL '
    b'("attachment" ("filename" "notes.txt")) NIL NIL)'
)
TEXT_INLINE_NAMED = (
    b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 300 9 NIL '
    b'("inline" ("filename" "notes.txt")) NIL NIL)'
)
EXTENDED_NAME_IMAGE = (
    b'("image" "jpeg" NIL NIL NIL "base64" 3000 NIL '
    b'("inline" ("filename*" "utf-8\'\'%C3%A9t%C3%A9.jpg")) NIL NIL)'
)


def multipart(subtype: bytes, *children: bytes) -> bytes:
    """A multipart BODYSTRUCTURE in Dovecot's form."""
    return b"(" + b"".join(children) + b' "' + subtype + b'" ("boundary" "b1") NIL NIL NIL)'


def fetch_line(structure: bytes, *, envelope: bytes | None = None, uid: int = 7) -> bytes:
    """A reply in Dovecot's order around a BODYSTRUCTURE (references as literal 0)."""
    envelope = envelope or (
        b'("Fri, 29 Nov 2024 16:24:34 +0000" "Hello" (("Ann" NIL "ann" "example.org")) '
        b'(("Ann" NIL "ann" "example.org")) (("Ann" NIL "ann" "example.org")) '
        b'((NIL NIL "bob" "example.org")) NIL NIL NIL "<m1@example.org>")'
    )
    return (
        b'%d (UID %d FLAGS (\\Seen) INTERNALDATE "29-Nov-2024 16:24:35 +0000" '
        b"RFC822.SIZE 4242 ENVELOPE %s BODYSTRUCTURE %s BODY[HEADER.FIELDS (REFERENCES)] {#0})"
        % (uid, uid, envelope, structure)
    )


def both_paths(line: bytes, literals: list[bytes] | None = None) -> Envelope:
    """The envelope, checked to be the same through the fast and the slow path."""
    literals = [b"\r\n"] if literals is None else literals
    slow = wire.slow_envelope(line, literals, ACCOUNT, FOLDER, VALIDITY)
    assert slow is not None
    assert wire.envelope_from(line, literals, ACCOUNT, FOLDER, VALIDITY) == slow
    return slow


@pytest.mark.parametrize(
    ("structure", "expected"),
    [
        pytest.param(multipart(b"mixed", TEXT_PLAIN, PDF_ATTACHMENT), True, id="mixed-with-pdf"),
        pytest.param(
            multipart(b"mixed", multipart(b"alternative", TEXT_PLAIN, TEXT_HTML), PDF_ATTACHMENT),
            True,
            id="alternative-and-pdf",
        ),
        pytest.param(
            multipart(b"related", TEXT_HTML, INLINE_IMAGE), True, id="inline-image-with-filename"
        ),
        pytest.param(
            multipart(b"related", TEXT_HTML, NAMELESS_IMAGE), False, id="nameless-inline-image"
        ),
        pytest.param(
            multipart(b"alternative", TEXT_PLAIN, TEXT_HTML), False, id="text-only-alternative"
        ),
        pytest.param(TEXT_PLAIN, False, id="single-text"),
        pytest.param(multipart(b"mixed", TEXT_PLAIN, FORWARDED), True, id="message-rfc822"),
        pytest.param(FORWARDED, True, id="only-message-rfc822"),
        pytest.param(
            multipart(b"mixed", TEXT_PLAIN, TEXT_ATTACHMENT), True, id="text-part-as-attachment"
        ),
        pytest.param(
            multipart(b"mixed", TEXT_PLAIN, TEXT_INLINE_NAMED), False, id="inline-text-with-name"
        ),
        pytest.param(
            multipart(b"mixed", TEXT_PLAIN, EXTENDED_NAME_IMAGE), True, id="rfc2231-filename"
        ),
        pytest.param(
            b'("application" "pdf" NIL NIL NIL "base64" 52000 NIL NIL NIL NIL)',
            True,
            id="whole-message-is-a-pdf",
        ),
        pytest.param(
            b'("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "7BIT" 12 1)', False, id="upper-case"
        ),
    ],
)
def test_has_attachments(structure: bytes, expected: bool) -> None:
    assert both_paths(fetch_line(structure)).has_attachments is expected


def test_has_attachments_survives_absurd_nesting() -> None:
    deep = b"(" * 400 + TEXT_PLAIN + b' "mixed")' * 400
    assert both_paths(fetch_line(deep)).has_attachments is False


# -- hand cases: addresses and dates --------------------------------------------------------------


def test_group_addresses_keep_members_only() -> None:
    to = (
        b'((NIL NIL "team" NIL)("Ann" NIL "ann" "example.org")(NIL NIL "bob" "example.org")'
        b'(NIL NIL NIL NIL)(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)'
        b'("Cy" NIL "cy" "example.net"))'
    )
    envelope = (
        b'("Fri, 29 Nov 2024 16:24:34 +0000" "Hi" ((NIL NIL "ann" "example.org")) NIL NIL '
        + to
        + b" NIL NIL NIL NIL)"
    )
    result = both_paths(fetch_line(TEXT_PLAIN, envelope=envelope))
    assert result.to == (
        Address("Ann", "ann@example.org"),
        Address("", "bob@example.org"),
        Address("Cy", "cy@example.net"),
    )
    assert result.sender == (Address("", "ann@example.org"),)


def test_group_addresses_in_dovecot_form() -> None:
    to = (
        b'((NIL NIL "team" NIL)("Ann" NIL "ann" "example.org")(NIL NIL NIL NIL)'
        b'(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))'
    )
    envelope = b'(NIL "Hi" NIL ((NIL NIL "s" "example.org")) NIL ' + to + b" NIL NIL NIL NIL)"
    line = fetch_line(TEXT_PLAIN, envelope=envelope)
    assert wire._FAST.fullmatch(line) is not None
    result = both_paths(line)
    assert result.to == (Address("Ann", "ann@example.org"),)
    assert result.sender == (Address("", "s@example.org"),)  # From empty: Sender


ARRIVED = datetime(2024, 11, 29, 16, 24, 35, tzinfo=UTC)


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (b"NIL", ARRIVED),
        (b'""', ARRIVED),
        (b'"yesterday afternoon"', ARRIVED),
        (b'"Fri, 30 Feb 2024 10:00:00 +0000"', ARRIVED),
        (b'"Fri, 29 Nov 2024 99:24:34 +0000"', ARRIVED),
        (b'"Fri, 29 Nov 2024 16:24:34 +0000"', datetime(2024, 11, 29, 16, 24, 34, tzinfo=UTC)),
        (b'"1 Dec 2024 08:00 -0500"', datetime(2024, 12, 1, 13, 0, tzinfo=UTC)),
        (b'"Sun, 1 Dec 2024 08:00:00 EST"', datetime(2024, 12, 1, 13, 0, tzinfo=UTC)),
        (b'"Sun, 01 Dec 2024 08:00:00 PDT"', datetime(2024, 12, 1, 15, 0, tzinfo=UTC)),
        (b'"Sun, 1 Dec 24 08:00:00 GMT"', datetime(2024, 12, 1, 8, 0, tzinfo=UTC)),
        (b'"Sun, 1 Dec 2024 08:00:00"', datetime(2024, 12, 1, 8, 0, tzinfo=UTC)),
    ],
)
def test_missing_or_malformed_date_falls_back_to_arrival(date: bytes, expected: datetime) -> None:
    envelope = b"(" + date + b' "Hi" NIL NIL NIL NIL NIL NIL NIL NIL)'
    result = both_paths(fetch_line(TEXT_PLAIN, envelope=envelope))
    assert result.date == expected
    assert result.arrived == ARRIVED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 1-Jan-2024 09:05:07 +0100", datetime(2024, 1, 1, 8, 5, 7, tzinfo=UTC)),
        ("01-Jan-2024 09:05:07 +0100", datetime(2024, 1, 1, 8, 5, 7, tzinfo=UTC)),
        ("1-Jan-2024 09:05:07 +0100", datetime(2024, 1, 1, 8, 5, 7, tzinfo=UTC)),
        ("17-Jul-1996 02:44:25 -0700", datetime(1996, 7, 17, 9, 44, 25, tzinfo=UTC)),
        ("31-Feb-2024 00:00:00 +0000", None),
        ("garbage", None),
        ("", None),
    ],
)
def test_internaldate(text: str, expected: datetime | None) -> None:
    assert wire.parse_internaldate(text) == expected


def test_single_digit_internaldate_in_a_reply() -> None:
    envelope = b'(NIL "Hi" NIL NIL NIL NIL NIL NIL NIL NIL)'
    line = fetch_line(TEXT_PLAIN, envelope=envelope).replace(
        b'"29-Nov-2024 16:24:35 +0000"', b'" 1-Jan-2024 00:00:01 +0000"'
    )
    result = both_paths(line)
    assert result.arrived == datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert result.date == result.arrived


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (b'"<m1@example.org>"', "<m1@example.org>"),
        (b'"<a@x><b@x>"', "<a@x>"),  # the fast path once kept both
        (b'"<a@x>,<b@x>"', "<a@x>"),
        (b'" <a@x> "', "<a@x>"),
        (b'"<a@x> (by relay)"', "<a@x>"),
        (b'"bare@x"', "bare@x"),
        (b"NIL", ""),
    ],
)
def test_message_id_and_in_reply_to(field: bytes, expected: str) -> None:
    envelope = b'(NIL "Hi" NIL NIL NIL NIL NIL NIL ' + field + b" " + field + b")"
    result = both_paths(fetch_line(TEXT_PLAIN, envelope=envelope))
    assert (result.message_id, result.in_reply_to) == (expected, expected)


# -- hand cases: header text ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=?utf-8?q?caf=C3=A9?=", "café"),
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),
        ("=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"),
        ("a =?utf-8?q?b?= c", "a b c"),
        ("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=", "café"),  # a character split over two words
        ("Жёлтый =?utf-8?q?x?=", "Жёлтый x"),
        ("Réunion =?iso-8859-1?q?d=E9j=E0?=", "Réunion déjà"),
        ("=?utf-8*en?q?caf=C3=A9?=", "café"),
        ("=?utf-8?b?a?=", "=?utf-8?b?a?="),  # broken base64: left as it was
        ("=?no-such-charset?q?abc?=", "abc"),
        ("=?utf-8?q?=FF=FE?=", "\ufffd\ufffd"),
        ("=?idna?q?" + "x" * 70 + "?=", "x" * 70),
        ("no words here =? ?=", "no words here =? ?="),
    ],
)
def test_header_text_decoding_never_raises(raw: str, expected: str) -> None:
    assert wire.text(raw.encode("utf-8")) == expected


@pytest.mark.parametrize(
    "word",
    [
        "=?utf-8?b?a?=",
        "=?utf-8?b?!!!!?=",
        "=?idna?q?a..b?=",
        "=?punycode?q?=FF?=",
        "=?utf-7?q?+AGE?=",
    ],
)
def test_hostile_encoded_words_in_a_reply_do_not_stop_the_fetch(word: str) -> None:
    envelope = (
        b'(NIL "'
        + word.encode()
        + b'" (("'
        + word.encode()
        + b'" NIL "a" "b.c")) NIL NIL NIL NIL NIL NIL NIL)'
    )
    result = both_paths(fetch_line(TEXT_PLAIN, envelope=envelope))
    assert result.sender[0].email == "a@b.c"


# -- hand cases: replies the reader must skip -----------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        b"12 (FLAGS (\\Seen))",
        b"12 (FLAGS (\\Seen) MODSEQ (55))",
        b"12 (UID 99 FLAGS (\\Seen) MODSEQ (55))",  # unsolicited: a flag change by someone else
        b"12 (UID 0 FLAGS () ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))",
        b"(UID 5)",
        b"x (UID 5)",
        b"",
    ],
)
def test_replies_without_uid_or_envelope_are_skipped(line: bytes) -> None:
    assert wire.envelope_from(line, [], ACCOUNT, FOLDER, VALIDITY) is None
    assert wire.parse_envelopes([line], ACCOUNT, FOLDER, VALIDITY) == []


def test_parse_envelopes_reads_imaplib_data() -> None:
    line = fetch_line(TEXT_PLAIN)
    head, _, tail = line.partition(b"{#0}")
    data: list[wire.Raw] = [
        (head + b"{23}", b"References: <r@x>\r\n\r\n"),
        tail,
        b"13 (FLAGS (\\Deleted))",
        (head.replace(b"UID 7", b"UID 8", 1) + b"{2}", b"\r\n"),
        tail,
    ]
    result = wire.parse_envelopes(data, ACCOUNT, FOLDER, VALIDITY)
    assert [e.ref.uid for e in result] == [7, 8]
    assert result[0].references == ("<r@x>",)
    assert result[0].subject == "Hello"
    assert result[0].sender == (Address("Ann", "ann@example.org"),)
    assert result[0].flags == frozenset({Flag.SEEN})


# -- flags ----------------------------------------------------------------------------------------


@given(
    uid=st.integers(1, 2**32 - 1),
    flags=st.sets(st.sampled_from(list(Flag))),
    words=st.sets(keywords.filter(lambda word: word.upper() != "NIL"), max_size=3),
    recent=st.booleans(),
    modseq=st.one_of(st.none(), st.integers(1, 2**63 - 1)),
    data=st.data(),
)
def test_generated_flag_replies(
    *,
    uid: int,
    flags: set[Flag],
    words: set[str],
    recent: bool,
    modseq: int | None,
    data: st.DataObject,
) -> None:
    names = [FLAG_NAMES[flag] for flag in flags] + sorted(words) + (["\\Recent"] if recent else [])
    names = data.draw(st.permutations(names))
    items = [b"UID %d" % uid, b"FLAGS (" + " ".join(names).encode() + b")"]
    if modseq is not None:
        items.append(b"MODSEQ (%d)" % modseq)
    items = data.draw(st.permutations(items))
    line = b"3 (" + b" ".join(items) + b")"
    expected = (uid, frozenset(flags), frozenset(words), modseq or 0)
    assert wire.flags_from(line) == expected
    assert wire.parse_flags([line]) == [expected]


def test_parse_flags() -> None:
    data: list[wire.Raw] = [
        b"1 (UID 10 FLAGS (\\Seen \\Answered $Forwarded \\Recent) MODSEQ (77))",
        b"2 (FLAGS () UID 11)",
        b"3 (FLAGS (\\Flagged))",  # no UID: not ours
        b"4 (UID 12 MODSEQ (80))",  # no FLAGS: nothing to say
        b"5 (UID 13 FLAGS (\\SEEN \\draft \\Deleted NonJunk $label1))",
        (b"6 (UID 14 X-GM-LABELS {5}", b"inbox"),
        b" FLAGS ($Junk))",
    ]
    assert wire.parse_flags(data) == [
        (10, frozenset({Flag.SEEN, Flag.ANSWERED}), frozenset({"$Forwarded"}), 77),
        (11, frozenset(), frozenset(), 0),
        (
            13,
            frozenset({Flag.SEEN, Flag.DRAFT, Flag.DELETED}),
            frozenset({"NonJunk", "$label1"}),
            0,
        ),
        (14, frozenset(), frozenset({"$Junk"}), 0),
    ]


# -- UID sets -------------------------------------------------------------------------------------

runs = st.lists(st.tuples(st.integers(1, 2**32 - 100), st.integers(1, 60)), max_size=12)


@given(st.lists(st.integers(1, 2**32 - 1), max_size=60), runs)
def test_uid_sets_round_trip(single: list[int], ranges: list[tuple[int, int]]) -> None:
    uids = single + [start + step for start, length in ranges for step in range(length)]
    text = wire.compress_uids(uids)
    assert wire.expand_uids(text) == sorted(set(uids))
    pieces = text.split(",") if text else []
    assert len(pieces) == len(set(pieces))
    for piece in pieces:  # runs are folded: no two pieces could be joined
        first, _, last = piece.partition(":")
        assert not last or int(last) > int(first)


@pytest.mark.parametrize(
    ("uids", "text"),
    [([], ""), ([5], "5"), ([3, 1, 2, 2, 7, 9, 8], "1:3,7:9"), ([1, 3, 5], "1,3,5")],
)
def test_compress_uids(uids: list[int], text: str) -> None:
    assert wire.compress_uids(uids) == text


@pytest.mark.parametrize(
    ("text", "uids"),
    [
        ("", []),
        ("1:3,7", [1, 2, 3, 7]),
        ("5:3", [5, 4, 3]),  # COPYUID lists the new UIDs in the order of the old ones
        ("4,2", [4, 2]),
        ("1:*,9", [9]),
        ("x,3", [3]),
        ("1:2000000", []),  # absurd: refused rather than built
    ],
)
def test_expand_uids(text: str, uids: list[int]) -> None:
    assert wire.expand_uids(text) == uids


def test_list_entries_take_any_legal_folder_name() -> None:
    # imapclient's parser failed the whole LIST on the atom x[ (Dovecot sends it unquoted)
    data = [
        b'(\\HasChildren) "/" [b]Markup[',
        b'(\\HasNoChildren) "/" "[b]Markup[/b] [@click=app.quit]x[/]"',
        (b'() "/" {5}', b"a\r\nb\\"),
        b"",
        b'(\\Noselect) NIL "a\\\\b\\""',
        None,
    ]
    assert wire.list_entries(data) == [
        ((b"\\HasChildren",), b"/", b"[b]Markup["),
        ((b"\\HasNoChildren",), b"/", b"[b]Markup[/b] [@click=app.quit]x[/]"),
        ((), b"/", b"a\r\nb\\"),
        ((b"\\Noselect",), b"", b'a\\b"'),
    ]
