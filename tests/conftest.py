"""Shared pytest fixtures: session-wide real mail stacks (Dovecot + Postfix, tests/mailstack)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from mailstack.stack import MailStack, start_stack, stop_stack

LOCAL_HOST = "127.0.0.1"
# Dovecot treats a connection as secured when the client IP equals the server IP, so on
# 127.0.0.1 it allows plaintext LOGIN before STARTTLS. On 127.0.0.2 the client connects from
# 127.0.0.1 and the stack behaves like a remote server (LOGINDISABLED until TLS).
REMOTE_HOST = "127.0.0.2"
PORT_BASE = 10000
REMOTE_PORT_BASE = 11000
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


@pytest.fixture(scope="session")
def mailstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    """One real mail stack for the whole session on 127.0.0.1; fails (never skips) if missing."""
    stack = start_stack(
        tmp_path_factory.mktemp("mailstack"), port_base=_port_base(PORT_BASE), host=LOCAL_HOST
    )
    try:
        yield stack
    finally:
        stop_stack(stack)


@pytest.fixture(scope="session")
def remote_mailstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    """A second stack on 127.0.0.2 that Dovecot treats as remote; started only when requested."""
    stack = start_stack(
        tmp_path_factory.mktemp("remote-mailstack"),
        port_base=_port_base(REMOTE_PORT_BASE),
        host=REMOTE_HOST,
    )
    try:
        yield stack
    finally:
        stop_stack(stack)
