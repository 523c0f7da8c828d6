"""The hostile corpus for tests: its messages (committed or made at test time) and the checks."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from data.make_hostile import CASES, CORPUS, MARKERS, PAYLOADS, Case, write_case

from tuimail.mime.build import build_message
from tuimail.mime.parse import MAX_ADDRESSES, ParsedMessage
from tuimail.model.message import Address, Draft

__all__ = ["CASES", "CORPUS", "MARKERS", "PAYLOADS", "Case"]

# Every C0 control but tab and newline, DEL, C1, and the bidi overrides/embeddings/isolates.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
# In bytes written to a terminal: ESC, BEL, and C1 controls as UTF-8 (C2 80 - C2 9F) or raw.
_TERMINAL_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def case_ids() -> list[str]:
    """The case names, for pytest ids."""
    return [case.name for case in CASES]


def raw_case(case: Case, scratch: Path) -> bytes:
    """A case's bytes: the committed file, or made now (into ``scratch``) when generated."""
    if case.generated:
        path = scratch / f"{case.name}.eml"
        if not path.exists():
            write_case(case, scratch)
        return path.read_bytes()
    return (CORPUS / f"{case.name}.eml").read_bytes()


def unsafe_in_text(text: str) -> list[str]:
    """The characters of ``text`` that must not reach a terminal (tab and newline may)."""
    return _UNSAFE_TEXT.findall(text)


def unsafe_in_line(text: str) -> list[str]:
    """The characters of a one-line field that must not be there (no tab or newline either)."""
    return _UNSAFE_LINE.findall(text)


def terminal_controls(output: bytes) -> list[bytes]:
    """Control bytes in what a plain command wrote to a terminal (CR and LF, TAB allowed).

    A pty turns LF into CRLF, so CR is allowed too.
    """
    return [found for found in _TERMINAL_CONTROL.findall(output) if found not in (b"\r", b"\t")]


def injected(output: bytes) -> list[bytes]:
    """Payload sequences of the corpus found in ``output`` (what Textual draws is allowed).

    A whole payload sequence, or a payload marker right after ESC ] or a C1 OSC/CSI, means a
    control sequence from a message reached the terminal.
    """
    found = [payload for payload in PAYLOADS if payload in output]
    for marker in MARKERS:
        pattern = rb"(?:\x1b\]|\xc2\x9d|\x9d)[^\x07\x1b]{0,40}" + re.escape(marker)
        found.extend(match.group() for match in re.finditer(pattern, output))
    return found


class _NetworkAudit:
    """Records network use (connect, name lookup) while armed; an audit hook cannot be removed,
    so one hook is installed per process and armed around the code under test."""

    def __init__(self) -> None:
        self.armed = False
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.armed and event in (
            "socket.connect",
            "socket.getaddrinfo",
            "socket.gethostbyname",
            "socket.sendto",
            "urllib.Request",
            "http.client.connect",
        ):
            self.events.append((event, args))


ME = Address("Robin", "robin@example.test")
REPLY_HEADERS = {
    "date",
    "from",
    "to",
    "cc",
    "subject",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}
"""The only headers a built reply or forward may have (anything else was injected)."""


def check_parsed(parsed: ParsedMessage) -> None:
    """Every field of a parsed message is terminal-safe, address fields capped."""
    one_line = [
        parsed.subject,
        parsed.message_id,
        parsed.in_reply_to,
        parsed.list_id,
        *parsed.references,
        *parsed.auth_results,
        *parsed.list_unsubscribe,
        *parsed.body.links,
    ]
    for address in (*parsed.sender, *parsed.to, *parsed.cc, *parsed.reply_to):
        one_line.extend((address.name, address.email))
    for name, value in parsed.headers:
        one_line.extend((name, value))
    for part in parsed.body.parts:
        one_line.extend(
            (part.content_type, part.charset or "", part.filename or "", part.disposition or "")
        )
    for attachment in parsed.body.attachments:
        one_line.append(attachment.safe_name)
    for text in one_line:
        assert not unsafe_in_line(text), repr(text[:200])
    assert not unsafe_in_text(parsed.body.text)
    assert len(parsed.to) <= MAX_ADDRESSES
    assert len(parsed.cc) <= MAX_ADDRESSES


def check_draft(draft: Draft) -> None:
    """A reply or forward draft holds nothing unsafe for the composer or the headers."""
    assert not unsafe_in_line(draft.subject), repr(draft.subject[:200])
    assert not unsafe_in_text(draft.body)
    for address in (*draft.to, *draft.cc):
        assert not unsafe_in_line(address.name + address.email), address
    for name, _kind, _data in draft.raw_attachments:
        assert not unsafe_in_line(name)
        assert "/" not in name
        assert "\\" not in name


def check_built(draft: Draft) -> None:
    """The draft builds, and what it builds holds only the headers tuimail writes."""
    built = build_message(draft, ME, domain="example.test").as_bytes()
    again = BytesHeaderParser().parsebytes(built)
    names = {name.lower() for name in again}
    assert names <= REPLY_HEADERS, names - REPLY_HEADERS
    for value in again.values():
        assert "\x1b" not in str(value)


_AUDIT: _NetworkAudit | None = None


@contextmanager
def no_network() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Record every network call made inside the block (the caller asserts the list empty)."""
    global _AUDIT  # noqa: PLW0603 - one audit hook per process
    if _AUDIT is None:
        _AUDIT = _NetworkAudit()
    _AUDIT.events = []
    _AUDIT.armed = True
    try:
        yield _AUDIT.events
    finally:
        _AUDIT.armed = False


def run_on_pty(
    argv: list[str],
    env: dict[str, str],
    *,
    size: tuple[int, int] = (200, 50),
    timeout: float = 120.0,
    keys: Callable[[bytes], bytes | None] | None = None,
) -> tuple[int, bytes]:
    """Run ``argv`` with a real terminal (a pty) as stdin, stdout and stderr; its exit status
    and every byte it wrote to the terminal.

    ``keys(output so far)``, when given, is asked after each read for bytes to type
    (None: nothing now). The process is killed (and the test fails) past ``timeout``.
    """
    primary, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    process = subprocess.Popen(
        argv,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={**env, "TERM": "xterm-256color", "COLUMNS": str(size[0]), "LINES": str(size[1])},
        start_new_session=True,
        close_fds=True,
    )
    os.close(secondary)
    output = bytearray()
    started = time.monotonic()
    try:
        while True:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise TimeoutError(f"{argv[2:]} still running after {timeout} s")
            ready, _, _ = select.select([primary], [], [], min(left, 0.2))
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if keys is not None:
                typed = keys(bytes(output))
                if typed:
                    os.write(primary, typed)
        status = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(primary)
    return status, bytes(output)
