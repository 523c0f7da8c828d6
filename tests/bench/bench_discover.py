"""Benchmark: how long account discovery takes by each path, against real servers on loopback.

Run as root from the repository: .venv/bin/python tests/bench/bench_discover.py [--runs N]

Starts the mail stack, dnsmasq and the autoconfig HTTPS server (as the tests do, on
MAILSTACK_PORT_BASE, default 10000) and prints the median and worst wall time of discover() for
one test domain per path, and for servers that never answer (which discover() must leave at its
time limit).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))

from helpers.discovery import ENTITY_BOMB, discovery_servers, send  # noqa: E402
from mailstack.stack import start_stack, stop_stack  # noqa: E402

from tuimail.model.discovery import DiscoveryNetwork  # noqa: E402
from tuimail.services.discover import discover  # noqa: E402


def _time(email: str, network: DiscoveryNetwork, runs: int, timeout: float) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        discover(email, network=network, timeout=timeout)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    """Start the servers, time each path, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = int(os.environ.get("MAILSTACK_PORT_BASE", "10000"))
    stack_dir = Path(tempfile.mkdtemp(prefix="tuimail-bench-discover-"))
    work = Path(tempfile.mkdtemp(prefix="tuimail-bench-discover-servers-"))
    stack = start_stack(stack_dir, port_base=base)
    try:
        with discovery_servers(work, stack, base) as world:
            world.https.routes[("autoconfig.fallback.test", "/mail/config-v1.1.xml")] = send(
                ENTITY_BOMB
            )
            https = world.network({443: world.https.port})
            mail_ports = {
                443: world.closed_port,
                993: stack.imaps,
                143: stack.imap,
                995: stack.pop3s,
                110: stack.pop3,
                465: stack.smtps,
                587: stack.submission,
            }
            silent = dict.fromkeys((443, 993, 143, 995, 110, 465, 587), world.silent_port)
            cases = [
                ("provider table (gmail.com)", "a@gmail.com", https, 10.0),
                ("autoconfig (example.test)", "alice@example.test", https, 10.0),
                ("SRV (srv.test)", "a@srv.test", world.network({443: world.closed_port}), 10.0),
                ("MX -> table (gsuite.test)", "a@gsuite.test", https, 10.0),
                ("bomb refused -> SRV (fallback.test)", "a@fallback.test", https, 10.0),
                ("guess + probe (example.test)", "a@example.test", world.network(mail_ports), 10.0),
                ("nothing (nothing.test)", "a@nothing.test", https, 10.0),
                ("silent servers, limit 3 s", "a@slow.test", world.network(silent), 3.0),
            ]
            print(f"{'path':40} {'median s':>9} {'worst s':>8}   ({args.runs} runs)")
            for name, email, network, timeout in cases:
                times = _time(email, network, args.runs, timeout)
                print(f"{name:40} {statistics.median(times):9.3f} {max(times):8.3f}")
    finally:
        stop_stack(stack)
        shutil.rmtree(stack_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
