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
from app.core.tools.calendar import Calendar, MemoryCalendarStore
from app.core.tools.calendar_tools import AddEvent, read_range
from app.core.tools.clock import ManualClock
from app.core.tools.intents import Matcher
from app.core.tools.when import parse_when

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
    if call.tool in CALENDAR_TOOLS:
        return call.tool, calendar_outcome(call)
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


CALENDAR_TOOLS = ("add_event", "list_events", "move_event", "cancel_event")


def _day(said: str) -> str:
    found = read_range(said, NOW) if said else None
    return found[0].isoformat() if found is not None and found[0] == found[1] else ""


def calendar_outcome(call: ToolCall) -> dict[str, Any]:
    """An event by its title, start, length and repeat; a day or week by its first and last
    day; a move by the new time (only the day when no time was said)."""
    args = call.args
    if call.tool == "add_event":
        try:
            planned = AddEvent(Calendar(MemoryCalendarStore(), ManualClock(NOW))).plan(args)
        except Exception as exc:
            return {"error": str(exc)}
        start = planned.start.astimezone(ZONE)
        shown = f"{start:%Y-%m-%d}" if planned.all_day else f"{start:%Y-%m-%d %H:%M}"
        minutes = round((planned.end - planned.start).total_seconds() / 60)
        return {
            "title": planned.title,
            "start": shown,
            "minutes": minutes,
            "repeat": planned.repeat,
        }
    if call.tool == "list_events":
        found = read_range(str(args.get("range", "")), NOW)
        if found is None:
            return {"error": "no range"}
        return {"first": found[0].isoformat(), "last": found[1].isoformat()}
    on = _day(str(args.get("on", "")))
    if call.tool == "move_event":
        when = parse_when(str(args["when"]), NOW, ZONE)
        if when is None:
            return {"error": "no time"}
        to = f"{when.at:%Y-%m-%d %H:%M}" if when.has_time else f"{when.at:%Y-%m-%d}"
        return {"title": args["title"], "to": to, "on": on}
    return {"title": args["title"], "on": on}


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
