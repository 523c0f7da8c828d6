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
from helpers.imap import cache_state, fresh_folder, other_client, server_state
from mailstack.stack import MailStack

from tuimail.backends.local.mbox import Mbox
from tuimail.config.settings import load_settings
from tuimail.model.message import Address, Draft, Flag
from tuimail.services import actions as action_service
from tuimail.services.actions import Actions
from tuimail.services.mailbox import Mailbox

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
    command = [sys.executable, "-c", _REWRITER, str(path), str(steps)]
    shutil.copyfile(pristine, path)
    started = time.monotonic()
    subprocess.run(command, env=env, check=True)
    whole = time.monotonic() - started  # how long all the steps take here
    assert hashlib.sha256(path.read_bytes()).hexdigest() in versions
    mid_rewrite = 0
    for _round in range(15):
        shutil.copyfile(pristine, path)
        process = subprocess.Popen(command, env=env)
        try:
            process.wait(timeout=rng.uniform(0.2, 1.0) * whole)  # the moment of the kill
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
    print(f"{whole:.2f} s for {steps} steps; killed mid-rewrite {mid_rewrite} times of 15")
    assert mid_rewrite >= 2, "the test never killed a rewrite in the middle"


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
            process.wait(timeout=rng.uniform(0.3, 1.2))
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


# -- action replay, killed during tuimail sync against the real Dovecot ----------------------------

ACTOR = "carol"


def _in_cache(db: Path, folder: str) -> dict[str, int]:
    """Subject -> cache row id of the messages the cache shows in the folder."""
    with Mailbox(db) as mailbox:
        rows = mailbox.envelopes(mailbox.folder_ids("c", folder), limit=1000)
    return {c.envelope.subject: c.id for c in rows}


def _by_subject(state: dict[int, tuple[frozenset[str], str]]) -> dict[str, frozenset[str]]:
    return {subject: flags for flags, subject in state.values()}


@pytest.mark.mailstack
def test_action_replay_killed_at_random_moments(mailstack: MailStack, tmp_path: Path) -> None:
    count = 60
    fresh_folder(mailstack, ACTOR, "KillAct", count)
    fresh_folder(mailstack, ACTOR, "KillDone", 0)
    cli = Cli(tmp_path / "home")
    password = mailstack.password(ACTOR)
    cli.write_config(
        account(mailstack, "c", ACTOR, extra=f'password_command = "echo {password}"\n')
    )
    folders = ["--folder", "KillAct", "--folder", "KillDone"]
    started = time.monotonic()
    assert cli.run("sync", *folders).returncode == 0
    whole = time.monotonic() - started  # how long a sync takes here: the kills fall inside it
    db = cli.home / "cache" / "tuimail" / "cache.sqlite"
    rng = random.Random(99)
    expected: dict[str, set[str]] = {f"Message {i}": set() for i in range(count)}
    moved: set[str] = set()
    killed = mid_replay = 0
    for _round in range(12):
        here = _in_cache(db, "KillAct")
        actions = Actions(db)
        for _action in range(200):  # one queued action each, some on the same message
            subject = rng.choice(sorted(here))
            if rng.random() < 0.5:
                actions.flag([here[subject]], "flagged" not in expected[subject])
                expected[subject] ^= {"flagged"}
            else:
                actions.mark_read([here[subject]], "seen" not in expected[subject])
                expected[subject] ^= {"seen"}
        going = rng.sample(sorted(set(here) - moved), 2)
        actions.move([here[s] for s in going], "KillDone")
        moved.update(going)
        actions.close()
        waiting = action_service.queued(db, "c")
        process = subprocess.Popen(
            [sys.executable, "-m", "tuimail", "sync", *folders],
            env=cli.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:  # the moment of the kill: anywhere from start-up to the end of a whole sync
            process.wait(timeout=rng.uniform(0.2, 1.2) * whole)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed += 1
            if 0 < action_service.queued(db, "c") < waiting:
                mid_replay += 1  # killed with some actions sent and others not
    print(f"killed {killed}, mid-replay {mid_replay}")
    assert killed >= 4
    final = cli.run("sync", *folders)
    assert final.returncode == 0, final.stderr
    assert action_service.queued(db, "c") == 0  # no action left behind by a killed sync
    server_act = server_state(mailstack, ACTOR, "KillAct")
    server_done = server_state(mailstack, ACTOR, "KillDone")
    assert cache_state(db, "c", "KillAct") == server_act  # server and cache agree
    assert cache_state(db, "c", "KillDone") == server_done
    done = [subject for _flags, subject in server_done.values()]
    assert sorted(done) == sorted(moved)  # each moved once: none lost, none twice
    assert len(server_act) + len(server_done) == count
    got = {**_by_subject(server_act), **_by_subject(server_done)}
    assert got == {subject: frozenset(flags) for subject, flags in expected.items()}
