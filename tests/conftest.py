"""Shared pytest fixtures: session-wide real mail stacks (Dovecot + Postfix, tests/mailstack)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from mailstack.stack import MailStack, MailStackError, start_stack, stop_stack

# discovery_world / discovery_net: dnsmasq and an HTTPS autoconfig server beside the mail stack
pytest_plugins = ["helpers.discovery"]

LOCAL_HOST = "127.0.0.1"
# Dovecot treats a connection as secured when the client IP equals the server IP, so on
# 127.0.0.1 it allows plaintext LOGIN before STARTTLS. On 127.0.0.2 the client connects from
# 127.0.0.1 and the stack behaves like a remote server (LOGINDISABLED until TLS).
REMOTE_HOST = "127.0.0.2"
# MAILSTACK_PORT_BASE (the knob mailstack.sh's "port in use" error names) moves both stacks,
# e.g. to run two test sessions at once
PORT_BASE = int(os.environ.get("MAILSTACK_PORT_BASE", "10000"))
REMOTE_PORT_BASE = PORT_BASE + 1000
# ports go up to base + 995, so every stack needs its own block of 1000
WORKER_PORT_STRIDE = 1000


def _xdist_worker_index() -> int:
    """0 without pytest-xdist, N for xdist worker "gwN"."""
    match = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    return int(match.group(1)) if match else 0


def _port_base(base: int) -> int:
    # gwN's local stack uses the same port numbers as gw(N-1)'s remote stack, but they never
    # clash: each stack binds only its own address (127.0.0.1 vs 127.0.0.2)
    return base + WORKER_PORT_STRIDE * _xdist_worker_index()


@contextmanager
def _running_stack(
    tmp_path_factory: pytest.TempPathFactory, name: str, *, host: str, port_base: int
) -> Iterator[MailStack]:
    """Start a stack, yield it, and always stop it again; its logs end up in pytest's basetemp.

    The stack itself cannot live under tmp_path_factory: Dovecot and Postfix run as users
    dovecot, postfix and uid 10000, which must traverse every parent directory, and pytest keeps
    /tmp/pytest-of-<user> at mode 0700 (re-applied whenever any pytest run starts, so even a
    chmod would not last). So it gets its own mkdtemp() directory, deleted after the stop.
    """
    stack_dir = Path(tempfile.mkdtemp(prefix=f"tuimail-{name}-"))
    remove = True
    try:
        stack = start_stack(stack_dir, port_base=port_base, host=host)  # cleans up if it fails
        try:
            yield stack
        finally:
            try:
                stop_stack(stack)
            except MailStackError:
                remove = False  # something of it may still run: keep its files for inspection
                raise
    finally:
        with suppress(OSError):  # must not hide the error that got us here
            shutil.copytree(
                stack_dir / "log", tmp_path_factory.mktemp(f"{name}-log"), dirs_exist_ok=True
            )
        if remove:
            shutil.rmtree(stack_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def mailstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    """One real mail stack for the whole session on 127.0.0.1; fails (never skips) if missing."""
    with _running_stack(
        tmp_path_factory, "mailstack", host=LOCAL_HOST, port_base=_port_base(PORT_BASE)
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def remote_mailstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    """A second stack on 127.0.0.2 that Dovecot treats as remote; started only when requested."""
    with _running_stack(
        tmp_path_factory,
        "remote-mailstack",
        host=REMOTE_HOST,
        port_base=_port_base(REMOTE_PORT_BASE),
    ) as stack:
        yield stack
