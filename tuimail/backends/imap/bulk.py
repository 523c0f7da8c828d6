"""Streaming bulk commands on imapclient's connection: replies read leanly as they arrive.

imaplib's reply loop costs about as much per line as moving the bytes; for the few commands that
return one line per message (envelope and flag fetches, UID SEARCH) this module writes the
command on the same connection and reads the reply itself, handing each message on as soon as
it is complete, so a sync can commit while the rest is still on the wire.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from typing import Any

from tuimail.mime.sanitize import safe_line
from tuimail.model.errors import ConnectError, ProtocolError

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_MAX_LITERAL = 64 * 1024 * 1024
_MAX_LINE = 8 * 1024 * 1024

MessageSink = Callable[[bytes, list[bytes]], None]
"""Called with one untagged FETCH reply (``n (ITEMS...)``, literals as ``{#i}``)."""


class Cancelled(Exception):
    """The caller's cancel event was set while a bulk command was running."""


def _clean(value: bytes) -> str:
    return safe_line(value.decode("utf-8", "replace").strip())


def run(
    imap: Any,
    command: bytes,
    on_fetch: MessageSink | None = None,
    *,
    cancel: threading.Event | None = None,
) -> list[bytes]:
    """Send ``command`` (without tag) and read its reply to the end.

    Untagged FETCH replies go to ``on_fetch``; every other untagged line is returned (``SEARCH
    1 2 3``, ``EXISTS``...), followed by the text of the tagged OK (``[COPYUID ...] Done``).
    A NO or BAD completion raises ProtocolError with the server's text; a closed connection
    raises ConnectError. When ``cancel`` is set the connection is shut down
    (the rest of the reply cannot be skipped any other way) and Cancelled is raised. Any other
    failure before the reply has ended (``on_fetch`` raising too) also shuts the connection
    down, so that no later command reads the rest of this reply as its own.
    """
    tag: bytes = imap._new_tag()
    imap.tagged_commands.pop(tag, None)  # the reply is read here, not by imaplib
    imap.send(tag + b" " + command + b"\r\n")
    readline = imap.file.readline
    read = imap.file.read
    done = tag + b" "
    others: list[bytes] = []
    count = 0
    try:
        while True:
            line = _line(readline)
            literals: list[bytes] = []
            if line.endswith(b"}\r\n") and not line.startswith(done):  # a tagged line has none
                line = _with_literals(line, literals, readline, read)
            if line.startswith(b"* "):
                body = line[2:].rstrip(b"\r\n")
                number, _, rest = body.partition(b" ")
                if rest[:6].upper() == b"FETCH " and number.isdigit():
                    if on_fetch is not None:
                        on_fetch(number + b" " + rest[6:], literals)
                    count += 1
                    if cancel is not None and count % 256 == 0 and cancel.is_set():
                        raise Cancelled
                elif body[:3].upper() == b"BYE":
                    raise ConnectError(f"The server ended the session: {_clean(body[3:])}")
                else:
                    others.append(body)
                continue
            if line.startswith(done):
                status, _, text = line[len(done) :].rstrip(b"\r\n").partition(b" ")
                break
            if line.startswith(b"+"):
                raise ProtocolError("The server asked for more input in the middle of a command.")
            # anything else (a stray line) is ignored, as imaplib does
    except BaseException:
        _abandon(imap)
        raise
    if status.upper() == b"OK":
        others.append(text.rstrip(b"\r\n"))
        return others
    raise ProtocolError(f"The server refused {_name(command)}: {_clean(text)}")


_DROPPED = "The server closed the connection in the middle of a reply."


def _line(readline: Callable[[int], bytes]) -> bytes:
    """The next line with its line break; ConnectError at the end of the stream."""
    line = readline(_MAX_LINE)
    if not line.endswith(b"\n"):
        if len(line) < _MAX_LINE:  # the connection ended, in the middle of the line or before
            raise ConnectError(_DROPPED)
        raise ProtocolError("The server sent a line longer than tuimail accepts.")
    return line


def _with_literals(
    line: bytes,
    literals: list[bytes],
    readline: Callable[[int], bytes],
    read: Callable[[int], bytes],
) -> bytes:
    """The whole logical line, each ``{n}`` literal moved to ``literals`` as ``{#i}``."""
    pieces = []
    while (match := _LITERAL.search(line)) is not None:
        size = int(match.group(1))
        if size > _MAX_LITERAL:
            raise ProtocolError(
                f"The server announced a literal of {size} bytes, more than tuimail accepts."
            )
        literal = read(size)
        if len(literal) != size:
            raise ConnectError(_DROPPED)
        pieces.append(line[: match.start()] + b"{#%d}" % len(literals))
        literals.append(literal)
        line = _line(readline)
    pieces.append(line)
    return b"".join(pieces)


def _name(command: bytes) -> str:
    words = command.split(b" ", 2)
    return " ".join(w.decode("ascii", "replace") for w in words[:2])


def _abandon(imap: Any) -> None:
    with contextlib.suppress(OSError):
        imap.shutdown()
