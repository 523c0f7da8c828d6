"""Subjects compared the way people read them: reply and forward prefixes removed."""

from __future__ import annotations

import re

# "Re:", "RE[2]:", "Fwd:", "Fw:", "AW:" (German), "SV:" (Nordic), "VS:", "Antw:", "Ref:", "R:",
# "TR:" (French), "RV:"/"Rif:"; each optionally with a bracketed count, repeated.
_PREFIX = re.compile(
    r"^(?:\s*(?:re|fwd?|aw|sv|vs|antw|wg|tr|rv|rif|ref|r)(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*)+",
    re.IGNORECASE,
)
_LIST_TAG = re.compile(r"^\s*\[[^\]\s]{1,40}\]\s*")
_SPACE = re.compile(r"\s+")


def is_reply_subject(subject: str) -> bool:
    """Whether the subject starts with a reply or forward prefix."""
    return _PREFIX.match(subject) is not None


def base_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and a leading list tag, spaces collapsed.

    ``"Re: [dev] Fwd: Plans"`` and ``"Plans"`` have the same base subject ``"Plans"``.
    """
    text = subject
    while True:
        stripped = _PREFIX.sub("", text)
        stripped = _LIST_TAG.sub("", stripped) if stripped != text or text is subject else stripped
        if stripped == text:
            break
        text = stripped
    return _SPACE.sub(" ", text).strip()


def subject_sort_key(subject: str) -> str:
    """A key that sorts subjects case-insensitively and ignoring reply prefixes."""
    head = subject[:16]
    if ":" not in head and "\uff1a" not in head and "[" not in head:
        return " ".join(subject.split()).casefold()
    return base_subject(subject).casefold()
