"""Personal memory logic with fakes: intents, recall within budget, citations, forgetting."""

from __future__ import annotations

import pytest
from app.core.assistant import Assistant, AssistantConfig
from app.core.events import AssistantEvent, EventType
from app.core.grounding import NOT_FOUND
from app.core.handlers import yes_or_no
from app.core.memory import (
    Memory,
    fact_id,
    forget_intent,
    remember_intent,
)
from app.core.ports import TextEmbedder

from tests.fakes import (
    FakeLanguageModel,
    FakeTextEmbedder,
    ListMemoryStore,
    MemoryConversationStore,
)


@pytest.mark.parametrize(
    ("said", "fact"),
    [
        ("remember that my dog is called Biscuit", "my dog is called Biscuit"),
        (
            "Please remember: the wifi password is on the fridge.",
            "the wifi password is on the fridge",
        ),
        ("Remember my sister lives in Lyon", "my sister lives in Lyon"),
        ("remember that", None),
        ("do you remember my dog?", None),
        ("what should I remember for the exam?", None),
    ],
)
def test_remember_intent(said: str, fact: str | None) -> None:
    assert remember_intent(said) == fact


@pytest.mark.parametrize(
    ("said", "what"),
    [
        ("forget my dog's name", "my dog's name"),
        ("Please forget about the wifi password.", "the wifi password"),
        ("forget that my sister lives in Lyon", "my sister lives in Lyon"),
        ("I always forget my keys", None),
        ("don't forget the milk", None),
    ],
)
def test_forget_intent(said: str, what: str | None) -> None:
    assert forget_intent(said) == what


def test_yes_or_no() -> None:
    assert yes_or_no("Yes.") is True and yes_or_no("yes please") is True
    assert yes_or_no("Yes, please.") is True and yes_or_no("Yeah.") is True
    assert yes_or_no("no") is False and yes_or_no("No, thanks!") is False
    assert yes_or_no("Keep it!") is None  # only a question that offers it
    assert yes_or_no("Keep it!", no=frozenset({"keep it"})) is False
    assert yes_or_no("what do you mean?") is None


def test_facts_have_stable_ids() -> None:
    assert fact_id("My dog is  called Biscuit") == fact_id("my dog is called biscuit")
    assert fact_id("my dog is called Biscuit") != fact_id("my cat is called Biscuit")


def test_fake_embedder_implements_the_protocol() -> None:
    assert isinstance(FakeTextEmbedder(), TextEmbedder)


class Rig:
    def __init__(self, reply: str = "Your dog is called Biscuit.") -> None:
        self.store = MemoryConversationStore()
        self.memory = Memory(FakeTextEmbedder(), ListMemoryStore())
        self.llm = FakeLanguageModel(reply)
        self.assistant = Assistant(self.llm, self.store, AssistantConfig(), self.memory)
        self.events: list[AssistantEvent] = []

    def say(self, text: str, conversation: str = "") -> str:
        conversation = conversation or self.store.create_conversation().id
        self.events = []
        result = self.assistant.turn(conversation, text, self.events.append)
        assert result.error is None
        return conversation

    def reply(self) -> str:
        return "".join(e.data["text"] for e in self.events if e.type is EventType.TOKEN)

    def of(self, kind: EventType) -> list[AssistantEvent]:
        return [e for e in self.events if e.type is kind]


def test_remembered_fact_is_recalled_in_a_new_conversation_and_cited() -> None:
    rig = Rig()
    first = rig.say("remember that my dog is called Biscuit")
    assert rig.reply() == "Got it. I'll remember: my dog is called Biscuit"
    assert rig.llm.prompts == []  # no model call needed to remember
    [memory_event] = rig.of(EventType.ACTION)
    assert memory_event.data["action"] == "remembered"
    assert memory_event.data["handler"] == "memory" and memory_event.data["undo"]
    assert rig.memory.store.count("fact") == 1

    second = rig.say("what is my dog's name?")
    assert second != first
    prompt = rig.llm.prompts[-1]
    assert prompt[0].role == "system" and "Biscuit" not in prompt[0].content  # cache-stable
    assert "[1] (fact) <<<my dog is called Biscuit>>>" in prompt[-1].content
    assert prompt[-1].content.endswith("what is my dog's name?")
    [cited] = rig.of(EventType.CITATIONS)
    assert cited.data["citations"][0]["kind"] == "fact"
    assert cited.data["citations"][0]["text"] == "my dog is called Biscuit"
    stored = rig.store.messages(second)[-1]
    assert stored.meta["citations"][0]["id"] == fact_id("my dog is called Biscuit")  # type: ignore[index]
    assert rig.memory.store.count("turn") == 1  # the answered turn is remembered too


def test_forget_asks_first_and_then_the_fact_and_turns_using_it_are_gone() -> None:
    rig = Rig()
    rig.say("remember that my dog is called Biscuit")
    rig.say("what is my dog's name?")
    conversation = rig.say("forget my dog's name")
    [ask] = rig.of(EventType.CONFIRM)
    assert ask.data["handler"] == "memory" and ask.data["yes"] == "Yes, forget it"
    assert "my dog is called Biscuit" in ask.data["question"]
    assert rig.of(EventType.ACTION) == []
    assert "Should I forget this?" in rig.reply()
    assert rig.memory.store.count("fact") == 1  # nothing removed before the yes

    rig.say("yes", conversation)
    assert rig.reply() == "Done. I have forgotten it."
    assert rig.memory.store.count("fact") == 0
    assert rig.memory.store.count("turn") == 0  # the answer that cited it went too

    asked = len(rig.llm.prompts)
    rig.say("what is my dog's name?")
    assert rig.reply() == NOT_FOUND  # nothing left to answer from: said plainly, no guess
    assert len(rig.llm.prompts) == asked  # the model was not even asked
    assert rig.of(EventType.CITATIONS) == []


def test_no_keeps_the_memory_and_other_replies_drop_the_question() -> None:
    rig = Rig()
    rig.say("remember that my dog is called Biscuit")
    conversation = rig.say("forget my dog")
    rig.say("no", conversation)
    assert rig.reply() == "All right, I kept it." and rig.memory.store.count("fact") == 1
    rig.say("forget my dog", conversation)
    rig.say("tell me a joke", conversation)  # not an answer: an ordinary turn
    assert rig.memory.store.count("fact") == 1
    rig.say("yes", conversation)  # the question is no longer open
    assert rig.memory.store.count("fact") == 1


def test_forgetting_something_unknown_says_so() -> None:
    rig = Rig()
    rig.say("forget my passport number")
    assert rig.reply().startswith("I don't remember anything about")


def test_recall_respects_the_token_budget_and_skips_this_conversation() -> None:
    rig = Rig()
    for n in range(10):
        rig.memory.remember_fact(f"dog fact number {n} about walking the dog in the park")
    recalled = rig.memory.recall(
        "when should I walk the dog?", count_tokens=lambda t: len(t.split()), budget_tokens=60
    )
    assert 1 <= len(recalled.hits) < 10
    assert sum(len(h.record.text.split()) + 12 for h in recalled.hits) <= 60
    conversation = rig.say("walking the dog in the park is fun")
    again = rig.memory.recall(
        "walking the dog in the park",
        count_tokens=lambda t: len(t.split()),
        exclude_conversation=conversation,
    )
    assert all(h.record.kind != "turn" for h in again.hits)


def test_citations_need_the_reply_to_use_the_memory() -> None:
    rig = Rig(reply="I do not know.")
    rig.say("remember that my dog is called Biscuit")
    rig.say("what is my dog's name?")
    assert rig.of(EventType.CITATIONS) == []  # recalled, but not used
    assert rig.of(EventType.RECALLED)[0].data["count"] == 1


def test_a_long_passage_is_cut_to_the_sentences_that_answer() -> None:
    from app.core.ports import MemoryRecord

    rig = Rig()
    filler = " ".join(
        f"Paragraph {i} talks about routine weekly chores and errands." for i in range(8)
    )
    text = f"{filler} The wifi password for guests is lantern-42. {filler}"
    rig.memory.store.upsert(
        [MemoryRecord("doc-1", "document", text, "/notes/house.md", "house.md")],
        rig.memory.embedder.embed([text]),
    )
    recalled = rig.memory.recall(
        "what is the wifi password for guests?", count_tokens=lambda t: len(t.split())
    )
    [hit] = recalled.hits
    assert "lantern-42" in hit.record.text
    assert len(hit.record.text) < len(text) / 4  # two sentences, not the whole chunk
    assert hit.record.id == "doc-1"  # the citation still opens the whole file
