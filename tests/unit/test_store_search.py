"""Search queries compiled to SQL and run against a real cache database."""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

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
from tuimail.store.database import connect
from tuimail.store.search import compile_query, fts_phrase

TODAY = datetime.date(2024, 3, 31)
ALL = {1, 2, 3, 4, 5}


def at(year: int, month: int, day: int, clock: tuple[int, int, int] = (0, 0, 0)) -> int:
    """Epoch seconds of a local date and time."""
    return int(datetime.datetime(year, month, day, *clock).timestamp())


# id, sender, recipients, cc, subject, body, flags, has_attachments, date
MESSAGES: list[tuple[int, str, str, str, str, str, int, int, int | None]] = [
    (
        1,
        "Alice Smith\talice@example.test",
        "Bob Jones\tbob@example.test",
        "",
        "Weekly report",
        "numbers for march",
        1,  # seen
        1,
        at(2024, 1, 10, (10, 0, 0)),
    ),
    (
        2,
        "Bob Jones\tbob@example.test",
        "Alice Smith\talice@example.test",
        "\tcarol@example.test",
        "Re: Weekly report",
        "thanks, looks good",
        1 | 2,  # seen, answered
        0,
        at(2024, 1, 11, (23, 59, 59)),
    ),
    (
        3,
        "Carol Péréz\tcarol@example.test",
        "\tdave@other.test",
        "",
        "Café meeting",
        "let's meet at 12:30 near the station",
        4,  # flagged, unread
        0,
        at(2024, 2, 1),  # exactly midnight
    ),
    (
        4,
        "Dave\tdave@other.test",
        "Alice\talice@example.test",
        "",
        "Draft: plans",
        "the report says a*b ^x",
        16,  # draft, unread
        0,
        None,
    ),
    (
        5,
        "Mallory\tmallory@evil.test",
        "Bob\tbob@example.test",
        "",
        "Invoice overdue",
        "pay now, ok?",
        0,
        0,
        at(2024, 3, 30, (8, 0, 0)),
    ),
]


# Messages whose words are the lower-case operators, added only by the ``wordy`` fixture.
WORDY: list[tuple[int, str, str, str, str, str, int, int, int | None]] = [
    (
        6,
        "Robot\trobot@service.test",
        "Bob\tbob@example.test",
        "",
        "Do not reply",
        "automated notice",
        0,
        0,
        at(2024, 3, 1),
    ),
    (
        7,
        "Erin\terin@service.test",
        "Bob\tbob@example.test",
        "",
        "Do reply",
        "by friday please",
        0,
        0,
        at(2024, 3, 2),
    ),
    (
        8,
        "Frank\tfrank@service.test",
        "Bob\tbob@example.test",
        "",
        "Tea or coffee",
        "and cake, do tell",
        0,
        0,
        at(2024, 3, 3),
    ),
]


def insert(
    connection: sqlite3.Connection,
    rows: list[tuple[int, str, str, str, str, str, int, int, int | None]],
) -> None:
    for mid, sender, to, cc, subject, body, flags, attach, date in rows:
        connection.execute(
            "INSERT INTO message (id, folder_id, uid, date, subject, sender, recipients, cc, "
            "flags, has_attachments) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
            (mid, 100 + mid, date, subject, sender, to, cc, flags, attach),
        )
        connection.execute(
            "INSERT INTO message_text (rowid, subject, sender, recipients, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (mid, subject, sender, f"{to} {cc}", body),
        )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = connect(tmp_path / "cache.sqlite")
    connection.execute("INSERT INTO folder (id, account, name) VALUES (1, 'me', 'INBOX')")
    insert(connection, MESSAGES)
    yield connection
    connection.close()


@pytest.fixture
def wordy(db: sqlite3.Connection) -> sqlite3.Connection:
    """The cache with WORDY added: messages 6, 7 and 8."""
    insert(db, WORDY)
    return db


def run(db: sqlite3.Connection, query: Query) -> set[int]:
    where, params = compile_query(query)
    rows = db.execute(f"SELECT m.id FROM message AS m WHERE {where}", params)  # noqa: S608
    return {row[0] for row in rows}


def ids(db: sqlite3.Connection, text: str) -> set[int]:
    return run(db, parse_query(text, today=TODAY))


def test_empty_query_matches_everything(db: sqlite3.Connection) -> None:
    assert compile_query(Everything()) == ("1", [])
    assert ids(db, "") == ALL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("report", {1, 2, 4}),
        ("REPORT", {1, 2, 4}),
        ("rep", {1, 2, 4}),
        ("re", {2}),  # too short to be a prefix: the word "re" only, not "report"
        ("a", {4}),
        ("from:al", set()),
        ("from:ali", {1}),
        ("cafe", {3}),
        ("café", {3}),
        ("perez", {3}),
        ("alice", {1, 2, 4}),
        ('"looks good"', {2}),
        ('"good looks"', set()),
        ('"meet"', {3}),
        ("meet", {3}),
        ("from:alic", {1}),
        ("from:alice@example.test", {1}),
        ("from:smith", {1}),
        ("from:example", {1, 2, 3}),
        ("from:bob", {2}),
        ("to:alice", {2, 4}),
        ("to:carol", {2}),
        ("to:carol@example.test", {2}),
        ("to:other.test", {3}),
        ("subject:report", {1, 2}),
        ('subject:"weekly report"', {1, 2}),
        ('subject:"report weekly"', set()),
        ("subject:march", set()),
        ("body:march", {1}),
        ("body:report", {4}),
        ("has:attachment", {1}),
        ("is:unread", {3, 4, 5}),
        ("is:read", {1, 2}),
        ("is:flagged", {3}),
        ("is:unflagged", {1, 2, 4, 5}),
        ("is:answered", {2}),
        ("is:draft", {4}),
    ],
)
def test_each_term(db: sqlite3.Connection, text: str, expected: set[int]) -> None:
    assert ids(db, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("before:2024-01-11", {1}),
        ("before:2024-01-12", {1, 2}),  # 23:59:59 on the 11th is before the 12th
        ("after:2024-01-11", {2, 3, 5}),  # the day itself is included
        ("after:2024-01-12", {3, 5}),
        ("after:2024-02-01", {3, 5}),  # a message at midnight is on that day
        ("before:2024-02-01", {1, 2}),
        ("after:2024-01-11 before:2024-02-01", {2}),
        ("after:7d", {5}),
        ("after:yesterday", {5}),
        ("after:today", set()),
        ("before:today", {1, 2, 3, 5}),  # the undated message matches no date
        ("-before:2024-01-11", {2, 3, 4, 5}),  # NOT is the exact complement, undated included
    ],
)
def test_dates(db: sqlite3.Connection, text: str, expected: set[int]) -> None:
    assert ids(db, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("report -from:bob", {1, 4}),
        ("report NOT from:bob", {1, 4}),
        ("from:alice OR from:carol", {1, 3}),
        ("report is:unread", {4}),
        ("(from:alice OR from:bob) is:answered", {2}),
        ("report OR is:flagged", {1, 2, 3, 4}),
        ("NOT report", {3, 5}),
        ("-is:read", {3, 4, 5}),
        ("-(report OR cafe)", {5}),
        ("report weekly", {1, 2}),
        ("report AND weekly OR invoice", {1, 2, 5}),
        ("report (weekly OR draft)", {1, 2, 4}),
        ("alice -to:alice", {1}),
        ("is:unread OR has:attachment OR from:bob", {1, 2, 3, 4, 5}),
        ("(is:unread has:attachment) OR (is:read -has:attachment)", {2}),
        ("report OR -report", ALL),
        ("report or invoice", set()),  # "or" is a word no message has, not an operator
        ("report and weekly", set()),
        ("report not weekly", set()),
    ],
)
def test_combinations(db: sqlite3.Connection, text: str, expected: set[int]) -> None:
    assert ids(db, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("do not reply", {6}),  # three words: not "do" without "reply"
        ("Do Not Reply", {6}),
        ("do reply", {6, 7}),
        ("not", {6}),
        ("do NOT reply", {8}),
        ("do -reply", {8}),
        ("NOT reply do", {8}),
        ("do AND NOT reply", {8}),
        ("tea or coffee", {8}),
        ("reply or friday", set()),  # no message has the word "or" next to these
        ("reply OR friday", {6, 7}),
        ("friday OR tea or coffee", {7, 8}),
        ("(reply not) OR cake", {6, 8}),
        ("cake and tea", {8}),
        ("reply and friday", set()),
        ("reply AND friday", {7}),
        ("reply -not", {7}),
        ("-(do not reply) do", {7, 8}),
        ('"or"', {8}),
        ('"OR"', {8}),  # a phrase matches whatever the case
        ('"not reply"', {6}),
        ('"do not reply"', {6}),
    ],
)
def test_lower_case_operators_are_words(
    wordy: sqlite3.Connection, text: str, expected: set[int]
) -> None:
    assert ids(wordy, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NEAR", {3}),  # the word near, not the FTS5 NEAR operator
        ('"NEAR"', {3}),
        ('"near the"', {3}),
        ("repo*", {1, 2, 4}),  # the star is punctuation, prefix matching is ours
        ("^weekly", {1, 2}),
        ("subject:^weekly", {1, 2}),
        ('body:"a*b"', {4}),
        ('body:"^x"', {4}),
        ('"12:30"', {3}),
        ("12:30", {3}),
        ('"subject:weekly"', set()),  # a phrase "subject weekly", not a column filter
        ('"{subject} : weekly"', set()),
        ('"sender : alice"', set()),
        ('"and"', set()),
        ('"or" "not"', set()),
        ('body:"pay now, ok?"', {5}),
        ("weekly + report", {1, 2}),
    ],
)
def test_fts_syntax_in_user_words_is_plain_text(
    db: sqlite3.Connection, text: str, expected: set[int]
) -> None:
    assert ids(db, text) == expected


HOSTILE = [
    '"); DROP TABLE message; --',
    "'); DROP TABLE message; --",
    '" OR 1=1 --',
    'a" OR "" = "',
    '" OR rowid > 0 OR "',
    "x' OR '1'='1",
    "{sender} : *",
    "NEAR(a b, 5)",
    "\x00\x1b[31m",
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("field", list(Field))
@pytest.mark.parametrize("phrase", [False, True])
def test_hostile_text_matches_nothing_and_breaks_nothing(
    db: sqlite3.Connection, value: str, field: Field, phrase: bool
) -> None:
    query = Text(value, field, phrase=phrase)
    where, _ = compile_query(query)
    assert value not in where
    assert "'" not in where
    assert '"' not in where
    assert run(db, query) == set()
    assert run(db, Not(query)) == ALL
    assert db.execute("SELECT count(*) FROM message").fetchone()[0] == 5
    assert db.execute("SELECT count(*) FROM message_text").fetchone()[0] == 5


@pytest.mark.parametrize(
    "text",
    [
        'from:"a\\" OR 1=1',
        'subject:"\'); DROP TABLE message; --"',
        '"\'); DROP TABLE message; --"',
        "body:\"' OR '1'='1\"",
    ],
)
def test_hostile_queries_parse_and_match_nothing(db: sqlite3.Connection, text: str) -> None:
    assert ids(db, text) == set()
    assert db.execute("SELECT count(*) FROM message").fetchone()[0] == 5
    assert ids(db, "report") == {1, 2, 4}


def test_user_text_only_travels_as_parameters() -> None:
    where, params = compile_query(parse_query("from:\"xx\\\" yyy body:'zzz' subject:www"))
    assert where == "m.id IN (SELECT rowid FROM message_text WHERE message_text MATCH ?)"
    assert params == [
        '({sender} : "xx") AND ("yyy" *) AND ({body} : "zzz" *) AND ({subject} : "www" *)',
    ]


def test_fts_phrases() -> None:
    assert fts_phrase(Text("alic", Field.FROM)) == '{sender} : "alic" *'
    assert fts_phrase(Text("alice@example.test", Field.FROM)) == (
        '{sender} : "alice example test" *'
    )
    assert fts_phrase(Text("weekly report", Field.SUBJECT, phrase=True)) == (
        '{subject} : "weekly report"'
    )
    assert fts_phrase(Text("to_do", Field.TO)) == '{recipients} : "to do"'
    assert fts_phrase(Text("to_dos", Field.TO)) == '{recipients} : "to dos" *'
    assert fts_phrase(Text("café", Field.BODY)) == '{body} : "café" *'
    assert fts_phrase(Text("*^:")) is None


def test_terms_without_letters_match_nothing(db: sqlite3.Connection) -> None:
    for value in ("*", "^", ":", '"', "-", ""):
        assert run(db, Text(value)) == set()
        assert run(db, Not(Text(value))) == ALL


def test_empty_groups(db: sqlite3.Connection) -> None:
    assert run(db, And(())) == ALL
    assert run(db, Or(())) == set()


def test_text_terms_of_a_group_share_one_full_text_match() -> None:
    query = And((Text("aaa"), Is(Status.UNREAD), Or((Text("bbb"), Text("ccc", Field.FROM)))))
    where, params = compile_query(query)
    assert where.count("MATCH ?") == 1
    assert params == ['("aaa" *) AND (("bbb" *) OR ({sender} : "ccc" *))', 1]


def test_mixed_groups_keep_parameters_in_order(db: sqlite3.Connection) -> None:
    query = Or(
        (
            After(datetime.date(2024, 3, 1)),
            Text("report"),
            Not(Is(Status.READ)),
            Before(datetime.date(2024, 1, 11)),
            Text("invoice"),
        )
    )
    where, params = compile_query(query)
    assert where.count("?") == len(params)
    assert run(db, query) == {1, 2, 3, 4, 5}
    assert run(db, And((Not(query), Everything()))) == set()


def test_sorted_and_limited_like_a_message_list(db: sqlite3.Connection) -> None:
    where, params = compile_query(parse_query("report OR is:unread"))
    rows = db.execute(
        f"SELECT m.id FROM message AS m WHERE m.folder_id = ? AND {where} "  # noqa: S608
        "ORDER BY m.date DESC LIMIT 3",
        [1, *params],
    ).fetchall()
    assert [row[0] for row in rows] == [5, 3, 2]
