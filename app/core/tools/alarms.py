"""Timers and reminders: what is kept, when each comes due, and what happens then.

An :class:`Alarm` is kept in an :class:`AlarmStore` (SQLite in the data folder) the moment it
is set, so a restart or a kill -9 loses none. :class:`AlarmBook` is the logic on top: set,
find, cancel (with undo), fire what came due, snooze, dismiss, and on start report what came
due while Hearth was not running. It never sleeps; the app's scheduler asks it when the next
alarm is due and calls :meth:`AlarmBook.fire_due` then.

Times are kept as instants (UTC). A timer is a duration from the moment it was set. A one-off
reminder is the instant the user meant when setting it. A recurring reminder keeps its wall
time in the user's *current* zone: "every day at 8" stays 08:00 across a DST change, and after
a move from London to Tokyo it rings at 08:00 in Tokyo.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from app.core.tools.base import words
from app.core.tools.clock import Clock

UTC = ZoneInfo("UTC")
Kind = Literal["timer", "reminder"]
State = Literal["pending", "ringing", "done", "cancelled", "missed"]
ACTIVE: tuple[State, ...] = ("pending", "ringing")
MISSED_AFTER = timedelta(minutes=2)
"""Due longer ago than this when Hearth starts: it came due while Hearth was not running."""
SNOOZE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Alarm:
    id: str
    kind: Kind
    text: str
    """The reminder's words, or the timer's name ("" for an unnamed timer)."""
    due: datetime
    """The next time it rings (aware, UTC)."""
    created: datetime
    repeat: str | None = None
    """An RRULE without DTSTART ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=8;BYMINUTE=0"), or None."""
    seconds: float | None = None
    """A timer's length."""
    state: State = "pending"
    fired_at: datetime | None = None
    zone: str = ""
    """The zone a recurring alarm's due time was computed in; when the user's zone changes,
    the next time is computed again in the new one."""

    def local_due(self, zone: tzinfo) -> datetime:
        return self.due.astimezone(zone)

    def describe(self) -> str:
        """ "the pasta timer", "the 10 minute timer", "the reminder to call mum"."""
        if self.kind == "timer":
            if self.text:
                return f"the {self.text} timer"
            return f"the {duration_words(self.seconds or 0)} timer"
        return f"the reminder to {self.text}" if self.text else "the reminder"


class AlarmStore(Protocol):
    def add(self, alarm: Alarm) -> None: ...

    def update(self, alarm: Alarm) -> None: ...

    def get(self, alarm_id: str) -> Alarm | None: ...

    def delete(self, alarm_id: str) -> None: ...

    def in_states(self, states: Sequence[State]) -> list[Alarm]:
        """Alarms in these states, soonest first."""
        ...


class MemoryAlarmStore:
    """:class:`AlarmStore` in a dict: unit tests and `hearth ask` without a data folder."""

    def __init__(self) -> None:
        self._alarms: dict[str, Alarm] = {}
        self._lock = threading.Lock()

    def add(self, alarm: Alarm) -> None:
        with self._lock:
            self._alarms[alarm.id] = alarm

    def update(self, alarm: Alarm) -> None:
        with self._lock:
            self._alarms[alarm.id] = alarm

    def get(self, alarm_id: str) -> Alarm | None:
        with self._lock:
            return self._alarms.get(alarm_id)

    def delete(self, alarm_id: str) -> None:
        with self._lock:
            self._alarms.pop(alarm_id, None)

    def in_states(self, states: Sequence[State]) -> list[Alarm]:
        with self._lock:
            found = [a for a in self._alarms.values() if a.state in states]
        return sorted(found, key=lambda a: (a.due, a.created))


@dataclass(frozen=True, slots=True)
class Fired:
    """An alarm that rang: what to show and say."""

    alarm: Alarm
    """As it was when it rang (its due time is the one that came)."""
    missed: bool = False
    """True: it came due while Hearth was not running."""

    def message(self, zone: tzinfo) -> str:
        alarm = self.alarm
        if alarm.kind == "timer":
            name = f"The {alarm.text} timer" if alarm.text else "Your timer"
            base = f"{name} is done."
        else:
            base = f"Reminder: {alarm.text}." if alarm.text else "Reminder."
        if self.missed:
            base += f" (It was due {clock_words(alarm.local_due(zone), None)}.)"
        return base


class AlarmBook:
    """Timers and reminders on top of a store and a clock (thread-safe)."""

    def __init__(self, store: AlarmStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.RLock()

    # -- setting ------------------------------------------------------------------------------

    def set_timer(self, seconds: float, name: str = "") -> Alarm:
        now = self.clock.now()
        alarm = Alarm(
            _new_id(),
            "timer",
            name.strip(),
            (now + timedelta(seconds=seconds)).astimezone(UTC),
            now.astimezone(UTC),
            seconds=float(seconds),
        )
        self.store.add(alarm)
        return alarm

    def set_reminder(self, text: str, due: datetime, repeat: str | None = None) -> Alarm:
        if due.tzinfo is None:
            raise ValueError("a reminder's time must be aware")
        now = self.clock.now()
        zone = ""
        if repeat is not None:
            due = next_occurrence(repeat, due, now - timedelta(seconds=1), self.clock.zone) or due
            zone = str(self.clock.zone)
        alarm = Alarm(
            _new_id(),
            "reminder",
            text.strip(),
            due.astimezone(UTC),
            now.astimezone(UTC),
            repeat,
            zone=zone,
        )
        self.store.add(alarm)
        return alarm

    # -- looking ------------------------------------------------------------------------------

    def active(self, kind: Kind | None = None) -> list[Alarm]:
        self._follow_zone()
        return [a for a in self.store.in_states(ACTIVE) if kind is None or a.kind == kind]

    def find(self, named: str, kind: Kind | None = None) -> list[Alarm]:
        """Active alarms whose name or text holds all the words of ``named`` (all of them
        when empty)."""
        wanted = words(named)
        return [a for a in self.active(kind) if wanted <= words(a.text) or not wanted]

    def left(self, alarm: Alarm) -> timedelta:
        return max(timedelta(0), alarm.due - self.clock.now())

    def next_due(self) -> datetime | None:
        pending = [a.due for a in self._follow_zone()]
        return min(pending) if pending else None

    # -- changing -----------------------------------------------------------------------------

    def cancel(self, alarms: Iterable[Alarm]) -> list[Alarm]:
        with self._lock:
            done = []
            for alarm in alarms:
                current = self.store.get(alarm.id)
                if current is not None and current.state in ACTIVE:
                    self.store.update(replace(current, state="cancelled"))
                    done.append(current)
            return done

    def restore(self, alarms: Iterable[Alarm]) -> None:
        """Undo: put alarms back as they were (one already past rings at once)."""
        with self._lock:
            for alarm in alarms:
                self.store.update(alarm)

    def remove(self, alarms: Iterable[Alarm]) -> None:
        """Undo of setting: the alarm was never wanted."""
        with self._lock:
            for alarm in alarms:
                self.store.delete(alarm.id)

    def edit(
        self, alarm_id: str, *, text: str | None = None, due: datetime | None = None
    ) -> tuple[Alarm, Alarm] | None:
        """Changes a pending alarm's words or, for one that does not repeat, its time (a
        timer's end). Returns (before, after) for undo; None when it is gone or rang."""
        with self._lock:
            alarm = self.store.get(alarm_id)
            if alarm is None or alarm.state != "pending":
                return None
            changed = alarm
            if text is not None:
                changed = replace(changed, text=text.strip())
            if due is not None and alarm.repeat is None:
                if due.tzinfo is None:
                    raise ValueError("a reminder's time must be aware")
                changed = replace(changed, due=due.astimezone(UTC))
            self.store.update(changed)
            return alarm, changed

    def snooze(self, alarm_id: str, delay: timedelta = SNOOZE) -> Alarm | None:
        with self._lock:
            alarm = self.store.get(alarm_id)
            if alarm is None or alarm.state not in (*ACTIVE, "missed"):
                return None
            snoozed = replace(
                alarm,
                id=alarm.id if alarm.repeat is None else _new_id(),
                state="pending",
                due=(self.clock.now() + delay).astimezone(UTC),
                repeat=None,
            )
            if alarm.repeat is None:
                self.store.update(snoozed)
            else:  # the series goes on; a one-off copy rings after the snooze
                self.store.add(snoozed)
            return snoozed

    def dismiss(self, alarm_id: str) -> None:
        with self._lock:
            alarm = self.store.get(alarm_id)
            if alarm is not None and alarm.state in ("ringing", "missed"):
                self.store.update(replace(alarm, state="done"))

    # -- time passing -------------------------------------------------------------------------

    def fire_due(self) -> list[Fired]:
        """Everything due by now rings: a one-off alarm waits in "ringing" until dismissed or
        snoozed; a recurring one moves on to its next time at once."""
        return self._fire(missed_before=None)

    def on_start(self) -> list[Fired]:
        """At start: what came due while Hearth was not running is reported as missed (a
        recurring one then moves on); what is due just now rings as usual."""
        return self._fire(missed_before=self.clock.now() - MISSED_AFTER)

    def _follow_zone(self) -> list[Alarm]:
        """Recurring alarms keep their wall time in the user's current zone. Returns the
        pending alarms as they are now (one query when nothing moved)."""
        zone = self.clock.zone
        with self._lock:
            pending = self.store.in_states(("pending",))
            moved = False
            for alarm in pending:
                if alarm.repeat is None or alarm.zone == str(zone):
                    continue
                since = alarm.fired_at or alarm.created
                due = next_occurrence(alarm.repeat, alarm.due, since, zone)
                if due is not None:
                    self.store.update(replace(alarm, due=due.astimezone(UTC), zone=str(zone)))
                    moved = True
            return self.store.in_states(("pending",)) if moved else pending

    def _fire(self, missed_before: datetime | None) -> list[Fired]:
        now = self.clock.now()
        fired: list[Fired] = []
        with self._lock:
            for alarm in self._follow_zone():
                if alarm.due > now:
                    continue
                missed = missed_before is not None and alarm.due < missed_before
                fired.append(Fired(alarm, missed))
                if alarm.repeat is not None:
                    after = next_occurrence(alarm.repeat, alarm.due, now, self.clock.zone)
                    if after is not None:
                        self.store.update(replace(alarm, due=after.astimezone(UTC), fired_at=now))
                        continue
                self.store.update(
                    replace(alarm, state="missed" if missed else "ringing", fired_at=now)
                )
        return fired


def next_occurrence(
    repeat: str, anchor: datetime, after: datetime, zone: tzinfo
) -> datetime | None:
    """The first time of ``repeat`` later than ``after``, counting from ``anchor``'s wall time
    in ``zone`` (so the wall time holds across DST and a change of zone)."""
    from dateutil.rrule import rrulestr

    start = anchor.astimezone(zone).replace(tzinfo=None).replace(tzinfo=zone)
    rule = rrulestr(repeat, dtstart=start)
    result = rule.after(after.astimezone(zone))
    return result if isinstance(result, datetime) else None


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


def duration_words(seconds: float) -> str:
    """ "10 minute", "1 hour 30 minute", "45 second": as in "the 10 minute timer"."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour")
    if minutes:
        parts.append(f"{minutes} minute")
    if secs or not parts:
        parts.append(f"{secs} second")
    return " ".join(parts)


def span_words(delta: timedelta) -> str:
    """ "9 minutes and 30 seconds", "1 hour and 5 minutes", "2 days and 3 hours"."""
    whole = max(0, round(delta.total_seconds()))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second")]
    if days:
        units = units[:2]  # "2 days and 3 hours": seconds do not matter then
    elif hours:
        units = units[1:3]
    parts = [f"{n} {name}{'' if n == 1 else 's'}" for n, name in units if n]
    if not parts:
        return "less than a second"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def clock_words(when: datetime, now: datetime | None) -> str:
    """ "at 09:00", "tomorrow at 09:00", "on Monday 7 December at 08:00" (in ``when``'s zone)."""
    time_part = f"at {when:%H:%M}"
    if now is not None:
        days = (when.date() - now.astimezone(when.tzinfo).date()).days
        if days == 0:
            return f"today {time_part}"
        if days == 1:
            return f"tomorrow {time_part}"
        if 1 < days < 7:
            return f"on {when:%A} {time_part}"
    year = "" if now is not None and when.year == now.year else f" {when.year}"
    return f"on {when:%A} {when.day} {when:%B}{year} {time_part}"
