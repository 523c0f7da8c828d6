"""Everything the app does with mail, in one place: the only service object the ui holds.

Methods are blocking and thread-safe: each thread gets its own cache connection. The app calls
them from thread workers and turns what they return or raise into messages on the main thread.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from tuimail.config.paths import Paths
from tuimail.model.account import Account, Protocol, Role
from tuimail.model.errors import AuthError, MailError, SecretError
from tuimail.model.folder import ROLE_ORDER, Folder
from tuimail.model.message import Address, Draft
from tuimail.services.events import EventSink, ignore_events
from tuimail.services.mailbox import CachedEnvelope, Mailbox, Message, Sort, message_key
from tuimail.services.threads import ThreadRow
from tuimail.store import addresses as address_store

if TYPE_CHECKING:
    from tuimail.backends.imap.session import ImapSession
    from tuimail.services.actions import Actions
    from tuimail.services.compose import Outcome
    from tuimail.services.sync import SyncResult
    from tuimail.services.watch import Watcher

# Protocol code, MIME building and the like load on first use (in a worker), not when the app
# starts: the first screen of mail paints sooner.

PasswordSource = Callable[[Account, Role], str]

PasswordPrompt = Callable[[Account, Role, str], str | None]
"""Asks a person for an account's password, saying why it is asked; None when they decline."""

SecretPrompt = Callable[[str], str | None]
"""Asks a person for a secret (the vault's passphrase) with this prompt; None when they decline."""

PasswordKeeper = Callable[[str, str, Role], str]
"""Stores an account's password for next time; says where (SecretError when it cannot)."""

__all__ = ["CachedEnvelope", "MailClient", "Message", "Sort", "ThreadRow"]


@dataclass(frozen=True)
class Scope:
    """What a message list shows: some folders (None: every account's Inbox), maybe a search."""

    folders: tuple[Folder, ...] | None = None
    query: str = ""
    title: str = "All inboxes"


class MailClient:
    """The accounts of one tuimail, their cache, outbox and servers, for the app."""

    def __init__(
        self,
        paths: Paths,
        accounts: Sequence[Account],
        passwords: PasswordSource,
        *,
        cache_file: Path,
        demo: bool = False,
        keep_password: PasswordKeeper | None = None,
        open_commands: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.paths = paths
        self.accounts = tuple(accounts)
        self.passwords = passwords
        self.keep_password = keep_password
        self.open_commands = tuple(open_commands)
        """The [open] table: (MIME type or file name pattern, command) in the settings' order."""
        self.ask_password: PasswordPrompt | None = None
        """Installed by the app: asks for a password none of the stores holds."""
        self.ask_secret: SecretPrompt | None = None
        """Installed by the app: asks for the vault's passphrase."""
        self._asked: dict[tuple[str, Role], str] = {}
        self._declined: set[tuple[str, Role]] = set()
        self._ask_lock = threading.Lock()
        self.cache_file = cache_file
        self.outbox_file = paths.outbox_file
        self.demo = demo
        self._local = threading.local()
        self._actions_lock = threading.Lock()
        self._actions: Actions | None = None
        self._sync_locks = {account.id: threading.Lock() for account in self.accounts}
        """One sync of an account at a time (the periodic sync and the new-mail watch)."""
        self._watchers: list[Watcher] = []
        self._watchers_lock = threading.Lock()
        self._watching_stopped = False
        self.watch_poll: float | None = None
        """Seconds between checks of a watch that polls (None: 5 for files, 60 for NOOP)."""

    # -- plumbing --------------------------------------------------------------------------

    def _mailbox(self) -> Mailbox:
        mailbox: Mailbox | None = getattr(self._local, "mailbox", None)
        if mailbox is None:
            mailbox = Mailbox(self.cache_file)
            self._local.mailbox = mailbox
        return mailbox

    def account(self, account_id: str) -> Account:
        """The account with this id."""
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise MailError(f"No account named {account_id!r}.")

    def _session(self, account: Account) -> ImapSession:
        from tuimail.backends.imap.session import open_session  # noqa: PLC0415

        password = self.password(account, Role.INCOMING)
        try:
            return open_session(account.server(), password, account.id)
        except AuthError:
            self._asked.pop((account.id, Role.INCOMING), None)  # a typo: ask again next time
            raise

    # -- passwords -------------------------------------------------------------------------

    def password(self, account: Account, role: Role) -> str:
        """An account's password: from its stores, else asked (once) through ``ask_password``.

        A password asked for is kept in memory for the session; a declined question is not
        asked again until ``ask_again()``. SecretError when there is none.
        """
        key = (account.id, role)
        if key in self._asked:
            return self._asked[key]
        try:
            return self.passwords(account, role)
        except SecretError as exc:
            missing = exc
        with self._ask_lock:  # one question at a time, however many workers need it
            if key in self._asked:
                return self._asked[key]
            if self.ask_password is None or key in self._declined:
                raise missing
            answer = self.ask_password(account, role, missing.message)
            if not answer:
                self._declined.add(key)
                raise missing
            self._asked[key] = answer
            return answer

    def ask_again(self) -> None:
        """Passwords declined before are asked for again (the person asked for a sync)."""
        self._declined.clear()

    def remember_password(self, account_id: str, password: str, role: Role) -> str:
        """Store a password as `tuimail password set` does; where it went (SecretError if not)."""
        if self.keep_password is None:
            raise SecretError("Passwords cannot be stored from here.")
        return self.keep_password(account_id, password, role)

    def passphrase(self, prompt: str) -> str | None:
        """Asks for the vault's passphrase through the app (for the secrets store)."""
        ask = self.ask_secret
        return None if ask is None else ask(prompt)

    # -- reading ---------------------------------------------------------------------------

    def folders(self) -> list[Folder]:
        """Every cached folder of every account, accounts in settings order, roles first."""
        rank = {role: index for index, role in enumerate(ROLE_ORDER)}
        order = {account.id: index for index, account in enumerate(self.accounts)}
        found = [f for f in self._mailbox().folders() if f.account in order]
        return sorted(found, key=lambda f: (order[f.account], rank[f.role], f.name.casefold()))

    def _folder_ids(self, scope: Scope) -> list[int]:
        mailbox = self._mailbox()
        folders = scope.folders
        if folders is None:
            return mailbox.inbox_ids([account.id for account in self.accounts])
        ids: list[int] = []
        for folder in folders:
            ids.extend(mailbox.folder_ids(folder.account, folder.name))
        return ids

    def keys(
        self,
        scope: Scope,
        *,
        sort: Sort = Sort.DATE,
        descending: bool = True,
        limit: int | None = None,
    ) -> list[int]:
        """Every message id of a scope in order, or the first ``limit`` (a first screen sooner).

        A search raises QueryError when malformed.
        """
        return self._mailbox().ordered_ids(
            self._folder_ids(scope),
            query=scope.query,
            sort=sort,
            descending=descending,
            limit=limit,
        )

    def threads(self, scope: Scope, *, newest_first: bool = True) -> list[ThreadRow]:
        """The scope's messages as threads (a search shows the threads of what matched)."""
        rows = self._mailbox().threads(self._folder_ids(scope), newest_first=newest_first)
        if not scope.query:
            return rows
        matched = set(self.keys(scope))
        return [row for row in rows if row.key in matched]

    def envelopes(self, keys: Sequence[int]) -> list[CachedEnvelope]:
        """The envelopes of these ids, in the order given."""
        return self._mailbox().by_ids(keys)

    def read(self, key: int) -> Message:
        """A whole message, from the cache, its local file, or the server."""
        from tuimail.services.local import open_local  # noqa: PLC0415

        mailbox = self._mailbox()
        found = mailbox.by_ids([key])
        if not found:
            raise MailError("That message is no longer in the cache.")
        cached = found[0]
        name = message_key(cached.envelope.ref)
        account = self.account(cached.envelope.ref.account)
        if account.local is not None:
            return mailbox.read(name, open_local(account))
        if mailbox.cached_raw(cached) is not None:
            return mailbox.read(name, None)
        session = self._session(account)
        try:
            return mailbox.read(name, session)
        finally:
            session.close()

    def addresses(self, prefix: str, limit: int = 8) -> list[Address]:
        """Addresses seen in the cache starting with ``prefix`` (name or address): completion."""
        db = self._mailbox().db
        return address_store.complete(db, prefix, limit)

    def save_attachment(
        self, message: Message, index: int, directory: Path, *, overwrite: bool = False
    ) -> Path:
        """Write attachment ``index`` (as listed) into ``directory`` under its safe name.

        Never outside ``directory``, never through a symlink; MailError when the file exists
        (and ``overwrite`` is not set) or cannot be written.
        """
        from tuimail.mime.quote import attachments_of  # noqa: PLC0415
        from tuimail.mime.render import safe_filename  # noqa: PLC0415

        found = attachments_of(message.raw, nested=True)  # indexed as the reader lists
        if not 0 <= index < len(found):
            raise MailError("That attachment is not in the message.")
        name, _type, data = found[index]
        folder = directory.expanduser()
        if not folder.is_dir():
            raise MailError(f"{folder} is not a directory.", title="Not saved")
        target = folder / safe_filename(name, f"attachment-{index + 1}")
        if target.exists() and not overwrite:
            raise MailError(f"{target} exists already.", title="File exists")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        try:
            descriptor = os.open(target, flags, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise MailError(f"Cannot write {target}: {exc.strerror}.", title="Not saved") from None
        return target

    # -- actions ---------------------------------------------------------------------------

    def _act(self, do: Callable[[Actions], object]) -> object:
        with self._actions_lock:
            if self._actions is None:
                from tuimail.services.actions import Actions  # noqa: PLC0415

                self._actions = Actions(self.cache_file, shared=True)  # used under the lock
            return do(self._actions)

    def mark_read(self, keys: Sequence[int], read: bool = True) -> None:
        """Mark read or unread (cache at once; the server at the next push)."""
        self._act(lambda a: a.mark_read(keys, read))

    def flag(self, keys: Sequence[int], flagged: bool = True) -> None:
        """Flag or unflag."""
        self._act(lambda a: a.flag(keys, flagged))

    def move(self, keys: Sequence[int], target: str) -> None:
        """Move to another folder of the same account."""
        self._act(lambda a: a.move(keys, target))

    def delete(self, keys: Sequence[int]) -> None:
        """Delete (to Trash, or for good in Trash)."""
        self._act(lambda a: a.delete(keys))

    def archive(self, keys: Sequence[int]) -> None:
        """Move to the Archive folder."""
        self._act(lambda a: a.archive(keys))

    def undo(self) -> str:
        """Undo the last action; what was undone."""
        return str(self._act(lambda a: a.undo()))

    def push(self, on_event: EventSink = ignore_events) -> int:
        """Send queued actions to the servers and files now; how many went."""
        from tuimail.services import actions as action_service  # noqa: PLC0415
        from tuimail.services.local import open_local, replay_local  # noqa: PLC0415

        sent = 0
        for account in self.accounts:
            if not action_service.queued(self.cache_file, account.id):
                continue
            if account.local is not None:
                sent += replay_local(self.cache_file, account.id, open_local(account), on_event)
                continue
            session = self._session(account)
            try:
                sent += action_service.replay(self.cache_file, account.id, session, on_event)
            finally:
                session.close()
        return sent

    # -- syncing ---------------------------------------------------------------------------

    def sync(
        self, *, on_event: EventSink = ignore_events, cancel: threading.Event | None = None
    ) -> list[SyncResult]:
        """Sync every account (local ones by scanning their files); errors are in the results."""

        results = []
        for account in self.accounts:
            if cancel is not None and cancel.is_set():
                break
            with self._sync_locks[account.id]:
                results.append(self._sync_account(account, on_event, cancel))
        return results

    def _sync_account(
        self,
        account: Account,
        on_event: EventSink,
        cancel: threading.Event | None,
        folders: Sequence[str] | None = None,
    ) -> SyncResult:
        from tuimail.services.local import open_local, sync_local  # noqa: PLC0415
        from tuimail.services.sync import SyncResult, sync_account  # noqa: PLC0415

        if account.local is not None:
            fetch_errors = self._fetch_pop3(account, on_event, cancel)
            try:
                mailbox = open_local(account)
            except MailError as exc:
                return SyncResult(account.id, errors=[*fetch_errors, exc])
            result = sync_local(self.cache_file, account, mailbox, on_event=on_event, cancel=cancel)
            result.errors[:0] = fetch_errors
            return result
        try:
            password = self.password(account, Role.INCOMING)
        except MailError as exc:
            return SyncResult(account.id, errors=[exc])
        result = sync_account(
            self.cache_file,
            account,
            password,
            folders=folders,
            on_event=on_event,
            cancel=cancel,
            before_folders=partial(self._replay, account.id, on_event),
        )
        if any(isinstance(error, AuthError) for error in result.errors):
            self._asked.pop((account.id, Role.INCOMING), None)  # a typo: ask again next time
        return result

    def _fetch_pop3(
        self, account: Account, on_event: EventSink, cancel: threading.Event | None
    ) -> list[MailError]:
        """Download a POP3 account's new mail into its Maildir; the errors, also as events."""
        if account.incoming is None or account.incoming.protocol is not Protocol.POP3:
            return []
        from tuimail.services.events import SyncFailed  # noqa: PLC0415
        from tuimail.services.pop3_fetch import fetch_pop3  # noqa: PLC0415

        try:
            password = self.password(account, Role.INCOMING)
        except MailError as exc:
            on_event(SyncFailed(account.id, "", exc))
            return [exc]
        result = fetch_pop3(
            self.paths.data_dir, account, password, on_event=on_event, cancel=cancel
        )
        for error in result.errors:
            on_event(SyncFailed(account.id, "", error))
        return result.errors

    def watch(
        self, account_id: str, *, on_event: EventSink = ignore_events, poll: float | None = None
    ) -> None:
        """Watch an account for new mail until stop_watching(): blocking, in a thread of its own.

        Changes are synced into the cache; NewMail events say what arrived, Watching events that
        the watch is (again) in place, SyncFailed events what went wrong. IMAP polls with NOOP
        every ``poll`` seconds where there is no IDLE (default 60); local files are checked
        every ``poll`` seconds (default 5); a POP3 account is fetched every ``poll`` seconds
        (default 60).
        """
        from tuimail.services.local import open_local  # noqa: PLC0415
        from tuimail.services.watch import Watcher  # noqa: PLC0415

        account = self.account(account_id)
        local = account.local is not None
        pop3 = account.incoming is not None and account.incoming.protocol is Protocol.POP3
        poll = poll or self.watch_poll or (5.0 if local and not pop3 else 60.0)
        watcher = Watcher(account, on_event=on_event, poll=poll)
        with self._watchers_lock:
            if self._watching_stopped:
                return
            self._watchers.append(watcher)
        lock = self._sync_locks[account.id]

        def sync(folders: Sequence[str] | None = None) -> SyncResult:
            with lock:
                return self._sync_account(account, on_event, watcher.cancel, folders)

        try:
            if pop3:  # fetched every ``poll`` seconds into its Maildir
                watcher.watch_polling(sync)
            elif local:
                watcher.watch_local(partial(open_local, account), sync)
            else:
                watcher.watch_imap(
                    self.cache_file, partial(self._session, account), lambda f: sync([f])
                )
        finally:
            with self._watchers_lock:
                self._watchers.remove(watcher)

    def stop_watching(self) -> None:
        """Stop every watch now (connections waiting in IDLE are cut); for quitting."""
        with self._watchers_lock:
            self._watching_stopped = True
            watchers = list(self._watchers)
        for watcher in watchers:
            watcher.stop()

    def _replay(self, account: str, on_event: EventSink, session: ImapSession) -> int:
        from tuimail.services import actions as action_service  # noqa: PLC0415

        return action_service.replay(self.cache_file, account, session, on_event)

    # -- writing ---------------------------------------------------------------------------

    def reply(self, key: int, *, reply_all: bool) -> Draft:
        """A reply (or reply-all) draft to a message."""
        from tuimail.mime.quote import reply_draft  # noqa: PLC0415

        message = self.read(key)
        account = self.account(message.cached.envelope.ref.account)
        return reply_draft(message.raw, {account.email}, account=account.id, reply_all=reply_all)

    def forward(self, key: int) -> Draft:
        """A forward draft of a message (inline, with its attachments)."""
        from tuimail.mime.quote import forward_draft  # noqa: PLC0415

        message = self.read(key)
        account = message.cached.envelope.ref.account
        return forward_draft(message.raw, account=account, inline=True, keep_attachments=True)

    def send(self, draft: Draft) -> Outcome:
        """Queue a draft in the outbox and send it now; the outcome says what happened."""
        from tuimail.services.compose import Outbox, Outcome  # noqa: PLC0415

        account = self.account(draft.account)
        with Outbox(self.outbox_file) as outbox:
            entry = outbox.queue(account, draft)
            outcomes = outbox.flush(self.accounts, self.password, only=entry)
        outcome = outcomes[0] if outcomes else Outcome(entry, sent=False)
        if outcome.sent and draft.in_reply_to:  # the original gets its "answered" mark
            answered = self._mailbox().ids_with_message_id(account.id, draft.in_reply_to)
            if answered:
                self._act(lambda a: a.mark_answered(answered))
                with contextlib.suppress(MailError):  # offline: it goes with the next sync
                    self.push()
        return outcome

    def save_draft(self, draft: Draft, *, replaces: str | None = None) -> str:
        """Save a draft in the account's Drafts; returns where (to replace it next time)."""
        from tuimail.services.compose import save_draft  # noqa: PLC0415

        return save_draft(self.account(draft.account), draft, self.password, replaces=replaces)
