"""Drafts to RFC 5322 messages: addresses checked, header values kept free of line breaks."""

from __future__ import annotations

import binascii
import email.policy
import email.utils
import ipaddress
import mimetypes
import re
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage, MIMEPart
from pathlib import Path

from tuimail.model.errors import MailError
from tuimail.model.message import Address, Draft

POLICY = email.policy.SMTP.clone(refold_source="none")
"""``email.policy.default`` with CRLF line ends, as built messages carry it.

``refold_source="none"`` keeps the headers written pre-folded here (message ids, ASCII extra
headers) as they are: the stdlib folds a long unbroken value into RFC 2047 encoded words, which
breaks In-Reply-To and References. Serialise with ``message.as_bytes()`` (the message's own
policy), not with another policy.
"""

MAX_LINE_BYTES = 998
"""The longest line RFC 5322 allows, without its CRLF."""

_FOLD_AT = 78
_MAX_SHOWN = 200

_LINE_BREAK = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_HEADER_FACTORY = email.policy.SMTP.header_factory
_BODY_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LOCAL_CHAR = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")
_ASCII_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_IDEOGRAPHIC_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_NAME_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')

_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}>")
_FIELD_NAME = re.compile(r"[!-9;-~]{1,76}")
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "in-reply-to",
        "references",
        "content-transfer-encoding",
        "content-type",
        "content-disposition",
    }
)

# Leading bytes of common file formats, for files whose name says nothing.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"%!PS", "application/postscript"),
    (b"{\\rtf", "application/rtf"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"BEGIN:VCALENDAR", "text/calendar"),
    (b"BEGIN:VCARD", "text/vcard"),
)
_COMPRESSION_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}


class AddressError(MailError):
    """An address a person typed (or a draft holds) is not one mail can be sent to."""

    title = "Bad address"

    def __init__(self, entry: str, reason: str) -> None:
        super().__init__(f"{_shown(entry)} is not a valid address: {reason}.")
        self.entry = entry
        """The address as given."""
        self.reason = reason


class HeaderError(MailError):
    """A header value would break the message: a line break, a control character, a bad id."""

    title = "Bad header"


class AttachmentError(MailError):
    """A file to attach cannot be read."""

    title = "Cannot attach"


class _Invalid(ValueError):
    """Why an address is not valid (becomes an :class:`AddressError` naming the entry)."""


# Addresses --------------------------------------------------------------------------------


def parse_addresses(text: str) -> tuple[Address, ...]:
    """The addresses in a list as a person types it, e.g. ``Bob <bob@x.org>, "Doe, J" <j@y>``.

    Entries are separated by commas (or semicolons) outside quotes and ``<...>``; empty entries
    are skipped. Forms: ``addr``, ``Name <addr>``, ``"Quoted, Name" <addr>``, ``<addr>`` and
    ``addr (Name)``. Internationalised domains are kept as typed. Raises :class:`AddressError`
    naming the first entry that is not a valid address.
    """
    found: list[Address] = []
    for entry in _split_entries(text):
        shown = entry.strip(" \t")
        if _LINE_BREAK.search(entry):
            raise AddressError(shown, "it has a line break")
        if not shown:
            continue
        found.append(_parse_entry(shown))
    return tuple(found)


def format_addresses(addresses: Iterable[Address]) -> str:
    """Addresses as one line a person can edit; :func:`parse_addresses` reads it back."""
    return ", ".join(_format_address(address) for address in addresses)


def check_address(address: Address) -> None:
    """Raise :class:`AddressError` unless ``address`` is one mail can be sent to."""
    if _CONTROL.search(address.name) or _CONTROL.search(address.email):
        raise AddressError(str(address), _control_reason(address.name + address.email))
    try:
        _ascii_email(address.email)
    except _Invalid as error:
        raise AddressError(str(address), str(error)) from None


def smtp_address(email_address: str) -> str:
    """The address as SMTP takes it (the domain in ASCII, IDNA); raises :class:`AddressError`."""
    if _CONTROL.search(email_address):
        raise AddressError(email_address, _control_reason(email_address))
    try:
        return _ascii_email(email_address)
    except _Invalid as error:
        raise AddressError(email_address, str(error)) from None


def envelope_recipients(draft: Draft) -> list[str]:
    """Every address the message goes to (To, Cc and Bcc) for SMTP RCPT TO, each once.

    Addresses are in SMTP form (see :func:`smtp_address`) and compared case-insensitively;
    raises :class:`AddressError` for one that is not valid.
    """
    seen: set[str] = set()
    recipients: list[str] = []
    for address in (*draft.to, *draft.cc, *draft.bcc):
        check_address(address)
        ascii_form = _ascii_email(address.email)
        key = ascii_form.lower()
        if key not in seen:
            seen.add(key)
            recipients.append(ascii_form)
    return recipients


def _split_entries(text: str) -> list[str]:
    """``text`` cut at commas and semicolons that are outside quotes, ``<...>`` and comments."""
    entries: list[str] = []
    start = 0
    quoted = escaped = False
    angle = paren = 0
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and (quoted or paren):
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == "(":
            paren += 1
        elif char == ")" and paren:
            paren -= 1
        elif paren:
            continue
        elif char == "<":
            angle += 1
        elif char == ">" and angle:
            angle -= 1
        elif char in ",;" and not angle:
            entries.append(text[start:index])
            start = index + 1
    entries.append(text[start:])
    return entries


def _parse_entry(entry: str) -> Address:
    """One entry of an address list (already stripped, without line breaks)."""
    if _CONTROL.search(entry):
        raise AddressError(entry, _control_reason(entry))
    opens, closes, comment = _scan_entry(entry)
    if len(opens) > 1 or len(closes) > 1:
        raise AddressError(entry, "it has more than one <...>")
    if opens or closes:
        if not (opens and closes and opens[0] < closes[0]):
            raise AddressError(entry, "the <...> around the address is not closed")
        if entry[closes[0] + 1 :].strip():
            raise AddressError(entry, "there is text after the >")
        name = _phrase(entry[: opens[0]])
        address = entry[opens[0] + 1 : closes[0]].strip()
    elif comment is not None and comment[1] == len(entry) - 1 and comment[0] > 0:
        name = _phrase(entry[comment[0] + 1 : comment[1]])
        address = entry[: comment[0]].strip()
    else:
        name, address = "", entry
    if '"' in address:
        raise AddressError(entry, "quotes belong around the name, not in the address")
    try:
        _ascii_email(address)
    except _Invalid as error:
        reason = str(error)
        if " " in address:
            reason += " (write a name and address as: Name <address>)"
        raise AddressError(entry, reason) from None
    return Address(name, address)


def _scan_entry(entry: str) -> tuple[list[int], list[int], tuple[int, int] | None]:
    """Where the ``<`` and ``>`` outside quotes and comments are, and the last comment's span."""
    opens: list[int] = []
    closes: list[int] = []
    comment: tuple[int, int] | None = None
    quoted = escaped = False
    paren = 0
    for index, char in enumerate(entry):
        if escaped:
            escaped = False
        elif char == "\\" and (quoted or paren):
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == "(":
            if paren == 0:
                comment = (index, -1)
            paren += 1
        elif char == ")":
            if paren == 0:
                raise AddressError(entry, "a ) has no (")
            paren -= 1
            if paren == 0 and comment is not None:
                comment = (comment[0], index)
        elif paren:
            continue
        elif char == "<":
            opens.append(index)
        elif char == ">":
            closes.append(index)
    if quoted:
        raise AddressError(entry, "a quote is not closed")
    if paren:
        raise AddressError(entry, "a ( is not closed")
    return opens, closes, comment


def _phrase(text: str) -> str:
    """A display name with its quotes taken off and quoted pairs undone, spaces collapsed."""
    out: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        else:
            out.append(char)
    return " ".join("".join(out).split())


def _format_address(address: Address) -> str:
    name = " ".join(address.name.split())
    if not name:
        return address.email
    if _NAME_SPECIALS.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address.email}>"


def _ascii_email(address: str) -> str:
    """The address with its domain in ASCII; raises :class:`_Invalid` saying what is wrong."""
    if not address:
        raise _Invalid("there is no address")
    if any(char.isspace() for char in address):
        raise _Invalid("the address has a space in it")
    local, at, domain = address.rpartition("@")
    if not at:
        raise _Invalid("it has no @ and domain")
    if "@" in local:
        raise _Invalid("it has more than one @")
    if not local:
        raise _Invalid("there is nothing before the @")
    if not domain:
        raise _Invalid("there is nothing after the @")
    if not local.isascii():
        raise _Invalid("the part before the @ is not plain ASCII, which mail servers rarely take")
    if _LOCAL_PART.fullmatch(local) is None:
        bad = next((char for char in local if not _LOCAL_CHAR.fullmatch(char)), None)
        if bad is not None:
            raise _Invalid(f"{_shown(bad)} is not allowed before the @")
        raise _Invalid("a dot before the @ is at an end or doubled")
    if len(local) > 64:
        raise _Invalid("the part before the @ is longer than 64 characters")
    result = f"{local}@{_ascii_domain(domain)}"
    if len(result) > 254:
        raise _Invalid("it is longer than 254 characters")
    return result


def _ascii_domain(domain: str) -> str:
    """A domain (or ``[IP]`` literal) in ASCII, non-ASCII labels as IDNA ``xn--`` labels."""
    if domain.startswith("["):
        literal = domain[1:-1] if domain.endswith("]") else ""
        try:
            if literal[:5].lower() == "ipv6:":
                ipaddress.IPv6Address(literal[5:])
            else:
                ipaddress.IPv4Address(literal)
        except ValueError:
            raise _Invalid(f"{_shown(domain)} is not an IP address") from None
        return domain
    labels = unicodedata.normalize("NFC", domain).translate(_IDEOGRAPHIC_DOTS).split(".")
    out: list[str] = []
    for label in labels:
        if not label:
            raise _Invalid("the domain has an empty part (a dot at an end, or two dots)")
        out.append(_ascii_label(label))
    if out[-1].isdigit():
        raise _Invalid("the domain ends in a number (an IP address is written [192.0.2.1])")
    result = ".".join(out)
    if len(result) > 253:
        raise _Invalid("the domain is longer than 253 characters")
    return result


def _ascii_label(label: str) -> str:
    if label.isascii():
        if _ASCII_LABEL.fullmatch(label) is None:
            raise _Invalid(f"the domain part {_shown(label)} is not valid")
        if label[:4].lower() == "xn--":
            try:
                label[4:].encode("ascii").decode("punycode")
            except UnicodeError:
                raise _Invalid(f"the domain part {_shown(label)} is not valid IDNA") from None
        return label
    lower = label.lower()
    for char in lower:
        if char != "-" and unicodedata.category(char)[0] not in "LMN":
            raise _Invalid(f"{_shown(char)} is not allowed in a domain")
    if lower.startswith("-") or lower.endswith("-"):
        raise _Invalid(f"the domain part {_shown(label)} starts or ends with -")
    encoded = "xn--" + lower.encode("punycode").decode("ascii")
    if len(encoded) > 63:
        raise _Invalid(f"the domain part {_shown(label)} is too long")
    return encoded


# Header values ----------------------------------------------------------------------------


def _shown(text: str) -> str:
    """``text`` quoted for an error message, controls written as escapes, long text cut."""
    escaped = _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode(), text)
    escaped = escaped.replace("\t", "\\t")
    if len(escaped) > _MAX_SHOWN:
        escaped = escaped[:_MAX_SHOWN] + "…"
    return f'"{escaped}"'


def _control_reason(text: str) -> str:
    return "it has a line break" if _LINE_BREAK.search(text) else "it has a control character"


def _checked(what: str, value: str) -> str:
    """``value`` for a header, refused (:class:`HeaderError`) on a line break or control."""
    if _CONTROL.search(value):
        kind = "a line break" if _LINE_BREAK.search(value) else "a control character"
        raise HeaderError(f"{what} {_shown(value)} has {kind}, which a header cannot hold.")
    return _literal(_SURROGATE.sub("\ufffd", value))


def _literal(value: str) -> str:
    """``value`` as text the email package will not decode into controls.

    It decodes what looks like an RFC 2047 word in a value it is given, even one that never
    ends (``=?utf-8?q?=0D=0ABcc:_x``), and writes the result raw: a line break there is a
    header injected. Such a value gets a space after each ``=`` of ``=?``, so it stays text.
    """
    if "=?" not in value:
        return value
    try:
        decoded = str(_HEADER_FACTORY("subject", value))
    except Exception:  # the header parser raising is as bad a sign as a control
        decoded = "\x00"
    return value.replace("=?", "= ?") if _CONTROL.search(decoded) else value


def _message_id(what: str, value: str) -> str:
    """A message id in angle brackets (added when missing); :class:`HeaderError` when bad."""
    value = _checked(what, value).strip()
    if not value.startswith("<"):
        value = f"<{value}>"
    if _MESSAGE_ID.fullmatch(value) is None:
        raise HeaderError(f"{what} {_shown(value)} is not a message id.")
    return value


def _fold(name: str, value: str) -> str:
    """An ASCII header value folded at spaces (never inside a word) to about 78 columns."""
    words = value.split(" ")
    lines: list[str] = []
    line = words[0]
    width = len(name) + 2 + len(line)
    for word in words[1:]:
        if width + 1 + len(word) > _FOLD_AT and line.strip():
            lines.append(line)
            line = word
            width = 1 + len(word)
        else:
            line += " " + word
            width += 1 + len(word)
    lines.append(line)
    return "\n ".join(lines)


def _header_address(address: Address) -> HeaderAddress:
    check_address(address)
    name = _literal(_SURROGATE.sub("\ufffd", " ".join(address.name.split())))
    try:
        return HeaderAddress(display_name=name, addr_spec=_ascii_email(address.email))
    except Exception as error:  # the stdlib parser raises several kinds on odd input
        raise AddressError(str(address), str(error) or "it cannot be written in a header") from None


# Attachments ------------------------------------------------------------------------------


def guess_content_type(name: str, data: bytes) -> str:
    """The MIME type of a file from its name, else its first bytes; unknown is octet-stream."""
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if encoding is not None:
        return _COMPRESSION_TYPES.get(encoding, "application/octet-stream")
    if guessed is not None:
        return guessed
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    if _is_text(data):
        return "text/plain"
    return "application/octet-stream"


def _is_text(data: bytes) -> bool:
    if not data:
        return False
    sample = data[:65536]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as error:
        if len(data) == len(sample) or error.start < len(sample) - 3:
            return False  # not just a character cut in two at the sample's end
        text = sample[: error.start].decode("utf-8")
    return _BODY_CONTROL.search(text.replace("\x0c", "")) is None


def _read_file(path: str) -> tuple[str, bytes]:
    """The base name and bytes of a file to attach; :class:`AttachmentError` naming it."""
    file = Path(path).expanduser()
    try:
        data = file.read_bytes()
    except IsADirectoryError:
        raise AttachmentError(f"Cannot attach {_shown(path)}: it is a folder.") from None
    except FileNotFoundError:
        raise AttachmentError(f"Cannot attach {_shown(path)}: there is no such file.") from None
    except PermissionError:
        raise AttachmentError(f"Cannot attach {_shown(path)}: permission denied.") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise AttachmentError(f"Cannot attach {_shown(path)}: {reason}.") from None
    return file.name or "attachment", data


def _data_part(name: str, content_type: str, data: bytes) -> MIMEPart:
    maintype, _, subtype = content_type.partition("/")
    params: dict[str, str] = {}
    if maintype == "text" and not data.isascii() and _is_utf8(data):
        params["charset"] = "utf-8"
    part = MIMEPart(policy=POLICY)
    part.set_content(
        data, maintype, subtype, disposition="attachment", filename=name, params=params
    )
    return part


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _RawMessage(MIMEPart):
    """A whole message written out byte for byte (line ends made CRLF), headers included.

    The generator calls a part's own ``_write_headers`` when it has one; this one writes none, so
    the payload (the original bytes, surrogate-escaped) is all that is written.
    """

    def _write_headers(self, generator: object) -> None:
        """Nothing: the original's headers are part of the payload."""


def _message_part(name: str, data: bytes, *, eight_bit: bool) -> MIMEPart:
    """A ``message/rfc822`` attachment holding ``data`` unchanged but for CRLF line ends."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    lines = data.split(b"\r\n")
    fits = max(len(line) for line in lines) <= MAX_LINE_BYTES and b"\x00" not in data
    part = MIMEPart(policy=POLICY)
    part["Content-Type"] = "message/rfc822"
    part["Content-Disposition"] = "attachment"
    part.set_param("filename", name, header="Content-Disposition")
    if fits and (data.isascii() or eight_bit):
        part["Content-Transfer-Encoding"] = "7bit" if data.isascii() else "8bit"
        inner = _RawMessage(policy=POLICY)
        inner.set_payload(data.decode("ascii", "surrogateescape"))
        part.attach(inner)
    else:
        # 8-bit data for a server without 8BITMIME: RFC 2046 wants message/rfc822 unencoded,
        # but base64 is what keeps the bytes; readers (tuimail's among them) decode it.
        part["Content-Transfer-Encoding"] = "base64"
        encoded = binascii.b2a_base64(data, newline=False).decode("ascii")
        part.set_payload(
            "".join(f"{encoded[start : start + 76]}\r\n" for start in range(0, len(encoded), 76))
        )
    return part


def _attachment_part(name: str, content_type: str, data: bytes, *, eight_bit: bool) -> MIMEPart:
    kind = content_type.strip().lower()
    if _MIME_TYPE.fullmatch(kind) is None or kind.startswith("multipart/"):
        kind = "application/octet-stream"
    if kind == "message/rfc822":
        return _message_part(name, data, eight_bit=eight_bit)
    return _data_part(name, kind, data)


# The message ------------------------------------------------------------------------------


def build_message(
    draft: Draft,
    sender: Address,
    *,
    domain: str,
    eight_bit: bool = False,
    signature: str = "",
    now: datetime | None = None,
    keep_bcc: bool = False,
) -> EmailMessage:
    """The message a draft becomes, ready to send: headers, text body and attachments.

    ``domain`` is where the Message-ID is made (the sender's domain when empty); ``eight_bit``
    says the server offers 8BITMIME (else a non-ASCII body is quoted-printable); ``signature``
    is appended after a ``-- `` line; ``now`` is the Date (default: now, local time). Bcc is
    never a header unless ``keep_bcc`` (for a copy only the sender keeps, e.g. Drafts): send to
    :func:`envelope_recipients`. Every header value is checked before anything is built: a line
    break or control raises :class:`HeaderError` (:class:`AddressError` in an address), a file
    that cannot be read :class:`AttachmentError`. Serialise with ``message.as_bytes()``.
    """
    from_address = _header_address(sender)
    to = [_header_address(address) for address in draft.to]
    cc = [_header_address(address) for address in draft.cc]
    bcc = [_header_address(address) for address in draft.bcc]
    subject = " ".join(_checked("The subject", draft.subject).split())
    in_reply_to = _message_id("In-Reply-To", draft.in_reply_to) if draft.in_reply_to else ""
    references = [_message_id("References", item) for item in draft.references]
    extra = [_extra_header(name, value) for name, value in draft.extra_headers]
    id_domain = _id_domain(domain or sender.email.rpartition("@")[2])
    message_id = (
        _message_id("Message-ID", draft.message_id)
        if draft.message_id
        else f"<{secrets.token_hex(12)}@{id_domain}>"
    )
    raw_parts = [
        (_checked("The attachment name", name), content_type, data)
        for name, content_type, data in draft.raw_attachments
    ]
    for path in draft.attachments:
        _checked("The attachment", Path(path).name)
    files = [_read_file(path) for path in draft.attachments]
    when = now or datetime.now().astimezone()
    if when.tzinfo is None:
        when = when.astimezone()

    message = EmailMessage(policy=POLICY)
    message["Date"] = email.utils.format_datetime(when)
    message["From"] = from_address
    if to:
        message["To"] = to
    if cc:
        message["Cc"] = cc
    if bcc and keep_bcc:
        message["Bcc"] = bcc
    message["Subject"] = subject
    message.set_raw("Message-ID", message_id)
    if in_reply_to:
        message.set_raw("In-Reply-To", in_reply_to)
    if references:
        message.set_raw("References", _fold("References", " ".join(_unique(references))))
    for name, value in extra:
        if value.isascii():
            message.set_raw(name, _fold(name, value))
        else:
            message[name] = value
    message["MIME-Version"] = "1.0"
    text = _body_text(draft.body, signature)
    message.set_content(text, charset="utf-8", cte=_text_encoding(text, eight_bit=eight_bit))
    if files or raw_parts:
        message.make_mixed()
        for name, data in files:
            MIMEPart.attach(message, _data_part(name, guess_content_type(name, data), data))
        for name, content_type, data in raw_parts:
            part = _attachment_part(name, content_type, data, eight_bit=eight_bit)
            MIMEPart.attach(message, part)
    return message


def _extra_header(name: str, value: str) -> tuple[str, str]:
    if _FIELD_NAME.fullmatch(name) is None:
        raise HeaderError(f"{_shown(name)} is not a valid header name.")
    if name.lower() in _RESERVED_HEADERS:
        raise HeaderError(f"The {name} header is written by tuimail and cannot be given again.")
    return name, _checked(f"The {name} header", value).strip()


def _id_domain(domain: str) -> str:
    _checked("The Message-ID domain", domain)
    try:
        return _ascii_domain(domain.strip())
    except _Invalid as error:
        raise HeaderError(f"{_shown(domain)} cannot end a Message-ID: {error}.") from None


def _unique(items: list[str]) -> list[str]:
    """The items without repeats, each kept where it last appears."""
    last = {item: index for index, item in enumerate(items)}
    return [item for index, item in enumerate(items) if last[item] == index]


def _body_text(body: str, signature: str) -> str:
    text = _SURROGATE.sub("\ufffd", body.replace("\r\n", "\n").replace("\r", "\n"))
    signature = _SURROGATE.sub("\ufffd", signature.replace("\r\n", "\n").replace("\r", "\n"))
    signature = signature.strip("\n")
    if signature.strip():
        block = f"-- \n{signature}\n"
        stripped = text.rstrip("\n")
        if not (stripped + "\n").endswith(block):
            text = f"{stripped}\n\n{block}" if stripped else block
    if text and not text.endswith("\n"):
        text += "\n"
    return text


def _text_encoding(text: str, *, eight_bit: bool) -> str:
    """7bit for short-lined ASCII, 8bit for other short-lined text when the server takes it."""
    longest = max((len(line.encode("utf-8")) for line in text.split("\n")), default=0)
    if longest > MAX_LINE_BYTES or _BODY_CONTROL.search(text):
        return "quoted-printable"
    if text.isascii():
        return "7bit"
    return "8bit" if eight_bit else "quoted-printable"
