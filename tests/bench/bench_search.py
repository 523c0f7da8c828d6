"""Benchmark: search queries over a cache of 100,000 messages; prints median milliseconds."""

from __future__ import annotations

import argparse
import itertools
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tuimail.model.search import parse_query
from tuimail.store.database import connect
from tuimail.store.search import compile_query

FOLDERS = ("INBOX", "Archive", "Sent", "Lists")
FOLDER_SHARE = (0.6, 0.25, 0.05, 0.10)
FIRST_NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")
SYLLABLES = (
    *("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "da", "fe"),
    *("gi", "ho", "ju", "pa", "qui", "re", "so", "tu", "wa", "xe", "yo"),
)
LIMIT = 100
TARGET_MS = 50.0


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """``size`` distinct made-up words, most frequent first when drawn with Zipf weights."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def messages(count: int, seed: int) -> Iterator[tuple[object, ...]]:
    """Rows of generated messages: id, folder, uid, date, texts, flags, attachment, body."""
    rng = random.Random(seed)
    words = vocabulary(rng, 20_000)
    # Zipf weights, accumulated once: random.choices would otherwise sum them on every call
    weights = list(itertools.accumulate(1.0 / rank for rank in range(1, len(words) + 1)))
    people = [
        (f"{rng.choice(FIRST_NAMES).title()} {rng.choice(words).title()}", f"{rng.choice(words)}")
        for _ in range(3_000)
    ]
    domains = [f"{rng.choice(words)}.test" for _ in range(300)]
    start = int(time.time()) - 5 * 365 * 86_400
    uids = dict.fromkeys(range(1, len(FOLDERS) + 1), 0)
    for mid in range(1, count + 1):
        folder = rng.choices(range(1, len(FOLDERS) + 1), FOLDER_SHARE)[0]
        uids[folder] += 1
        name, local = rng.choice(people)
        sender = f"{name}\t{local}@{rng.choice(domains)}"
        to = "\n".join(
            f"{rng.choice(people)[0]}\t{rng.choice(people)[1]}@{rng.choice(domains)}"
            for _ in range(rng.randint(1, 3))
        )
        subject = " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(3, 8)))
        body = " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(30, 120)))
        date = start + rng.randrange(5 * 365 * 86_400)
        flags = 1 if rng.random() < 0.8 else 0
        attach = rng.random() < 0.1
        yield (mid, folder, uids[folder], date, subject, sender, to, flags, attach, body)


def build(path: Path, count: int, *, prefix_index: bool) -> sqlite3.Connection:
    """A cache at ``path`` holding ``count`` generated messages."""
    db = connect(path)
    db.execute("BEGIN")
    if prefix_index:  # an experiment: the index as the schema would make it with prefix indexes
        db.execute("DROP TABLE message_text")
        db.execute(
            "CREATE VIRTUAL TABLE message_text USING fts5 (subject, sender, recipients, body, "
            "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
        )
    db.executemany(
        "INSERT INTO folder (id, account, name) VALUES (?, 'bench', ?)",
        list(enumerate(FOLDERS, 1)),
    )
    for row in messages(count, seed=7):
        mid, folder, uid, date, subject, sender, to, flags, attach, body = row
        db.execute(
            "INSERT INTO message (id, folder_id, uid, date, subject, sender, recipients, flags, "
            "has_attachments) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (mid, folder, uid, date, subject, sender, to, flags, attach),
        )
        db.execute(
            "INSERT INTO message_text (rowid, subject, sender, recipients, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (mid, subject, sender, to, body),
        )
    db.execute("COMMIT")
    return db


def median_ms(db: sqlite3.Connection, sql: str, params: list[object], runs: int) -> float:
    """Median wall time of running ``sql`` to completion, in milliseconds."""
    db.execute(sql, params).fetchall()  # warm the page cache
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        db.execute(sql, params).fetchall()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def word_of_frequency(db: sqlite3.Connection, share: float) -> str:
    """A body word that occurs in about ``share`` of the messages."""
    db.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, message_text, row)")
    (total,) = db.execute("SELECT count(*) FROM message").fetchone()
    row = db.execute(
        "SELECT term FROM temp.vocab WHERE doc >= ? ORDER BY doc LIMIT 1", (share * total,)
    ).fetchone()
    db.execute("DROP TABLE temp.vocab")
    return str(row[0])


def main() -> None:
    """Build the cache, time the queries, print a table of medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument(
        "--prefix-index",
        action="store_true",
        help="build the full-text index with prefix = '2 3' (not the shipped schema)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        db = build(Path(tmp) / "cache.sqlite", args.messages, prefix_index=args.prefix_index)
        size = (Path(tmp) / "cache.sqlite").stat().st_size / 1e6
        print(
            f"built {args.messages:,} messages in {time.perf_counter() - began:.1f} s "
            f"({size:.0f} MB, SQLite {sqlite3.sqlite_version})"
        )
        common, rare = word_of_frequency(db, 0.10), word_of_frequency(db, 0.001)
        (sender,) = db.execute("SELECT sender FROM message WHERE id = 1").fetchone()
        queries = {
            f"word, in ~10% ({common})": common,
            f"word, in ~0.1% ({rare})": rare,
            f"word prefix, 3 letters ({common[:3]})": common[:3],
            f"word prefix, 5 letters ({common[:5]})": common[:5],
            f"1 letter, whole word only ({common[:1]})": common[:1],
            f"2 letters, whole word only ({common[:2]})": common[:2],
            "from: first name (alice)": "from:alice",
            f"from: address ({sender.split(chr(9))[1]})": "from:" + sender.split("\t")[1],
            "is:unread": "is:unread",
            f"{common} is:unread after:1y": f"{common} is:unread after:1y",
        }
        print(f"median of {args.runs} runs, ORDER BY date DESC LIMIT {LIMIT}, milliseconds")
        print(f"{'query':48} {'INBOX':>8} {'all':>8} {'hits':>8}")
        slow = []
        for label, text in queries.items():
            where, params = compile_query(parse_query(text))
            in_folder = (
                f"SELECT m.id FROM message AS m WHERE m.folder_id = ? AND {where} "  # noqa: S608
                f"ORDER BY m.date DESC LIMIT {LIMIT}"
            )
            everywhere = (
                f"SELECT m.id FROM message AS m WHERE {where} "  # noqa: S608
                f"ORDER BY m.date DESC LIMIT {LIMIT}"
            )
            counted = f"SELECT count(*) FROM message AS m WHERE {where}"  # noqa: S608
            (hits,) = db.execute(counted, params).fetchone()
            folder_ms = median_ms(db, in_folder, [1, *params], args.runs)
            all_ms = median_ms(db, everywhere, params, args.runs)
            print(f"{label:48} {folder_ms:8.1f} {all_ms:8.1f} {hits:8,}")
            if max(folder_ms, all_ms) > TARGET_MS:
                slow.append(label)
        db.close()
    print(f"over {TARGET_MS:.0f} ms: {', '.join(slow) if slow else 'none'}")


if __name__ == "__main__":
    main()
