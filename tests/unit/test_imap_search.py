"""Search queries as IMAP SEARCH criteria, checked as lists and sent by a real IMAPClient."""

from __future__ import annotations

import datetime
import email.utils
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fakeserver.server import Conn, Script, ScriptedServer
from imapclient import IMAPClient

from tuimail.backends.imap.search import imap_criteria, imap_date
from tuimail.model.search import (
    After,
    And,
    Before,
    Everything,
    Field,
    Is,
    Not,
    Or,
    Query,
    Status,
    Text,
    parse_query,
)

TODAY = datetime.date(2024, 3, 31)


def criteria(text: str) -> list[str]:
    return imap_criteria(parse_query(text, today=TODAY))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["ALL"]),
        ("report", ["TEXT", "report"]),
        ('"weekly report"', ["TEXT", "weekly report"]),
        ("from:alice@example.test", ["FROM", "alice@example.test"]),
        ("to:bob", ["OR", "TO", "bob", "CC", "bob"]),
        ('subject:"weekly report"', ["SUBJECT", "weekly report"]),
        ("body:invoice", ["BODY", "invoice"]),
        ("café", ["TEXT", "café"]),
        (
            "has:attachment",
            [
                "OR",
                "HEADER",
                "Content-Type",
                "multipart/mixed",
                "HEADER",
                "Content-Disposition",
                "attachment",
            ],
        ),
        ("is:unread", ["UNSEEN"]),
        ("is:read", ["SEEN"]),
        ("is:flagged", ["FLAGGED"]),
        ("is:unflagged", ["UNFLAGGED"]),
        ("is:answered", ["ANSWERED"]),
        ("is:draft", ["DRAFT"]),
        ("after:2024-01-05", ["SENTSINCE", "05-Jan-2024"]),
        ("before:2024-12-25", ["SENTBEFORE", "25-Dec-2024"]),
        ("after:7d", ["SENTSINCE", "24-Mar-2024"]),
        ("-before:2024-01-01", ["NOT", "SENTBEFORE", "01-Jan-2024"]),
    ],
)
def test_each_term(text: str, expected: list[str]) -> None:
    assert criteria(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a b is:unread", ["TEXT", "a", "TEXT", "b", "UNSEEN"]),
        ("a OR b", ["OR", "TEXT", "a", "TEXT", "b"]),
        ("a OR b OR c", ["OR", "TEXT", "a", "OR", "TEXT", "b", "TEXT", "c"]),
        ("-a", ["NOT", "TEXT", "a"]),
        ("-to:x", ["NOT", "OR", "TO", "x", "CC", "x"]),
        ("-(a is:unread)", ["NOT", "(TEXT", "a", "UNSEEN)"]),
        ("-(is:unread a)", ["NOT", "(UNSEEN", "TEXT", "a", "ALL)"]),
        ("a OR b c", ["OR", "TEXT", "a", "(TEXT", "b", "TEXT", "c", "ALL)"]),
        (
            "(a is:read) OR (b after:2024-01-01)",
            ["OR", "(TEXT", "a", "SEEN)", "(TEXT", "b", "SENTSINCE", "01-Jan-2024)"],
        ),
        (
            "-(a (b is:read OR c is:draft))",
            ["NOT", "(TEXT", "a", "OR", "(TEXT", "b", "SEEN)", "(TEXT", "c", "DRAFT))"],
        ),
        (
            "-(a (b OR c d))",
            ["NOT", "(TEXT", "a", "OR", "TEXT", "b", "(TEXT", "c", "TEXT", "d", "ALL))"],
        ),
    ],
)
def test_boolean_structure(text: str, expected: list[str]) -> None:
    assert criteria(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("do not reply", ["TEXT", "do", "TEXT", "not", "TEXT", "reply"]),
        ("a or b", ["TEXT", "a", "TEXT", "or", "TEXT", "b"]),
        ("a and b", ["TEXT", "a", "TEXT", "and", "TEXT", "b"]),
        ("a Or b", ["TEXT", "a", "TEXT", "Or", "TEXT", "b"]),
        ("do NOT reply", ["TEXT", "do", "NOT", "TEXT", "reply"]),
        ("a OR or", ["OR", "TEXT", "a", "TEXT", "or"]),
        ("a AND b", ["TEXT", "a", "TEXT", "b"]),
        ("-not", ["NOT", "TEXT", "not"]),
    ],
)
def test_only_capital_operators_are_operators(text: str, expected: list[str]) -> None:
    assert criteria(text) == expected


def test_dates_are_english_whatever_the_locale() -> None:
    months = [imap_date(datetime.date(2024, month, 1))[3:6] for month in range(1, 13)]
    assert "-".join(months) == "Jan-Feb-Mar-Apr-May-Jun-Jul-Aug-Sep-Oct-Nov-Dec"
    assert imap_date(datetime.date(999, 7, 4)) == "04-Jul-0999"


def test_values_are_cut_where_imap_atoms_end() -> None:
    assert imap_criteria(Text("a(b)c{5}%*x", Field.BODY)) == [
        "BODY",
        "a",
        "BODY",
        "b",
        "BODY",
        "c",
        "BODY",
        "5}",
        "BODY",
        "x",
    ]
    assert imap_criteria(Text("one\r\ntwo\x00")) == ["TEXT", "one", "TEXT", "two"]
    assert imap_criteria(Text("x) OR (ALL", Field.SUBJECT)) == [
        "SUBJECT",
        "x",
        "SUBJECT",
        "OR",
        "SUBJECT",
        "ALL",
    ]
    assert imap_criteria(Text("[PATCH] v2", Field.SUBJECT)) == ["SUBJECT", "[PATCH] v2"]


def test_nothing_to_search_for_matches_nothing() -> None:
    assert imap_criteria(Text("*")) == ["NOT", "ALL"]
    assert imap_criteria(Text("()")) == ["NOT", "ALL"]
    assert imap_criteria(Not(Text("*"))) == ["NOT", "NOT", "ALL"]


def test_empty_groups() -> None:
    assert imap_criteria(Everything()) == ["ALL"]
    assert imap_criteria(And(())) == ["ALL"]
    assert imap_criteria(Or(())) == ["NOT", "ALL"]
    assert imap_criteria(Not(Everything())) == ["NOT", "ALL"]


def test_before_and_after_keep_the_day() -> None:
    day = datetime.date(2024, 2, 29)
    assert imap_criteria(After(day)) == ["SENTSINCE", "29-Feb-2024"]
    assert imap_criteria(Before(day)) == ["SENTBEFORE", "29-Feb-2024"]


# -- through a real IMAPClient to a server that parses RFC 3501 SEARCH strictly -------------------


@dataclass(frozen=True)
class Mail:
    uid: int
    sender: str
    to: str
    cc: str
    subject: str
    body: str
    flags: frozenset[str]
    date: str
    """The Date header: what SENTSINCE and SENTBEFORE compare."""
    received: datetime.date
    """The internal (arrival) date: what SINCE and BEFORE compare."""
    content_type: str = "text/plain"

    def header(self, name: str) -> str | None:
        return {
            "from": self.sender,
            "to": self.to,
            "cc": self.cc,
            "subject": self.subject,
            "date": self.date,
            "content-type": self.content_type,
        }.get(name.lower())

    @property
    def sent(self) -> datetime.date:
        """The day of the Date header as written there, disregarding time and timezone."""
        return email.utils.parsedate_to_datetime(self.date).date()


MAILS = (
    Mail(
        1,
        "Alice Smith <alice@example.test>",
        "Bob Jones <bob@example.test>",
        "",
        "Weekly report",
        "numbers for march",
        frozenset({"\\Seen"}),
        "Wed, 10 Jan 2024 10:00:00 +0000",
        datetime.date(2024, 1, 12),  # delivered late
        "multipart/mixed; boundary=x",
    ),
    Mail(
        2,
        "Bob Jones <bob@example.test>",
        "Alice Smith <alice@example.test>",
        "carol@example.test",
        "Re: Weekly report",
        "thanks, looks good",
        frozenset({"\\Seen", "\\Answered"}),
        "Thu, 11 Jan 2024 23:30:00 -0800",  # already the 12th in UTC
        datetime.date(2024, 1, 12),
    ),
    Mail(
        3,
        "Carol Péréz <carol@example.test>",
        "dave@other.test",
        "",
        "Café meeting",
        "let's meet at 12:30 near the station",
        frozenset({"\\Flagged"}),
        "Thu, 01 Feb 2024 00:00:00 +0100",  # still the 31st of January in UTC
        datetime.date(2024, 1, 31),
    ),
    Mail(
        4,
        "Dave <dave@other.test>",
        "Alice <alice@example.test>",
        "",
        "Draft: plans",
        "the report says a*b ^x",
        frozenset({"\\Draft"}),
        "Fri, 1 Dec 2023 09:00:00 +0000",
        datetime.date(2024, 3, 30),  # a draft stored again long after it was dated
    ),
    Mail(
        5,
        "Mallory <mallory@evil.test>",
        "Bob <bob@example.test>",
        "",
        "Invoice overdue",
        "pay now, ok?",
        frozenset(),
        "Sat, 30 Mar 2024 08:00:00 +0000",
        datetime.date(2024, 3, 30),
    ),
)

Matcher = Callable[[Mail], bool]
_ATOM_SPECIALS = frozenset(b'(){ %*"\\]')
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
# RFC 3501: date = date-text / DQUOTE date-text DQUOTE; date-text = 1*2DIGIT "-" month "-" 4DIGIT
_DATE = re.compile(rb'("?)(\d{1,2})-([A-Za-z]{3})-(\d{4})\1')
_DATES: dict[str, Callable[[Mail], datetime.date]] = {
    "SINCE": lambda m: m.received,
    "BEFORE": lambda m: m.received,
    "SENTSINCE": lambda m: m.sent,
    "SENTBEFORE": lambda m: m.sent,
}
_FIELDS: dict[str, Callable[[Mail], str]] = {
    "FROM": lambda m: m.sender,
    "TO": lambda m: m.to,
    "CC": lambda m: m.cc,
    "SUBJECT": lambda m: m.subject,
    "BODY": lambda m: m.body,
    "TEXT": lambda m: " ".join((m.sender, m.to, m.cc, m.subject, m.content_type, m.body)),
}
_FLAGS: dict[str, Matcher] = {
    "SEEN": lambda m: "\\Seen" in m.flags,
    "UNSEEN": lambda m: "\\Seen" not in m.flags,
    "FLAGGED": lambda m: "\\Flagged" in m.flags,
    "UNFLAGGED": lambda m: "\\Flagged" not in m.flags,
    "ANSWERED": lambda m: "\\Answered" in m.flags,
    "DRAFT": lambda m: "\\Draft" in m.flags,
    "ALL": lambda m: True,
}


class BadSearch(Exception):
    """The client sent something RFC 3501 does not allow."""


class SearchProgram:
    """A strict parser of ``CHARSET x search-key *(SP search-key) CRLF`` into a matcher."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def parse(self) -> Matcher:
        if self.atom().upper() != "CHARSET":
            raise BadSearch("CHARSET expected")
        self.space()
        if self.astring().upper() != "UTF-8":
            raise BadSearch("UTF-8 expected")
        keys = []
        while self.data[self.pos : self.pos + 1] == b" ":
            self.pos += 1
            keys.append(self.key())
        if not keys or self.data[self.pos :] != b"\r\n":
            raise BadSearch(f"junk at {self.pos}: {self.data[self.pos :]!r}")
        return lambda m: all(key(m) for key in keys)

    def space(self) -> None:
        if self.data[self.pos : self.pos + 1] != b" ":
            raise BadSearch(f"space expected at {self.pos}")
        self.pos += 1

    def _run(self, allowed: Callable[[int], bool]) -> str:
        start = self.pos
        while self.pos < len(self.data) and allowed(self.data[self.pos]):
            self.pos += 1
        if self.pos == start:
            raise BadSearch(f"atom expected at {start}: {self.data[start:]!r}")
        return self.data[start : self.pos].decode("ascii")

    def atom(self) -> str:
        return self._run(lambda b: 0x20 < b < 0x7F and b not in _ATOM_SPECIALS)

    def astring(self) -> str:
        head = self.data[self.pos : self.pos + 1]
        if head == b'"':
            match = re.compile(rb'"((?:[^"\\\r\n]|\\["\\])*)"').match(self.data, self.pos)
            if match is None:
                raise BadSearch(f"bad quoted string at {self.pos}")
            self.pos = match.end()
            return re.sub(rb"\\(.)", rb"\1", match.group(1)).decode("utf-8")
        if head == b"{":
            match = re.compile(rb"\{(\d+)\+?\}\r\n").match(self.data, self.pos)
            if match is None:
                raise BadSearch(f"bad literal at {self.pos}")
            size = int(match.group(1))
            self.pos = match.end() + size
            return self.data[match.end() : self.pos].decode("utf-8")
        return self._run(lambda b: 0x20 < b < 0x7F and (b not in _ATOM_SPECIALS or b == 0x5D))

    def key(self) -> Matcher:
        if self.data[self.pos : self.pos + 1] == b"(":
            self.pos += 1
            keys = [self.key()]
            while self.data[self.pos : self.pos + 1] == b" ":
                self.pos += 1
                keys.append(self.key())
            if self.data[self.pos : self.pos + 1] != b")":
                raise BadSearch(f"')' expected at {self.pos}")
            self.pos += 1
            return lambda m: all(key(m) for key in keys)
        word = self.atom().upper()
        if word in _FLAGS:
            return _FLAGS[word]
        self.space()
        if word == "NOT":
            inner = self.key()
            return lambda m: not inner(m)
        if word == "OR":
            left = self.key()
            self.space()
            right = self.key()
            return lambda m: left(m) or right(m)
        if word in _FIELDS:
            value, field = self.astring().casefold(), _FIELDS[word]
            return lambda m: value in field(m).casefold()
        if word == "HEADER":
            name = self.astring()
            self.space()
            wanted = self.astring().casefold()
            return lambda m: wanted in (m.header(name) or "\x00").casefold()
        if word in _DATES:
            when, day_of = self.date(), _DATES[word]
            if word.endswith("SINCE"):
                return lambda m: day_of(m) >= when
            return lambda m: day_of(m) < when
        raise BadSearch(f"unknown search key {word}")

    def date(self) -> datetime.date:
        match = _DATE.match(self.data, self.pos)
        month = _MONTHS.get(match.group(3).decode().upper(), 0) if match else 0
        if match is None or not month:
            raise BadSearch(f"date expected at {self.pos}: {self.data[self.pos :]!r}")
        self.pos = match.end()
        try:
            return datetime.date(int(match.group(4)), month, int(match.group(2)))
        except ValueError as exc:
            raise BadSearch(f"no such day at {match.start()}") from exc


_LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r\n$")


def search_server(*, literal_plus: bool, programs: list[bytes]) -> Script:
    """An IMAP server that answers UID SEARCH by evaluating the program against MAILS."""
    capabilities = "IMAP4rev1 LITERAL+" if literal_plus else "IMAP4rev1"

    def script(conn: Conn) -> None:
        conn.send_line(f"* PREAUTH [CAPABILITY {capabilities}] ready")
        while line := conn.read_line():
            while match := _LITERAL.search(line):
                if not match.group(2):
                    conn.send_line("+ go on")
                line += conn.read_exact(int(match.group(1))) + conn.read_line()
            tag, _, rest = line.partition(b" ")
            command = rest.upper()
            reply = tag.decode()
            if command.startswith(b"CAPABILITY"):
                conn.send_raw(f"* CAPABILITY {capabilities}\r\n{reply} OK done\r\n".encode())
            elif command.startswith(b"SELECT"):
                conn.send_raw(
                    f"* {len(MAILS)} EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n"
                    f"{reply} OK [READ-WRITE] selected\r\n".encode()
                )
            elif command.startswith(b"UID SEARCH "):
                program = rest[len(b"UID SEARCH ") :]
                programs.append(program)
                try:
                    matches = SearchProgram(program).parse()
                except BadSearch as exc:
                    conn.send_line(f"{reply} BAD {exc}")
                    continue
                uids = "".join(f" {m.uid}" for m in MAILS if matches(m))
                # one write per answer: separate small writes meet Nagle and delayed ACKs
                conn.send_raw(f"* SEARCH{uids}\r\n{reply} OK searched\r\n".encode())
            elif command.startswith(b"LOGOUT"):
                conn.send_raw(f"* BYE bye\r\n{reply} OK bye\r\n".encode())
                return
            else:
                conn.send_line(f"{reply} BAD unknown")

    return script


@pytest.fixture(
    scope="module", params=[False, True], ids=["synchronising-literals", "literal-plus"]
)
def imap(request: pytest.FixtureRequest) -> Iterator[tuple[IMAPClient, list[bytes]]]:
    programs: list[bytes] = []
    script = search_server(literal_plus=request.param, programs=programs)
    with ScriptedServer(script, timeout=60) as server:  # the connection idles between tests
        client = IMAPClient(server.host, port=server.port, ssl=False, timeout=5)
        client.select_folder("INBOX")
        yield client, programs
        client.logout()
    assert server.errors == []


def test_the_strict_parser_refuses_loose_syntax() -> None:
    for program in (
        b"CHARSET UTF-8 ( FROM x)\r\n",
        b"CHARSET UTF-8 (FROM x )\r\n",
        b"CHARSET UTF-8 FROM x)\r\n",
        b"CHARSET UTF-8 FROM x(\r\n",
        b"CHARSET UTF-8 OR FROM x\r\n",
        b"CHARSET UTF-8 FROM {3}\r\nab\r\n",
        b"CHARSET UTF-8 SENTSINCE 2024-01-11\r\n",
        b"CHARSET UTF-8 SENTSINCE 11-Jnu-2024\r\n",
        b"CHARSET UTF-8 SENTBEFORE 30-Feb-2024\r\n",
        b"CHARSET UTF-8 SENTBEFORE 1-Jan-24\r\n",
        b'CHARSET UTF-8 SENTSINCE "11-Jan-2024\r\n',
        b"CHARSET UTF-8 SENTON 11-Jan-2024\r\n",
    ):
        with pytest.raises((BadSearch, ValueError, IndexError)):
            SearchProgram(program).parse()(MAILS[0])


def search_fake(program: bytes) -> set[int]:
    matches = SearchProgram(program).parse()
    return {mail.uid for mail in MAILS if matches(mail)}


def test_the_fake_server_tells_the_date_header_from_the_arrival_date() -> None:
    # The fake messages are set up so that the two kinds of date key choose differently; the
    # searches through imapclient below can only find the expected messages with SENT keys.
    assert [mail.sent for mail in MAILS] == [
        datetime.date(2024, 1, 10),
        datetime.date(2024, 1, 11),
        datetime.date(2024, 2, 1),
        datetime.date(2023, 12, 1),
        datetime.date(2024, 3, 30),
    ]
    assert search_fake(b"CHARSET UTF-8 SENTSINCE 11-Jan-2024\r\n") == {2, 3, 5}
    assert search_fake(b"CHARSET UTF-8 SINCE 11-Jan-2024\r\n") == {1, 2, 3, 4, 5}
    assert search_fake(b"CHARSET UTF-8 SENTBEFORE 11-Jan-2024\r\n") == {1, 4}
    assert search_fake(b"CHARSET UTF-8 BEFORE 11-Jan-2024\r\n") == set()
    assert search_fake(b'CHARSET UTF-8 sentsince "1-feb-2024"\r\n') == {3, 5}
    assert search_fake(b"CHARSET UTF-8 SINCE 01-Feb-2024\r\n") == {4, 5}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {1, 2, 3, 4, 5}),
        ("report", {1, 2, 4}),
        ("from:alic", {1}),
        ("from:alice@example.test", {1}),
        ("to:alice", {2, 4}),
        ("to:carol", {2}),
        ('subject:"weekly report"', {1, 2}),
        ("body:march", {1}),
        ("café", {3}),
        ('subject:"café meeting"', {3}),
        ("from:péréz", {3}),
        ("is:unread", {3, 4, 5}),
        ("is:read", {1, 2}),
        ("is:flagged", {3}),
        ("is:unflagged", {1, 2, 4, 5}),
        ("is:answered", {2}),
        ("is:draft", {4}),
        ("has:attachment", {1}),
        ("-has:attachment", {2, 3, 4, 5}),
        ("after:2024-01-11", {2, 3, 5}),
        ("before:2024-01-11", {1, 4}),
        ("after:2024-01-11 before:2024-02-01", {2}),
        ("after:7d", {5}),
        ("after:2024-01-12", {3, 5}),  # the Date header's own day, not the day in UTC
        ("before:2024-01-12", {1, 2, 4}),
        ("after:2024-02-01", {3, 5}),
        ("before:2024-02-01", {1, 2, 4}),
        ("after:2024-01-10 before:2024-01-11", {1}),
        ("-after:2024-01-01", {4}),
        ("after:2024-03-30 OR before:2024-01-01", {4, 5}),
        ("café or invoice", set()),  # "or" is a word, and neither message holds it
        ("café OR invoice", {3, 5}),
        ("café not", set()),
        ("café NOT invoice", {3}),
        ("weekly and report", set()),
        ("weekly AND report", {1, 2}),
        ("report -from:bob", {1, 4}),
        ("(from:alice OR from:bob) is:answered", {2}),
        ("-(report OR café)", {5}),
        ("report (weekly OR draft)", {1, 2, 4}),
        ("(is:unread has:attachment) OR (is:read -has:attachment)", {2}),
        ("NOT (from:alice subject:weekly)", {2, 3, 4, 5}),
        ("-(meet café)", {1, 2, 4, 5}),
        ("-(subject:café body:meet) is:unread", {4, 5}),
        ("invoice OR (from:bob looks)", {2, 5}),
        ('invoice OR (from:bob body:"looks good") OR (café is:flagged)', {2, 3, 5}),
        ('body:"12:30"', {3}),
        ('subject:"\'); DROP TABLE message; --"', set()),
        ('from:"a\\" OR 1=1', set()),
    ],
)
def test_criteria_through_imapclient(
    imap: tuple[IMAPClient, list[bytes]], text: str, expected: set[int]
) -> None:
    client, programs = imap
    found = client.search(criteria(text), charset="UTF-8")
    assert programs, "the server saw no SEARCH"
    assert set(found) == expected, programs[-1]


def test_dates_go_out_as_sent_keys(imap: tuple[IMAPClient, list[bytes]]) -> None:
    client, programs = imap
    found = client.search(criteria("after:2024-01-11 before:2024-02-01"), charset="UTF-8")
    assert set(found) == {2}
    assert programs[-1] == b"CHARSET UTF-8 SENTSINCE 11-Jan-2024 SENTBEFORE 01-Feb-2024\r\n"
    found = client.search(criteria("-before:7d"), charset="UTF-8")
    assert set(found) == {5}
    assert programs[-1] == b"CHARSET UTF-8 NOT SENTBEFORE 24-Mar-2024\r\n"


def test_a_query_built_by_hand(imap: tuple[IMAPClient, list[bytes]]) -> None:
    client, _ = imap
    query: Query = Or((And((Text("Weekly", Field.SUBJECT), Is(Status.UNREAD))), Text("ÉVIL")))
    assert set(client.search(imap_criteria(query), charset="UTF-8")) == set()
    query = Or((And((Text("weekly", Field.SUBJECT), Is(Status.READ))), Text("evil")))
    assert set(client.search(imap_criteria(query), charset="UTF-8")) == {1, 2, 5}
