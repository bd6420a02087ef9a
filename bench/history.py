"""Benchmark of the conversation history a person lives in; prints figures, asserts nothing.

* content search (SQLite FTS5, app/store/history.py) p50/p95 over typed queries at 1k, 10k and
  100k messages: whole words, prefixes as they are typed, two words, a word nobody wrote;
* the window from launch to shown (the dev app under Xvfb, a fresh home) with 0 and with
  1,000 conversations in its history, and the ratio.

    .venv/bin/python -m bench.history [--sizes 1000 10000 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.store.history import SqliteConversationStore

from bench.package import DEVELOPMENT, window_shown

WORDS = (  # noqa: SIM905 - a paragraph of words reads better than a column
    "the a to of and in for on with that this is was be at by from it as are have not you "
    "your we can will do if when what where how which train paris bread garden weather "
    "meeting invoice python sorting list dictionary reminder doctor appointment birthday "
    "gift recipe soup tomato basil budget taxes deadline holiday flight hotel museum book "
    "chapter kernel module printer driver backup password router music concert guitar "
    "running marathon knee physio insurance car tyre oil boiler heating window plumber"
).split()
TITLE_WORDS = "weekend plans ideas questions notes help about my for new old quick".split()  # noqa: SIM905
"""Titles of other words than the messages', so the message search is what is measured."""
QUERIES = [
    "paris", "pa", "par", "pari", "train paris", "boiler plumber", "printer driver",
    "tomato", "to", "t", "deadline taxes", "zanzibar", "marathon knee physio", "the",
]  # fmt: skip
PER_CONVERSATION = 20


def fill(path: Path, messages: int, rng: random.Random) -> None:
    """``messages`` messages of 6 to 60 words in conversations of 20, written in one
    transaction (the triggers index them as the app's own writes would)."""
    SqliteConversationStore(path).close()  # the schema, the search table and its triggers
    db = sqlite3.connect(path)
    now = time.time()
    with db:
        for c in range(messages // PER_CONVERSATION):
            cid = f"c{c:06d}"
            when = now - (messages - c * PER_CONVERSATION) * 60
            db.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?,?,?,?)",
                (cid, " ".join(rng.choices(TITLE_WORDS, k=3)).capitalize(), when, when),
            )
            db.executemany(
                "INSERT INTO messages (conversation_id, role, content, created_at) "
                "VALUES (?,?,?,?)",
                [
                    (
                        cid,
                        "user" if m % 2 == 0 else "assistant",
                        " ".join(rng.choices(WORDS, k=rng.randint(6, 60))) + ".",
                        when + m,
                    )
                    for m in range(PER_CONVERSATION)
                ],
            )
    db.close()


def search_times(path: Path, rounds: int) -> list[float]:
    store = SqliteConversationStore(path)
    try:
        for query in QUERIES:  # warm the page cache as a user's second search would
            store.search(query)
        times = []
        for _ in range(rounds):
            for query in QUERIES:
                started = time.perf_counter()
                store.search(query)
                times.append(time.perf_counter() - started)
        return times
    finally:
        store.close()


def seed_conversations(count: int) -> Callable[[Path], None]:
    def seed(data: Path) -> None:
        fill(data / "history.sqlite3", count * PER_CONVERSATION, random.Random(7))

    return seed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-window", action="store_true", help="search figures only")
    args = parser.parse_args()

    print("## Content search (ms; each of", len(QUERIES), "queries", args.rounds, "times)")
    print(f"{'messages':>9} {'db MB':>7} {'fill s':>7} {'p50':>7} {'p95':>7} {'max':>7}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "history.sqlite3"
            started = time.perf_counter()
            fill(path, size, random.Random(size))
            filled = time.perf_counter() - started
            times = sorted(t * 1000 for t in search_times(path, args.rounds))
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(
                f"{size:>9} {path.stat().st_size / 1e6:7.1f} {filled:7.1f} "
                f"{statistics.median(times):7.2f} {p95:7.2f} {times[-1]:7.2f}"
            )

    if args.no_window:
        return 0
    print("\n## Window shown (s, dev app under Xvfb, fresh home; median of", args.rounds, "runs)")
    empty = [window_shown(DEVELOPMENT)["window_s"] for _ in range(args.rounds)]
    full = [
        window_shown(DEVELOPMENT, seed_conversations(1000))["window_s"] for _ in range(args.rounds)
    ]
    print(f"{'no conversations':<22} {statistics.median(empty):6.2f}")
    print(f"{'1,000 conversations':<22} {statistics.median(full):6.2f}")
    print(f"{'ratio':<22} {statistics.median(full) / statistics.median(empty):6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
