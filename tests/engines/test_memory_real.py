"""Personal memory with real parts: chromadb on disk, all-MiniLM-L6-v2 embeddings and the
default local LLM. "Remember", recall with a citation in a new conversation, forget."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from app.bootstrap import TEXT_EMBEDDER, make_language_model, make_text_embedder
from app.core.assistant import Assistant
from app.core.errors import ModelError
from app.core.events import AssistantEvent, EventType
from app.core.memory import Memory, cited_key, fact_id
from app.core.ports import MemoryRecord, TextEmbedder
from app.engines.models import ModelRegistry
from app.settings import Settings
from app.store.chroma_memory import ChromaMemory
from app.store.history import SqliteConversationStore

from tests.conftest import require, shared_cache_dir

pytestmark = pytest.mark.model


def registry_with(model_id: str) -> ModelRegistry:
    registry = ModelRegistry(shared_cache_dir())
    try:
        registry.resolve(model_id)
    except ModelError as exc:
        require(False, exc.message)
    return registry


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    embedder = make_text_embedder(registry_with(TEXT_EMBEDDER), Settings())
    embedder.load()
    return embedder


def record(id_: str, text: str, kind: str = "fact", **extra: str | int | bool) -> MemoryRecord:
    return MemoryRecord(id_, kind, text, "chat", text[:20], 1.0, 1.0, dict(extra))  # type: ignore[arg-type]


def test_embeddings_are_normalised_and_meaningful(embedder: TextEmbedder) -> None:
    question, dog, sister = embedder.embed(
        ["what is my dog's name?", "my dog is called Biscuit", "my sister lives in Lyon"]
    )
    assert len(question) == 384
    assert sum(x * x for x in dog) == pytest.approx(1.0, abs=1e-4)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(question, dog) > 0.5 > cos(question, sister)


def test_chroma_store_keeps_finds_filters_and_forgets(
    embedder: TextEmbedder, tmp_path: Path
) -> None:
    store = ChromaMemory.open(tmp_path / "memory")
    texts = ["my dog is called Biscuit", "my sister lives in Lyon", "the boiler code is 4411"]
    store.upsert([record(f"f{i}", t) for i, t in enumerate(texts)], embedder.embed(texts))
    turns = [
        record(
            "t1",
            "User: dog food?\nAssistant: Biscuit likes carrots",
            "turn",
            conversation_id="c1",
            **{cited_key("f0"): True},
        ),
        record(
            "t2", "User: dog walk?\nAssistant: Walk Biscuit at noon", "turn", conversation_id="c2"
        ),
    ]
    store.upsert(turns, embedder.embed([t.text for t in turns]))
    [question] = embedder.embed(["what is my dog's name?"])
    hits = store.search("fact", question, 2)
    assert hits[0].record.text == "my dog is called Biscuit" and hits[0].score > 0.5
    assert hits[0].score > hits[1].score
    assert [h.record.id for h in store.search("turn", question, 5, exclude_conversation="c1")] == [
        "t2"
    ]
    assert [r.id for r in store.browse("fact", contains="Lyon")] == ["f1"]
    assert store.count("fact") == 3 and store.count("turn") == 2

    reopened = ChromaMemory.open(tmp_path / "memory")  # durable, not only in memory
    assert reopened.get("fact", ["f2"])[0].text == "the boiler code is 4411"
    reopened.delete_where("turn", cited_key("f0"), True)
    assert [r.id for r in reopened.browse("turn")] == ["t2"]
    reopened.delete("fact", ["f0"])
    assert reopened.count("fact") == 2
    reopened.clear()
    assert reopened.count("fact") == 0 and reopened.count("turn") == 0


@pytest.fixture
def assistant(embedder: TextEmbedder, tmp_path: Path) -> Iterator[tuple[Assistant, Memory]]:
    settings = Settings(max_reply_tokens=48)
    llm = make_language_model(registry_with(settings.model), settings.model, settings)
    store = SqliteConversationStore(tmp_path / "history.sqlite3")
    memory = Memory(embedder, ChromaMemory.open(tmp_path / "memory"))
    yield Assistant(llm, store, settings.assistant_config(), memory), memory
    llm.close()
    store.close()


def ask(
    assistant: Assistant, text: str, conversation: str = ""
) -> tuple[str, list[AssistantEvent]]:
    store = assistant._store
    conversation = conversation or store.create_conversation().id
    events: list[AssistantEvent] = []
    result = assistant.turn(conversation, text, events.append)
    assert result.error is None, result.error
    return conversation, events


def reply(events: list[AssistantEvent]) -> str:
    return "".join(e.data["text"] for e in events if e.type is EventType.TOKEN)


def test_remembered_fact_answers_a_new_conversation_with_a_citation_until_forgotten(
    assistant: tuple[Assistant, Memory],
) -> None:
    bot, memory = assistant
    ask(bot, "remember that my dog is called Biscuit")
    assert memory.store.count("fact") == 1

    _, events = ask(bot, "What is my dog's name?")
    answer = reply(events)
    assert "biscuit" in answer.lower(), answer
    [cited] = [e for e in events if e.type is EventType.CITATIONS]
    assert cited.data["citations"][0]["id"] == fact_id("my dog is called Biscuit")

    conversation, events = ask(bot, "forget my dog's name")
    assert "Should I forget this?" in reply(events)
    ask(bot, "yes", conversation)
    assert memory.store.count("fact") == 0

    _, events = ask(bot, "What is my dog's name?")
    answer = reply(events)
    assert "biscuit" not in answer.lower(), answer
    assert not [e for e in events if e.type is EventType.CITATIONS]
