"""A scripted POP3 maildrop for what a real server will not do: no UIDL, repeated or changing
UIDLs, no TOP, a connection dropped before QUIT answers.

It keeps a list of messages across connections like a real server: DELE marks, QUIT removes the
marked ones (RFC 1939), a dropped connection forgets the marks.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from fakeserver.server import Conn, ScriptedServer

PASSWORD = "canary-pop3-Secret!"


@dataclass
class Maildrop:
    """The server's messages and how it misbehaves."""

    messages: list[bytes] = field(default_factory=list)
    uidl: bool = True
    top: bool = True
    pipelining: bool = True
    uidl_of: Callable[[int, int, bytes], bytes] | None = None
    """(session number, message index, message) -> the UIDL to list; default: stable ids."""
    user_command: bool = True
    """Offer USER/PASS."""
    sasl_plain: bool = False
    """Offer SASL PLAIN (AUTH PLAIN with an initial response)."""
    apop_stamp: bytes | None = None
    """Put this timestamp in the greeting and accept APOP."""
    drop_at_quit: bool = False
    """Close the connection at QUIT without answering or removing anything."""
    quit_removes_then_drops: bool = False
    """Remove the marked messages at QUIT, then close without answering +OK."""
    sessions: int = 0
    commands: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, raw: bytes) -> None:
        with self.lock:
            self.messages.append(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))

    def script(self, conn: Conn) -> None:
        with self.lock:
            self.sessions += 1
            session = self.sessions
        stamp = b" " + self.apop_stamp if self.apop_stamp else b""
        conn.send_line(b"+OK scripted POP3 ready" + stamp)
        marked: set[int] = set()
        authed = False
        while True:
            line = conn.read_line()
            if not line:
                return
            words = line.decode("ascii", "replace").strip().split(" ")
            verb = words[0].upper()
            self.commands.append(verb)
            with self.lock:
                current = list(self.messages)
            if verb == "CAPA":
                caps = ["USER"] if self.user_command else []
                caps += ["SASL PLAIN"] if self.sasl_plain else []
                caps += (["UIDL"] if self.uidl else []) + (["TOP"] if self.top else [])
                caps += ["PIPELINING"] if self.pipelining else []
                conn.send_raw(("+OK\r\n" + "".join(c + "\r\n" for c in caps) + ".\r\n").encode())
            elif verb == "USER" and self.user_command:
                conn.send_line(b"+OK")
            elif verb == "AUTH" and self.sasl_plain and len(words) == 3:
                authed = base64.b64decode(words[2]).split(b"\0")[-1] == PASSWORD.encode()
                conn.send_line(b"+OK logged in" if authed else b"-ERR [AUTH] wrong password")
            elif verb == "APOP" and self.apop_stamp and len(words) == 3:
                digest = hashlib.md5(self.apop_stamp + PASSWORD.encode()).hexdigest()  # noqa: S324
                authed = words[2] == digest
                conn.send_line(b"+OK logged in" if authed else b"-ERR [AUTH] wrong password")
            elif verb == "PASS":
                authed = " ".join(words[1:]) == PASSWORD
                conn.send_line(b"+OK logged in" if authed else b"-ERR [AUTH] wrong password")
            elif not authed:
                conn.send_line(b"-ERR log in first")
            elif verb == "LIST":
                body = b"".join(b"%d %d\r\n" % (i + 1, len(m)) for i, m in enumerate(current))
                conn.send_raw(b"+OK\r\n" + body + b".\r\n")
            elif verb == "UIDL" and self.uidl:
                ids = self._ids(session, current)
                body = b"".join(b"%d %s\r\n" % (i + 1, u) for i, u in enumerate(ids))
                conn.send_raw(b"+OK\r\n" + body + b".\r\n")
            elif verb in ("RETR", "TOP") and (verb == "RETR" or self.top):
                number = int(words[1])
                raw = current[number - 1]
                if verb == "TOP":
                    raw = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
                stuffed = b"\r\n".join(
                    b"." + x if x.startswith(b".") else x for x in raw.split(b"\r\n")
                )
                conn.send_raw(b"+OK\r\n" + stuffed.rstrip(b"\r\n") + b"\r\n.\r\n")
            elif verb == "DELE":
                marked.add(int(words[1]) - 1)
                conn.send_line(b"+OK marked")
            elif verb == "QUIT":
                if self.drop_at_quit:
                    conn.close()
                    return
                with self.lock:
                    self.messages = [m for i, m in enumerate(current) if i not in marked]
                if self.quit_removes_then_drops:
                    conn.close()
                    return
                conn.send_line(b"+OK bye")
                return
            else:
                conn.send_line(b"-ERR unknown command")

    def _ids(self, session: int, current: list[bytes]) -> list[bytes]:
        if self.uidl_of is None:
            return [b"id-%s" % _digest(m) for m in current]
        return [self.uidl_of(session, i, m) for i, m in enumerate(current)]


def _digest(raw: bytes) -> bytes:
    return hashlib.sha256(raw).hexdigest()[:16].encode()


def serve(drop: Maildrop) -> ScriptedServer:
    """A running scripted server for the maildrop (use as a context manager)."""
    return ScriptedServer(drop.script, timeout=30)
