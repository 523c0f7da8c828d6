"""Client-side message threading (JWZ): replies placed under the messages they answer."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from tuimail.mime.subject import base_subject, is_reply_subject

# Only the nearest ancestors of a message are linked; RFC 5322 lets mailers trim References
# anyway, and the messages further up carry their own References.
_MAX_REFS = 256
# A link whose loop check would climb more than this many ancestors is refused: no real thread
# is that deep, and the bound keeps hostile input from costing quadratic time.
_MAX_CLIMB = 10_000
_NONE = -1
_STRIP = " \t\r\n<>"
_UNKNOWN = float("-inf")
# Roots competing for a base subject: a dummy wins over a message, an original over a reply.
_DUMMY, _ORIGINAL, _REPLY = 0, 1, 2


@dataclass(frozen=True, slots=True)
class ThreadItem:
    """What threading needs to know about one message."""

    key: int
    """The cache row id of the message."""
    message_id: str
    """May be empty, bracketed or not, or shared with another message."""
    in_reply_to: str
    references: tuple[str, ...]
    subject: str
    date: int | None
    """Epoch seconds; None when unknown (sorts as older than any known date)."""


@dataclass(frozen=True, slots=True)
class ThreadRow:
    """One message as a line of the threaded list."""

    key: int
    """The message's key."""
    depth: int
    """Indent: 0 for a thread's top message(s)."""
    thread: int
    """The key of the first row of the thread (the same on all rows of it)."""
    size: int
    """Messages in the thread (the same on all rows of it)."""
    latest: int | None
    """The newest date in the thread."""


def build_threads(items: Iterable[ThreadItem], *, newest_first: bool = True) -> list[ThreadRow]:
    """Every message once, grouped into threads, in display order.

    Threads come newest first (or oldest first) by their newest message, ties by thread key;
    inside a thread replies follow their parent depth first, siblings oldest first.
    """
    msgs = list(items)
    parent = _link(msgs)
    roots, kids = _visible_tree(parent, len(msgs))
    roots = _group_by_subject(roots, kids, msgs, len(parent))
    return _rows(roots, kids, msgs, newest_first=newest_first)


# Containers are ints: message i is container i; dummies (ids seen only in References or
# In-Reply-To, and roots made to join replies by subject) are numbered from len(msgs) up.


def _msg_id(text: str) -> str:
    """The first message-id in a header value, without angle brackets and spaces."""
    start = text.find("<")
    if start >= 0:
        end = text.find(">", start)
        text = text[start + 1 : end if end >= 0 else len(text)]
    words = text.replace(">", " ").split(None, 1)
    return words[0] if words else ""


def _ancestors(references: Sequence[str], in_reply_to: str, own: str) -> Iterable[str]:
    """Ids of a message's ancestors, root first, without repeats or the message itself."""
    if len(references) > 4 * _MAX_REFS:
        references = references[-4 * _MAX_REFS :]
    tokens = " ".join(references).replace("<", " ").replace(">", " ").split()
    if in_reply_to:  # names the parent when References stop short of it or are missing
        direct = in_reply_to.strip(_STRIP)
        if not tokens or direct != tokens[-1]:
            direct = _msg_id(in_reply_to)
            if direct and direct not in tokens:
                tokens.append(direct)
    unique = dict.fromkeys(tokens)
    unique.pop(own, None)
    if len(unique) > _MAX_REFS:
        return list(unique)[-_MAX_REFS:]
    return unique


def _would_loop(child: int, new_parent: int, parent: list[int], kids: list[int]) -> bool:
    """Whether hanging child under new_parent makes a cycle (or the check climbs too far)."""
    if child == new_parent:
        return True
    if not kids[child]:
        return False  # a leaf cannot be an ancestor of its new parent
    node = new_parent
    for _ in range(_MAX_CLIMB):
        if node == child:
            return True
        node = parent[node]
        if node < 0:
            return False
    return True


def _link(msgs: list[ThreadItem]) -> list[int]:
    """The parent of every container, linked by References then In-Reply-To; -1 at the top."""
    count = len(msgs)
    owns = [msg.message_id.strip(_STRIP) for msg in msgs]
    odd = [index for index, own in enumerate(owns) if ">" in own or "<" in own or " " in own]
    for index in odd:
        owns[index] = _msg_id(msgs[index].message_id)
    # the first message with an id owns it; a later duplicate keeps a container of its own
    table = dict(zip(reversed(owns), range(count - 1, -1, -1), strict=True))
    table.pop("", None)
    parent = [_NONE] * count
    kids = [0] * count
    for index, msg in enumerate(msgs):
        if not msg.references and not msg.in_reply_to:
            continue
        previous = _NONE
        for ref in _ancestors(msg.references, msg.in_reply_to, owns[index]):
            node = table.get(ref, _NONE)
            if node < 0:
                node = table[ref] = len(parent)
                parent.append(previous)
                kids.append(0)
                if previous >= 0:
                    kids[previous] += 1
            elif (
                previous >= 0 and parent[node] < 0 and not _would_loop(node, previous, parent, kids)
            ):
                parent[node] = previous
                kids[previous] += 1
            previous = node
        # the message's own headers outrank what other messages implied about its parent
        if (
            previous >= 0
            and parent[index] != previous
            and not _would_loop(index, previous, parent, kids)
        ):
            old = parent[index]
            if old >= 0:
                kids[old] -= 1
            parent[index] = previous
            kids[previous] += 1
    return parent


def _visible_tree(parent: list[int], count: int) -> tuple[list[int], dict[int, list[int]]]:
    """Roots and children once dummies are pruned: only top dummies with 2+ children stay."""
    roots: list[int] = []
    kids: dict[int, list[int]] = {}
    tops: dict[int, list[int]] = {}
    # for a dummy below the top: its nearest ancestor that is a message or a top dummy
    above: dict[int, int] = {}
    for node in range(count):
        up = parent[node]
        if up < 0:
            roots.append(node)
            continue
        if up >= count:
            path: list[int] = []
            while up >= count and parent[up] >= 0:
                known = above.get(up)
                if known is not None:
                    up = known
                    break
                path.append(up)
                up = parent[up]
            for dummy in path:
                above[dummy] = up
            if up >= count:
                tops.setdefault(up, []).append(node)
                continue
        siblings = kids.get(up)
        if siblings is None:
            kids[up] = [node]
        else:
            siblings.append(node)
    for dummy, children in tops.items():
        if len(children) == 1:
            roots.append(children[0])
        else:
            roots.append(dummy)
            kids[dummy] = children
    return roots, kids


def _subject_key(subject: str) -> tuple[str, bool]:
    """The case-folded base subject and whether the subject is a reply."""
    if ":" not in subject and "[" not in subject and "\uff1a" not in subject:
        # no prefix or list tag to remove
        return " ".join(subject.split()).casefold(), False
    return base_subject(subject).casefold(), is_reply_subject(subject)


def _group_by_subject(
    roots: list[int], kids: dict[int, list[int]], msgs: list[ThreadItem], next_id: int
) -> list[int]:
    """Roots after joining threads whose base subjects match when at least one is a reply."""
    count = len(msgs)
    # a dummy or a reply at the top can join others; an original only receives them
    ranked: dict[int, tuple[str, int, ThreadItem]] = {}
    originals: list[tuple[str, int]] = []
    known: dict[str, tuple[str, bool]] = {}  # subjects repeat: notifications, lists, replies
    for root in roots:
        first = msgs[root] if root < count else min((msgs[n] for n in kids[root]), key=_when)
        subject = first.subject
        key = known.get(subject)
        if key is None:
            key = known[subject] = _subject_key(subject)
        base, reply = key
        if not base:
            continue
        if root < count:
            if not reply:
                originals.append((base, root))
                continue
            rank = _REPLY
        else:
            rank = _DUMMY
        ranked[root] = (base, rank, first)
    if not ranked:
        return roots
    wanted = {base for base, _, _ in ranked.values()}
    for base, root in originals:
        if base in wanted:
            ranked[root] = (base, _ORIGINAL, msgs[root])
    return _join(roots, kids, ranked, next_id)


def _join(
    roots: list[int],
    kids: dict[int, list[int]],
    ranked: dict[int, tuple[str, int, ThreadItem]],
    next_id: int,
) -> list[int]:
    """Roots after joining the ranked ones that share a base subject (JWZ's subject step)."""
    # per base subject, the root the others join: best rank, then the oldest first message
    best: dict[str, tuple[int, float, int, int]] = {}
    for root, (base, rank, first) in ranked.items():
        candidate = (rank, *_when(first), root)
        held = best.get(base)
        if held is None or candidate < held:
            best[base] = candidate
    table = {base: held[-1] for base, held in best.items()}
    ranks = {root: rank for root, (_, rank, _) in ranked.items()}
    joined: set[int] = set()
    created: list[int] = []
    for root, (base, rank, _) in ranked.items():
        target = table[base]
        if target == root or root in joined:
            continue
        target_rank = ranks[target]
        if target_rank == _DUMMY:
            if rank == _DUMMY:
                kids[target].extend(kids.pop(root))
            else:
                kids[target].append(root)
            joined.add(root)
        elif target_rank == _ORIGINAL:
            if rank == _REPLY:
                kids.setdefault(target, []).append(root)
                joined.add(root)
            # two originals with one subject are unrelated messages
        else:  # replies to the same lost original become siblings under a new dummy
            dummy = next_id + len(created)
            created.append(dummy)
            kids[dummy] = [target, root]
            ranks[dummy] = _DUMMY
            table[base] = dummy
            joined.update((target, root))
    if not joined:
        return roots
    return [root for root in roots if root not in joined] + created


def _when(msg: ThreadItem) -> tuple[float, int]:
    """Sort key of a message among its siblings: date (unknown first), then key."""
    return (_UNKNOWN if msg.date is None else msg.date, msg.key)


def _rows(
    roots: list[int], kids: dict[int, list[int]], msgs: list[ThreadItem], *, newest_first: bool
) -> list[ThreadRow]:
    """The threads flattened depth first and ordered by their newest message."""
    count = len(msgs)
    sign = -1 if newest_first else 1
    unknown = sign * _UNKNOWN

    def sibling_key(node: int) -> tuple[float, int]:
        return _when(msgs[node])

    # per thread: (newest date signed for sorting, first key, start, end, newest date); a
    # message on its own has its index as start and end -1, longer threads are the slice
    # start:end of keys and depths
    alone = [root for root in roots if root not in kids]
    order: list[tuple[float, int, int, int, int | None]] = [
        (unknown if msg.date is None else sign * msg.date, msg.key, root, -1, msg.date)
        for root, msg in zip(alone, [msgs[root] for root in alone], strict=True)
    ]
    keys: list[int] = []
    depths: list[int] = []
    for root in roots:
        below = kids.get(root)
        if below is None:
            continue
        start = len(keys)
        if root < count:
            stack, levels = [root], [0]
        else:  # a dummy: its children are the thread's top messages
            below.sort(key=sibling_key)
            stack, levels = below[::-1], [0] * len(below)
        latest: int | None = None
        while stack:
            msg = msgs[stack[-1]]
            below = kids.get(stack.pop())
            depth = levels.pop()
            keys.append(msg.key)
            depths.append(depth)
            if msg.date is not None and (latest is None or msg.date > latest):
                latest = msg.date
            if below:
                if len(below) > 1:
                    below.sort(key=sibling_key)
                stack.extend(reversed(below))
                levels.extend([depth + 1] * len(below))
        newest = unknown if latest is None else sign * latest
        order.append((newest, keys[start], start, len(keys), latest))
    order.sort()  # never compares the last field: start and end tell threads apart
    result: list[ThreadRow] = []
    append = result.append
    for _, first, start, end, latest in order:
        if end < 0:
            append(ThreadRow(first, 0, first, 1, latest))
        else:
            size = end - start
            for key, depth in zip(keys[start:end], depths[start:end], strict=True):
                append(ThreadRow(key, depth, first, size, latest))
    return result


def collapse(rows: Sequence[ThreadRow], expanded: Collection[int]) -> list[ThreadRow]:
    """The rows shown when threads are collapsed: each thread's first row, and every row of the
    threads whose key (``ThreadRow.thread``) is in ``expanded``."""
    return [row for row in rows if row.key == row.thread or row.thread in expanded]


def thread_keys(rows: Sequence[ThreadRow], thread: int) -> list[int]:
    """The keys of one thread's messages, in display order."""
    return [row.key for row in rows if row.thread == thread]
