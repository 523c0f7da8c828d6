"""The sending commands of the command line: send (or save a draft), outbox, outbox flush."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from tuimail.config.paths import Paths
from tuimail.config.secrets import Secrets
from tuimail.config.settings import Settings
from tuimail.mime.build import parse_addresses
from tuimail.mime.sanitize import safe_line
from tuimail.model.account import Account, Role
from tuimail.model.errors import ConfigError, MailError
from tuimail.model.message import Draft
from tuimail.services.compose import Outbox, Outcome, save_draft
from tuimail.store.outbox import Queued

EXIT_OK = 0
EXIT_FAILED = 1


def run_command(
    args: argparse.Namespace,
    paths: Paths,
    settings: Settings,
    secrets: Callable[[], Secrets],
    out: TextIO,
) -> int:
    """Run send or outbox."""
    paths.ensure_private_dirs()
    if args.command == "send":
        return _send(args, paths, settings, secrets, out)
    return _outbox(args, paths, settings, secrets, out)


def _passwords(secrets: Callable[[], Secrets]) -> Callable[[Account, Role], str]:
    store: list[Secrets] = []

    def password(account: Account, role: Role) -> str:
        if not store:
            store.append(secrets())
        return store[0].password(account, role)

    return password


def _read_body() -> str:
    if sys.stdin.isatty():
        sys.stderr.write("Type the message; end it with Ctrl-D on a line of its own.\n")
    data = sys.stdin.buffer.read()
    return data.decode("utf-8", "replace")


def _draft(args: argparse.Namespace, account: Account) -> Draft:
    for path in args.attach:
        if not Path(path).expanduser().is_file():
            raise MailError(f"Cannot attach {path}: there is no such file.")
    return Draft(
        account=account.id,
        to=parse_addresses(", ".join(args.to)),
        cc=parse_addresses(", ".join(args.cc)) if args.cc else (),
        bcc=parse_addresses(", ".join(args.bcc)) if args.bcc else (),
        subject=args.subject,
        body=_read_body(),
        attachments=tuple(str(Path(p).expanduser()) for p in args.attach),
    )


def _send(
    args: argparse.Namespace,
    paths: Paths,
    settings: Settings,
    secrets: Callable[[], Secrets],
    out: TextIO,
) -> int:
    if not settings.accounts:
        raise ConfigError(
            f"No account is configured in {settings.path}. See 'Settings' in the README."
        )
    account = settings.account(args.account)
    draft = _draft(args, account)
    passwords = _passwords(secrets)
    if args.draft:
        save_draft(account, draft, passwords)
        out.write(f"Saved in {account.id}'s Drafts.\n")
        return EXIT_OK
    with Outbox(paths.outbox_file) as outbox:
        entry = outbox.queue(account, draft)
        (outcome,) = outbox.flush(settings.accounts, passwords, only=entry) or (
            Outcome(entry, sent=False, error=MailError("It could not be sent now.")),
        )
    return _report(outcome, out)


def _report(outcome: Outcome, out: TextIO) -> int:
    if not outcome.sent:
        error = outcome.error
        reason = f"{error.title}: {safe_line(error.message)}" if error else "not sent"
        sys.stderr.write(
            f"tuimail: not sent: {reason}\n"
            f"It waits in the outbox as number {outcome.entry}; tuimail outbox shows it, "
            "tuimail outbox flush tries again.\n"
        )
        return EXIT_FAILED
    if outcome.refused:
        refused = "; ".join(f"{r}: {why}" for r, why in outcome.refused.items())
        sys.stderr.write(
            f"tuimail: sent, but refused for: {safe_line(refused)} "
            f"(kept in the outbox as number {outcome.entry})\n"
        )
        return EXIT_FAILED
    out.write("Sent.\n")
    if outcome.copy_error is not None:
        sys.stderr.write(
            f"tuimail: sent, but the copy to Sent failed: {safe_line(outcome.copy_error.message)} "
            "(tuimail outbox flush tries again)\n"
        )
    return EXIT_OK


def _outbox(
    args: argparse.Namespace,
    paths: Paths,
    settings: Settings,
    secrets: Callable[[], Secrets],
    out: TextIO,
) -> int:
    with Outbox(paths.outbox_file) as outbox:
        if args.action == "drop":
            if args.entry is None:
                raise MailError("Say which message: tuimail outbox drop NUMBER.")
            outbox.drop(args.entry)
            out.write(f"Removed number {args.entry} from the outbox.\n")
            return EXIT_OK
        if args.action == "flush":
            outcomes = outbox.flush(
                settings.accounts,
                _passwords(secrets),
                force=True,
                resend_uncertain=args.resend_uncertain,
            )
            failed = [o for o in outcomes if not o.sent or o.refused]
            for outcome in outcomes:
                _report(outcome, out)
            out.write(f"{len(outcomes) - len(failed)} sent, {len(failed)} still waiting.\n")
            return EXIT_FAILED if failed else EXIT_OK
        entries = outbox.entries()
    if args.json:
        json.dump([_entry_json(e) for e in entries], out, ensure_ascii=False, indent=1)
        out.write("\n")
        return EXIT_OK
    if not entries:
        out.write("The outbox is empty.\n")
        return EXIT_OK
    for entry in entries:
        when = datetime.fromtimestamp(entry.created_at, UTC).astimezone().strftime("%d %b %H:%M")
        out.write(
            f"{entry.id:>4}  {entry.account}  {when}  {entry.state:<9} "
            f"{safe_line(entry.subject) or '(no subject)'} -> "
            f"{safe_line(', '.join(entry.recipients))}\n"
        )
        if entry.last_error:
            out.write(f"      {safe_line(entry.last_error)}\n")
        if entry.sent_copy == "failed":
            out.write(f"      copy to Sent failed: {safe_line(entry.sent_copy_error)}\n")
    return EXIT_OK


def _entry_json(entry: Queued) -> dict[str, object]:
    return {
        "number": entry.id,
        "account": entry.account,
        "created": datetime.fromtimestamp(entry.created_at, UTC).isoformat(),
        "state": entry.state,
        "subject": safe_line(entry.subject),
        "recipients": [safe_line(r) for r in entry.recipients],
        "message_id": safe_line(entry.message_id),
        "attempts": entry.attempts,
        "error": safe_line(entry.last_error),
        "next_try": datetime.fromtimestamp(entry.next_try, UTC).isoformat()
        if entry.next_try
        else None,
        "sent_copy": entry.sent_copy,
    }
