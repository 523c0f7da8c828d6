"""The command line's commands and options (argparse only: building it loads nothing else)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tuimail.config.paths import Paths

SORTS = ("date", "sender", "subject", "size")


def cache_file(paths: Paths) -> Path:
    """The cache database of this installation."""
    return paths.cache_dir / "cache.sqlite"


def add_mail_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the mail commands to the command line's subparsers."""
    sync = commands.add_parser(
        "sync",
        parents=[common],
        help="bring the local cache in step with the servers",
        description="Fetch new messages, flag changes and deletions of every folder (Inbox "
        "first) into the local cache, after sending actions made offline.",
    )
    sync.add_argument("account", nargs="?", help="sync only this account")
    sync.add_argument(
        "--folder", action="append", metavar="F", help="sync only this folder (repeatable)"
    )
    sync.add_argument(
        "--dry-run",
        action="store_true",
        help="POP3 accounts: list what would be downloaded and deleted on the server, and "
        "change nothing (other accounts are left alone)",
    )

    listing = commands.add_parser(
        "list",
        parents=[common],
        help="list messages from the cache, newest first",
        description="List messages from the local cache (no network), newest first: the Inbox "
        "of each account unless --folder or --all-folders says otherwise. Markers: N unread, "
        "! flagged, r answered, @ attachment.",
    )
    _scope_arguments(listing)
    listing.add_argument("--sort", choices=SORTS, default="date", help="sort order")
    listing.add_argument("--reverse", action="store_true", help="oldest (or smallest) first")
    listing.add_argument("--offset", type=int, default=0, metavar="N", help="skip N messages")

    read = commands.add_parser(
        "read", parents=[common], help="show a message (ID from list or search)"
    )
    read.add_argument("id", help="a message id from list or search (account:folder:N:UID)")
    read.add_argument("--headers", action="store_true", help="show every header")
    read.add_argument("--raw", action="store_true", help="show the raw source (made safe)")

    search = commands.add_parser(
        "search",
        parents=[common],
        help="search the cache (from: to: subject: has:attachment is:unread before: after: ...)",
    )
    search.add_argument("query", help="what to look for, e.g. 'from:alice is:unread'")
    _scope_arguments(search, searching=True)
    search.add_argument(
        "--server",
        action="store_true",
        help="also ask the server (finds words in bodies the cache has not seen)",
    )

    folders = commands.add_parser(
        "folders", parents=[common], help="list folders with roles and unread/total counts"
    )
    folders.add_argument("--account", metavar="A", help="only this account")
    folders.add_argument("--json", action="store_true", help="print one JSON array")


def _scope_arguments(parser: argparse.ArgumentParser, *, searching: bool = False) -> None:
    parser.add_argument("--account", metavar="A", help="only this account")
    if searching:
        parser.add_argument("--folder", metavar="F", help="only this folder (default: all)")
    else:
        parser.add_argument("--folder", metavar="F", help="only this folder (default: Inbox)")
        parser.add_argument("--all-folders", action="store_true", help="every folder")
    parser.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (50)")
    parser.add_argument("--json", action="store_true", help="print one JSON array")


MAIL_COMMANDS = ("sync", "list", "read", "search", "folders")


SEND_COMMANDS = ("send", "outbox")


def add_send_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add send and outbox to the command line's subparsers."""
    send = commands.add_parser(
        "send",
        parents=[common],
        help="send a message whose body is read from standard input",
        description="Build a message (body from standard input), keep it in the outbox, and "
        "send it. Exit status 0 only when the server accepted it; otherwise it waits in the "
        "outbox with the reason (tuimail outbox).",
    )
    send.add_argument("to", nargs="+", metavar="TO", help="recipient address(es)")
    send.add_argument("--account", metavar="A", help="send from this account")
    send.add_argument("-s", "--subject", default="", help="the subject")
    send.add_argument("-c", "--cc", action="append", default=[], metavar="ADDR", help="Cc")
    send.add_argument("-b", "--bcc", action="append", default=[], metavar="ADDR", help="Bcc")
    send.add_argument(
        "-a", "--attach", action="append", default=[], metavar="FILE", help="attach a file"
    )
    send.add_argument("--draft", action="store_true", help="save in Drafts instead of sending")

    outbox = commands.add_parser(
        "outbox", parents=[common], help="list the messages waiting to be sent, and why"
    )
    outbox.add_argument("action", nargs="?", choices=["flush", "drop"], help="flush: send now")
    outbox.add_argument("entry", nargs="?", type=int, help="drop: the outbox number")
    outbox.add_argument("--json", action="store_true", help="print one JSON array")
    outbox.add_argument(
        "--resend-uncertain",
        action="store_true",
        help="also send again what tuimail was interrupted sending (it may have gone out)",
    )
