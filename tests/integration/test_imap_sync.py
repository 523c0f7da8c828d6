"""Syncing a real Dovecot mailbox into the cache: convergence, resets, drops and resumption."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers.imap import (
    cache_state,
    fresh_folder,
    imap_account,
    index_rows,
    message,
    other_client,
    server_state,
)
from mailstack.stack import MailStack

from tuimail.backends.imap.session import open_session
from tuimail.model.errors import MailError
from tuimail.model.folder import FolderRole
from tuimail.services.events import Event, FolderReset, SyncProgress
from tuimail.services.mailbox import Mailbox, message_key
from tuimail.services.sync import SyncResult, sync_account

pytestmark = pytest.mark.mailstack
USER = "bob"


def _sync(stack: MailStack, db: Path, *folders: str, **kwargs: Any) -> SyncResult:
    return sync_account(
        db, imap_account(stack, USER), stack.password(USER), folders=list(folders) or None, **kwargs
    )


def test_first_sync_mirrors_the_folder_and_roles(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Mirror", 25)
    with other_client(mailstack, USER) as client:
        client.select_folder("Mirror")
        client.add_flags([3, 4], [b"\\Seen", b"\\Flagged"])
        client.add_flags([5], [b"$Forwarded"])
    result = sync_account(db, imap_account(mailstack, USER), mailstack.password(USER))
    assert not result.errors
    assert cache_state(db, "acct", "Mirror") == server_state(mailstack, USER, "Mirror")
    assert len(cache_state(db, "acct", "Mirror")) == 25
    with Mailbox(db) as mailbox:
        roles = {f.name: f.role for f in mailbox.folders("acct")}
        assert roles["INBOX"] is FolderRole.INBOX
        assert roles["Sent"] is FolderRole.SENT
        assert roles["Trash"] is FolderRole.TRASH
        assert roles["Archive"] is FolderRole.ARCHIVE
        mirror = mailbox.folder_ids("acct", "Mirror")
        newest = mailbox.envelopes(mirror, limit=3)
        assert [c.envelope.subject for c in newest] == ["Message 24", "Message 23", "Message 22"]
        keyword = [c for c in mailbox.envelopes(mirror, limit=30) if c.envelope.ref.uid == 5]
        assert keyword[0].envelope.keywords == frozenset({"$Forwarded"})
        found = mailbox.envelopes(mirror, query='subject:"Message 7" is:unread')
        assert [c.envelope.subject for c in found] == ["Message 7"]
    assert index_rows(db)[0] == index_rows(db)[1]


def test_non_ascii_folder_name(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    name = "Проекты/Ünïcode 日本"
    fresh_folder(mailstack, USER, name, 3)
    result = _sync(mailstack, db, name)
    assert result.errors == []
    with Mailbox(db) as mailbox:
        names = [f.name for f in mailbox.folders("acct")]
        assert name in names
        assert "Проекты" in names  # the parent, decoded too
        found = mailbox.envelopes(mailbox.folder_ids("acct", name))
        assert len(found) == 3
        key = message_key(found[0].envelope.ref)
        assert key.startswith("acct:%D0%9F")  # percent-encoded, yet stable and parseable
        assert mailbox.envelope(key).envelope.subject == found[0].envelope.subject


def test_nothing_changed_costs_no_fetch(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Quiet", 5)
    _sync(mailstack, db, "Quiet")
    again = _sync(mailstack, db, "Quiet")
    assert [f.unchanged for f in again.folders] == [True]
    with other_client(mailstack, USER) as client:
        client.select_folder("Quiet")
        client.add_flags([2], [b"\\Answered"])
    changed = _sync(mailstack, db, "Quiet")
    assert changed.changed == 1
    assert cache_state(db, "acct", "Quiet")[2][0] == frozenset({"answered"})


def test_changes_by_another_client_during_a_sync_converge(
    mailstack: MailStack, tmp_path: Path
) -> None:
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Busy", 120)
    meddled = threading.Event()

    def meddle(event: Event) -> None:
        # while the first batches are being fetched, a phone marks, deletes and receives mail
        if isinstance(event, SyncProgress) and not meddled.is_set():
            meddled.set()
            with other_client(mailstack, USER) as client:
                client.select_folder("Busy")
                client.add_flags([1, 2, 100], [b"\\Seen"])
                client.add_flags([3, 110], [b"\\Flagged"])
                client.delete_messages([4, 5, 115])
                client.expunge()
                client.append("Busy", message("Arrived during the sync"))

    _sync(mailstack, db, "Busy", on_event=meddle, batch=10)
    assert meddled.is_set()
    _sync(mailstack, db, "Busy")
    server = server_state(mailstack, USER, "Busy")
    assert cache_state(db, "acct", "Busy") == server
    assert 4 not in server
    assert len(server) == 118
    assert server[1][0] == frozenset({"seen"})
    assert index_rows(db)[0] == index_rows(db)[1]


def test_expunge_and_flag_changes_without_condstore_path(
    mailstack: MailStack, tmp_path: Path
) -> None:
    """A folder whose modseq the cache lost is re-read in full and still converges."""
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Full", 12)
    _sync(mailstack, db, "Full")
    raw = sqlite3.connect(db)
    raw.execute("UPDATE folder SET highestmodseq = 0 WHERE name = 'Full'")
    raw.commit()
    raw.close()
    with other_client(mailstack, USER) as client:
        client.select_folder("Full")
        client.add_flags([7], [b"\\Flagged"])
        client.delete_messages([8])
        client.expunge()
    _sync(mailstack, db, "Full")
    assert cache_state(db, "acct", "Full") == server_state(mailstack, USER, "Full")


def test_uidvalidity_change_drops_the_folder_cache(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Renumbered", 0)
    with other_client(mailstack, USER) as client:
        client.append("Renumbered", message("Old message", "The OLD body.\n"))
    _sync(mailstack, db, "Renumbered")
    with Mailbox(db) as mailbox:
        (old,) = mailbox.envelopes(mailbox.folder_ids("acct", "Renumbered"))
        old_key = message_key(old.envelope.ref)
    account = imap_account(mailstack, USER)
    with (
        open_session(account.server(), mailstack.password(USER), "acct") as session,
        Mailbox(db) as mailbox,
    ):
        assert "The OLD body." in mailbox.read(old_key, session).parsed.body.text

    # the server loses the folder and makes it again: same UID 1, a different message
    fresh_folder(mailstack, USER, "Renumbered", 0)
    with other_client(mailstack, USER) as client:
        client.append("Renumbered", message("New message", "The NEW body.\n"))
    events: list[Event] = []
    _sync(mailstack, db, "Renumbered", on_event=events.append)
    resets = [(e.folder, e.dropped) for e in events if isinstance(e, FolderReset)]
    assert resets == [("Renumbered", 1)]
    with Mailbox(db) as mailbox:
        (new,) = mailbox.envelopes(mailbox.folder_ids("acct", "Renumbered"))
        assert new.envelope.ref.uid == old.envelope.ref.uid
        assert new.envelope.subject == "New message"
        assert mailbox.cached_raw(new) is None  # the old body went with the old UIDVALIDITY
        with pytest.raises(MailError, match="not in the cache"):
            mailbox.envelope(old_key)
        with open_session(account.server(), mailstack.password(USER), "acct") as session:
            text = mailbox.read(message_key(new.envelope.ref), session).parsed.body.text
        assert "The NEW body." in text
        assert "OLD" not in text


def test_doveadm_uidvalidity_update_is_noticed(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Validity", 4)
    _sync(mailstack, db, "Validity")
    mailstack.doveadm(
        "mailbox", "update", "--uid-validity", "12345", "-u", mailstack.address(USER), "Validity"
    )
    resets: list[Event] = []
    result = _sync(mailstack, db, "Validity", on_event=resets.append)
    assert any(isinstance(e, FolderReset) and e.dropped == 4 for e in resets)
    assert result.folders[0].reset
    with Mailbox(db) as mailbox:
        found = mailbox.envelopes(mailbox.folder_ids("acct", "Validity"))
        assert {c.envelope.ref.uidvalidity for c in found} == {12345}
    assert cache_state(db, "acct", "Validity") == server_state(mailstack, USER, "Validity")


def test_connection_kicked_mid_fetch_recovers(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Kicked", 0)
    mailstack.seed(USER, 3000, "Kicked")
    kicked = threading.Event()

    def kick(event: Event) -> None:
        if isinstance(event, SyncProgress) and not kicked.is_set():
            kicked.set()
            mailstack.doveadm("kick", mailstack.address(USER))

    first = _sync(mailstack, db, "Kicked", on_event=kick, batch=100)
    assert kicked.is_set()
    # the sync reconnected by itself, or the next one finishes the job
    if first.errors:
        _sync(mailstack, db, "Kicked")
    assert cache_state(db, "acct", "Kicked") == server_state(mailstack, USER, "Kicked")
    assert index_rows(db)[0] == index_rows(db)[1] == 3000


def test_cancel_stops_promptly_and_resumes(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Stoppable", 0)
    mailstack.seed(USER, 2000, "Stoppable")
    cancel = threading.Event()

    def stop(event: Event) -> None:
        if isinstance(event, SyncProgress) and event.done >= 200:
            cancel.set()

    first = _sync(mailstack, db, "Stoppable", on_event=stop, cancel=cancel, batch=100)
    assert first.cancelled
    partial = len(cache_state(db, "acct", "Stoppable"))
    assert 200 <= partial < 2000
    _sync(mailstack, db, "Stoppable")
    assert cache_state(db, "acct", "Stoppable") == server_state(mailstack, USER, "Stoppable")
