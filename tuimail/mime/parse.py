"""Raw RFC 5322 bytes to what a person reads: decoded headers, body text and attachments."""

from __future__ import annotations

import binascii
import codecs
import email.utils
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from urllib.parse import unquote_to_bytes

from tuimail.mime.render import (
    MAX_HTML_CHARS,
    html_to_text,
    link_target,
    render_plain,
    safe_filename,
    unsurrogate,
)
from tuimail.mime.sanitize import safe_line
from tuimail.model.message import Address, Attachment, MessageBody, Part

MAX_DEPTH = 50
"""Entities nested deeper than this (multiparts and attached messages) are not walked."""
MAX_PARTS = 500
"""Entities beyond this many in one message are not walked."""
MAX_PART_BYTES = 25 * 1024 * 1024
"""A text part or attached message bigger than this (encoded) is not decoded."""
MAX_HEADERS = 1000
"""Headers kept in :attr:`ParsedMessage.headers`; the rest are left out."""
MAX_STRUCTURED_HEADER = 256 * 1024
"""Address headers longer than this are read with a simple pattern, not the full grammar."""
MAX_ADDRESSES = 1000
"""Addresses kept from one address field (From, To, Cc, Reply-To); the rest are left out."""

_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global", "message/news"})
_FORWARD_HEADERS = ("From", "Date", "Subject", "To", "Cc")

# A run of header lines (an optional mbox "From " line first); the body starts after it.
_HEADER_BLOCK = re.compile(rb"(?:From [^\n]*\n)?(?:(?:[!-9;-~]+[ \t]*:|[ \t])[^\n]*(?:\n|\Z))*")
_NON_ASCII = re.compile(rb"([\x80-\xff]+)")
_ASCII_TEXT = re.compile(r"[\x00-\x7f]+")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_ADDR_SPEC = re.compile(r"[^\s<>(),;:\"\[\]@]+@[^\s<>(),;:\"\[\]@]+")
_SPACES = re.compile(r"[ \u2028\u2029]+")
_BASE64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")
_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_PARAMETER = re.compile(
    r';\s*(?P<name>[^\s=;"]+)\s*(?:=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"?|(?P<token>[^;]*)))?'
)
_QUOTED_PAIR = re.compile(r"\\(.)")
_SECTION = re.compile(r"(.+?)(?:\*([0-9]+))?(\*)?")
_MAX_CONTINUATIONS = 100
_MAX_BOUNDARY = 1000  # RFC 2046 allows 70 characters; some mailers go a little over
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I
)

# Labels Python does not know, or knows as a narrower charset than mailers mean by them.
_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ks_c_5601-1989": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "x-sjis": "shift_jis",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
}
# Declared charsets that say nothing useful: the bytes are guessed instead.
_GUESSED_CHARSETS = frozenset(
    {"", "us-ascii", "ascii", "ansi_x3.4-1968", "unknown-8bit", "x-unknown", "x-user-defined"}
)
# Python codecs that are not charsets a sender may pick: they turn text into escapes or code.
_REFUSED_CODECS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"}
)

_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "application/pdf": ".pdf",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/octet-stream": ".bin",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
}


@dataclass(frozen=True)
class ParsedMessage:
    """A message as a person reads it.

    Every string here is terminal-safe (passed through ``safe_line``/``safe_text``) except
    :attr:`raw_subject`, which is kept for building replies.
    """

    subject: str = ""
    """Decoded, one line, terminal-safe."""
    raw_subject: str = ""
    """Decoded and on one line (no CR/LF) but NOT terminal-safe: for ``Re:`` subjects only."""
    sender: tuple[Address, ...] = ()
    """The From addresses; names and addresses are terminal-safe, as in every address field."""
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    date: datetime | None = None
    """Aware (UTC when the header gave no zone); None when missing or not understood."""
    message_id: str = ""
    """With its angle brackets, like every id here."""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    """Every header (up to :data:`MAX_HEADERS`) in order, decoded, one line each, terminal-safe."""
    auth_results: tuple[str, ...] = ()
    """The Authentication-Results headers as given (added by the receiving servers)."""
    list_id: str = ""
    list_unsubscribe: tuple[str, ...] = ()
    """The http(s) and mailto URLs of List-Unsubscribe, in the sender's order of preference."""
    list_unsubscribe_post: bool = False
    """Whether the sender offers RFC 8058 one-click unsubscription (a POST to the https URL)."""
    body: MessageBody = field(default_factory=lambda: MessageBody(text=""))


def parse_message(raw: bytes) -> ParsedMessage:
    """A raw message as headers, readable body text and attachments; never raises on bad input."""
    walker = _Walker()
    root: _Entity | None = None
    try:
        root = walker.entity(raw, 0, len(raw), "", 0, message_root=True)
    except RecursionError:
        walker.stop("it nests too deeply")
    except Exception:  # a contract: hostile input must not break the reader
        walker.stop("it could not be read")
    if root is None:
        headers = _headers_only(raw)
        body = MessageBody(text=_too_complex(walker.limit), too_complex=True)
    else:
        headers = root.headers
        body = _read_body(root, walker)
    try:
        return _envelope(headers, body)
    except Exception:  # a contract: a header no reader copes with costs the headers only
        return ParsedMessage(body=body)


def decode_words(value: str) -> str:
    """``value`` with its RFC 2047 encoded words decoded; unknown charsets are guessed."""
    if "=?" not in value:
        return value
    out: list[str] = []
    position = 0
    after_word = False
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        if not (after_word and (not gap or gap.isspace())):
            out.append(gap)
        charset, encoding, encoded = match.groups()
        data = encoded.encode("ascii", "replace")
        payload = _base64(data) if encoding in "bB" else binascii.a2b_qp(data, header=True)
        out.append(decode_bytes(payload, charset.split("*")[0]))
        position = match.end()
        after_word = True
    out.append(value[position:])
    return "".join(out)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in the declared charset as text; an unknown or missing charset is guessed.

    The guess is UTF-8 when the bytes are (mostly) UTF-8, else windows-1252 (Latin-1 as
    browsers read it). Never raises; the result holds no lone surrogates.
    """
    name = (charset or "").strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    if name in _GUESSED_CHARSETS:
        return _guess(data)
    try:
        codec = codecs.lookup(name)
    except (LookupError, ValueError):
        return _guess(data)
    if codec.name in _REFUSED_CODECS or not getattr(codec, "_is_text_encoding", True):
        return _guess(data)
    try:
        return unsurrogate(data.decode(codec.name, "replace"))
    except Exception:  # a codec may raise anything on hostile bytes
        return _guess(data)


def _guess(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "replace")
    errors = text.count("\ufffd")
    good = len(_ASCII_TEXT.sub("", text)) - errors
    if good > errors:
        return text
    return data.decode("cp1252", "replace")


class _Headers:
    """The headers of one entity, raw (folded, undecoded) and in order, looked up by name."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items
        self._by_name: dict[str, list[str]] = {}
        for name, value in items:
            self._by_name.setdefault(name.lower(), []).append(value)

    def first(self, name: str) -> str:
        """The first value of the header ``name`` (lower case), or ``""``."""
        values = self._by_name.get(name)
        return values[0] if values else ""

    def all(self, name: str) -> list[str]:
        """Every value of the header ``name`` (lower case)."""
        return self._by_name.get(name, [])

    def __contains__(self, name: str) -> bool:
        return name in self._by_name


@dataclass
class _Entity:
    """One MIME entity found in the raw bytes: its headers and where its body lies."""

    headers: _Headers
    data: bytes
    body_start: int
    end: int
    content_type: str
    params: dict[str, str]
    section: str
    disposition: str | None = None
    filename: str | None = None
    children: list[_Entity] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.end - self.body_start

    @property
    def charset(self) -> str | None:
        return self.params.get("charset") or None

    @property
    def transfer_encoding(self) -> str:
        return self.headers.first("content-transfer-encoding").strip().strip('"').lower()

    def payload(self) -> bytes:
        """The body with its transfer encoding undone (leniently)."""
        raw = self.data[self.body_start : self.end]
        if self.transfer_encoding == "base64":
            return _base64(raw)
        if self.transfer_encoding == "quoted-printable":
            return binascii.a2b_qp(raw)
        return raw

    def decoded_size(self) -> int:
        """About how big the body is once decoded, without decoding it."""
        if self.transfer_encoding != "base64":
            return self.size
        raw = self.data
        spaces = sum(raw.count(char, self.body_start, self.end) for char in (b"\n", b"\r", b" "))
        return max(0, (self.size - spaces) * 3 // 4 - raw.count(b"=", self.body_start, self.end))


class _Walker:
    """Finds the entities of a message, refusing to go past the limits."""

    def __init__(self) -> None:
        self.count = 0
        self.limit: str | None = None

    def stop(self, reason: str) -> None:
        if self.limit is None:
            self.limit = reason

    def entity(
        self,
        data: bytes,
        start: int,
        end: int,
        section: str,
        depth: int,
        *,
        message_root: bool = False,
        default_type: str = "text/plain",
    ) -> _Entity | None:
        """The entity in ``data[start:end]`` with everything under it, or None past a limit."""
        self.count += 1
        if self.count > MAX_PARTS:
            self.stop(f"more than {MAX_PARTS} parts")
            return None
        if depth > MAX_DEPTH:
            self.stop(f"more than {MAX_DEPTH} levels of nesting")
            return None
        headers, body_start = _read_headers(data, start, end)
        entity = _entity(headers, data, body_start, end, section=section, default_type=default_type)
        content_type = entity.content_type
        if content_type.startswith("multipart/"):
            boundary = entity.params.get("boundary", "").strip()
            if not boundary or len(boundary) > _MAX_BOUNDARY:
                entity.content_type = "text/plain"  # unreadable as parts: show it as text
            else:
                child_type = (
                    "message/rfc822" if content_type == "multipart/digest" else "text/plain"
                )
                parts = _split(data, body_start, end, boundary.encode("utf-8", "replace"))
                for index, (part_start, part_end) in enumerate(parts, 1):
                    child = self.entity(
                        data,
                        part_start,
                        part_end,
                        _join(section, index),
                        depth + 1,
                        default_type=child_type,
                    )
                    if child is None:
                        break
                    entity.children.append(child)
                return entity
        elif content_type in _MESSAGE_TYPES and entity.disposition != "attachment":
            if entity.size <= MAX_PART_BYTES:
                inner = entity.payload()
                child = self.entity(inner, 0, len(inner), section, depth + 1, message_root=True)
                if child is not None:
                    entity.children.append(child)
            return entity
        if message_root:
            entity.section = _join(section, 1)
        return entity


def _join(section: str, index: int) -> str:
    return f"{section}.{index}" if section else str(index)


def _read_headers(data: bytes, start: int, end: int) -> tuple[_Headers, int]:
    """The headers at ``data[start:end]`` and where the body after them starts."""
    match = _HEADER_BLOCK.match(data, start, end)
    header_end = match.end() if match else start
    body_start = header_end
    if data.startswith(b"\r\n", header_end, end):
        body_start += 2
    elif data.startswith(b"\n", header_end, end):
        body_start += 1
    return _Headers(_header_fields(_header_bytes_text(data[start:header_end]))), body_start


def _header_fields(text: str) -> list[tuple[str, str]]:
    """Header lines as (name, unfolded value) pairs, in order.

    Written out rather than left to ``email.parser``: its ``policy.default`` parses
    Content-Type on the way and takes a minute over 80 KB of hostile parameters.
    """
    fields: list[tuple[str, list[str]]] = []  # a list of pieces: linear in the folded lines
    for line in text.split("\n"):
        content = line.removesuffix("\r")
        if content[:1] in (" ", "\t"):
            if fields:
                fields[-1][1].append(content)
            continue
        name, colon, value = content.partition(":")
        if colon and name.strip() and not (not fields and name.startswith("From ")):
            fields.append((name.strip(), [value.lstrip(" \t")]))
    return [(name, "".join(pieces)) for name, pieces in fields]


def _header_bytes_text(data: bytes) -> str:
    """Raw header bytes as text: UTF-8 where they are UTF-8, else windows-1252, run by run."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    pieces = _NON_ASCII.split(data)
    return "".join(
        _guess(piece) if index % 2 else piece.decode("ascii") for index, piece in enumerate(pieces)
    )


def _headers_only(raw: bytes) -> _Headers:
    """The top-level headers when the body could not be walked (or none)."""
    try:
        return _read_headers(raw, 0, len(raw))[0]
    except Exception:  # a contract: hostile input must not break the reader
        return _Headers([])


def _entity(
    headers: _Headers, data: bytes, body_start: int, end: int, *, section: str, default_type: str
) -> _Entity:
    """An entity with its Content-Type and Content-Disposition read."""
    content_type, params = default_type, dict[str, str]()
    if "content-type" in headers:
        kind, params = mime_parameters(headers.first("content-type"))
        content_type = kind if _MIME_TYPE.fullmatch(kind) else "text/plain"
    disposition_value = headers.first("content-disposition")
    disposition, disposition_params = mime_parameters(disposition_value)
    name = disposition_params.get("filename") or params.get("name")
    if name and "=?" in name:
        name = decode_words(name)
    return _Entity(
        headers,
        data,
        body_start,
        end,
        content_type,
        params,
        section,
        disposition=disposition or None,
        filename=name or None,
    )


def mime_parameters(value: str) -> tuple[str, dict[str, str]]:
    """A Content-Type or Content-Disposition value as its lower-case main value and parameters.

    Parameter names are lower case; RFC 2231 continuations and charsets are decoded (unknown
    charsets guessed). Linear in the length of ``value`` whatever it holds.
    """
    value = value.replace("\r", "").replace("\n", "")
    main, _, rest = value.partition(";")
    simple: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[bool, str]]] = {}
    for match in _PARAMETER.finditer(";" + rest):
        name = match.group("name").lower()
        quoted = match.group("quoted")
        text = _QUOTED_PAIR.sub(r"\1", quoted) if quoted is not None else match.group("token") or ""
        text = text.strip() if quoted is None else text
        section = _SECTION.fullmatch(name) if "*" in name else None
        if section is None:
            simple.setdefault(name, text)
            continue
        base, number, star = section.group(1), section.group(2), section.group(3)
        index = int(number) if number is not None and len(number) < 4 else 0
        extended.setdefault(base, {}).setdefault(index, (bool(star), text))
    params = dict(simple)
    for base, pieces in extended.items():
        params[base] = _rfc2231(pieces)
    return main.strip().lower(), params


def _rfc2231(pieces: dict[int, tuple[bool, str]]) -> str:
    """One RFC 2231 parameter from its numbered pieces (a lone ``name*`` is piece 0)."""
    charset = ""
    data = bytearray()
    for index in sorted(pieces)[:_MAX_CONTINUATIONS]:
        encoded, text = pieces[index]
        if encoded and index == 0 and text.count("'") >= 2:
            charset, _, text = text.partition("'")
            text = text.partition("'")[2]
        data += unquote_to_bytes(text) if encoded else text.encode("utf-8", "replace")
    return decode_bytes(bytes(data), charset)


def _split(data: bytes, start: int, end: int, boundary: bytes) -> Iterator[tuple[int, int]]:
    """Where the body parts of a multipart lie (preamble and epilogue left out)."""
    delimiter = re.compile(rb"^--" + re.escape(boundary) + rb"(--)?[ \t]*\r?$", re.MULTILINE)
    content_start: int | None = None
    for match in delimiter.finditer(data, start, end):
        if content_start is not None:
            content_end = match.start()
            # The line break before a delimiter belongs to the delimiter (RFC 2046).
            if content_end > content_start and data[content_end - 1] == 0x0A:
                content_end -= 1
                if content_end > content_start and data[content_end - 1] == 0x0D:
                    content_end -= 1
            yield content_start, max(content_start, content_end)
        if match.group(1):
            return
        content_start = min(match.end() + 1, end)
    if content_start is not None and content_start < end:
        yield content_start, end


def _base64(data: bytes) -> bytes:
    """Base64 decoded whatever its line breaks, junk or padding."""
    clean = _BASE64_JUNK.sub(b"", data)
    extra = len(clean) % 4
    if extra == 1:
        clean = clean[:-1]
    elif extra:
        clean += b"=" * (4 - extra)
    try:
        return binascii.a2b_base64(clean)
    except binascii.Error:
        return b""


def _line(value: str) -> str:
    """One terminal-safe line: breaks, tabs and runs of spaces become one space."""
    return _SPACES.sub(" ", safe_line(unsurrogate(value))).strip()


def _decoded_line(value: str) -> str:
    return _line(decode_words(value))


# The body ---------------------------------------------------------------------------------


class _Reader:
    """Collects the readable text, the parts and the attachments of a walked message."""

    def __init__(self, walker: _Walker) -> None:
        self.walker = walker
        self.texts: list[str] = []
        self.links: list[str] = []
        self.parts: list[Part] = []
        self.attachments: list[Attachment] = []
        self.from_html = False
        self.html_budget = MAX_HTML_CHARS
        """HTML characters still to convert in this message (html2text is slow)."""

    def entity(self, entity: _Entity) -> None:
        """Read one entity and everything under it."""
        kind = entity.content_type
        if kind.startswith("multipart/"):
            chosen = _choose(entity.children) if kind == "multipart/alternative" else None
            for child in entity.children:
                if chosen is None or child is chosen:
                    self.entity(child)
                else:
                    self.attachments_only(child)
            return
        if kind in _MESSAGE_TYPES:
            self.attach(entity)
            if entity.children:
                self.texts.append(_forward_header(entity.children[0].headers))
                self.entity(entity.children[0])
            elif entity.disposition != "attachment":
                self.stop_if_big(entity)
            return
        if _is_attachment(entity):
            self.attach(entity)
            return
        if self.stop_if_big(entity):
            self.parts.append(_part(entity, entity.size))
            return
        payload = entity.payload()
        self.parts.append(_part(entity, len(payload)))
        charset = entity.charset
        if kind == "text/html":
            if charset is None:
                sniffed = _META_CHARSET.search(payload, 0, 4096)
                charset = sniffed.group(1).decode("ascii") if sniffed else None
            html = decode_bytes(payload, charset)
            text, links = html_to_text(
                html, first_link=len(self.links) + 1, max_chars=self.html_budget
            )
            self.html_budget = max(0, self.html_budget - len(html))
            self.links.extend(links)
            self.from_html = True
        else:
            flowed = entity.params.get("format", "").lower() == "flowed"
            delsp = entity.params.get("delsp", "").lower() == "yes"
            text = render_plain(decode_bytes(payload, charset), flowed=flowed, delsp=delsp)
        if text.strip():
            self.texts.append(text)

    def attachments_only(self, entity: _Entity) -> None:
        """List the parts of an alternative that is not shown; keep its real attachments."""
        if entity.content_type.startswith("multipart/"):
            for child in entity.children:
                self.attachments_only(child)
        elif entity.disposition == "attachment":
            self.attach(entity)
        else:
            self.parts.append(_part(entity, entity.decoded_size()))

    def attach(self, entity: _Entity) -> None:
        size = entity.decoded_size()
        part = _part(entity, size)
        self.parts.append(part)
        kind = entity.content_type
        extension = _EXTENSIONS.get(kind) or mimetypes.guess_extension(kind, strict=False) or ""
        stem = "message" if kind in _MESSAGE_TYPES else "attachment"
        fallback = f"{stem}-{entity.section or '1'}{extension}"
        self.attachments.append(Attachment(part, safe_filename(entity.filename, fallback)))

    def stop_if_big(self, entity: _Entity) -> bool:
        """Whether the entity is too big to decode (and if so, say so)."""
        if entity.size <= MAX_PART_BYTES:
            return False
        self.walker.stop(f"a part bigger than {MAX_PART_BYTES // (1024 * 1024)} MB")
        return True


def _read_body(root: _Entity, walker: _Walker) -> MessageBody:
    reader = _Reader(walker)
    try:
        reader.entity(root)
    except RecursionError:
        walker.stop("it nests too deeply")
    except Exception:  # a contract: hostile input must not break the reader
        walker.stop("it could not be read")
    texts = list(reader.texts)
    if walker.limit is not None:
        texts.append(_too_complex(walker.limit))
    return MessageBody(
        text="\n\n".join(texts),
        parts=tuple(reader.parts),
        attachments=tuple(reader.attachments),
        from_html=reader.from_html,
        links=tuple(reader.links),
        too_complex=walker.limit is not None,
    )


def _too_complex(reason: str | None) -> str:
    return (
        f"[This message is too complex to show in full ({reason or 'it could not be read'}). "
        "View the raw source to read it.]"
    )


def _is_attachment(entity: _Entity) -> bool:
    if entity.disposition == "attachment" or entity.filename:
        return True
    return not entity.content_type.startswith("text/")


def _part(entity: _Entity, size: int) -> Part:
    name = entity.filename
    return Part(
        content_type=_line(entity.content_type),
        charset=_line(entity.charset) if entity.charset else None,
        filename=_line(name) if name else None,
        size=size,
        section=entity.section,
        disposition=_line(entity.disposition) if entity.disposition else None,
    )


def _primary(entity: _Entity) -> str | None:
    """The content type a person would read from this entity, if any."""
    kind = entity.content_type
    if kind == "multipart/alternative":
        kinds = [_primary(child) for child in entity.children]
        for wanted in ("text/plain", "text/html"):
            if wanted in kinds:
                return wanted
        return None
    if kind.startswith("multipart/"):
        return _primary(entity.children[0]) if entity.children else None
    if kind.startswith("text/") and not _is_attachment(entity):
        return kind
    return None


def _choose(alternatives: list[_Entity]) -> _Entity | None:
    """The alternative to show: plain text first, then HTML (the last of each kind wins)."""
    kinds = [_primary(child) for child in alternatives]
    for wanted in ("text/plain", "text/html"):
        for child, kind in zip(reversed(alternatives), reversed(kinds), strict=True):
            if kind == wanted:
                return child
    for child, kind in zip(reversed(alternatives), reversed(kinds), strict=True):
        if kind is not None:
            return child
    return None


def _forward_header(headers: _Headers) -> str:
    lines = ["---------- Forwarded message ----------"]
    for name in _FORWARD_HEADERS:
        value = headers.first(name.lower())
        if value:
            lines.append(f"{name}: {_decoded_line(value)}")
    return "\n".join(lines)


# The envelope -----------------------------------------------------------------------------


def _envelope(headers: _Headers, body: MessageBody, *, complete: bool = True) -> ParsedMessage:
    raw_subject = " ".join(unsurrogate(decode_words(headers.first("subject"))).split())
    in_reply_to = _MESSAGE_ID.findall(headers.first("in-reply-to"))
    unsubscribe = (
        link_target(url[1:-1]) for url in _MESSAGE_ID.findall(headers.first("list-unsubscribe"))
    )
    return ParsedMessage(
        subject=_line(raw_subject),
        raw_subject=raw_subject,
        sender=_addresses(headers, "from"),
        to=_addresses(headers, "to"),
        cc=_addresses(headers, "cc"),
        reply_to=_addresses(headers, "reply-to"),
        date=_date(headers.first("date")),
        message_id=_message_id(headers.first("message-id")),
        in_reply_to=_line(in_reply_to[0]) if in_reply_to else "",
        references=tuple(_line(item) for item in _MESSAGE_ID.findall(headers.first("references"))),
        headers=_all_headers(headers) if complete else (),
        auth_results=tuple(_decoded_line(value) for value in headers.all("authentication-results"))
        if complete
        else (),
        list_id=_decoded_line(headers.first("list-id")),
        list_unsubscribe=tuple(_line(url) for url in unsubscribe if url),
        list_unsubscribe_post="one-click"
        in headers.first("list-unsubscribe-post").lower().replace(" ", ""),
        body=body,
    )


def _all_headers(headers: _Headers) -> tuple[tuple[str, str], ...]:
    result = []
    for index, (name, value) in enumerate(headers.items):
        if index >= MAX_HEADERS:
            break
        result.append((_line(name), _decoded_line(str(value))))
    return tuple(result)


def _message_id(value: str) -> str:
    found = _MESSAGE_ID.search(value)
    return _line(found.group() if found else value[:998])


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except Exception:  # garbage dates raise ValueError, TypeError, OverflowError ...
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _addresses(headers: _Headers, name: str) -> tuple[Address, ...]:
    found: list[Address] = []
    for value in headers.all(name):
        for raw_name, raw_address in _address_pairs(value):
            if len(found) >= MAX_ADDRESSES:
                return tuple(found)
            display_name, address = _line(raw_name), _line(raw_address)
            if address == "<>":
                address = ""
            if address or display_name:
                found.append(Address(display_name, address))
    return tuple(found)


def _address_pairs(value: str) -> list[tuple[str, str]]:
    """(display name, address) pairs of one header; a plain pattern when it is hostile.

    ``email.utils.getaddresses`` stays linear on hostile input, where the ``policy.default``
    address grammar took minutes on 60 KB of quotes.
    """
    if len(value) > MAX_STRUCTURED_HEADER:
        return _pattern_addresses(value)
    simple = _SIMPLE_ADDRESS.match(value)
    if simple:  # one plain address, the common case: no need for the full grammar
        name = simple.group("quoted") or simple.group("name") or ""
        return [(decode_words(name.strip()), simple.group("angle") or simple.group("bare"))]
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:  # RecursionError on deeply nested comments
        return _pattern_addresses(value)
    return [(decode_words(display_name), address) for display_name, address in pairs]


_SIMPLE_ADDRESS = re.compile(
    r"""\s*(?:
        (?:"(?P<quoted>[^"\\\r\n]*)"|(?P<name>[^"<>,;:\\()@\[\]\r\n]*?))\s*
            <(?P<angle>[^<>\s,;:"\\()\[\]]+@[^<>\s,;:"\\()\[\]]+)>
        |(?P<bare>[^<>\s,;:"\\()\[\]]+@[^<>\s,;:"\\()\[\]]+)
    )\s*\Z""",
    re.VERBOSE,
)
"""One address, bare or in angle brackets after a plain or quoted name (no comments, no groups)."""


def _pattern_addresses(value: str) -> list[tuple[str, str]]:
    found = islice(_ADDR_SPEC.finditer(value), MAX_ADDRESSES)
    return [("", match.group()) for match in found]


def parse_headers(raw: bytes) -> ParsedMessage:
    """Only the top-level headers of a message (its body is not read): for fast envelopes.

    ``body.text`` is empty; ``body.parts`` holds one Part describing the top-level Content-Type;
    ``headers`` and ``auth_results`` are left empty (an envelope does not show them).
    """
    headers = _headers_only(raw)
    content_type, _params = mime_parameters(headers.first("content-type") or "text/plain")
    part = Part(content_type=content_type.lower() or "text/plain")
    return _envelope(headers, MessageBody(text="", parts=(part,)), complete=False)
