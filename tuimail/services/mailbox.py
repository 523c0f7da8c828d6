"""Reading the cache: folders, pages of envelopes, threads, search, and whole messages."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from tuimail.backends.local.base import LocalMailbox, LocalMailboxError
from tuimail.model.errors import MailError
from tuimail.model.folder import ROLE_ORDER, Folder, FolderRole
from tuimail.model.message import MessageRef
from tuimail.model.search import parse_query
from tuimail.services.threads import ThreadItem, ThreadRow, build_threads
from tuimail.store import bodies as body_store
from tuimail.store import folders as folder_store
from tuimail.store import messages as message_store
from tuimail.store.database import connect, transaction
from tuimail.store.messages import CachedEnvelope, Sort
from tuimail.store.search import compile_query

if TYPE_CHECKING:
    from tuimail.backends.imap.session import ImapSession
    from tuimail.mime.parse import ParsedMessage

__all__ = ["CachedEnvelope", "Mailbox", "MessageNotFound", "Sort", "message_key", "parse_key"]


class MessageNotFound(MailError):
    """A message id that the cache does not know (or no longer knows)."""

    title = "No such message"


def message_key(ref: MessageRef) -> str:
    """A stable id for a message: ``account:folder:uidvalidity:uid``, names percent-encoded.

    It stays valid across cache rebuilds for as long as the server keeps the folder's
    UIDVALIDITY, which is what makes it safe to use in scripts.
    """
    return f"{quote(ref.account, safe='')}:{quote(ref.folder, safe='')}:{ref.uidvalidity}:{ref.uid}"


def parse_key(key: str) -> MessageRef:
    """The reference a :func:`message_key` stands for; MessageNotFound when it is malformed."""
    parts = key.strip().split(":")
    if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
        raise MessageNotFound(
            f"{key!r} is not a message id; ids look like work:INBOX:1700000000:42 "
            "(see the id field of tuimail list --json)."
        )
    return MessageRef(unquote(parts[0]), unquote(parts[1]), int(parts[3]), int(parts[2]))


@dataclass(frozen=True)
class Message:
    """A message read in full: its cached envelope and the parsed body."""

    cached: CachedEnvelope
    parsed: ParsedMessage
    raw: bytes


class Mailbox:
    """Queries over the cache at ``db_path``; one instance per thread."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.db: sqlite3.Connection = connect(db_path)

    def close(self) -> None:
        """Close the cache connection."""
        self.db.close()

    def __enter__(self) -> Mailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def folders(self, account: str | None = None) -> list[Folder]:
        """Cached folders with counts, each account's in role order then by name."""
        rank = {role: index for index, role in enumerate(ROLE_ORDER)}
        found = folder_store.folders(self.db, account)
        return sorted(found, key=lambda f: (f.account, rank[f.role], f.name.casefold()))

    def forget_account(self, account: str) -> int:
        """Drop the account's cached mail (the server's copy stays); how many messages went."""
        with transaction(self.db):
            return folder_store.forget_account(self.db, account)

    def ids_with_message_id(self, account: str, message_id: str) -> list[int]:
        """Row ids of an account's cached messages with this Message-ID."""
        folders = self.folder_ids(account, None) if self.folders(account) else []
        return message_store.ids_with_message_id(self.db, folders, message_id)

    def inbox_ids(self, accounts: list[str]) -> list[int]:
        """Cache keys of these accounts' Inbox folders (for the unified Inbox)."""
        return folder_store.ids_with_role(self.db, FolderRole.INBOX, accounts)

    def folder_ids(self, account: str | None, folder: str | None) -> list[int]:
        """Cache keys of the folders a listing covers; MailError naming what is unknown."""
        found = self.folders(account)
        if account is not None and not found:
            raise MailError(
                f"Nothing is cached for account {account!r} yet; run tuimail sync {account}."
            )
        if folder is None:
            return [
                fid
                for f in found
                if f.selectable
                and (fid := folder_store.folder_id(self.db, f.account, f.name)) is not None
            ]
        wanted = [f for f in found if f.name == folder] or [
            f for f in found if f.name.casefold() == folder.casefold()
        ]
        if not wanted:
            names = ", ".join(f.name for f in found) or "none"
            raise MailError(f"No folder named {folder!r} in the cache (folders: {names}).")
        return [
            fid
            for f in wanted
            if (fid := folder_store.folder_id(self.db, f.account, f.name)) is not None
        ]

    def envelopes(
        self,
        folder_ids: Sequence[int],
        *,
        query: str = "",
        sort: Sort = Sort.DATE,
        descending: bool = True,
        offset: int = 0,
        limit: int = 100,
    ) -> list[CachedEnvelope]:
        """A page of envelopes, newest first by default; ``query`` is the search language."""
        where, params = "", list[object]()
        if query.strip():
            where, params = compile_query(parse_query(query))
        return message_store.page(
            self.db,
            folder_ids,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
            where=where,
            params=params,
        )

    def ordered_ids(
        self,
        folder_ids: Sequence[int],
        *,
        query: str = "",
        sort: Sort = Sort.DATE,
        descending: bool = True,
        limit: int | None = None,
    ) -> list[int]:
        """Every matching row id in order (or the first ``limit``), for a virtual list."""
        where, params = "", list[object]()
        if query.strip():
            where, params = compile_query(parse_query(query))
        return message_store.ordered_ids(
            self.db,
            folder_ids,
            sort=sort,
            descending=descending,
            where=where,
            params=params,
            limit=limit,
        )

    def by_ids(self, ids: Sequence[int]) -> list[CachedEnvelope]:
        """Envelopes by row id, in the order given."""
        return message_store.by_ids(self.db, ids)

    def threads(self, folder_ids: Sequence[int], *, newest_first: bool = True) -> list[ThreadRow]:
        """The folders' messages as threads (JWZ, from the cached headers)."""
        items = [
            ThreadItem(
                key=row_id,
                message_id=message_id,
                in_reply_to=in_reply_to,
                references=tuple(refs.split()),
                subject=subject,
                date=date,
            )
            for row_id, message_id, in_reply_to, refs, subject, date in message_store.thread_fields(
                self.db, folder_ids
            )
        ]
        return build_threads(items, newest_first=newest_first)

    def envelope(self, key: str) -> CachedEnvelope:
        """The cached envelope of a message id from :func:`message_key`."""
        ref = parse_key(key)
        found = message_store.by_ref(self.db, ref)
        if found is None:
            raise MessageNotFound(
                f"{key} is not in the cache (moved, deleted, or the folder was reset); "
                "run tuimail sync and list again."
            )
        return found

    def cached_raw(self, cached: CachedEnvelope) -> bytes | None:
        """The raw message when its body is cached."""
        with transaction(self.db):
            return body_store.get(self.db, cached.id)

    def keep_raw(self, cached: CachedEnvelope, raw: bytes, parsed: ParsedMessage) -> None:
        """Cache a fetched body and index its text for search."""
        with transaction(self.db):
            body_store.put(self.db, cached.id, raw, parsed.body.text)

    def read(self, key: str, session: ImapSession | LocalMailbox | None) -> Message:
        """A whole message: from the cache, else fetched (without marking it read) and cached.

        ``session`` is the IMAP connection, or the local mailbox the message lives in.
        """
        from tuimail.mime.parse import parse_message  # noqa: PLC0415 - loaded on first read

        cached = self.envelope(key)
        if isinstance(session, LocalMailbox):
            try:
                local = session.read(cached.envelope.ref.folder, cached.location)
            except LocalMailboxError as exc:
                raise MessageNotFound(f"{key}: {exc} Run tuimail sync.") from None
            parsed = parse_message(local)
            with transaction(self.db):  # index the body text for search; files are the cache
                body_store.put(self.db, cached.id, b"", parsed.body.text, limit=0)
            return Message(cached, parsed, local)
        raw = self.cached_raw(cached)
        if raw is None:
            if session is None:
                raise MailError(
                    f"The body of {key} is not cached and there is no connection to fetch it."
                )
            ref = cached.envelope.ref
            selected = session.select(ref.folder, read_only=True)
            if selected.uidvalidity != ref.uidvalidity:
                raise MessageNotFound(
                    f"The folder {ref.folder!r} was renumbered on the server; run tuimail sync."
                )
            raw = session.fetch_raw(ref.uid)
            if raw is None:
                raise MessageNotFound(f"{key} is no longer on the server; run tuimail sync.")
            parsed = parse_message(raw)
            self.keep_raw(cached, raw, parsed)
            return Message(cached, parsed, raw)
        return Message(cached, parse_message(raw), raw)

    def search_server(
        self, session: ImapSession, account: str, folder: str, query: str
    ) -> list[CachedEnvelope]:
        """Run the search on the server (bodies the cache has not seen) and return cached hits."""
        from tuimail.backends.imap import search as imap_search  # noqa: PLC0415

        criteria = imap_search.imap_criteria(parse_query(query))
        selected = session.select(folder, read_only=True)
        uids = session.search(criteria)
        fid = folder_store.folder_id(self.db, account, folder)
        if fid is None or not uids:
            return []
        found = []
        for uid in sorted(uids, reverse=True):
            cached = message_store.by_ref(
                self.db, MessageRef(account, folder, uid, selected.uidvalidity)
            )
            if cached is not None:
                found.append(cached)
        return found
