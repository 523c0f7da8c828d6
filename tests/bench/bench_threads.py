"""Benchmark: threading 100,000 messages (singletons and threads of 2-30) must take under 1 s."""

from __future__ import annotations

import argparse
import random
import time

from tuimail.services.threads import ThreadItem, ThreadRow, build_threads

START = 1_600_000_000


def make_items(count: int, seed: int = 1) -> list[ThreadItem]:
    """About half singletons, half in threads of 2-30 (some parents missing), shuffled."""
    rng = random.Random(seed)
    items: list[ThreadItem] = []
    topic = 0
    while len(items) < count:
        topic += 1
        size = 1 if rng.random() < 0.94 else rng.randint(2, 30)
        date = START + rng.randrange(0, 365 * 86400)
        ancestry: list[tuple[str, ...]] = []
        for n in range(min(size, count - len(items))):
            message_id = f"<{topic}.{n}@bench.example>"
            if n == 0:
                refs: tuple[str, ...] = ()
                subject = f"Topic {topic}"
            else:
                up = rng.randrange(n)
                refs = (*ancestry[up], f"<{topic}.{up}@bench.example>")
                subject = f"Re: Topic {topic}"
            ancestry.append(refs)
            date += rng.randrange(60, 86400)
            if n and rng.random() < 0.05:
                continue  # a message never received: its replies hang from a dummy
            only_in_reply_to = rng.random() < 0.1
            items.append(
                ThreadItem(
                    key=len(items) + 1,
                    message_id=message_id,
                    in_reply_to=refs[-1] if refs else "",
                    references=() if only_in_reply_to else refs,
                    subject=subject,
                    date=date,
                )
            )
    rng.shuffle(items)
    return items


def main() -> None:
    """Print the seconds build_threads takes (best of a few runs) for generated mail."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    items = make_items(args.count)
    times: list[float] = []
    cpu: list[float] = []
    rows: list[ThreadRow] = []
    for _ in range(args.runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        rows = build_threads(items)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    assert sorted(row.key for row in rows) == sorted(item.key for item in items)
    threads = len({row.thread for row in rows})
    print(
        f"{len(items)} messages, {threads} threads: best {min(times):.3f} s "
        f"(first {times[0]:.3f} s, best CPU {min(cpu):.3f} s) over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
