"""The cache's queries on a real SQLite file: adding, sorting, paging, flags, bodies, folders."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuimail.model.folder import Folder, FolderRole
from tuimail.model.message import Address, Envelope, Flag, MessageRef
from tuimail.store import bodies, folders, messages
from tuimail.store.codec import pack_addresses, unpack_addresses
from tuimail.store.database import connect, transaction
from tuimail.store.messages import Sort

BASE = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _envelope(uid: int, subject: str, sender: str, *, size: int = 100, days: int = 0) -> Envelope:
    return Envelope(
        ref=MessageRef("acct", "INBOX", uid, 7),
        message_id=f"<{uid}@example.org>",
        date=BASE + timedelta(days=days),
        subject=subject,
        sender=(Address(sender, f"{sender.lower()}@example.org"),),
        to=(Address("", "me@example.test"),),
        flags=frozenset({Flag.SEEN}) if uid % 2 else frozenset(),
        keywords=frozenset({"$Work"}) if uid == 3 else frozenset(),
        size=size,
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = connect(tmp_path / "cache.sqlite")
    folders.save_folders(
        connection,
        "acct",
        [
            Folder("acct", "INBOX", role=FolderRole.INBOX),
            Folder("acct", "Trash", role=FolderRole.TRASH),
        ],
    )
    inbox = folders.folder_id(connection, "acct", "INBOX")
    assert inbox is not None
    with transaction(connection):
        folders.reset(connection, inbox, 7)  # the UIDVALIDITY the envelopes carry
    yield connection
    connection.close()


def _inbox(db: sqlite3.Connection) -> int:
    folder = folders.folder_id(db, "acct", "INBOX")
    assert folder is not None
    return folder


def test_add_is_idempotent_and_indexed(db: sqlite3.Connection) -> None:
    inbox = _inbox(db)
    batch = [_envelope(1, "Lunch", "Bob"), _envelope(2, "Re: Lunch", "Alice", days=1)]
    with transaction(db):
        assert messages.add(db, inbox, batch) == 2
    with transaction(db):
        assert messages.add(db, inbox, batch) == 0  # a resumed batch adds nothing twice
    assert messages.count(db, inbox) == 2
    (texts,) = db.execute("SELECT count(*) FROM message_text").fetchone()
    assert texts == 2
    hits = db.execute("SELECT rowid FROM message_text WHERE message_text MATCH 'alice'").fetchall()
    assert len(hits) == 1


def test_sort_orders_and_paging(db: sqlite3.Connection) -> None:
    inbox = _inbox(db)
    with transaction(db):
        messages.add(
            db,
            inbox,
            [
                _envelope(1, "Re: beta", "carol", size=300, days=2),
                _envelope(2, "alpha", "Bob", size=100, days=0),
                _envelope(3, "Fwd: Gamma", "alice", size=200, days=1),
            ],
        )

    def subjects(
        sort: Sort, descending: bool = True, offset: int = 0, limit: int = 10
    ) -> list[str]:
        page = messages.page(
            db, [inbox], sort=sort, descending=descending, offset=offset, limit=limit
        )
        return [c.envelope.subject for c in page]

    assert subjects(Sort.DATE) == ["Re: beta", "Fwd: Gamma", "alpha"]
    assert subjects(Sort.DATE, descending=False) == ["alpha", "Fwd: Gamma", "Re: beta"]
    assert subjects(Sort.SUBJECT, descending=False) == ["alpha", "Re: beta", "Fwd: Gamma"]
    assert subjects(Sort.SENDER, descending=False) == ["Fwd: Gamma", "alpha", "Re: beta"]
    assert subjects(Sort.SIZE) == ["Re: beta", "Fwd: Gamma", "alpha"]
    assert subjects(Sort.DATE, offset=1, limit=1) == ["Fwd: Gamma"]
    ordered = messages.ordered_ids(db, [inbox], sort=Sort.SIZE)
    assert [c.envelope.size for c in messages.by_ids(db, ordered)] == [300, 200, 100]


def test_round_trip_of_an_envelope(db: sqlite3.Connection) -> None:
    inbox = _inbox(db)
    original = Envelope(
        ref=MessageRef("acct", "INBOX", 3, 7),
        message_id="<x@y>",
        date=BASE,
        subject="Tab\there",
        sender=(Address("Name, With Comma", "a@b.example"),),
        to=(Address("", "c@d.example"), Address("Ünï", "e@f.example")),
        cc=(Address("Line\nbreak", "g@h.example"),),
        in_reply_to="<p@q>",
        references=("<p@q>", "<r@s>"),
        flags=frozenset({Flag.FLAGGED, Flag.ANSWERED}),
        keywords=frozenset({"$Work", "$Label1"}),
        size=1234,
        has_attachments=True,
        arrived=BASE + timedelta(minutes=1),
        modseq=99,
    )
    with transaction(db):
        messages.add(db, inbox, [original])
    cached = messages.by_ref(db, original.ref)
    assert cached is not None
    got = cached.envelope
    assert got.sender == original.sender
    assert got.to == original.to
    assert got.cc == (Address("Line break", "g@h.example"),)  # packing never breaks a row
    assert got.references == original.references
    assert got.flags == original.flags
    assert got.keywords == original.keywords
    assert (got.date, got.arrived, got.size, got.has_attachments) == (
        original.date,
        original.arrived,
        1234,
        True,
    )
    assert messages.by_ref(db, MessageRef("acct", "INBOX", 3, 8)) is None  # other UIDVALIDITY


def test_flags_update_and_removal(db: sqlite3.Connection) -> None:
    inbox = _inbox(db)
    with transaction(db):
        messages.add(db, inbox, [_envelope(1, "a", "A"), _envelope(2, "b", "B")])
    with transaction(db):
        changed = messages.set_flags(
            db,
            inbox,
            [
                (1, frozenset({Flag.SEEN}), frozenset(), 5),  # the same as cached: no change
                (2, frozenset({Flag.FLAGGED}), frozenset({"$Later"}), 6),
            ],
        )
    assert changed == 1
    (cached,) = [c for c in messages.page(db, [inbox]) if c.envelope.ref.uid == 2]
    assert cached.envelope.flags == frozenset({Flag.FLAGGED})
    assert cached.envelope.keywords == frozenset({"$Later"})
    with transaction(db):
        assert messages.remove_uids(db, inbox, [2, 99]) == 1
    assert messages.uids(db, inbox) == [1]
    (texts,) = db.execute("SELECT count(*) FROM message_text").fetchone()
    assert texts == 1  # the index follows the rows


def test_folder_counts_and_vanished_folders(db: sqlite3.Connection) -> None:
    inbox = _inbox(db)
    with transaction(db):
        messages.add(db, inbox, [_envelope(1, "a", "A"), _envelope(2, "b", "B")])
    counts = {f.name: (f.unread, f.total) for f in folders.folders(db, "acct")}
    assert counts["INBOX"] == (1, 2)
    gone = folders.save_folders(db, "acct", [Folder("acct", "Trash", role=FolderRole.TRASH)])
    assert gone == ["INBOX"]
    assert messages.count(db, inbox) == 0  # its messages went with it
    assert folders.folder_by_role(db, "acct", FolderRole.TRASH) == "Trash"


def test_reset_drops_messages_bodies_and_queue(db: sqlite3.Connection) -> None:
    inbox = _inbox(db)
    with transaction(db):
        messages.add(db, inbox, [_envelope(1, "a", "A")])
        (row,) = messages.page(db, [inbox])
        bodies.put(db, row.id, b"raw", "text")
        db.execute(
            "INSERT INTO pending_action (account, folder_id, uidvalidity, uids, kind, created_at)"
            " VALUES ('acct', ?, 7, '1', 'add_flags', 0)",
            (inbox,),
        )
    with transaction(db):
        assert folders.reset(db, inbox, 8) == 1
    for table in ("message", "body", "pending_action", "message_text"):
        (left,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        assert left == 0, table
    state = folders.state(db, "acct", "INBOX")
    assert state is not None
    assert state.uidvalidity == 8


def test_body_cache_keeps_to_its_limit(db: sqlite3.Connection) -> None:
    inbox = _inbox(db)
    with transaction(db):
        messages.add(db, inbox, [_envelope(uid, f"s{uid}", "A") for uid in range(1, 6)])
    ids = [c.id for c in messages.page(db, [inbox], descending=False)]
    for row in ids[:4]:
        with transaction(db):
            bodies.put(db, row, b"x" * 400, f"word{row}", limit=1000)
    kept = [
        row for row in ids if db.execute("SELECT 1 FROM body WHERE message = ?", (row,)).fetchone()
    ]
    assert kept == ids[2:4]  # the least recently read went first
    assert bodies.total_size(db) <= 1000
    with transaction(db):
        bodies.put(db, ids[4], b"y" * 5000, "huge", limit=1000)  # bigger than the cache
    assert bodies.get(db, ids[4]) is None
    hits = db.execute("SELECT rowid FROM message_text WHERE message_text MATCH 'huge'").fetchall()
    assert hits == [(ids[4],)]  # still searchable


@given(
    st.lists(
        st.tuples(st.text(max_size=20), st.text(min_size=1, max_size=30)),
        max_size=5,
    )
)
def test_address_packing_round_trips(pairs: list[tuple[str, str]]) -> None:
    addresses = tuple(Address(name, email) for name, email in pairs)
    clean = tuple(
        Address(
            a.name.replace("\t", " ").replace("\n", " ").replace("\r", " "),
            a.email.replace("\t", " ").replace("\n", " ").replace("\r", " "),
        )
        for a in addresses
    )
    assert unpack_addresses(pack_addresses(addresses)) == clean


def test_ids_are_never_reused(db: sqlite3.Connection) -> None:
    inbox = _inbox(db)
    with transaction(db):
        messages.add(db, inbox, [_envelope(1, "a", "A"), _envelope(2, "b", "B")])
    newest = max(c.id for c in messages.page(db, [inbox]))
    with transaction(db):
        messages.remove_uids(db, inbox, [2])
        messages.add(db, inbox, [_envelope(3, "c", "C")])
    (again,) = [c for c in messages.page(db, [inbox]) if c.envelope.ref.uid == 3]
    assert again.id > newest  # an undo holding the old id cannot reach the new message
