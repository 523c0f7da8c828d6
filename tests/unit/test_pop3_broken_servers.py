"""POP3 servers that break the rules: no UIDL, bad or changing UIDLs, a drop before QUIT."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.pop3_server import PASSWORD, Maildrop, serve

from tuimail.backends.local.maildir import Maildir
from tuimail.model.account import (
    Account,
    Endpoint,
    LocalFormat,
    LocalSource,
    Pop3Options,
    Protocol,
    Security,
)
from tuimail.services.pop3_fetch import FetchResult, fetch_pop3


def _msg(index: int, *, message_id: bool = True, extra: str = "") -> bytes:
    mid = f"Message-ID: <m{index}@broken.test>\n" if message_id else ""
    return (
        f"From: Someone <s@broken.test>\nTo: pat@example.test\nSubject: message {index}\n"
        f"Date: Mon, 0{index % 9 + 1} Jun 2026 10:00:00 +0000\n{mid}\nBody {index}.\n{extra}"
    ).encode()


def _account(port: int, maildir: Path, **options: object) -> Account:
    endpoint = Endpoint(
        Protocol.POP3, "127.0.0.1", port, Security.NONE, "pat", allow_plaintext=True, timeout=10
    )
    return Account(
        "broken",
        "Pat",
        "pat@example.test",
        endpoint,
        pop3=Pop3Options(**options),  # type: ignore[arg-type]
        local=LocalSource(LocalFormat.MAILDIR, str(maildir)),
    )


def _bodies(maildir: Path) -> list[bytes]:
    box = Maildir(maildir)
    return sorted(box.read("INBOX", e.key) for e in box.scan("INBOX"))


def _run(drop: Maildrop, tmp_path: Path, **options: object) -> tuple[FetchResult, Path]:
    maildir = tmp_path / "Mail"
    with serve(drop) as server:
        result = fetch_pop3(tmp_path / "data", _account(server.port, maildir, **options), PASSWORD)
    return result, maildir


def _drop(count: int, **behaviour: object) -> Maildrop:
    drop = Maildrop(**behaviour)  # type: ignore[arg-type]
    for index in range(count):
        drop.add(_msg(index))
    return drop


def test_no_uidl_and_leave_on_server_fetches_nothing_and_says_why(tmp_path: Path) -> None:
    drop = _drop(3, uidl=False)
    result, maildir = _run(drop, tmp_path)
    assert [e.title for e in result.errors] == ["Server has no UIDL"]
    assert "leave_on_server = false" in result.errors[0].message
    assert "RETR" not in drop.commands
    assert len(drop.messages) == 3
    assert not maildir.exists() or _bodies(maildir) == []


@pytest.mark.parametrize("top", [True, False])
def test_no_uidl_fetch_and_delete_survives_a_drop_before_quit(tmp_path: Path, top: bool) -> None:
    drop = _drop(3, uidl=False, top=top, drop_at_quit=True)
    first, maildir = _run(drop, tmp_path, leave_on_server=False)
    assert first.downloaded == 3
    assert any(e.message.endswith("tried again next time.") for e in first.errors)
    assert len(drop.messages) == 3  # the server forgot the DELEs: QUIT was never answered

    drop.drop_at_quit = False
    second, _ = _run(drop, tmp_path, leave_on_server=False)
    assert not second.errors, [e.message for e in second.errors]
    assert second.downloaded == 0  # recognised by their headers, not stored twice
    assert second.deleted == 3
    assert drop.messages == []
    assert len(_bodies(maildir)) == 3


def test_repeated_empty_and_overlong_uidls_are_recognised_by_headers(tmp_path: Path) -> None:
    weird = [b"same", b"same", b"x" * 200, b"ok-1", b"ok-2"]

    def uidl_of(_session: int, index: int, _raw: bytes) -> bytes:
        return weird[index]

    drop = _drop(5, uidl_of=uidl_of)
    first, maildir = _run(drop, tmp_path)
    assert first.downloaded == 5
    assert any("repeated unique id" in n for n in first.notices)
    second, _ = _run(drop, tmp_path)
    assert second.downloaded == 0
    assert len(_bodies(maildir)) == 5
    assert len(drop.messages) == 5


def test_uidls_that_change_every_session_never_download_again(tmp_path: Path) -> None:
    drop = _drop(4, uidl_of=lambda session, index, _raw: b"s%d-%d" % (session, index))
    first, maildir = _run(drop, tmp_path)
    assert first.downloaded == 4
    for _ in range(3):
        again, _ = _run(drop, tmp_path)
        assert again.downloaded == 0
        assert again.recognised == 4
        assert any("changed the unique ids" in n for n in again.notices)
    drop.add(_msg(9))
    last, _ = _run(drop, tmp_path)
    assert (last.downloaded, last.recognised) == (1, 4)
    assert len(_bodies(maildir)) == 5


def test_messages_without_message_id_and_changing_uidls(tmp_path: Path) -> None:
    drop = Maildrop(uidl_of=lambda session, index, _raw: b"s%d-%d" % (session, index))
    for index in range(3):
        drop.add(_msg(index, message_id=False))
    _run(drop, tmp_path)
    again, maildir = _run(drop, tmp_path)
    assert (again.downloaded, again.recognised) == (0, 3)
    assert len(_bodies(maildir)) == 3


def test_connection_cut_before_quit_deletions_are_not_believed(tmp_path: Path) -> None:
    drop = _drop(3, drop_at_quit=True)
    first, maildir = _run(drop, tmp_path, leave_on_server=False)
    assert first.downloaded == 3
    assert first.deleted == 0
    assert len(drop.messages) == 3

    drop.drop_at_quit = False
    second, _ = _run(drop, tmp_path, leave_on_server=False)
    assert (second.downloaded, second.deleted) == (0, 3)
    assert drop.messages == []
    assert len(_bodies(maildir)) == 3


def test_quit_carried_out_but_unanswered_is_settled_next_time(tmp_path: Path) -> None:
    drop = _drop(2, quit_removes_then_drops=True)
    first, maildir = _run(drop, tmp_path, leave_on_server=False)
    assert drop.messages == []  # the server did delete them
    assert first.errors  # but tuimail could not know
    drop.quit_removes_then_drops = False
    drop.add(_msg(7))
    second, _ = _run(drop, tmp_path, leave_on_server=False)
    assert not second.errors
    assert second.downloaded == 1
    assert len(_bodies(maildir)) == 3


def test_long_lines_and_dot_lines_arrive_intact(tmp_path: Path) -> None:
    long_line = "<p>" + "x" * 50_000 + "</p>\n"
    raw = _msg(1, extra=long_line + ".hidden dot line\n..two dots\n.\nlast\n")
    drop = Maildrop()
    drop.add(raw)
    result, maildir = _run(drop, tmp_path)
    assert result.downloaded == 1
    assert _bodies(maildir) == [raw]


def test_no_pipelining_works_one_command_at_a_time(tmp_path: Path) -> None:
    drop = _drop(5, pipelining=False)
    result, maildir = _run(drop, tmp_path)
    assert result.downloaded == 5
    assert len(_bodies(maildir)) == 5


def test_wrong_password_is_a_clear_error_and_touches_nothing(tmp_path: Path) -> None:
    drop = _drop(2)
    with serve(drop) as server:
        result = fetch_pop3(
            tmp_path / "data", _account(server.port, tmp_path / "Mail"), "not-the-password"
        )
    assert [e.title for e in result.errors] == ["Login failed"]
    assert "not-the-password" not in result.errors[0].message
    assert "RETR" not in drop.commands


def test_sasl_plain_when_the_server_has_no_user_command(tmp_path: Path) -> None:
    drop = _drop(2, user_command=False, sasl_plain=True)
    result, _ = _run(drop, tmp_path)
    assert not result.errors, [e.message for e in result.errors]
    assert result.downloaded == 2
    assert "USER" not in drop.commands


def test_apop_only_when_asked_for(tmp_path: Path) -> None:
    drop = _drop(1, apop_stamp=b"<1896.697170952@dbc.mtview.ca.us>")
    plain, _ = _run(drop, tmp_path)
    assert "APOP" not in drop.commands
    assert plain.downloaded == 1
    drop.add(_msg(5))
    asked, _ = _run(drop, tmp_path, apop=True)
    assert not asked.errors, [e.message for e in asked.errors]
    assert "APOP" in drop.commands
    assert asked.downloaded == 1


def test_apop_asked_for_but_not_offered_says_so(tmp_path: Path) -> None:
    drop = _drop(1)
    result, _ = _run(drop, tmp_path, apop=True)
    assert [e.title for e in result.errors] == ["APOP not offered"]


def test_no_common_login_method(tmp_path: Path) -> None:
    drop = _drop(1, user_command=False)
    result, _ = _run(drop, tmp_path)
    assert [e.title for e in result.errors] == ["No common login method"]


def test_dry_run_with_changed_uidls_plans_no_download(tmp_path: Path) -> None:
    drop = _drop(3, uidl_of=lambda session, index, _raw: b"s%d-%d" % (session, index))
    _run(drop, tmp_path)
    maildir = tmp_path / "Mail"
    with serve(drop) as server:
        plan = fetch_pop3(tmp_path / "data", _account(server.port, maildir), PASSWORD, dry_run=True)
    assert plan.dry_run
    assert plan.to_download == []
    assert plan.recognised == 3
    assert "RETR" not in drop.commands[drop.commands.index("QUIT") + 1 :]
