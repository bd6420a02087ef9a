"""The fast path on the phrasing set: accuracy and the wrong-action rate, at a frozen clock.

A wrong action is worse than none: it is counted when a tool would run that the phrase did
not ask for (another tool, other arguments, or any tool for chit-chat). A phrase the fast path
leaves alone goes to the model instead; that is a miss, not a wrong action.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from app.core.tools.alarm_tools import SetReminder
from app.core.tools.alarms import AlarmBook, MemoryAlarmStore
from app.core.tools.base import ToolCall
from app.core.tools.clock import ManualClock
from app.core.tools.intents import Matcher

from tests.unit.tool_phrases import ALL, NOTHING, Phrase

ZONE = ZoneInfo("Europe/London")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZONE)
MIN_ACCURACY = 0.97
MAX_WRONG_ACTIONS = 0.0


def matcher() -> Matcher:
    return Matcher(lambda: NOW, lambda: ZONE)


def outcome(call: ToolCall | None) -> tuple[str | None, dict[str, Any]]:
    """What would run: the tool and its arguments; a reminder by the time it rings."""
    if call is None:
        return None, {}
    if call.tool != "set_reminder":
        return call.tool, dict(call.args)
    book = AlarmBook(MemoryAlarmStore(), ManualClock(NOW))
    try:
        SetReminder(book).run(call.args)
    except Exception as exc:  # a reminder that cannot be set is no action
        return "refused", {"error": str(exc)}
    (alarm,) = book.active()
    due = alarm.local_due(ZONE).strftime("%Y-%m-%d %H:%M")
    return "set_reminder", {"text": alarm.text, "due": due, "repeat": alarm.repeat}


def judge(phrases: list[Phrase]) -> tuple[list[str], list[str]]:
    """(misses, wrong actions) as readable lines."""
    match = matcher()
    misses, wrong = [], []
    for text, tool, args in phrases:
        got_tool, got_args = outcome(match.match(text))
        if got_tool == tool and got_args == args:
            continue
        line = f"{text!r}: expected {tool} {args}, got {got_tool} {got_args}"
        if got_tool is None or got_tool == "refused":
            misses.append(line)
        else:
            wrong.append(line)
    return misses, wrong


def test_the_phrasing_set_is_large_and_has_negatives() -> None:
    assert len(ALL) >= 150
    assert len(NOTHING) >= 30


def test_accuracy_and_wrong_actions_on_the_phrasing_set() -> None:
    misses, wrong = judge(ALL)
    accuracy = 1 - (len(misses) + len(wrong)) / len(ALL)
    print(
        f"fast path: {len(ALL)} phrasings, accuracy {accuracy:.1%}, "
        f"wrong actions {len(wrong)} ({len(wrong) / len(ALL):.1%}), misses {len(misses)}"
    )
    assert len(wrong) / len(ALL) <= MAX_WRONG_ACTIONS, "\n".join(wrong)
    assert accuracy >= MIN_ACCURACY, "\n".join(misses + wrong)


@pytest.mark.parametrize(("text", "tool", "args"), NOTHING)
def test_chit_chat_negations_and_the_past_start_nothing(
    text: str, tool: str | None, args: dict[str, Any]
) -> None:
    assert matcher().match(text) is None
