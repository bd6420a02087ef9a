"""Follow-up questions: "set a timer" asks "For how long?" and the answer sets it; a reminder
without a time asks when; "never mind" and an unrelated answer drop the question; a question
belongs to its conversation and expires."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.core.handlers import Request
from app.core.tools.alarms import AlarmBook, MemoryAlarmStore
from app.core.tools.clock import ManualClock
from app.core.tools.follow_up import WAIT_SECONDS, FollowUps, incomplete
from app.core.tools.handler import ToolHandler
from app.core.tools.setup import tool_handler

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Europe/London"))


def rig() -> tuple[ToolHandler, AlarmBook]:
    book = AlarmBook(MemoryAlarmStore(), ManualClock(NOW))
    return tool_handler(book), book


def reply(handler: ToolHandler, text: str, conversation: str = "c") -> str | None:
    handled = handler.handle(Request(conversation, text))
    return handled.reply if handled is not None else None


def test_set_a_timer_asks_how_long_and_the_answer_sets_it() -> None:
    handler, book = rig()
    assert handler.claims(Request("c", "Set a timer."))
    assert reply(handler, "Set a timer.") == "For how long?"
    assert book.active() == []
    assert handler.claims(Request("c", "ten minutes"))
    assert reply(handler, "ten minutes") == "Timer set for 10 minutes."
    assert [a.seconds for a in book.active()] == [600]
    assert reply(handler, "five minutes") is None  # asked once, answered once


def test_a_named_timer_and_a_reminder_without_a_time() -> None:
    handler, book = rig()
    assert reply(handler, "start the pasta timer") == "For how long?"
    assert reply(handler, "12 minutes") == "Pasta timer set for 12 minutes."
    assert reply(handler, "remind me to call mum") == "When should I remind you?"
    assert reply(handler, "tomorrow at 9") == "I'll remind you to call mum tomorrow at 09:00."
    assert reply(handler, "remind me") == "What should I remind you of, and when?"
    assert reply(handler, "to take the bins out at 8pm") == (
        "I'll remind you to take the bins out today at 20:00."
    )
    assert reply(handler, "add to my shopping list") == "What should I add?"
    assert reply(handler, "eggs and bread") == "Added eggs and bread to your shopping list."
    assert len(book.active()) == 3


def test_never_mind_or_another_question_drops_it() -> None:
    handler, book = rig()
    reply(handler, "set a timer")
    assert reply(handler, "never mind") == "All right, I did nothing."
    reply(handler, "set a timer")
    assert not handler.claims(Request("c", "what is the capital of France"))
    assert reply(handler, "what is the capital of France") is None  # for the chat model
    assert reply(handler, "ten minutes") is None  # the question was dropped
    assert book.active() == []


def test_a_question_belongs_to_its_conversation_and_expires() -> None:
    handler, book = rig()
    reply(handler, "set a timer", "kitchen")
    assert reply(handler, "ten minutes", "office") is None
    assert reply(handler, "ten minutes", "kitchen") == "Timer set for 10 minutes."
    now = [0.0]
    follow_ups = FollowUps(clock=lambda: now[0])
    follow_ups.ask("c", "For how long?", "set a timer for {}")
    now[0] = WAIT_SECONDS + 1
    assert follow_ups.waiting("c") is None and follow_ups.take("c") is None
    assert len(book.active()) == 1


def test_what_counts_as_incomplete() -> None:
    assert incomplete("Hey Hearth, set a timer please") == ("For how long?", "set a timer for {}")
    assert incomplete("set a timer for ten minutes") is None
    assert incomplete("I set a timer") is None
    assert incomplete("should I set a timer") is None


def test_the_reply_is_foreseen_without_changing_anything() -> None:
    handler, book = rig()

    def preview(text: str) -> str | None:
        return handler.preview(Request("c", text))

    assert preview("set a pasta timer for 12 minutes") == "Pasta timer set for 12 minutes."
    assert preview("remind me to call mum tomorrow at 9") == (
        "I'll remind you to call mum tomorrow at 09:00."
    )
    assert preview("add eggs to my shopping list") == "Added eggs to your shopping list."
    assert preview("set a timer") == "For how long?"
    assert preview("what is 17% of 2,340") == "17% of 2,340 = 397.8"
    assert book.active() == []
    reply(handler, "set a timer for ten minutes")
    assert preview("cancel the timer") is not None and "Cancel this?" in str(
        preview("cancel the timer")
    )
    assert len(book.active()) == 1  # the question foreseen, nothing cancelled
    assert preview("what is the capital of France") is None
    reply(handler, "set a timer")
    assert preview("ten minutes") == "Timer set for 10 minutes."  # the follow-up's answer
