"""Sending through the real Postfix (submission with AUTH) to the real Dovecot, as a user does."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers.cli import Cli, account
from helpers.imap import other_client
from mailstack.stack import MailStack

from tuimail.config.settings import load_settings
from tuimail.mime.quote import reply_draft
from tuimail.model.account import Role
from tuimail.model.message import Address, Draft
from tuimail.services.compose import Outbox, open_draft, save_draft

pytestmark = pytest.mark.mailstack
SENDER = "alice"


@pytest.fixture
def cli(tmp_path: Path, mailstack: MailStack) -> Cli:
    cli = Cli(tmp_path)
    password = mailstack.password(SENDER)
    cli.write_config(
        account(mailstack, "a", SENDER, extra=f'password_command = "echo {password}"\n')
    )
    return cli


def _wait_for(stack: MailStack, user: str, message_id: str, folder: str = "INBOX") -> bytes:
    """The raw message with this Message-ID once Postfix has delivered it (IDLE, 60 s at most)."""
    with other_client(stack, user) as client:
        client.select_folder(folder, readonly=True)
        for _ in range(120):
            found = client.search(["HEADER", "Message-ID", message_id])
            if found:
                data = client.fetch(found[-1:], ["BODY.PEEK[]"])
                return bytes(next(iter(data.values()))[b"BODY[]"])
            client.idle()
            client.idle_check(timeout=0.5)
            client.idle_done()
    raise AssertionError(f"{message_id} never reached {user}'s {folder}")


def _outbox(cli: Cli) -> list[dict[str, object]]:
    result = cli.run("outbox", "--json")
    assert result.returncode == 0, result.stderr
    entries: list[dict[str, object]] = json.loads(result.stdout)
    return entries


def _message_id_in_sent(stack: MailStack, subject: str) -> str:
    with other_client(stack, SENDER) as client:
        client.select_folder("Sent", readonly=True)
        found = client.search(["SUBJECT", subject], charset="UTF-8")
        assert found, f"no copy of {subject!r} in Sent"
        data = client.fetch(found[-1:], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        header = next(iter(data.values()))[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]
    return bytes(header).decode().split(":", 1)[1].strip()


def test_alice_sends_to_bob(mailstack: MailStack, cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "Résumé – 日本.pdf"
    report.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40)
    notes = tmp_path / "notes.txt"
    notes.write_text("line one\nline two\n")
    subject = "Grüße aus Zürich — 会議のメモ"
    body = "Hallo Bob,\n\nhier die Unterlagen. Ça va?\n\n— Alice\n"
    sent = cli.run(
        "send",
        "-s",
        subject,
        "-c",
        "Carol Ünïcode <carol@example.test>",
        "-b",
        "sink@example.test",
        "-a",
        str(report),
        "-a",
        str(notes),
        "Bob Builder <bob@example.test>",
        stdin=body,
    )
    assert sent.returncode == 0, sent.stderr
    assert "Sent." in sent.stdout
    assert _outbox(cli) == []  # accepted, filed in Sent: nothing left waiting
    message_id = _message_id_in_sent(mailstack, "Zürich")
    raw = _wait_for(mailstack, "bob", message_id)
    got = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(got, EmailMessage)
    assert got["Subject"] == subject
    assert got["From"].addresses[0].display_name == "Alice"
    assert got["From"].addresses[0].addr_spec == "alice@example.test"
    assert got["To"].addresses[0].display_name == "Bob Builder"
    assert got["Cc"].addresses[0].display_name == "Carol Ünïcode"
    assert "Bcc" not in got
    assert (
        b"sink@example.test" not in raw.split(b"\r\n\r\n", 1)[0].lower() or b"Delivered-To" in raw
    )
    text = got.get_body(("plain",))
    assert text is not None
    assert "Ça va?" in text.get_content()
    files = {part.get_filename(): part.get_content() for part in got.iter_attachments()}
    assert files["Résumé – 日本.pdf"] == report.read_bytes()
    assert files["notes.txt"] in ("line one\nline two\n", b"line one\nline two\n")
    # the Bcc recipient got it, and so did Carol
    assert _wait_for(mailstack, "sink", message_id)
    assert _wait_for(mailstack, "carol", message_id)


def test_reply_threads_under_the_original(mailstack: MailStack, cli: Cli) -> None:
    first = cli.run("send", "-s", "Lunch on Friday?", "bob@example.test", stdin="Pizza?\n")
    assert first.returncode == 0, first.stderr
    original_id = _message_id_in_sent(mailstack, "Lunch on Friday")
    original = _wait_for(mailstack, "bob", original_id)
    draft = reply_draft(original, {"bob@example.test"}, account="b", reply_all=False)
    assert draft.subject == "Re: Lunch on Friday?"
    assert draft.in_reply_to == original_id
    assert original_id in draft.references
    # bob replies through his own account
    bob = Cli(cli.home / "bob")
    password = mailstack.password("bob")
    bob.write_config(
        account(mailstack, "b", "bob", extra=f'password_command = "echo {password}"\n')
    )
    settings = load_settings(bob.config)
    with Outbox(bob.home / "outbox.sqlite") as outbox:
        entry = outbox.queue(settings.accounts[0], draft)
        (outcome,) = outbox.flush(
            settings.accounts, lambda a, r: password if r in (Role.INCOMING, Role.OUTGOING) else ""
        )
        assert outcome.sent, outcome.error
        assert entry == outcome.entry
    with other_client(mailstack, SENDER) as client:
        client.select_folder("INBOX", readonly=True)
        for _ in range(120):
            found = client.search(["HEADER", "In-Reply-To", original_id])
            if found:
                break
            client.idle()
            client.idle_check(timeout=0.5)
            client.idle_done()
        assert found
        data = client.fetch(found[-1:], ["BODY.PEEK[HEADER]"])
    header = bytes(next(iter(data.values()))[b"BODY[HEADER]"]).decode()
    assert f"In-Reply-To: {original_id}" in header
    assert "References:" in header
    assert original_id in header.split("References:", 1)[1]


@pytest.fixture
def postfix_stopped(mailstack: MailStack) -> Iterator[None]:
    mailstack.postfix("stop")
    try:
        yield
    finally:
        mailstack.postfix("start")


def test_postfix_down_keeps_the_message_until_it_is_back(
    mailstack: MailStack, cli: Cli, postfix_stopped: None
) -> None:
    down = cli.run("send", "-s", "While you were out", "bob@example.test", stdin="Ping.\n")
    assert down.returncode == 1
    assert "not sent" in down.stderr
    assert "waits in the outbox" in down.stderr
    (waiting,) = _outbox(cli)
    assert waiting["state"] == "waiting"
    assert "refused" in str(waiting["error"]).lower() or "connect" in str(waiting["error"]).lower()
    mailstack.postfix("start")
    synced = cli.run("sync")  # the next sync sends what waits
    assert synced.returncode == 0, synced.stderr
    assert "outbox: 1 sent, 0 still waiting" in synced.stdout
    assert _outbox(cli) == []
    message_id = _message_id_in_sent(mailstack, "While you were out")
    _wait_for(mailstack, "bob", message_id)
    again = cli.run("outbox", "flush")  # nothing left: never sent twice
    assert "0 sent, 0 still waiting" in again.stdout
    with other_client(mailstack, "bob") as client:
        client.select_folder("INBOX", readonly=True)
        assert len(client.search(["HEADER", "Message-ID", message_id])) == 1
    mailstack.postfix("stop")  # the fixture starts it again


def test_wrong_password_keeps_the_message(mailstack: MailStack, tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.write_config(account(mailstack, "a", SENDER, extra='password_command = "echo wrong"\n'))
    result = cli.run("send", "-s", "Secret plans", "bob@example.test", stdin="Shh.\n")
    assert result.returncode == 1
    assert "refused the login" in result.stderr
    assert "wrong" not in result.stderr.replace("wrong user", "")  # the password is never shown
    (held,) = _outbox(cli)
    assert held["state"] == "held"
    assert held["subject"] == "Secret plans"


@pytest.mark.parametrize(
    "bad",
    ["bob@example.test\r\nBcc: victim@example.org", "not an address", "bob@", "@example.test"],
)
def test_bad_addresses_are_refused_before_sending(cli: Cli, bad: str) -> None:
    result = cli.run("send", "-s", "x", bad, stdin="x\n")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "address" in result.stderr.lower()
    assert _outbox(cli) == []  # nothing was even queued


def test_subject_with_a_line_break_is_refused(cli: Cli) -> None:
    result = cli.run("send", "-s", "Hi\r\nBcc: victim@example.org", "bob@example.test", stdin="x")
    assert result.returncode != 0
    assert _outbox(cli) == []


def test_too_big_for_the_server_is_refused_before_sending(
    mailstack: MailStack, cli: Cli, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.bin"
    huge.write_bytes(b"\0" * (40 * 1024 * 1024))  # base64 makes it larger than Postfix's 50 MB
    result = cli.run("send", "-s", "Huge", "-a", str(huge), "bob@example.test", stdin="x\n")
    assert result.returncode == 1
    assert "takes at most" in result.stderr
    (held,) = _outbox(cli)
    assert held["state"] == "held"


def test_demo_sends_to_itself_without_network(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    sent = cli.run("--demo", "send", "-s", "Note to self", "robin@demo.example", stdin="Milk.\n")
    assert sent.returncode == 0, sent.stderr
    inbox = json.loads(cli.run("--demo", "search", 'subject:"Note to self"', "--json").stdout)
    assert {item["folder"] for item in inbox} == {"INBOX", "Sent"}


def test_concurrent_flushes_send_once(mailstack: MailStack, cli: Cli) -> None:
    settings = load_settings(cli.config)
    account_a = settings.accounts[0]
    password = mailstack.password(SENDER)
    path = cli.home / "data" / "tuimail" / "outbox.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    with Outbox(path) as outbox:
        outbox.queue(
            account_a,
            Draft("a", to=(Address("", "bob@example.test"),), subject="Once only", body="1\n"),
        )
    results: list[int] = []

    def flush() -> None:
        with Outbox(path) as mine:
            results.extend(o.entry for o in mine.flush(settings.accounts, lambda a, r: password))

    threads = [threading.Thread(target=flush) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 1


def test_drafts_are_saved_replaced_and_reopened(mailstack: MailStack, cli: Cli) -> None:
    first = cli.run(
        "send",
        "--draft",
        "-s",
        "Plan v1",
        "-b",
        "carol@example.test",
        "bob@example.test",
        stdin="First thoughts.\n",
    )
    assert first.returncode == 0, first.stderr
    settings = load_settings(cli.config)
    account_a = settings.accounts[0]
    password = mailstack.password(SENDER)
    with other_client(mailstack, SENDER) as client:
        client.select_folder("Drafts", readonly=True)
        (uid,) = client.search(["SUBJECT", "Plan v1"])
        data = client.fetch([uid], ["FLAGS", "BODY.PEEK[]"])[uid]
    assert b"\\Draft" in data[b"FLAGS"]
    reopened = open_draft(bytes(data[b"BODY[]"]), "a")
    assert [a.email for a in reopened.to] == ["bob@example.test"]
    assert [a.email for a in reopened.bcc] == ["carol@example.test"]  # kept in the draft only
    assert "First thoughts." in reopened.body
    edited = replace(reopened, subject="Plan v2", body=reopened.body + "More.\n")
    save_draft(account_a, edited, lambda a, r: password, replaces=str(uid))
    with other_client(mailstack, SENDER) as client:
        client.select_folder("Drafts", readonly=True)
        assert client.search(["SUBJECT", "Plan v1"]) == []  # the newer save replaced it
        assert len(client.search(["SUBJECT", "Plan v2"])) == 1
