"""How Hearth should answer, with the real default model: the user's instructions change the
next reply, and the turn after it still reuses the prompt the model already read (the style
is a stable part of the system prompt, so the prefix cache keeps hitting)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from app.core.errors import ModelError
from app.engines.llama_llm import LlamaLanguageModel
from app.engines.models import ModelRegistry
from app.settings import DEFAULT_MODEL, Settings
from app.ui.settings_dialog import SettingsDialog
from pytestqt.qtbot import QtBot

from tests.conftest import require, shared_cache_dir
from tests.ui.conftest import WindowFactory, send, wait_turn

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def llm() -> Iterator[LlamaLanguageModel]:
    try:
        path = ModelRegistry(shared_cache_dir()).resolve(DEFAULT_MODEL).path
    except ModelError as exc:
        require(False, f"model {DEFAULT_MODEL} unavailable: {exc.message}")
        raise
    model = LlamaLanguageModel(path, name=DEFAULT_MODEL, n_ctx=4096, n_threads=2)
    yield model
    model.close()


def test_instructions_change_the_next_reply_and_the_follow_up_hits_the_cache(
    qtbot: QtBot, make_window: WindowFactory, llm: LlamaLanguageModel
) -> None:
    window = make_window(
        llm,
        models={DEFAULT_MODEL: lambda: llm},
        settings=Settings(temperature=0.0, memory_enabled=False),
    )
    question = "What is the capital of France?"
    send(qtbot, window, question)
    wait_turn(qtbot, window, timeout=120_000)
    before = window.chat.bubbles()[-1].text
    assert "paris" in before.lower() and "ada" not in before.lower()

    dialog = SettingsDialog(
        window.backend.settings, window.backend.models(), window.backend.data_dir, window
    )
    qtbot.addWidget(dialog)
    dialog.show_section("Chat")
    dialog.answer_name.setText("Ada")
    dialog.answer_instructions.setPlainText("Begin every reply with the words “Dear Ada,”.")
    chosen = dialog.result_settings()
    assert chosen.model == DEFAULT_MODEL  # nothing else changed: the model stays loaded
    window.backend.update_settings(chosen)
    assert "Ada" in window.backend.assistant.config.system_prompt

    window.new_conversation()
    send(qtbot, window, question)
    wait_turn(qtbot, window, timeout=120_000)
    after = window.chat.bubbles()[-1].text
    assert re.search(r"\bada\b", after, re.IGNORECASE) and after != before, after
    print(f"before: {before!r}\nafter: {after!r}")

    send(qtbot, window, "And the capital of Italy?")
    wait_turn(qtbot, window, timeout=120_000)
    reply = window.backend.store.messages(window.conversation_id)[-1]
    stats = reply.meta["stats"]
    assert isinstance(stats, dict)
    assert stats["prompt_tokens"] > 60  # the system prompt with the style, two turns
    # Only the new question was read: far below the whole prompt.
    assert stats["prompt_tokens_evaluated"] < stats["prompt_tokens"] / 3, stats
