"""Search queries as IMAP SEARCH criteria (RFC 3501) for imapclient's ``search()``."""

from __future__ import annotations

import datetime
import re
from typing import TypeAlias

from tuimail.model.search import (
    After,
    And,
    Before,
    Everything,
    Field,
    HasAttachment,
    Is,
    Not,
    Query,
    Status,
    Text,
    searchable,
)

_KEYS = {
    Field.ANY: "TEXT",
    Field.FROM: "FROM",
    Field.SUBJECT: "SUBJECT",
    Field.BODY: "BODY",
}
_STATUS_KEYS = {
    Status.UNREAD: "UNSEEN",
    Status.READ: "SEEN",
    Status.FLAGGED: "FLAGGED",
    Status.UNFLAGGED: "UNFLAGGED",
    Status.ANSWERED: "ANSWERED",
    Status.DRAFT: "DRAFT",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# imapclient sends a plain-ASCII string without spaces, quotes or backslashes as a bare atom, so
# these characters, which cannot stand in an atom, would change the command; values are cut there.
_NOT_IN_ATOM = re.compile(r"[(){%*\x00-\x1f\x7f]+")

_Item: TypeAlias = tuple[str, bool]
"""One criteria string and whether it may carry a closing parenthesis (it is never quoted)."""
_Key: TypeAlias = list[_Item]
"""One search key: a keyword with its arguments, or a parenthesised group."""


def imap_criteria(query: Query) -> list[str]:
    """``query`` as criteria for ``IMAPClient.search(criteria, charset="UTF-8")``.

    Text is a case-insensitive substring match on the server, so it finds a little more than the
    cache does (``from:lic`` finds alice there, not in the cache); a text term with no letter or
    digit matches nothing. ``to:`` is ``OR TO x CC x``; free words are TEXT (all headers and the
    body). ``after:D`` is ``SENTSINCE D`` and ``before:D`` is ``SENTBEFORE D``: like the
    cache, they compare the Date header, not the arrival date. IMAP has no attachment test, so
    ``has:attachment`` is approximated by ``OR HEADER Content-Type multipart/mixed HEADER
    Content-Disposition attachment``. Parentheses are glued to the neighbouring keyword
    (``(FROM``) because imapclient only adds them itself for nested lists, which it encodes as
    ASCII; a group that would end in a text value gets a closing
    ``ALL)`` key. Values are cut at characters that cannot appear unquoted in IMAP (``( ) { %
    *`` and controls) and each piece must match. An empty query is ``ALL``.
    """
    items: list[str] = []
    for key in _keys(query):
        items.extend(text for text, _ in key)
    return items or ["ALL"]


def imap_date(day: datetime.date) -> str:
    """``day`` as an RFC 3501 date, ``DD-Mon-YYYY``, in English whatever the locale."""
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year:04d}"


def _keys(query: Query) -> list[_Key]:
    """``query`` as search keys that all must match."""
    if isinstance(query, Everything):
        return []
    if isinstance(query, Text):
        return _text_keys(query)
    if isinstance(query, Is):
        return [[(_STATUS_KEYS[query.status], True)]]
    if isinstance(query, HasAttachment):
        return [
            [
                ("OR", True),
                ("HEADER", True),
                ("Content-Type", True),
                ("multipart/mixed", True),
                ("HEADER", True),
                ("Content-Disposition", True),
                ("attachment", True),
            ]
        ]
    if isinstance(query, Before | After):
        keyword = "SENTBEFORE" if isinstance(query, Before) else "SENTSINCE"
        return [[(keyword, True), (imap_date(query.day), True)]]
    if isinstance(query, Not):
        return [[("NOT", True), *_single(query.term)]]
    if isinstance(query, And):
        return [key for term in query.terms for key in _keys(term)]
    if not query.terms:
        return [[("NOT", True), ("ALL", True)]]
    key = _single(query.terms[-1])
    for term in reversed(query.terms[:-1]):
        key = [("OR", True), *_single(term), *key]
    return [key]


def _text_keys(term: Text) -> list[_Key]:
    if not searchable(term.value):
        return [
            [("NOT", True), ("ALL", True)]
        ]  # nothing to look for matches nothing, as in the cache
    pieces = [piece.strip() for piece in _NOT_IN_ATOM.split(term.value)]
    pieces = [piece for piece in pieces if piece]
    if term.field is Field.TO:
        return [
            [("OR", True), ("TO", True), (piece, False), ("CC", True), (piece, False)]
            for piece in pieces
        ]
    return [[(_KEYS[term.field], True), (piece, False)] for piece in pieces]


def _single(query: Query) -> _Key:
    """``query`` as exactly one search key, parenthesised when it takes several."""
    keys = _keys(query)
    if not keys:
        return [("ALL", True)]
    if len(keys) == 1:
        return keys[0]
    group = [item for key in keys for item in key]
    first, closable = group[0]
    group[0] = ("(" + first, closable)
    last, closable = group[-1]
    if closable:
        group[-1] = (last + ")", True)
    else:
        group.append(("ALL)", True))
    return group
