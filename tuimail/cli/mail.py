"""The mail commands of the command line: sync, list, read, search and folders."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import socket
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TextIO

from rich.cells import cell_len, set_cell_size

from tuimail.backends.imap.session import ImapSession, open_session
from tuimail.cli.commands import cache_file
from tuimail.config.paths import Paths
from tuimail.config.secrets import Secrets
from tuimail.config.settings import Settings
from tuimail.mime.sanitize import safe_line, safe_text
from tuimail.model.account import Account, LocalSource, Protocol, Role
from tuimail.model.errors import ConfigError, MailError
from tuimail.model.folder import Folder, FolderRole
from tuimail.model.message import Address, Flag
from tuimail.services import actions as action_service
from tuimail.services.compose import Outbox
from tuimail.services.events import (
    ActionFailed,
    Event,
    FolderReset,
    SyncFailed,
    SyncProgress,
)
from tuimail.services.local import discover_local, open_local, sync_local
from tuimail.services.pop3_fetch import FetchResult, fetch_pop3

__all__ = ["discover_local"]
from tuimail.services.mailbox import CachedEnvelope, Mailbox, Sort, message_key
from tuimail.services.sync import BATCH, SyncResult, sync_account

EXIT_OK = 0
EXIT_FAILED = 1

_FLAG_ORDER = (Flag.SEEN, Flag.ANSWERED, Flag.FLAGGED, Flag.DELETED, Flag.DRAFT)


def run_command(
    args: argparse.Namespace,
    paths: Paths,
    settings: Settings,
    secrets: Callable[[], Secrets],
    out: TextIO,
) -> int:
    """Run one of the mail commands."""
    paths.ensure_private_dirs()
    if args.command in ("list", "search", "folders", "read"):
        refresh_local(paths, settings, getattr(args, "account", None))
    handler = {
        "sync": _sync,
        "list": _list,
        "read": _read,
        "search": _search,
        "folders": _folders,
    }[args.command]
    return handler(args, paths, settings, secrets, out)


def _accounts(settings: Settings, account: str | None) -> list[Account]:
    chosen = [settings.account(account)] if account else list(settings.accounts)
    if not chosen:
        raise ConfigError(
            f"No account is configured in {settings.path}. See 'Settings' in the README, "
            "or try tuimail --demo."
        )
    return chosen


def _imap_accounts(settings: Settings, account: str | None) -> list[Account]:
    chosen = _accounts(settings, account)
    return [a for a in chosen if a.incoming is not None and a.incoming.protocol is Protocol.IMAP]


def refresh_local(paths: Paths, settings: Settings, account: str | None = None) -> None:
    """Scan local accounts into the cache (cheap when nothing changed) before showing them."""
    chosen = [settings.account(account)] if account else list(settings.accounts)
    for local in (a for a in chosen if a.local is not None):
        result = sync_local(cache_file(paths), local, open_local(local))
        for error in result.errors:
            sys.stderr.write(f"tuimail: {local.id}: {error.message}\n")


# -- sync -------------------------------------------------------------------------------------


class _Progress:
    """A one-line progress bar on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.shown = False

    def event(self, event: Event) -> None:
        if isinstance(event, SyncProgress) and self.live:
            width = max(10, min(40, shutil.get_terminal_size().columns - 50))
            total = max(event.total, event.done, 1)
            filled = int(width * event.done / total)
            bar = "#" * filled + "-" * (width - filled)
            label = safe_line(f"{event.account} {event.folder}")[:30]
            self.stream.write(f"\r{label:<30} [{bar}] {event.done:>7,}/{total:,}")
            self.stream.flush()
            self.shown = True
        elif isinstance(event, FolderReset):
            self.line(
                f"{event.account}: {safe_line(event.folder)} was renumbered on the server "
                f"(UIDVALIDITY changed): its {event.dropped} cached messages and queued "
                "actions were dropped and it is fetched again."
            )
        elif isinstance(event, SyncFailed):
            where = f" {safe_line(event.folder)}" if event.folder else ""
            self.line(
                f"{event.account}{where}: {event.error.title}: {safe_line(event.error.message)}"
            )
        elif isinstance(event, ActionFailed):
            self.line(
                f"{event.account}: could not {safe_line(event.description)}: "
                f"{safe_line(event.error.message)} "
                "(the change was undone here)"
            )

    def line(self, text: str) -> None:
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * (shutil.get_terminal_size().columns - 1) + "\r")
            self.shown = False


def _sync(
    args: argparse.Namespace,
    paths: Paths,
    settings: Settings,
    secrets: Callable[[], Secrets],
    out: TextIO,
) -> int:
    accounts = _accounts(settings, args.account)
    progress = _Progress(sys.stderr)
    cancel = threading.Event()
    failed = False
    for account in accounts:
        if _is_pop3(account):
            fetched = _fetch(
                account,
                paths,
                secrets,
                progress=progress,
                cancel=cancel,
                out=out,
                dry_run=args.dry_run,
            )
            failed = failed or fetched
            if args.dry_run:
                continue
        elif args.dry_run:
            out.write(f"{account.id}: --dry-run covers POP3 accounts; this one was left alone.\n")
            continue
        if account.local is not None:
            result = sync_local(
                cache_file(paths),
                account,
                open_local(account),
                on_event=progress.event,
                cancel=cancel,
            )
            progress.clear()
            out.write(_summary(result) + "\n")
            failed = failed or bool(result.errors)
            continue
        password = secrets().password(account, Role.INCOMING)

        def replay(session: ImapSession, account_id: str = account.id) -> None:
            action_service.replay(cache_file(paths), account_id, session, progress.event)

        try:
            result = sync_account(
                cache_file(paths),
                account,
                password,
                folders=args.folder,
                on_event=progress.event,
                cancel=cancel,
                before_folders=replay,
                batch=_batch_size(),
            )
        except KeyboardInterrupt:
            cancel.set()
            progress.clear()
            raise
        progress.clear()
        out.write(_summary(result) + "\n")
        failed = failed or bool(result.errors)
    failed = _send_due(paths, settings, secrets, out, [a.id for a in accounts]) or failed
    return EXIT_FAILED if failed else EXIT_OK


def _send_due(
    paths: Paths,
    settings: Settings,
    secrets: Callable[[], Secrets],
    out: TextIO,
    accounts: list[str],
) -> bool:
    """Send what waits in the outbox and is due (a sync is also a retry); True if any failed."""
    path = paths.outbox_file
    if not path.exists():
        return False
    chosen = [a for a in settings.accounts if a.id in accounts]
    with Outbox(path) as outbox:
        if not any(e.account in accounts for e in outbox.entries()):
            return False
        outcomes = outbox.flush(chosen, lambda a, r: secrets().password(a, r), now_anyway=True)
    sent = sum(1 for o in outcomes if o.sent and not o.refused)
    if outcomes:
        out.write(f"outbox: {sent} sent, {len(outcomes) - sent} still waiting\n")
    return sent < len(outcomes)


def _batch_size() -> int:
    """Envelopes per commit: TUIMAIL_SYNC_BATCH, else the sync's default."""
    value = os.environ.get("TUIMAIL_SYNC_BATCH", "")
    return int(value) if value.isdigit() and int(value) > 0 else BATCH


def _is_pop3(account: Account) -> bool:
    return account.incoming is not None and account.incoming.protocol is Protocol.POP3


def _fetch(
    account: Account,
    paths: Paths,
    secrets: Callable[[], Secrets],
    *,
    progress: _Progress,
    cancel: threading.Event,
    out: TextIO,
    dry_run: bool,
) -> bool:
    """Fetch a POP3 account into its Maildir (or show the plan); True when something failed."""
    try:
        password = secrets().password(account, Role.INCOMING)
    except MailError as exc:
        progress.line(f"{account.id}: {exc.title}: {exc.message}")
        return True
    try:
        result = fetch_pop3(
            paths.data_dir,
            account,
            password,
            on_event=progress.event,
            cancel=cancel,
            dry_run=dry_run,
        )
    except KeyboardInterrupt:
        cancel.set()
        progress.clear()
        raise
    progress.clear()
    for notice in result.notices:
        progress.line(f"{account.id}: {safe_line(notice)}")
    for error in result.errors:
        progress.line(f"{account.id}: {error.title}: {safe_line(error.message)}")
    if dry_run:
        out.write(_plan_text(result))
    else:
        out.write(
            f"{account.id}: POP3: {result.on_server:,} on the server, {result.downloaded:,} "
            f"downloaded, {result.deleted:,} deleted on the server in {result.seconds:.1f} s\n"
        )
    return bool(result.errors)


def _plan_text(result: FetchResult) -> str:
    lines = [
        f"{result.account}: POP3 dry run: {result.on_server:,} on the server, "
        f"{len(result.to_download):,} would be downloaded, {len(result.to_delete):,} would be "
        "deleted on the server (nothing was changed)"
    ]
    lines.extend(
        f"  download #{m.number} {safe_line(m.uidl) or '(no usable UIDL)'} ({m.size:,} bytes)"
        for m in result.to_download
    )
    lines.extend(
        f"  delete   #{m.number} {safe_line(m.uidl) or '(no usable UIDL)'}: {why}"
        for m, why in result.to_delete
    )
    return "\n".join(lines) + "\n"


def _summary(result: SyncResult) -> str:
    folders = len(result.folders)
    text = (
        f"{result.account}: {folders} folder{'s' * (folders != 1)}, {result.added:,} new, "
        f"{result.changed:,} changed, {result.removed:,} removed in {result.seconds:.1f} s"
    )
    if result.errors:
        text += f"; {len(result.errors)} error{'s' * (len(result.errors) != 1)} (see above)"
    return text


# -- list and search --------------------------------------------------------------------------


def _scope(mailbox: Mailbox, args: argparse.Namespace, settings: Settings) -> list[int]:
    if not settings.accounts:
        raise ConfigError(
            f"No account is configured in {settings.path}. See 'Settings' in the README, "
            "or try tuimail --demo."
        )
    if args.account:
        settings.account(args.account)  # a ConfigError naming the accounts when unknown
    if args.folder or args.all_folders:
        return mailbox.folder_ids(args.account, None if args.all_folders else args.folder)
    inboxes = [
        f for f in mailbox.folders(args.account) if f.role is FolderRole.INBOX and f.selectable
    ]
    if not inboxes:
        raise MailError("Nothing is cached yet; run tuimail sync first.")
    ids: list[int] = []
    for inbox in inboxes:
        ids.extend(mailbox.folder_ids(inbox.account, inbox.name))
    return ids


def _list(
    args: argparse.Namespace,
    paths: Paths,
    settings: Settings,
    secrets: Callable[[], Secrets],
    out: TextIO,
) -> int:
    with Mailbox(cache_file(paths)) as mailbox:
        found = mailbox.envelopes(
            _scope(mailbox, args, settings),
            sort=Sort(args.sort),
            descending=not args.reverse,
            offset=max(args.offset, 0),
            limit=max(args.limit, 0),
        )
        outgoing = _outgoing(mailbox)
    _print_envelopes(found, args.json, out, outgoing)
    return EXIT_OK


def _outgoing(mailbox: Mailbox) -> frozenset[tuple[str, str]]:
    """(account, folder) of the folders whose mail goes out: Sent and Drafts."""
    return frozenset(
        (f.account, f.name)
        for f in mailbox.folders()
        if f.role in (FolderRole.SENT, FolderRole.DRAFTS)
    )


def _search(
    args: argparse.Namespace,
    paths: Paths,
    settings: Settings,
    secrets: Callable[[], Secrets],
    out: TextIO,
) -> int:
    with Mailbox(cache_file(paths)) as mailbox:
        if args.account:
            settings.account(args.account)  # a ConfigError naming the accounts when unknown
        # a search looks in every folder (of the account) unless one is named
        scope = mailbox.folder_ids(args.account, args.folder)
        found = mailbox.envelopes(scope, query=args.query, limit=max(args.limit, 0))
        if args.server:
            seen = {c.id for c in found}
            for account in _imap_accounts(settings, args.account):
                folders = [
                    f
                    for f in mailbox.folders(account.id)
                    if f.selectable and (not args.folder or f.name == args.folder)
                ]
                with _session(account, secrets) as session:
                    for folder in folders:
                        for hit in mailbox.search_server(
                            session, account.id, folder.name, args.query
                        ):
                            if hit.id not in seen:
                                seen.add(hit.id)
                                found.append(hit)
            found = found[: max(args.limit, 0)]
        outgoing = _outgoing(mailbox)
    _print_envelopes(found, args.json, out, outgoing)
    return EXIT_OK


def _addresses_json(addresses: tuple[Address, ...]) -> list[dict[str, str]]:
    return [{"name": safe_line(a.name), "email": safe_line(a.email)} for a in addresses]


def envelope_json(cached: CachedEnvelope) -> dict[str, object]:
    """One message as the JSON of ``list --json`` and ``search --json``."""
    envelope = cached.envelope
    ref = envelope.ref
    flags = [flag.value for flag in _FLAG_ORDER if flag in envelope.flags]
    flags.extend(safe_line(k) for k in sorted(envelope.keywords))
    return {
        "id": message_key(ref),
        "account": ref.account,
        "folder": safe_line(ref.folder),
        "uid": ref.uid,
        "uidvalidity": ref.uidvalidity,
        "message_id": safe_line(envelope.message_id),
        "date": envelope.date.isoformat() if envelope.date else None,
        "from": _addresses_json(envelope.sender),
        "to": _addresses_json(envelope.to),
        "cc": _addresses_json(envelope.cc),
        "subject": safe_line(envelope.subject),
        "flags": flags,
        "size": envelope.size,
        "has_attachments": envelope.has_attachments,
        "in_reply_to": safe_line(envelope.in_reply_to),
    }


def _short_date(value: datetime | None, now: datetime) -> str:
    if value is None:
        return ""
    local = value.astimezone()
    if local.date() == now.date():
        return local.strftime("%H:%M")
    if local.year == now.year:
        return local.strftime("%d %b")
    return local.strftime("%Y-%m-%d")


def _markers(cached: CachedEnvelope) -> str:
    flags = cached.envelope.flags
    return (
        ("N" if Flag.SEEN not in flags else " ")
        + ("!" if Flag.FLAGGED in flags else " ")
        + ("r" if Flag.ANSWERED in flags else " ")
        + ("@" if cached.envelope.has_attachments else " ")
    )


def _fit(text: str, width: int) -> str:
    """``text`` cut or padded to ``width`` terminal cells (wide CJK characters count two)."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, max(width - 1, 0)) + "…"


def _print_envelopes(
    found: list[CachedEnvelope],
    as_json: bool,
    out: TextIO,
    outgoing: frozenset[tuple[str, str]] = frozenset(),
) -> None:
    """Envelopes as JSON, or one line each; in ``outgoing`` (account, folder) pairs (Sent,
    Drafts) a line shows who it went to rather than who sent it."""
    if as_json:
        json.dump([envelope_json(c) for c in found], out, ensure_ascii=False, indent=1)
        out.write("\n")
        return
    if not found:
        out.write("No messages.\n")
        return
    now = datetime.now().astimezone()
    width = max(60, shutil.get_terminal_size().columns)
    keys = [message_key(c.envelope.ref) for c in found]
    key_width = max(len(k) for k in keys)
    # "ID MARK DATE SENDER SUBJECT": four markers, a 10-column date, five spaces; the last column
    # stays empty so that a full line never wraps
    rest = width - 1 - key_width - 4 - 10 - 4
    sender_width = max(10, rest // 3)
    subject_width = max(10, rest - sender_width)
    for key, cached in zip(keys, found, strict=True):
        envelope = cached.envelope
        ref = envelope.ref
        if (ref.account, ref.folder) in outgoing and envelope.to:
            first = envelope.to[0]
            who = "To " + safe_line(first.name or first.email)
        else:
            sender = envelope.sender[0] if envelope.sender else Address("", "")
            who = safe_line(sender.name or sender.email)
        subject = _fit(safe_line(envelope.subject) or "(no subject)", subject_width).rstrip()
        out.write(
            f"{key:<{key_width}} {_markers(cached)} {_short_date(envelope.date, now):>10} "
            f"{_fit(who, sender_width)} {subject}\n"
        )


# -- read -------------------------------------------------------------------------------------


@contextmanager
def _session(account: Account, secrets: Callable[[], Secrets]) -> Iterator[ImapSession]:
    password = secrets().password(account, Role.INCOMING)
    session = open_session(account.server(), password, account.id)
    try:
        yield session
    finally:
        session.close()


def _read(
    args: argparse.Namespace,
    paths: Paths,
    settings: Settings,
    secrets: Callable[[], Secrets],
    out: TextIO,
) -> int:
    with Mailbox(cache_file(paths)) as mailbox:
        cached = mailbox.envelope(args.id)
        account = settings.account(cached.envelope.ref.account)
        if account.local is not None:
            message = mailbox.read(args.id, open_local(account))
        elif mailbox.cached_raw(cached) is not None:
            message = mailbox.read(args.id, None)
        else:
            with _session(account, secrets) as session:
                message = mailbox.read(args.id, session)
    if args.raw:
        out.write(safe_text(message.raw.decode("utf-8", "replace")))
        return EXIT_OK
    from tuimail.mime.sender import display_address, forgery_reasons  # noqa: PLC0415

    parsed = message.parsed
    if args.headers:
        for name, value in parsed.headers:
            out.write(f"{safe_line(name)}: {value}\n")
    else:
        _header(out, "From", ", ".join(display_address(a) for a in parsed.sender))
        _header(out, "To", ", ".join(display_address(a) for a in parsed.to))
        _header(out, "Cc", ", ".join(display_address(a) for a in parsed.cc))
        when = parsed.date or cached.envelope.date
        _header(out, "Date", when.astimezone().strftime("%a, %d %b %Y %H:%M %z") if when else "")
        _header(out, "Subject", parsed.subject)
        reasons = forgery_reasons(parsed)
        if reasons:
            _header(out, "Warning", "Possibly forged sender: " + "; ".join(reasons) + ".")
    out.write("\n")
    out.write(wrap_text(parsed.body.text.rstrip("\n"), shutil.get_terminal_size().columns) + "\n")
    if parsed.body.links:
        out.write("\nLinks:\n")
        for number, link in enumerate(parsed.body.links, 1):
            out.write(f"  [{number}] {safe_line(link)}\n")
    if parsed.body.attachments:
        out.write("\nAttachments:\n")
        for attachment in parsed.body.attachments:
            part = attachment.part
            out.write(f"  {attachment.safe_name} ({part.content_type}, {_size(part.size)})\n")
    return EXIT_OK


def _header(out: TextIO, name: str, value: str) -> None:
    if value:
        width = max(40, shutil.get_terminal_size().columns - 1)
        lines = textwrap.wrap(
            safe_line(value), width, initial_indent=f"{name + ':':<9}", subsequent_indent=" " * 9
        )
        out.write("\n".join(lines) + "\n")


def wrap_text(text: str, columns: int) -> str:
    """Body text with lines longer than the terminal folded at spaces (quote marks kept)."""
    width = max(40, columns - 1)
    out = []
    for line in text.split("\n"):
        if cell_len(line) <= width:
            out.append(line)
            continue
        stripped = line.lstrip("> ")
        prefix = line[: len(line) - len(stripped)]
        out.extend(
            textwrap.wrap(
                stripped,
                width,
                initial_indent=prefix,
                subsequent_indent=prefix,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [line]
        )
    return "\n".join(out)


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} bytes"


# -- folders ----------------------------------------------------------------------------------


def _folders(
    args: argparse.Namespace,
    paths: Paths,
    settings: Settings,
    secrets: Callable[[], Secrets],
    out: TextIO,
) -> int:
    if args.account:
        settings.account(args.account)
    with Mailbox(cache_file(paths)) as mailbox:
        found = mailbox.folders(args.account)
    if args.json:
        json.dump([_folder_json(f) for f in found], out, ensure_ascii=False, indent=1)
        out.write("\n")
        return EXIT_OK
    if not found:
        out.write("No folders cached yet; run tuimail sync first.\n")
        return EXIT_OK
    name_width = max(len(safe_line(f.name)) for f in found)
    for folder in found:
        role = "" if folder.role is FolderRole.NONE else folder.role.value
        out.write(
            f"{folder.account:<12} {safe_line(folder.name):<{name_width}}  {role:<8} "
            f"{folder.unread:>7,} unread {folder.total:>8,} total\n"
        )
    return EXIT_OK


def _folder_json(folder: Folder) -> dict[str, object]:
    return {
        "account": folder.account,
        "name": safe_line(folder.name),
        "role": None if folder.role is FolderRole.NONE else folder.role.value,
        "delimiter": folder.delimiter,
        "selectable": folder.selectable,
        "unread": folder.unread,
        "total": folder.total,
    }


# -- first run and the demo -------------------------------------------------------------------


def demo_overview(paths: Paths, settings: Settings, out: TextIO) -> int:
    """What ``tuimail --demo`` shows until the app lands: folders, the newest mail, next steps."""
    refresh_local(paths, settings)
    with Mailbox(cache_file(paths)) as mailbox:
        found = mailbox.folders()
        inbox = [f for f in found if f.role is FolderRole.INBOX]
        newest = mailbox.envelopes(
            mailbox.folder_ids(inbox[0].account, inbox[0].name) if inbox else [], limit=12
        )
    out.write("The demo mailbox (generated on this machine; nothing is sent anywhere).\n\n")
    for folder in found:
        out.write(f"  {safe_line(folder.name):<24} {folder.unread:>4} unread {folder.total:>5}\n")
    out.write("\nNewest in the Inbox:\n")
    _print_envelopes(newest, False, out)
    example = message_key(newest[0].envelope.ref) if newest else "ID"
    me = program()
    out.write(
        "\nTry:\n"
        f"  {me} --demo read {example}\n"
        f"  {me} --demo search 'has:attachment is:unread'\n"
        f"  {me} --demo list --folder Sent\n"
        f"  {me} --demo folders --json\n"
    )
    return EXIT_OK


def program() -> str:
    """How to type tuimail again: ``tuimail`` when it is on the PATH, else the path used."""
    invoked = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("tuimail")
    found = shutil.which("tuimail")
    if found and Path(found).resolve() == invoked.resolve():
        return "tuimail"
    if invoked.name != "tuimail":  # python -m tuimail, or a test harness
        return "tuimail"
    try:
        return str(invoked.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(invoked)


def welcome(paths: Paths, settings: Settings, out: TextIO, ask: Callable[[str], str] | None) -> int:
    """``tuimail`` with no account yet: point at the demo, and offer mail found on this machine."""
    out.write(
        "No account is set up yet.\n"
        f"  Add one (in a terminal):        {program()} setup\n"
        f"  Try tuimail on a demo mailbox:  {program()} --demo\n"
        f"  Or write the settings file:     {paths.config_file} (see Settings in the README)\n"
    )
    found = discover_local()
    if not found:
        return EXIT_OK
    out.write("\nMail already on this machine:\n")
    for source in found:
        out.write(f"  {source.path} ({source.format.value})\n")
    snippet = _local_accounts_toml(found)
    if ask is None:
        out.write(f"\nTo read it with tuimail, add to {paths.config_file}:\n\n{snippet}")
        return EXIT_OK
    answer = ask(f"Add {'them' if len(found) > 1 else 'it'} to {paths.config_file}? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        out.write("Nothing was written.\n")
        return EXIT_OK
    paths.config_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with paths.config_file.open("a", encoding="utf-8") as handle:
        paths.config_file.chmod(0o600)
        handle.write(snippet)
    out.write("Written. Now: tuimail sync, then tuimail list.\n")
    return EXIT_OK


def _local_accounts_toml(found: list[LocalSource]) -> str:
    user = getpass.getuser()
    address = f"{user}@{socket.getfqdn()}"
    blocks = []
    for index, source in enumerate(found):
        name = "local" if index == 0 else f"local{index + 1}"
        path = json.dumps(source.path)  # a TOML basic string is a JSON string
        blocks.append(
            f"[accounts.{name}]\nemail = {json.dumps(address)}\n"
            f'[accounts.{name}.incoming]\nprotocol = "{source.format.value}"\npath = {path}\n'
        )
    return "\n".join(blocks)
