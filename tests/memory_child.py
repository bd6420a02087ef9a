"""A separate process working on a memory store, for the durability tests (kill -9, full disk).

    python -m tests.memory_child FOLDER CHECK_FILE [--max N]

First checks that every id listed in CHECK_FILE (acknowledged by an earlier, killed process) is
in the store, printing "verified N" (or "MISSING id..." and exit 3); then adds facts forever (or
N), printing each id only after upsert returned. A full disk ends it with "FULL <message>".
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import app  # noqa: F401 - offline switches first
from app.core.errors import AssistantError
from app.core.ports import MemoryRecord
from app.store.chroma_memory import ChromaMemory


def vector(seed: str) -> list[float]:
    digest = hashlib.sha256(seed.encode()).digest() * 12
    raw = [b / 255.0 - 0.5 for b in digest[:384]]
    norm = sum(x * x for x in raw) ** 0.5
    return [x / norm for x in raw]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("check", type=Path)
    parser.add_argument("--max", type=int, default=0)
    parser.add_argument("--text-bytes", type=int, default=200)
    args = parser.parse_args()
    store = ChromaMemory.open(args.folder)
    store.count("fact")  # open it now (it opens lazily), so "verified" means the store is up
    wanted = args.check.read_text().split() if args.check.exists() else []
    found = {r.id for r in store.get("fact", wanted)} if wanted else set()
    missing = [i for i in wanted if i not in found]
    if missing:
        print("MISSING " + " ".join(missing[:20]), flush=True)
        return 3
    print(f"verified {len(wanted)}", flush=True)
    n = 0
    prefix = f"{os.getpid()}-"
    while not args.max or n < args.max:
        fact_id = f"fact-{prefix}{n}"
        text = f"fact {n} from process {os.getpid()} " + "x" * args.text_bytes
        try:
            store.upsert([MemoryRecord(fact_id, "fact", text, "test")], [vector(fact_id)])
        except AssistantError as exc:
            print(f"FULL {exc.code} {exc.message}", flush=True)
            return 4
        print(fact_id, flush=True)  # acknowledged: upsert returned
        n += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
