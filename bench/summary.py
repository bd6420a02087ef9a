"""Summarising a long real PDF: prints figures, asserts nothing.

The PDF (default: the 73-page Gutenprint manual, ~185k characters) is indexed into a chroma
store in a temporary folder with the real reader and all-MiniLM-L6-v2, then each model
answers "summarise <file>" through the real Assistant, as the window would ask it. Printed:
indexing time, the document's size in tokens, sections (and how many were compressed),
seconds per section, time to the first point, the overview's time, the total split into
prompt, generation and compression (embedding), and the summary itself. The cost of reading
the whole text instead is estimated from the prompt speed measured on the sections (the
model would read ``document_tokens`` instead of ``read_tokens``).

    .venv/bin/python -m bench.summary [--pdf FILE] [--models qwen2.5-coder-0.5b-instruct ...]
                                       [--max-sections 10] [--section-tokens 600]

Measured (2-core VM, llama.cpp AVX2, 2 LLM threads) on the Gutenprint manual: 73 pages,
185k characters, 419 chunks, ~41k tokens. Timings are noisy: other jobs shared the 2 cores
for most of the day (a second llama.cpp process beside this one makes both crawl, see
app/engines/llama_llm.py). Run with nothing else busy (load average 2.2 at the start, this
benchmark's own two threads):

    indexing 419 chunks 11.7 s; listing the files in memory 61 ms; reading the chunks 35 ms

    Qwen2.5-Coder 0.5B (default):
      10 sections, all compressed: 5,793 of 40,787 tokens read (14%)
      seconds per section: mean 12.6, min 10.8, max 14.1
      first point after 12.5 s; overview 22.1 s; total 148 s
      of which: prompt 98.4 s (7,091 tokens, 72/s), generation 34.9 s (649 tokens,
      18.6/s), compression (embedding) 14.7 s
      reading the whole text instead: ~566 s of prompt at that speed (9.5 minutes)
    SmolLM2 135M (fast model):
      10 sections, all compressed: 5,945 of 42,893 tokens read
      seconds per section: mean 8.1, min 6.6, max 9.8
      first point after 9.2 s; overview 7.3 s; total 88.9 s
      of which: prompt 55.0 s (7,343 tokens, 134/s), generation 14.5 s (640 tokens,
      44.1/s), compression (embedding) 18.9 s
      reading the whole text instead: ~321 s of prompt
      Its notes are poor: it describes the quotation marks of the prompt and invents
      names; the default model's are usable (each says what its section covers).

An earlier run of the default model at load ~1-2 took 138 s (11.5 s a section). Beside
another llama.cpp benchmark (load ~4) the same summary ran at 130-160 s a section, ~25
minutes in all, and in the window (maint-guide.en.pdf, 63 pages, load ~5-6) at ~1.5-2
minutes a section, 23 minutes in all: generation is what suffers (0.5-1 token/s).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.core.memory import Memory
    from app.core.summary import DocumentSummaries, SummaryConfig
    from app.engines.models import ModelRegistry
    from app.settings import Settings

DEFAULT_PDF = Path(__file__).resolve().parents[1] / "tests/data/eval/gutenprint-users-manual.pdf"
DEFAULT_MODELS = ["qwen2.5-coder-0.5b-instruct", "smollm2-135m-instruct"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Hearth document summary benchmark")
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    parser.add_argument("--max-sections", type=int, default=None)
    parser.add_argument("--section-tokens", type=int, default=None)
    parser.add_argument("--cache", type=Path, default=None, help="model cache (default: app's)")
    args = parser.parse_args(argv)
    import app  # noqa: F401  (offline switches first)
    from app.bootstrap import make_text_embedder
    from app.core.documents import Indexer
    from app.core.memory import Memory
    from app.core.summary import DocumentSummaries, SummaryConfig, read_document
    from app.engines.document_reader import LocalDocumentReader
    from app.engines.models import ModelRegistry
    from app.settings import Paths, Settings
    from app.store.chroma_memory import ChromaMemory
    from app.store.index_state import SqliteIndexState

    config = SummaryConfig()
    if args.max_sections:
        config = SummaryConfig(**{**_fields(config), "max_sections": args.max_sections})
    if args.section_tokens:
        config = SummaryConfig(**{**_fields(config), "section_tokens": args.section_tokens})
    print("load average at start: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"config: {config}")
    work = Path(tempfile.mkdtemp(prefix="hearth-bench-summary-"))
    try:
        registry = ModelRegistry(args.cache or Paths.default().models_cache)
        settings = Settings()
        embedder = make_text_embedder(registry, settings)
        embedder.load()
        folder = work / "docs"
        folder.mkdir()
        shutil.copy(args.pdf, folder / args.pdf.name)
        memory = Memory(embedder, ChromaMemory.open(work / "memory"))
        indexer = Indexer(
            LocalDocumentReader(), embedder, memory.store, SqliteIndexState(work / "index.db")
        )
        started = time.perf_counter()
        report = indexer.run([str(folder)])
        print(
            f"indexed {args.pdf.name}: {report.chunks} chunks in "
            f"{time.perf_counter() - started:.1f} s"
        )
        summaries = DocumentSummaries(config)
        started = time.perf_counter()
        docs = summaries.documents(memory.store)
        listed = time.perf_counter() - started
        started = time.perf_counter()
        records = read_document(memory.store, docs[0].path)
        print(
            f"listing the files in memory: {listed * 1000:.0f} ms; reading its "
            f"{len(records)} chunks in order: {(time.perf_counter() - started) * 1000:.0f} ms"
        )
        for model in args.models:
            run_model(model, args.pdf.name, registry, settings, memory, summaries, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _fields(config: SummaryConfig) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


def run_model(  # noqa: PLR0917 - a benchmark's one step
    model: str,
    name: str,
    registry: ModelRegistry,
    settings: Settings,
    memory: Memory,
    summaries: DocumentSummaries,
    work: Path,
) -> None:
    """Summarise with one model and print its figures."""
    from app.bootstrap import make_language_model
    from app.core.assistant import Assistant
    from app.core.events import AssistantEvent, EventType
    from app.store.history import SqliteConversationStore

    llm = make_language_model(registry, model, settings.replace(model=model))
    started = time.perf_counter()
    llm.load()
    print(f"\n== {llm.name}: loaded in {time.perf_counter() - started:.1f} s")
    store = SqliteConversationStore(work / f"history-{model}.sqlite3")
    assistant = Assistant(llm, store, settings.assistant_config(), memory)
    assistant.summaries = summaries
    conversation = store.create_conversation()
    events: list[AssistantEvent] = []

    def listen(event: AssistantEvent) -> None:
        events.append(event)
        if event.type is EventType.SUMMARY_PROGRESS:
            data = event.data
            at = event.timestamp - events[0].timestamp
            where = f"section {data['section']} of {data['total']} ({data['label']})"
            print(f"  [{at:7.1f} s] {data['stage']:8} {where if data['section'] else ''}")
            sys.stdout.flush()

    started = time.perf_counter()
    try:
        result = assistant.turn(conversation.id, f"summarise {name}", listen)
    finally:
        llm.close()
        store.close()
    total = time.perf_counter() - started
    errors = [e.data for e in events if e.type is EventType.ERROR]
    if errors:
        print(f"  failed: {errors}")
        return
    stats = result.stats
    marks = [e for e in events if e.type is EventType.SUMMARY_PROGRESS]
    sections = [e for e in marks if e.data["stage"] in ("section", "writing")]
    times = [b.timestamp - a.timestamp for a, b in itertools.pairwise(sections)]
    rate = stats["prompt_tokens_evaluated"] / max(1e-6, stats["prompt_eval_seconds"])
    print(
        f"  document {stats['document_tokens']:.0f} tokens; read {stats['read_tokens']:.0f} "
        f"in {stats['sections']:.0f} sections ({stats['sections_compressed']:.0f} compressed)"
    )
    if times:
        print(
            f"  seconds per section: mean {sum(times) / len(times):.1f}, min {min(times):.1f}, "
            f"max {max(times):.1f}"
        )
    print(
        f"  first point after {stats['time_to_first_token']:.1f} s; overview "
        f"{stats['overview_seconds']:.1f} s; total {total:.1f} s"
    )
    print(
        f"  of which: prompt {stats['prompt_eval_seconds']:.1f} s "
        f"({stats['prompt_tokens_evaluated']:.0f} tokens, {rate:.0f}/s), generation "
        f"{stats['generation_seconds']:.1f} s ({stats['generated_tokens']:.0f} tokens, "
        f"{stats['tokens_per_second']:.1f}/s), compression (embedding) "
        f"{stats['compress_seconds']:.1f} s"
    )
    print(
        f"  reading the whole text instead: ~{stats['document_tokens'] / max(1.0, rate):.0f} s "
        f"of prompt at that speed"
    )
    print("  summary:\n" + "\n".join("    " + line for line in result.reply.splitlines()))


if __name__ == "__main__":
    raise SystemExit(main())
