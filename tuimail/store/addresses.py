"""Addresses seen in the cache, for completing what a person types in To and Cc."""

from __future__ import annotations

import sqlite3

from tuimail.model.message import Address
from tuimail.store.codec import unpack_addresses


def complete(db: sqlite3.Connection, prefix: str, limit: int = 8) -> list[Address]:
    """Addresses whose name or address starts (at a word) with ``prefix``, most frequent first."""
    needle = prefix.strip().casefold()
    if not needle:
        return []
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for (packed,) in db.execute(
        "SELECT sender FROM message WHERE lower(sender) LIKE ? ESCAPE '\\'"
        " UNION ALL SELECT recipients FROM message WHERE lower(recipients) LIKE ? ESCAPE '\\'"
        " LIMIT 5000",
        (pattern, pattern),
    ):
        for address in unpack_addresses(packed):
            email = address.email.casefold()
            words = [email, *address.name.casefold().split()]
            if not any(word.startswith(needle) for word in words):
                continue
            counts[email] = counts.get(email, 0) + 1
            if address.name and email not in names:
                names[email] = address.name
            names.setdefault(email, "")
    ranked = sorted(counts, key=lambda email: (-counts[email], email))[:limit]
    return [Address(names.get(email, ""), email) for email in ranked]
