"""The timer and reminder tools: set, list, how long is left, cancel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from app.core.tools.alarms import Alarm, AlarmBook, clock_words, duration_words, span_words
from app.core.tools.base import (
    AsksNothing,
    Risk,
    ToolError,
    ToolResult,
    first_up,
    object_schema,
)
from app.core.tools.repeat import parse_repeat
from app.core.tools.when import parse_when

MAX_TIMER = 24 * 3600


def card(alarm: Alarm) -> dict[str, Any]:
    return {
        "id": alarm.id,
        "kind": alarm.kind,
        "text": alarm.text,
        "due": alarm.due.isoformat(),
        "repeat": alarm.repeat,
    }


class SetTimer(AsksNothing):
    name = "set_timer"
    description = "Start a countdown timer that rings when it ends."
    schema = object_schema(
        {
            "seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMER},
            "name": {"type": "string", "maxLength": 40},
        },
        ["seconds"],
    )
    risk = Risk.CREATE

    def __init__(self, book: AlarmBook) -> None:
        self.book = book

    @staticmethod
    def _said(args: Mapping[str, Any]) -> tuple[str, str]:
        """(label, length): ("Pasta timer", "12 minutes")."""
        name = str(args.get("name", "")).strip()
        length = span_words(timedelta(seconds=float(args["seconds"])))
        return (f"{first_up(name)} timer" if name else "Timer"), length

    def preview(self, args: Mapping[str, Any]) -> str:
        """The reply :meth:`run` will give, without setting anything."""
        label, length = self._said(args)
        return f"{label} set for {length}."

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        seconds = float(args["seconds"])
        alarm = self.book.set_timer(seconds, str(args.get("name", "")))
        label, length = self._said(args)
        ends = alarm.local_due(self.book.clock.zone)

        def undo() -> str:
            self.book.remove([alarm])
            return f"Undone: {alarm.describe()} is gone."

        return ToolResult(
            self.preview(args),
            "created",
            f"{label}: {length}, rings at {ends:%H:%M:%S}",
            (alarm.id,),
            undo,
            card(alarm),
        )


class SetReminder(AsksNothing):
    name = "set_reminder"
    description = (
        "Remind the user of something at a time, once or repeating. 'when' is the user's own "
        "words for the time ('tomorrow at 9', 'in 20 minutes', 'every Monday at 8')."
    )
    schema = object_schema(
        {
            "text": {"type": "string", "minLength": 1, "maxLength": 200},
            "when": {"type": "string", "minLength": 1, "maxLength": 80},
        },
        ["text", "when"],
    )
    risk = Risk.CREATE

    def __init__(self, book: AlarmBook) -> None:
        self.book = book

    def _plan(self, args: Mapping[str, Any]) -> tuple[datetime, str | None, str, str]:
        """(first time it rings, RRULE or None, the reply, the card's line); ToolError when
        the time cannot be read or has passed."""
        clock = self.book.clock
        now, zone = clock.now(), clock.zone
        text, when = str(args["text"]).strip(), str(args["when"])
        repeat = parse_repeat(when, now, zone)
        if repeat is not None:
            first = repeat.first.astimezone(zone)
            reply = f"I'll remind you to {text} {repeat.words}, starting {clock_words(first, now)}."
            return repeat.first, repeat.rule, reply, f"Reminder: {text}, {repeat.words}"
        found = parse_when(when, now, zone)
        if found is None:
            raise ToolError(f"I could not tell when “{when}” is, so I set no reminder.")
        if found.at <= now:
            raise ToolError(
                f"{first_up(clock_words(found.at, now))} has already passed, so I set no reminder."
            )
        at = clock_words(found.at.astimezone(zone), now)
        return found.at, None, f"I'll remind you to {text} {at}.", f"Reminder: {text}, {at}"

    def preview(self, args: Mapping[str, Any]) -> str:
        """The reply :meth:`run` will give, without setting anything."""
        try:
            return self._plan(args)[2]
        except ToolError as exc:
            return exc.message

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        text = str(args["text"]).strip()
        due, rule, reply, summary = self._plan(args)
        alarm = self.book.set_reminder(text, due, rule)

        def undo() -> str:
            self.book.remove([alarm])
            return f"Undone: no reminder to {text}."

        return ToolResult(reply, "created", summary, (alarm.id,), undo, card(alarm))


class ListAlarms(AsksNothing):
    name = "list_alarms"
    description = "List the timers and reminders that are set."
    schema = object_schema({"kind": {"enum": ["timer", "reminder", "all"]}}, ["kind"])
    risk = Risk.READ

    def __init__(self, book: AlarmBook) -> None:
        self.book = book

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        kind = args.get("kind", "all")
        alarms = self.book.active(None if kind == "all" else kind)
        what = {"timer": "timers", "reminder": "reminders"}.get(kind, "timers or reminders")
        if not alarms:
            return ToolResult(f"You have no {what} set.")
        lines = [describe_line(self.book, a) for a in alarms]
        head = f"You have {len(alarms)} {_noun(kind, len(alarms))}:"
        return ToolResult(head + "\n" + "\n".join(f"- {line}" for line in lines))


def _noun(kind: str, n: int) -> str:
    one = {"timer": "timer", "reminder": "reminder"}.get(kind, "timer or reminder")
    many = {"timer": "timers", "reminder": "reminders"}.get(kind, "timers and reminders")
    return one if n == 1 else many


def describe_line(book: AlarmBook, alarm: Alarm) -> str:
    now, zone = book.clock.now(), book.clock.zone
    if alarm.state == "ringing":
        return f"{first_up(alarm.describe())} is ringing"
    if alarm.kind == "timer":
        return f"{first_up(alarm.describe())}: {span_words(book.left(alarm))} left"
    due = clock_words(alarm.local_due(zone), now)
    again = ", repeating" if alarm.repeat else ""
    return f"{first_up(alarm.text) or 'Reminder'}: {due}{again}"


class TimeLeft(AsksNothing):
    name = "time_left"
    description = "Say how long is left on a timer."
    schema = object_schema({"name": {"type": "string", "maxLength": 40}}, [])
    risk = Risk.READ

    def __init__(self, book: AlarmBook) -> None:
        self.book = book

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        name = str(args.get("name", ""))
        timers = self.book.find(name, "timer")
        if not timers:
            called = f" called {name}" if name else ""
            return ToolResult(f"You have no timer{called} running.")
        lines = [
            f"{span_words(self.book.left(t))} left on {t.describe()}"
            if t.state == "pending"
            else f"{first_up(t.describe())} is ringing"
            for t in timers
        ]
        text = lines[0] if len(lines) == 1 else "; ".join(lines)
        return ToolResult(text[0].upper() + text[1:] + ".")


class CancelAlarms:
    name = "cancel_alarms"
    description = "Cancel timers or reminders (asks first; can be undone)."
    schema = object_schema(
        {
            "kind": {"enum": ["timer", "reminder", "all"]},
            "name": {"type": "string", "maxLength": 200},
            "all": {"type": "boolean"},
        },
        ["kind"],
    )
    risk = Risk.DESTRUCTIVE

    def __init__(self, book: AlarmBook) -> None:
        self.book = book

    def _targets(self, args: Mapping[str, Any]) -> list[Alarm]:
        kind = args.get("kind", "all")
        kind_filter = None if kind == "all" else kind
        if args.get("all"):
            return self.book.active(kind_filter)
        return self.book.find(str(args.get("name", "")), kind_filter)

    def confirm(self, args: Mapping[str, Any]) -> str | None:
        targets = self._targets(args)
        if not targets:
            return None
        listing = "\n".join(f"- {describe_line(self.book, a)}" for a in targets)
        what = "this" if len(targets) == 1 else f"these {len(targets)}"
        return f"Cancel {what}?\n\n{listing}\n\nSay **yes** to cancel or **no** to keep."

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        targets = self._targets(args)
        if not targets:
            kind = args.get("kind", "all")
            name = str(args.get("name", ""))
            what = {"timer": "timer", "reminder": "reminder"}.get(kind, "timer or reminder")
            return ToolResult(f"You have no {what}{f' called {name}' if name else ''} set.")
        cancelled = self.book.cancel(targets)

        def undo() -> str:
            self.book.restore(cancelled)
            return "Undone: " + ("it is" if len(cancelled) == 1 else "they are") + " set again."

        names = "; ".join(a.describe() for a in cancelled)
        reply = f"Cancelled {names}." if len(cancelled) <= 3 else f"Cancelled {len(cancelled)}."
        return ToolResult(
            reply, "cancelled", f"Cancelled: {names}", tuple(a.id for a in cancelled), undo
        )


def alarm_tools(book: AlarmBook) -> list[Any]:
    return [SetTimer(book), SetReminder(book), ListAlarms(book), TimeLeft(book), CancelAlarms(book)]


__all__ = ["alarm_tools", "duration_words"]
