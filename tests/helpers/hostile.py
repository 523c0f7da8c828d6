"""The hostile corpus for tests: its messages (committed or made at test time) and the checks."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from data.make_hostile import CASES, CORPUS, MARKERS, PAYLOADS, Case, write_case

__all__ = ["CASES", "CORPUS", "MARKERS", "PAYLOADS", "Case"]

# Every C0 control but tab and newline, DEL, C1, and the bidi overrides/embeddings/isolates.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
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
