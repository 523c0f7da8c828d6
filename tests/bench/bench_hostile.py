"""Benchmark: the hostile corpus through the mime layer, one line per case.

Run from the repository: .venv/bin/python tests/bench/bench_hostile.py [--all] [NAME ...]

Prints each case's size, the time and peak memory (tracemalloc) of parse_message, and the time
of a reply, a reply-all and an inline forward with attachments, each built to bytes. Without
--all or names, only the MIME bombs (the cases made at test time) are measured.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))

from helpers.hostile import CASES, ME, raw_case  # noqa: E402

from tuimail.mime.build import build_message  # noqa: E402
from tuimail.mime.parse import parse_message  # noqa: E402
from tuimail.mime.quote import forward_draft, reply_draft  # noqa: E402


def main() -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description="The hostile corpus through the mime layer.")
    parser.add_argument("names", nargs="*", help="only these cases")
    parser.add_argument("--all", action="store_true", help="every case, not only the bombs")
    args = parser.parse_args()
    chosen = [
        case
        for case in CASES
        if (case.name in args.names if args.names else args.all or case.generated)
    ]
    print(f"{'case':<24} {'size':>10} {'parse s':>8} {'peak MB':>8} {'reply+fwd s':>12}")
    with tempfile.TemporaryDirectory() as scratch:
        for case in chosen:
            raw = raw_case(case, Path(scratch))
            tracemalloc.start()
            started = time.perf_counter()
            parse_message(raw)
            parse_time = time.perf_counter() - started
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            started = time.perf_counter()
            for draft in (
                reply_draft(raw, {ME.email}, account="a", reply_all=False),
                reply_draft(raw, {ME.email}, account="a", reply_all=True),
                forward_draft(raw, account="a", inline=True, keep_attachments=True),
            ):
                build_message(draft, ME, domain="example.test").as_bytes()
            quote_time = time.perf_counter() - started
            print(
                f"{case.name:<24} {len(raw):>10,} {parse_time:>8.2f} {peak / 1e6:>8.1f} "
                f"{quote_time:>12.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
