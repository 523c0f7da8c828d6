"""Sending mail: drafts built into messages, kept in the outbox, sent, filed in Sent; drafts saved.

The order that never loses a message: build, write to the outbox (synced to disk), then talk to
the server; it leaves the outbox only once the server accepted it and its copy is in Sent. A
failure keeps it with the reason and retries later (a temporary one by itself, one that needs
the person when asked). A message is never sent twice for one acceptance: a send interrupted
while the server was taking it is marked uncertain and only sent again when asked.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

from tuimail.backends import smtp
from tuimail.backends.imap.session import open_session
from tuimail.backends.local.base import LocalMailboxError
from tuimail.backends.local.maildir import Maildir
from tuimail.mime.build import build_message, envelope_recipients, parse_addresses
from tuimail.mime.parse import parse_message
from tuimail.model.account import Account, LocalFormat, Role
from tuimail.model.errors import AuthError, ConnectError, MailError, SendError, TlsError
from tuimail.model.folder import FolderRole
from tuimail.model.message import Address, Draft, Flag
from tuimail.services.events import Event, EventSink, ignore_events
from tuimail.store import outbox as outbox_store
from tuimail.store.database import connect

PasswordSource = Callable[[Account, Role], str]
"""Gives the password of an account's server (asks, reads the keyring...)."""

DEMO_ACCOUNT = "demo"
SENDMAIL_TIMEOUT = 120.0
_BACKOFF = (60.0, 300.0, 900.0, 1800.0, 3600.0)


@dataclass(frozen=True)
class MessageQueued(Event):
    """A message was written to the outbox."""

    account: str
    entry: int
    subject: str


@dataclass(frozen=True)
class MessageSent(Event):
    """The server accepted a message (``refused`` lists recipients it would not take)."""

    account: str
    entry: int
    subject: str
    refused: dict[str, str]


@dataclass(frozen=True)
class SendFailed(Event):
    """A message was not sent; it stays in the outbox (retried by itself when ``retry``)."""

    account: str
    entry: int
    subject: str
    error: MailError
    retry: bool


@dataclass(frozen=True)
class SentCopyFailed(Event):
    """Sent, but the copy to the Sent folder failed; it is tried again later."""

    account: str
    entry: int
    subject: str
    error: MailError


@dataclass(frozen=True)
class Outcome:
    """What became of one message of the outbox in a flush."""

    entry: int
    sent: bool
    error: MailError | None = None
    refused: dict[str, str] | None = None
    copy_error: MailError | None = None


def _domain(account: Account) -> str:
    return account.email.rpartition("@")[2] or "localhost"


def build(
    account: Account, draft: Draft, *, eight_bit: bool = False, keep_bcc: bool = False
) -> EmailMessage:
    """The message a draft makes, From the account (Bcc kept only for the Drafts copy)."""
    return build_message(
        draft,
        Address(account.name, account.email),
        domain=_domain(account),
        eight_bit=eight_bit,
        keep_bcc=keep_bcc,
    )


def open_draft(raw: bytes, account: str) -> Draft:
    """A saved draft read back for editing: recipients, subject, body, threading, its id."""
    parsed = parse_message(raw)
    bcc = next((value for name, value in parsed.headers if name.lower() == "bcc"), "")
    try:
        hidden = parse_addresses(bcc) if bcc else ()
    except MailError:
        hidden = ()
    return Draft(
        account=account,
        to=parsed.to,
        cc=parsed.cc,
        bcc=hidden,
        subject=parsed.raw_subject,
        body=parsed.body.text,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        message_id=parsed.message_id,
    )


class Outbox:
    """The outbox at ``path``, and sending what is in it. One instance per thread."""

    def __init__(self, path: Path, *, on_event: EventSink = ignore_events) -> None:
        self.path = path
        self.db = connect(path, outbox_store.OUTBOX_MIGRATIONS)
        self.on_event = on_event

    def close(self) -> None:
        """Close the outbox file."""
        self.db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def queue(self, account: Account, draft: Draft) -> int:
        """Build the draft and keep it in the outbox (on disk before this returns)."""
        message = build(account, draft, eight_bit=True)
        recipients = envelope_recipients(draft)
        if not recipients:
            raise SendError("The message has no recipient (To, Cc or Bcc).", title="No recipient")
        raw = message.as_bytes()
        entry = outbox_store.add(
            self.db,
            account=account.id,
            raw=raw,
            sender=account.email,
            recipients=recipients,
            message_id=str(message.get("Message-ID", "")),
            subject=draft.subject,
        )
        self.on_event(MessageQueued(account.id, entry, draft.subject))
        return entry

    def entries(self, account: str | None = None) -> list[outbox_store.Queued]:
        """What is in the outbox, oldest first."""
        return outbox_store.listing(self.db, account)

    def drop(self, entry: int) -> None:
        """Give up on a message (it is removed without being sent)."""
        outbox_store.remove(self.db, entry)

    def flush(
        self,
        accounts: Sequence[Account],
        passwords: PasswordSource,
        *,
        only: int | None = None,
        force: bool = False,
        resend_uncertain: bool = False,
        now_anyway: bool = False,
    ) -> list[Outcome]:
        """Send what is due and file Sent copies.

        ``now_anyway``: every waiting message, whatever its pause (a sync asked by the person);
        ``force``: held ones too (``tuimail outbox flush``).
        """
        by_id = {account.id: account for account in accounts}
        outcomes = []
        for queued in self.entries():
            if only is not None and queued.id != only:
                continue
            account = by_id.get(queued.account)
            if account is None:
                continue
            if queued.sent_at is not None:  # sent already: only its copy to Sent may be missing
                if queued.sent_copy == "failed" and outbox_store.claim_copy(self.db, queued.id):
                    outcomes.append(self._copy_only(account, queued, passwords))
                if queued.state != outbox_store.HELD or not force:
                    continue
            if queued.state == outbox_store.UNCERTAIN and not resend_uncertain:
                continue
            if not outbox_store.claim(
                self.db,
                queued.id,
                force=force or resend_uncertain or only is not None,
                now_anyway=now_anyway,
            ):
                continue
            outcomes.append(self._send(account, queued, passwords))
        return outcomes

    def _send(
        self, account: Account, queued: outbox_store.Queued, passwords: PasswordSource
    ) -> Outcome:
        raw = outbox_store.raw(self.db, queued.id)
        try:
            delivery = _transport(account, list(queued.recipients), raw, passwords)
        except MailError as exc:
            if isinstance(exc, SendError) and exc.uncertain:
                outbox_store.uncertain(self.db, queued.id, f"{exc.title}: {exc.message}")
                self.on_event(SendFailed(account.id, queued.id, queued.subject, exc, False))
                return Outcome(queued.id, sent=False, error=exc)
            retry = _retry_in(exc, queued.attempts)
            outbox_store.failed(self.db, queued.id, f"{exc.title}: {exc.message}", retry_in=retry)
            self.on_event(SendFailed(account.id, queued.id, queued.subject, exc, retry is not None))
            return Outcome(queued.id, sent=False, error=exc)
        outbox_store.accepted(self.db, queued.id, delivery.refused)
        self.on_event(MessageSent(account.id, queued.id, queued.subject, delivery.refused))
        copy_error = self._file_copy(account, queued, raw, passwords)
        return Outcome(queued.id, sent=True, refused=delivery.refused, copy_error=copy_error)

    def _copy_only(
        self, account: Account, queued: outbox_store.Queued, passwords: PasswordSource
    ) -> Outcome:
        raw = outbox_store.raw(self.db, queued.id)
        error = self._file_copy(account, queued, raw, passwords)
        return Outcome(queued.id, sent=True, copy_error=error)

    def _file_copy(
        self, account: Account, queued: outbox_store.Queued, raw: bytes, passwords: PasswordSource
    ) -> MailError | None:
        """Put the sent message in the account's Sent folder; the error when that failed."""
        if not account.save_sent or account.id == DEMO_ACCOUNT:  # the demo filed it itself
            outbox_store.copy_saved(self.db, queued.id)
            return None
        try:
            save_to_role(account, FolderRole.SENT, raw, [Flag.SEEN], passwords)
        except MailError as exc:
            outbox_store.copy_saved(self.db, queued.id, f"{exc.title}: {exc.message}")
            self.on_event(SentCopyFailed(account.id, queued.id, queued.subject, exc))
            return exc
        outbox_store.copy_saved(self.db, queued.id)
        return None


def _retry_in(error: MailError, attempts: int) -> float | None:
    """Seconds until the next try, or None when only the person can fix it."""
    if isinstance(error, AuthError | TlsError):
        return None  # a wrong password or an untrusted certificate needs the person
    if isinstance(error, SendError) and not error.temporary:
        return None
    if isinstance(error, ConnectError | SendError):
        return _BACKOFF[min(attempts, len(_BACKOFF) - 1)]
    return None


def _transport(
    account: Account, recipients: list[str], raw: bytes, passwords: PasswordSource
) -> smtp.Delivery:
    if account.id == DEMO_ACCOUNT and account.local is not None:
        return _demo_delivery(account, recipients, raw)
    if account.outgoing is not None:
        password = passwords(account, Role.OUTGOING)
        return smtp.send(account.outgoing, password, account.email, recipients, raw)
    if account.sendmail:
        return _sendmail(account.sendmail, recipients, raw)
    raise SendError(
        f"Account {account.id!r} has no way to send: add an [accounts.{account.id}.outgoing] "
        'server, or sendmail = "/usr/sbin/sendmail -t -i".',
        title="No outgoing server",
    )


def _sendmail(command: str, recipients: list[str], raw: bytes) -> smtp.Delivery:
    argv = shlex.split(command)
    try:
        done = subprocess.run(
            argv,
            input=raw.replace(b"\r\n", b"\n"),
            capture_output=True,
            timeout=SENDMAIL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        error = SendError(f"Could not run {argv[0] if argv else command!r}: {exc}.")
        error.temporary = True
        raise error from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip()[-500:]
        error = SendError(f"{argv[0]} failed (exit status {done.returncode}): {why}")
        error.temporary = done.returncode == 75  # EX_TEMPFAIL
        raise error
    return smtp.Delivery(tuple(recipients), {})


def _demo_delivery(account: Account, recipients: list[str], raw: bytes) -> smtp.Delivery:
    """The demo never touches the network: a copy in its Sent, and one in its Inbox if to self."""
    assert account.local is not None  # noqa: S101 - checked by the caller
    box = Maildir(Path(account.local.path))
    try:
        sent = _folder_with_role(box, FolderRole.SENT)
        box.deliver(sent, raw, frozenset({Flag.SEEN}))
        if any(parseaddr(r)[1].lower() == account.email.lower() for r in recipients):
            box.deliver("INBOX", raw)
    except LocalMailboxError as exc:
        raise SendError(str(exc)) from None
    return smtp.Delivery(tuple(recipients), {})


def _folder_with_role(box: Maildir, role: FolderRole) -> str:
    for folder in box.folders():
        if folder.role is role:
            return folder.name
    name = {FolderRole.SENT: "Sent", FolderRole.DRAFTS: "Drafts"}.get(role, role.value.title())
    box.create_folder(name)
    return name


def save_to_role(
    account: Account,
    role: FolderRole,
    raw: bytes,
    flags: list[Flag],
    passwords: PasswordSource,
    *,
    replaces: str | None = None,
) -> str:
    """Put a message in the account's folder with ``role`` (Sent, Drafts); returns where.

    ``replaces`` names an older copy to remove afterwards (a draft saved again): an IMAP UID as
    text, or a Maildir key. Returns the new copy's UID (as text) or key, "" when not known.
    """
    if account.local is not None:
        if account.local.format is not LocalFormat.MAILDIR:
            raise MailError(f"Account {account.id!r} is one mbox file: it has no {role.value}.")
        box = Maildir(Path(account.local.path))
        try:
            folder = _folder_with_role(box, role)
            key = box.deliver(folder, raw, frozenset(flags))
            if replaces:
                box.scan(folder)
                box.delete(folder, [replaces])
        except LocalMailboxError as exc:
            raise MailError(str(exc)) from None
        return key
    session = open_session(account.server(), passwords(account, Role.INCOMING), account.id)
    try:
        found = next((f.name for f in session.folders() if f.role is role), None)
        target = found or ("Sent" if role is FolderRole.SENT else "Drafts")
        if found is None:
            session.create_folder(target)
        uid = session.append(target, raw, flags, when=None)
        if replaces and replaces.isdigit():
            session.add_flags(target, [int(replaces)], [Flag.DELETED])
            session.expunge(target, [int(replaces)])
        return str(uid or "")
    finally:
        session.close()


def save_draft(
    account: Account, draft: Draft, passwords: PasswordSource, *, replaces: str | None = None
) -> str:
    """Save a draft in the Drafts folder (\\\\Draft), replacing its older copy; returns where."""
    raw = build(account, draft, eight_bit=True, keep_bcc=True).as_bytes()
    return save_to_role(
        account, FolderRole.DRAFTS, raw, [Flag.DRAFT, Flag.SEEN], passwords, replaces=replaces
    )
