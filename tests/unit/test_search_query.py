"""The search language parser: terms, precedence, quotes, negation, dates and its error messages."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest

from tuimail.model.errors import MailError
from tuimail.model.search import (
    After,
    And,
    Before,
    Everything,
    Field,
    HasAttachment,
    Is,
    Not,
    Or,
    Query,
    QueryError,
    Status,
    Text,
    day_start,
    parse_query,
)

TODAY = datetime.date(2024, 3, 31)


def parse(text: str) -> Query:
    return parse_query(text, today=TODAY)


def word(value: str, field: Field = Field.ANY) -> Text:
    return Text(value, field)


def phrase(value: str, field: Field = Field.ANY) -> Text:
    return Text(value, field, phrase=True)


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "- & *", "  --  "])
def test_empty_query_matches_everything(text: str) -> None:
    assert parse(text) == Everything()


def test_free_words_and_phrases() -> None:
    assert parse("invoice") == word("invoice")
    assert parse('"weekly  report"') == phrase("weekly report")
    assert parse('hello "big world" café') == And(
        (word("hello"), phrase("big world"), word("café"))
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from:alice", word("alice", Field.FROM)),
        ("FROM:alice@example.test", word("alice@example.test", Field.FROM)),
        ("to:bob", word("bob", Field.TO)),
        ("subject:report", word("report", Field.SUBJECT)),
        ('subject:"weekly report"', phrase("weekly report", Field.SUBJECT)),
        ("Subject:re:hello", word("re:hello", Field.SUBJECT)),
        ("body:invoice", word("invoice", Field.BODY)),
        ('body:"http://x.test/a"', phrase("http://x.test/a", Field.BODY)),
        ("has:attachment", HasAttachment()),
        ("has:Attachments", HasAttachment()),
        ("is:unread", Is(Status.UNREAD)),
        ("is:read", Is(Status.READ)),
        ("IS:FLAGGED", Is(Status.FLAGGED)),
        ("is:unflagged", Is(Status.UNFLAGGED)),
        ("is:answered", Is(Status.ANSWERED)),
        ("is:draft", Is(Status.DRAFT)),
        ('is:"unread"', Is(Status.UNREAD)),
        ("before:2024-01-15", Before(datetime.date(2024, 1, 15))),
        ("after:2024/1/5", After(datetime.date(2024, 1, 5))),
    ],
)
def test_every_term(text: str, expected: Query) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("today", TODAY),
        ("TODAY", TODAY),
        ("yesterday", datetime.date(2024, 3, 30)),
        ("0d", TODAY),
        ("7d", datetime.date(2024, 3, 24)),
        ("2w", datetime.date(2024, 3, 17)),
        ("1m", datetime.date(2024, 2, 29)),  # 31 March less a month: clamped to the month's end
        ("3M", datetime.date(2023, 12, 31)),
        ("13m", datetime.date(2023, 2, 28)),
        ("1y", datetime.date(2023, 3, 31)),
        ("2024-02-29", datetime.date(2024, 2, 29)),
    ],
)
def test_dates_relative_to_today(value: str, day: datetime.date) -> None:
    assert parse(f"after:{value}") == After(day)
    assert parse(f"before:{value}") == Before(day)


def test_leap_day_a_year_back() -> None:
    assert parse_query("after:1y", today=datetime.date(2024, 2, 29)) == After(
        datetime.date(2023, 2, 28)
    )


def test_today_defaults_to_the_real_date() -> None:
    assert parse_query("after:today") == After(datetime.date.today())


def test_after_includes_its_day_before_excludes_it() -> None:
    after, before = parse("after:2024-01-01"), parse("before:2024-01-01")
    assert isinstance(after, After)
    assert isinstance(before, Before)
    midnight = int(datetime.datetime(2024, 1, 1).timestamp())
    assert after.start == before.start == midnight
    assert day_start(datetime.date(2024, 1, 2)) - midnight == 86_400


@pytest.mark.skipif(not Path("/usr/share/zoneinfo/America/New_York").exists(), reason="no tzdata")
def test_day_start_is_local_midnight(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        # midnight in New York on 2024-01-01 is 05:00 UTC
        utc = datetime.datetime(2024, 1, 1, 5, tzinfo=datetime.UTC)
        assert After(datetime.date(2024, 1, 1)).start == int(utc.timestamp())
    finally:
        monkeypatch.undo()
        time.tzset()


def test_juxtaposition_is_and_and_binds_tighter_than_or() -> None:
    a, b, c, d = (word(x) for x in "abcd")
    assert parse("a b") == And((a, b))
    assert parse("a AND b") == And((a, b))
    assert parse("a OR b c") == Or((a, And((b, c))))
    assert parse("a b OR c d") == Or((And((a, b)), And((c, d))))
    assert parse("a AND b OR c") == Or((And((a, b)), c))
    assert parse("(a OR b) c") == And((Or((a, b)), c))
    assert parse("a OR b OR c") == Or((a, b, c))
    assert parse("((a))") == a
    assert parse("a (b (c d))") == And((a, b, c, d))


def test_negation() -> None:
    a, b = word("a"), word("b")
    assert parse("-a") == Not(a)
    assert parse("NOT a") == Not(a)
    assert parse("NOT a b") == And((Not(a), b))
    assert parse("-(a OR b)") == Not(Or((a, b)))
    assert parse('-"a b"') == Not(phrase("a b"))
    assert parse("-from:a") == Not(word("a", Field.FROM))
    assert parse("NOT NOT a") == Not(Not(a))
    assert parse("a -b") == And((a, Not(b)))
    assert parse("a OR -b") == Or((a, Not(b)))


def test_operators_are_capitals_only() -> None:
    a, b = word("a"), word("b")
    assert parse("do not reply") == And((word("do"), word("not"), word("reply")))
    assert parse("a or b") == And((a, word("or"), b))
    assert parse("a and b") == And((a, word("and"), b))
    assert parse("a and b or c") == And((a, word("and"), b, word("or"), word("c")))
    assert parse("not a") == And((word("not"), a))
    for mixed in ("Or", "oR", "And", "aNd", "Not", "nOT"):
        assert parse(f"a {mixed} b") == And((a, word(mixed), b))


def test_lower_case_operators_alone_or_at_the_edges_are_words() -> None:
    assert parse("not") == word("not")
    assert parse("or") == word("or")
    assert parse("and") == word("and")
    assert parse("a or") == And((word("a"), word("or")))
    assert parse("or a") == And((word("or"), word("a")))
    assert parse("(a not)") == And((word("a"), word("not")))


def test_lower_case_operators_mix_with_capital_ones() -> None:
    a, b = word("a"), word("b")
    assert parse("a OR or") == Or((a, word("or")))
    assert parse("NOT not") == Not(word("not"))
    assert parse("-not") == Not(word("not"))
    assert parse("-or a") == And((Not(word("or")), a))
    assert parse("do NOT reply") == And((word("do"), Not(word("reply"))))
    assert parse("a and b OR c") == Or((And((a, word("and"), b)), word("c")))
    assert parse("(a or b) OR c") == Or((And((a, word("or"), b)), word("c")))
    assert parse("a AND and") == And((a, word("and")))
    assert parse("from:not OR subject:or") == Or(
        (word("not", Field.FROM), word("or", Field.SUBJECT))
    )


def test_hyphen_inside_a_word_is_not_negation() -> None:
    assert parse("e-mail") == word("e-mail")
    assert parse("a - b") == And((word("a"), word("b")))
    assert parse("a -* --") == word("a")
    assert parse("--b") == Not(Not(word("b")))


def test_quotes_make_operators_and_colons_plain_text() -> None:
    assert parse('"or"') == phrase("or")
    assert parse('"OR"') == phrase("OR")
    assert parse('a "OR" b') == And((word("a"), phrase("OR"), word("b")))
    assert parse('"do NOT reply"') == phrase("do NOT reply")
    assert parse('"NOT" "and"') == And((phrase("NOT"), phrase("and")))
    assert parse('"http://example.test"') == phrase("http://example.test")
    assert parse('"foo:bar"') == phrase("foo:bar")
    assert parse('"12:30"') == phrase("12:30")
    assert parse('"a(b)c"') == phrase("a(b)c")


def test_words_with_a_colon_that_are_no_prefix() -> None:
    assert parse("12:30") == word("12:30")
    assert parse("Re: hello") == And((word("Re:"), word("hello")))


def test_words_without_letters_or_digits_are_skipped() -> None:
    assert parse("a & b") == And((word("a"), word("b")))
    assert parse('a "" b') == And((word("a"), word("b")))
    assert parse("a OR * b") == Or((word("a"), word("b")))


def test_quote_ends_a_bare_word() -> None:
    assert parse('say"hello world"') == And((word("say"), phrase("hello world")))


def test_hostile_text_is_just_text() -> None:
    assert parse('from:"a\\" OR 1=1') == Or((phrase("a\\", Field.FROM), word("1=1")))
    assert parse('subject:"\'); DROP TABLE message; --"') == phrase(
        "'); DROP TABLE message; --", Field.SUBJECT
    )


def test_query_error_is_a_mail_error_with_a_title() -> None:
    with pytest.raises(QueryError) as caught:
        parse("foo:bar")
    assert isinstance(caught.value, MailError)
    assert caught.value.title == "Invalid search"
    assert caught.value.offset == 0
    assert str(caught.value) == caught.value.message


def test_unknown_prefix_names_it_the_known_ones_and_the_way_out() -> None:
    with pytest.raises(QueryError) as caught:
        parse("hello foo:bar")
    message = caught.value.message
    assert "'foo:'" in message
    assert "position 7" in message
    for prefix in ("from:", "to:", "subject:", "body:", "has:", "is:", "before:", "after:"):
        assert prefix in message
    assert '"foo:bar"' in message
    assert caught.value.offset == 6


@pytest.mark.parametrize(
    ("text", "fragments", "offset"),
    [
        ("http://x", ["'http:'", "position 1", '"http://x"'], 0),
        ('foo:"bar"', ["'foo:'", "position 1"], 0),
        ("is:bogus", ["'is:bogus'", "is:unread", "is:draft"], 0),
        ("a has:pdf", ["'has:pdf'", "position 3", "has:attachment"], 2),
        ("before:2024-13-01", ["'before:2024-13-01'", "YYYY-MM-DD", "7d"], 0),
        ("after:tomorrow", ["'after:tomorrow'", "not a date"], 0),
        ("after:99999y", ["'after:99999y'", "not a date"], 0),
        ("after:20240101", ["not a date"], 0),
        ("from:", ["'from:'", "after the colon", "from:alice"], 0),
        ("a to: b", ["'to:'", "position 3"], 2),
        ('subject:""', ["after the colon"], 0),
        ("from:***", ["'from:***'", "nothing to search for"], 0),
        ('x "unclosed', ["quote at position 3", "never closed"], 2),
        ('subject:"open', ["quote at position 9"], 8),
        ("(a OR b", ["'(' at position 1", "never closed"], 0),
        ("a OR b)", ["')' at position 7", "closes no '('"], 6),
        (")", ["')' at position 1"], 0),
        ("a ()", ["parentheses at position 3 are empty"], 2),
        ("OR a", ["'OR' at position 1", "before it"], 0),
        ("AND a", ["'AND' at position 1", "before it"], 0),
        ("or OR", ["'OR' at position 4", "after it"], 3),
        ("not NOT", ["'NOT' at position 5", "after it"], 4),
        ("a OR", ["'OR' at position 3", "after it"], 2),
        ("a AND", ["'AND' at position 3", "after it"], 2),
        ("a OR OR b", ["'OR' at position 3", "after it"], 2),
        ("a AND OR b", ["'AND' at position 3"], 2),
        ("NOT", ["'NOT' at position 1", "after it"], 0),
        ('a -"*"', ["'-' at position 3", "after it"], 2),
        ("(a OR)", ["'OR' at position 4"], 3),
    ],
)
def test_errors_name_the_term_and_position(text: str, fragments: list[str], offset: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    for fragment in fragments:
        assert fragment in caught.value.message
    assert caught.value.offset == offset
