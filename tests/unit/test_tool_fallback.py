"""The model fallback over a fake model: the schema offers every tool and "none", a choice is
validated again, a guess that would change something asks first, chit-chat never reaches the
model, and the model sees only the user's words."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from app.core.handlers import Request
from app.core.structured import check_schema
from app.core.tools.alarms import AlarmBook, MemoryAlarmStore
from app.core.tools.clock import ManualClock
from app.core.tools.fallback import choice_schema, might_be_tool
from app.core.tools.handler import ToolHandler
from app.core.tools.setup import tool_handler, tool_registry

from tests.fakes import FakeLanguageModel

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Europe/London"))


def rig(*replies: str) -> tuple[ToolHandler, AlarmBook, FakeLanguageModel]:
    llm = FakeLanguageModel()
    llm.structured_replies = list(replies)
    book = AlarmBook(MemoryAlarmStore(), ManualClock(NOW))
    return tool_handler(book, model=lambda: llm), book, llm


def test_the_schema_offers_none_and_each_tool_with_its_own_arguments() -> None:
    registry = tool_registry(AlarmBook(MemoryAlarmStore(), ManualClock(NOW)))
    schema = choice_schema(registry)
    check_schema(schema)
    names = [o["properties"]["tool"]["const"] for o in schema["anyOf"]]
    assert names[0] == "none" and set(names[1:]) == set(registry.names())
    timer = next(o for o in schema["anyOf"] if o["properties"]["tool"]["const"] == "set_timer")
    assert timer["properties"]["args"] == dict(registry.get("set_timer").schema)  # type: ignore[union-attr]


def test_a_read_the_model_chose_runs_at_once_with_the_tools_own_numbers() -> None:
    handler, _book, llm = rig('{"tool": "calculate", "args": {"expression": "15% of 80"}}')
    handled = handler.handle(Request("c", "what's fifteen percent of 80 pounds, roughly"))
    assert handled is not None and handled.confirm is None
    assert handled.reply == "15% of 80 = 12"
    (call,) = llm.structured_calls
    assert [m.role for m in call.messages] == ["system", "user"]
    assert call.messages[1].content == "what's fifteen percent of 80 pounds, roughly"


def test_a_change_the_model_chose_asks_first_and_no_changes_nothing() -> None:
    reply = {"tool": "set_reminder", "args": {"text": "stretch", "when": "in 20 minutes"}}
    handler, book, _llm = rig(json.dumps(reply), json.dumps(reply))
    asked = handler.handle(Request("c", "nudge me to stretch in twenty minutes"))
    assert asked is not None and asked.confirm is not None
    assert asked.reply == "Shall I set a reminder (text: stretch, when: in 20 minutes)?"
    assert book.active() == []
    asked.confirm.no()
    assert book.active() == []
    again = handler.handle(Request("c", "nudge me to stretch in twenty minutes"))
    assert again is not None and again.confirm is not None
    done = again.confirm.yes()
    assert done.reply.startswith("I'll remind you to stretch today at 10:20")
    assert [a.text for a in book.active()] == ["stretch"]


def test_none_a_broken_reply_or_bad_arguments_leave_it_to_the_chat_model() -> None:
    handler, book, _llm = rig(
        '{"tool": "none"}',
        '{"tool": "set_timer", "args": {"seconds": 999999}}',  # over the schema's maximum
        '{"tool": "set_ti',  # cut off
    )
    for _ in range(3):
        assert handler.handle(Request("c", "my timer app keeps crashing")) is None
    assert book.active() == []


def test_chit_chat_never_reaches_the_model() -> None:
    handler, _book, llm = rig('{"tool": "none"}')
    for text in ("what is the capital of Peru", "tell me a joke", "how many legs has a spider"):
        assert not might_be_tool(text)
        assert handler.handle(Request("c", text)) is None
    assert llm.structured_calls == []


def test_a_template_match_never_asks_the_model() -> None:
    handler, book, llm = rig('{"tool": "none"}')
    handled = handler.handle(Request("c", "set a timer for ten minutes"))
    assert handled is not None and handled.reply == "Timer set for 10 minutes."
    assert llm.structured_calls == [] and len(book.active()) == 1


def test_a_choice_against_the_words_is_dropped_and_statements_never_reach_the_model() -> None:
    wrong = '{"tool": "set_reminder", "args": {"text": "the wifi password", "when": "tomorrow"}}'
    handler, book, llm = rig(wrong)
    assert handler.handle(Request("c", "jot this down: the wifi password is on the router")) is None
    assert len(llm.structured_calls) == 1 and book.active() == []  # asked, and overruled
    for said in (
        "who invented the kitchen timer",
        "my alarm didn't go off this morning",
        "don't remind me about that again",
        "I wrote some notes in class today",
        "the meeting was cancelled yesterday",
    ):
        assert not might_be_tool(said), said
    assert might_be_tool("I need eggs on the shopping list")
