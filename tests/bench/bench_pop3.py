"""Benchmark: fetching 10,000 messages over POP3 from the real Dovecot into a Maildir.

Run as root (the mail stack needs it; fetchmail, getmail6 and safecat are installed from Debian's
packages when missing), from the repository:

    .venv/bin/python tests/bench/bench_pop3.py [--messages N] [--runs R] [--port-base P]

It starts its own mail stack, seeds one user's Inbox and prints medians of R runs for the floors
(a bare poplib loop doing UIDL and RETR one command at a time; the same RETRs pipelined on a raw
socket; UIDL alone), tuimail's first fetch with every message fsynced before it counts as stored
(leave on server), a fetch with nothing new, the whole `tuimail sync` (fetch + index into the
cache), and the same work by fetchmail (keep, uidl, into the Maildir through safecat) and by
getmail6 (its own Maildir destination), first and with nothing new. Every client uses plain POP3
on loopback so that the figures compare the clients, not TLS.
"""

from __future__ import annotations

import argparse
import json
import poplib
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for mailstack

from mailstack.stack import MailStack, start_stack, stop_stack  # noqa: E402

from tuimail.model.account import (  # noqa: E402
    Account,
    Endpoint,
    LocalFormat,
    LocalSource,
    Protocol,
    Security,
)
from tuimail.services.pop3_fetch import fetch_pop3  # noqa: E402

USER = "pat"
PEERS = {"fetchmail": "fetchmail", "getmail": "getmail6", "safecat": "safecat"}


def _median(runs: int, step: Callable[[], float]) -> tuple[float, list[float]]:
    times = [step() for _ in range(runs)]
    return statistics.median(times), times


def _login(stack: MailStack) -> poplib.POP3:
    pop = poplib.POP3(stack.host, stack.pop3, timeout=120)
    pop.user(stack.address(USER))
    pop.pass_(stack.password(USER))
    return pop


def floor_serial(stack: MailStack) -> float:
    started = time.perf_counter()
    pop = _login(stack)
    count = len(pop.uidl()[1])
    for number in range(1, count + 1):
        pop.retr(number)
    pop.quit()
    return time.perf_counter() - started


def floor_pipelined(stack: MailStack) -> float:
    started = time.perf_counter()
    pop = _login(stack)
    count = len(pop.uidl()[1])
    sock, reader = pop.sock, pop.file
    window = 64
    sent = 0
    for number in range(1, count + 1):
        if number > sent:
            upto = min(count, sent + window)
            sock.sendall(b"".join(b"RETR %d\r\n" % n for n in range(sent + 1, upto + 1)))
            sent = upto
        reader.readline()
        while reader.readline() != b".\r\n":
            pass
    pop.quit()
    return time.perf_counter() - started


def floor_uidl(stack: MailStack) -> float:
    started = time.perf_counter()
    pop = _login(stack)
    pop.uidl()
    pop.quit()
    return time.perf_counter() - started


def _account(stack: MailStack, maildir: Path) -> Account:
    endpoint = Endpoint(
        Protocol.POP3,
        stack.host,
        stack.pop3,
        Security.NONE,
        stack.address(USER),
        allow_plaintext=True,
        timeout=120,
    )
    return Account(
        "bench",
        "Bench",
        stack.address(USER),
        endpoint,
        local=LocalSource(LocalFormat.MAILDIR, str(maildir)),
    )


def tuimail_fetch(stack: MailStack, work: Path, expected: int) -> float:
    account = _account(stack, work / "Mail")
    started = time.perf_counter()
    result = fetch_pop3(work / "data", account, stack.password(USER))
    seconds = time.perf_counter() - started
    assert not result.errors, [e.message for e in result.errors]
    assert result.downloaded == expected, (result.downloaded, expected)
    return seconds


def tuimail_sync(stack: MailStack, work: Path, expected: int) -> float:
    home = work / "home"
    config = home / "config" / "tuimail" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        textwrap.dedent(f"""
        [accounts.bench]
        email = "{stack.address(USER)}"
        [accounts.bench.incoming]
        protocol = "pop3"
        host = "{stack.host}"
        port = {stack.pop3}
        security = "none"
        allow_plaintext = true
        username = "{stack.address(USER)}"
        password_command = "echo {stack.password(USER)}"
        timeout = 120
        """)
    )
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PATH": "/usr/bin:/bin",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tuimail", "sync"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert f"{expected:,} downloaded" in done.stdout, done.stdout
    return seconds


def _maildir(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def _count(maildir: Path) -> int:
    return sum(1 for sub in ("cur", "new") for _ in (maildir / sub).iterdir())


def fetchmail(stack: MailStack, work: Path) -> float:
    maildir = _maildir(work / "Maildir")
    rc = work / "fetchmailrc"
    rc.write_text(
        f"set no bouncemail\n"
        f"poll {stack.host} port {stack.pop3} protocol pop3 uidl\n"
        f'  user "{stack.address(USER)}" there with password "{stack.password(USER)}" '
        f"is root here\n"
        f'  keep sslproto ""\n'
        f'  mda "safecat {maildir}/tmp {maildir}/new"\n'
    )
    rc.chmod(0o600)
    started = time.perf_counter()
    done = subprocess.run(
        ["fetchmail", "-f", str(rc), "-i", str(work / "fetchids"), "--nodetach"],
        capture_output=True,
        text=True,
        check=False,
        env={"HOME": str(work), "PATH": "/usr/bin:/bin"},
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: no new mail
        raise RuntimeError(f"fetchmail failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds


def getmail(stack: MailStack, work: Path) -> float:
    maildir = _maildir(work / "GMaildir")
    # getmail refuses to deliver as root: it delivers as nobody, into a Maildir nobody owns
    work.chmod(0o755)
    for path in (maildir, *maildir.iterdir()):
        shutil.chown(path, "nobody")
    gdir = work / "getmail"
    gdir.mkdir(exist_ok=True)
    rc = gdir / "getmailrc"
    rc.write_text(
        textwrap.dedent(f"""
        [retriever]
        type = SimplePOP3Retriever
        server = {stack.host}
        port = {stack.pop3}
        username = {stack.address(USER)}
        password = {stack.password(USER)}

        [destination]
        type = Maildir
        path = {maildir}/
        user = nobody

        [options]
        delete = false
        read_all = false
        verbose = 0
        message_log_syslog = false
        """)
    )
    started = time.perf_counter()
    done = subprocess.run(
        ["getmail", f"--getmaildir={gdir}", f"--rcfile={rc}"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"getmail failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds


class _Rows:
    """Prints each figure as soon as it is measured."""

    def __init__(self, figures: dict[str, object]) -> None:
        self.figures = figures

    def append(self, row: tuple[str, tuple[float, list[float]]]) -> None:
        label, (median, times) = row
        spread = ", ".join(f"{t:.2f}" for t in times)
        print(f"{label:<52} {median:8.2f} s   ({spread})", flush=True)
        self.figures[label] = median


def _install_peers() -> None:
    missing = [package for command, package in PEERS.items() if shutil.which(command) is None]
    if missing:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *missing],
            check=True,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            stdout=subprocess.DEVNULL,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port-base", type=int, default=47000)
    parser.add_argument("--no-peers", action="store_true", help="skip fetchmail and getmail")
    args = parser.parse_args()
    if not args.no_peers:
        _install_peers()
    stack_dir = Path(tempfile.mkdtemp(prefix="tuimail-bench-pop3-"))
    stack_dir.chmod(0o755)
    stack = start_stack(stack_dir, port_base=args.port_base)
    figures: dict[str, object] = {"messages": args.messages}
    try:
        stack.seed(USER, args.messages)
        n = args.messages
        rows = _Rows(figures)
        rows.append(
            (
                "floor: poplib UIDL + RETR, one at a time",
                _median(args.runs, lambda: floor_serial(stack)),
            )
        )
        rows.append(
            (
                "floor: RETR pipelined (raw socket)",
                _median(args.runs, lambda: floor_pipelined(stack)),
            )
        )
        rows.append(("floor: UIDL alone", _median(args.runs, lambda: floor_uidl(stack))))

        def first() -> float:
            with tempfile.TemporaryDirectory(dir="/var/tmp") as work:
                return tuimail_fetch(stack, Path(work), n)

        rows.append(("tuimail: first fetch (fsynced, leave on server)", _median(args.runs, first)))
        with tempfile.TemporaryDirectory(dir="/var/tmp") as work:
            tuimail_fetch(stack, Path(work), n)
            rows.append(
                (
                    "tuimail: fetch with nothing new",
                    _median(args.runs, lambda: tuimail_fetch(stack, Path(work), 0)),
                )
            )

        def whole() -> float:
            with tempfile.TemporaryDirectory(dir="/var/tmp") as work:
                return tuimail_sync(stack, Path(work), n)

        rows.append(("tuimail sync: fetch + cache index (process)", _median(args.runs, whole)))
        if not args.no_peers:
            for name, run in (("fetchmail", fetchmail), ("getmail6", getmail)):
                with tempfile.TemporaryDirectory(dir="/var/tmp") as work:
                    started = run(stack, Path(work))
                    again = _median(args.runs, lambda r=run, w=work: r(stack, Path(w)))  # type: ignore[misc]
                    stored = _count(Path(work) / ("Maildir" if name == "fetchmail" else "GMaildir"))
                    assert stored == n, f"{name} stored {stored} of {n}"
                rows.append((f"{name}: first fetch", (started, [started])))
                rows.append((f"{name}: fetch with nothing new", again))
        print(json.dumps(figures))
    finally:
        stop_stack(stack)
        shutil.rmtree(stack_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
