"""The message list: a Line-API widget that holds 100,000 rows and renders only the visible ones."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tuimail.mime.sanitize import safe_line


@dataclass(frozen=True, slots=True)
class Row:
    """What one line of the list shows about one message."""

    key: int
    """The cache row id of the message."""
    date: datetime | None
    sender: str
    """Who to show, already chosen by the caller: a name, or "To: name" in Sent."""
    subject: str
    unread: bool
    flagged: bool
    answered: bool
    attachment: bool
    size: int
    """Size in bytes."""
    depth: int = 0
    """Thread indent (0 when not threaded)."""
    thread_size: int = 0
    """Messages in the thread, shown on its first row when more than one."""
    folder: str = ""
    """Where the message is: shown in a folder column when the list spans folders (search)."""
    collapsed: bool = False
    """The first row of a closed thread (its other messages are not shown)."""


RowSource = Callable[[Sequence[int]], list[Row]]
"""Rows for these keys in the same order: blocking but cheap (SQLite by id)."""

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# columns: mark, 4 flags, gap, date, gap, sender, gap, subject, [gap, size]
_MARK_WIDTH = 1
_FLAGS_WIDTH = 4
_DATE_WIDTH = 10
_SIZE_WIDTH = 5
_FIXED_WIDTH = _MARK_WIDTH + _FLAGS_WIDTH + 1 + _DATE_WIDTH + 1 + 1
_WIDE = 100
"""From this many cells on, the size column is shown."""
_SENDER_MAX = 30
_SENDER_MIN = 8
_FOLDER_MAX = 14
_CACHE_MIN = 512
"""The row cache holds at least this many rows (and eight screens' worth)."""
_ELLIPSIS = "…"


def _no_rows(keys: Sequence[int]) -> list[Row]:
    return []


def _local(value: datetime) -> datetime:
    """``value`` in local time; a naive datetime is taken to be local already."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone()
    except (OverflowError, ValueError, OSError):  # year 1 or 9999 pushed out of range
        return value


def format_date(value: datetime | None, now: datetime) -> str:
    """A short date relative to ``now`` (local time).

    "14:05" today, "Mon 12:30" within the last six days, "3 Oct" earlier this year (or later
    this year), "2023-10-03" in any other year; "" without a date.
    """
    if value is None:
        return ""
    local = _local(value)
    day = local.date()
    today = now.date()
    if day == today:
        return f"{local:%H:%M}"
    if today - timedelta(days=6) <= day < today:
        return f"{_DAYS[day.weekday()]} {local:%H:%M}"
    if day.year == today.year:
        return f"{day.day} {_MONTHS[day.month - 1]}"
    return day.isoformat()


def format_size(size: int) -> str:
    """A size in at most five cells: "12K", "1.4M", "230M", "2.1G"; "" when unknown (0)."""
    if size <= 0:
        return ""
    if size < 1000 * 1024:
        return f"{-(-size // 1024)}K"
    megabytes = size / (1024 * 1024)
    if megabytes < 9.95:
        return f"{megabytes:.1f}M"
    if megabytes < 999.5:
        return f"{megabytes:.0f}M"
    gigabytes = size / (1024 * 1024 * 1024)
    if gigabytes < 9.95:
        return f"{gigabytes:.1f}G"
    return f"{min(gigabytes, 9999):.0f}G"


def fit(text: str, width: int) -> str:
    """``text`` made exactly ``width`` terminal cells wide: padded, or cut with an ellipsis."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length <= width:
        return text + " " * (width - length)
    return set_cell_size(text, width - 1) + _ELLIPSIS


@dataclass(frozen=True, slots=True)
class _Columns:
    """Cell widths of the columns that change with the widget width."""

    sender: int
    subject: int
    size: int
    """0 when the size column is dropped (narrow terminals)."""
    folder: int = 0
    """0 when there is no folder column; else its width plus the gap after it."""


def _columns(width: int, folder: bool = False) -> _Columns:
    """Share ``width`` out: the size column goes first, then the sender shrinks.

    With ``folder`` a folder column (up to _FOLDER_MAX cells) takes its room from the rest.
    """
    size = _SIZE_WIDTH + 1 if width >= _WIDE else 0
    rest = max(0, width - _FIXED_WIDTH - size)
    folder_width = min(_FOLDER_MAX, rest // 6) + 1 if folder and rest >= 30 else 0
    rest -= folder_width
    sender = max(min(rest * 3 // 10, _SENDER_MAX), min(rest, _SENDER_MIN))
    return _Columns(sender=sender, subject=rest - sender, size=size, folder=folder_width)


def clock() -> datetime:
    """Now, for dates shown relative to it; screenshots and snapshots replace ``CLOCK``."""
    return CLOCK[0]()


CLOCK: list[Callable[[], datetime]] = [datetime.now]


class MessageList(ScrollView, can_focus=True):
    """The messages of a folder, one per line, fetched lazily by key around what is visible.

    The list holds only the keys (display order); rows come from a `RowSource` in windows around
    the visible lines and live in a small LRU cache. Every string of a row is treated as hostile:
    it reaches the screen as plain segments made safe by `safe_line`, never as markup.
    """

    ALLOW_SELECT = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Next message", show=False, id="list.down"),
        Binding("k,up", "cursor_up", "Previous message", show=False, id="list.up"),
        Binding("g,home", "cursor_first", "First message", show=False, id="list.first"),
        Binding("G,end", "cursor_last", "Last message", show=False, id="list.last"),
        Binding(
            "ctrl+d,pagedown", "cursor_page_down", "Page down", show=False, id="list.page_down"
        ),
        Binding("ctrl+u,pageup", "cursor_page_up", "Page up", show=False, id="list.page_up"),
        Binding("space", "toggle_mark", "Mark", id="list.mark"),
        Binding("enter", "open", "Open", id="list.open"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "message-list--cursor",
        "message-list--unread",
        "message-list--marked",
        "message-list--flagged",
        "message-list--dim",
    }

    DEFAULT_CSS = """
    MessageList {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        & > .message-list--unread {
            text-style: bold;
        }
        & > .message-list--flagged {
            color: $text-warning;
        }
        & > .message-list--marked {
            background: $secondary 30%;
        }
        & > .message-list--dim {
            color: $text-muted;
        }
        & > .message-list--cursor {
            color: $block-cursor-blurred-foreground;
            background: $block-cursor-blurred-background;
        }
        &:focus > .message-list--cursor {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
        }
    }
    """

    class Highlighted(Message):
        """The cursor moved to another message."""

        def __init__(self, message_list: MessageList, key: int) -> None:
            super().__init__()
            self.message_list = message_list
            """The list that sent this."""
            self.key = key
            """The key of the message now under the cursor."""

        @property
        def control(self) -> MessageList:
            """The list that sent this (for `@on(..., selector)`)."""
            return self.message_list

    class Opened(Message):
        """A message was opened (enter or double click)."""

        def __init__(self, message_list: MessageList, key: int) -> None:
            super().__init__()
            self.message_list = message_list
            """The list that sent this."""
            self.key = key
            """The key of the message to open."""

        @property
        def control(self) -> MessageList:
            """The list that sent this (for `@on(..., selector)`)."""
            return self.message_list

    class MarksChanged(Message):
        """Messages were marked or unmarked."""

        def __init__(self, message_list: MessageList, count: int) -> None:
            super().__init__()
            self.message_list = message_list
            """The list that sent this."""
            self.count = count
            """How many messages are marked now."""

        @property
        def control(self) -> MessageList:
            """The list that sent this (for `@on(..., selector)`)."""
            return self.message_list

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """An empty list; fill it with `set_keys`."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._keys: list[int] = []
        self._source: RowSource = _no_rows
        self._cursor = 0
        self._marked: set[int] = set()
        self._cache: OrderedDict[int, Row | None] = OrderedDict()
        """Rows by key, least recently used first; None: the source had no such row."""
        self._overrides: dict[int, Row] = {}
        """Rows from `update_row`, shown until `refresh_keys` or `set_keys`."""
        self._styles: dict[tuple[str, ...], Style] = {}
        """Row styles by component classes, for one render pass."""
        self._announced: int | None = None
        self._load_failed = False
        self.show_folder = False
        """Show a folder column (set before `set_keys`): for lists that span folders."""

    # -- what the list holds ---------------------------------------------------------------

    @property
    def keys(self) -> Sequence[int]:
        """The keys in display order (do not change it: use `set_keys` or `remove_keys`)."""
        return self._keys

    @property
    def cursor(self) -> int:
        """The index of the cursor row (0 when the list is empty)."""
        return self._cursor

    @property
    def cursor_key(self) -> int | None:
        """The key under the cursor, None when the list is empty."""
        return self._keys[self._cursor] if self._keys else None

    @property
    def marked(self) -> set[int]:
        """The keys of the marked messages (a copy)."""
        return set(self._marked)

    def set_keys(self, keys: Sequence[int], source: RowSource, *, keep_cursor: bool = True) -> None:
        """Show these keys in this order, with rows from ``source``.

        With ``keep_cursor`` the cursor stays on the same message (or the same place when the
        message is gone) at the same height on screen; otherwise it goes to the first row. Marks
        on messages no longer shown are dropped. Cached rows are forgotten.
        """
        old_key = self.cursor_key
        old_index = self._cursor
        screen_row = old_index - self.scroll_offset.y
        at_top = self.scroll_offset.y == 0
        self._keys = list(keys)
        self._source = source
        self._cache.clear()
        self._overrides.clear()
        self._load_failed = False
        if keep_cursor and self._keys:
            self._cursor = self._find(old_key, old_index)
        else:
            self._cursor = 0
            screen_row = 0
        if self._marked:
            present = {key for key in self._keys if key in self._marked}
            if present != self._marked:
                self._marked = present
                self.post_message(self.MarksChanged(self, len(present)))
        self.virtual_size = Size(0, len(self._keys))
        if at_top and self._cursor < self._page_height():
            screen_row = self._cursor  # a list seen from the top stays so: new mail shows
        self.scroll_to(y=max(0, self._cursor - screen_row), animate=False, force=True)
        self._scroll_to_cursor()
        self.refresh()
        self._announce()

    def _find(self, key: int | None, near: int) -> int:
        """Where ``key`` is now; if it is gone, ``near`` kept inside the list."""
        keys = self._keys
        if key is not None:
            if near < len(keys) and keys[near] == key:
                return near
            try:
                return keys.index(key)
            except ValueError:
                pass
        return max(0, min(near, len(keys) - 1))

    def refresh_keys(self, keys: Iterable[int]) -> None:
        """Fetch these rows again from the source (their messages changed)."""
        for key in keys:
            self._cache.pop(key, None)
            self._overrides.pop(key, None)
        self.refresh()

    def update_row(self, key: int, row: Row) -> None:
        """Show ``row`` for ``key`` now (an optimistic change), until `refresh_keys`/`set_keys`."""
        self._overrides[key] = row
        top = self.scroll_offset.y
        visible = self._keys[top : top + self.scrollable_content_region.height]
        if key in visible:
            self.refresh_line(top + visible.index(key))

    def remove_keys(self, keys: Iterable[int]) -> None:
        """Take these messages out of the list (deleted or moved).

        The cursor moves to the next remaining row (the previous one at the end), and the rows
        on screen stay where they were when rows above them go.
        """
        gone = set(keys)
        for key in gone:
            self._cache.pop(key, None)
            self._overrides.pop(key, None)
        if self._marked & gone:
            self._marked -= gone
            self.post_message(self.MarksChanged(self, len(self._marked)))
        old = self._keys
        kept = [key for key in old if key not in gone]
        if len(kept) == len(old):
            return
        top = self.scroll_offset.y
        cursor = self._cursor - sum(1 for key in old[: self._cursor] if key in gone)
        top -= sum(1 for key in old[:top] if key in gone)
        self._keys = kept
        self._cursor = max(0, min(cursor, len(kept) - 1))
        self.virtual_size = Size(0, len(kept))
        self.scroll_to(y=max(0, top), animate=False, force=True)
        self._scroll_to_cursor()
        self.refresh()
        self._announce()

    # -- cursor and marks ------------------------------------------------------------------

    def move_cursor(self, index: int) -> None:
        """Put the cursor on the row at ``index`` (kept inside the list) and scroll to it."""
        if not self._keys:
            return
        index = max(0, min(index, len(self._keys) - 1))
        if index != self._cursor:
            self.refresh_line(self._cursor)
            self._cursor = index
            self.refresh_line(index)
        self._scroll_to_cursor()
        self._announce()

    def toggle_mark(self) -> None:
        """Mark the message under the cursor, or unmark it."""
        key = self.cursor_key
        if key is None:
            return
        if key in self._marked:
            self._marked.discard(key)
        else:
            self._marked.add(key)
        self.refresh_line(self._cursor)
        self.post_message(self.MarksChanged(self, len(self._marked)))

    def clear_marks(self) -> None:
        """Unmark every message."""
        if self._marked:
            self._marked.clear()
            self.refresh()
            self.post_message(self.MarksChanged(self, 0))

    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def _scroll_to_cursor(self) -> None:
        """Scroll the least distance that shows the cursor row."""
        height = self.scrollable_content_region.height
        if height <= 0 or not self._keys:
            return
        top = self.scroll_offset.y
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, force=True)
        elif self._cursor >= top + height:
            self.scroll_to(y=self._cursor - height + 1, animate=False, force=True)

    def _announce(self) -> None:
        """Post `Highlighted` when the key under the cursor is not the one last announced."""
        key = self.cursor_key
        if key is not None and key != self._announced:
            self.post_message(self.Highlighted(self, key))
        self._announced = key

    def _move_page(self, direction: int) -> None:
        """Move the cursor and the view by one screen, the cursor keeping its place on screen."""
        if not self._keys:
            return
        page = self._page_height()
        self.scroll_to(y=self.scroll_offset.y + direction * page, animate=False, force=True)
        self.move_cursor(self._cursor + direction * page)

    def action_cursor_down(self) -> None:
        """Move the cursor one row down."""
        self.move_cursor(self._cursor + 1)

    def action_cursor_up(self) -> None:
        """Move the cursor one row up."""
        self.move_cursor(self._cursor - 1)

    def action_cursor_first(self) -> None:
        """Move the cursor to the first row."""
        self.move_cursor(0)

    def action_cursor_last(self) -> None:
        """Move the cursor to the last row."""
        self.move_cursor(len(self._keys) - 1)

    def action_cursor_page_down(self) -> None:
        """Move the cursor and the view one screen down."""
        self._move_page(1)

    def action_cursor_page_up(self) -> None:
        """Move the cursor and the view one screen up."""
        self._move_page(-1)

    def action_toggle_mark(self) -> None:
        """Mark or unmark the message under the cursor, then move down."""
        self.toggle_mark()
        self.action_cursor_down()

    def action_open(self) -> None:
        """Open the message under the cursor."""
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Opened(self, key))

    def on_click(self, event: events.Click) -> None:
        """A click moves the cursor to the row; a double click opens it."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.scroll_offset.y + offset.y
        if not 0 <= index < len(self._keys):
            return
        event.stop()
        self.move_cursor(index)
        if event.chain == 2:
            self.action_open()

    def on_resize(self, event: events.Resize) -> None:
        """Keep the cursor on screen when the list changes size."""
        self._scroll_to_cursor()

    def notify_style_update(self) -> None:
        """Repaint with new styles (focus, theme)."""
        super().notify_style_update()
        self._styles.clear()
        self.refresh()

    # -- rows ------------------------------------------------------------------------------

    def _row(self, index: int) -> Row | None:
        """The row at ``index``, fetching the window around the view when it is not cached."""
        key = self._keys[index]
        row = self._overrides.get(key)
        if row is not None:
            return row
        cache = self._cache
        if key not in cache:
            self._fetch_window(index)
            return cache.get(key)
        cache.move_to_end(key)
        return cache[key]

    def _fetch_window(self, index: int) -> None:
        """Fetch the uncached rows of a window: the screen showing ``index`` and one either side."""
        height = self._page_height()
        top = self.scroll_offset.y
        if not top <= index < top + height:
            top = index
        start = max(0, top - height)
        cache = self._cache
        overrides = self._overrides
        wanted = [
            key
            for key in self._keys[start : top + 2 * height]
            if key not in cache and key not in overrides
        ]
        try:
            rows = self._source(wanted)
        except Exception as exc:  # a render must not crash: Textual's crash screen shows locals
            # placeholders until refresh_keys or set_keys, not one failing call per line
            rows = []
            if not self._load_failed:
                self._load_failed = True
                self.log.error(f"message list: loading rows failed: {exc!r}")
                self.notify(
                    safe_line(f"Could not load messages: {exc}"),
                    severity="error",
                    markup=False,
                )
        found = {row.key: row for row in rows}
        for key in wanted:
            cache[key] = found.get(key)
        limit = max(_CACHE_MIN, 8 * height)
        while len(cache) > limit:
            cache.popitem(last=False)

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the view: a message row, or blank past the end."""
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        if not self._keys:
            if y == 0:
                text = fit(" No messages", width)
                return Strip([Segment(text, self._style("message-list--dim"))], width)
            return Strip.blank(width, self._style())
        if index >= len(self._keys):
            return Strip.blank(width, self._style())
        return self._render_row(index, self._row(index), width)

    def render_lines(self, crop: Region) -> list[Strip]:
        """Render the lines in ``crop``, looking each row style up once per pass."""
        self._styles.clear()
        return super().render_lines(crop)

    def _style(self, *classes: str) -> Style:
        """The Rich style for these component classes over the widget's own."""
        style = self._styles.get(classes)
        if style is None:
            style = self._styles[classes] = self.get_visual_style(*classes).rich_style
        return style

    def _render_row(self, index: int, row: Row | None, width: int) -> Strip:
        """Segments for one row; every string from the row goes through `safe_line`."""
        marked = self._keys[index] in self._marked
        classes: list[str] = []
        if row is not None:
            if row.unread:
                classes.append("message-list--unread")
            if row.flagged:
                classes.append("message-list--flagged")
        if marked:
            classes.append("message-list--marked")
        if index == self._cursor:
            classes.append("message-list--cursor")
        base = self._style(*classes)
        dim = self._style(*classes, "message-list--dim")
        segments = [Segment("*" if marked else " ", base)]
        if row is None:  # gone from the cache, or loading failed
            segments.append(Segment(fit(" " * _FLAGS_WIDTH + " " + _ELLIPSIS, width - 1), dim))
            return Strip(segments).crop_extend(0, width, base)
        columns = _columns(width, self.show_folder)
        flags = (
            ("N" if row.unread else " ")
            + ("!" if row.flagged else " ")
            + ("r" if row.answered else " ")
            + ("@" if row.attachment else " ")
        )
        segments.append(Segment(flags + " ", base))
        when = format_date(row.date, clock())
        segments.append(Segment(fit(when, _DATE_WIDTH) + " ", dim))
        segments.append(Segment(fit(safe_line(row.sender), columns.sender) + " ", base))
        if columns.folder:
            segments.append(Segment(fit(safe_line(row.folder), columns.folder - 1) + " ", dim))
        segments.extend(self._subject(row, columns.subject, base, dim))
        if columns.size:
            segments.append(Segment(" " + format_size(row.size).rjust(_SIZE_WIDTH), dim))
        fixed = _FIXED_WIDTH + columns.folder
        if width == fixed + columns.sender + columns.subject + columns.size:
            return Strip(segments, width)
        return Strip(segments).crop_extend(0, width, base)  # narrower than the fixed columns

    @staticmethod
    def _subject(row: Row, width: int, base: Style, dim: Style) -> list[Segment]:
        """The subject column: thread tree glyphs, thread size, then the subject itself."""
        if width <= 0:
            return []
        lead = ""
        if row.depth > 0:
            levels = min(row.depth, max(1, width // 6))  # deep threads keep room for the subject
            lead = "  " * (levels - 1) + "└─ "
        if row.thread_size > 1:
            lead += f"{'▸' if row.collapsed else '▾'} ({row.thread_size}) "
        lead = set_cell_size(lead, min(cell_len(lead), width))
        room = width - cell_len(lead)
        subject = safe_line(row.subject).strip()
        segments = [Segment(lead, dim)] if lead else []
        if subject:
            segments.append(Segment(fit(subject, room), base))
        else:
            segments.append(Segment(fit("(no subject)", room), dim))
        return segments
