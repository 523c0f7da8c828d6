"""Looking at a real IMAP server and at tuimail's cache side by side, to compare them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from imapclient import IMAPClient
from mailstack.stack import MailStack

from tuimail.model.account import Account, Endpoint, Protocol, Security
from tuimail.store.codec import bits_to_flags

SYSTEM_FLAGS = {
    b"\\Seen": "seen",
    b"\\Answered": "answered",
    b"\\Flagged": "flagged",
    b"\\Deleted": "deleted",
    b"\\Draft": "draft",
}

State = dict[int, tuple[frozenset[str], str]]
"""UID -> (flag names, subject)."""


def imap_account(stack: MailStack, user: str, account_id: str = "acct") -> Account:
    """An IMAP-over-TLS account of a stack user, trusting the stack's CA."""
    endpoint = Endpoint(
        Protocol.IMAP,
        "localhost",
        stack.imaps,
        Security.TLS,
        stack.address(user),
        ca_file=str(stack.ca_file),
        timeout=30,
    )
    return Account(account_id, user.title(), stack.address(user), endpoint)


@contextmanager
def other_client(stack: MailStack, user: str) -> Iterator[Any]:
    """Another IMAP client of the same mailbox (what a phone or webmail would do)."""
    client = IMAPClient("127.0.0.1", port=stack.imap, ssl=False, timeout=30)
    client.login(stack.address(user), stack.password(user))
    try:
        yield client
    finally:
        client.logout()


def message(subject: str, body: str = "Hello.\n", *, days_ago: int = 0, **headers: str) -> bytes:
    """A small RFC 5322 message."""
    msg = EmailMessage()
    msg["From"] = headers.pop("sender", "Zoë Example <zoe@example.org>")
    msg["To"] = headers.pop("to", "someone@example.test")
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC) - timedelta(days=days_ago))
    msg["Message-ID"] = headers.pop("message_id", make_msgid(domain="example.org"))
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


def fresh_folder(stack: MailStack, user: str, name: str, count: int = 0) -> None:
    """(Re)create an empty folder and append ``count`` numbered messages."""
    with other_client(stack, user) as client:
        if client.folder_exists(name):
            client.delete_folder(name)
        client.create_folder(name)
        for index in range(count):
            client.append(name, message(f"Message {index}", f"Body of message {index}.\n"))


def server_state(stack: MailStack, user: str, folder: str) -> State:
    """What the server holds in a folder: UID -> (flags, subject)."""
    with other_client(stack, user) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        if not uids:
            return {}
        reply = client.fetch(uids, ["FLAGS", "ENVELOPE"])
    state: State = {}
    for uid, data in reply.items():
        flags = frozenset(SYSTEM_FLAGS[f] for f in data[b"FLAGS"] if f in SYSTEM_FLAGS)
        raw = (data[b"ENVELOPE"].subject or b"").decode()
        state[uid] = (flags, str(make_header(decode_header(raw))))
    return state


def cache_state(db_path: Path, account: str, folder: str) -> State:
    """What tuimail's cache holds for a folder: UID -> (flags, subject)."""
    db = sqlite3.connect(db_path)
    try:
        rows = db.execute(
            "SELECT m.uid, m.flags, m.subject FROM message m JOIN folder f ON f.id = m.folder_id"
            " WHERE f.account = ? AND f.name = ?",
            (account, folder),
        ).fetchall()
    finally:
        db.close()
    return {
        uid: (frozenset(f.value for f in bits_to_flags(bits)), subject)
        for uid, bits, subject in rows
    }


def index_rows(db_path: Path) -> tuple[int, int]:
    """(messages, full-text rows): equal when the index has no ghosts and no gaps."""
    db = sqlite3.connect(db_path)
    try:
        (messages,) = db.execute("SELECT count(*) FROM message").fetchone()
        (texts,) = db.execute("SELECT count(*) FROM message_text").fetchone()
    finally:
        db.close()
    return int(messages), int(texts)
