"""The reader: one message with its headers, body, links and attachments, and what to do with it."""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from tuimail.mime.parse import decode_bytes
from tuimail.mime.sanitize import safe_text
from tuimail.mime.sender import display_address, forgery_reasons
from tuimail.model.errors import MailError
from tuimail.model.folder import FolderRole
from tuimail.model.message import Address, Attachment, Flag
from tuimail.services.client import MailClient
from tuimail.services.client import Message as MailMessage
from tuimail.services.opening import configured_command, desktop_opener
from tuimail.ui.screens.dialogs import ConfirmDialog, FolderPicker, PathPrompt
from tuimail.ui.text import block, error_text, line

MAX_BODY_CHARS = 400_000
"""Body text past this many characters is not shown (the raw view has the rest)."""
MAX_RAW_BYTES = 1_000_000
"""The raw view shows at most this much of a message's source."""
OPEN_TIMEOUT = 10.0
"""Seconds to wait for the opener command (xdg-open) to hand the file over."""

DRAFT_KINDS = ("reply", "reply_all", "forward")
"""The values of :attr:`ReaderScreen.ComposeRequested.draft_kind`."""

# Only these become OSC 8 hyperlinks: printable ASCII, so nothing can end the escape early.
_LINKABLE = re.compile(r"(?:https?://|mailto:)[\x21-\x7e]+", re.IGNORECASE)
# Opened by a desktop, these may run code rather than show a document.
_RISKY_SUFFIXES = frozenset(
    {
        ".appimage",
        ".bat",
        ".cmd",
        ".com",
        ".cpl",
        ".desktop",
        ".exe",
        ".hta",
        ".jar",
        ".js",
        ".jse",
        ".lnk",
        ".msi",
        ".ps1",
        ".py",
        ".run",
        ".scr",
        ".sh",
        ".vbe",
        ".vbs",
        ".wsf",
    }
)
_PUSH_LOCK = threading.Lock()
_DONE = {
    "read": "Marked read.",
    "unread": "Marked unread.",
    "flag": "Flagged.",
    "unflag": "Flag taken off.",
    "delete": "Deleted.",
    "archive": "Archived.",
    "move": "Moved.",
}


def _addresses(addresses: Sequence[Address]) -> str:
    return ", ".join(display_address(address) for address in addresses)


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _date_text(date: datetime | None) -> str:
    """A date in local time; as given when it cannot be (year 1 in a far zone, say)."""
    if date is None:
        return ""
    try:
        return date.astimezone().strftime("%a, %d %b %Y %H:%M")
    except (OverflowError, ValueError, OSError):
        return date.isoformat(" ", "minutes")


def _rows_text(rows: Sequence[tuple[str, str]]) -> Text:
    text = Text()
    for index, (name, value) in enumerate(rows):
        if index:
            text.append("\n")
        text.append_text(line(f"{name}: ", "bold"))
        text.append_text(line(value))
    return text


def header_text(message: MailMessage, *, full: bool) -> Text:
    """From, To, Cc and Date (one line each), or every header of the message."""
    parsed = message.parsed
    if full:
        return _rows_text(parsed.headers)
    date = parsed.date or message.cached.envelope.date
    rows = [("From", _addresses(parsed.sender))]
    if parsed.to:
        rows.append(("To", _addresses(parsed.to)))
    if parsed.cc:
        rows.append(("Cc", _addresses(parsed.cc)))
    rows.append(("Date", _date_text(date)))
    return _rows_text(rows)


def summary_text(message: MailMessage) -> Text:
    """From, Date and Subject, one line each: what the preview pane shows above the body."""
    parsed = message.parsed
    date = parsed.date or message.cached.envelope.date
    return _rows_text(
        [
            ("From", _addresses(parsed.sender)),
            ("Date", _date_text(date)),
            ("Subject", parsed.subject or "(no subject)"),
        ]
    )


def subject_text(message: MailMessage) -> Text:
    """The subject, and the names of the attachments when there are any."""
    body = message.parsed.body
    rows = [("Subject", message.parsed.subject or "(no subject)")]
    if body.attachments:
        names = ", ".join(attachment.safe_name for attachment in body.attachments)
        rows.append(("Attached", f"{len(body.attachments)}: {names}"))
    return _rows_text(rows)


def links_text(links: Sequence[str]) -> Text:
    """The numbered links of a body; http(s) and mailto ones as OSC 8 hyperlinks."""
    text = Text("Links", style="bold")
    for number, url in enumerate(links, 1):
        text.append(f"\n[{number}] ")
        shown = line(url)
        if _LINKABLE.fullmatch(url):
            shown.stylize(Style(link=url, underline=True))
        text.append_text(shown)
    return text


def _attachment_label(attachment: Attachment) -> Text:
    label = line(attachment.safe_name, "bold")
    label.append_text(line(f"  {attachment.part.content_type}, {_size(attachment.part.size)}"))
    return label


def _notify_error(app: App[object], error: Exception) -> None:
    """From a worker thread: show an error as a notification (never a traceback)."""
    if not isinstance(error, MailError):
        error = MailError(f"{type(error).__name__}: {error}", title="Unexpected error")
    title, message = error_text(error)
    with suppress(RuntimeError):  # the app has closed
        app.call_from_thread(app.notify, message, title=title, severity="error", markup=False)


def _default_directory() -> Path:
    home = Path.home()
    downloads = home / "Downloads"
    return downloads if downloads.is_dir() else home


class ReaderScreen(Screen[None]):
    """One message, read in full, with next/previous, reply and filing from the keyboard."""

    DEFAULT_CSS = """
    ReaderScreen #warning {
        display: none;
        background: $error;
        color: $text;
        text-style: bold;
        padding: 0 1;
        max-height: 3;
    }
    ReaderScreen #warning.shown {
        display: block;
    }
    ReaderScreen #message {
        height: 1fr;
    }
    ReaderScreen #headers {
        background: $boost;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ReaderScreen #headers.full {
        text-wrap: wrap;
    }
    ReaderScreen #subject {
        background: $boost;
        padding: 0 1;
    }
    ReaderScreen #subject.full {
        display: none;
    }
    ReaderScreen #body {
        padding: 1 1;
    }
    ReaderScreen #links {
        padding: 0 1 1 1;
        display: none;
    }
    ReaderScreen #attachments {
        height: auto;
        max-height: 8;
        margin: 0 1 1 1;
        display: none;
    }
    ReaderScreen #links.shown, ReaderScreen #attachments.shown {
        display: block;
    }
    ReaderScreen #raw {
        height: 1fr;
        display: none;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "back", "Back", id="reader.back"),
        Binding("r", "compose('reply')", "Reply", id="reader.reply"),
        Binding("R", "compose('reply_all')", "Reply all", id="reader.reply_all", show=False),
        Binding("f", "compose('forward')", "Forward", id="reader.forward"),
        Binding("d", "delete", "Delete", id="reader.delete"),
        Binding("a", "archive", "Archive", id="reader.archive", show=False),
        Binding("m", "move", "Move", id="reader.move", show=False),
        Binding("n,J", "next", "Next", id="reader.next"),
        Binding("p,K", "previous", "Previous", id="reader.previous"),
        Binding("w", "save_attachment", "Save (write) attachment", id="reader.save", show=False),
        Binding("v", "open_attachment", "View (open) attachment", id="reader.open", show=False),
        Binding("s,exclamation_mark", "toggle_flag", "Flag/unflag", id="reader.flag", show=False),
        Binding("N", "toggle_read", "Read/unread", id="reader.unread", show=False),
        Binding("u", "undo", "Undo", id="reader.undo", show=False),
        Binding("h", "toggle_headers", "All headers", id="reader.headers", show=False),
        Binding("V", "toggle_raw", "Raw source", id="reader.raw", show=False),
        Binding("j", "scroll(1)", "Scroll down", id="reader.scroll_down", show=False),
        Binding("k", "scroll(-1)", "Scroll up", id="reader.scroll_up", show=False),
        Binding("space", "page(1)", "Page down", id="reader.page_down", show=False),
        Binding("b", "page(-1)", "Page up", id="reader.page_up", show=False),
        Binding("g", "edge(False)", "Top", id="reader.top", show=False),
        Binding("G", "edge(True)", "Bottom", id="reader.bottom", show=False),
    ]

    class ComposeRequested(Message):
        """Asks the app to open the composer on a reply, reply-all or forward of a message."""

        def __init__(self, draft_kind: str, key: int) -> None:
            super().__init__()
            self.draft_kind = draft_kind
            """One of :data:`DRAFT_KINDS`: ``reply``, ``reply_all`` or ``forward``."""
            self.key = key
            """The cache id of the message to answer or forward."""

    class ActionApplied(Message):
        """A message was changed from the reader (lists showing it should refresh)."""

        def __init__(self, key: int, action: str) -> None:
            super().__init__()
            self.key = key
            """The cache id of the message."""
            self.action = action
            """``read``, ``unread``, ``flag``, ``unflag``, ``delete``, ``archive`` or ``move``."""

    def __init__(self, client: MailClient, key: int, keys: Sequence[int]) -> None:
        super().__init__()
        self.client = client
        self.keys = list(keys) if key in keys else [key]
        """The message list's order, for next and previous."""
        self.position = self.keys.index(key)
        self.message: MailMessage | None = None
        """The message shown, None while it loads or when it could not be read."""
        self.flags: set[Flag] = set()
        self.full_headers = False
        self.raw_shown = False

    @property
    def key(self) -> int:
        """The cache id of the message shown (or loading)."""
        return self.keys[self.position]

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """The warning line, the message (headers, body, links, attachments), the raw view."""
        yield Static(id="warning")
        with VerticalScroll(id="message"):
            yield Static(id="headers")
            yield Static(id="subject")
            yield Static(id="body")
            yield Static(id="links")
            attachments = OptionList(id="attachments")
            attachments.border_title = "Attachments: w or enter saves, v opens"
            yield attachments
        yield TextArea(id="raw", read_only=True, soft_wrap=True)
        yield Footer()

    def on_mount(self) -> None:
        """Start reading the message."""
        self.query_one("#message").focus()
        self._load()

    # -- helpers ---------------------------------------------------------------------------

    def _say(self, message: str, title: str = "") -> None:
        self.notify(line(message).plain, title=line(title).plain, markup=False)

    def _on_main(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback`` on the app's thread (from a worker); nothing once the app is gone."""
        with suppress(RuntimeError):  # the app has closed
            self.app.call_from_thread(callback, *args)

    def _fail(self, error: Exception) -> None:
        """In a worker: show an error as a notification, never as a traceback."""
        _notify_error(self.app, error)

    @contextmanager
    def _reporting(self) -> Iterator[None]:
        """In a worker: whatever goes wrong in the block becomes a notification."""
        try:
            yield
        except Exception as exc:  # a contract: the worker boundary shows errors, not tracebacks
            self._fail(exc)

    def _view(self) -> Widget:
        return self.query_one("#raw" if self.raw_shown else "#message")

    # -- reading ---------------------------------------------------------------------------

    def _load(self) -> None:
        self.message = None
        self.query_one("#message").loading = True
        self._read(self.key)

    @work(thread=True, exit_on_error=False, group="reader-read", exclusive=True)
    def _read(self, key: int) -> None:
        """Read a message (cache, file or server) and show it."""
        try:
            message = self.client.read(key)
        except Exception as exc:  # a contract: the worker boundary shows errors, not tracebacks
            self._fail(exc)
            self._on_main(self._read_failed, key)
            return
        with self._reporting():
            self._on_main(self._show, key, message)

    def _read_failed(self, key: int) -> None:
        if key != self.key or not self.is_attached:
            return
        self.query_one("#message").loading = False
        for name in ("#warning", "#links", "#attachments"):
            self.query_one(name).set_class(False, "shown")
        for name in ("#headers", "#subject"):
            self.query_one(name, Static).update("")
        self.query_one("#body", Static).update(Text("This message could not be read.", "dim"))

    def _show(self, key: int, message: MailMessage) -> None:
        if key != self.key or not self.is_attached:
            return  # the person moved on meanwhile
        self.message = message
        self.flags = set(message.cached.envelope.flags)
        parsed = message.parsed
        warning = self.query_one("#warning", Static)
        reasons = forgery_reasons(parsed)
        warning.update(line("Possibly forged sender: " + "; ".join(reasons) + "."))
        warning.set_class(bool(reasons), "shown")
        self._show_headers()
        body_text = parsed.body.text
        if len(body_text) > MAX_BODY_CHARS:
            body_text = (
                body_text[:MAX_BODY_CHARS]
                + f"\n\n[{len(body_text) - MAX_BODY_CHARS} more characters not shown: "
                "R shows the raw source.]"
            )
        body = block(body_text) if body_text.strip() else Text("(This message has no text.)", "dim")
        self.query_one("#body", Static).update(body)
        links = self.query_one("#links", Static)
        links.update(links_text(parsed.body.links))
        links.set_class(bool(parsed.body.links), "shown")
        attachments = self.query_one("#attachments", OptionList)
        attachments.clear_options()
        attachments.add_options(Option(_attachment_label(a)) for a in parsed.body.attachments)
        attachments.set_class(bool(parsed.body.attachments), "shown")
        if parsed.body.attachments:
            attachments.highlighted = 0
        view = self.query_one("#message", VerticalScroll)
        view.loading = False
        view.scroll_home(animate=False)
        if self.raw_shown:
            self._fill_raw()
        if Flag.SEEN not in self.flags:
            self._mark(key, Flag.SEEN, True, quiet=True)

    def _show_headers(self) -> None:
        if self.message is None:
            return
        headers = self.query_one("#headers", Static)
        headers.update(header_text(self.message, full=self.full_headers))
        headers.set_class(self.full_headers, "full")
        subject = self.query_one("#subject", Static)
        subject.update(subject_text(self.message))
        subject.set_class(self.full_headers, "full")

    def _fill_raw(self) -> None:
        if self.message is None:
            return
        raw = self.message.raw
        text = safe_text(decode_bytes(raw[:MAX_RAW_BYTES], None))
        if len(raw) > MAX_RAW_BYTES:
            text += f"\n[{len(raw) - MAX_RAW_BYTES} more bytes not shown]\n"
        area = self.query_one("#raw", TextArea)
        area.load_text(text)
        area.scroll_home(animate=False)

    # -- moving around ---------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the list (the screen is dismissed: a callback given to push_screen runs)."""
        if self.is_current:
            self.dismiss(None)

    def action_scroll(self, lines: int) -> None:
        """Scroll the message by lines."""
        self._view().scroll_relative(y=lines, animate=False)

    def action_page(self, pages: int) -> None:
        """Scroll the message by a page."""
        view = self._view()
        if pages > 0:
            view.scroll_page_down(animate=False)
        else:
            view.scroll_page_up(animate=False)

    def action_edge(self, end: bool) -> None:
        """Go to the top or the bottom of the message."""
        view = self._view()
        if end:
            view.scroll_end(animate=False)
        else:
            view.scroll_home(animate=False)

    def action_next(self) -> None:
        """Show the next message of the list."""
        if self.position + 1 >= len(self.keys):
            self._say("This is the last message.")
            return
        self.position += 1
        self._load()

    def action_previous(self) -> None:
        """Show the previous message of the list."""
        if self.position == 0:
            self._say("This is the first message.")
            return
        self.position -= 1
        self._load()

    def action_toggle_headers(self) -> None:
        """Show every header, or the usual few."""
        self.full_headers = not self.full_headers
        self._show_headers()

    def action_toggle_raw(self) -> None:
        """Show the message's source, or the message again."""
        if self.message is None:
            return
        self.raw_shown = not self.raw_shown
        if self.raw_shown:
            self._fill_raw()
        self.query_one("#raw").display = self.raw_shown
        self.query_one("#message").display = not self.raw_shown
        self._view().focus()

    # -- answering -------------------------------------------------------------------------

    def action_compose(self, draft_kind: str) -> None:
        """Ask the app for a reply, reply-all or forward of this message."""
        if draft_kind in DRAFT_KINDS:
            self.post_message(self.ComposeRequested(draft_kind, self.key))

    # -- flags and filing ------------------------------------------------------------------

    def action_toggle_flag(self) -> None:
        """Flag the message, or take the flag off."""
        if self.message is not None:
            self._mark(self.key, Flag.FLAGGED, Flag.FLAGGED not in self.flags)

    def action_toggle_read(self) -> None:
        """Mark the message unread, or read again."""
        if self.message is not None:
            self._mark(self.key, Flag.SEEN, Flag.SEEN not in self.flags)

    @work(thread=True, exit_on_error=False, group="reader-action")
    def _mark(self, key: int, flag: Flag, on: bool, *, quiet: bool = False) -> None:
        """Set or clear the seen or flagged flag, then tell the server."""
        with self._reporting():
            if flag is Flag.SEEN:
                self.client.mark_read([key], on)
                action = "read" if on else "unread"
            else:
                self.client.flag([key], on)
                action = "flag" if on else "unflag"
            self._on_main(self._marked, key, flag, on, action, quiet)

    def _marked(self, key: int, flag: Flag, on: bool, action: str, quiet: bool) -> None:
        if key == self.key:
            if on:
                self.flags.add(flag)
            else:
                self.flags.discard(flag)
        self._push()
        self.post_message(self.ActionApplied(key, action))
        if not quiet:
            self._say(_DONE[action])

    def _push(self) -> None:
        """Send the queued actions to the servers (or files) now, one push at a time.

        The worker belongs to the app: it goes on when this screen is closed (after deleting
        the last message, say).
        """
        app, client = self.app, self.client

        def push() -> None:
            with _PUSH_LOCK:
                try:
                    client.push()
                except Exception as exc:  # a contract: the worker boundary shows errors
                    _notify_error(app, exc)

        app.run_worker(push, thread=True, group="reader-push", exit_on_error=False)

    def action_delete(self) -> None:
        """Delete the message (to the Trash; asks first when it is in the Trash already)."""
        if self.message is not None:
            self._delete(self.key, confirmed=False)

    @work(thread=True, exit_on_error=False, group="reader-action")
    def _delete(self, key: int, *, confirmed: bool) -> None:
        """Delete, after asking when it would be for good."""
        with self._reporting():
            if not confirmed:
                found = self.client.envelopes([key])
                if not found:
                    raise MailError("That message is no longer in the cache.")
                ref = found[0].envelope.ref
                roles = {(f.account, f.name): f.role for f in self.client.folders()}
                if roles.get((ref.account, ref.folder)) is FolderRole.TRASH:
                    self._on_main(self._confirm_delete, key)
                    return
            self.client.delete([key])
            self._on_main(self._removed, key, "delete")

    def _confirm_delete(self, key: int) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(key, confirmed=True)

        self.app.push_screen(
            ConfirmDialog(
                "This message is in the Trash: delete it for good?",
                title="Delete for good",
                yes="Delete",
                no="Keep",
            ),
            answered,
        )

    def action_archive(self) -> None:
        """Move the message to the account's Archive folder."""
        if self.message is not None:
            self._archive(self.key)

    @work(thread=True, exit_on_error=False, group="reader-action")
    def _archive(self, key: int) -> None:
        """Archive, then tell the server."""
        with self._reporting():
            self.client.archive([key])
            self._on_main(self._removed, key, "archive")

    def action_move(self) -> None:
        """Move the message to a folder picked from a list."""
        if self.message is not None:
            self._choose_folder(self.message)

    @work(thread=True, exit_on_error=False, group="reader-action")
    def _choose_folder(self, message: MailMessage) -> None:
        """Find the folders the message can move to and offer them."""
        ref = message.cached.envelope.ref
        with self._reporting():
            names = [
                f.name
                for f in self.client.folders()
                if f.account == ref.account and f.selectable and f.name != ref.folder
            ]
            self._on_main(self._pick_folder, message.cached.id, names)

    def _pick_folder(self, key: int, names: list[str]) -> None:
        if not names:
            self._say("There is no other folder to move it to.")
            return

        def picked(name: str | None) -> None:
            if name is not None:
                self._move(key, name)

        self.app.push_screen(FolderPicker(names), picked)

    @work(thread=True, exit_on_error=False, group="reader-action")
    def _move(self, key: int, folder: str) -> None:
        """Move, then tell the server."""
        with self._reporting():
            self.client.move([key], folder)
            self._on_main(self._removed, key, "move")

    def action_undo(self) -> None:
        """Undo the last action (here or in the list)."""
        self._undo()

    @work(thread=True, exit_on_error=False, group="reader-action")
    def _undo(self) -> None:
        with self._reporting():
            key = self.key
            what = self.client.undo()
            found = self.client.envelopes([key])
            flags = set(found[0].envelope.flags) if found else set()
            self._on_main(self._undone, what, key, flags)

    def _undone(self, what: str, key: int, flags: set[Flag]) -> None:
        self._say(f"Undone: {what}")
        self._push()
        if key == self.key:
            self.flags = flags  # as they are now (not read again: that would mark it read)

    def _removed(self, key: int, action: str) -> None:
        """The message left this folder: show the next one (or go back when none is left)."""
        self._push()
        self.post_message(self.ActionApplied(key, action))
        self._say(_DONE[action])
        if key not in self.keys or not self.is_attached:
            return
        index = self.keys.index(key)
        del self.keys[index]
        if not self.keys:
            self.keys.append(key)  # keep ``key`` valid until the screen is gone
            self.action_back()
        elif index < self.position:
            self.position -= 1  # the message shown stays
        elif index == self.position:
            self.position = min(self.position, len(self.keys) - 1)
            self._load()  # the next one (the previous one at the end of the list)

    # -- attachments -----------------------------------------------------------------------

    def _chosen_attachment(self) -> tuple[MailMessage, int] | None:
        message = self.message
        if message is None:
            return None
        count = len(message.parsed.body.attachments)
        if not count:
            self._say("This message has no attachments.")
            return None
        index = self.query_one("#attachments", OptionList).highlighted
        return message, (index if index is not None and 0 <= index < count else 0)

    @on(OptionList.OptionSelected, "#attachments")
    def _attachment_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_save_attachment()

    def action_save_attachment(self) -> None:
        """Save the highlighted (or first) attachment into a directory asked for."""
        chosen = self._chosen_attachment()
        if chosen is None:
            return
        message, index = chosen
        name = message.parsed.body.attachments[index].safe_name

        def answered(directory: Path | None) -> None:
            if directory is not None:
                self._save(message, index, directory, overwrite=False)

        hint = Text("Save ")
        hint.append_text(line(name, "bold"))
        hint.append(" into this directory:")
        self.app.push_screen(
            PathPrompt("Save attachment", _default_directory(), hint=hint), answered
        )

    @work(thread=True, exit_on_error=False, group="reader-save")
    def _save(self, message: MailMessage, index: int, directory: Path, *, overwrite: bool) -> None:
        """Write the attachment, asking first when a file of that name is there."""
        target = directory.expanduser() / message.parsed.body.attachments[index].safe_name
        with self._reporting():
            if not overwrite and (target.exists() or target.is_symlink()):
                self._on_main(self._confirm_overwrite, message, index, directory, target)
                return
            saved = self.client.save_attachment(message, index, directory, overwrite=overwrite)
            self._on_main(self._say, f"Saved to {saved}", "Attachment saved")

    def _confirm_overwrite(
        self, message: MailMessage, index: int, directory: Path, target: Path
    ) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._save(message, index, directory, overwrite=True)
            else:
                self._say("The attachment was not saved.")

        question = line(str(target))
        question.append(" exists already. Replace it?")
        self.app.push_screen(
            ConfirmDialog(question, title="Replace file?", yes="Replace", no="Keep"), answered
        )

    def action_open_attachment(self) -> None:
        """Open the highlighted (or first) attachment: its [open] command, else the desktop's."""
        chosen = self._chosen_attachment()
        if chosen is None:
            return
        message, index = chosen
        attachment = message.parsed.body.attachments[index]
        name = attachment.safe_name
        rules = self.client.open_commands
        if configured_command(rules, attachment.part.content_type, name, "%s") is not None:
            self._open(message, index, None)
            return
        opener, why = desktop_opener()
        if opener is None:
            self._say(f"{why}: press w to save it instead (see [open] in the README).")
            return
        if Path(name).suffix.lower() in _RISKY_SUFFIXES:
            self._say(
                f"{name} could run code when opened: save it (w) and open it yourself "
                "if you trust it."
            )
            return
        self._open(message, index, opener)

    @work(thread=True, exit_on_error=False, group="reader-open")
    def _open(self, message: MailMessage, index: int, opener: str | None) -> None:
        """Save the attachment into a private temporary directory and hand it to a command:
        the [open] rule that fits it (``opener`` None), else ``opener``."""
        with self._reporting():
            attachment = message.parsed.body.attachments[index]
            directory = Path(tempfile.mkdtemp(prefix="tuimail-"))
            path = self.client.save_attachment(message, index, directory)
            argv = configured_command(
                self.client.open_commands, attachment.part.content_type, path.name, str(path)
            )
            if opener is not None or argv is None:
                argv = [opener or "xdg-open", str(path)]
            program = argv[0]
            try:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                raise MailError(
                    f"Cannot run {program}: {exc.strerror}.", title="Not opened"
                ) from None
            self._on_main(self._say, f"Opening {path.name}", "Attachment")
            try:
                status = process.wait(timeout=OPEN_TIMEOUT)
            except subprocess.TimeoutExpired:
                return  # still handing over: the viewer may be running in it
            if status != 0:
                raise MailError(
                    f"{Path(program).name} could not open {path.name} (exit status {status}); "
                    "press w to save it instead.",
                    title="Not opened",
                )
