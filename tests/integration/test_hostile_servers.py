"""Hostile and broken IMAP, POP3 and SMTP servers against the real commands (check, sync, read,
send, outbox flush), with a second account on the real Dovecot in the same run.

Each case: a clear MailError (no traceback) within the endpoint's timeout, the other account
unaffected, the cache and the outbox intact, and the password (a canary) nowhere in what the
hostile server received unencrypted, plain or base64.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from fakeserver.certs import CA, CertFiles, make_ca
from fakeserver.mailbox import (
    FakeFolder,
    FakeMessage,
    ImapMailbox,
    SmtpDesk,
    drip,
    envelope_items,
    simple_message,
)
from fakeserver.server import (
    Conn,
    Script,
    ScriptedServer,
    imap_script,
    mail_script,
    pop3_script,
    secret_in,
)
from helpers.cli import Cli, account
from helpers.imap import message, other_client
from mailstack.stack import MailStack

CANARY = "canary-hostile-5e1d9a7c40"
"""The hostile account's password; it must never cross a connection unencrypted."""
HOST = "127.0.0.1"
TIMEOUT = 2
"""The hostile endpoint's timeout (seconds)."""
SLACK = 3.0
"""What a subprocess needs beyond the protocol timeout to start and report."""
GOOD_USER = "bob"


@pytest.fixture(autouse=True)
def _no_server_thread_left() -> Iterator[None]:
    yield
    left = [t.name for t in threading.enumerate() if t.name.startswith("fakeserver")]
    assert left == []


@dataclass(frozen=True)
class Pki:
    ca: CA
    server: CertFiles
    expired: CertFiles
    other_name: CertFiles


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    path = tmp_path_factory.mktemp("pki")
    ca = make_ca(path, "hostile test CA")
    return Pki(
        ca=ca,
        server=ca.issue(path, [HOST]),
        expired=ca.issue(path, [HOST], expired=True),
        other_name=ca.issue(path, ["other.example"]),
    )


def hostile_account(
    *,
    pki: Pki,
    imap_port: int | None = None,
    smtp_port: int | None = None,
    protocol: str = "imap",
    security: str = "tls",
    smtp_security: str = "tls",
    trust: bool = True,
    extra: str = "",
) -> str:
    """The [accounts.hostile] block: incoming and/or outgoing on fake servers."""
    ca_line = f'ca_file = "{pki.ca.cert_path}"\n' if trust else ""
    text = f"""
[accounts.hostile]
name = "Hostile"
email = "alice@example.test"
[accounts.hostile.incoming]
protocol = "{protocol}"
host = "{HOST}"
port = {imap_port or 1}
security = "{security}"
username = "alice"
timeout = {TIMEOUT}
password_command = "echo {CANARY}"
{ca_line}{extra}"""
    if smtp_port is not None:
        text += f"""
[accounts.hostile.outgoing]
host = "{HOST}"
port = {smtp_port}
security = "{smtp_security}"
username = "alice"
timeout = {TIMEOUT}
password_command = "echo {CANARY}"
{ca_line}"""
    return text


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture(scope="module")
def good_mail(mailstack: MailStack) -> MailStack:
    """The real account has a message in its Inbox to sync."""
    with other_client(mailstack, GOOD_USER) as client:
        if not client.select_folder("INBOX")[b"EXISTS"]:
            client.append("INBOX", message("For the good account"))
    return mailstack


def good_account(stack: MailStack) -> str:
    password = stack.password(GOOD_USER)
    return account(stack, "good", GOOD_USER, extra=f'password_command = "echo {password}"\n')


def run_timed(
    cli: Cli, *args: str, stdin: str = ""
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = cli.run(*args, stdin=stdin)
    return result, time.monotonic() - started


def assert_clean_output(result: subprocess.CompletedProcess[str]) -> None:
    """No traceback, no internal error, no password in what the person sees."""
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream
        assert "internal error" not in stream
        assert secret_in(stream.encode(), CANARY) == []


def assert_never_sent(srv: ScriptedServer) -> None:
    """The password never reached the server at all."""
    assert secret_in(srv.captured, CANARY) == [], srv.captured[-2000:]


def assert_never_sent_in_clear(srv: ScriptedServer) -> None:
    """The password crossed only inside TLS: nothing of it in the bytes on the wire."""
    assert secret_in(srv.wire, CANARY) == []


def cache_rows(cli: Cli, account_id: str) -> list[tuple[str, int, str]]:
    """(folder, uid, subject) of an account's cached messages."""
    db = cli.home / "cache" / "tuimail" / "cache.sqlite"
    if not db.exists():
        return []
    with sqlite3.connect(db) as raw:
        return sorted(
            raw.execute(
                "SELECT f.name, m.uid, m.subject FROM message m JOIN folder f ON f.id = m.folder_id"
                " WHERE f.account = ?",
                (account_id,),
            ).fetchall()
        )


def good_synced(result: subprocess.CompletedProcess[str]) -> None:
    """The real account's line says it synced without errors."""
    lines = [line for line in result.stdout.splitlines() if line.startswith("good: ")]
    assert lines, result.stdout + result.stderr
    assert "error" not in lines[0], lines[0]


def mailbox(*subjects: str, uidvalidity: int = 7) -> dict[str, FakeFolder]:
    messages = [FakeMessage(uid, simple_message(s)) for uid, s in enumerate(subjects, 1)]
    return {"INBOX": FakeFolder(messages, uidvalidity=uidvalidity)}


# -- connection-level cases through tuimail sync (IMAP) ------------------------------------------


@dataclass(frozen=True)
class Case:
    """A server that misbehaves before any mail moves, the settings to meet it, what is said."""

    script: Callable[[Pki], Script]
    expected: str
    options: dict[str, Any] = field(default_factory=dict)


def _two_megabyte_line(conn: Conn) -> None:
    conn.send_raw(b"* OK " + b"x" * 2_000_000)
    conn.wait_closed()


CONNECT_CASES = {
    "preauth-plain": Case(
        lambda pki: mail_script(
            "imap", cert=pki.server, greeting="* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] hi"
        ),
        "Unencrypted session refused",
        {"security": "starttls"},
    ),
    "starttls-not-offered": Case(
        lambda pki: mail_script("imap", cert=pki.server, offer_starttls=False),
        "STARTTLS not offered",
        {"security": "starttls"},
    ),
    "starttls-refused": Case(
        lambda pki: mail_script("imap", cert=pki.server, refuse_starttls=True),
        "refused STARTTLS",
        {"security": "starttls"},
    ),
    "logindisabled": Case(
        lambda pki: imap_script(capabilities=["IMAP4rev1", "LOGINDISABLED", "AUTH=PLAIN"]),
        "does not allow logging in without encryption",
        {"security": "none", "extra": "allow_plaintext = true\n"},
    ),
    "unknown-ca": Case(
        lambda pki: mail_script("imap", cert=pki.server, implicit_tls=True),
        "Certificate not trusted",
        {"trust": False},
    ),
    "expired": Case(
        lambda pki: mail_script("imap", cert=pki.expired, implicit_tls=True), "has expired"
    ),
    "hostname-mismatch": Case(
        lambda pki: mail_script("imap", cert=pki.other_name, implicit_tls=True),
        "hostname mismatch",
    ),
    "greeting-drips": Case(
        lambda pki: lambda conn: drip(conn, b"* OK " + b"slow " * 1000),
        "answered too slowly",
        {"security": "starttls"},
    ),
    "greeting-2mb-line": Case(
        lambda pki: _two_megabyte_line, "longer than", {"security": "starttls"}
    ),
}


@pytest.mark.mailstack
@pytest.mark.parametrize("case", list(CONNECT_CASES))
def test_sync_refuses_hostile_server_and_syncs_the_other_account(
    good_mail: MailStack, cli: Cli, pki: Pki, case: str
) -> None:
    chosen = CONNECT_CASES[case]
    expected = chosen.expected
    with ScriptedServer(chosen.script(pki)) as srv:
        cli.write_config(
            hostile_account(pki=pki, imap_port=srv.port, **chosen.options) + good_account(good_mail)
        )
        result, elapsed = run_timed(cli, "sync")
    assert result.returncode == 1
    hostile = [line for line in result.stdout.splitlines() if line.startswith("hostile")]
    assert any(expected in line for line in hostile + result.stderr.splitlines()), (
        result.stdout + result.stderr
    )
    good_synced(result)
    assert cache_rows(cli, "good")  # the real account's mail is cached
    assert cache_rows(cli, "hostile") == []
    assert_clean_output(result)
    assert_never_sent(srv)
    assert elapsed < 4 * TIMEOUT + SLACK + 10, elapsed  # the real account's sync is in there


@pytest.mark.parametrize("case", list(CONNECT_CASES))
def test_check_reports_hostile_server(cli: Cli, pki: Pki, case: str) -> None:
    chosen = CONNECT_CASES[case]
    expected = chosen.expected
    with ScriptedServer(chosen.script(pki)) as srv:
        cli.write_config(hostile_account(pki=pki, imap_port=srv.port, **chosen.options))
        result, elapsed = run_timed(cli, "check", "hostile")
    assert result.returncode == 1
    assert "FAILED" in result.stdout
    assert expected in result.stdout.replace("\n", " ").replace("  ", " "), result.stdout
    assert_clean_output(result)
    assert_never_sent(srv)
    assert elapsed < TIMEOUT + SLACK, elapsed


# -- cases in the middle of a sync or a read (IMAP) ---------------------------------------------


def _serve(box: ImapMailbox) -> ScriptedServer:
    return ScriptedServer(box.script, timeout=10)


def _sync_both(
    cli: Cli, pki: Pki, box: ImapMailbox, stack: MailStack
) -> tuple[subprocess.CompletedProcess[str], float, ScriptedServer]:
    with _serve(box) as srv:
        cli.write_config(hostile_account(pki=pki, imap_port=srv.port) + good_account(stack))
        result, elapsed = run_timed(cli, "sync")
    good_synced(result)
    assert cache_rows(cli, "good")
    assert_clean_output(result)
    assert_never_sent_in_clear(srv)
    return result, elapsed, srv


def _hostile_line(result: subprocess.CompletedProcess[str]) -> str:
    """What the sync said about the hostile account (summary and errors)."""
    lines = (result.stdout + result.stderr).splitlines()
    return "\n".join(line for line in lines if line.startswith("hostile"))


def _consistent(cli: Cli, box: ImapMailbox) -> list[tuple[str, int, str]]:
    """Every cached row of the hostile account is a message the server has, as it has it."""
    rows = cache_rows(cli, "hostile")
    server = {
        (name, m.uid, str(message_from_bytes(m.raw)["Subject"]))
        for name, folder in box.folders.items()
        for m in folder.messages
    }
    assert set(rows) <= server, (rows, server)
    assert len(rows) == len(set(rows))
    return rows


def _envelope_fetch(command: str, arguments: str) -> bool:
    return command == "UID FETCH" and "ENVELOPE" in arguments


def test_fetch_dropped_every_time_gives_up_clearly(
    good_mail: MailStack, cli: Cli, pki: Pki
) -> None:
    def hook(box: ImapMailbox, conn: Conn, tag: str, command: str, arguments: str) -> bool:
        if not _envelope_fetch(command, arguments):
            return False
        conn.send_raw(envelope_items(1, box.folder_of(conn).messages[0])[:40])  # half a reply
        conn.close()
        return True

    box = ImapMailbox(mailbox("one", "two"), cert=pki.server, implicit_tls=True, hook=hook)
    result, elapsed, _ = _sync_both(cli, pki, box, good_mail)
    assert result.returncode == 1
    assert "closed the connection in the middle of a reply" in _hostile_line(result)
    assert box.sessions == 4  # the first try and three retries, then a clear error
    assert _consistent(cli, box) == []
    assert elapsed < 1 + 2 + 4 + 4 * TIMEOUT + SLACK + 10


def test_fetch_dropped_once_resumes_without_duplicates(
    good_mail: MailStack, cli: Cli, pki: Pki
) -> None:
    def hook(box: ImapMailbox, conn: Conn, tag: str, command: str, arguments: str) -> bool:
        if not _envelope_fetch(command, arguments) or box.sessions > 1:
            return False
        first, second = box.folder_of(conn).messages[:2]
        conn.send_raw(envelope_items(1, first) + envelope_items(2, second)[:50])
        conn.close()
        return True

    box = ImapMailbox(mailbox("one", "two", "three"), cert=pki.server, implicit_tls=True, hook=hook)
    result, _, _ = _sync_both(cli, pki, box, good_mail)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [s for _, _, s in _consistent(cli, box)] == ["one", "two", "three"]


def test_fetch_that_drips_times_out_and_resumes(good_mail: MailStack, cli: Cli, pki: Pki) -> None:
    def hook(box: ImapMailbox, conn: Conn, tag: str, command: str, arguments: str) -> bool:
        if not _envelope_fetch(command, arguments) or box.sessions > 1:
            return False
        drip(conn, envelope_items(1, box.folder_of(conn).messages[0]), pause=0.2)
        return True

    box = ImapMailbox(mailbox("one", "two"), cert=pki.server, implicit_tls=True, hook=hook)
    result, elapsed, _ = _sync_both(cli, pki, box, good_mail)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [s for _, _, s in _consistent(cli, box)] == ["one", "two"]
    assert elapsed < TIMEOUT + 1 + SLACK + 10, elapsed  # one timeout, one pause, the good sync


HUGE = 4 * 1024**3


@pytest.mark.parametrize("where", ["envelopes", "list"])
def test_four_gigabyte_literal_is_refused(
    good_mail: MailStack, cli: Cli, pki: Pki, where: str
) -> None:
    def hook(box: ImapMailbox, conn: Conn, tag: str, command: str, arguments: str) -> bool:
        if where == "envelopes" and _envelope_fetch(command, arguments):
            conn.send_raw(b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (REFERENCES)] {%d}\r\n" % HUGE)
        elif where == "list" and command == "LIST":
            conn.send_raw(b'* LIST () "/" {%d}\r\n' % HUGE)
        else:
            return False
        conn.send_raw(b"x" * 1000)
        conn.wait_closed()
        return True

    box = ImapMailbox(mailbox("one"), cert=pki.server, implicit_tls=True, hook=hook)
    result, elapsed, _ = _sync_both(cli, pki, box, good_mail)
    assert result.returncode == 1
    assert "announced a literal of" in _hostile_line(result)
    assert str(HUGE) in _hostile_line(result).replace(",", "")
    assert _consistent(cli, box) == []
    assert elapsed < TIMEOUT + SLACK + 10


def test_two_megabyte_line_in_a_reply_is_refused(good_mail: MailStack, cli: Cli, pki: Pki) -> None:
    def hook(box: ImapMailbox, conn: Conn, tag: str, command: str, arguments: str) -> bool:
        if command != "LIST":
            return False
        conn.send_raw(b'* LIST () "/" "' + b"x" * 2_000_000)
        conn.wait_closed()
        return True

    box = ImapMailbox(mailbox("one"), cert=pki.server, implicit_tls=True, hook=hook)
    result, elapsed, _ = _sync_both(cli, pki, box, good_mail)
    assert result.returncode == 1
    assert "sent a line longer than 1,000,000 bytes" in _hostile_line(result)
    assert elapsed < TIMEOUT + SLACK + 10


def test_uids_out_of_range_or_repeated_are_not_cached(
    good_mail: MailStack, cli: Cli, pki: Pki
) -> None:
    ghost = FakeMessage(999, simple_message("ghost beyond UIDNEXT"))
    zero = FakeMessage(0, simple_message("ghost with UID 0"))

    def hook(box: ImapMailbox, conn: Conn, tag: str, command: str, arguments: str) -> bool:
        if not _envelope_fetch(command, arguments):
            return False
        one, two = box.folder_of(conn).messages
        for seq, item in ((1, one), (1, one), (2, two), (3, ghost), (4, zero), (2, two)):
            conn.send_raw(envelope_items(seq, item))
        conn.send_line(f"{tag} OK FETCH completed")
        return True

    box = ImapMailbox(mailbox("one", "two"), cert=pki.server, implicit_tls=True, hook=hook)
    result, _, _ = _sync_both(cli, pki, box, good_mail)
    assert [(uid, s) for _, uid, s in _consistent(cli, box)] == [(1, "one"), (2, "two")]
    assert result.returncode == 0, result.stdout + result.stderr


def test_uidvalidity_change_between_sessions_refetches(
    good_mail: MailStack, cli: Cli, pki: Pki
) -> None:
    box = ImapMailbox(
        mailbox("old one", "old two", uidvalidity=7), cert=pki.server, implicit_tls=True
    )
    _sync_both(cli, pki, box, good_mail)
    assert [s for _, _, s in _consistent(cli, box)] == ["old one", "old two"]
    box.folders.update(mailbox("new one", uidvalidity=8))
    result, _, _ = _sync_both(cli, pki, box, good_mail)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "UIDVALIDITY changed" in result.stderr
    assert [(uid, s) for _, uid, s in _consistent(cli, box)] == [(1, "new one")]


def test_unusable_folder_names_are_left_out(good_mail: MailStack, cli: Cli, pki: Pki) -> None:
    lines = [
        b'* LIST () "/" "INBOX"',
        b'* LIST () "/" {16}\r\nbad\r\nA1 DELETE x',  # CR/LF: a command if sent back
        b'* LIST () "/" "a&b"',  # modified UTF-7 that does not decode
        b'* LIST () "/" "Reports"',
    ]
    folders = {
        **mailbox("inbox mail"),
        "Reports": FakeFolder([FakeMessage(1, simple_message("r"))]),
    }
    box = ImapMailbox(folders, cert=pki.server, implicit_tls=True, list_lines=lines)
    result, _, _ = _sync_both(cli, pki, box, good_mail)
    assert result.returncode == 1
    assert result.stderr.count("cannot use") == 2, result.stderr
    assert "bad\\r\\nA1 DELETE x" in result.stderr
    assert sorted(s for _, _, s in _consistent(cli, box)) == ["inbox mail", "r"]
    assert not any("DELETE" in c for c in box.commands)
    assert not any("bad" in c for c in box.commands if c.startswith(("SELECT", "EXAMINE")))


def test_body_fetch_dropped_or_huge_fails_clearly(good_mail: MailStack, cli: Cli, pki: Pki) -> None:
    behaviour = {"body": "drop"}

    def hook(box: ImapMailbox, conn: Conn, tag: str, command: str, arguments: str) -> bool:
        if command != "UID FETCH" or "BODY.PEEK[]" not in arguments:
            return False
        if behaviour["body"] == "drop":
            conn.send_raw(b"* 1 FETCH (UID 1 BODY[] {500}\r\nFrom: half")
            conn.close()
        else:
            conn.send_raw(b"* 1 FETCH (UID 1 BODY[] {%d}\r\nFrom: x" % HUGE)
            conn.wait_closed()
        return True

    box = ImapMailbox(mailbox("one"), cert=pki.server, implicit_tls=True, hook=hook)
    with _serve(box) as srv:
        cli.write_config(hostile_account(pki=pki, imap_port=srv.port))
        assert cli.run("sync").returncode == 0
        (item,) = json.loads(cli.run("list", "--json").stdout)
        dropped, elapsed = run_timed(cli, "read", item["id"])
        behaviour["body"] = "huge"
        huge, huge_elapsed = run_timed(cli, "read", item["id"])
    assert dropped.returncode == 1
    assert "closed the connection" in dropped.stderr, dropped.stderr
    assert huge.returncode == 1
    assert "announced a literal of 4,294,967,296 bytes" in huge.stderr, huge.stderr
    for result in (dropped, huge):
        assert_clean_output(result)
    assert max(elapsed, huge_elapsed) < TIMEOUT + SLACK
    assert _consistent(cli, box) == [("INBOX", 1, "one")]
    assert_never_sent_in_clear(srv)


# -- POP3 (what exists today: connect, STLS, login, check) ----------------------------------------

POP3_CASES = {
    "stls-not-offered": Case(
        lambda pki: pop3_script(cert=pki.server, capabilities=["USER", "UIDL"]),
        "does not offer STLS",
        {"security": "starttls"},
    ),
    "stls-refused": Case(
        lambda pki: pop3_script(cert=pki.server, stls_reply="-ERR not now"),
        "refused STLS",
        {"security": "starttls"},
    ),
    "hostname-mismatch": Case(
        lambda pki: pop3_script(cert=pki.other_name, implicit_tls=True), "hostname mismatch"
    ),
    "unknown-ca": Case(
        lambda pki: pop3_script(cert=pki.server, implicit_tls=True),
        "Certificate not trusted",
        {"trust": False},
    ),
    "expired": Case(lambda pki: pop3_script(cert=pki.expired, implicit_tls=True), "expired"),
    "greeting-drips": Case(
        lambda pki: lambda conn: drip(conn, b"+OK " + b"slow " * 1000),
        "answered too slowly",
        {"security": "starttls"},
    ),
    "greeting-2mb-line": Case(
        lambda pki: _two_megabyte_line, "line too long", {"security": "starttls"}
    ),
}


@pytest.mark.parametrize("case", list(POP3_CASES))
def test_pop3_check_reports_hostile_server(cli: Cli, pki: Pki, case: str) -> None:
    chosen = POP3_CASES[case]
    expected = chosen.expected
    with ScriptedServer(chosen.script(pki)) as srv:
        cli.write_config(
            hostile_account(pki=pki, imap_port=srv.port, protocol="pop3", **chosen.options)
        )
        result, elapsed = run_timed(cli, "check", "hostile")
    assert result.returncode == 1
    assert expected in result.stdout.replace("\n", " ").replace("  ", " "), result.stdout
    assert_clean_output(result)
    assert_never_sent(srv)
    assert elapsed < TIMEOUT + SLACK, elapsed


# -- SMTP through tuimail send and the outbox -----------------------------------------------------


def _outbox(cli: Cli) -> list[dict[str, Any]]:
    listed = cli.run("outbox", "--json")
    assert listed.returncode == 0, listed.stderr
    entries: list[dict[str, Any]] = json.loads(listed.stdout)
    return entries


def _send(cli: Cli, *to: str) -> tuple[subprocess.CompletedProcess[str], float]:
    args = ["send", "--account", "hostile", "--subject", "Hostile test", *to]
    return run_timed(cli, *args, stdin="Body of the message.\n")


def _smtp_config(cli: Cli, pki: Pki, port: int, **options: Any) -> None:
    text = hostile_account(pki=pki, smtp_port=port, **options)
    cli.write_config(text.replace("[accounts.hostile]", "[accounts.hostile]\nsave_sent = false"))


def test_smtp_some_recipients_refused(cli: Cli, pki: Pki) -> None:
    desk = SmtpDesk(cert=pki.server, implicit_tls=True, refuse={"bob@example.org": "550 5.1.1 No"})
    with ScriptedServer(desk.script) as srv:
        _smtp_config(cli, pki, srv.port)
        result, elapsed = _send(cli, "carol@example.org", "bob@example.org")
        flushed = cli.run("sync")  # the sync's outbox pass must not send it again to carol
    assert result.returncode == 1
    assert "refused for: bob@example.org: 550 5.1.1 No" in result.stderr
    (entry,) = _outbox(cli)
    assert (entry["state"], entry["recipients"]) == ("held", ["bob@example.org"])
    assert [d.recipients for d in desk.delivered] == [["carol@example.org"]]
    assert_clean_output(result)
    assert_clean_output(flushed)
    assert_never_sent_in_clear(srv)
    assert elapsed < TIMEOUT + SLACK


def test_smtp_dropped_after_data_is_uncertain_and_not_resent(cli: Cli, pki: Pki) -> None:
    desk = SmtpDesk(cert=pki.server, implicit_tls=True, after_data="drop")
    with ScriptedServer(desk.script) as srv:
        _smtp_config(cli, pki, srv.port)
        result, elapsed = _send(cli, "carol@example.org")
        again = cli.run("sync")
        flushed = cli.run("outbox", "flush")
    assert result.returncode == 1
    assert "Maybe sent" in result.stderr
    (entry,) = _outbox(cli)
    assert entry["state"] == "uncertain"
    assert len(desk.data_received) == 1  # neither the sync nor a plain flush sent it again
    for done in (result, again, flushed):
        assert_clean_output(done)
    assert_never_sent_in_clear(srv)
    assert elapsed < TIMEOUT + SLACK


SMTP_REFUSALS = {
    "starttls-not-offered": Case(
        lambda pki: mail_script("smtp", cert=pki.server, offer_starttls=False),
        "STARTTLS not offered",
        {"smtp_security": "starttls"},
    ),
    "starttls-refused": Case(
        lambda pki: mail_script("smtp", cert=pki.server, refuse_starttls=True),
        "refused STARTTLS",
        {"smtp_security": "starttls"},
    ),
    "unknown-ca": Case(
        lambda pki: mail_script("smtp", cert=pki.server, implicit_tls=True),
        "Certificate not trusted",
        {"trust": False},
    ),
    "reply-drips": Case(
        lambda pki: lambda conn: drip(conn, b"220 " + b"slow " * 1000),
        "answered too slowly",
        {"smtp_security": "starttls"},
    ),
}


@pytest.mark.parametrize("case", list(SMTP_REFUSALS))
def test_smtp_hostile_server_keeps_the_message(cli: Cli, pki: Pki, case: str) -> None:
    chosen = SMTP_REFUSALS[case]
    expected = chosen.expected
    with ScriptedServer(chosen.script(pki)) as srv:
        _smtp_config(cli, pki, srv.port, **chosen.options)
        result, elapsed = _send(cli, "carol@example.org")
    assert result.returncode == 1
    assert expected in result.stderr, result.stderr
    (entry,) = _outbox(cli)
    assert entry["state"] in ("held", "waiting")
    assert entry["subject"] == "Hostile test"
    assert_clean_output(result)
    assert_never_sent(srv)
    assert elapsed < TIMEOUT + SLACK


# -- secrets in the process list; a damaged cache ------------------------------------------------


def _in_process_list(secret: str) -> list[str]:
    """The processes whose command line holds ``secret``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if secret.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            continue  # the process ended meanwhile
    return found


def test_password_never_in_the_process_list(cli: Cli, pki: Pki, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(CANARY + "\n")
    fifo = tmp_path / "gate"
    os.mkfifo(fifo)
    at_login = threading.Event()
    release = threading.Event()

    def hook(box: ImapMailbox, conn: Conn, tag: str, command: str, arguments: str) -> bool:
        if command != "LOGIN":
            return False
        at_login.set()
        release.wait(30)
        box.sessions += 1
        conn.send_line(f"{tag} OK Logged in")
        return True

    box = ImapMailbox(mailbox("one"), cert=pki.server, implicit_tls=True, hook=hook)
    with _serve(box) as srv:
        config = hostile_account(pki=pki, imap_port=srv.port).replace(
            f'password_command = "echo {CANARY}"',
            f'password_command = "cat {secret_file}; cat {fifo}"',
        )
        cli.write_config(config)
        process = subprocess.Popen(
            [sys.executable, "-m", "tuimail", "sync"],
            env=cli.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            with open(fifo, "w") as gate:  # opens once the password_command waits on it
                during_command = _in_process_list(CANARY)
                gate.write("go\n")
            assert at_login.wait(30)
            during_login = _in_process_list(CANARY)
        finally:
            release.set()
            out, err = process.communicate(timeout=60)
    assert during_command == []
    assert during_login == []
    assert process.returncode == 0, out + err
    assert_never_sent_in_clear(srv)


def test_damaged_cache_is_rebuilt_and_the_outbox_kept(cli: Cli, pki: Pki) -> None:
    box = ImapMailbox(mailbox("one", "two"), cert=pki.server, implicit_tls=True)
    desk = SmtpDesk(cert=pki.server, implicit_tls=True, refuse={"bob@example.org": "550 5.1.1 No"})
    with _serve(box) as imap_srv, ScriptedServer(desk.script) as smtp_srv:
        text = hostile_account(pki=pki, imap_port=imap_srv.port, smtp_port=smtp_srv.port)
        cli.write_config(
            text.replace("[accounts.hostile]", "[accounts.hostile]\nsave_sent = false")
        )
        assert cli.run("sync").returncode == 0
        _send(cli, "bob@example.org")  # held in the outbox: refused
        before = _outbox(cli)
        cache = cli.home / "cache" / "tuimail" / "cache.sqlite"
        for leftover in cache.parent.glob("cache.sqlite-*"):
            leftover.unlink()
        cache.write_bytes(os.urandom(64 * 1024))
        again = cli.run("sync")
        listed = cli.run("list", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(i["subject"] for i in json.loads(listed.stdout)) == ["one", "two"]
    assert _outbox(cli) == before
    assert before[0]["state"] == "held"
    assert_clean_output(again)
