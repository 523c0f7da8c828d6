"""Benchmark: syncing a 100,000-message folder from the real Dovecot, beside its floors.

Run as root (the mail stack needs it), from the repository:

    .venv/bin/python tests/bench/bench_sync.py [--messages N] [--runs R] [--port-base P]

It starts its own mail stack, seeds one folder, and prints medians of R runs for: the raw floor
(the same FETCH items moved with stdlib imaplib, not parsed), the same through imapclient's
parser, tuimail's initial sync (in a fresh process, with its peak RSS), a sync with nothing
changed (with CONDSTORE, and with CONDSTORE ignored), a sync after 100 flag changes and 100 new
messages, the cache size on disk, and search latency.
"""

from __future__ import annotations

import argparse
import imaplib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for mailstack

from imapclient import IMAPClient  # noqa: E402
from mailstack.stack import MailStack, start_stack, stop_stack  # noqa: E402

from tuimail.backends.imap import wire  # noqa: E402
from tuimail.backends.imap.session import ImapSession, open_session  # noqa: E402
from tuimail.model.account import Account, Endpoint, Protocol, Security  # noqa: E402
from tuimail.services.mailbox import Mailbox  # noqa: E402
from tuimail.services.sync import AccountSync  # noqa: E402

USER = "alice"
FOLDER = "Big"
ITEMS = f"({wire.ENVELOPE_ITEMS})"

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from tuimail.model.account import Account, Endpoint, Protocol, Security
from tuimail.services.sync import sync_account
host, port, user, password, folder, db = sys.argv[1:7]
endpoint = Endpoint(Protocol.IMAP, host, int(port), Security.NONE, user,
                    allow_plaintext=True, timeout=120)
account = Account("bench", "Bench", user, endpoint)
started = time.perf_counter()
result = sync_account(Path(db), account, password, folders=[folder])
seconds = time.perf_counter() - started
assert not result.errors, result.errors
print(json.dumps({"seconds": seconds, "added": result.added,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _account(stack: MailStack) -> Account:
    # plain IMAP on loopback, like the floors: the numbers compare parsing, not TLS
    endpoint = Endpoint(
        Protocol.IMAP,
        stack.host,
        stack.imap,
        Security.NONE,
        stack.address(USER),
        allow_plaintext=True,
        timeout=120,
    )
    return Account("bench", "Bench", stack.address(USER), endpoint)


def _median(runs: int, step: Callable[[], float]) -> tuple[float, list[float]]:
    times = [step() for _ in range(runs)]
    return statistics.median(times), times


def raw_floor(stack: MailStack) -> float:
    client = imaplib.IMAP4(stack.host, stack.imap)
    client.login(stack.address(USER), stack.password(USER))
    client.select(FOLDER, readonly=True)
    started = time.perf_counter()
    typ, data = client.uid("FETCH", "1:*", ITEMS)
    seconds = time.perf_counter() - started
    assert typ == "OK"
    assert len(data) >= 1
    client.logout()
    return seconds


def imapclient_parse(stack: MailStack) -> float:
    client = IMAPClient(stack.host, port=stack.imap, ssl=False, timeout=300)
    client.login(stack.address(USER), stack.password(USER))
    client.select_folder(FOLDER, readonly=True)
    uids = client.search("ALL")
    started = time.perf_counter()
    for start in range(0, len(uids), 5000):  # imapclient takes UID lists only; Dovecot caps a line
        client.fetch(
            uids[start : start + 5000],
            [
                "UID",
                "FLAGS",
                "INTERNALDATE",
                "RFC822.SIZE",
                "ENVELOPE",
                "BODYSTRUCTURE",
                "BODY.PEEK[HEADER.FIELDS (REFERENCES)]",
            ],
        )
    seconds = time.perf_counter() - started
    client.logout()
    return seconds


def initial_sync(stack: MailStack, db: Path) -> dict[str, float]:
    for path in db.parent.glob(db.name + "*"):
        path.unlink()
    output = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            stack.host,
            str(stack.imap),
            stack.address(USER),
            stack.password(USER),
            FOLDER,
            str(db),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


def timed_sync(stack: MailStack, db: Path, *, condstore: bool = True) -> float:
    account = _account(stack)

    def session() -> ImapSession:
        opened = open_session(account.server(), stack.password(USER), account.id)
        opened.condstore = condstore and opened.condstore
        return opened

    started = time.perf_counter()
    sync = AccountSync(db, account, session)
    try:
        result = sync.run([FOLDER])
    finally:
        sync.close()
    seconds = time.perf_counter() - started
    assert not result.errors, result.errors
    return seconds


def change_100(stack: MailStack) -> None:
    client = IMAPClient(stack.host, port=stack.imap, ssl=False, timeout=120)
    client.login(stack.address(USER), stack.password(USER))
    client.select_folder(FOLDER)
    uids = client.search("ALL")
    step = max(len(uids) // 100, 1)
    client.add_flags(uids[::step][:100], [b"\\Flagged"])
    for index in range(100):
        client.append(FOLDER, f"Subject: new {index}\r\nFrom: a@b.example\r\n\r\nhi\r\n".encode())
    client.logout()


def search_times(db: Path) -> dict[str, float]:
    found = {}
    with Mailbox(db) as mailbox:
        scope = mailbox.folder_ids("bench", FOLDER)
        for label, query in (
            ("a word", "budget"),
            ("a sender", "from:guido"),
            ("is:unread", "is:unread"),
        ):
            times = []
            for _ in range(21):
                started = time.perf_counter()
                mailbox.envelopes(scope, query=query, limit=100)
                times.append(time.perf_counter() - started)
            found[label] = statistics.median(times) * 1000
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port-base", type=int, default=20000)
    parser.add_argument("--skip-imapclient", action="store_true", help="it takes ~20 s a run")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tuimail-bench-"))
    work.chmod(0o755)
    stack = start_stack(work / "stack", port_base=args.port_base)
    try:
        started = time.perf_counter()
        stack.seed(USER, args.messages, FOLDER)
        print(f"seeded {args.messages:,} messages in {time.perf_counter() - started:.1f} s")
        raw_floor(stack)  # warm Dovecot's own cache, as a second open would find it
        rows: list[tuple[str, str, str]] = []

        floor, floor_runs = _median(args.runs, lambda: raw_floor(stack))
        rows.append(("raw floor (imaplib, not parsed)", f"{floor:.2f} s", ""))
        if not args.skip_imapclient:
            parsed, _ = _median(1, lambda: imapclient_parse(stack))
            rows.append(("through imapclient's parser (1 run)", f"{parsed:.2f} s", ""))

        db = work / "cache.sqlite"
        initial = [initial_sync(stack, db) for _ in range(args.runs)]
        seconds = statistics.median(r["seconds"] for r in initial)
        rss = max(r["rss_mb"] for r in initial)
        rows.append(
            ("tuimail initial sync", f"{seconds:.2f} s", f"<= {2 * floor:.2f} s (2x floor)")
        )
        rows.append(("peak RSS of that sync", f"{rss:.0f} MB", "< 150 MB"))
        unchanged, _ = _median(args.runs, lambda: timed_sync(stack, db))
        rows.append(("sync, nothing changed (CONDSTORE)", f"{unchanged:.3f} s", "< 0.3 s"))
        plain, _ = _median(args.runs, lambda: timed_sync(stack, db, condstore=False))
        rows.append(("sync, nothing changed (no CONDSTORE)", f"{plain:.3f} s", "< 1 s"))
        change_100(stack)
        changed = timed_sync(stack, db)
        rows.append(("sync after 100 flag changes + 100 new", f"{changed:.3f} s", ""))
        size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
        rows.append(("cache on disk", f"{size / 1e6:.0f} MB", ""))
        for label, ms in search_times(db).items():
            rows.append((f"search: {label}", f"{ms:.1f} ms", "< 50 ms"))

        width = max(len(r[0]) for r in rows)
        print(f"\n{'measure':<{width}}  {'median':>10}  target")
        for label, value, target in rows:
            print(f"{label:<{width}}  {value:>10}  {target}")
        print(f"\nraw floor runs: {', '.join(f'{t:.2f}' for t in floor_runs)} s")
        print("initial sync runs: " + ", ".join(f"{r['seconds']:.2f}" for r in initial) + " s")
        print(
            "peers measured on this machine for 100,000 messages (from the issue): neomutt 4.6 s "
            "without a header cache, 2.2 s with one, 176 MB; mutt 2.2 s / 1.4 s, 127 MB."
        )
    finally:
        stop_stack(stack)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
