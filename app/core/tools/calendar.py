"""The local calendar: events, their recurrences, conflicts, and .ics files in and out.

An :class:`Event` keeps its wall times in its own IANA zone, so a weekly 09:00 meeting stays
at 09:00 across a DST change. Recurrences are RRULEs with EXDATEs, expanded by
:mod:`dateutil.rrule` in the event's zone. ``.ics`` files are read and written by
:mod:`icalendar`; a moved occurrence of a recurring event in a file (a RECURRENCE-ID) is kept
as an EXDATE on the series plus a one-off event, which is how Hearth moves one occurrence too.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.core.tools.base import ToolError, words
from app.core.tools.clock import Clock

UTC = ZoneInfo("UTC")
MAX_OCCURRENCES = 2000
"""At most this many occurrences per question: a "FREQ=SECONDLY" file cannot hang a listing."""
MAX_IMPORT_BYTES = 20 * 1024 * 1024
GENERIC = frozenset({"appointment", "meeting", "event", "the", "my", "a", "an", "s"})
"""Words a user adds to an event's name that need not be in its title ("my dentist appointment"
finds "Dentist")."""


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    title: str
    start: datetime
    """Aware, in ``zone``: the first (or only) occurrence."""
    end: datetime
    zone: str
    """IANA zone the wall times are kept in ("Europe/London")."""
    repeat: str | None = None
    """An RRULE without DTSTART, or None."""
    exdates: tuple[datetime, ...] = ()
    """Occurrences of the series that do not happen (moved or cancelled), aware."""
    location: str = ""
    all_day: bool = False
    uid: str = ""
    """The iCalendar UID, kept across export and import so importing twice adds nothing."""
    created: float = field(default_factory=time.time)

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def tz(self) -> tzinfo:
        return zone_named(self.zone)


@dataclass(frozen=True, slots=True)
class Occurrence:
    event: Event
    start: datetime
    end: datetime

    @property
    def title(self) -> str:
        return self.event.title

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


class CalendarStore(Protocol):
    def add_event(self, event: Event) -> None:
        """Adds, or replaces the event with the same id."""
        ...

    def delete_event(self, event_id: str) -> None: ...

    def events(self) -> list[Event]: ...


class MemoryCalendarStore:
    def __init__(self) -> None:
        self._events: dict[str, Event] = {}
        self._lock = threading.Lock()

    def add_event(self, event: Event) -> None:
        with self._lock:
            self._events[event.id] = event

    def delete_event(self, event_id: str) -> None:
        with self._lock:
            self._events.pop(event_id, None)

    def events(self) -> list[Event]:
        with self._lock:
            return sorted(self._events.values(), key=lambda e: (e.start, e.created))


def zone_named(name: str) -> tzinfo:
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", "") or "UTC")


def expand(event: Event, start: datetime, end: datetime) -> list[Occurrence]:
    """The event's occurrences that overlap [start, end), soonest first."""
    if not event.repeat:
        one = Occurrence(event, event.start, event.end)
        return [one] if one.overlaps(start, end) else []
    from dateutil.rrule import rruleset, rrulestr

    zone = event.tz
    first = event.start.astimezone(zone).replace(tzinfo=None)
    try:
        rule = rrulestr(check_rule(event.repeat), dtstart=first, forceset=True)
    except (ValueError, TypeError):
        return [Occurrence(event, event.start, event.end)][: int(event.start < end)]
    assert isinstance(rule, rruleset)
    for skipped in event.exdates:
        rule.exdate(skipped.astimezone(zone).replace(tzinfo=None))
    length = event.length
    lo = (start - length).astimezone(zone).replace(tzinfo=None)
    hi = end.astimezone(zone).replace(tzinfo=None)
    found: list[Occurrence] = []
    for wall in rule.xafter(lo, count=MAX_OCCURRENCES, inc=True):
        if wall >= hi:
            break
        at = wall.replace(tzinfo=zone)
        occurrence = Occurrence(event, at, at + length)
        if occurrence.overlaps(start, end):
            found.append(occurrence)
    return found


def check_rule(rule: str) -> str:
    """The RRULE, or ValueError for one no calendar needs that would cost too much to expand:
    dateutil walks every occurrence from the first, so a rule by the second or the minute
    from years back is millions of steps."""
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    if parts.get("FREQ") in ("SECONDLY", "MINUTELY"):
        raise ValueError(f"a rule that repeats every {parts['FREQ'].lower()[:-2]} is refused")
    return rule


class Calendar:
    """The events of one store, on one clock."""

    def __init__(self, store: CalendarStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def add(
        self,
        title: str,
        start: datetime,
        end: datetime,
        repeat: str | None = None,
        *,
        location: str = "",
        all_day: bool = False,
    ) -> Event:
        if end <= start:
            raise ToolError("An event must end after it starts.")
        zone = self.clock.zone
        event = Event(
            uuid.uuid4().hex[:12],
            title.strip(),
            start.astimezone(zone),
            end.astimezone(zone),
            zone_name(zone),
            repeat,
            (),
            location,
            all_day,
            f"{uuid.uuid4()}@hearth",
        )
        self.store.add_event(event)
        return event

    def put(self, events: Iterable[Event]) -> None:
        for event in events:
            self.store.add_event(event)

    def remove(self, events: Iterable[Event]) -> None:
        for event in events:
            self.store.delete_event(event.id)

    def occurrences(self, start: datetime, end: datetime) -> list[Occurrence]:
        found = [o for e in self.store.events() for o in expand(e, start, end)]
        return sorted(found, key=lambda o: (o.start, o.event.created))[:MAX_OCCURRENCES]

    def conflicts(
        self, start: datetime, end: datetime, ignore: str | None = None
    ) -> list[Occurrence]:
        """Timed events in [start, end); an all-day event (a birthday, a holiday) blocks no
        time, so it is no conflict."""
        found = self.occurrences(start, end)
        return [o for o in found if o.event.id != ignore and not o.event.all_day]

    def find(self, named: str, on: date | None = None) -> list[Occurrence]:
        """Upcoming occurrences (from the start of today, a year ahead) whose title holds the
        words of ``named``; only those on ``on`` when given."""
        wanted = words(named) - GENERIC or words(named)
        now = self.clock.now()
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        found = [
            o
            for o in self.occurrences(day_start, day_start + timedelta(days=366))
            if wanted and wanted <= words(o.title) | words(o.event.location)
        ]
        if on is not None:
            found = [o for o in found if o.start.astimezone(self.clock.zone).date() == on]
        return found

    def move(self, occurrence: Occurrence, start: datetime) -> tuple[list[Event], list[Event]]:
        """Moves one occurrence to ``start`` (same length): a one-off event is moved, a
        recurring one loses that occurrence to a new one-off. Returns (before, after)."""
        event = occurrence.event
        length = occurrence.end - occurrence.start
        at = start.astimezone(event.tz)
        if not event.repeat:
            moved = replace(event, start=at, end=at + length)
            self.store.add_event(moved)
            return [event], [moved]
        series = replace(event, exdates=(*event.exdates, occurrence.start))
        single = replace(
            event,
            id=uuid.uuid4().hex[:12],
            start=at,
            end=at + length,
            repeat=None,
            exdates=(),
            uid=f"{uuid.uuid4()}@hearth",
            created=time.time(),
        )
        self.store.add_event(series)
        self.store.add_event(single)
        return [event], [series, single]

    def undo_change(self, before: Sequence[Event], after: Sequence[Event]) -> None:
        for event in after:
            self.store.delete_event(event.id)
        self.put(before)

    # -- .ics --------------------------------------------------------------------------------

    def export_ics(self) -> bytes:
        from icalendar import Calendar as ICal

        cal = ICal()
        cal.add("prodid", "-//Hearth//local calendar//EN")
        cal.add("version", "2.0")
        for event in self.store.events():
            cal.add_component(_vevent(event))
        cal.add_missing_timezones()
        return bytes(cal.to_ical())

    def import_file(self, path: Path) -> tuple[list[Event], int]:
        """:meth:`import_ics` of a file; ToolError says plainly why one cannot be read."""
        try:
            if not path.is_file():
                raise ToolError(f"{path.name} is not a file.")
            if path.stat().st_size > MAX_IMPORT_BYTES:
                raise ToolError(
                    f"{path.name} is over 20 MB; Hearth reads calendar files up to 20 MB."
                )
            data = path.read_bytes()
        except OSError as exc:
            raise ToolError(f"{path.name} could not be read: {exc.strerror or exc}.") from exc
        return self.import_ics(data)

    def export_file(self, path: Path) -> int:
        """Every event to ``path`` as iCalendar, written whole or not at all (a full disk
        leaves the old file); returns how many events were written."""
        data = self.export_ics()
        partial = path.with_name(path.name + ".partial")
        try:
            partial.write_bytes(data)
            partial.replace(path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise ToolError(f"{path.name} could not be written: {exc.strerror or exc}.") from exc
        return len(self.store.events())

    def import_ics(self, data: bytes) -> tuple[list[Event], int]:
        """Adds the file's events (one with a UID already here replaces it); returns what was
        added and how many parts were skipped. Raises ToolError on a file that is no calendar."""
        if len(data) > MAX_IMPORT_BYTES:
            raise ToolError("That calendar file is over 20 MB; Hearth reads files up to 20 MB.")
        events, skipped = read_ics(data, self.clock.zone)
        known = {e.uid: e for e in self.store.events() if e.uid}
        for event in events:
            old = known.get(event.uid)
            self.store.add_event(replace(event, id=old.id) if old is not None else event)
        return events, skipped


def read_ics(data: bytes, default_zone: tzinfo) -> tuple[list[Event], int]:
    """The events of an .ics file and how many VEVENTs could not be read."""
    from icalendar import Calendar as ICal

    try:
        cal = ICal.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise ToolError("That file is not a calendar Hearth can read.", details=str(exc)) from exc
    events: dict[str, Event] = {}
    moved: list[tuple[str, datetime, Any]] = []
    skipped = 0
    for part in cal.walk("VEVENT"):
        try:
            if part.get("recurrence-id") is not None:
                moved.append((str(part.get("uid", "")), _moment(part, "recurrence-id"), part))
                continue
            event = _event(part, default_zone)
        except (ValueError, TypeError, KeyError, AttributeError):
            skipped += 1
            continue
        events[event.uid] = event
    for uid, original, part in moved:  # a moved or changed occurrence of a series
        series = events.get(uid)
        try:
            single = _event(part, default_zone)
        except (ValueError, TypeError, KeyError, AttributeError):
            skipped += 1
            continue
        if series is not None:
            events[uid] = replace(series, exdates=(*series.exdates, original))
        key = f"{uid}/{original.isoformat()}"
        events[key] = replace(single, uid=key)
    return list(events.values()), skipped


def _moment(part: Any, name: str) -> datetime:
    value = part.decoded(name)
    if isinstance(value, datetime):
        return _iana(value) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    raise ValueError(name)


def _event(part: Any, default_zone: tzinfo) -> Event:
    raw_start = part.decoded("dtstart")
    all_day = isinstance(raw_start, date) and not isinstance(raw_start, datetime)
    start = _aware(raw_start, default_zone)
    if part.get("dtend") is not None:
        end = _aware(part.decoded("dtend"), start.tzinfo or default_zone)
    elif part.get("duration") is not None:
        end = start + part.decoded("duration")
    else:
        end = start + (timedelta(days=1) if all_day else timedelta(0))
    if end <= start:
        end = start + timedelta(minutes=1) if not all_day else start + timedelta(days=1)
    zone = start.tzinfo
    name = getattr(zone, "key", None)
    if not name:  # a VTIMEZONE with a name that is no IANA zone: keep the instants
        start, end = start.astimezone(default_zone), end.astimezone(default_zone)
        name = zone_name(default_zone)
    if start.year < 1900:
        raise ValueError("a start before 1900")
    repeat = None
    if part.get("rrule") is not None:
        repeat = check_rule(part.get("rrule").to_ical().decode())
    exdates: list[datetime] = []
    found = part.get("exdate")
    for group in found if isinstance(found, list) else ([found] if found is not None else []):
        for item in group.dts:
            exdates.append(_aware(item.dt, start.tzinfo or default_zone))
    return Event(
        uuid.uuid4().hex[:12],
        str(part.get("summary", "")).strip() or "(no title)",
        start,
        end,
        name,
        repeat,
        tuple(exdates),
        str(part.get("location", "")).strip(),
        all_day,
        str(part.get("uid", "")) or f"{uuid.uuid4()}@hearth",
    )


def _iana(value: datetime) -> datetime:
    """The same wall time in the IANA zone a file's own zone name stands for ("W. Europe
    Standard Time", as Outlook writes it, is Europe/Berlin), so its DST rules come from tzdata."""
    zone = value.tzinfo
    if zone is None or getattr(zone, "key", None):
        return value
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    tzid = str(getattr(zone, "_tzid", "") or zone.tzname(value) or "")
    name = WINDOWS_TO_OLSON.get(tzid, tzid)
    try:
        return value.replace(tzinfo=ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError):
        return value


def _aware(value: Any, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return _iana(value) if value.tzinfo is not None else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    raise ValueError(f"not a date: {value!r}")


def _vevent(event: Event) -> Any:
    from icalendar import Event as IEvent
    from icalendar import vRecur

    part = IEvent()
    part.add("uid", event.uid or f"{event.id}@hearth")
    part.add("summary", event.title)
    part.add("dtstamp", datetime.now(UTC))
    if event.all_day:
        part.add("dtstart", event.start.date())
        part.add("dtend", event.end.date())
    else:
        part.add("dtstart", event.start.astimezone(event.tz))
        part.add("dtend", event.end.astimezone(event.tz))
    if event.location:
        part.add("location", event.location)
    if event.repeat:
        part.add("rrule", vRecur.from_ical(event.repeat))
        if event.exdates:
            part.add("exdate", [d.astimezone(event.tz) for d in event.exdates])
    return part
