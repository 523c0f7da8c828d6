"""Search queries as SQL over the cache: columns of ``message`` and the FTS5 index."""

from __future__ import annotations

import re

from tuimail.model.message import Flag
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
    Status,
    Text,
)
from tuimail.store.codec import FLAG_BITS

_COLUMNS = {
    Field.ANY: "",
    Field.FROM: "{sender} : ",
    Field.TO: "{recipients} : ",
    Field.SUBJECT: "{subject} : ",
    Field.BODY: "{body} : ",
}
"""The FTS5 column filter for each field; the index's recipients column holds To and Cc."""

# The unicode61 tokenizer keeps letters and digits and splits on everything else.
_TOKEN = re.compile(r"[^\W_]+")

_STATUS_BITS: dict[Status, tuple[Flag, bool]] = {
    Status.UNREAD: (Flag.SEEN, False),
    Status.READ: (Flag.SEEN, True),
    Status.FLAGGED: (Flag.FLAGGED, True),
    Status.UNFLAGGED: (Flag.FLAGGED, False),
    Status.ANSWERED: (Flag.ANSWERED, True),
    Status.DRAFT: (Flag.DRAFT, True),
}
"""Each ``is:`` state as the flag it tests and whether that flag must be set."""

MIN_PREFIX = 3
"""A bare word matches longer words only from this many characters on: shorter prefixes expand
to so many index terms that one search takes most of a second on a large cache."""

_MATCH = "m.id IN (SELECT rowid FROM message_text WHERE message_text MATCH ?)"


def compile_query(query: Query) -> tuple[str, list[object]]:
    """An SQL boolean expression over ``message AS m`` matching ``query``, and its parameters.

    Text terms match whole tokens the way the full-text index splits them (letters and digits;
    case and accents ignored): a bare word of at least MIN_PREFIX characters also matches longer
    words it begins (``alic`` finds ``alice``); a shorter one, or a quoted phrase, matches exactly
    those words in that order. Addresses are split
    like any text, so ``from:alice@example.test`` is the phrase "alice example test". A text term
    with no letter or digit matches nothing. Messages without a date match neither ``before:``
    nor ``after:``. User text reaches SQLite only as parameters.
    """
    params: list[object] = []
    sql = _compile(query, params)
    return sql, params


def fts_phrase(term: Text) -> str | None:
    """The FTS5 expression for one text term, or None if it has nothing to search for."""
    tokens = _TOKEN.findall(term.value)
    if not tokens:
        return None
    quoted = '"' + " ".join(tokens).replace('"', '""') + '"'
    prefix = not term.phrase and len(tokens[-1]) >= MIN_PREFIX
    return _COLUMNS[term.field] + quoted + (" *" if prefix else "")


def _fts(query: Query) -> str | None:
    """``query`` as one FTS5 expression if it is made of text terms, AND and OR only."""
    if isinstance(query, Text):
        return fts_phrase(query)
    if isinstance(query, And | Or) and query.terms:
        parts = [_fts(term) for term in query.terms]
        if any(part is None for part in parts):
            return None
        joiner = " AND " if isinstance(query, And) else " OR "
        return joiner.join(f"({part})" for part in parts)
    return None


def _compile(query: Query, params: list[object]) -> str:
    expression = _fts(query)
    if expression is not None:
        params.append(expression)
        return _MATCH
    if isinstance(query, Text):
        return "0"
    if isinstance(query, Everything):
        return "1"
    if isinstance(query, HasAttachment):
        return "m.has_attachments != 0"
    if isinstance(query, Is):
        flag, is_set = _STATUS_BITS[query.status]
        params.append(FLAG_BITS[flag])
        return "(m.flags & ?) != 0" if is_set else "(m.flags & ?) = 0"
    if isinstance(query, Before | After):
        params.append(query.start)
        operator = "<" if isinstance(query, Before) else ">="
        return f"(m.date IS NOT NULL AND m.date {operator} ?)"
    if isinstance(query, Not):
        return f"NOT ({_compile(query.term, params)})"
    return _compile_group(query, params)


def _compile_group(query: And | Or, params: list[object]) -> str:
    """AND or OR of several terms, with their text terms merged into one full-text match."""
    if not query.terms:
        return "1" if isinstance(query, And) else "0"
    texts = [term for term in query.terms if _fts(term) is not None]
    others = [term for term in query.terms if _fts(term) is None]
    parts = []
    if texts:
        merged = texts[0] if len(texts) == 1 else type(query)(tuple(texts))
        parts.append(_compile(merged, params))
    parts.extend(_compile(term, params) for term in others)
    joiner = " AND " if isinstance(query, And) else " OR "
    return "(" + joiner.join(parts) + ")"
