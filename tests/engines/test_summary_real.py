"""Summarising a real PDF with real parts: the folder indexer (real PDF reader,
all-MiniLM-L6-v2, chroma on disk) and the default local model writing the summary.

Kept small for CI's two cores: cvs-paper.pdf (12 pages, ~27k characters, ~6.4k tokens) in two
sections of at most 300 tokens, compressed by the embedder, short notes: ~1,000 prompt tokens
and ~200 generated, well under a minute on an idle machine (6 minutes beside another
llama.cpp process, where the 3-section version of this test took 350 s).
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from app.bootstrap import TEXT_EMBEDDER, make_language_model, make_text_embedder
from app.core.assistant import Assistant
from app.core.documents import Indexer
from app.core.errors import ModelError
from app.core.events import AssistantEvent, EventType
from app.core.memory import Memory
from app.core.summary import DocumentSummaries, SummaryConfig
from app.engines.document_reader import LocalDocumentReader
from app.engines.models import ModelRegistry
from app.settings import DEFAULT_MODEL, Settings
from app.store.chroma_memory import ChromaMemory
from app.store.history import SqliteConversationStore
from app.store.index_state import SqliteIndexState

from tests.conftest import REPO, require, shared_cache_dir

pytestmark = pytest.mark.model

PAPER = REPO / "tests" / "data" / "eval" / "cvs-paper.pdf"


def registry_with(*model_ids: str) -> ModelRegistry:
    registry = ModelRegistry(shared_cache_dir())
    for model_id in model_ids:
        try:
            registry.resolve(model_id)
        except ModelError as exc:
            require(False, exc.message)
    return registry


def test_the_default_model_summarises_a_real_pdf_citing_its_sections(tmp_path: Path) -> None:
    require(PAPER.is_file(), f"{PAPER} is missing")
    registry = registry_with(DEFAULT_MODEL, TEXT_EMBEDDER)
    settings = Settings()
    folder = tmp_path / "papers"
    folder.mkdir()
    shutil.copy(PAPER, folder / PAPER.name)
    memory = Memory(make_text_embedder(registry, settings), ChromaMemory.open(tmp_path / "mem"))
    indexer = Indexer(
        LocalDocumentReader(),
        memory.embedder,
        memory.store,
        SqliteIndexState(tmp_path / "index.sqlite3"),
    )
    report = indexer.run([str(folder)])
    assert report.indexed and not report.failed, report.summary()
    llm = make_language_model(registry, DEFAULT_MODEL, settings)
    store = SqliteConversationStore(tmp_path / "history.sqlite3")
    assistant = Assistant(llm, store, settings.assistant_config(), memory)
    assistant.summaries = DocumentSummaries(
        SummaryConfig(section_tokens=300, max_sections=2, note_tokens=60, overview_tokens=80)
    )
    conversation = store.create_conversation()
    events: list[AssistantEvent] = []
    started = time.monotonic()
    try:
        result = assistant.turn(
            conversation.id, "give me a summary of cvs-paper.pdf", events.append
        )
        kept_turns = memory.store.count("turn")
    finally:
        llm.close()
        store.close()
        memory.store.close()
    seconds = time.monotonic() - started
    errors = [e.data for e in events if e.type is EventType.ERROR]
    assert not errors, errors
    progress = [e.data for e in events if e.type is EventType.SUMMARY_PROGRESS]
    assert [p["stage"] for p in progress] == ["reading", "section", "section", "writing"]
    [citations] = [e.data["citations"] for e in events if e.type is EventType.CITATIONS]
    assert [c["n"] for c in citations] == [1, 2]
    assert all(c["label"].startswith("file cvs-paper.pdf, parts ") for c in citations)
    reply = result.reply
    print(f"\n{seconds:.1f} s, stats {result.stats}\n{reply}")
    # Every section's point cites it; the summary is about the paper's subject.
    assert {int(n) for n in re.findall(r"\[(\d)\]", reply)} >= {1, 2}
    lowered = reply.lower()
    assert "cvs" in lowered or "revision control" in lowered or "version control" in lowered
    assert result.stats["sections_compressed"] == 2
    assert result.stats["read_tokens"] <= 2 * 300
    assert kept_turns == 0  # a summary request is not kept as a memory
