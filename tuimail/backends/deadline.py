"""Sockets whose timeout bounds a whole line of a reply, not just the wait for each packet.

A socket timeout only fires when nothing at all arrives for that long: a server that sends one
byte a second keeps a read going for ever. These sockets also end a read when a line has been
coming in for longer than the timeout without being finished (or without at least
``PROGRESS_BYTES`` arriving since it began), so every command of imaplib, poplib and smtplib
ends within the endpoint's timeout of the server's last complete line.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any

PROGRESS_BYTES = 64 * 1024
"""Bytes that count as progress even without a line break (a long literal on a slow link)."""


class ReplyTooSlow(TimeoutError):
    """A reply kept coming too slowly: no complete line within the timeout."""


class _Pace:
    """When the line now arriving began, and how much of it has come since."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.received = 0

    def wait_for(self, limit: float | None) -> float | None:
        """The socket timeout for the next read; ReplyTooSlow when the line is overdue."""
        if limit is None or self.started is None:
            return limit
        left = self.started + limit - time.monotonic()
        if left <= 0:
            raise ReplyTooSlow(f"no complete line within {limit:g} s")
        return min(limit, left)

    @contextlib.contextmanager
    def reading(self, limit: float | None) -> Iterator[None]:
        """A read timing out in the middle of a line is a reply too slow, not silence."""
        try:
            yield
        except TimeoutError:
            if self.started is None or limit is None:
                raise
            raise ReplyTooSlow(f"no complete line within {limit:g} s") from None

    def saw(self, data: bytes) -> None:
        """Account for bytes just read."""
        if not data:
            return
        last_break = data.rfind(b"\n")
        if last_break == len(data) - 1:  # ends with a complete line: nothing is pending
            self.started, self.received = None, 0
        elif last_break >= 0 or self.started is None:  # a new line has begun
            self.started, self.received = time.monotonic(), len(data) - last_break - 1
        else:
            self.received += len(data)
            if self.received >= PROGRESS_BYTES:  # a long line coming in fast is progress
                self.started, self.received = time.monotonic(), 0

    def reset(self) -> None:
        """A command went out: what was pending no longer counts against the reply to it."""
        self.started, self.received = None, 0


class _Paced:
    """The reads and writes of a paced socket, mixed into the socket and SSL socket classes."""

    def _paced(self) -> _Pace:
        pace: _Pace | None = self.__dict__.get("_pace")
        if pace is None:
            pace = self.__dict__["_pace"] = _Pace()
            self.__dict__["_limit"] = super().gettimeout()  # type: ignore[misc]
        return pace

    def settimeout(self, value: float | None) -> None:
        """Set the time a line of a reply may take (and the socket timeout)."""
        self._paced()
        self.__dict__["_limit"] = value
        super().settimeout(value)  # type: ignore[misc]

    def gettimeout(self) -> float | None:
        """The time a line of a reply may take."""
        self._paced()
        limit: float | None = self.__dict__["_limit"]
        return limit

    def _before_read(self) -> _Pace:
        pace = self._paced()
        current = super().gettimeout()  # type: ignore[misc]
        if current == 0.0:  # non-blocking, as the caller chose (imapclient's IDLE check)
            return pace
        wait = pace.wait_for(self.__dict__["_limit"])
        if current != wait:
            super().settimeout(wait)  # type: ignore[misc]
        return pace

    def recv(self, *args: Any) -> bytes:
        """Read like ``socket.recv``, within the time left for the line."""
        pace = self._before_read()
        with pace.reading(self.__dict__["_limit"]):
            data: bytes = super().recv(*args)  # type: ignore[misc]
        pace.saw(data)
        return data

    def recv_into(self, buffer: Any, *args: Any) -> int:
        """Read like ``socket.recv_into``, within the time left for the line."""
        pace = self._before_read()
        with pace.reading(self.__dict__["_limit"]):
            count: int = super().recv_into(buffer, *args)  # type: ignore[misc]
        with memoryview(buffer) as view:
            pace.saw(view[:count].tobytes())
        return count

    def send(self, *args: Any) -> int:
        """Send like ``socket.send``; a new command starts a new wait for its reply."""
        self._paced().reset()
        sent: int = super().send(*args)  # type: ignore[misc]
        return sent

    def sendall(self, *args: Any) -> None:
        """Send like ``socket.sendall``; a new command starts a new wait for its reply."""
        self._paced().reset()
        super().sendall(*args)  # type: ignore[misc]


class PacedSocket(_Paced, socket.socket):
    """A TCP socket whose timeout also bounds each line of a reply."""


class PacedSSLSocket(_Paced, ssl.SSLSocket):
    """An SSL socket whose timeout also bounds each line of a reply (``sslsocket_class``)."""


def create_connection(address: tuple[str, int], timeout: float | None) -> socket.socket:
    """``socket.create_connection`` that returns a PacedSocket."""
    plain = socket.create_connection(address, timeout)
    try:
        paced = PacedSocket(plain.family, plain.type, plain.proto, fileno=plain.fileno())
    except BaseException:
        plain.close()
        raise
    plain.detach()
    paced.settimeout(timeout)
    return paced
