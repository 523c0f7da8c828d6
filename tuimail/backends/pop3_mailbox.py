"""A logged-in POP3 maildrop: UIDL, LIST, TOP, RETR and DELE, pipelined where the server allows.

poplib does the connection, STLS and login (``backends/pop3.py``); the commands that move mail are
written here on poplib's own socket so that they can be pipelined (RFC 2449 PIPELINING: many
commands sent before the answers are read) and so that a message line longer than poplib's 2 KB
limit (common in HTML mail) does not fail the download.

Deletions are only marked by DELE; they take effect when the server answers QUIT with +OK
(RFC 1939). ``quit()`` says whether that happened; a caller records deletions only then.
"""

from __future__ import annotations

import contextlib
import io
import poplib
import ssl
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import cast

from tuimail.backends import pop3
from tuimail.backends.tls import translate
from tuimail.mime.sanitize import safe_line
from tuimail.model.account import Endpoint
from tuimail.model.errors import ConnectError, MailError, ProtocolError

WINDOW = 64
"""Commands in flight at once when the server pipelines."""
MAX_MESSAGE = 256 * 1024 * 1024
"""A message larger than this is refused rather than held in memory."""
MAX_SIZE_DIGITS = 15
"""A LIST size with more digits (a petabyte and more) is not believed."""
MAX_UIDL = 70
"""RFC 1939: a unique-id is 1 to 70 printable characters."""
_PIECE = 1024 * 1024
_CHUNK = 256 * 1024
_MIN_RATE = 32 * 1024
"""Bytes per second a download must keep up, on top of the timeout, before it is given up."""


class Pop3Mailbox:
    """One POP3 session, logged in, with the maildrop locked by the server until ``quit()``."""

    def __init__(self, endpoint: Endpoint, password: str, *, apop: bool = False) -> None:
        self.endpoint = endpoint
        self.pop = pop3.connect(endpoint)
        try:
            pop3.login(self.pop, endpoint, password, apop=apop)
            self.capabilities = pop3.capabilities(self.pop)
        except BaseException:
            self.close()
            raise
        self.pipelining = "PIPELINING" in self.capabilities
        self._buffer = bytearray()
        """Bytes read from the server and not used yet (poplib's own reader is idle by now)."""

    # -- the wire ---------------------------------------------------------------------------

    def _fail(self, exc: BaseException, doing: str) -> MailError:
        if isinstance(exc, MailError):
            return exc
        if isinstance(exc, poplib.error_proto):
            text = _text(exc.args[0] if exc.args else b"")
            if "EOF" in text:
                return ConnectError(
                    f"{self.endpoint.address} closed the connection while tuimail was {doing}."
                )
            return ProtocolError(f"{self.endpoint.address} answered {doing} with: {text}")
        if isinstance(exc, TimeoutError):
            return ConnectError(
                f"{self.endpoint.address} stopped answering while tuimail was {doing} "
                f"(no reply within {self.endpoint.timeout:g} s)."
            )
        if isinstance(exc, OSError | EOFError | ssl.SSLError):
            return translate(exc, self.endpoint)
        return ProtocolError(f"{self.endpoint.address}: {doing} failed: {exc}")

    def _send(self, lines: Iterable[str]) -> None:
        self.pop.sock.sendall(b"".join(line.encode("ascii") + b"\r\n" for line in lines))

    def _fill(self) -> int:
        data = cast("io.BufferedReader", self.pop.file).read1(_CHUNK)
        if not data:
            raise poplib.error_proto(b"-ERR EOF")
        self._buffer += data
        return len(data)

    def _status(self) -> tuple[bool, bytes]:
        buffer = self._buffer
        while (end := buffer.find(b"\n")) < 0:
            if len(buffer) > _PIECE:
                raise ProtocolError(
                    f"{self.endpoint.address} sent a status line longer than 1 MB; it is not "
                    "answering like a POP3 server."
                )
            self._fill()
        line = bytes(buffer[: end + 1])
        del buffer[: end + 1]
        return line.startswith(b"+OK"), line.rstrip(b"\r\n")

    def _multiline(self, limit: int) -> bytes:
        """The body of a multi-line answer, dot-unstuffed, lines ending in LF.

        The answer ends at CRLF "." CRLF (RFC 1939); it is found in the buffered bytes, not line
        by line, and unstuffed with two replacements. It must arrive within the timeout plus a
        second per ``_MIN_RATE`` bytes received so far: a server that drips, whatever size it
        claimed in LIST, is given up on, and one that never stops is cut at ``limit``.
        """
        buffer = self._buffer
        started = time.monotonic()
        received = 0

        def more() -> None:
            nonlocal received
            if time.monotonic() > started + self.endpoint.timeout + received / _MIN_RATE:
                raise ConnectError(
                    f"{self.endpoint.address} is sending too slowly (less than "
                    f"{_MIN_RATE // 1024} KB/s); tuimail gave up waiting."
                )
            received += self._fill()

        while len(buffer) < 3:
            more()
        if buffer[:3] == b".\r\n":  # an empty answer
            del buffer[:3]
            return b""
        start = 0
        while (end := buffer.find(b"\r\n.\r\n", start)) < 0:
            if len(buffer) > limit:
                raise ProtocolError(
                    f"{self.endpoint.address} sent more than {limit:,} bytes for one answer; "
                    "tuimail stopped reading it."
                )
            start = max(0, len(buffer) - 4)
            more()
        body = bytes(buffer[: end + 2])
        del buffer[: end + 5]
        if body.startswith(b".."):
            body = body[1:]
        return body.replace(b"\r\n..", b"\r\n.").replace(b"\r\n", b"\n")

    def _pipelined(self, commands: Sequence[str], read: bool) -> Iterator[tuple[int, bool, bytes]]:
        """Send commands (a window at a time when pipelining) and yield (index, ok, body)."""
        window = WINDOW if self.pipelining else 1
        sent = 0
        for index in range(len(commands)):
            if index == sent:
                upto = min(len(commands), sent + window)
                self._send(commands[sent:upto])
                sent = upto
            ok, status = self._status()
            body = b""
            if ok and read:
                body = self._multiline(MAX_MESSAGE)
            yield index, ok, body if ok else status

    # -- commands ---------------------------------------------------------------------------

    def uidl(self) -> list[tuple[int, bytes]] | None:
        """(message number, unique id) for every message; None when the server has no UIDL."""
        try:
            self._send(["UIDL"])
            ok, _status = self._status()
            if not ok:
                return None
            body = self._multiline(64 * 1024 * 1024)
        except BaseException as exc:
            raise self._fail(exc, "listing unique ids (UIDL)") from None
        found = []
        for line in body.splitlines():
            number, _, uid = line.strip().partition(b" ")
            if number.isdigit():
                found.append((int(number), uid.strip()))
        return found

    def sizes(self) -> dict[int, int]:
        """Message number -> size in octets (LIST)."""
        try:
            self._send(["LIST"])
            ok, status = self._status()
            if not ok:
                raise ProtocolError(
                    f"{self.endpoint.address} refused to list the messages: {_text(status)}"
                )
            body = self._multiline(64 * 1024 * 1024)
        except BaseException as exc:
            raise self._fail(exc, "listing messages (LIST)") from None
        found: dict[int, int] = {}
        for line in body.splitlines():
            parts = line.split()
            if parts and parts[0].isdigit():
                # a size that is no number, or past MAX_SIZE_DIGITS, is a lie: call it unknown
                size = parts[1] if len(parts) >= 2 else b""
                ok = size.isdigit() and len(size) <= MAX_SIZE_DIGITS
                found[int(parts[0])] = int(size) if ok else 0
        return found

    def headers(self, numbers: Sequence[int]) -> Iterator[tuple[int, bytes | None]]:
        """The header block of each message (TOP n 0); None where the server refused."""
        try:
            commands = [f"TOP {n} 0" for n in numbers]
            for index, ok, body in self._pipelined(commands, True):
                yield numbers[index], body if ok else None
        except BaseException as exc:
            raise self._fail(exc, "reading message headers (TOP)") from None

    def retrieve(self, numbers: Sequence[int]) -> Iterator[tuple[int, bytes | None, str]]:
        """(number, message with LF line ends or None, the server's refusal) for each number."""
        try:
            commands = [f"RETR {n}" for n in numbers]
            for index, ok, body in self._pipelined(commands, True):
                yield numbers[index], (body if ok else None), ("" if ok else _text(body))
        except BaseException as exc:
            raise self._fail(exc, "downloading messages (RETR)") from None

    def delete(self, numbers: Sequence[int]) -> list[int]:
        """Mark messages deleted (DELE); the numbers the server accepted. Done only at quit()."""
        accepted = []
        try:
            for index, ok, _body in self._pipelined([f"DELE {n}" for n in numbers], False):
                if ok:
                    accepted.append(numbers[index])
        except BaseException as exc:
            raise self._fail(exc, "marking messages deleted (DELE)") from None
        return accepted

    def quit(self) -> bool:
        """End the session; True when the server confirmed it (and with it, the deletions)."""
        try:
            self._send(["QUIT"])
            ok, _status = self._status()
        except (OSError, EOFError, poplib.error_proto, MailError):
            ok = False
        self.close()
        return ok

    def close(self) -> None:
        """Drop the connection without QUIT: the server forgets any DELE."""
        with contextlib.suppress(OSError, EOFError, poplib.error_proto):
            self.pop.close()


def _text(value: bytes) -> str:
    return safe_line(value.decode("utf-8", "replace")).removeprefix("-ERR").strip()
