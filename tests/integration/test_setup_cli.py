"""`tuimail` with no account, and `tuimail setup`, in a real terminal (a pty): the wizard opens."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from pathlib import Path

import pytest
from helpers.cli import Cli

ACCOUNT = """
[accounts.other]
email = "other@example.test"
[accounts.other.incoming]
host = "localhost"
port = 1
"""


def _run_in_terminal(cli: Cli, *args: str, until: bytes, then: bytes) -> tuple[bytes, int]:
    """Start tuimail on an 80x24 pty, wait for ``until`` on screen, type ``then``, wait for exit."""
    env = cli.env(TERM="xterm-256color")
    env.pop("COLUMNS", None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: tuimail on the terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "tuimail", *args], env)  # noqa: S606
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    deadline = time.monotonic() + 60
    typed = False
    status = None
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                seen += chunk
                if not chunk:
                    break
            if not typed and until in seen:
                os.write(fd, then)
                typed = True
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            status = None
    finally:
        if status is None:
            os.kill(pid, 9)
            _, status = os.waitpid(pid, 0)
        os.close(fd)
    return seen, os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize(
    ("config", "args"), [("", ()), (ACCOUNT, ("setup",))], ids=["no-account", "setup"]
)
def test_the_wizard_opens_in_a_terminal(tmp_path: Path, config: str, args: tuple[str, ...]) -> None:
    cli = Cli(tmp_path)
    if config:
        cli.write_config(config)
    seen, code = _run_in_terminal(
        cli, *args, until=b"Add a mail account: step 1 of 6", then=b"\x1b"
    )
    assert b"Add a mail account: step 1 of 6" in seen
    assert code == 0  # escape on the first step leaves, and nothing was written
    assert (cli.config.read_text() if cli.config.exists() else "") == config
