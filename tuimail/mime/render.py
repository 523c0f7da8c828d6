"""Message text made readable and terminal-safe: HTML to text, plain and flowed text, file names."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from html2text import HTML2Text

from tuimail.mime.sanitize import safe_line, safe_text

MAX_HTML_CHARS = 2_000_000
"""HTML beyond this many characters is not converted (html2text needs about 2 s per megabyte)."""

MAX_NESTING = 16
"""Blockquotes and lists nested deeper than this are flattened (each level indents every line)."""

UNSAFE_LINK = "[unsafe link removed]"
"""What stands in the text where a ``javascript:``, ``data:`` or other unsafe link was."""

_LINK_SCHEMES = frozenset({"http", "https", "mailto", "ftp"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# Leading and trailing C0 controls and spaces are ignored by browsers; tab and newline anywhere.
_URL_EDGES = "".join(chr(code) for code in range(0x21))
_URL_IGNORED = re.compile(r"[\t\n\r]")
_URL_ESCAPE = re.compile(
    "[\x00-\x20\x7f-\x9f\u00a0\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)

# Not shown at all: their text is code, chrome or form controls, never the message.
_DROPPED = frozenset(
    {
        "head",
        "title",
        "script",
        "style",
        "template",
        "iframe",
        "object",
        "svg",
        "math",
        "button",
        "select",
        "textarea",
        "noembed",
        "noframes",
    }
)
# Elements that may stand in <head>; any other start tag there means the body has begun.
_HEAD_CONTENT = frozenset({"title", "meta", "link", "style", "script", "base", "noscript"})
_NESTED = {"blockquote": "blockquote", "ul": "list", "ol": "list"}

# Zero-width characters that newsletters pad their preview text with (ZWNJ and ZWJ stay:
# Persian and emoji sequences need them).
_INVISIBLE = re.compile("[\u00ad\u034f\u200b\u2060\ufeff]")
_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n(?:[ \t\u200c\u200d]*\n){2,}")

_WINDOWS_DEVICE = re.compile(r"(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)", re.I)
_NAME_UNSAFE = re.compile('[\x00-\x1f\x7f-\x9f<>:"|?*\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]')
_SURROGATES = re.compile("[\ud800-\udfff]")
_MAX_NAME_BYTES = 255
_MAX_EXTENSION_BYTES = 32


def unsurrogate(text: str) -> str:
    """``text`` with lone surrogates (which no terminal can print) replaced by U+FFFD."""
    return _SURROGATES.sub("\ufffd", text)


def link_target(href: str | None) -> str | None:
    """The URL a link may offer, ``""`` for an unsafe link, None for no usable link.

    http, https, mailto and ftp URLs are offered (with spaces and controls percent-encoded);
    ``javascript:``, ``data:``, ``file:`` and every other scheme are unsafe; links without a
    scheme (relative links, ``#anchors``) go nowhere in a mail and are dropped.
    """
    if href is None:
        return None
    url = _URL_IGNORED.sub("", href.strip(_URL_EDGES))
    match = _SCHEME.match(url)
    if match is None:
        return None
    if match.group(1).lower() not in _LINK_SCHEMES:
        return ""
    return _URL_ESCAPE.sub(lambda char: quote(char.group(), safe=""), url)


class _MailHTML(HTML2Text):
    """html2text with links as numbered references, images as their alt text, no active parts."""

    def __init__(self, first_link: int) -> None:
        super().__init__(bodywidth=0)
        self.unicode_snob = True
        self.ignore_tables = True
        self.links: list[str] = []
        self._first_link = first_link
        self._numbers: dict[str, int] = {}
        self._anchor: str | None = None
        """The target of the open ``<a>``: a URL, ``""`` when unsafe, None when none is open."""
        self._dropping: list[str] = []
        self._depth = {"blockquote": 0, "list": 0}

    def handle_data(self, data: str, entity_char: bool = False) -> None:
        """Text between tags, without Markdown escapes (the reader sees it as it is)."""
        if self._dropping:
            if self._dropping != ["head"] or not data.strip():
                return
            self._dropping.clear()  # text outside any head element: the body has begun
        super().handle_data(data, entity_char=True)

    def handle_tag(self, tag: str, attrs: dict[str, str | None], start: bool) -> None:
        """One start or end tag."""
        if self._drop(tag, start):
            return
        if tag == "a":
            self._end_anchor()
            if start:
                self._anchor = link_target(attrs.get("href"))
            return
        if tag == "img":
            if start:
                self._image(attrs)
            return
        if tag in ("td", "th"):
            self.space = True  # cells of layout tables: keep words apart
        kind = _NESTED.get(tag)
        if kind is not None:
            depth = self._depth[kind]
            if start:
                self._depth[kind] = depth + 1
                if depth >= MAX_NESTING:
                    return
            else:
                self._depth[kind] = max(0, depth - 1)
                if depth == 0 or depth > MAX_NESTING:
                    return
        super().handle_tag(tag, attrs, start)

    def finish(self) -> str:
        """The converted text, closing a link left open at the end."""
        self.close()
        self._end_anchor()
        return super().finish()

    def _drop(self, tag: str, start: bool) -> bool:
        """Whether the tag is inside (or is) a part never shown; keeps track of those parts."""
        if self._dropping == ["head"] and start and tag not in _HEAD_CONTENT:
            self._dropping.clear()  # <head> is never closed by sloppy senders
        if tag in _DROPPED:
            if start:
                self._dropping.append(tag)
            elif tag in self._dropping:
                del self._dropping[len(self._dropping) - 1 - self._dropping[::-1].index(tag) :]
            return True
        return bool(self._dropping)

    def _end_anchor(self) -> None:
        target = self._anchor
        self._anchor = None
        if target is None:
            return
        if not target:
            self.o(f" {UNSAFE_LINK}")
            return
        number = self._numbers.get(target)
        if number is None:
            number = self._first_link + len(self.links)
            self._numbers[target] = number
            self.links.append(target)
        self.o(f" [{number}]")

    def _image(self, attrs: dict[str, str | None]) -> None:
        sizes = {
            (attrs.get(name) or "").strip().lower().removesuffix("px")
            for name in ("width", "height")
        }
        if sizes & {"0", "1"}:
            return  # a tracking pixel
        alt = " ".join((attrs.get("alt") or "").split())
        self.o(f"[image: {alt}]" if alt else "[image]")
        self.space = True


def html_to_text(
    html: str, *, first_link: int = 1, max_chars: int = MAX_HTML_CHARS
) -> tuple[str, tuple[str, ...]]:
    """An HTML body as terminal-safe plain text, and the URLs of its numbered links.

    A link shows as ``text [n]`` where the n-th URL (counting from ``first_link``) is in the
    returned tuple; unsafe links show as :data:`UNSAFE_LINK`; images show as ``[image: alt]``
    and are never fetched; scripts, styles and form controls are left out. HTML past
    ``max_chars`` characters is not converted (the text says so).
    """
    html = unsurrogate(html)
    truncated = len(html) > max_chars
    converter = _MailHTML(first_link)
    text = converter.handle(html[: max(0, max_chars)] if truncated else html)
    text = _INVISIBLE.sub("", text)
    text = _TRAILING_SPACE.sub("", text.replace("\u00a0", " "))
    text = _BLANK_RUNS.sub("\n\n", text).strip("\n")
    if truncated:
        text += "\n\n[The rest of the HTML is too long to convert here: view the raw source.]"
    links = tuple(safe_line(link) for link in converter.links)
    return safe_text(text), links


def render_plain(text: str, *, flowed: bool = False, delsp: bool = False) -> str:
    """A text/plain body as terminal-safe text; ``flowed`` joins RFC 3676 soft line breaks."""
    text = unsurrogate(text).replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")
    if flowed:
        text = _unflow(text, delsp)
    return safe_text(text.rstrip())


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: quote depth kept, space-stuffing removed, soft breaks joined."""
    lines: list[str] = []
    paragraph = ""
    open_depth: int | None = None
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        if open_depth is not None and depth != open_depth:
            lines.append(_quoted(open_depth, paragraph))
            paragraph, open_depth = "", None
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        paragraph += content
        if soft:
            open_depth = depth
        else:
            lines.append(_quoted(depth, paragraph))
            paragraph, open_depth = "", None
    if open_depth is not None:
        lines.append(_quoted(open_depth, paragraph))
    return "\n".join(lines)


def _quoted(depth: int, text: str) -> str:
    return f"{'>' * depth} {text}" if depth else text


def safe_filename(name: str | None, fallback: str) -> str:
    """A base name safe to create inside a chosen directory, never empty.

    No path separators, no ``..``, no leading dot or dash, no control, bidi or Windows-reserved
    characters, not a Windows device name, at most 255 bytes of UTF-8 with the extension kept.
    ``fallback`` (made safe the same way) is used when nothing of ``name`` is left.
    """
    cleaned = _clean_name(name or "")
    if cleaned:
        return cleaned
    return _clean_name(fallback) or "attachment"


def _clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", unsurrogate(name))
    components = [part for part in re.split(r"[/\\]", name) if part.strip(" .")]
    name = components[-1] if components else ""
    name = safe_line(_NAME_UNSAFE.sub("_", name))
    name = re.sub(r"\.{2,}", ".", name)
    name = " ".join(name.split())
    name = name.lstrip(" .-").rstrip(" .")
    if not name:
        return ""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if _WINDOWS_DEVICE.fullmatch(stem.split(".")[0].strip()):
        name = "_" + name
        stem = "_" + stem
    if len(name.encode("utf-8")) <= _MAX_NAME_BYTES:
        return name
    suffix = (
        f".{extension}" if dot and len(extension.encode("utf-8")) <= _MAX_EXTENSION_BYTES else ""
    )
    if not suffix:
        stem = name
    budget = _MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" .")
    return f"{stem}{suffix}" if stem else "attachment" + suffix
