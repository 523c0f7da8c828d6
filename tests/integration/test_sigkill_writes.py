"""SIGKILL during tuimail's writes (issue 9, section 5): an mbox rewrite is the old file or the
new one, never a mix; a message being sent is sent exactly once or kept as uncertain, never
resent by itself and never lost. The moments of the kills come from a seeded random.Random: an
input of the test, not a way to wait for something."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import TESTS, Cli, account
from helpers.imap import other_client
from mailstack.stack import MailStack

from tuimail.backends.local.mbox import Mbox
from tuimail.config.settings import load_settings
from tuimail.model.message import Address, Draft, Flag

FLAG_SETS = [frozenset(), frozenset({Flag.SEEN}), frozenset({Flag.SEEN, Flag.FLAGGED})]

_REWRITER = """
import sys
from tuimail.backends.local.mbox import Mbox
from tuimail.model.message import Flag
sets = [frozenset(), frozenset({Flag.SEEN}), frozenset({Flag.SEEN, Flag.FLAGGED})]
box = Mbox(sys.argv[1])
keys = [e.key for e in box.scan("INBOX")]
for step in range(int(sys.argv[2])):
    key = keys[step % len(keys)]
    keys[step % len(keys)] = box.set_flags("INBOX", key, sets[step % 3])
    if step % 7 == 6:
        box.delete("INBOX", [keys.pop(0)])
"""


def _mbox(path: Path, count: int) -> None:
    box = Mbox(path)
    for index in range(count):
        box.deliver(
            "INBOX",
            (
                f"From: s{index}@kill.test\nSubject: kill {index}\nMessage-ID: <k{index}@t>\n\n"
                + f"Body line of message {index}\n" * 2000
            ).encode(),
        )


def _versions(path: Path, steps: int, work: Path) -> set[str]:
    """The digest of the file after each step of the rewriter, run here to the end."""
    copy = work / "replay.mbox"
    shutil.copyfile(path, copy)
    seen = {hashlib.sha256(copy.read_bytes()).hexdigest()}
    box = Mbox(copy)
    keys = [e.key for e in box.scan("INBOX")]
    for step in range(steps):
        keys[step % len(keys)] = box.set_flags("INBOX", keys[step % len(keys)], FLAG_SETS[step % 3])
        seen.add(hashlib.sha256(copy.read_bytes()).hexdigest())
        if step % 7 == 6:
            box.delete("INBOX", [keys.pop(0)])
            seen.add(hashlib.sha256(copy.read_bytes()).hexdigest())
    return seen


def test_mbox_rewrite_killed_at_random_moments_is_old_or_new(tmp_path: Path) -> None:
    steps = 40
    pristine = tmp_path / "pristine.mbox"
    _mbox(pristine, 60)  # about 3.5 MB: each rewrite takes a while
    versions = _versions(pristine, steps, tmp_path)
    mail = tmp_path / "mail"
    mail.mkdir()
    path = mail / "inbox"
    rng = random.Random(20261129)
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    mid_rewrite = 0
    for _round in range(15):
        shutil.copyfile(pristine, path)
        process = subprocess.Popen(
            [sys.executable, "-c", _REWRITER, str(path), str(steps)], env=env
        )
        try:
            process.wait(timeout=rng.uniform(0.3, 2.5))  # the moment of the kill
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert process.returncode in (0, -signal.SIGKILL)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest in versions, "the mbox is neither an old nor a new version"
        leftovers = [p.name for p in mail.iterdir() if p.name != "inbox"]
        if process.returncode == -signal.SIGKILL and leftovers:
            mid_rewrite += 1  # killed between writing the new file and renaming it
        box = Mbox(path, lock_timeout=0)  # at once: the dead rewriter's dotlock is taken over
        first = box.scan("INBOX")[0].key
        box.set_flags("INBOX", first, frozenset({Flag.ANSWERED}))
        assert len(box.scan("INBOX")) == len(Mbox(path).scan("INBOX"))
        assert [p.name for p in mail.iterdir()] == ["inbox"]  # its half-written copy is gone
    assert mid_rewrite >= 3, "the test never killed a rewrite in the middle"


# -- the outbox, killed while sending to the real Postfix ----------------------------------------

SENDER = "alice"
RECIPIENT = "sink"


def _subjects_at(stack: MailStack, user: str, marker: str) -> list[str]:
    """Subjects in the user's INBOX, once ``marker`` has arrived (sent last, delivered last)."""
    with other_client(stack, user) as client:
        client.select_folder("INBOX", readonly=True)
        for _ in range(240):
            if client.search(["SUBJECT", marker]):
                break
            client.idle()
            client.idle_check(timeout=0.5)
            client.idle_done()
        else:
            raise AssertionError(f"{marker} never arrived")
        uids = client.search("ALL")
        data = client.fetch(uids, ["ENVELOPE"])
    return [(d[b"ENVELOPE"].subject or b"").decode() for d in data.values()]


@pytest.mark.mailstack
def test_outbox_flush_killed_mid_send_never_resends_or_loses(
    mailstack: MailStack, tmp_path: Path
) -> None:
    cli = Cli(tmp_path / "home")
    password = mailstack.password(SENDER)
    cli.write_config(
        account(mailstack, "a", SENDER, extra=f'password_command = "echo {password}"\n')
    )
    settings = load_settings(cli.config)
    outbox_file = cli.home / "data" / "tuimail" / "outbox.sqlite"
    assert cli.run("outbox").returncode == 0  # the outbox exists
    from tuimail.services.compose import Outbox  # noqa: PLC0415 - after the dirs exist

    run = f"{time.monotonic_ns()}"
    rng = random.Random(7)
    subjects = []
    killed = 0
    for index in range(12):
        subject = f"kill-{run}-{index}"
        subjects.append(subject)
        big = "Line of a long message.\n" * rng.choice([10, 20_000, 60_000])
        draft = Draft(
            "a", to=(Address("", f"{RECIPIENT}@example.test"),), subject=subject, body=big
        )
        with Outbox(outbox_file) as outbox:
            outbox.queue(settings.accounts[0], draft)
        process = subprocess.Popen(
            [sys.executable, "-m", "tuimail", "outbox", "flush"],
            env=cli.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            process.wait(timeout=rng.uniform(0.4, 2.0))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed += 1
        after = cli.run("outbox", "flush")  # a flush that runs to its end: never a resend
        assert "Traceback" not in after.stderr
    assert killed >= 4
    marker = f"marker-{run}"
    assert cli.run("send", "-s", marker, f"{RECIPIENT}@example.test", stdin="end\n").returncode == 0
    arrived = _subjects_at(mailstack, RECIPIENT, marker)
    listed = cli.run("outbox", "--json")
    assert listed.returncode == 0, listed.stderr
    waiting = {str(e["subject"]): str(e["state"]) for e in json.loads(listed.stdout)}
    for subject in subjects:
        copies = arrived.count(subject)
        assert copies <= 1, f"{subject} was sent {copies} times"
        if copies == 0:  # not lost: still in the outbox, and never resent by itself
            assert waiting.get(subject) in ("sending", "uncertain"), (subject, waiting)
