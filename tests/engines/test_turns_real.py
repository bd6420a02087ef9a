"""Whole turns through the core with a real model and the real SQLite history."""

from __future__ import annotations

from pathlib import Path

import pytest
from app.bootstrap import make_language_model
from app.core.assistant import Assistant
from app.core.errors import ModelError
from app.core.events import AssistantEvent, EventType
from app.engines.models import ModelRegistry
from app.settings import FAST_MODEL, Settings
from app.store.history import SqliteConversationStore

from tests.conftest import require, shared_cache_dir

pytestmark = pytest.mark.model


def test_history_longer_than_the_context_is_trimmed_not_fatal(tmp_path: Path) -> None:
    registry = ModelRegistry(shared_cache_dir())
    try:
        registry.resolve(FAST_MODEL)
    except ModelError as exc:
        require(False, exc.message)
    settings = Settings(model=FAST_MODEL, context_tokens=512, max_reply_tokens=64)
    llm = make_language_model(registry, FAST_MODEL, settings)
    store = SqliteConversationStore(tmp_path / "history.sqlite3")
    conv = store.create_conversation("long")
    for i in range(60):
        store.add_message(conv.id, "user", f"Tell me fact number {i} about the sea. " * 3)
        store.add_message(conv.id, "assistant", f"Fact {i}: the sea is deep and wide. " * 3)
    assistant = Assistant(llm, store, settings.assistant_config())
    events: list[AssistantEvent] = []
    try:
        result = assistant.turn(conv.id, "What is the capital of France?", events.append)
    finally:
        llm.close()
        store.close()
    kinds = [e.type for e in events]
    assert EventType.ERROR not in kinds, [e.data for e in events if e.type is EventType.ERROR]
    ready = next(e for e in events if e.type is EventType.PROMPT_READY).data
    assert ready["dropped_messages"] > 100
    assert ready["prompt_tokens"] <= 512 - 64
    assert result.reply.strip()
    assert "paris" in result.reply.lower()
