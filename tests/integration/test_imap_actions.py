"""Actions on messages: at once in the cache, then on the real server; queued offline; undo."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from helpers.imap import (
    cache_state,
    fresh_folder,
    imap_account,
    message,
    other_client,
    server_state,
)
from mailstack.stack import MailStack

from tuimail.backends.imap.session import open_session
from tuimail.model.account import Account, Endpoint
from tuimail.model.errors import MailError
from tuimail.model.message import Flag
from tuimail.services import actions as action_service
from tuimail.services.actions import Actions
from tuimail.services.events import ActionFailed, Event
from tuimail.services.mailbox import Mailbox
from tuimail.services.sync import sync_account

pytestmark = pytest.mark.mailstack
USER = "alice"


def _setup(stack: MailStack, db: Path, folder: str, count: int) -> tuple[Account, dict[int, int]]:
    """A synced folder; returns the account and UID -> cache row id."""
    fresh_folder(stack, USER, folder, count)
    account = imap_account(stack, USER)
    result = sync_account(db, account, stack.password(USER), folders=[folder, "Trash", "Archive"])
    assert not result.errors
    with Mailbox(db) as mailbox:
        rows = mailbox.envelopes(mailbox.folder_ids("acct", folder), limit=1000)
    return account, {c.envelope.ref.uid: c.id for c in rows}


def _flush(stack: MailStack, db: Path, account: Account, events: list[Event] | None = None) -> int:
    with open_session(account.server(), stack.password(USER), "acct") as session:
        sink = events.append if events is not None else (lambda event: None)
        return action_service.replay(db, "acct", session, sink)


def test_flags_show_at_once_then_reach_the_server(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    account, ids = _setup(mailstack, db, "Acts", 4)
    actions = Actions(db)
    actions.mark_read([ids[1], ids[2]])
    actions.flag([ids[3]])
    # the cache shows it before the server knows
    assert cache_state(db, "acct", "Acts")[1][0] == frozenset({"seen"})
    assert server_state(mailstack, USER, "Acts")[1][0] == frozenset()
    assert action_service.queued(db, "acct") == 2
    assert _flush(mailstack, db, account) == 2
    server = server_state(mailstack, USER, "Acts")
    assert server[1][0] == server[2][0] == frozenset({"seen"})
    assert server[3][0] == frozenset({"flagged"})
    assert action_service.queued(db, "acct") == 0
    # +FLAGS, never a full replace: a flag set elsewhere meanwhile survives
    with other_client(mailstack, USER) as client:
        client.select_folder("Acts")
        client.add_flags([4], [b"\\Answered"])
    actions.mark_read([ids[4]])
    _flush(mailstack, db, account)
    assert server_state(mailstack, USER, "Acts")[4][0] == frozenset({"seen", "answered"})
    actions.close()


def test_move_delete_archive_and_undo(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    account, ids = _setup(mailstack, db, "Moves", 5)
    actions = Actions(db)
    before_trash = len(server_state(mailstack, USER, "Trash"))
    before_archive = len(server_state(mailstack, USER, "Archive"))

    actions.delete([ids[1]])
    assert 1 not in cache_state(db, "acct", "Moves")  # gone from the list at once
    assert actions.undo() == "delete"  # undone before it reached the server
    assert 1 in cache_state(db, "acct", "Moves")
    assert action_service.queued(db, "acct") == 0

    actions.delete([ids[2]])
    actions.archive([ids[3]])
    _flush(mailstack, db, account)
    server = server_state(mailstack, USER, "Moves")
    assert sorted(server) == [1, 4, 5]
    assert len(server_state(mailstack, USER, "Trash")) == before_trash + 1
    assert len(server_state(mailstack, USER, "Archive")) == before_archive + 1

    # undo after the server moved it: the message comes back from the Archive
    assert actions.undo() == "archive"
    _flush(mailstack, db, account)
    subjects = {subject for _, subject in server_state(mailstack, USER, "Moves").values()}
    assert "Message 2" in subjects  # index 2 is UID 3: "Message 2"
    assert len(server_state(mailstack, USER, "Archive")) == before_archive
    with pytest.raises(MailError, match="nothing to undo"):
        actions.undo()
    actions.close()


def test_delete_in_trash_expunges(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Trash", 2)
    account = imap_account(mailstack, USER)
    sync_account(db, account, mailstack.password(USER), folders=["Trash"])
    with Mailbox(db) as mailbox:
        rows = mailbox.envelopes(mailbox.folder_ids("acct", "Trash"))
    actions = Actions(db)
    done = actions.delete([rows[0].id])
    assert done.description == "delete for good"
    _flush(mailstack, db, account)
    assert len(server_state(mailstack, USER, "Trash")) == 1
    actions.close()


def test_offline_actions_wait_and_replay_at_next_sync(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    account, ids = _setup(mailstack, db, "Offline", 3)
    actions = Actions(db)
    actions.flag([ids[2]])
    actions.move([ids[3]], "Archive")
    actions.close()
    # no network this time: the actions stay queued
    unreachable = Account(
        "acct",
        "A",
        account.email,
        Endpoint(**{**account.server().__dict__, "port": 1, "timeout": 2}),
    )
    down = sync_account(db, unreachable, mailstack.password(USER), folders=["Offline"])
    assert down.errors
    assert action_service.queued(db, "acct") == 2
    assert 3 not in cache_state(db, "acct", "Offline")  # still shown as moved
    # back online: the next sync sends them first, then reads the server's state
    up = sync_account(
        db,
        account,
        mailstack.password(USER),
        folders=["Offline"],
        before_folders=lambda s: action_service.replay(db, "acct", s),
    )
    assert not up.errors
    assert action_service.queued(db, "acct") == 0
    server = server_state(mailstack, USER, "Offline")
    assert sorted(server) == [1, 2]
    assert server[2][0] == frozenset({"flagged"})
    assert cache_state(db, "acct", "Offline") == server


def test_refused_action_is_undone_in_the_cache(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Doomed", 0)
    account, ids = _setup(mailstack, db, "Refuse", 2)
    actions = Actions(db)
    actions.move([ids[1]], "Doomed")
    actions.close()
    with other_client(mailstack, USER) as client:
        client.delete_folder("Doomed")  # gone before the move reaches the server
    events: list[Event] = []
    _flush(mailstack, db, account, events)
    failures = [e for e in events if isinstance(e, ActionFailed)]
    assert len(failures) == 1
    assert "Doomed" in failures[0].description
    sync_account(db, account, mailstack.password(USER), folders=["Refuse"])
    assert cache_state(db, "acct", "Refuse") == server_state(mailstack, USER, "Refuse")
    assert 1 in cache_state(db, "acct", "Refuse")  # back where the server kept it


def test_idle_notices_new_mail(mailstack: MailStack) -> None:
    fresh_folder(mailstack, USER, "INBOX-idle", 0)
    account = imap_account(mailstack, USER)
    cancel = threading.Event()
    with open_session(account.server(), mailstack.password(USER), "acct") as session:
        session.select("INBOX-idle")
        arrived = threading.Timer(
            0.5,
            lambda: _append(mailstack, "INBOX-idle"),
        )
        arrived.start()
        try:
            changed = session.wait_for_changes("INBOX-idle", cancel, timeout=20)
        finally:
            arrived.cancel()
        assert changed
        assert session.select("INBOX-idle").exists == 1
        # cancelling ends the wait without a change
        cancel.set()
        assert not session.wait_for_changes("INBOX-idle", cancel, timeout=20)


def _append(stack: MailStack, folder: str) -> None:
    with other_client(stack, USER) as client:
        client.append(folder, message("Pushed"))


def test_move_without_the_move_extension(mailstack: MailStack) -> None:
    fresh_folder(mailstack, USER, "From", 3)
    fresh_folder(mailstack, USER, "To", 0)
    account = imap_account(mailstack, USER)
    with open_session(account.server(), mailstack.password(USER), "acct") as session:
        session.capabilities = session.capabilities - {"MOVE"}  # as on an older server
        mapping = session.move("From", [2, 3], "To")
    assert sorted(mapping) == [2, 3]  # COPYUID tells where they went
    assert sorted(server_state(mailstack, USER, "From")) == [1]
    moved = server_state(mailstack, USER, "To")
    assert sorted(moved) == sorted(mapping.values())
    assert {subject for _, subject in moved.values()} == {"Message 1", "Message 2"}


def test_append_keeps_flags_and_reports_the_uid(mailstack: MailStack) -> None:
    fresh_folder(mailstack, USER, "Appended", 1)
    account = imap_account(mailstack, USER)
    with open_session(account.server(), mailstack.password(USER), "acct") as session:
        uid = session.append("Appended", message("Saved copy"), [Flag.SEEN, Flag.DRAFT])
    assert uid == 2
    assert server_state(mailstack, USER, "Appended")[2] == (
        frozenset({"seen", "draft"}),
        "Saved copy",
    )


def test_delete_of_a_mixed_selection_only_expunges_what_was_in_trash(
    mailstack: MailStack, tmp_path: Path
) -> None:
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Trash", 1)
    account, ids = _setup(mailstack, db, "Mixed", 2)
    with Mailbox(db) as mailbox:
        (in_trash,) = mailbox.envelopes(mailbox.folder_ids("acct", "Trash"))
    actions = Actions(db)
    done = actions.delete([ids[1], in_trash.id])
    assert done.description == "delete"  # the Inbox-side message only goes to the Trash
    _flush(mailstack, db, account)
    trash = {subject for _, subject in server_state(mailstack, USER, "Trash").values()}
    assert trash == {"Message 0"}  # the one from Mixed; the old Trash one is gone for good
    assert sorted(server_state(mailstack, USER, "Mixed")) == [2]
    actions.close()


def test_undo_of_a_flag_keeps_what_others_changed(mailstack: MailStack, tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    account, ids = _setup(mailstack, db, "Keep", 1)
    actions = Actions(db)
    actions.mark_read([ids[1]])
    _flush(mailstack, db, account)
    with other_client(mailstack, USER) as client:
        client.select_folder("Keep")
        client.add_flags([1], [b"\\Flagged", b"\\Answered"])
    sync_account(db, account, mailstack.password(USER), folders=["Keep"])
    assert actions.undo() == "mark read"
    _flush(mailstack, db, account)
    assert server_state(mailstack, USER, "Keep")[1][0] == frozenset({"flagged", "answered"})
    assert cache_state(db, "acct", "Keep")[1][0] == frozenset({"flagged", "answered"})
    actions.close()


def test_queued_action_on_a_recreated_folder_touches_nothing(
    mailstack: MailStack, tmp_path: Path
) -> None:
    db = tmp_path / "cache.sqlite"
    fresh_folder(mailstack, USER, "Dest", 0)
    account, ids = _setup(mailstack, db, "Reborn", 3)
    actions = Actions(db)
    actions.move([ids[3]], "Dest")
    actions.close()
    fresh_folder(mailstack, USER, "Reborn", 0)  # another client recreates it: new numbering
    with other_client(mailstack, USER) as client:
        for subject in ("New 1", "New 2", "New 3"):
            client.append("Reborn", message(subject))
    events: list[Event] = []
    _flush(mailstack, db, account, events)
    assert [e for e in events if isinstance(e, ActionFailed)]
    assert server_state(mailstack, USER, "Dest") == {}  # no stranger was moved
    assert len(server_state(mailstack, USER, "Reborn")) == 3


def test_move_without_move_or_uidplus_spares_others_deleted_mail(mailstack: MailStack) -> None:
    fresh_folder(mailstack, USER, "Old", 3)
    fresh_folder(mailstack, USER, "OldTo", 0)
    with other_client(mailstack, USER) as client:
        client.select_folder("Old")
        client.add_flags([1], [b"\\Deleted"])  # marked, deliberately kept, by someone else
    account = imap_account(mailstack, USER)
    with open_session(account.server(), mailstack.password(USER), "acct") as session:
        session.capabilities = session.capabilities - {"MOVE", "UIDPLUS"}
        session.move("Old", [2], "OldTo")
    state = server_state(mailstack, USER, "Old")
    assert sorted(state) == [1, 3]
    assert state[1][0] == frozenset({"deleted"})  # still there, still marked
    assert len(server_state(mailstack, USER, "OldTo")) == 1
