"""Personal-memory benchmark: prints figures, asserts nothing.

* Indexing throughput: a generated folder of Markdown notes indexed with the real reader,
  all-MiniLM-L6-v2 and embedded chroma (files/s and chunks/s, embedding included).
* Query latency p50/p95 including the query embedding, at 1k, 10k and 100k chunks. The store is
  filled to each size with real MiniLM vectors of real chunks, repeated with a tiny jitter
  (embedding 100k distinct chunks would take most of an hour on 2 cores and measures
  nothing new: the embedding cost per chunk is the throughput figure above).
* Reopen time of the 100k-chunk store (a fresh process opens it and answers one query).
* Recall's added time to first token: the same question with memory on and off, default model,
  warm, median of several turns.

    .venv/bin/python -m bench.memory [--sizes 1000 10000 100000] [--queries 50]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOPICS = [
    "the garden and the tomatoes in the north bed",
    "the boiler service and the plumber's visit",
    "the quarterly budget and the offsite in Porto",
    "pancakes, eggs and the weekend breakfast",
    "the dog's vet appointment and vaccinations",
    "train tickets and the trip to Lyon",
    "the book club reading list for autumn",
    "the bike repair and new brake pads",
]


def make_notes(folder: Path, files: int, rng: random.Random) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        topic = TOPICS[i % len(TOPICS)]
        paragraphs = [
            f"Note {i} about {topic}. Item {j}: remember detail {rng.randint(100, 999)} "
            f"and check it again on day {rng.randint(1, 28)}."
            for j in range(12)
        ]
        (folder / f"note{i:04d}.md").write_text("\n\n".join(paragraphs), encoding="utf-8")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Hearth memory benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--files", type=int, default=150)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--child-reopen", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--only-recall", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import app  # noqa: F401  (offline switches first)

    if args.child_reopen:
        return reopen_child(args.child_reopen)
    if args.only_recall:  # re-measure recall on a store an earlier run left behind
        return only_recall(args.only_recall, args.turns)

    from app.bootstrap import TEXT_EMBEDDER, make_text_embedder
    from app.core.documents import Indexer
    from app.core.memory import Memory
    from app.core.ports import MemoryRecord
    from app.engines.document_reader import LocalDocumentReader
    from app.engines.models import ModelRegistry
    from app.settings import Paths, Settings
    from app.store.chroma_memory import ChromaMemory
    from app.store.index_state import SqliteIndexState

    rng = random.Random(7)
    work = Path(tempfile.mkdtemp(prefix="hearth-bench-memory-"))
    registry = ModelRegistry(Paths.default().models_cache)
    registry.resolve(TEXT_EMBEDDER)
    embedder = make_text_embedder(registry, Settings())
    started = time.perf_counter()
    embedder.load()
    print(f"text embedder load: {time.perf_counter() - started:.2f} s")

    # -- indexing throughput ---------------------------------------------------------------
    notes = work / "notes"
    make_notes(notes, args.files, rng)
    store = ChromaMemory.open(work / "index-store")
    state = SqliteIndexState(work / "index.sqlite3")
    state.add_folder(str(notes))
    indexer = Indexer(LocalDocumentReader(), embedder, store, state)
    started = time.perf_counter()
    report = indexer.run()
    seconds = time.perf_counter() - started
    print(
        f"indexing: {len(report.indexed)} files, {report.chunks} chunks in {seconds:.1f} s -> "
        f"{report.chunks / seconds:.1f} chunks/s, {len(report.indexed) / seconds:.1f} files/s"
    )
    started = time.perf_counter()
    again = indexer.run()
    print(
        f"re-run with nothing changed: {time.perf_counter() - started:.2f} s "
        f"({again.unchanged} unchanged)"
    )

    # -- query latency by size ---------------------------------------------------------------
    base = store.browse("document", limit=report.chunks)
    vectors = {r.id: v for r, v in zip(base, embedder.embed([r.text for r in base]), strict=True)}
    big = ChromaMemory.open(work / "scale-store")
    memory = Memory(embedder, big)
    questions = [f"what did I note about {t}?" for t in TOPICS]
    filled = 0
    print(
        f"\n{'chunks':>8}{'fill (s)':>10}{'p50 (ms)':>10}{'p95 (ms)':>10}  (query incl. embedding)"
    )
    for size in sorted(args.sizes):
        started = time.perf_counter()
        while filled < size:
            batch = []
            embeddings = []
            for _ in range(min(1000, size - filled)):
                record = base[filled % len(base)]
                jitter = [x + rng.uniform(-1e-3, 1e-3) for x in vectors[record.id]]
                batch.append(
                    MemoryRecord(
                        f"bench-{filled}",
                        "document",
                        record.text,
                        record.source,
                        record.title,
                        time.time(),
                        time.time(),
                        {"path": record.source, "chunk": filled},
                    )
                )
                embeddings.append(jitter)
                filled += 1
            big.upsert(batch, embeddings)
        fill = time.perf_counter() - started
        for q in questions[:3]:  # untimed: the first queries after a fill load the index
            memory.search(q, kinds=["document"], limit=5)
        latencies = []
        for i in range(args.queries):
            q = questions[i % len(questions)]
            t0 = time.perf_counter()
            memory.search(q, kinds=["document"], limit=5)
            latencies.append((time.perf_counter() - t0) * 1000)
        print(
            f"{size:>8}{fill:>10.1f}{statistics.median(latencies):>10.1f}"
            f"{percentile(latencies, 0.95):>10.1f}"
        )

    # -- reopen ------------------------------------------------------------------------------
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--child-reopen", str(work / "scale-store")],
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"\nreopen {filled} chunks in a fresh process: {out.stdout.strip()}")
    print(f"  (whole child process incl. imports: {time.perf_counter() - started:.2f} s)")

    # -- recall's added time to first token ------------------------------------------------
    recall_ttft(memory, args.turns, work)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS: {peak:.0f} MiB")
    return 0


def only_recall(work: Path, turns: int) -> int:
    from app.bootstrap import make_text_embedder
    from app.core.memory import Memory
    from app.engines.models import ModelRegistry
    from app.settings import Paths, Settings
    from app.store.chroma_memory import ChromaMemory

    embedder = make_text_embedder(ModelRegistry(Paths.default().models_cache), Settings())
    recall_ttft(Memory(embedder, ChromaMemory.open(work / "scale-store")), turns, work)
    return 0


def reopen_child(folder: Path) -> int:
    from app.store.chroma_memory import ChromaMemory

    started = time.perf_counter()
    store = ChromaMemory.open(folder)
    count = store.count("document")
    opened = time.perf_counter() - started
    started = time.perf_counter()
    store.search("document", [0.05] * 384, 5)
    first = time.perf_counter() - started
    print(f"open + count {opened:.2f} s, first query {first * 1000:.0f} ms ({count} chunks)")
    return 0


def recall_ttft(memory: object, turns: int, work: Path) -> None:
    from app.bootstrap import make_language_model
    from app.core.assistant import Assistant
    from app.core.events import AssistantEvent, EventType
    from app.core.memory import Memory
    from app.engines.models import ModelRegistry
    from app.settings import Paths, Settings
    from app.store.history import SqliteConversationStore

    assert isinstance(memory, Memory)
    settings = Settings(max_reply_tokens=24)
    llm = make_language_model(ModelRegistry(Paths.default().models_cache), settings.model, settings)
    llm.warm_up(settings.system_prompt)
    store = SqliteConversationStore(work / "history.sqlite3")
    results: dict[str, list[float]] = {}
    recalled: list[int] = []
    prompt_tokens: list[int] = []
    sizes: dict[str, float] = {}
    for label, use in (("memory off", False), ("memory on", True)):
        config = dataclasses.replace(
            settings.assistant_config(), use_memory=use, remember_turns=False
        )
        assistant = Assistant(llm, store, config, memory)
        ttfts = []
        for i in range(turns + 1):
            conversation = store.create_conversation().id
            first: list[float] = []

            def on_event(event: AssistantEvent, first: list[float] = first) -> None:
                if event.type is EventType.TOKEN and not first:
                    first.append(time.perf_counter())
                elif event.type is EventType.RECALLED:
                    recalled.append(int(event.data["count"]))
                elif event.type is EventType.PROMPT_READY:
                    prompt_tokens.append(int(event.data["prompt_tokens"]))

            started = time.perf_counter()
            assistant.turn(conversation, f"What did I note about {TOPICS[i % 8]}?", on_event)
            if i and first:  # the first turn of each setting warms caches
                ttfts.append(first[0] - started)
        results[label] = ttfts
        sizes[label] = statistics.median(prompt_tokens) if prompt_tokens else 0
        prompt_tokens.clear()
    off, on = statistics.median(results["memory off"]), statistics.median(results["memory on"])
    print(
        f"\ntime to first token, {llm.name}, warm, median of {turns}: memory off {off:.2f} s, "
        f"memory on {on:.2f} s (recall adds {on - off:+.2f} s, incl. the recalled text "
        f"the model must read; store of {memory.store.count('document')} chunks)"
    )
    print(
        f"  prompt tokens, median: {sizes['memory off']:.0f} without memory, "
        f"{sizes['memory on']:.0f} with ({statistics.median(recalled or [0]):.0f} memories)"
    )
    llm.close()


if __name__ == "__main__":
    sys.exit(main())
