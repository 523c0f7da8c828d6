"""Scripted IMAP and SMTP servers with mail in them, and hooks to make them misbehave.

``ImapMailbox`` answers enough of IMAP for ``tuimail sync`` and ``tuimail read`` (LIST, SELECT,
EXAMINE, UID FETCH of envelopes, flags and bodies, UID SEARCH); a ``hook`` sees every command
first and may answer it its own way (drop the connection mid-FETCH, announce a 4 GB literal,
drip a reply one byte at a time...). ``SmtpDesk`` takes messages (MAIL, RCPT, DATA) and can
refuse some recipients or hang up after the data. Both run on ``server.ScriptedServer``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from email.utils import parseaddr

from fakeserver.server import _IMAP_LITERAL, Conn, TlsFiles, _text, _without

ImapHook = Callable[["ImapMailbox", Conn, str, str, str], bool]
"""``hook(mailbox, conn, tag, command, arguments)``: True when it answered the command itself.

``command`` is upper case, with UID joined to the verb ("UID FETCH").
"""


@dataclass
class FakeMessage:
    """One message of a fake folder."""

    uid: int
    raw: bytes
    flags: tuple[str, ...] = ()


@dataclass
class FakeFolder:
    """A folder: its messages in UID order and its UIDVALIDITY."""

    messages: list[FakeMessage] = field(default_factory=list)
    uidvalidity: int = 1

    @property
    def uidnext(self) -> int:
        return max((m.uid for m in self.messages), default=0) + 1


def simple_message(subject: str, body: str = "Hello.\r\n", sender: str = "a@example.org") -> bytes:
    """A small message with the headers the envelope needs."""
    return (
        f"From: Sender <{sender}>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '.')}"
        f"@example.org>\r\n\r\n{body}"
    ).encode()


def _quoted(value: str | None) -> str:
    if value is None:
        return "NIL"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _address_list(value: str | None) -> str:
    if not value:
        return "NIL"
    name, address = parseaddr(value)
    mailbox, _, host = address.partition("@")
    return f"(({_quoted(name or None)} NIL {_quoted(mailbox)} {_quoted(host)}))"


def envelope_items(seq: int, message: FakeMessage) -> bytes:
    """The untagged FETCH reply to tuimail's bulk envelope fetch for one message."""
    parsed = message_from_bytes(message.raw)
    envelope = " ".join(
        [
            _quoted(parsed.get("Date")),
            _quoted(parsed.get("Subject")),
            _address_list(parsed.get("From")),
            _address_list(parsed.get("From")),
            _address_list(parsed.get("From")),
            _address_list(parsed.get("To")),
            "NIL",
            "NIL",
            "NIL",
            _quoted(parsed.get("Message-ID")),
        ]
    )
    size = len(message.raw)
    return (
        f"* {seq} FETCH (UID {message.uid} FLAGS ({' '.join(message.flags)}) "
        f'INTERNALDATE "02-Nov-2026 10:00:00 +0000" RFC822.SIZE {size} ENVELOPE ({envelope}) '
        f'BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" {size} 1) '
        "BODY[HEADER.FIELDS (REFERENCES)] {2}\r\n\r\n)\r\n"
    ).encode()


def uid_set(text: str, highest: int) -> set[int]:
    """The UIDs a sequence set names (``*`` is the highest UID; ``n:*`` includes it)."""
    found: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition(":")
        a = highest if low == "*" else int(low)
        b = a if not high else (highest if high == "*" else int(high))
        found.update(range(min(a, b), max(a, b) + 1))
    return found


class ImapMailbox:
    """An IMAP server holding ``folders``; its ``script`` runs each connection.

    ``list_lines`` replaces the LIST reply (raw untagged lines, literals allowed), e.g. to
    announce a folder whose name holds CR/LF. ``hook`` sees each command before the defaults.
    ``sessions`` counts logins, so a hook can behave differently the second time.
    """

    def __init__(
        self,
        folders: dict[str, FakeFolder],
        *,
        cert: TlsFiles | None = None,
        implicit_tls: bool = False,
        capabilities: Sequence[str] = ("IMAP4rev1", "STARTTLS", "AUTH=PLAIN", "UIDPLUS"),
        list_lines: Sequence[bytes] | None = None,
        hook: ImapHook | None = None,
    ) -> None:
        self.folders = folders
        self.cert = cert
        self.implicit_tls = implicit_tls
        self.capabilities = list(capabilities)
        self.list_lines = list_lines
        self.hook = hook
        self.sessions = 0
        self.commands: list[str] = []
        """Every command received (tag stripped), in order, over all connections."""
        self.selected: dict[int, str] = {}

    # -- replies a hook may reuse ---------------------------------------------------------------

    def fetch_envelopes(self, conn: Conn, folder: FakeFolder, uids: set[int]) -> None:
        for seq, message in enumerate(folder.messages, 1):
            if message.uid in uids:
                conn.send_raw(envelope_items(seq, message))

    def folder_of(self, conn: Conn) -> FakeFolder:
        return self.folders[self.selected[id(conn)]]

    # -- the script ---------------------------------------------------------------------------

    def script(self, conn: Conn) -> None:
        if self.implicit_tls:
            assert self.cert is not None
            conn.start_tls(*self.cert)
        after_tls = _without(self.capabilities, "STARTTLS", "LOGINDISABLED")
        caps = after_tls if self.implicit_tls else self.capabilities
        conn.send_line("* OK fake IMAP mailbox ready")
        while line := conn.read_line():
            while match := _IMAP_LITERAL.search(line):
                if not match.group(2):
                    conn.send_line("+ Ready for literal data")
                line = line[: match.start()] + conn.read_exact(int(match.group(1)))
                line += conn.read_line()
            tag, _, rest = _text(line).partition(" ")
            command, _, arguments = rest.partition(" ")
            command = command.upper()
            if command == "UID":
                verb, _, arguments = arguments.partition(" ")
                command = f"UID {verb.upper()}"
            self.commands.append(f"{command} {arguments}" if command != "LOGIN" else command)
            if self.hook is not None and self.hook(self, conn, tag, command, arguments):
                if conn.closed:
                    return
                continue
            if command == "CAPABILITY":
                conn.send_line("* CAPABILITY " + " ".join(caps))
                conn.send_line(f"{tag} OK CAPABILITY completed")
            elif command == "STARTTLS" and not conn.tls_active:
                conn.send_line(f"{tag} OK Begin TLS negotiation now")
                assert self.cert is not None
                conn.start_tls(*self.cert)
                caps = after_tls
            elif command == "LOGIN":
                self.sessions += 1
                conn.send_line(f"{tag} OK [CAPABILITY {' '.join(caps)}] Logged in")
            elif command in ("NOOP", "ENABLE", "CHECK"):
                conn.send_line(f"{tag} OK {command} completed")
            elif command == "LIST":
                self._list(conn, tag)
            elif command in ("SELECT", "EXAMINE"):
                self._select(conn, tag, command, arguments)
            elif command == "UID FETCH":
                self._fetch(conn, tag, arguments)
            elif command == "UID SEARCH":
                uids = " ".join(str(m.uid) for m in self.folder_of(conn).messages)
                conn.send_line(f"* SEARCH {uids}".rstrip())
                conn.send_line(f"{tag} OK SEARCH completed")
            elif command == "LOGOUT":
                conn.send_line("* BYE logging out")
                conn.send_line(f"{tag} OK LOGOUT completed")
                return
            else:
                conn.send_line(f"{tag} BAD {command} not supported here")

    def _list(self, conn: Conn, tag: str) -> None:
        if self.list_lines is not None:
            for raw in self.list_lines:
                conn.send_raw(raw if raw.endswith(b"\r\n") else raw + b"\r\n")
        else:
            for name in self.folders:
                conn.send_line(f'* LIST () "/" {_quoted(name)}')
        conn.send_line(f"{tag} OK LIST completed")

    def _select(self, conn: Conn, tag: str, command: str, arguments: str) -> None:
        name = arguments.split(" (", maxsplit=1)[0].strip().strip('"')
        folder = self.folders.get(name)
        if folder is None:
            conn.send_line(f"{tag} NO Mailbox does not exist")
            return
        self.selected[id(conn)] = name
        conn.send_line(f"* {len(folder.messages)} EXISTS")
        conn.send_line("* 0 RECENT")
        conn.send_line("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
        conn.send_line(f"* OK [UIDVALIDITY {folder.uidvalidity}] UIDs valid")
        conn.send_line(f"* OK [UIDNEXT {folder.uidnext}] Predicted next UID")
        mode = "READ-ONLY" if command == "EXAMINE" else "READ-WRITE"
        conn.send_line(f"{tag} OK [{mode}] {command} completed")

    def _fetch(self, conn: Conn, tag: str, arguments: str) -> None:
        folder = self.folder_of(conn)
        which, _, items = arguments.partition(" ")
        uids = uid_set(which, folder.uidnext - 1)
        if "ENVELOPE" in items:
            self.fetch_envelopes(conn, folder, uids)
        elif "BODY.PEEK[]" in items or "BODY[]" in items:
            for seq, message in enumerate(folder.messages, 1):
                if message.uid in uids:
                    head = f"* {seq} FETCH (UID {message.uid} BODY[] {{{len(message.raw)}}}\r\n"
                    conn.send_raw(head.encode() + message.raw + b")\r\n")
        else:  # FLAGS
            for seq, message in enumerate(folder.messages, 1):
                if message.uid in uids:
                    conn.send_line(
                        f"* {seq} FETCH (UID {message.uid} FLAGS ({' '.join(message.flags)}))"
                    )
        conn.send_line(f"{tag} OK FETCH completed")


def drip(conn: Conn, data: bytes, pause: float = 0.05) -> None:
    """Send ``data`` one byte at a time until the client hangs up (a reply that never ends)."""
    for byte in data:
        try:
            conn.send_raw(bytes([byte]))
        except OSError:
            return
        if conn.client_closed(pause):
            return
    conn.wait_closed()


@dataclass
class Delivered:
    """A message the SMTP desk accepted."""

    sender: str
    recipients: list[str]
    data: bytes


class SmtpDesk:
    """An SMTP submission server that takes mail; ``script`` runs each connection.

    ``refuse`` maps recipients to the reply they get (e.g. ``550 5.1.1 No such user``);
    ``after_data``: "accept" (250), "drop" (hang up once the final dot arrived, before any
    reply), or a reply line to give instead. ``delivered`` lists what was accepted.
    """

    def __init__(
        self,
        *,
        cert: TlsFiles | None = None,
        implicit_tls: bool = False,
        extensions: Sequence[str] = ("PIPELINING", "8BITMIME", "STARTTLS", "AUTH PLAIN LOGIN"),
        refuse: dict[str, str] | None = None,
        after_data: str = "accept",
    ) -> None:
        self.cert = cert
        self.implicit_tls = implicit_tls
        self.extensions = list(extensions)
        self.refuse = refuse or {}
        self.after_data = after_data
        self.delivered: list[Delivered] = []
        self.data_received: list[bytes] = []
        """Every DATA body that arrived complete, accepted or not."""

    def script(self, conn: Conn) -> None:
        if self.implicit_tls:
            assert self.cert is not None
            conn.start_tls(*self.cert)
        after_tls = _without(self.extensions, "STARTTLS")
        exts = after_tls if self.implicit_tls else self.extensions
        conn.send_line("220 fake.example ESMTP ready")
        sender = ""
        recipients: list[str] = []
        while line := conn.read_line():
            words = _text(line).split(" ", 1)
            command = words[0].upper()
            argument = words[1] if len(words) > 1 else ""
            if command == "EHLO":
                lines = ["fake.example", *exts]
                for text in lines[:-1]:
                    conn.send_line(f"250-{text}")
                conn.send_line(f"250 {lines[-1]}")
            elif command == "STARTTLS" and not conn.tls_active:
                conn.send_line("220 2.0.0 Ready to start TLS")
                assert self.cert is not None
                conn.start_tls(*self.cert)
                exts = after_tls
            elif command == "AUTH":
                mechanism, _, initial = argument.partition(" ")
                if mechanism.upper() == "PLAIN" and not initial:
                    conn.send_line("334 ")
                    conn.read_line()
                elif mechanism.upper() == "LOGIN":
                    if not initial:
                        conn.send_line("334 VXNlcm5hbWU6")
                        conn.read_line()
                    conn.send_line("334 UGFzc3dvcmQ6")
                    conn.read_line()
                conn.send_line("235 2.7.0 Authentication successful")
            elif command == "MAIL":
                sender = argument.split(":", 1)[1].split()[0].strip("<>")
                recipients = []
                conn.send_line("250 2.1.0 Ok")
            elif command == "RCPT":
                rcpt = argument.split(":", 1)[1].split()[0].strip("<>")
                if rcpt in self.refuse:
                    conn.send_line(self.refuse[rcpt])
                else:
                    recipients.append(rcpt)
                    conn.send_line("250 2.1.5 Ok")
            elif command == "DATA":
                conn.send_line("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while (chunk := conn.read_line()) not in (b".\r\n", b""):
                    data += chunk
                self.data_received.append(data)
                if self.after_data == "drop":
                    return
                if self.after_data == "accept":
                    self.delivered.append(Delivered(sender, recipients, data))
                    conn.send_line("250 2.0.0 Ok: queued as FAKE1")
                else:
                    conn.send_line(self.after_data)
            elif command in ("RSET", "NOOP"):
                conn.send_line("250 2.0.0 Ok")
            elif command == "QUIT":
                conn.send_line("221 2.0.0 Bye")
                return
            else:
                conn.send_line("502 5.5.2 Command not recognized")
