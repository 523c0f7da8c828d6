"""Threading messages by References, In-Reply-To and subject, whatever the headers say."""

from __future__ import annotations

import random
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from tuimail.services.threads import ThreadItem, ThreadRow, build_threads, collapse, thread_keys


def msg(
    key: int,
    message_id: str = "",
    *,
    refs: tuple[str, ...] = (),
    reply_to: str = "",
    subject: str = "",
    date: int | None = None,
) -> ThreadItem:
    """A message for the tests; the date defaults to the key, so keys read as arrival order."""
    return ThreadItem(
        key=key,
        message_id=message_id,
        in_reply_to=reply_to,
        references=refs,
        subject=subject or f"subject {key}",
        date=key if date is None else date,
    )


def shape(rows: list[ThreadRow]) -> list[tuple[int, int]]:
    """(key, depth) per row, in order."""
    return [(row.key, row.depth) for row in rows]


def assert_well_formed(items: list[ThreadItem], rows: list[ThreadRow]) -> None:
    """Every message once; threads contiguous, consistent and in order; depths possible."""
    assert sorted(row.key for row in rows) == sorted(item.key for item in items)
    dates = {item.key: item.date for item in items}
    seen: set[int] = set()
    start = 0
    while start < len(rows):
        thread = rows[start].thread
        end = start
        while end < len(rows) and rows[end].thread == thread:
            end += 1
        assert thread not in seen, "a thread's rows are together"
        seen.add(thread)
        group = rows[start:end]
        assert group[0].key == thread
        assert group[0].depth == 0
        known = [date for row in group if (date := dates[row.key]) is not None]
        for row in group:
            assert row.size == len(group)
            assert row.latest == (max(known) if known else None)
        for above, below in pairwise(group):
            assert 0 <= below.depth <= above.depth + 1
        start = end


def test_reply_chain_nests_under_each_parent() -> None:
    items = [
        msg(1, "<a@x>", subject="Plans"),
        msg(2, "<b@x>", refs=("<a@x>",), reply_to="<a@x>", subject="Re: Plans"),
        msg(3, "<c@x>", refs=("<a@x>", "<b@x>"), reply_to="<b@x>", subject="Re: Plans"),
    ]
    rows = build_threads(items)
    assert rows == [
        ThreadRow(key=1, depth=0, thread=1, size=3, latest=3),
        ThreadRow(key=2, depth=1, thread=1, size=3, latest=3),
        ThreadRow(key=3, depth=2, thread=1, size=3, latest=3),
    ]


def test_order_of_input_does_not_matter_for_a_chain() -> None:
    items = [
        msg(3, "<c@x>", refs=("<a@x>", "<b@x>")),
        msg(2, "<b@x>", refs=("<a@x>",)),
        msg(1, "<a@x>"),
    ]
    assert shape(build_threads(items)) == [(1, 0), (2, 1), (3, 2)]


def test_missing_middle_message_leaves_no_row_and_the_reply_moves_up() -> None:
    items = [
        msg(1, "<a@x>"),
        msg(3, "<c@x>", refs=("<a@x>", "<b@x>")),  # b was never received
    ]
    rows = build_threads(items)
    assert shape(rows) == [(1, 0), (3, 1)]
    assert {row.thread for row in rows} == {1}


def test_replies_to_a_missing_root_share_one_thread_at_the_top() -> None:
    items = [
        msg(5, "<b@x>", refs=("<lost@x>",), subject="Re: Lost"),
        msg(7, "<c@x>", refs=("<lost@x>",), subject="Re: Lost"),
        msg(6, "<d@x>", refs=("<lost@x>", "<b@x>"), subject="Re: Lost"),
        msg(1, "<other@x>"),
    ]
    rows = build_threads(items)
    assert shape(rows) == [(5, 0), (6, 1), (7, 0), (1, 0)]
    assert [row.thread for row in rows] == [5, 5, 5, 1]
    assert [row.size for row in rows] == [3, 3, 3, 1]


def test_single_reply_to_a_missing_root_is_promoted() -> None:
    rows = build_threads([msg(2, "<b@x>", refs=("<lost@x>", "<gone@x>"))])
    assert rows == [ThreadRow(key=2, depth=0, thread=2, size=1, latest=2)]


def test_in_reply_to_alone_links_a_reply() -> None:
    items = [msg(1, "<a@x>"), msg(2, "<b@x>", reply_to="<a@x>"), msg(3, "<z@x>")]
    assert shape(build_threads(items, newest_first=False)) == [(1, 0), (2, 1), (3, 0)]


def test_in_reply_to_with_trailing_text_still_links() -> None:
    items = [msg(1, "<a@x>"), msg(2, "<b@x>", reply_to='<a@x> (message from "Ann")')]
    assert shape(build_threads(items)) == [(1, 0), (2, 1)]


def test_in_reply_to_names_the_parent_when_references_stop_short() -> None:
    items = [
        msg(1, "<a@x>"),
        msg(2, "<b@x>", refs=("<a@x>",)),
        msg(3, "<c@x>", refs=("<a@x>",), reply_to="<b@x>"),
    ]
    assert shape(build_threads(items)) == [(1, 0), (2, 1), (3, 2)]


def test_ids_match_with_or_without_brackets_and_spaces() -> None:
    items = [
        msg(1, "a@x"),
        msg(2, " <b@x> ", refs=("a@x",)),
        msg(3, "<c@x>", refs=(" <a@x>  <b@x>",)),  # one string holding two ids
        msg(4, "<d@x>", refs=("<a@x><b@x><c@x>",)),
    ]
    assert shape(build_threads(items)) == [(1, 0), (2, 1), (3, 2), (4, 3)]


def test_reply_subject_without_headers_joins_the_original() -> None:
    items = [
        msg(1, "<a@x>", subject="Plans for Friday"),
        msg(2, "<b@x>", subject="Re: Plans for Friday"),
        msg(3, "<c@x>", refs=("<b@x>",), subject="Re: Plans for Friday"),
    ]
    rows = build_threads(items)
    assert shape(rows) == [(1, 0), (2, 1), (3, 2)]
    assert {row.thread for row in rows} == {1}


def test_subject_match_ignores_prefixes_tags_case_and_spacing() -> None:
    items = [
        msg(1, "<a@x>", subject="[dev]  Release   PLAN"),
        msg(2, "<b@x>", subject="RE: Fwd: release plan"),
    ]
    assert shape(build_threads(items)) == [(1, 0), (2, 1)]


def test_two_originals_with_one_subject_stay_apart() -> None:
    items = [msg(1, "<a@x>", subject="Lunch?"), msg(2, "<b@x>", subject="Lunch?")]
    rows = build_threads(items)
    assert shape(rows) == [(2, 0), (1, 0)]
    assert [row.thread for row in rows] == [2, 1]
    assert [row.size for row in rows] == [1, 1]


def test_two_replies_to_an_unseen_original_become_siblings() -> None:
    items = [msg(1, "<a@x>", subject="Re: Lunch?"), msg(2, "<b@x>", subject="Re: Lunch?")]
    rows = build_threads(items)
    assert shape(rows) == [(1, 0), (2, 0)]
    assert [row.thread for row in rows] == [1, 1]


def test_original_joins_a_thread_whose_root_is_missing() -> None:
    items = [
        msg(1, "<orig@x>", subject="Budget"),  # its id got mangled on the way
        msg(2, "<b@x>", refs=("<lost@x>",), subject="Re: Budget"),
        msg(3, "<c@x>", refs=("<lost@x>",), subject="Re: Budget"),
    ]
    rows = build_threads(items)
    assert shape(rows) == [(1, 0), (2, 0), (3, 0)]
    assert {row.thread for row in rows} == {1}


def test_lone_reply_to_a_missing_message_joins_the_original_as_a_reply() -> None:
    items = [
        msg(1, "<orig@x>", subject="Budget"),
        msg(2, "<b@x>", refs=("<lost@x>",), subject="Re: Budget"),
    ]
    assert shape(build_threads(items)) == [(1, 0), (2, 1)]


def test_reply_joins_one_original_and_other_originals_stay_apart() -> None:
    items = [
        msg(1, "<jan@x>", subject="Lunch"),
        msg(2, "<jun@x>", subject="Lunch"),
        msg(3, "<r@x>", subject="Re: Lunch"),
    ]
    rows = build_threads(items)
    assert shape(rows) == [(1, 0), (3, 1), (2, 0)]
    assert [row.size for row in rows] == [2, 2, 1]


def test_empty_subjects_are_never_grouped() -> None:
    items = [msg(1, "<a@x>", subject="Re:"), msg(2, "<b@x>", subject="Re:")]
    assert shape(build_threads(items)) == [(2, 0), (1, 0)]


def test_reference_cycle_keeps_both_messages_once() -> None:
    items = [msg(1, "<a@x>", refs=("<b@x>",)), msg(2, "<b@x>", refs=("<a@x>",))]
    rows = build_threads(items)
    assert sorted(shape(rows)) in ([(1, 0), (2, 1)], [(1, 1), (2, 0)])
    assert_well_formed(items, rows)


def test_three_way_cycle_and_contradicting_references() -> None:
    items = [
        msg(1, "<a@x>", refs=("<c@x>", "<b@x>")),
        msg(2, "<b@x>", refs=("<a@x>", "<c@x>")),
        msg(3, "<c@x>", refs=("<b@x>", "<a@x>")),
    ]
    rows = build_threads(items)
    assert_well_formed(items, rows)
    assert len({row.thread for row in rows}) == 1


def test_self_reference_is_ignored() -> None:
    items = [
        msg(1, "<a@x>", refs=("<a@x>",), reply_to="<a@x>"),
        msg(2, "<b@x>", refs=("<a@x>", "<b@x>"), reply_to="b@x"),
    ]
    assert shape(build_threads(items)) == [(1, 0), (2, 1)]


def test_duplicate_message_ids_keep_both_messages() -> None:
    items = [
        msg(1, "<a@x>", subject="First"),
        msg(2, "<a@x>", subject="Second"),
        msg(3, "<r@x>", refs=("<a@x>",), subject="Re: First"),
    ]
    rows = build_threads(items)
    assert shape(rows) == [(1, 0), (3, 1), (2, 0)]
    assert [row.size for row in rows] == [2, 2, 1]


def test_duplicate_message_id_with_its_own_references() -> None:
    items = [
        msg(1, "<a@x>"),
        msg(2, "<a@x>", refs=("<a@x>",)),  # a copy pointing at itself
        msg(3, "<p@x>"),
        msg(4, "<a@x>", refs=("<p@x>",)),
    ]
    rows = build_threads(items, newest_first=False)
    assert shape(rows) == [(1, 0), (2, 0), (3, 0), (4, 1)]


def test_missing_and_empty_ids() -> None:
    items = [
        msg(1, "", subject="One"),
        msg(2, "", subject="Two"),
        msg(3, "<>", refs=("", "<>"), reply_to="<>"),
        msg(4, "  ", reply_to="   "),
    ]
    rows = build_threads(items)
    assert shape(rows) == [(4, 0), (3, 0), (2, 0), (1, 0)]


def test_a_message_own_references_outrank_what_others_implied() -> None:
    items = [
        msg(1, "<a@x>"),
        msg(2, "<x@x>"),
        msg(3, "<c@x>", refs=("<a@x>", "<b@x>")),  # implies b answers a
        msg(4, "<b@x>", refs=("<x@x>",)),  # but b says it answers x
    ]
    assert shape(build_threads(items, newest_first=False)) == [(1, 0), (2, 0), (4, 1), (3, 2)]


def test_thousand_deep_chain_by_in_reply_to_in_any_order() -> None:
    depth = 1000
    items = [
        msg(n, f"<m{n}@x>", reply_to=f"<m{n - 1}@x>" if n else "", date=n) for n in range(depth)
    ]
    random.Random(7).shuffle(items)
    rows = build_threads(items)
    assert shape(rows) == [(n, n) for n in range(depth)]
    assert {row.thread for row in rows} == {0}


def test_thousand_deep_chain_with_full_references() -> None:
    depth = 1000
    ids = [f"<m{n}@x>" for n in range(depth)]
    items = [msg(n, ids[n], refs=tuple(ids[:n]), date=n) for n in range(depth)]
    for order in (items, items[::-1]):
        assert shape(build_threads(order)) == [(n, n) for n in range(depth)]


def test_huge_reference_list() -> None:
    refs = (*(f"<r{n}@x>" for n in range(100_000)), "<a@x>")
    items = [msg(1, "<a@x>"), msg(2, "<b@x>", refs=refs), msg(3, "<c@x>", refs=refs[::-1])]
    rows = build_threads(items, newest_first=False)
    assert shape(rows)[:2] == [(1, 0), (2, 1)]
    assert_well_formed(items, rows)


def test_threads_ordered_by_newest_message() -> None:
    items = [
        msg(1, "<a@x>", date=100),
        msg(2, "<b@x>", date=200),
        msg(3, "<r@x>", refs=("<a@x>",), date=300),  # revives thread 1
        msg(4, "<d@x>", date=250),
    ]
    assert [row.key for row in build_threads(items)] == [1, 3, 4, 2]
    assert [row.key for row in build_threads(items, newest_first=False)] == [2, 4, 1, 3]


def test_thread_ties_broken_by_key_and_unknown_dates_count_as_oldest() -> None:
    items = [
        msg(9, "<a@x>", date=50),
        msg(4, "<b@x>", date=50),
        ThreadItem(7, "<c@x>", "", (), "no date", None),
        msg(8, "<d@x>", date=60),
    ]
    rows = build_threads(items)
    assert [row.key for row in rows] == [8, 4, 9, 7]
    assert rows[-1].latest is None
    assert [row.key for row in build_threads(items, newest_first=False)] == [7, 4, 9, 8]


def test_siblings_by_date_then_key_and_depth_first() -> None:
    items = [
        msg(1, "<a@x>", date=10),
        msg(2, "<b@x>", refs=("<a@x>",), date=40),
        msg(3, "<c@x>", refs=("<a@x>",), date=20),
        msg(4, "<d@x>", refs=("<a@x>",), date=20),
        msg(5, "<e@x>", refs=("<a@x>", "<c@x>"), date=90),
    ]
    rows = build_threads(items)
    assert shape(rows) == [(1, 0), (3, 1), (5, 2), (4, 1), (2, 1)]
    assert {row.latest for row in rows} == {90}


def test_accepts_any_iterable_and_nothing() -> None:
    assert build_threads([]) == []
    assert shape(build_threads(msg(n, f"<{n}@x>") for n in range(3))) == [(2, 0), (1, 0), (0, 0)]


ID_POOL = [f"m{n}@x" for n in range(12)]
an_id = st.sampled_from(ID_POOL).flatmap(
    lambda bare: st.sampled_from([bare, f"<{bare}>", f" <{bare}> ", ""])
)
subjects = st.sampled_from(["Plans", "Re: Plans", "RE: plans", "Lunch", "Fwd: Lunch", "", "Re:"])


@st.composite
def mailboxes(draw: st.DrawFn) -> list[ThreadItem]:
    """Messages with ids from a small pool: duplicates, cycles, self-references, gaps."""
    count = draw(st.integers(min_value=0, max_value=25))
    return [
        ThreadItem(
            key=key,
            message_id=draw(an_id),
            in_reply_to=draw(an_id),
            references=tuple(draw(st.lists(an_id, max_size=6))),
            subject=draw(subjects),
            date=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=20))),
        )
        for key in range(count)
    ]


@settings(max_examples=200, deadline=None)
@given(mailboxes(), st.booleans())
def test_any_headers_give_every_message_once_in_well_formed_threads(
    items: list[ThreadItem], newest_first: bool
) -> None:
    rows = build_threads(items, newest_first=newest_first)
    assert_well_formed(items, rows)
    firsts = [row for row in rows if row.key == row.thread]
    newest = [float("-inf") if row.latest is None else row.latest for row in firsts]
    ordered = [(-value if newest_first else value) for value in newest]
    assert ordered == sorted(ordered)
    for (value, row), (next_value, next_row) in pairwise(zip(ordered, firsts, strict=True)):
        if value == next_value:
            assert row.thread < next_row.thread


@st.composite
def forests(draw: st.DrawFn) -> tuple[list[ThreadItem], dict[int, int]]:
    """Well-behaved mail in shuffled order, with each message's true parent (-1 for none)."""
    count = draw(st.integers(min_value=1, max_value=40))
    parents: dict[int, int] = {}
    chains: dict[int, tuple[str, ...]] = {}
    items: list[ThreadItem] = []
    for key in range(count):
        up = draw(st.integers(min_value=-1, max_value=key - 1))
        parents[key] = up
        chains[key] = (*chains[up], f"<{up}@x>") if up >= 0 else ()
        only_in_reply_to = draw(st.booleans())
        items.append(
            ThreadItem(
                key=key,
                message_id=f"<{key}@x>",
                in_reply_to=chains[key][-1] if chains[key] else "",
                references=() if only_in_reply_to else chains[key],
                subject=f"topic {key}",
                date=draw(st.integers(min_value=0, max_value=5)),
            )
        )
    return draw(st.permutations(items)), parents


@settings(max_examples=200, deadline=None)
@given(forests())
def test_well_behaved_mail_is_threaded_exactly(
    forest: tuple[list[ThreadItem], dict[int, int]],
) -> None:
    items, parents = forest
    rows = build_threads(items)
    assert_well_formed(items, rows)
    found: dict[int, int] = {}
    path: list[int] = []  # keys of the rows above, by depth
    for row in rows:
        del path[row.depth :]
        found[row.key] = path[-1] if path else -1
        path.append(row.key)
    assert found == parents


def test_collapse_keeps_first_rows_and_the_expanded_threads() -> None:
    rows = [
        ThreadRow(1, 0, 1, 3, 30),
        ThreadRow(2, 1, 1, 3, 30),
        ThreadRow(3, 2, 1, 3, 30),
        ThreadRow(4, 0, 4, 1, 20),
        ThreadRow(5, 0, 5, 2, 10),
        ThreadRow(6, 1, 5, 2, 10),
    ]
    assert [r.key for r in collapse(rows, set())] == [1, 4, 5]
    assert [r.key for r in collapse(rows, {5})] == [1, 4, 5, 6]
    assert [r.key for r in collapse(rows, {1, 5})] == [1, 2, 3, 4, 5, 6]
    assert thread_keys(rows, 1) == [1, 2, 3]
    assert thread_keys(rows, 4) == [4]
