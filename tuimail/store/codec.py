"""How model values are packed into cache columns: flag bits, address lists, references."""

from __future__ import annotations

import functools

from tuimail.model.message import Address, Flag

FLAG_BITS: dict[Flag, int] = {
    Flag.SEEN: 1,
    Flag.ANSWERED: 2,
    Flag.FLAGGED: 4,
    Flag.DELETED: 8,
    Flag.DRAFT: 16,
}
"""The bit of ``message.flags`` that holds each system flag."""

_FIELD = "\t"
_ITEM = "\n"
_CLEAN = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


@functools.lru_cache(maxsize=256)
def flags_to_bits(flags: frozenset[Flag]) -> int:
    """The integer stored in ``message.flags`` for these flags."""
    bits = 0
    for flag in flags:
        bits |= FLAG_BITS[flag]
    return bits


def bits_to_flags(bits: int) -> frozenset[Flag]:
    """The flags an integer from ``message.flags`` stands for."""
    return frozenset(flag for flag, bit in FLAG_BITS.items() if bits & bit)


@functools.lru_cache(maxsize=16384)
def pack_addresses(addresses: tuple[Address, ...]) -> str:
    """Addresses as one column: ``name TAB email`` items, one per line.

    Tabs and line breaks inside names are turned into spaces first, so the packing can always be
    undone. The same text feeds the full-text index, whose tokenizer treats both as spaces.
    Cached: the same senders and recipients recur all over a mailbox.
    """
    if not addresses:
        return ""
    packed = _ITEM.join([a.name + _FIELD + a.email for a in addresses])
    if (
        packed.count(_FIELD) == len(addresses)
        and packed.count(_ITEM) == len(addresses) - 1
        and "\r" not in packed
    ):
        return packed
    return _ITEM.join(
        f"{a.name.translate(_CLEAN)}{_FIELD}{a.email.translate(_CLEAN)}" for a in addresses
    )


def unpack_addresses(packed: str) -> tuple[Address, ...]:
    """The addresses :func:`pack_addresses` packed."""
    if not packed:
        return ()
    result = []
    for item in packed.split(_ITEM):
        name, _, email = item.partition(_FIELD)
        result.append(Address(name, email))
    return tuple(result)


def pack_keywords(keywords: frozenset[str]) -> str:
    """IMAP keywords (atoms, never containing spaces) as one space-separated column."""
    return " ".join(sorted(keywords))


def unpack_keywords(packed: str) -> frozenset[str]:
    """The keywords :func:`pack_keywords` packed."""
    return frozenset(packed.split()) if packed else frozenset()
