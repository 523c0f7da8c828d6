"""Bulk commands read straight off imaplib's connection, against a scripted IMAP server."""

from __future__ import annotations

import contextlib
import imaplib
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from fakeserver.server import Conn, ScriptedServer
from hypothesis import HealthCheck, given, settings

from tuimail.backends.imap import bulk, wire
from tuimail.backends.imap.session import ImapSession
from tuimail.model.account import Endpoint, Protocol, Security
from tuimail.model.errors import ConnectError, ProtocolError
from tuimail.model.message import Address, Envelope, Flag
from unit.test_imap_wire import ACCOUNT, FOLDER, VALIDITY, Case, Lit, assemble, fetch_replies

TIMEOUT = 5.0
COMMAND = b"UID FETCH 1:* (" + wire.ENVELOPE_ITEMS.encode() + b")"

Responder = Callable[[Conn, bytes, bytes], bool]
"""Answers one command (tag, command without tag); False ends the connection."""


@pytest.fixture(autouse=True)
def _no_server_thread_left() -> Iterator[None]:
    """Every fake server a test starts is gone, threads and all, when the test ends."""
    yield
    left = [t.name for t in threading.enumerate() if t.name.startswith("fakeserver")]
    assert left == []


def imap_server(
    respond: Responder, *, capabilities: bytes = b"IMAP4rev1"
) -> Callable[[Conn], None]:
    """A script that greets, answers CAPABILITY, LOGIN, NOOP and LOGOUT, and hands the rest on."""

    def script(conn: Conn) -> None:
        conn.send_line(b"* OK fake IMAP server ready")
        while line := conn.read_line():
            tag, _, command = line.rstrip(b"\r\n").partition(b" ")
            verb = command.split(b" ", 1)[0].upper()
            if verb == b"CAPABILITY":
                conn.send_line(b"* CAPABILITY " + capabilities)
                conn.send_line(tag + b" OK CAPABILITY completed")
            elif verb == b"LOGIN":
                conn.send_line(tag + b" OK LOGIN completed")
            elif verb == b"NOOP":
                conn.send_line(tag + b" OK NOOP completed")
            elif verb == b"LOGOUT":
                conn.send_line(b"* BYE logging out")
                conn.send_line(tag + b" OK LOGOUT completed")
                return
            elif not respond(conn, tag, command):
                return

    return script


def replying(*chunks: bytes, end: bool = True) -> Responder:
    """A responder that sends ``chunks`` (``{tag}`` replaced) to the first command it sees.

    With ``end`` False the connection closes right after the chunks.
    """

    def respond(conn: Conn, tag: bytes, command: bytes) -> bool:
        for chunk in chunks:
            conn.send_raw(chunk.replace(b"{tag}", tag))
        return end

    return respond


@contextlib.contextmanager
def connected(respond: Responder) -> Iterator[tuple[ScriptedServer, imaplib.IMAP4]]:
    """A plain imaplib connection to a scripted server (the object imapclient keeps as _imap)."""
    with ScriptedServer(imap_server(respond), timeout=TIMEOUT) as srv:
        imap = imaplib.IMAP4(srv.host, srv.port, timeout=TIMEOUT)
        try:
            yield srv, imap
        finally:
            with contextlib.suppress(OSError):
                imap.shutdown()


@dataclass
class Sink:
    """Collects what ``bulk.run`` hands on."""

    messages: list[tuple[bytes, list[bytes]]] = field(default_factory=list)

    def __call__(self, line: bytes, literals: list[bytes]) -> None:
        self.messages.append((line, list(literals)))


def still_works(imap: imaplib.IMAP4) -> None:
    """The connection answers a normal imaplib command: the tags are still in step."""
    status, data = imap.noop()
    assert status == "OK"
    assert data == [b"NOOP completed"]


def is_shut_down(imap: imaplib.IMAP4) -> None:
    """The connection was dropped on purpose: any further command fails at once."""
    assert imap.sock.fileno() == -1
    with pytest.raises((imaplib.IMAP4.abort, OSError, ValueError)):
        imap.noop()


# -- a normal reply -------------------------------------------------------------------------------

ENVELOPE_1 = (
    b'("Fri, 29 Nov 2024 16:24:34 +0000" "Hello" (("Ann" NIL "ann" "example.org")) '
    b'(("Ann" NIL "ann" "example.org")) (("Ann" NIL "ann" "example.org")) '
    b'((NIL NIL "bob" "example.org")) NIL NIL NIL "<m1@example.org>")'
)
STRUCTURE = b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 1 NIL NIL NIL NIL)'
REFERENCES = b"References: <r1@x> <r2@x>\r\n\r\n"
SUBJECT_8BIT = "Grüße aus Köln {5}\r\n".encode()


def test_multi_message_reply_with_literals() -> None:
    reply = (
        b'* 1 FETCH (UID 11 FLAGS (\\Seen) INTERNALDATE "29-Nov-2024 16:24:35 +0000" '
        b"RFC822.SIZE 100 ENVELOPE "
        + ENVELOPE_1
        + b" BODYSTRUCTURE "
        + STRUCTURE
        + b" BODY[HEADER.FIELDS (REFERENCES)] {%d}\r\n" % len(REFERENCES)
        + REFERENCES
        + b")\r\n"
        + b"* 4 EXISTS\r\n"
        + b"* OK [ALERT] Maintenance at noon\r\n"
        + b"X99 OK a stray line from nowhere\r\n"
        # the subject as a literal that looks like a literal announcement itself
        + b'* 2 FETCH (UID 12 FLAGS () INTERNALDATE " 1-Dec-2024 08:00:00 +0100" '
        b"RFC822.SIZE 200 ENVELOPE (NIL {%d}\r\n"
        % len(SUBJECT_8BIT)
        + SUBJECT_8BIT
        + b' NIL ((NIL NIL "cy" "example.net")) NIL NIL NIL NIL NIL NIL) BODYSTRUCTURE '
        + STRUCTURE
        + b" BODY[HEADER.FIELDS (REFERENCES)] {2}\r\n\r\n MODSEQ (77))\r\n"
        + b"* 3 FETCH (FLAGS (\\Deleted))\r\n"
        + b"{tag} OK Fetch completed (0.001 + 0.000 secs).\r\n"
    )
    sink = Sink()
    with connected(replying(reply)) as (srv, imap):
        others = bulk.run(imap, COMMAND, sink)
        still_works(imap)
    assert srv.errors == []
    assert others == [
        b"4 EXISTS",
        b"OK [ALERT] Maintenance at noon",
        b"Fetch completed (0.001 + 0.000 secs).",
    ]
    assert [line[:10] for line, _ in sink.messages] == [b"1 (UID 11 ", b"2 (UID 12 ", b"3 (FLAGS ("]
    assert sink.messages[0][1] == [REFERENCES]
    assert sink.messages[1][1] == [SUBJECT_8BIT, b"\r\n"]
    assert b"ENVELOPE (NIL {#0} NIL" in sink.messages[1][0]
    assert sink.messages[1][0].endswith(b"BODY[HEADER.FIELDS (REFERENCES)] {#1} MODSEQ (77))")
    envelopes = [wire.envelope_from(line, lits, "a", "INBOX", 9) for line, lits in sink.messages]
    first, second, third = envelopes
    assert first is not None
    assert second is not None
    assert third is None  # no UID, no envelope
    assert first.subject == "Hello"
    assert first.references == ("<r1@x>", "<r2@x>")
    assert first.flags == frozenset({Flag.SEEN})
    assert second.subject == "Grüße aus Köln {5}"
    assert second.sender == (Address("", "cy@example.net"),)
    assert second.modseq == 77


def on_the_wire(case: Case) -> bytes:
    """A generated reply as the bytes a server sends: ``* n FETCH (...)`` with real literals."""
    first, *rest = case.pieces
    assert isinstance(first, bytes)
    out = bytearray(b"* " + first + b"FETCH ")
    for piece in rest:
        if isinstance(piece, Lit):
            out += b"{%d}\r\n" % len(piece.data) + piece.data
        else:
            out += piece
    return bytes(out) + b"\r\n"


def test_generated_replies_come_through_as_sent() -> None:
    """Any reply the wire tests generate arrives line and literals intact, and reads the same."""
    replies: queue.Queue[bytes] = queue.Queue()

    def respond(conn: Conn, tag: bytes, command: bytes) -> bool:
        conn.send_raw(replies.get_nowait() + tag + b" OK Fetch completed\r\n")
        return True

    with connected(respond) as (_, imap):

        @settings(
            max_examples=60,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(fetch_replies())
        def check(case: Case) -> None:
            replies.put(on_the_wire(case))
            sink = Sink()
            assert bulk.run(imap, COMMAND, sink) == [b"Fetch completed"]
            assert sink.messages == [assemble(case.pieces)]
            line, literals = sink.messages[0]
            envelope = wire.envelope_from(line, literals, ACCOUNT, FOLDER, VALIDITY)
            assert envelope == case.expected

        check()
        still_works(imap)


def test_search_and_other_untagged_lines_are_returned() -> None:
    reply = b"* SEARCH 3 5 8\r\n* 2 EXPUNGE\r\n{tag} OK [COPYUID 5 1:2 7:8] Done\r\n"
    with connected(replying(reply)) as (_, imap):
        assert bulk.run(imap, b"UID SEARCH ALL") == [
            b"SEARCH 3 5 8",
            b"2 EXPUNGE",
            b"[COPYUID 5 1:2 7:8] Done",
        ]
        still_works(imap)


@pytest.mark.parametrize(
    ("ending", "error"),
    [(b"{tag} OK\r\n", None), (b"{tag} ok done\r\n", None), (b"{tag} NO\r\n", "refused UID")],
)
def test_tagged_reply_without_text(ending: bytes, error: str | None) -> None:
    """IMAP4rev2 (RFC 9051) lets the text after OK or NO be empty."""
    with connected(replying(b"* SEARCH 1\r\n" + ending)) as (_, imap):
        if error is None:
            assert bulk.run(imap, b"UID SEARCH ALL")[0] == b"SEARCH 1"
        else:
            with pytest.raises(ProtocolError, match=error):
                bulk.run(imap, b"UID SEARCH ALL")
        still_works(imap)


def test_lines_and_literals_at_the_limits_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "_MAX_LINE", 200)
    monkeypatch.setattr(bulk, "_MAX_LITERAL", 100)
    head = b"* 1 FETCH (UID 1 X "
    line = head + b"a" * (200 - len(head) - 3) + b")\r\n"
    assert len(line) == 200
    literal = b"* 2 FETCH (UID 2 BODY[] {100}\r\n" + b"b" * 100 + b")\r\n"
    sink = Sink()
    with connected(replying(line + literal + b"{tag} OK done\r\n")) as (_, imap):
        bulk.run(imap, b"UID FETCH 1:2 (X)", sink)
        still_works(imap)
    assert [lits for _, lits in sink.messages] == [[], [b"b" * 100]]


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [b"NO", b"BAD"])
def test_refusal_raises_protocol_error_with_safe_server_text(status: bytes) -> None:
    reply = (
        b"* 1 FETCH (UID 1 FLAGS ())\r\n"
        b"{tag} " + status + b" [SERVERBUG] disk \x1b[31mfull\x1b[0m \xe2\x80\xae evil\r\n"
    )
    with connected(replying(reply)) as (_, imap):
        with pytest.raises(ProtocolError) as info:
            bulk.run(imap, COMMAND, Sink())
        still_works(imap)  # the reply was complete: the connection is fine
    message = info.value.message
    assert message.startswith("The server refused UID FETCH: [SERVERBUG] disk ")
    assert "\x1b" not in message
    assert "\u202e" not in message
    assert "\u241b[31mfull" in message  # ESC shown as a visible symbol, inert


def test_bye_raises_connect_error() -> None:
    reply = b"* 1 FETCH (UID 1 FLAGS ())\r\n* BYE [UNAVAILABLE] Server shutting down\r\n"
    sink = Sink()
    with (
        connected(replying(reply, end=False)) as (_, imap),
        pytest.raises(ConnectError, match="Server shutting down"),
    ):
        bulk.run(imap, COMMAND, sink)
    assert len(sink.messages) == 1


def test_continuation_request_mid_command_is_refused() -> None:
    with connected(replying(b"+ go ahead\r\n")) as (_, imap):
        with pytest.raises(ProtocolError, match="more input"):
            bulk.run(imap, COMMAND, Sink())
        is_shut_down(imap)


# -- a connection that ends ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(b"", id="before-anything"),
        pytest.param(b"* 1 FETCH (UID 1 FLAGS ())\r\n", id="between-lines"),
        pytest.param(b"* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 2 FLA", id="mid-line"),
        pytest.param(b"* 1 FETCH (UID 1 BODY[] {100}\r\n" + b"x" * 10, id="mid-literal"),
        pytest.param(b"* 1 FETCH (UID 1 BODY[] {5}\r\nhello", id="after-literal"),
        pytest.param(b"* 1 FETCH (UID 1 BODY[] {5}\r\nhello FLAGS (", id="mid-line-after-literal"),
        pytest.param(b"{tag} OK Fetch compl", id="mid-tagged-line"),
    ],
)
def test_dropped_connection_raises_connect_error(reply: bytes) -> None:
    with (
        connected(replying(reply, end=False)) as (_, imap),
        pytest.raises(ConnectError, match="closed the connection"),
    ):
        bulk.run(imap, COMMAND, Sink())


# -- hostile sizes --------------------------------------------------------------------------------


def wait_for_client(conn: Conn, tag: bytes, command: bytes) -> bool:
    """Say nothing more; return once the client hangs up (or the server stops)."""
    conn.wait_closed(TIMEOUT)
    return False


def then(first: Responder, second: Responder) -> Responder:
    """``first``, then ``second`` for the same command."""

    def respond(conn: Conn, tag: bytes, command: bytes) -> bool:
        return first(conn, tag, command) and second(conn, tag, command)

    return respond


@pytest.mark.parametrize("patched", [True, False])
def test_huge_literal_is_refused_without_reading_it(
    monkeypatch: pytest.MonkeyPatch, patched: bool
) -> None:
    size = 10**15
    if patched:
        monkeypatch.setattr(bulk, "_MAX_LITERAL", 1000)
        size = 1001
    announce = b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % size
    with connected(then(replying(announce + b"short"), wait_for_client)) as (_, imap):
        started = time.monotonic()
        with pytest.raises(ProtocolError, match=f"literal of {size} bytes"):
            bulk.run(imap, COMMAND, Sink())
        assert time.monotonic() - started < TIMEOUT / 2  # it did not wait for the bytes
        is_shut_down(imap)  # the rest of the reply would otherwise be read by the next command


@pytest.mark.parametrize("with_crlf", [True, False])
def test_overlong_line_is_refused(monkeypatch: pytest.MonkeyPatch, with_crlf: bool) -> None:
    monkeypatch.setattr(bulk, "_MAX_LINE", 1024)
    line = (
        b"* 1 FETCH (UID 1 X-JUNK "
        + b"j" * 5000
        + (b")\r\n{tag} OK done\r\n" if with_crlf else b"")
    )
    with connected(then(replying(line), wait_for_client)) as (_, imap):
        started = time.monotonic()
        with pytest.raises(ProtocolError, match="longer than tuimail accepts"):
            bulk.run(imap, COMMAND, Sink())
        assert time.monotonic() - started < TIMEOUT / 2
        is_shut_down(imap)


def test_overlong_line_after_a_literal_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "_MAX_LINE", 1024)
    reply = b"* 1 FETCH (UID 1 BODY[] {3}\r\nabc" + b" X" * 3000
    with (
        connected(then(replying(reply), wait_for_client)) as (_, imap),
        pytest.raises(ProtocolError, match="longer than tuimail accepts"),
    ):
        bulk.run(imap, COMMAND, Sink())


# -- cancel and failing callers -------------------------------------------------------------------


def test_cancel_stops_the_reply_and_drops_the_connection() -> None:
    lines = b"".join(b"* %d FETCH (UID %d FLAGS ())\r\n" % (n, n) for n in range(1, 601))
    cancel = threading.Event()
    calls: list[bytes] = []

    def on_fetch(line: bytes, literals: list[bytes]) -> None:
        calls.append(line)
        cancel.set()

    with connected(then(replying(lines + b"{tag} OK done\r\n"), wait_for_client)) as (_, imap):
        with pytest.raises(bulk.Cancelled):
            bulk.run(imap, b"UID FETCH 1:* (UID FLAGS)", on_fetch, cancel=cancel)
        is_shut_down(imap)
    assert len(calls) == 256  # checked every 256 messages, not per line


def test_cancel_is_not_needed_for_a_short_reply() -> None:
    cancel = threading.Event()
    cancel.set()
    with connected(replying(b"* 1 FETCH (UID 1 FLAGS ())\r\n{tag} OK done\r\n")) as (_, imap):
        assert bulk.run(imap, b"UID FETCH 1 (UID FLAGS)", Sink(), cancel=cancel) == [b"done"]
        still_works(imap)


def test_a_failing_callback_drops_the_connection() -> None:
    lines = b"* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 2 FLAGS ())\r\n{tag} OK done\r\n"

    def on_fetch(line: bytes, literals: list[bytes]) -> None:
        raise RuntimeError("the cache is full")

    with connected(then(replying(lines), wait_for_client)) as (_, imap):
        with pytest.raises(RuntimeError, match="cache is full"):
            bulk.run(imap, b"UID FETCH 1:* (UID FLAGS)", on_fetch)
        is_shut_down(imap)


def test_many_commands_in_a_row_keep_their_tags() -> None:
    def respond(conn: Conn, tag: bytes, command: bytes) -> bool:
        conn.send_line(b"* SEARCH " + command.rsplit(b" ", 1)[-1])
        conn.send_line(tag + b" OK " + tag)
        return True

    with connected(respond) as (_, imap):
        for number in range(5):
            others = bulk.run(imap, b"UID SEARCH UID %d" % number)
            assert others[0] == b"SEARCH %d" % number
            still_works(imap)
            typ, data = imap.capability()  # an imaplib command between bulk ones
            assert (typ, data) == ("OK", [b"IMAP4rev1"])


# -- ImapSession: moves and copies through bulk.run ----------------------------------------------


@dataclass
class Mailbox:
    """A scripted server's view of one logged-in session."""

    capabilities: bytes
    copyuid: bytes | None = b"[COPYUID 77 1:3,5 100:103]"
    commands: list[bytes] = field(default_factory=list)

    def respond(self, conn: Conn, tag: bytes, command: bytes) -> bool:
        self.commands.append(command)
        verb = command.split(b" ", 2)
        name = verb[0].upper()
        sub = verb[1].upper() if len(verb) > 1 else b""
        if name in (b"SELECT", b"EXAMINE"):
            conn.send_line(b"* 5 EXISTS")
            conn.send_line(b"* OK [UIDVALIDITY 77] UIDs valid")
            conn.send_line(b"* OK [UIDNEXT 6] Predicted next UID")
            access = b"READ-ONLY" if name == b"EXAMINE" else b"READ-WRITE"
            conn.send_line(tag + b" OK [" + access + b"] Select completed")
        elif name == b"UID" and sub == b"MOVE":
            if self.copyuid:
                conn.send_line(b"* OK " + self.copyuid + b" Moved UIDs.")
            for _ in range(4):
                conn.send_line(b"* 1 EXPUNGE")
            conn.send_line(tag + b" OK Move completed")
        elif name == b"UID" and sub == b"COPY":
            code = self.copyuid.replace(b"COPYUID", b"copyuid") + b" " if self.copyuid else b""
            conn.send_line(tag + b" OK " + code + b"Copy completed")
        elif name == b"UID" and sub in (b"STORE", b"EXPUNGE"):
            conn.send_line(tag + b" OK done")
        else:
            conn.send_line(tag + b" BAD unexpected")
        return True


@contextlib.contextmanager
def session_with(mailbox: Mailbox) -> Iterator[ImapSession]:
    """An ImapSession logged in to a scripted server (plain text, allowed for the test)."""
    script = imap_server(mailbox.respond, capabilities=mailbox.capabilities)
    with ScriptedServer(script, timeout=TIMEOUT) as srv:
        endpoint = Endpoint(
            protocol=Protocol.IMAP,
            host=srv.host,
            port=srv.port,
            security=Security.NONE,
            username="alice",
            allow_plaintext=True,
            timeout=TIMEOUT,
        )
        session = ImapSession(endpoint, "secret", account="work")
        try:
            yield session
        finally:
            session.close()
        assert srv.errors == []


def test_move_returns_the_new_uids_from_copyuid() -> None:
    mailbox = Mailbox(b"IMAP4rev1 UIDPLUS MOVE")
    with session_with(mailbox) as session:
        mapping = session.move("INBOX", [5, 1, 2, 3], "Entwürfe")
        assert session.selected is not None
        assert session.selected.uidvalidity == 77
    assert mapping == {1: 100, 2: 101, 3: 102, 5: 103}
    assert mailbox.commands == [b'SELECT "INBOX"', b'UID MOVE 1:3,5 "Entw&APw-rfe"']


def test_copy_reads_copyuid_from_the_tagged_reply() -> None:
    mailbox = Mailbox(b"IMAP4rev1 UIDPLUS", copyuid=b"[COPYUID 77 4,6 201,200]")
    with session_with(mailbox) as session:
        assert session.copy("INBOX", [4, 6], 'Say "hi"') == {4: 201, 6: 200}
    assert b'UID COPY 4,6 "Say \\"hi\\""' in mailbox.commands


def test_move_without_move_copies_marks_and_expunges_just_those_uids() -> None:
    mailbox = Mailbox(b"IMAP4rev1 UIDPLUS", copyuid=b"[COPYUID 77 7:8 30:31]")
    with session_with(mailbox) as session:
        assert session.move("INBOX", [8, 7], "Archive") == {7: 30, 8: 31}
    copy, store, expunge = [c for c in mailbox.commands if c.upper().startswith(b"UID ")]
    assert copy == b'UID COPY 7:8 "Archive"'
    assert store == b"UID STORE 7:8 +FLAGS.SILENT (\\Deleted)"
    verb, uids = expunge.rsplit(b" ", 1)
    assert verb == b"UID EXPUNGE"
    assert sorted(wire.expand_uids(uids.decode())) == [7, 8]  # just these, not all \\Deleted


def test_move_without_copyuid_returns_an_empty_mapping() -> None:
    mailbox = Mailbox(b"IMAP4rev1 MOVE", copyuid=None)
    with session_with(mailbox) as session:
        assert session.move("INBOX", [1], "Archive") == {}


def test_session_fetch_skips_unsolicited_flag_changes() -> None:
    envelope = (
        b'* 1 FETCH (UID 4 FLAGS (\\Seen) INTERNALDATE "29-Nov-2024 16:24:35 +0000" '
        b"RFC822.SIZE 100 ENVELOPE "
        + ENVELOPE_1
        + b" BODYSTRUCTURE "
        + STRUCTURE
        + b" BODY[HEADER.FIELDS (REFERENCES)] {2}\r\n\r\n)\r\n"
    )

    class Fetching(Mailbox):
        def respond(self, conn: Conn, tag: bytes, command: bytes) -> bool:
            if not re.match(rb"UID FETCH ", command, re.IGNORECASE):
                return super().respond(conn, tag, command)
            self.commands.append(command)
            conn.send_raw(envelope)
            conn.send_line(b"* 3 FETCH (UID 9 FLAGS (\\Seen \\Flagged))")  # another client
            conn.send_line(tag + b" OK Fetch completed")
            return True

    mailbox = Fetching(b"IMAP4rev1")
    found: list[Envelope] = []
    with session_with(mailbox) as session:
        session.select("INBOX")
        session.fetch_envelopes("1:*", found.append)
    assert [e.ref.uid for e in found] == [4]
    assert found[0].subject == "Hello"
    assert mailbox.commands[-1].startswith(b"UID FETCH 1:* (UID FLAGS INTERNALDATE")
