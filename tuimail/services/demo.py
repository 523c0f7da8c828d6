"""The demo account: a Maildir of realistic messages, generated once, for trying tuimail."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from tuimail.backends.local.maildir import Maildir
from tuimail.mime.demo import demo_messages
from tuimail.model.account import Account, LocalFormat, LocalSource

DEMO_ACCOUNT = "demo"
DEMO_ADDRESS = "robin@demo.example"


def demo_account(root: Path) -> Account:
    """The demo account over ``root/Maildir``, generating the mailbox on first use."""
    maildir = root / "Maildir"
    if not (maildir / "cur").is_dir():
        _generate(maildir)
    return Account(
        id=DEMO_ACCOUNT,
        name="Robin Example",
        email=DEMO_ADDRESS,
        incoming=None,
        default=True,
        local=LocalSource(LocalFormat.MAILDIR, str(maildir)),
    )


def _generate(maildir: Path) -> None:
    """Write the demo mailbox beside its final place, then rename it there: all or nothing."""
    building = maildir.with_name(maildir.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    box = Maildir(building, create=True)
    made: set[str] = set()
    for message in demo_messages(now=datetime.now(UTC)):
        if message.folder != "INBOX" and message.folder not in made:
            box.create_folder(message.folder)
            made.add(message.folder)
        box.deliver(message.folder, message.raw, message.flags, received=message.received)
    building.rename(maildir)
