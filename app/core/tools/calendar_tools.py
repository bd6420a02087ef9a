"""The calendar tools: add an event, list a day or a week, move one, cancel one.

Times arrive as the user's words ("tomorrow at 3", "every Monday at 9", "this week") and are
read by :mod:`app.core.tools.when` and :mod:`app.core.tools.repeat`. Adding an event that
overlaps another names the other and asks first; moving and cancelling always ask (they are
destructive) and can be undone from the card.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from app.core.tools.base import (
    AsksNothing,
    Risk,
    ToolError,
    ToolResult,
    first_up,
    object_schema,
)
from app.core.tools.calendar import UTC, Calendar, Event, Occurrence
from app.core.tools.repeat import parse_repeat
from app.core.tools.when import parse_when

DEFAULT_LENGTH = 60
"""Minutes an event lasts when the user gives no length."""


@dataclass(frozen=True, slots=True)
class Planned:
    title: str
    start: datetime
    end: datetime
    repeat: str | None
    all_day: bool
    said: str
    """How Hearth says when: "on Friday 4 December at 15:00", "every Monday at 09:00"."""


TITLE = {"type": "string", "minLength": 1, "maxLength": 200}
WHEN = {"type": "string", "minLength": 1, "maxLength": 80}
ON = {"type": "string", "maxLength": 80}


class CalendarTool:
    """What the calendar tools share: their calendar, and the occurrence a request names."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar

    def target(self, args: Mapping[str, Any]) -> Occurrence | None:
        """The soonest occurrence whose title holds the words of ``title`` (on ``on``)."""
        found = _target(self.calendar, args)
        return found[0] if found else None


def day_words(day: date, today: date) -> str:
    """ "today", "tomorrow", "Friday 4 December", "Friday 4 December 2027"."""
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    year = "" if day.year == today.year else f" {day.year}"
    return f"{day:%A} {day.day} {day:%B}{year}"


def span(occurrence: Occurrence, zone: Any) -> str:
    """ "15:00-16:00", or "all day"."""
    if occurrence.event.all_day:
        return "all day"
    start, end = occurrence.start.astimezone(zone), occurrence.end.astimezone(zone)
    return f"{start:%H:%M}\u2013{end:%H:%M}"


def event_card(event: Event, start: datetime | None = None) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": "event",
        "text": event.title,
        "due": (start or event.start).isoformat(),
        "repeat": event.repeat,
    }


class AddEvent(CalendarTool):
    name = "add_event"
    description = (
        "Put an event in the user's calendar. 'when' is the user's own words for its time "
        "('on Friday at 3', 'tomorrow at 10', 'every Monday at 9')."
    )
    schema = object_schema(
        {
            "title": TITLE,
            "when": WHEN,
            "minutes": {"type": "integer", "minimum": 1, "maximum": 14 * 24 * 60},
        },
        ["title", "when"],
    )
    risk = Risk.CREATE

    def plan(self, args: Mapping[str, Any]) -> Planned:
        clock = self.calendar.clock
        now, zone = clock.now(), clock.zone
        title, when = str(args["title"]).strip(), str(args["when"]).strip()
        length = timedelta(minutes=int(args.get("minutes") or DEFAULT_LENGTH))
        repeat = parse_repeat(when, now, zone)
        if repeat is not None:
            start = repeat.first
            return Planned(title, start, start + length, repeat.rule, False, repeat.words)
        found = parse_when(when, now, zone)
        if found is None:
            raise ToolError(f"I could not tell when “{when}” is, so I added nothing.")
        day = found.at.date()
        if not found.has_time:
            start = datetime(day.year, day.month, day.day, tzinfo=zone)
            said = f"{_on(day, now.date())}, all day"
            return Planned(title, start, start + timedelta(days=1), None, True, said)
        if found.at <= now:
            raise ToolError(f"{found.at:%H:%M} {day_words(day, now.date())} has already passed.")
        said = f"{_on(day, now.date())} at {found.at:%H:%M}"
        return Planned(title, found.at, found.at + length, None, False, said)

    def confirm(self, args: Mapping[str, Any]) -> str | None:
        try:
            planned = self.plan(args)
        except ToolError:
            return None  # the run says why
        if planned.all_day:
            return None  # a whole day blocks no time
        clashes = self.calendar.conflicts(planned.start, planned.end)
        if not clashes:
            return None
        return (
            f"That overlaps {_clash_names(clashes, self.calendar)}. "
            f"Add “{planned.title}” {planned.said} anyway?"
        )

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        planned = self.plan(args)
        event = self.calendar.add(
            planned.title, planned.start, planned.end, planned.repeat, all_day=planned.all_day
        )
        if planned.all_day or planned.repeat:
            until = ""
        else:
            until = f", until {planned.end.astimezone(self.calendar.clock.zone):%H:%M}"
        reply = f"Added “{event.title}” to your calendar {planned.said}{until}."

        def undo() -> str:
            self.calendar.remove([event])
            return f"Undone: “{event.title}” is off your calendar."

        summary = f"Event: {event.title}, {planned.said}"
        return ToolResult(reply, "created", summary, (event.id,), undo, event_card(event))


class ListEvents(AsksNothing, CalendarTool):
    name = "list_events"
    description = (
        "Say what is in the user's calendar for a day or a week ('today', 'tomorrow', "
        "'Thursday', 'this week', 'next week', 'the weekend'); empty: the next 7 days."
    )
    schema = object_schema({"range": {"type": "string", "maxLength": 80}}, [])
    risk = Risk.READ

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        clock = self.calendar.clock
        now, zone = clock.now(), clock.zone
        said = str(args.get("range", "")).strip().rstrip("?.!")
        found = read_range(said, now)
        if found is None:
            raise ToolError(f"I could not tell which day “{said}” is.")
        first, last, label = found
        start = datetime(first.year, first.month, first.day, tzinfo=zone)
        end = datetime(last.year, last.month, last.day, tzinfo=zone) + timedelta(days=1)
        if first == now.date() and label != "today":
            start = max(start, now.replace(hour=0, minute=0, second=0, microsecond=0))
        occurrences = self.calendar.occurrences(start, end)
        if not occurrences:
            return ToolResult(f"Nothing in your calendar {label}.")
        if first == last:
            lines = [f"- {span(o, zone)} {o.title}" for o in occurrences]
        else:
            lines = [
                f"- {first_up(day_words(o.start.astimezone(zone).date(), now.date()))}, "
                f"{span(o, zone)} {o.title}"
                for o in occurrences
            ]
        head = f"{len(occurrences)} event{'s' if len(occurrences) != 1 else ''} {label}:"
        return ToolResult(
            head + "\n" + "\n".join(lines),
            card={"events": [event_card(o.event, o.start) for o in occurrences]},
        )


def read_range(said: str, now: datetime) -> tuple[date, date, str] | None:
    """(first day, last day, how to say it) of "tomorrow", "this week", "the weekend"..."""
    s = " ".join(said.lower().split())
    s = re.sub(r"^(on|for|in|during)\s+", "", s)
    today = now.date()
    monday = today - timedelta(days=today.weekday())
    if s in ("", "coming up", "the next few days", "the next week", "the coming week", "soon"):
        return today, today + timedelta(days=6), "in the next 7 days"
    if s in ("this week", "the week"):
        return today, monday + timedelta(days=6), "this week"
    if s == "next week":
        return monday + timedelta(days=7), monday + timedelta(days=13), "next week"
    if s in ("the weekend", "this weekend", "weekend"):
        saturday = monday + timedelta(days=5)
        first = max(saturday, today)
        return first, saturday + timedelta(days=1), "this weekend"
    if s == "next weekend":
        saturday = monday + timedelta(days=12)
        return saturday, saturday + timedelta(days=1), "next weekend"
    if s in ("today", "tonight", "this evening", "this afternoon", "this morning"):
        return today, today, "today"
    found = parse_when(s, now, now.tzinfo or UTC)
    if found is None:
        return None
    day = found.at.date()
    return day, day, _on(day, today)


def _on(day: date, today: date) -> str:
    words = day_words(day, today)
    return words if words in ("today", "tomorrow") else f"on {words}"


def _clash_names(clashes: Sequence[Occurrence], calendar: Calendar) -> str:
    zone, today = calendar.clock.zone, calendar.clock.now().date()
    named = [
        f"“{o.title}” ({_on(o.start.astimezone(zone).date(), today)}, {span(o, zone)})"
        for o in clashes[:3]
    ]
    more = f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
    return ", ".join(named) + more


def _target(calendar: Calendar, args: Mapping[str, Any]) -> list[Occurrence]:
    title = str(args.get("title", "")).strip()
    on = str(args.get("on", "")).strip()
    day = None
    if on:
        now = calendar.clock.now()
        found = read_range(on, now)
        if found is None or found[0] != found[1]:
            return []
        day = found[0]
    return calendar.find(title, day)


def _new_start(calendar: Calendar, occurrence: Occurrence, when: str) -> datetime:
    clock = calendar.clock
    now, zone = clock.now(), clock.zone
    found = parse_when(when, now, zone)
    if found is None:
        raise ToolError(f"I could not tell when “{when}” is, so I moved nothing.")
    if found.has_time:
        return found.at
    old = occurrence.start.astimezone(zone)  # "to Friday": the same time on Friday
    day = found.at.date()
    return old.replace(year=day.year, month=day.month, day=day.day)


class MoveEvent(CalendarTool):
    name = "move_event"
    description = (
        "Move an event in the user's calendar to another time (asks first; can be undone). "
        "'on' is the day it is on now, when the title alone is not enough."
    )
    schema = object_schema(
        {
            "title": TITLE,
            "when": WHEN,
            "on": ON,
        },
        ["title", "when"],
    )
    risk = Risk.DESTRUCTIVE

    def confirm(self, args: Mapping[str, Any]) -> str | None:
        occurrence = self.target(args)
        if occurrence is None:
            return None
        try:
            start = _new_start(self.calendar, occurrence, str(args["when"]))
        except ToolError:
            return None
        end = start + (occurrence.end - occurrence.start)
        zone, today = self.calendar.clock.zone, self.calendar.clock.now().date()
        old = occurrence.start.astimezone(zone)
        new = start.astimezone(zone)
        question = (
            f"Move “{occurrence.title}” from {day_words(old.date(), today)} {old:%H:%M} "
            f"to {day_words(new.date(), today)} {new:%H:%M}?"
        )
        if occurrence.event.repeat:
            question += " Only this one; the others stay."
        clashes = [
            o for o in self.calendar.conflicts(start, end) if o.event.id != occurrence.event.id
        ]
        if clashes:
            question += f" It would overlap {_clash_names(clashes, self.calendar)}."
        return question

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        occurrence = self.target(args)
        if occurrence is None:
            return ToolResult(f"I found no “{args['title']}” in your calendar.")
        start = _new_start(self.calendar, occurrence, str(args["when"]))
        if start <= self.calendar.clock.now():
            raise ToolError("That time has already passed, so I moved nothing.")
        before, after = self.calendar.move(occurrence, start)
        zone, today = self.calendar.clock.zone, self.calendar.clock.now().date()
        new = start.astimezone(zone)
        reply = f"Moved “{occurrence.title}” to {day_words(new.date(), today)} at {new:%H:%M}."

        def undo() -> str:
            self.calendar.undo_change(before, after)
            return f"Undone: “{occurrence.title}” is back where it was."

        moved = after[-1]
        return ToolResult(reply, "moved", reply, (moved.id,), undo, event_card(moved))


class CancelEvent(CalendarTool):
    name = "cancel_event"
    description = (
        "Cancel an event in the user's calendar (asks first; can be undone). With 'on', only "
        "that day's occurrence of a repeating event."
    )
    schema = object_schema(
        {
            "title": TITLE,
            "on": ON,
        },
        ["title"],
    )
    risk = Risk.DESTRUCTIVE

    def confirm(self, args: Mapping[str, Any]) -> str | None:
        occurrence = self.target(args)
        if occurrence is None:
            return None
        zone, today = self.calendar.clock.zone, self.calendar.clock.now().date()
        at = occurrence.start.astimezone(zone)
        when = f"{day_words(at.date(), today)}, {span(occurrence, zone)}"
        if occurrence.event.repeat and not args.get("on"):
            return f"Cancel “{occurrence.title}” and every time it repeats (next: {when})?"
        return f"Cancel “{occurrence.title}” ({when})?"

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        occurrence = self.target(args)
        if occurrence is None:
            return ToolResult(f"I found no “{args['title']}” in your calendar.")
        event = occurrence.event
        reply = f"Cancelled “{event.title}”."
        if event.repeat and args.get("on"):  # that day's only
            self.calendar.put([replace(event, exdates=(*event.exdates, occurrence.start))])
            day = occurrence.start.astimezone(self.calendar.clock.zone).date()
            on = _on(day, self.calendar.clock.now().date())
            reply = f"Cancelled “{event.title}” {on}; the others stay."
        else:
            self.calendar.remove([event])

        def undo() -> str:
            self.calendar.put([event])
            return f"Undone: “{event.title}” is back in your calendar."

        return ToolResult(reply, "cancelled", reply, (event.id,), undo, event_card(event))


def calendar_tools(calendar: Calendar) -> list[Any]:
    return [AddEvent(calendar), ListEvents(calendar), MoveEvent(calendar), CancelEvent(calendar)]
