"""The inbox screen: folders beside a virtual message list, a preview pane and a status line."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, Tree
from textual.widgets.tree import TreeNode

from tuimail.mime.sanitize import safe_line, safe_text
from tuimail.model.errors import MailError
from tuimail.model.folder import Folder, FolderRole
from tuimail.model.message import Flag
from tuimail.services.client import CachedEnvelope, MailClient, Scope, Sort, ThreadRow
from tuimail.services.events import (
    EnvelopesAdded,
    EnvelopesChanged,
    EnvelopesRemoved,
    Event,
    NewMail,
    SyncFailed,
    SyncProgress,
    Watching,
)
from tuimail.services.threads import collapse, thread_keys
from tuimail.ui.screens.dialogs import ConfirmDialog, FolderPicker
from tuimail.ui.text import error_text, line
from tuimail.ui.widgets.message_list import MessageList, Row

_SORTS = (Sort.DATE, Sort.SENDER, Sort.SUBJECT, Sort.SIZE)
_NARROW = 90
_FIRST_ROWS = 120
"""The first screen of a big folder is shown from this many keys while the rest load."""
"""Below this many columns the folder list hides (toggle it with F)."""


@dataclass(frozen=True)
class _FolderChoice:
    folder: Folder | None
    """None: the unified Inbox of every account."""


def _row(
    cached: CachedEnvelope, outgoing: bool, depth: int = 0, size: int = 0, folder: str = ""
) -> Row:
    envelope = cached.envelope
    people = envelope.to if outgoing and envelope.to else envelope.sender
    first = people[0] if people else None
    who = (first.name or first.email) if first else ""
    return Row(
        key=cached.id,
        date=envelope.date,
        sender=("To " + who) if outgoing and envelope.to else who,
        subject=envelope.subject,
        unread=Flag.SEEN not in envelope.flags,
        flagged=Flag.FLAGGED in envelope.flags,
        answered=Flag.ANSWERED in envelope.flags,
        attachment=envelope.has_attachments,
        size=envelope.size,
        depth=depth,
        thread_size=size,
        folder=folder,
    )


class FolderTree(Tree[_FolderChoice]):
    """The folder list, moved through with j/k as well as the arrows."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", id="folders.down", show=False),
        Binding("k", "cursor_up", "Up", id="folders.up", show=False),
        Binding("enter", "select_cursor", "Open folder", id="folders.open"),
    ]


class InboxScreen(Screen[None]):
    """Where a person lives: pick a folder, move through messages, act on them."""

    BINDINGS = [
        Binding("enter", "open", "Read", id="inbox.open", show=False),
        Binding("c", "compose", "Compose", id="inbox.compose"),
        Binding("r", "reply", "Reply", id="inbox.reply"),
        Binding("R", "reply_all", "Reply all", id="inbox.reply_all", show=False),
        Binding("f", "forward", "Forward", id="inbox.forward", show=False),
        Binding("d", "delete", "Delete", id="inbox.delete"),
        Binding("a", "archive", "Archive", id="inbox.archive"),
        Binding("m", "move", "Move", id="inbox.move", show=False),
        Binding("s,exclamation_mark", "flag", "Flag/unflag", id="inbox.flag", show=False),
        Binding("N", "toggle_read", "Read/unread", id="inbox.toggle_read", show=False),
        Binding("u", "undo", "Undo", id="inbox.undo"),
        Binding("slash", "search", "Search", id="inbox.search"),
        Binding("t", "threads", "Threads", id="inbox.threads", show=False),
        Binding("z", "thread_toggle", "Open/close thread", id="inbox.thread", show=False),
        Binding("left", "thread_fold(False)", "Close thread", id="inbox.thread_close", show=False),
        Binding("right", "thread_fold(True)", "Open thread", id="inbox.thread_open", show=False),
        Binding("Z", "threads_all", "Open/close all threads", id="inbox.threads_all", show=False),
        Binding("o", "sort", "Sort", id="inbox.sort", show=False),
        Binding("O", "reverse", "Reverse order", id="inbox.reverse", show=False),
        Binding("P", "preview", "Preview pane", id="inbox.preview", show=False),
        Binding("F", "folders", "Folders", id="inbox.folders", show=False),
        Binding("tab", "switch_pane", "Switch pane", id="inbox.pane", show=False),
        Binding("dollar_sign", "sync", "Sync now", id="inbox.sync", show=False),
        Binding("escape", "clear_search", "Clear search", id="inbox.clear", show=False),
    ]

    def __init__(
        self, client: MailClient, *, sync_on_start: bool = True, watch_mail: bool | None = None
    ) -> None:
        super().__init__()
        self.client = client
        self.sync_on_start = sync_on_start
        self.watch_mail = sync_on_start if watch_mail is None else watch_mail
        self.watching: dict[str, str] = {}
        """Accounts watched for new mail now, and how ("idle", "poll" or "files")."""
        self._watch_dirty: set[str] = set()
        self._watches: set[str] = set()
        self._leaving = threading.Event()
        """Set when the screen goes (the app quits): a sync under way stops at once."""
        self._first_sync_started = False
        self._cursor_to: int | None = None
        self.scope = Scope()
        self.sort = Sort.DATE
        self.descending = True
        self.threaded = False
        self.outgoing: frozenset[tuple[str, str]] = frozenset()
        self.thread_info: dict[int, tuple[int, int, bool]] = {}
        """Per key shown in thread view: (depth, thread size on its first row, collapsed)."""
        self.thread_rows: list[ThreadRow] = []
        """Every row of the thread view (also those of collapsed threads)."""
        self.expanded: set[int] = set()
        """Threads (by their first key) shown open while the others are collapsed."""
        self.all_expanded = False
        self.syncing = False
        self.progress = ""
        self.last_error = ""
        self.folders: list[Folder] = []

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            tree: Tree[_FolderChoice] = FolderTree(Text("Mail"), id="folders")
            tree.show_root = False
            tree.guide_depth = 2
            yield tree
            with Vertical(id="right"):
                yield Static(id="title")
                yield Input(placeholder="search: from:ann is:unread 'exact phrase'", id="search")
                yield MessageList(id="messages")
                with VerticalScroll(id="preview"):
                    yield Static(id="preview-text")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self.query_one("#preview").display = False
        self.query_one(MessageList).focus()
        self._fit_width(self.app.size.width)
        # from the cache first: the list paints before any server answers, and before the
        # folder tree (its counts read every message) competes with it
        self.load_keys(first_screen=True)
        if self.sync_on_start:
            self.set_interval(300, self.run_sync)
        if not self.sync_on_start:  # else once the first sync is done: not competing with it
            self._start_watches()

    def on_unmount(self) -> None:
        self._leaving.set()
        self.client.stop_watching()  # IDLE connections are cut: quitting does not wait

    def on_resize(self, event: object) -> None:
        self._fit_width(self.app.size.width)

    def _fit_width(self, width: int) -> None:
        # the tree stays out of the first paint: it shows once the folders have loaded
        self.query_one("#folders").display = (
            width >= _NARROW and bool(self.folders) and not getattr(self, "_folders_hidden", False)
        )

    # -- data ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="folders", exit_on_error=False)
    def load_folders(self) -> None:
        try:
            folders = self.client.folders()
        except MailError as exc:
            self.app.call_from_thread(self.show_error, exc)
            return
        self.app.call_from_thread(self._show_folders, folders)

    def _show_folders(self, folders: list[Folder]) -> None:
        self.folders = folders
        self.outgoing = frozenset(
            (f.account, f.name) for f in folders if f.role in (FolderRole.SENT, FolderRole.DRAFTS)
        )
        tree = self.query_one("#folders", Tree)
        tree.clear()
        self._fit_width(self.app.size.width)
        unread = sum(f.unread for f in folders if f.role is FolderRole.INBOX)
        tree.root.add_leaf(self._label("All inboxes", unread), data=_FolderChoice(None))
        accounts: dict[str, TreeNode[_FolderChoice]] = {}
        for folder in folders:
            node = accounts.get(folder.account)
            if node is None:
                node = tree.root.add(line(folder.account, "bold"), expand=True)
                accounts[folder.account] = node
            if folder.selectable:
                node.add_leaf(self._label(folder.name, folder.unread), data=_FolderChoice(folder))
        self._update_status()

    @staticmethod
    def _label(name: str, unread: int) -> Text:
        label = Text(safe_line(name))
        if unread:
            label.append(f" {unread}", style="bold")
        return label

    @work(thread=True, exclusive=True, group="keys", exit_on_error=False)
    def load_keys(self, keep_cursor: bool = True, *, first_screen: bool = False) -> None:
        scope, sort, descending = self.scope, self.sort, self.descending
        try:
            if first_screen and not self.threaded:  # a screenful first: shown at once
                first = self.client.keys(scope, sort=sort, descending=descending, limit=_FIRST_ROWS)
                self.app.call_from_thread(self._show_first_screen, first)
            if self.threaded:
                rows = self.client.threads(scope, newest_first=descending)
                self.app.call_from_thread(self._show_threads, rows, keep_cursor)
                return
            keys = self.client.keys(scope, sort=sort, descending=descending)
        except MailError as exc:
            self.app.call_from_thread(self.show_error, exc)
            return
        self.app.call_from_thread(self._show_keys, keys, keep_cursor)

    def _show_threads(self, rows: list[ThreadRow], keep: bool) -> None:
        """Threads as they are shown: collapsed, except those expanded (or all when asked)."""
        self.thread_rows = rows
        if self.all_expanded:
            shown = rows
        else:
            present = {row.thread for row in rows if row.key == row.thread}
            self.expanded &= present
            shown = collapse(rows, self.expanded)
        self.thread_info = {
            row.key: (
                row.depth,
                row.size if row.thread == row.key else 0,
                row.size > 1 and not self.all_expanded and row.thread not in self.expanded,
            )
            for row in shown
        }
        self._show_keys([row.key for row in shown], keep, threads=True)

    def _show_first_screen(self, keys: list[int]) -> None:
        """The newest rows, before the whole list (and the folder tree) have loaded."""
        self.query_one(MessageList).set_keys(keys, self._rows, keep_cursor=False)
        self.query_one("#title", Static).update(Text(safe_line(self.scope.title), style="bold"))

    def _show_keys(self, keys: list[int], keep: bool, *, threads: bool = False) -> None:
        if not threads:
            self.thread_info = {}
            self.thread_rows = []
        messages = self.query_one(MessageList)
        folders = self.scope.folders
        # results from several folders (a search) say where each message is
        messages.show_folder = bool(self.scope.query) and (folders is None or len(folders) > 1)
        messages.set_keys(keys, self._rows, keep_cursor=keep)
        if self._cursor_to is not None:
            if self._cursor_to in keys:
                messages.move_cursor(keys.index(self._cursor_to))
            self._cursor_to = None
        self._update_title(len(keys))
        if not self.folders:
            self.call_after_refresh(self.load_folders)  # once the rows are on screen
        if self.sync_on_start and not self._first_sync_started:
            self._first_sync_started = True
            self.call_after_refresh(self.run_sync)  # once the cached rows are on screen

    def _rows(self, keys: Sequence[int]) -> list[Row]:
        """Rows for the keys the list is about to show (SQLite by id: well under a millisecond)."""
        rows = []
        several = len(self.client.accounts) > 1
        for cached in self.client.envelopes(keys):
            ref = cached.envelope.ref
            depth, size, collapsed = self.thread_info.get(cached.id, (0, 0, False))
            outgoing = (ref.account, ref.folder) in self.outgoing
            folder = f"{ref.account}/{ref.folder}" if several else ref.folder
            row = _row(cached, outgoing, depth, size, folder)
            rows.append(replace(row, collapsed=True) if collapsed else row)
        return rows

    def _update_title(self, count: int) -> None:
        order = "threads" if self.threaded else f"by {self.sort.value}"
        if not self.threaded and not self.descending:
            order += ", reversed"
        title = Text(safe_line(self.scope.title), style="bold")
        if self.scope.query:
            title.append(f"  search: {safe_line(self.scope.query)}", style="italic")
        if self.thread_rows:
            threads = sum(1 for row in self.thread_rows if row.key == row.thread)
            what = f"{threads:,} threads of {len(self.thread_rows):,} messages"
            title.append(f"  {what}, z opens/closes one", style="dim")
        else:
            title.append(f"  {count:,} messages, {order}", style="dim")
        self.query_one("#title", Static).update(title)

    def _update_status(self) -> None:
        status = Text()
        if self.syncing:
            status.append(f"syncing {self.progress} ".replace("  ", " "), style="italic")
        accounts = ", ".join(safe_line(a.id) for a in self.client.accounts)
        status.append(accounts or "no account")
        if self.last_error:
            status.append("  " + self.last_error, style="bold red")
        status.append("   ? help", style="dim")
        self.query_one("#status", Static).update(status)

    def show_error(self, error: MailError) -> None:
        """An error as a notification: its title and message, never a traceback."""
        title, message = error_text(error)
        self.last_error = f"{title}: {message}".splitlines()[0][:200]
        self.notify(message, title=title, severity="error", markup=False, timeout=8)
        self._update_status()

    # -- sync ------------------------------------------------------------------------------

    def run_sync(self) -> None:
        """Sync every account behind the list (the list stays usable)."""
        if not self.syncing:
            self.syncing = True
            self._update_status()
            self._sync()

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def _sync(self) -> None:
        errors: list[MailError] = []
        added = 0
        shown = [0.0]

        def on_event(event: Event) -> None:
            # new rows appear while the sync goes on: the first batch at once, then every 1.5 s
            if isinstance(event, EnvelopesAdded | EnvelopesRemoved | EnvelopesChanged):
                now = time.monotonic()
                if now - shown[0] >= 1.5:
                    shown[0] = now
                    self.app.call_from_thread(self.load_keys)
            elif isinstance(event, SyncProgress):
                self.app.call_from_thread(self._progress, event)

        try:
            for result in self.client.sync(on_event=on_event, cancel=self._leaving):
                errors.extend(result.errors)
                added += result.added
        except MailError as exc:
            errors.append(exc)
        self.app.call_from_thread(self._synced, errors, added)

    def _progress(self, event: SyncProgress) -> None:
        self.progress = f"{safe_line(event.folder)} {event.done:,}/{event.total:,}"
        self._update_status()

    def _synced(self, errors: list[MailError], added: int) -> None:
        self.syncing = False
        self.progress = ""
        self.last_error = ""
        for error in errors[:3]:
            self.show_error(error)
        if added:
            self.notify(f"{added} new message{'s' * (added != 1)}", markup=False)
        self._update_status()
        self.load_folders()
        self.load_keys()
        self._start_watches()  # (again, for a watch that stopped: no password, say)

    # -- new mail while the app is open --------------------------------------------------------

    def _start_watches(self) -> None:
        """Watch each account not watched yet (again after a watch stopped, e.g. no password)."""
        if not self.watch_mail:
            return
        for account in self.client.accounts:
            if account.id not in self._watches:
                self._watches.add(account.id)
                self._watch(account.id)

    def _watch_ended(self, account: str) -> None:
        self._watches.discard(account)
        self.watching.pop(account, None)

    @work(thread=True, group="watch", exit_on_error=False)
    def _watch(self, account: str) -> None:
        def post(callback: object, *args: object) -> None:
            if callable(callback):
                with contextlib.suppress(RuntimeError):  # the app has just closed
                    self.app.call_from_thread(callback, *args)

        def on_event(event: Event) -> None:
            if isinstance(event, NewMail):
                post(self._new_mail, event)
            elif isinstance(event, Watching):
                post(self._watching, event)
            elif isinstance(event, SyncFailed):
                post(self._watch_failed, event)
            elif isinstance(event, EnvelopesAdded | EnvelopesRemoved | EnvelopesChanged):
                self._watch_dirty.add(event.account)

        try:
            self.client.watch(account, on_event=on_event)
        finally:
            post(self._watch_ended, account)

    def _watching(self, event: Watching) -> None:
        self.watching[event.account] = event.method
        if event.account in self._watch_dirty:  # the watch synced changes: show them
            self._watch_dirty.discard(event.account)
            self.load_folders()
            self.load_keys()

    def _new_mail(self, event: NewMail) -> None:
        count = event.count
        where = self._folder_label(event.account, event.folder)
        self.notify(
            f"{count} new message{'s' * (count != 1)} in {where}",
            title="New mail",
            markup=False,
        )
        self._watch_dirty.discard(event.account)
        self.load_folders()
        self.load_keys()

    def _folder_label(self, account: str, name: str) -> str:
        label = safe_line(name)
        for folder in self.folders:
            if folder.account == account and folder.name == name:
                if folder.role is FolderRole.INBOX:
                    label = "Inbox"
                break
        if len(self.client.accounts) > 1:
            label = f"{safe_line(account)}: {label}"
        return label

    def _watch_failed(self, event: SyncFailed) -> None:
        self.watching.pop(event.account, None)
        title, message = error_text(event.error)
        self.last_error = f"{title}: {message}".splitlines()[0][:200]
        self._update_status()

    # -- folder and list events ------------------------------------------------------------

    @on(Tree.NodeSelected, "#folders")
    def _folder_chosen(self, event: Tree.NodeSelected[_FolderChoice]) -> None:
        choice = event.node.data
        if choice is None:
            return
        folder = choice.folder
        if folder is None:
            self.scope = Scope()
        else:
            self.scope = Scope((folder,), title=f"{folder.account}: {folder.name}")
        self.load_keys(keep_cursor=False)
        self.query_one(MessageList).focus()

    @on(MessageList.Opened)
    def _opened(self, event: MessageList.Opened) -> None:
        self.open_reader(event.key)

    @on(MessageList.Highlighted)
    def _highlighted(self, event: MessageList.Highlighted) -> None:
        if self.query_one("#preview").display:
            self._preview(event.key)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _preview(self, key: int) -> None:
        try:
            message = self.client.read(key)
        except MailError as exc:
            self.app.call_from_thread(self.show_error, exc)
            return
        from tuimail.ui.screens.reader import summary_text  # noqa: PLC0415 - loaded when used

        text = summary_text(message)
        text.append("\n\n")
        text.append(safe_text(message.parsed.body.text[:4000]))
        self.app.call_from_thread(self.query_one("#preview-text", Static).update, text)

    # -- what the keys do ------------------------------------------------------------------

    def _targets(self) -> list[int]:
        """The marked messages, else the one under the cursor; a closed thread: all of it."""
        messages = self.query_one(MessageList)
        if messages.marked:
            chosen = sorted(messages.marked)
        else:
            chosen = [messages.cursor_key] if messages.cursor_key is not None else []
        whole = [key for key in chosen if self.thread_info.get(key, (0, 0, False))[2]]
        if not whole:
            return chosen
        found = set(chosen)
        for key in whole:
            found.update(thread_keys(self.thread_rows, key))
        return sorted(found)

    def open_reader(self, key: int) -> None:
        """Open the reader on a message."""
        from tuimail.ui.screens.reader import ReaderScreen  # noqa: PLC0415 - loaded when used

        keys = list(self.query_one(MessageList).keys)
        if self.thread_rows:  # n and p read on through closed threads too
            keys = [row.key for row in self.thread_rows]
        reader = ReaderScreen(self.client, key, keys)

        def back(result: object = None) -> None:
            self._cursor_to = reader.key  # the list picks up where the reading stopped
            self._back()

        self.app.push_screen(reader, callback=back)

    def _back(self, result: object = None) -> None:
        self.load_folders()
        self.load_keys()

    def action_open(self) -> None:
        key = self.query_one(MessageList).cursor_key
        if key is not None:
            self.open_reader(key)

    def action_compose(self) -> None:
        self.app.compose_message(None)  # type: ignore[attr-defined]

    def action_reply(self) -> None:
        self._compose_from("reply")

    def action_reply_all(self) -> None:
        self._compose_from("reply_all")

    def action_forward(self) -> None:
        self._compose_from("forward")

    def _compose_from(self, kind: str) -> None:
        key = self.query_one(MessageList).cursor_key
        if key is not None:
            self.app.compose_message((kind, key))  # type: ignore[attr-defined]

    def action_delete(self) -> None:
        targets = self._targets()
        if len(targets) > 1:
            self._confirm(f"Delete {len(targets)} messages?", lambda: self._act("delete", targets))
        elif targets:
            self._act("delete", targets)

    def action_archive(self) -> None:
        targets = self._targets()
        if targets:
            self._act("archive", targets)

    def action_flag(self) -> None:
        targets = self._targets()
        if targets:
            self._act("flag", targets)

    def action_toggle_read(self) -> None:
        targets = self._targets()
        if targets:
            self._act("toggle_read", targets)

    def action_move(self) -> None:
        targets = self._targets()
        if not targets:
            return
        account = self._account_of(targets[0])
        names = [f.name for f in self.folders if f.account == account and f.selectable]

        def chosen(name: str | None) -> None:
            if name:
                self._act("move", targets, name)

        self.app.push_screen(FolderPicker(names), callback=chosen)

    def _account_of(self, key: int) -> str:
        found = self.client.envelopes([key])
        return found[0].envelope.ref.account if found else ""

    def _confirm(self, question: str, then: object) -> None:
        def answered(yes: bool | None) -> None:
            if yes and callable(then):
                then()

        self.app.push_screen(ConfirmDialog(question), callback=answered)

    @work(thread=True, group="act", exit_on_error=False)
    def _act(self, what: str, targets: list[int], argument: str = "") -> None:
        client = self.client
        try:
            if what == "delete":
                client.delete(targets)
            elif what == "archive":
                client.archive(targets)
            elif what == "move":
                client.move(targets, argument)
            elif what in ("flag", "toggle_read"):
                envelopes = client.envelopes(targets)
                if what == "flag":
                    on = not all(Flag.FLAGGED in c.envelope.flags for c in envelopes)
                    client.flag(targets, on)
                else:
                    read = not all(Flag.SEEN in c.envelope.flags for c in envelopes)
                    client.mark_read(targets, read)
        except MailError as exc:
            self.app.call_from_thread(self.show_error, exc)
            return
        self.app.call_from_thread(self._acted, what, targets)
        try:
            client.push()
        except MailError as exc:  # offline: the actions wait in the queue for the next sync
            self.app.call_from_thread(self.show_error, exc)

    def _acted(self, what: str, targets: list[int]) -> None:
        messages = self.query_one(MessageList)
        messages.clear_marks()
        if what in ("delete", "archive", "move"):
            messages.remove_keys(targets)
            if self.thread_rows:  # gone from the threads too (a reload recounts them)
                gone = set(targets)
                self.thread_rows = [row for row in self.thread_rows if row.key not in gone]
                self.load_keys()
            self._update_title(len(messages.keys))
            done = {"delete": "Deleted", "archive": "Archived", "move": "Moved"}[what]
            count = len(targets)
            self.notify(f"{done} {count} message{'s' * (count != 1)} (u undoes)", markup=False)
        else:
            messages.refresh_keys(targets)
        self.load_folders()

    @work(thread=True, group="act", exit_on_error=False)
    def action_undo(self) -> None:
        try:
            what = self.client.undo()
        except MailError as exc:
            self.app.call_from_thread(self.show_error, exc)
            return
        self.app.call_from_thread(self.notify, f"Undone: {what}", markup=False)
        self.app.call_from_thread(self._back)
        # the server (or the files) moves it back; a sync brings it back into the list
        self.app.call_from_thread(self.run_sync)

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.display = True
        search.value = self.scope.query
        search.focus()

    @on(Input.Submitted, "#search")
    def _searched(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        folders = self.scope.folders
        title = self.scope.title if folders else "All folders"
        if folders is None:
            folders = tuple(self.folders)
        self.scope = Scope(folders, query=query, title=title)
        event.input.display = bool(query)
        self.load_keys(keep_cursor=False)
        self.query_one(MessageList).focus()

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        if self.scope.query or search.display:
            search.value = ""
            search.display = False
            self.scope = Scope(
                self.scope.folders if self.scope.title != "All folders" else None,
                title=self.scope.title if self.scope.title != "All folders" else "All inboxes",
            )
            self.load_keys(keep_cursor=False)
            self.query_one(MessageList).focus()

    def action_threads(self) -> None:
        self.threaded = not self.threaded
        self.load_keys(keep_cursor=True)

    def _thread_under_cursor(self) -> int | None:
        """The first key of the thread under the cursor (None: not in thread view)."""
        key = self.query_one(MessageList).cursor_key
        if not self.threaded or key is None:
            return None
        for row in self.thread_rows:
            if row.key == key:
                return row.thread if row.size > 1 else None
        return None

    def action_thread_toggle(self) -> None:
        """Open the thread under the cursor, or close it."""
        thread = self._thread_under_cursor()
        if thread is not None:
            self._fold(thread, thread not in self.expanded and not self.all_expanded)

    def action_thread_fold(self, open_it: bool) -> None:
        """Open (right) or close (left) the thread under the cursor."""
        thread = self._thread_under_cursor()
        if thread is not None:
            self._fold(thread, open_it)

    def _fold(self, thread: int, open_it: bool) -> None:
        if self.all_expanded:  # from "all open" to each thread on its own
            self.all_expanded = False
            self.expanded = {row.thread for row in self.thread_rows if row.size > 1}
        if open_it:
            self.expanded.add(thread)
        else:
            self.expanded.discard(thread)
            self._cursor_to = thread  # the cursor goes to the closed thread's line
        self._show_threads(self.thread_rows, True)

    def action_threads_all(self) -> None:
        """Open every thread, or close them all."""
        if not self.threaded:
            return
        opening = not self.all_expanded and not self.expanded
        self.all_expanded = opening
        self.expanded = set()
        thread = self._thread_under_cursor()
        if not opening and thread is not None:
            self._cursor_to = thread
        self._show_threads(self.thread_rows, True)

    def action_sort(self) -> None:
        self.threaded = False
        self.sort = _SORTS[(_SORTS.index(self.sort) + 1) % len(_SORTS)]
        self.descending = self.sort in (Sort.DATE, Sort.SIZE)
        self.load_keys(keep_cursor=True)

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.load_keys(keep_cursor=True)

    def action_preview(self) -> None:
        preview = self.query_one("#preview")
        preview.display = not preview.display
        key = self.query_one(MessageList).cursor_key
        if preview.display and key is not None:
            self._preview(key)

    def action_folders(self) -> None:
        tree = self.query_one("#folders")
        self._folders_hidden = bool(tree.display)
        tree.display = not tree.display

    def action_switch_pane(self) -> None:
        tree = self.query_one("#folders", Tree)
        messages = self.query_one(MessageList)
        if messages.has_focus and tree.display:
            tree.focus()
        else:
            messages.focus()

    def action_sync(self) -> None:
        self.client.ask_again()  # a password declined before is asked for again
        self.run_sync()
