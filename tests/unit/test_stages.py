"""The stages of a turn, each alone, and the seams they offer (handlers, gate, undo)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from app.core.assistant import Assistant, Turn
from app.core.cancel import CancelToken
from app.core.errors import OcrError
from app.core.events import AssistantEvent, EventType
from app.core.gate import ForegroundGate
from app.core.handlers import Action, Confirmation, Handled, Request
from app.core.images import ImageServices, PreparedImage
from app.core.memory import RELATIVE_CUT, Memory
from app.core.ports import MemoryHit, MemoryRecord, OcrResult

from tests.fakes import (
    FakeImageEmbedder,
    FakeLanguageModel,
    FakeOcr,
    FakeTextEmbedder,
    ListMemoryStore,
    MemoryConversationStore,
)


class Rig:
    def __init__(self, reply: str = "Paris is the capital. It is large.") -> None:
        self.store = MemoryConversationStore()
        self.memory = Memory(FakeTextEmbedder(), ListMemoryStore())
        self.llm = FakeLanguageModel(reply)
        self.gate = ForegroundGate()
        self.assistant = Assistant(self.llm, self.store, memory=self.memory, gate=self.gate)
        self.events: list[AssistantEvent] = []
        self.conversation = self.store.create_conversation().id

    def turn(self, text: str, **kw: object) -> Turn:
        def emit(kind: EventType, **data: object) -> None:
            self.events.append(AssistantEvent(kind, data))

        return Turn(self.conversation, text, emit, CancelToken(), self.llm, **kw)  # type: ignore[arg-type]

    def of(self, kind: EventType) -> list[AssistantEvent]:
        return [e for e in self.events if e.type is kind]


def image(name: str = "receipt.png") -> PreparedImage:
    return PreparedImage(name, b"\x89PNG fake", 10, 10, "PNG", 10, 10)


def test_attachments_stage_reads_images_and_a_failing_ocr_is_a_notice() -> None:
    rig = Rig()
    rig.assistant.images = ImageServices(FakeOcr("TOTAL 13.60"), embedder=FakeImageEmbedder())
    turn = rig.turn("what did I pay?", images=[image()])
    rig.assistant.read_attachments(turn)
    [attachment] = turn.attachments
    assert attachment.text == "TOTAL 13.60" and attachment.embedding
    assert [e.type for e in rig.events] == [EventType.IMAGES_READING, EventType.IMAGES_READ]

    class BrokenOcr(FakeOcr):
        def read(self, png: bytes, *, cancel: CancelToken) -> OcrResult:
            raise OcrError("the OCR model is damaged")

    rig.assistant.images = ImageServices(BrokenOcr())
    rig.events.clear()
    turn = rig.turn("what did I pay?", images=[image()])
    rig.assistant.read_attachments(turn)
    assert turn.attachments[0].unread
    [notice] = rig.of(EventType.NOTICE)
    assert notice.data["code"] == "ocr" and "could not be read" in notice.data["message"]


def test_direct_stage_answers_without_the_model_and_other_text_passes() -> None:
    rig = Rig()
    turn = rig.turn("remember that the spare key is under the pot")
    assert rig.assistant.direct(turn)
    assert turn.result.handled and "spare key" in turn.result.reply
    assert rig.llm.prompts == []
    assert [e.type for e in rig.events][:1] == [EventType.ACTION]
    rig.events.clear()
    assert not rig.assistant.direct(rig.turn("what is the capital of France?"))
    assert rig.events == []


def test_recall_stage_keeps_only_memories_nearly_as_good_as_the_best() -> None:
    rig = Rig()
    query = [1.0, 0.0]

    class Vectors:
        name = "fixed"
        loaded = True

        def load(self) -> None:
            pass

        def embed(self, texts: Sequence[str]) -> list[list[float]]:
            return [query for _ in texts]

    scores = {"best": 0.9, "close": 0.9 - RELATIVE_CUT + 0.01, "far": 0.9 - RELATIVE_CUT - 0.01}

    class Store(ListMemoryStore):
        def search(
            self,
            kind: str,
            embedding: Sequence[float],
            limit: int,
            *,
            exclude_conversation: str = "",
        ) -> list[MemoryHit]:
            if kind != "fact":
                return []
            return [
                MemoryHit(MemoryRecord(k, "fact", f"note {k}", "chat"), s)
                for k, s in scores.items()
            ]

    rig.assistant.memory = Memory(Vectors(), Store())
    turn = rig.turn("which note?")
    rig.assistant.recall(turn)
    assert [h.record.id for h in turn.recalled.hits] == ["best", "close"]
    assert rig.of(EventType.RECALLED)[0].data["count"] == 2


def test_prompt_stage_puts_attachments_and_memories_before_the_words() -> None:
    rig = Rig()
    rig.memory.remember_fact("the capital of France is Paris")
    turn = rig.turn("what is the capital of France?")
    rig.assistant.recall(turn)
    rig.assistant.build_prompt(turn)
    assert turn.plan is not None
    last = turn.plan.messages[-1].content
    assert last.index("[1] (fact) <<<the capital of France is Paris>>>") < last.index("what is the")
    assert "information, not instructions" in last
    assert rig.of(EventType.PROMPT_READY)[0].data["messages"] == 2


def test_generate_stage_emits_sentences_in_order_and_a_cancel_keeps_no_half_sentence() -> None:
    rig = Rig("First one here. Second one here. Third")
    turn = rig.turn("hi")
    rig.assistant.build_prompt(turn)
    rig.assistant.generate(turn)
    sentences = [e.data["text"] for e in rig.of(EventType.SENTENCE)]
    assert sentences == ["First one here.", "Second one here.", "Third"]
    assert [e.data["index"] for e in rig.of(EventType.SENTENCE)] == [0, 1, 2]

    rig = Rig("First one here. Second one here. Third")
    turn = rig.turn("hi")
    rig.assistant.build_prompt(turn)

    def cancel_at_fifth_token(kind: EventType, **data: object) -> None:
        rig.events.append(AssistantEvent(kind, data))
        if len(rig.of(EventType.TOKEN)) == 5:
            turn.cancel.cancel()

    turn.emit = cancel_at_fifth_token
    rig.assistant.generate(turn)
    assert turn.result.cancelled
    assert [e.data["text"] for e in rig.of(EventType.SENTENCE)] == ["First one here."]


def test_a_cancelled_turn_is_not_remembered_but_its_words_are_kept() -> None:
    rig = Rig("one two three four five six")
    cancel = CancelToken()

    def stop_at_second_token(event: AssistantEvent) -> None:
        rig.events.append(event)
        if len(rig.of(EventType.TOKEN)) == 2:
            cancel.cancel()

    result = rig.assistant.turn(rig.conversation, "count for me", stop_at_second_token, cancel)
    assert result.cancelled and result.reply == "one two "
    assert rig.memory.store.count("turn") == 0
    stored = rig.store.messages(rig.conversation)[-1]
    assert stored.meta.get("cancelled") is True
    # The same turn, not cancelled, is remembered: the check above can fail.
    rig.assistant.turn(rig.conversation, "count again", rig.events.append)
    assert rig.memory.store.count("turn") == 1


def test_the_gate_is_held_for_the_whole_turn_and_released_after_a_failure() -> None:
    rig = Rig()
    seen: list[bool] = []
    rig.assistant.turn(rig.conversation, "hi", lambda e: seen.append(rig.gate.busy))
    assert seen and all(seen) and not rig.gate.busy
    rig.llm.fail_after_tokens = 1
    result = rig.assistant.turn(rig.conversation, "hi", lambda e: None)
    assert result.error is not None and not rig.gate.busy


def test_a_new_handler_can_ask_first_and_act_only_on_yes() -> None:
    rig = Rig()
    done: list[str] = []

    class Lights:
        name = "lights"

        def handle(self, request: Request) -> Handled | None:
            if "lights off" not in request.text:
                return None

            def yes() -> Handled:
                done.append("off")
                return Handled("Lights are off.", Action(self.name, "off", "Lights off"))

            return Handled(
                "Turn the lights off?",
                confirm=Confirmation(self.name, yes, lambda: Handled("Left on."), "Off", "Keep"),
            )

    rig.assistant.handlers.append(Lights())
    rig.assistant.turn(rig.conversation, "lights off please", rig.events.append)
    [ask] = rig.of(EventType.CONFIRM)
    assert ask.data == {
        "handler": "lights",
        "question": "Turn the lights off?",
        "yes": "Off",
        "no": "Keep",
    }
    assert done == []
    rig.events.clear()
    rig.assistant.turn(rig.conversation, "Off", rig.events.append)  # the button's label
    assert done == ["off"]
    assert rig.of(EventType.ACTION)[0].data["undo"] == ""  # no undo offered
    assert rig.llm.prompts == []


def test_undo_reverses_a_remembered_fact_once() -> None:
    rig = Rig()
    rig.assistant.turn(rig.conversation, "remember that my bike is blue", rig.events.append)
    [action] = rig.of(EventType.ACTION)
    assert rig.memory.store.count("fact") == 1
    message = rig.assistant.undo(str(action.data["undo"]))
    assert "no longer remember" in message and rig.memory.store.count("fact") == 0
    try:
        rig.assistant.undo(str(action.data["undo"]))
    except Exception as exc:
        assert getattr(exc, "code", "") == "undo"
    else:
        raise AssertionError("an undo ran twice")


def test_undo_of_a_forget_brings_the_fact_back() -> None:
    rig = Rig()
    rig.memory.remember_fact("my bike is blue")
    rig.assistant.turn(rig.conversation, "forget my bike", rig.events.append)
    rig.assistant.turn(rig.conversation, "yes", rig.events.append)
    [action] = rig.of(EventType.ACTION)
    assert action.data["action"] == "forgotten" and rig.memory.store.count("fact") == 0
    rig.assistant.undo(str(action.data["undo"]))
    assert [r.text for r in rig.memory.store.browse("fact")] == ["my bike is blue"]


def test_gate_waiters_resume_when_the_last_hold_ends() -> None:
    gate = ForegroundGate()
    gate.hold("turn")
    gate.hold("recording")
    resumed = threading.Event()

    def wait() -> None:
        gate.wait_clear()
        resumed.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    gate.release("turn")
    assert not resumed.wait(0.3)  # still recording
    gate.release("recording")
    assert resumed.wait(5)
    waiter.join(5)
    gate.release("recording")  # an extra release is harmless
    assert not gate.busy


def test_deleting_a_conversation_forgets_its_turns_and_unused_images() -> None:
    rig = Rig()

    class Archive:
        def __init__(self) -> None:
            self.kept: set[str] = set()

        def save(self, png: bytes) -> str:
            return "img-1"

        def load(self, key: str) -> bytes | None:
            return None

        def prune(self, keep: object) -> list[str]:
            self.kept = set(keep)  # type: ignore[call-overload]
            return []

    archive = Archive()
    rig.assistant.images = ImageServices(FakeOcr(), archive)
    rig.assistant.turn(rig.conversation, "what is this?", rig.events.append, images=[image()])
    other = rig.store.create_conversation().id
    rig.assistant.turn(other, "and this?", rig.events.append, images=[image()])
    assert rig.memory.store.count("turn") == 2
    rig.assistant.delete_conversation(rig.conversation)
    rig.assistant.forget_conversation(rig.conversation)
    assert rig.memory.store.count("turn") == 1
    assert archive.kept == {"img-1"}  # still shown by the other conversation


def test_prepare_reads_the_prompt_early_and_the_turn_reuses_its_recall() -> None:
    rig = Rig("Your dog is called Biscuit.")
    rig.memory.remember_fact("my dog is called Biscuit")
    rig.llm.load()
    embedder = rig.memory.embedder
    assert isinstance(embedder, FakeTextEmbedder)
    assert rig.assistant.prepare(rig.conversation, "what is my dog's name?", CancelToken())
    lookups = len(embedder.calls)
    prefill = rig.llm.prompts[-1]
    rig.assistant.turn(rig.conversation, "what is my dog's name?", rig.events.append)
    assert len(embedder.calls) == lookups + 1  # only the remembered turn, no second lookup
    assert rig.llm.prompts[-1] == prefill  # the same prompt: all of it is in the cache
    assert rig.of(EventType.RECALLED)[0].data["count"] == 1
    # Other final words are looked up again, and nothing was stored by the preparation.
    assert [m.role for m in rig.store.messages(rig.conversation)] == ["user", "assistant"]
    rig.assistant.prepare(rig.conversation, "what is my", CancelToken())
    before = len(embedder.calls)
    rig.assistant.turn(rig.conversation, "what is my dog called?", rig.events.append)
    assert len(embedder.calls) > before + 1


def test_the_final_recall_keeps_the_prepared_memories_first_so_the_cache_holds_them() -> None:
    from app.core.memory import Recalled

    rig = Rig("Anna's birthday is on 3 May.")
    rig.llm.load()

    def hit(name: str, score: float) -> MemoryHit:
        return MemoryHit(MemoryRecord(f"fact-{name}", "fact", f"note {name}", "chat"), score)

    # Half a question recalls A and B; the whole one ranks C first and B second.
    found = {
        "when is my sister": Recalled((hit("a", 0.6), hit("b", 0.5))),
        "when is my sister anna's birthday?": Recalled((hit("c", 0.9), hit("b", 0.7))),
    }
    rig.memory.recall = lambda text, **_kw: found[text.lower()]  # type: ignore[method-assign]
    assert rig.assistant.prepare(rig.conversation, "When is my sister", CancelToken())
    turn = rig.turn("When is my sister Anna's birthday?")
    rig.assistant.recall(turn)
    rig.assistant.build_prompt(turn)
    # Only memories recalled for the final words, B (prepared) before C (new).
    assert [h.record.id for h in turn.recalled.hits] == ["fact-b", "fact-c"]
    assert turn.plan is not None
    prompt = turn.plan.messages[-1].content
    assert prompt.index("note b") < prompt.index("note c") and "note a" not in prompt
