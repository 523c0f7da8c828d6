"""A threaded TCP server on 127.0.0.1 that runs a script per connection and records every byte.

A test writes::

    with ScriptedServer(imap_script(capabilities=["IMAP4rev1"])) as srv:
        ...connect to srv.host, srv.port...
    assert CANARY not in srv.captured

``script(conn)`` runs in a server thread, one per connection. ``srv.captured`` holds every byte
received on every connection: the raw bytes as they crossed the wire (plaintext before TLS,
ciphertext after) and, once TLS is up, the decrypted bytes too, so a secret can be searched for in
all of it. Leaving the ``with`` block stops the server and joins every thread; no sleeps.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType

DEFAULT_TIMEOUT = 5.0
"""Seconds a script waits for the client before giving up (raises TimeoutError)."""
_JOIN_TIMEOUT = 10.0
_RECV_SIZE = 65536

Script = Callable[["Conn"], None]
"""What the server runs for each accepted connection."""
TlsFiles = tuple[Path, Path]
"""``(cert_path, key_path)`` of a server certificate, e.g. a ``certs.CertFiles``."""


class ServerStopped(Exception):
    """The server is shutting down; raised inside a script waiting for the client."""


class _Capture:
    """Thread-safe record of received bytes: everything, and what crossed the wire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._all: list[bytes] = []
        self._wire: list[bytes] = []
        self._decrypted: list[bytes] = []

    def wire(self, data: bytes) -> None:
        with self._lock:
            self._all.append(data)
            self._wire.append(data)

    def decrypted(self, data: bytes) -> None:
        with self._lock:
            self._all.append(data)
            self._decrypted.append(data)

    def everything(self) -> bytes:
        with self._lock:
            return b"".join(self._all)

    def on_wire(self) -> bytes:
        with self._lock:
            return b"".join(self._wire)

    def inside_tls(self) -> bytes:
        with self._lock:
            return b"".join(self._decrypted)


class Conn:
    """One accepted connection as a script sees it: lines in and out, server-side STARTTLS."""

    def __init__(
        self,
        sock: socket.socket,
        capture: _Capture,
        stopping: threading.Event,
        wake: socket.socket,
        timeout: float,
    ) -> None:
        self._sock = sock
        self._capture = capture
        self._stopping = stopping
        self._wake = wake
        self.timeout = timeout
        """Default seconds ``read_line`` and ``start_tls`` wait for the client."""
        self._buffer = bytearray()
        self._tls: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._closed = False
        self._eof = False
        sock.settimeout(timeout)  # bounds sendall; reads wait in select

    @property
    def tls_active(self) -> bool:
        """True once ``start_tls`` has completed."""
        return self._tls is not None

    @property
    def closed(self) -> bool:
        """True after ``close``."""
        return self._closed

    # -- sending --------------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        """Send ``data`` as is (encrypted when TLS is active)."""
        if self._tls is None:
            self._sock.sendall(data)
            return
        self._tls.write(data)
        self._flush()

    def send_line(self, line: str | bytes) -> None:
        """Send one line, adding CRLF unless it already ends with a line break."""
        data = line.encode("utf-8") if isinstance(line, str) else line
        if not data.endswith(b"\n"):
            data += b"\r\n"
        self.send_raw(data)

    def _flush(self) -> None:
        pending = self._outgoing.read()
        if pending:
            self._sock.sendall(pending)

    # -- receiving ------------------------------------------------------------------------------

    def _recv_wire(self, deadline: float | None) -> bytes:
        """Wait for bytes from the socket; b"" at end of stream."""
        if self._eof:
            return b""
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimeoutError("the client sent nothing in time")
        readable, _, _ = select.select([self._sock, self._wake], [], [], remaining)
        if self._stopping.is_set():
            raise ServerStopped
        if not readable:
            raise TimeoutError("the client sent nothing in time")
        try:
            data = self._sock.recv(_RECV_SIZE)
        except (ConnectionResetError, ConnectionAbortedError):
            data = b""
        if data:
            self._capture.wire(data)
        else:
            self._eof = True
        return data

    def _fill(self, deadline: float | None) -> bool:
        """Add at least one byte of (decrypted) data to the buffer; False at end of stream."""
        while True:
            if self._tls is not None:
                try:
                    plain = self._tls.read(_RECV_SIZE)
                except ssl.SSLWantReadError:
                    pass
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    return False
                else:
                    self._flush()  # a read may produce TLS records to send (key updates)
                    if not plain:
                        return False
                    self._capture.decrypted(plain)
                    self._buffer += plain
                    return True
            data = self._recv_wire(deadline)
            if not data:
                return False
            if self._tls is None:
                self._buffer += data
                return True
            self._incoming.write(data)

    def _deadline(self, timeout: float | None) -> float:
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def read_line(self, timeout: float | None = None) -> bytes:
        """The next line with its line ending; b"" once the client has closed.

        Raises TimeoutError after ``timeout`` seconds (default ``self.timeout``) and
        ServerStopped when the server shuts down.
        """
        deadline = self._deadline(timeout)
        while b"\n" not in self._buffer:
            if not self._fill(deadline):
                rest = bytes(self._buffer)
                self._buffer.clear()
                return rest
        end = self._buffer.index(b"\n") + 1
        line = bytes(self._buffer[:end])
        del self._buffer[:end]
        return line

    def read_exact(self, size: int, timeout: float | None = None) -> bytes:
        """Exactly ``size`` bytes (fewer only if the client closes first), e.g. an IMAP literal."""
        deadline = self._deadline(timeout)
        while len(self._buffer) < size:
            if not self._fill(deadline):
                break
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def client_closed(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the client; True once it has hung up.

        What it sends meanwhile is recorded and kept for ``read_line``.
        """
        try:
            return not self._fill(time.monotonic() + timeout)
        except TimeoutError:
            return False

    def wait_closed(self, timeout: float | None = None) -> None:
        """Say nothing; read and record whatever comes until the client closes.

        With ``timeout`` None this waits until the client closes or the server stops.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._tls is not None:
                if not self._fill(deadline):
                    return
                self._buffer.clear()
            elif not self._recv_wire(deadline):
                return

    # -- TLS and closing ------------------------------------------------------------------------

    def start_tls(
        self, certfile: str | Path, keyfile: str | Path, timeout: float | None = None
    ) -> None:
        """Run the server side of a TLS handshake with this certificate.

        Raises ssl.SSLError when the client rejects the certificate (it sends an alert),
        ConnectionResetError when the client hangs up during the handshake.
        """
        if self._tls is not None:
            raise RuntimeError("TLS is already active on this connection")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        if self._buffer:  # bytes the client sent right after the STARTTLS command
            self._incoming.write(bytes(self._buffer))
            self._buffer.clear()
        tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        deadline = self._deadline(timeout)
        try:
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    self._flush()
                    data = self._recv_wire(deadline)
                    if not data:
                        raise ConnectionResetError(
                            "the client closed the connection during the TLS handshake"
                        ) from None
                    self._incoming.write(data)
        finally:
            with contextlib.suppress(OSError):
                self._flush()  # the handshake messages, or the alert that ended it
        self._tls = tls

    def close(self) -> None:
        """Close the connection (with a TLS close_notify when TLS is active); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._tls is not None:
            with contextlib.suppress(ssl.SSLError, OSError):
                self._tls.unwrap()
            with contextlib.suppress(OSError):
                self._flush()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


class ScriptedServer:
    """Listens on ``host`` (port 0: the system picks one) and runs ``script`` per connection.

    Use as a context manager. ``errors`` lists the exceptions scripts raised (other than
    ServerStopped), e.g. the ssl.SSLError of a client that rejected the certificate.
    """

    def __init__(
        self, script: Script, *, host: str = "127.0.0.1", timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.host = host
        self.port = 0
        self._script = script
        self._timeout = timeout
        self._capture = _Capture()
        self._stopping = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        self._connections = 0

    @property
    def captured(self) -> bytes:
        """Every byte received on every connection: raw from the wire plus TLS-decrypted."""
        return self._capture.everything()

    @property
    def wire(self) -> bytes:
        """Only the bytes as they crossed the wire (ciphertext after TLS started)."""
        return self._capture.on_wire()

    @property
    def decrypted(self) -> bytes:
        """Only the bytes received inside TLS, decrypted."""
        return self._capture.inside_tls()

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by scripts so far."""
        with self._lock:
            return list(self._errors)

    @property
    def connections(self) -> int:
        """How many connections have been accepted."""
        with self._lock:
            return self._connections

    def start(self) -> None:
        """Bind, listen and start accepting."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((self.host, 0))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"fakeserver-{self.port}", daemon=True
        )
        self._accept_thread.start()

    def stop(self) -> None:
        """Wake every waiting script, close the listener and join all threads."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")  # never read: stays readable for every select
        threads = [self._accept_thread] if self._accept_thread else []
        with self._lock:
            threads += self._threads
        alive = []
        for thread in threads:
            thread.join(_JOIN_TIMEOUT)
            if thread.is_alive():
                alive.append(thread.name)
        if self._listener is not None:
            self._listener.close()
        self._wake_reader.close()
        self._wake_writer.close()
        if alive:
            raise RuntimeError(f"fake server threads did not stop: {', '.join(alive)}")

    def __enter__(self) -> ScriptedServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            readable, _, _ = select.select([self._listener, self._wake_reader], [], [])
            if self._stopping.is_set():
                return
            if self._listener not in readable:
                continue
            try:
                sock, _ = self._listener.accept()
            except OSError:
                continue
            thread = threading.Thread(
                target=self._serve, args=(sock,), name=f"fakeserver-{self.port}-conn", daemon=True
            )
            with self._lock:
                self._connections += 1
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        conn = Conn(sock, self._capture, self._stopping, self._wake_reader, self._timeout)
        try:
            self._script(conn)
        except ServerStopped:
            pass
        except Exception as exc:  # recorded for the test to inspect
            with self._lock:
                self._errors.append(exc)
        finally:
            conn.close()


@contextlib.contextmanager
def closed_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port on ``host`` that refuses connections: bound (nobody else takes it), not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()


# -- ready-made scripts -------------------------------------------------------------------------

Reply = str | Callable[[str], str]
"""A fixed reply line, or a function of what the client sent (the credentials) to the reply."""


def silent(conn: Conn) -> None:
    """Accept and never say anything (for timeouts); return when the client gives up."""
    conn.wait_closed()


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace").rstrip("\r\n")


def _reply(reply: Reply, sent: str) -> str:
    return reply if isinstance(reply, str) else reply(sent)


def _check_cert(cert: TlsFiles | None, implicit_tls: bool, offers_tls: bool) -> None:
    if cert is None and (implicit_tls or offers_tls):
        raise ValueError("a script that does TLS needs cert=(cert_path, key_path)")


def _without(items: Sequence[str], *names: str) -> list[str]:
    upper = {name.upper() for name in names}
    return [item for item in items if item.split(" ", 1)[0].upper() not in upper]


_IMAP_LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r?\n$")


def imap_script(
    *,
    cert: TlsFiles | None = None,
    implicit_tls: bool = False,
    greeting: str = "* OK fake IMAP server ready",
    capabilities: Sequence[str] = ("IMAP4rev1", "STARTTLS", "AUTH=PLAIN"),
    tls_capabilities: Sequence[str] | None = None,
    starttls_reply: str = "OK Begin TLS negotiation now",
    login_reply: Reply = "OK LOGIN completed",
) -> Script:
    """A minimal IMAP responder: CAPABILITY, STARTTLS, LOGIN, NOOP, LOGOUT; BAD to the rest.

    ``greeting`` is the whole first line (``* PREAUTH ...`` for a pre-authenticated session).
    After STARTTLS the capabilities are ``tls_capabilities`` (default: ``capabilities`` without
    STARTTLS and LOGINDISABLED). A ``starttls_reply`` not starting with OK refuses STARTTLS.
    ``login_reply`` is the tagged answer to LOGIN (without the tag), e.g.
    ``NO [AUTHENTICATIONFAILED] Invalid``; as a function it gets the LOGIN arguments.
    """
    starttls_ok = starttls_reply.upper().startswith("OK")
    _check_cert(cert, implicit_tls, starttls_ok and "STARTTLS" in capabilities)
    after_tls = list(
        _without(capabilities, "STARTTLS", "LOGINDISABLED")
        if tls_capabilities is None
        else tls_capabilities
    )

    def script(conn: Conn) -> None:
        if implicit_tls:
            assert cert is not None
            conn.start_tls(*cert)
        caps = after_tls if implicit_tls else list(capabilities)
        conn.send_line(greeting)
        while line := conn.read_line():
            while match := _IMAP_LITERAL.search(line):  # e.g. LOGIN with a literal password
                if not match.group(2):
                    conn.send_line("+ Ready for literal data")
                line = line[: match.start()] + conn.read_exact(int(match.group(1)))
                line += conn.read_line()
            tag, _, rest = _text(line).partition(" ")
            command, _, arguments = rest.partition(" ")
            command = command.upper()
            if command == "CAPABILITY":
                conn.send_line("* CAPABILITY " + " ".join(caps))
                conn.send_line(f"{tag} OK CAPABILITY completed")
            elif command == "NOOP":
                conn.send_line(f"{tag} OK NOOP completed")
            elif command == "STARTTLS" and not conn.tls_active:
                conn.send_line(f"{tag} {starttls_reply}")
                if starttls_ok:
                    assert cert is not None
                    conn.start_tls(*cert)
                    caps = after_tls
            elif command == "LOGIN":
                conn.send_line(f"{tag} {_reply(login_reply, arguments)}")
            elif command == "LOGOUT":
                conn.send_line("* BYE fake IMAP server logging out")
                conn.send_line(f"{tag} OK LOGOUT completed")
                return
            else:
                conn.send_line(f"{tag} BAD command unknown or not allowed here")

    return script


def pop3_script(
    *,
    cert: TlsFiles | None = None,
    implicit_tls: bool = False,
    greeting: str = "+OK fake POP3 server ready",
    capabilities: Sequence[str] | None = ("USER", "STLS", "UIDL", "TOP"),
    tls_capabilities: Sequence[str] | None = None,
    stls_reply: str = "+OK Begin TLS negotiation",
    pass_reply: Reply = "+OK logged in",  # noqa: S107 - a server reply, not a password
) -> Script:
    """A minimal POP3 responder: CAPA, STLS, USER, PASS, STAT, NOOP, QUIT; -ERR to the rest.

    ``capabilities`` None answers CAPA with -ERR (an RFC 1939-only server). After STLS the
    capabilities are ``tls_capabilities`` (default: without STLS). A ``stls_reply`` starting
    with -ERR refuses STLS. ``pass_reply`` answers PASS; as a function it gets the password.
    """
    stls_ok = stls_reply.startswith("+OK")
    _check_cert(cert, implicit_tls, stls_ok and capabilities is not None and "STLS" in capabilities)
    after_tls: list[str] | None
    if tls_capabilities is not None:
        after_tls = list(tls_capabilities)
    else:
        after_tls = None if capabilities is None else _without(capabilities, "STLS")

    def script(conn: Conn) -> None:
        if implicit_tls:
            assert cert is not None
            conn.start_tls(*cert)
        caps = after_tls if implicit_tls else capabilities
        conn.send_line(greeting)
        while line := conn.read_line():
            command, _, argument = _text(line).partition(" ")
            command = command.upper()
            if command == "CAPA":
                if caps is None:
                    conn.send_line("-ERR unknown command")
                else:
                    conn.send_line("+OK Capability list follows")
                    for cap in caps:
                        conn.send_line(cap)
                    conn.send_line(".")
            elif command == "STLS" and not conn.tls_active:
                conn.send_line(stls_reply)
                if stls_ok:
                    assert cert is not None
                    conn.start_tls(*cert)
                    caps = after_tls
            elif command == "USER":
                conn.send_line("+OK send PASS")
            elif command == "PASS":
                conn.send_line(_reply(pass_reply, argument))
            elif command == "STAT":
                conn.send_line("+OK 0 0")
            elif command == "NOOP":
                conn.send_line("+OK")
            elif command == "QUIT":
                conn.send_line("+OK bye")
                return
            else:
                conn.send_line("-ERR unknown command")

    return script


def smtp_script(
    *,
    cert: TlsFiles | None = None,
    implicit_tls: bool = False,
    greeting: str = "220 fake.example ESMTP ready",
    extensions: Sequence[str] = ("PIPELINING", "STARTTLS", "AUTH PLAIN LOGIN"),
    tls_extensions: Sequence[str] | None = None,
    starttls_reply: str = "220 2.0.0 Ready to start TLS",
    auth_reply: Reply = "235 2.7.0 Authentication successful",
) -> Script:
    """A minimal SMTP responder: EHLO, HELO, STARTTLS, AUTH PLAIN|LOGIN, NOOP, RSET, QUIT.

    ``extensions`` are the EHLO keywords; after STARTTLS they are ``tls_extensions`` (default:
    without STARTTLS). A ``starttls_reply`` not starting with 220 refuses STARTTLS (e.g.
    ``454 4.7.0 TLS not available``). ``auth_reply`` ends every AUTH exchange; as a function it
    gets the base64 credentials the client sent (for LOGIN, user and password joined by a space).
    """
    starttls_ok = starttls_reply.startswith("220")
    _check_cert(
        cert, implicit_tls, starttls_ok and any(e.upper() == "STARTTLS" for e in extensions)
    )
    after_tls = list(_without(extensions, "STARTTLS") if tls_extensions is None else tls_extensions)

    def ehlo(conn: Conn, exts: Sequence[str]) -> None:
        lines = ["fake.example greets you", *exts]
        for line in lines[:-1]:
            conn.send_line(f"250-{line}")
        conn.send_line(f"250 {lines[-1]}")

    def auth(conn: Conn, arguments: list[str]) -> None:
        mechanism = arguments[0].upper() if arguments else ""
        sent = arguments[1:]
        if mechanism == "PLAIN":
            if not sent:
                conn.send_line("334 ")
                sent.append(_text(conn.read_line()))
        elif mechanism == "LOGIN":
            if not sent:
                conn.send_line("334 " + base64.b64encode(b"Username:").decode())
                sent.append(_text(conn.read_line()))
            conn.send_line("334 " + base64.b64encode(b"Password:").decode())
            sent.append(_text(conn.read_line()))
        else:
            conn.send_line("504 5.5.4 Unrecognized authentication type")
            return
        conn.send_line(_reply(auth_reply, " ".join(sent)))

    def script(conn: Conn) -> None:
        if implicit_tls:
            assert cert is not None
            conn.start_tls(*cert)
        exts = after_tls if implicit_tls else list(extensions)
        conn.send_line(greeting)
        while line := conn.read_line():
            words = _text(line).split()
            command = words[0].upper() if words else ""
            if command == "EHLO":
                ehlo(conn, exts)
            elif command == "HELO":
                conn.send_line("250 fake.example")
            elif command == "STARTTLS" and not conn.tls_active:
                conn.send_line(starttls_reply)
                if starttls_ok:
                    assert cert is not None
                    conn.start_tls(*cert)
                    exts = after_tls
            elif command == "AUTH":
                auth(conn, words[1:])
            elif command in ("NOOP", "RSET"):
                conn.send_line("250 2.0.0 OK")
            elif command == "QUIT":
                conn.send_line("221 2.0.0 Bye")
                return
            else:
                conn.send_line("502 5.5.2 Command not recognized")

    return script


def _decoded(sent: str) -> str:
    """``sent`` with every base64 word decoded (NULs as spaces), as a chatty server might echo."""
    words = []
    for word in sent.split():
        try:
            words.append(base64.b64decode(word, validate=True).replace(b"\0", b" ").decode())
        except (binascii.Error, ValueError):
            words.append(word)
    return " ".join(words)


def mail_script(
    protocol: str,
    *,
    cert: TlsFiles | None = None,
    implicit_tls: bool = False,
    offer_starttls: bool = True,
    refuse_starttls: bool = False,
    login_ok: bool = True,
    echo_password: bool = False,
    greeting: str | None = None,
) -> Script:
    """The same behaviour in ``protocol`` ("imap", "pop3" or "smtp"), for parametrized tests.

    ``offer_starttls`` lists STARTTLS (STLS); ``refuse_starttls`` answers it with NO/-ERR/454;
    ``login_ok`` False rejects the login, and with ``echo_password`` the rejection quotes what the
    client sent, decoded (a hostile server trying to get a password into an error message).
    """

    def rejection(fixed: str) -> Reply:
        return (lambda sent: f"{fixed} (you sent: {_decoded(sent)})") if echo_password else fixed

    protocol = protocol.lower()
    if protocol == "imap":
        return imap_script(
            cert=cert,
            implicit_tls=implicit_tls,
            greeting=greeting or "* OK fake IMAP server ready",
            capabilities=["IMAP4rev1", "AUTH=PLAIN", *(["STARTTLS"] if offer_starttls else [])],
            starttls_reply="NO STARTTLS unavailable" if refuse_starttls else "OK Begin TLS now",
            login_reply="OK LOGIN completed"
            if login_ok
            else rejection("NO [AUTHENTICATIONFAILED] Invalid credentials"),
        )
    if protocol == "pop3":
        return pop3_script(
            cert=cert,
            implicit_tls=implicit_tls,
            greeting=greeting or "+OK fake POP3 server ready",
            capabilities=["USER", "UIDL", *(["STLS"] if offer_starttls else [])],
            stls_reply="-ERR STLS unavailable" if refuse_starttls else "+OK Begin TLS",
            pass_reply="+OK logged in"
            if login_ok
            else rejection("-ERR [AUTH] Invalid user name or password"),
        )
    if protocol == "smtp":
        return smtp_script(
            cert=cert,
            implicit_tls=implicit_tls,
            greeting=greeting or "220 fake.example ESMTP ready",
            extensions=[
                "PIPELINING",
                "AUTH PLAIN LOGIN",
                *(["STARTTLS"] if offer_starttls else []),
            ],
            starttls_reply="454 4.7.0 TLS not available" if refuse_starttls else "220 2.0.0 Ready",
            auth_reply="235 2.7.0 Authentication successful"
            if login_ok
            else rejection("535 5.7.8 Authentication credentials invalid"),
        )
    raise ValueError(f"unknown protocol {protocol!r}")


# -- finding a secret in captured bytes ---------------------------------------------------------


def base64_forms(secret: bytes) -> list[bytes]:
    """Substrings every base64 encoding of a text containing ``secret`` must contain.

    One per alignment (the secret starting at offset 0, 1 or 2 modulo 3 of the encoded text):
    only the 4-character groups made entirely of the secret's bytes. Needs a secret of at
    least 8 bytes to be meaningful.
    """
    if len(secret) < 8:
        raise ValueError("use a secret of at least 8 bytes")
    forms = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret)
        first = 1 if shift else 0
        last = (shift + len(secret)) // 3
        forms.append(encoded[4 * first : 4 * last])
    return forms


def secret_in(data: bytes, secret: str) -> list[str]:
    """How ``secret`` shows in ``data``: "plain" and/or "base64"; empty when it does not."""
    needle = secret.encode("utf-8")
    found = []
    if needle in data:
        found.append("plain")
    if any(form in data for form in base64_forms(needle)):
        found.append("base64")
    return found
