"""Replies that loop are stopped and trimmed to one copy; ordinary replies, lists and code
with repeated lines are left alone."""

from __future__ import annotations

from app.core.assistant import Assistant
from app.core.events import AssistantEvent, EventType
from app.core.loops import LoopGuard

from tests.fakes import FakeLanguageModel, MemoryConversationStore


def guard_over(pieces: list[str]) -> LoopGuard:
    guard = LoopGuard()
    for piece in pieces:
        if guard.feed(piece):
            break
    return guard


def words(text: str) -> list[str]:
    return [w + " " for w in text.split(" ")]


def test_a_line_said_a_third_time_stops_the_reply_and_one_copy_is_kept() -> None:
    line = "The capital of France is Paris, a city on the Seine.\n"
    guard = guard_over(words("Here is the answer:\n" + line * 12))
    assert guard.cut_at is not None
    assert guard.trimmed() == "Here is the answer:\n" + line.strip()


def test_a_phrase_running_on_without_a_full_stop_is_a_loop_too() -> None:
    guard = guard_over(words("It is " + "very, " * 30))
    assert guard.cut_at is not None and guard.trimmed() == "It is very,"


def test_ordinary_replies_lists_and_code_are_left_alone() -> None:
    cases = [
        "Paris is the capital of France. It is lovely in spring. Enjoy your trip!",
        "- Buy milk.\n- Buy eggs.\n- Buy bread.\n- Call mum.",
        "Yes. Yes. Yes. Yes.",  # short units repeat legitimately
        "```python\nprint('hello world')\nprint('hello world')\nprint('hello world')\n```",
        "Step 1: open the lid.\nStep 2: pour the water.\nStep 3: close the lid.",
    ]
    for text in cases:
        guard = guard_over(words(text))
        assert guard.cut_at is None, text
        assert guard.trimmed() == "".join(words(text))


def test_the_turn_stops_a_looping_model_keeps_one_copy_and_says_why() -> None:
    line = "I am not sure about that, but here is what I know."
    llm = FakeLanguageModel(" ".join([line] * 40))
    store = MemoryConversationStore()
    assistant = Assistant(llm, store)
    conversation = store.create_conversation().id
    events: list[AssistantEvent] = []
    result = assistant.turn(conversation, "tell me about it", events.append)
    assert result.error is None
    assert result.reply == line  # stopped at the third copy, trimmed to one
    notices = [e for e in events if e.type is EventType.NOTICE]
    assert [n.data["code"] for n in notices] == ["llm-loop"]
    (end,) = [e for e in events if e.type is EventType.TURN_END]
    assert end.data["reply"] == result.reply
    assert store.messages(conversation)[-1].content == result.reply
    assert llm.last_stats.generated_tokens < 40 * len(line.split())  # stopped early
