"""Recurrences said in words ("every Monday at 8", "every weekday", "every 2 weeks") as RRULEs.

The words name the rule's parts; :mod:`dateutil.rrule` builds and checks the rule itself and
:func:`app.core.tools.when.parse_when` reads the time of day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from app.core.tools.when import DEFAULT_HOUR, parse_when, words_to_digits

_DAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
_GROUPS = {
    "day": None,
    "morning": None,
    "evening": None,
    "night": None,
    "weekday": "MO,TU,WE,TH,FR",
    "work day": "MO,TU,WE,TH,FR",
    "weekend": "SA,SU",
}
_PART_HOURS = {"morning": 8, "evening": 18, "night": 20}
_EVERY = re.compile(
    r"\bevery\s+(?:(other|\d+)\s+)?"
    r"(day|morning|evening|night|weekday|work day|weekend|week|month|year|"
    r"(?:(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
    r"(?:\s*(?:,|and)\s*)?)+)s?"
    r"(?:\s+on\s+the\s+(\d{1,2})(?:st|nd|rd|th)?)?"
)


@dataclass(frozen=True, slots=True)
class Repeat:
    rule: str
    """RRULE without DTSTART, e.g. "FREQ=WEEKLY;BYDAY=MO;BYHOUR=8;BYMINUTE=0;BYSECOND=0"."""
    first: datetime
    """The first time it rings (aware)."""
    words: str
    """How Hearth says it: "every Monday at 08:00"."""


def parse_repeat(text: str, now: datetime, zone: tzinfo) -> Repeat | None:
    """The recurrence in ``text`` ("every Monday at 8"), or None when it names none."""
    from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, weekday

    s = words_to_digits(" ".join(text.lower().split()))
    match = _EVERY.search(s)
    if match is None:
        return None
    every, unit, monthday = match[1], match[2].strip(" ,"), match[3]
    interval = 2 if every == "other" else int(every) if every else 1
    rest = (s[: match.start()] + " " + s[match.end() :]).strip()
    hour, minute = _PART_HOURS.get(unit, DEFAULT_HOUR), 0
    if rest:
        # Read as on a named day: a bare "at 8" is morning, "at 3" afternoon.
        when = parse_when(f"tomorrow {rest}", now, zone)
        if when is None or not when.has_time:
            return None
        hour, minute = when.at.hour, when.at.minute
        if unit in ("evening", "night") and hour < 12:
            hour += 12
    local = now.astimezone(zone)
    byday: list[weekday] | None = None
    freq = DAILY
    if unit in _GROUPS:
        days = _GROUPS[unit]
        if days is not None:
            freq = WEEKLY
            byday = [_weekday(d) for d in days.split(",")]
    elif unit == "week":
        freq = WEEKLY
    elif unit == "month":
        freq = MONTHLY
    elif unit == "year":
        freq = YEARLY
    else:
        freq = WEEKLY
        names = re.findall(r"monday|tuesday|wednesday|thursday|friday|saturday|sunday", unit)
        byday = [_weekday(_DAYS[n]) for n in names]
    day_of_month = int(monthday) if monthday else None
    if day_of_month is not None and not 1 <= day_of_month <= 31:
        return None
    rule = rrule(
        freq,
        interval=interval,
        byweekday=byday,
        bymonthday=day_of_month,
        byhour=hour,
        byminute=minute,
        bysecond=0,
        dtstart=local.replace(second=0, microsecond=0),
    )
    first = rule.after(local)
    if not isinstance(first, datetime):
        return None
    body = str(rule).split("RRULE:", 1)[1]
    return Repeat(body, first, _say(interval, unit, day_of_month, hour, minute))


def _weekday(code: str) -> object:
    from dateutil import rrule

    return getattr(rrule, code)


def _say(interval: int, unit: str, monthday: int | None, hour: int, minute: int) -> str:
    every = "every" if interval == 1 else "every other" if interval == 2 else f"every {interval}"
    what = unit if interval <= 2 else unit + "s"
    if monthday is not None:
        what += f" on the {monthday}{_suffix(monthday)}"
    words = " ".join(w.capitalize() if w.rstrip("s,") in _DAYS else w for w in what.split())
    return f"{every} {words} at {hour:02d}:{minute:02d}"


def _suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
