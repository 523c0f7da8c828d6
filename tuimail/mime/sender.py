"""Who a message is from, as a person should read it: addresses shown plainly, forgery signs."""

from __future__ import annotations

import re

from tuimail.mime.parse import ParsedMessage
from tuimail.model.message import Address

# Authentication-Results: "authserv-id; method=result (comment); ..." (RFC 8601).
_AUTH_FAIL = re.compile(r"(?<![\w.-])(dkim|spf|dmarc)\s*=\s*fail\b", re.IGNORECASE)
_SPECIALS = re.compile(r'[@<>()\[\],;:"\\]')
_COMMENT = re.compile(r"\([^()]*\)")
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"'@]+@[^\s<>()\[\],;:\"'@]+\.[^\s<>()\[\],;:\"'@.]+")


def forgery_reasons(parsed: ParsedMessage) -> list[str]:
    """Why the sender of a message may be forged; empty when nothing looks wrong.

    A DKIM, SPF or DMARC ``fail`` in Authentication-Results (added by the receiving servers),
    or a display name that carries an address other than the one the message is from.
    """
    reasons: list[str] = []
    failed: list[str] = []
    for result in parsed.auth_results:
        _authserv, _semicolon, methods = result.partition(";")
        for match in _AUTH_FAIL.finditer(_COMMENT.sub(" ", methods or result)):
            method = match.group(1).upper()
            if method not in failed:
                failed.append(method)
    if failed:
        checks = " and ".join(failed)
        reasons.append(f"{checks} check{'s' if len(failed) > 1 else ''} failed")
    for sender in parsed.sender:
        for shown in _ADDRESS.findall(sender.name):
            if shown.casefold() != sender.email.casefold():
                actual = sender.email or "no address"
                reasons.append(f"the name shows {shown}, the address is {actual}")
    return reasons


def display_address(address: Address) -> str:
    """An address as a person reads it; a name with specials (an address, say) in quotes."""
    if not address.name:
        return address.email
    name = address.name
    if _SPECIALS.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address.email}>"
