"""Benchmark: the app in a real terminal (tmux) on a 100,000-message Inbox of the real Dovecot.

Run as root from the repository: .venv/bin/python tests/bench/bench_app.py [--messages N]

Prints, from process start: time until the first rows of the uncached folder are on screen
(the sync goes on behind them), the same with the folder cached, RSS with it open, the time from
a page-down key to the repaint, and beside them a bare Textual app showing one label.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))

from mailstack.stack import MailStack, start_stack, stop_stack  # noqa: E402

SESSION = "tuimail-bench"
TUIMAIL = str(Path(sys.executable).with_name("tuimail"))
BARE = (
    "from textual.app import App\nfrom textual.widgets import Label\n"
    "class A(App):\n    def compose(self):\n        yield Label('READY-LABEL')\nA().run()\n"
)


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def _screen() -> str:
    return _tmux("capture-pane", "-p", "-t", SESSION)


def _wait(condition: Callable[[str], bool], timeout: float = 120.0) -> float:
    """Seconds until the screen satisfies ``condition`` (polled every 10 ms)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if condition(_screen()):
            return time.perf_counter() - started
        time.sleep(0.01)
    raise TimeoutError("the screen never showed what was expected")


def _rows(screen: str) -> bool:
    return sum(1 for line in screen.splitlines() if "#" in line) >= 5


def _start(command: str, env: dict[str, str], size: tuple[int, int] = (120, 40)) -> float:
    _tmux("kill-session", "-t", SESSION)
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    for _ in range(5):  # a tmux server still shutting down can refuse the first new-session
        started = time.perf_counter()
        _tmux(
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            str(size[0]),
            "-y",
            str(size[1]),
            f"env {exports} {command}; sleep 600",
        )
        if subprocess.run(["tmux", "has-session", "-t", SESSION], check=False).returncode == 0:
            return started
        time.sleep(0.2)
    raise RuntimeError("tmux would not start a session")


def _rss_mb(pattern: str) -> float:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    pids = found.stdout.split()
    best = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--port-base", type=int, default=22000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tuimail-appbench-"))
    work.chmod(0o755)
    stack: MailStack = start_stack(work / "stack", port_base=args.port_base)
    try:
        stack.seed("alice", args.messages, "INBOX")
        config = work / "config.toml"
        config.write_text(
            f"""[accounts.bench]
email = "alice@example.test"
[accounts.bench.incoming]
host = "localhost"
port = {stack.imaps}
username = "alice@example.test"
ca_file = "{stack.ca_file}"
password_command = "echo {stack.password("alice")}"
timeout = 120
"""
        )
        env = {
            "TUIMAIL_CONFIG": str(config),
            "XDG_CACHE_HOME": str(work / "cache"),
            "XDG_DATA_HOME": str(work / "data"),
            "TERM": "xterm-256color",
            "HOME": str(work),
        }
        results: list[tuple[str, str, str]] = []

        bare = []
        for _ in range(3):
            started = _start(f"{sys.executable} -c {shlex.quote(BARE)}", env)
            _wait(lambda s: "READY-LABEL" in s)
            bare.append(time.perf_counter() - started)
        results.append(("bare Textual app, one label", f"{statistics.median(bare):.2f} s", ""))

        started = _start(TUIMAIL, env)
        _wait(_rows)
        first = time.perf_counter() - started
        results.append(("first rows, folder not cached", f"{first:.2f} s", "< 1 s"))
        _wait(lambda s: "syncing" not in s, timeout=600)  # let the sync finish behind
        _tmux("send-keys", "-t", SESSION, "q")
        time.sleep(0.5)

        cached = []
        rss = 0.0
        for _ in range(3):
            started = _start(TUIMAIL, env)
            _wait(_rows)
            cached.append(time.perf_counter() - started)
            rss = max(rss, _rss_mb(TUIMAIL))
        results.append(
            ("first rows, folder cached", f"{statistics.median(cached):.2f} s", "< 0.7 s")
        )
        results.append(("RSS with the folder open", f"{rss:.0f} MB", "< 150 MB"))

        pages = []
        for _ in range(20):
            before = _screen()
            pressed = time.perf_counter()
            _tmux("send-keys", "-t", SESSION, "C-d")
            _wait(partial(str.__ne__, before), timeout=10)
            pages.append((time.perf_counter() - pressed) * 1000)
        results.append(
            (
                "page-down to repaint (incl. tmux polling)",
                f"{statistics.median(pages):.0f} ms",
                "< 50 ms",
            )
        )
        _tmux("send-keys", "-t", SESSION, "q")

        width = max(len(r[0]) for r in results)
        print(f"{'measure':<{width}}  {'median':>9}  target")
        for label, value, target in results:
            print(f"{label:<{width}}  {value:>9}  {target}")
        print(
            "peers (from the issue): aerc 0.93 s; neomutt 4.6 s / 2.2 s cached, 176 MB; "
            "mutt 2.2 s / 1.4 s, 127 MB"
        )
    finally:
        _tmux("kill-session", "-t", SESSION)
        stop_stack(stack)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("TERM", "xterm-256color")
    main()
