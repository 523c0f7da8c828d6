"""The search language: a query typed by a person, parsed into a small tree of frozen terms."""

from __future__ import annotations

import datetime
import enum
import re
from dataclasses import dataclass
from typing import TypeAlias

from tuimail.model.errors import MailError


class QueryError(MailError):
    """A search query cannot be understood; the message names the wrong term and its place."""

    title = "Invalid search"

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        """Index into the query text of the term that is wrong, or None for the query as a whole."""


class Field(enum.StrEnum):
    """Where a piece of text is looked for."""

    ANY = "any"
    """Subject, sender, recipients and body."""
    FROM = "from"
    TO = "to"
    """To or Cc."""
    SUBJECT = "subject"
    BODY = "body"


class Status(enum.StrEnum):
    """The flag states ``is:`` can ask for."""

    UNREAD = "unread"
    READ = "read"
    FLAGGED = "flagged"
    UNFLAGGED = "unflagged"
    ANSWERED = "answered"
    DRAFT = "draft"


@dataclass(frozen=True)
class Text:
    """Messages whose ``field`` contains ``value``."""

    value: str
    """What the person typed, with runs of white space made single spaces."""
    field: Field = Field.ANY
    phrase: bool = False
    """True when the person put the text in quotes: an exact phrase, not a word prefix."""


@dataclass(frozen=True)
class Is:
    """Messages in a flag state (``is:unread`` ...)."""

    status: Status


@dataclass(frozen=True)
class HasAttachment:
    """Messages with at least one attachment."""


@dataclass(frozen=True)
class Before:
    """Messages dated before the start of ``day`` (that day itself excluded)."""

    day: datetime.date

    @property
    def start(self) -> int:
        """The start of ``day`` in local time, as epoch seconds."""
        return day_start(self.day)


@dataclass(frozen=True)
class After:
    """Messages dated on ``day`` or later (that day itself included)."""

    day: datetime.date

    @property
    def start(self) -> int:
        """The start of ``day`` in local time, as epoch seconds."""
        return day_start(self.day)


@dataclass(frozen=True)
class And:
    """Messages matching every term."""

    terms: tuple[Query, ...]


@dataclass(frozen=True)
class Or:
    """Messages matching at least one term."""

    terms: tuple[Query, ...]


@dataclass(frozen=True)
class Not:
    """Messages not matching ``term``."""

    term: Query


@dataclass(frozen=True)
class Everything:
    """Every message: what an empty query means."""


Query: TypeAlias = Text | Is | HasAttachment | Before | After | And | Or | Not | Everything
"""A parsed search query."""


def day_start(day: datetime.date) -> int:
    """Epoch seconds of the first moment of ``day`` in local time."""
    return int(datetime.datetime.combine(day, datetime.time()).timestamp())


def searchable(text: str) -> bool:
    """Whether ``text`` has a letter or digit, the only characters a search can look for."""
    return any(ch.isalnum() for ch in text)


_TEXT_PREFIXES = {
    "from": Field.FROM,
    "to": Field.TO,
    "subject": Field.SUBJECT,
    "body": Field.BODY,
}
_PREFIXES = ("from", "to", "subject", "body", "has", "is", "before", "after")
_KNOWN = ", ".join(f"{name}:" for name in _PREFIXES)
_STATUSES = {status.value: status for status in Status}
_ATTACHMENT = ("attachment", "attachments")
_OPERATORS = ("AND", "OR", "NOT")
_PREFIXED = re.compile(r"([^\W\d_]+):(.*)", re.DOTALL)
_ABSOLUTE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_RELATIVE = re.compile(r"(\d{1,5})([dwmy])", re.IGNORECASE)
_DATE_HELP = (
    "Write a date as YYYY-MM-DD, today, yesterday, or a span back from today such as 7d, 2w, "
    "3m or 1y."
)
_WORD_END = frozenset('()"')


class _Kind(enum.Enum):
    OPEN = "("
    CLOSE = ")"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    TERM = "term"


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    offset: int
    text: str
    term: Query | None = None


def parse_query(text: str, *, today: datetime.date | None = None) -> Query:
    """The query a person typed, as a tree of terms.

    Words side by side must all match (AND); ``OR`` joins alternatives and binds more loosely
    than AND; ``NOT`` or a leading ``-`` negates; parentheses group. Operators are written in
    capitals (``or`` and ``not`` are words, so "do not reply" finds that phrase's words); a
    quoted ``"OR"`` is how to look for the capitalised word itself. Prefixes are
    case-insensitive. Free words and
    ``"quoted phrases"`` look in subject, sender, recipients and body; ``from:``, ``to:`` (To or
    Cc), ``subject:`` and ``body:`` look in one place. ``is:`` takes unread, read, flagged,
    unflagged, answered or draft; ``has:attachment``. ``after:DATE`` means on or after the start
    of that day, ``before:DATE`` means before the start of that day (the day itself excluded),
    both in local time; DATE is YYYY-MM-DD (or YYYY/MM/DD), ``today``, ``yesterday``, or ``Nd``,
    ``Nw``, ``Nm``, ``Ny``: that many days, weeks, calendar months or years before ``today``
    (the real date unless given). Any other ``word:value`` is an error, so text with a colon
    in it goes in quotes (a bare ``Re:`` with nothing after the colon is just a word). A word
    with no letter or digit in it (``-``, ``&``) is skipped; an empty query matches everything.

    Raises QueryError naming the wrong term and its position.
    """
    tokens = _lex(text, today or datetime.date.today())
    if not tokens:
        return Everything()
    parser = _Parser(tokens)
    query = parser.parse_or()
    if parser.peek() is not None:
        token = parser.tokens[parser.index]
        raise QueryError(
            f"{_where(token)}: this ')' closes no '('. Remove it or add a '(' before it.",
            offset=token.offset,
        )
    return query


def _where(token: _Token) -> str:
    return f"'{token.text}' at position {token.offset + 1}"


def _lex(text: str, today: datetime.date) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    end = len(text)
    while i < end:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token(_Kind.OPEN if ch == "(" else _Kind.CLOSE, i, ch))
            i += 1
        elif ch == "-" and _negates(text, i + 1):
            tokens.append(_Token(_Kind.NOT, i, "-"))
            i += 1
        elif ch == '"':
            value, after = _quoted(text, i)
            if searchable(value):
                term = Text(value, phrase=True)
                tokens.append(_Token(_Kind.TERM, i, text[i:after], term))
            i = after
        else:
            token, j = _word(text, i, _bare_end(text, i), today)
            if token is not None:
                tokens.append(token)
            i = j
    return tokens


def _bare_end(text: str, start: int) -> int:
    """Where the bare word starting at ``start`` ends."""
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in _WORD_END:
        end += 1
    return end


def _negates(text: str, start: int) -> bool:
    """Whether a ``-`` before ``start`` negates what follows rather than being a skipped word."""
    if start < len(text) and text[start] in '("':
        return True
    return searchable(text[start : _bare_end(text, start)])


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The phrase in the quotes opening at ``start`` and the index just past its closing quote."""
    close = text.find('"', start + 1)
    if close < 0:
        raise QueryError(
            f"The quote at position {start + 1} is never closed. Add a '\"' after the phrase.",
            offset=start,
        )
    return " ".join(text[start + 1 : close].split()), close + 1


def _word(text: str, start: int, end: int, today: datetime.date) -> tuple[_Token | None, int]:
    """The token for the bare word ``text[start:end]`` (None: skipped) and where to go on."""
    word = text[start:end]
    if word in _OPERATORS:  # upper case only: "do not reply" is three words, as in Gmail
        return _Token(_Kind(word), start, word), end
    match = _PREFIXED.fullmatch(word)
    if match is None:
        term = Text(word) if searchable(word) else None
        return (None if term is None else _Token(_Kind.TERM, start, word, term)), end
    prefix, value = match.group(1).lower(), match.group(2)
    quoted = not value and end < len(text) and text[end] == '"'
    if prefix not in _PREFIXES:
        if not value and not quoted:
            # "Re:" or "fix:" pasted from a subject line: a plain word, not a prefix.
            term = Text(word) if searchable(word) else None
            return (None if term is None else _Token(_Kind.TERM, start, word, term)), end
        raise QueryError(
            f"Unknown search prefix '{match.group(1)}:' at position {start + 1}. The known "
            f"prefixes are {_KNOWN}. To look for text with a colon in it, put it in quotes: "
            f'"{word}".',
            offset=start,
        )
    if quoted:
        value, end = _quoted(text, end)
    term_text = text[start:end]
    if not value:
        raise QueryError(
            f"'{term_text}' at position {start + 1} needs something after the colon, "
            f"for example {_example(prefix)}.",
            offset=start,
        )
    query = _prefixed(prefix, value, quoted, term_text, offset=start, today=today)
    return _Token(_Kind.TERM, start, term_text, query), end


def _example(prefix: str) -> str:
    return {
        "from": "from:alice",
        "to": "to:bob@example.com",
        "subject": 'subject:"weekly report"',
        "body": "body:invoice",
        "has": "has:attachment",
        "is": "is:unread",
        "before": "before:2024-01-31",
        "after": "after:7d",
    }[prefix]


def _prefixed(
    prefix: str, value: str, quoted: bool, term_text: str, *, offset: int, today: datetime.date
) -> Query:
    where = f"'{term_text}' at position {offset + 1}"
    field = _TEXT_PREFIXES.get(prefix)
    if field is not None:
        if not searchable(value):
            raise QueryError(
                f"{where} has nothing to search for: only letters and digits can be searched.",
                offset=offset,
            )
        return Text(value, field, phrase=quoted)
    if prefix == "has":
        if value.lower() not in _ATTACHMENT:
            raise QueryError(
                f"{where} is not understood: the only has: search is has:attachment.",
                offset=offset,
            )
        return HasAttachment()
    if prefix == "is":
        status = _STATUSES.get(value.lower())
        if status is None:
            choices = ", ".join(f"is:{name}" for name in _STATUSES)
            raise QueryError(f"{where} is not understood. Use one of {choices}.", offset=offset)
        return Is(status)
    day = _date(value, today)
    if day is None:
        raise QueryError(f"{where} is not a date. {_DATE_HELP}", offset=offset)
    return Before(day) if prefix == "before" else After(day)


def _date(value: str, today: datetime.date) -> datetime.date | None:
    """The day ``value`` names, or None if it names none."""
    lowered = value.lower()
    if lowered == "today":
        return today
    if lowered == "yesterday":
        return today - datetime.timedelta(days=1)
    try:
        absolute = _ABSOLUTE.fullmatch(value)
        if absolute is not None:
            year, month, day = (int(part) for part in absolute.groups())
            return datetime.date(year, month, day)
        relative = _RELATIVE.fullmatch(value)
        if relative is None:
            return None
        count, unit = int(relative.group(1)), relative.group(2).lower()
        if unit == "d":
            return today - datetime.timedelta(days=count)
        if unit == "w":
            return today - datetime.timedelta(weeks=count)
        return _months_back(today, count if unit == "m" else 12 * count)
    except (ValueError, OverflowError):
        return None


def _months_back(today: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` calendar months earlier, clamped to the end of a shorter month."""
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for day in range(today.day, 27, -1):
        try:
            return datetime.date(year, month, day)
        except ValueError:
            continue
    return datetime.date(year, month, min(today.day, 28))


class _Parser:
    """Recursive descent over the tokens: or := and (OR and)*, and := unary (AND? unary)*."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> _Kind | None:
        return self.tokens[self.index].kind if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _starts_term(self) -> bool:
        return self.peek() in (_Kind.TERM, _Kind.OPEN, _Kind.NOT)

    def _need_right(self, operator: _Token) -> None:
        if not self._starts_term():
            raise QueryError(
                f"{_where(operator)} needs a search term after it.", offset=operator.offset
            )

    def parse_or(self) -> Query:
        terms = [self.parse_and()]
        while self.peek() is _Kind.OR:
            operator = self.take()
            self._need_right(operator)
            terms.append(self.parse_and())
        return _join(Or, terms)

    def parse_and(self) -> Query:
        terms = [self.parse_unary()]
        while True:
            if self.peek() is _Kind.AND:
                operator = self.take()
                self._need_right(operator)
            elif not self._starts_term():
                break
            terms.append(self.parse_unary())
        return _join(And, terms)

    def parse_unary(self) -> Query:
        if self.peek() is _Kind.NOT:
            operator = self.take()
            self._need_right(operator)
            return Not(self.parse_unary())
        return self.parse_primary()

    def parse_primary(self) -> Query:
        if self.index >= len(self.tokens):
            last = self.tokens[-1]
            raise QueryError(f"The query ends too early after {_where(last)}.", offset=last.offset)
        token = self.take()
        if token.kind is _Kind.TERM and token.term is not None:
            return token.term
        if token.kind is _Kind.OPEN:
            if self.peek() is _Kind.CLOSE:
                raise QueryError(
                    f"The parentheses at position {token.offset + 1} are empty. Put search "
                    "terms inside them or remove them.",
                    offset=token.offset,
                )
            inner = self.parse_or()
            if self.peek() is not _Kind.CLOSE:
                raise QueryError(
                    f"The '(' at position {token.offset + 1} is never closed. Add a ')'.",
                    offset=token.offset,
                )
            self.take()
            return inner
        if token.kind is _Kind.CLOSE:
            raise QueryError(
                f"{_where(token)}: this ')' closes no '('. Remove it or add a '(' before it.",
                offset=token.offset,
            )
        raise QueryError(
            f"{_where(token)} needs a search term before it.",
            offset=token.offset,
        )


def _join(kind: type[And] | type[Or], terms: list[Query]) -> Query:
    """One term as itself; several as ``kind``, with nested terms of the same kind flattened."""
    if len(terms) == 1:
        return terms[0]
    flat: list[Query] = []
    for term in terms:
        if isinstance(term, kind):
            flat.extend(term.terms)
        else:
            flat.append(term)
    return kind(tuple(flat))
