"""Dates and times said in words, read by dateparser after a few rewrites it needs.

dateparser reads most phrasings ("next Tuesday", "on the 19th of July", "in two weeks") but
not number words after "at", "half past five", "an hour and a half" or a bare "at 9" (it
keeps the current hour: upstream issue 1080). :func:`normalise` rewrites those first. Two
policies are Hearth's own, because the words leave them open:

- A bare hour from 1 to 11 ("at 5") is the next such time when no day is named (at 10:00,
  "at 5" is 17:00); with a day named, 7 to 11 are morning and 1 to 6 afternoon ("tomorrow at
  3" is 15:00, "tomorrow at 9" is 09:00).
- A day without a time ("on Friday") is that day at DEFAULT_HOUR.

A time of day with no day ("at 7:30") is the next one to come; Hearth computes it, because
dateparser's own choice was a day late in summer time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

DEFAULT_HOUR = 9

_DAY_WORDS = re.compile(
    r"\b(today|tonight|tomorrow|yesterday|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|week|month|year|january|february|"
    r"march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|"
    r"jun|jul|aug|sep|sept|oct|nov|dec|\d{1,2}(st|nd|rd|th)|\d{4}|\d{1,2}/\d{1,2}|"
    r"days?|weeks?|months?|years?|morning|afternoon|evening|night)\b"
)
_PART_OF_DAY = re.compile(r"\b(morning|afternoon|evening|tonight|night)\b")
_PART_HOURS = {"morning": 9, "afternoon": 15, "evening": 18, "tonight": 20, "night": 20}
_CLOCK = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_EVENING = re.compile(r"\b(tonight|this evening|this afternoon)\b")


@dataclass(frozen=True, slots=True)
class When:
    at: datetime
    """Aware, in the user's zone."""
    has_time: bool
    """False: only a day was said; ``at`` is that day at DEFAULT_HOUR."""


@functools.cache
def _number_words() -> dict[str, int]:
    """ "twenty-one" -> 21 ... for 0 to 100, spelled by unicode-rbnf (hassil's own speller)."""
    from unicode_rbnf import RbnfEngine

    engine = RbnfEngine.for_language("en")
    words: dict[str, int] = {}
    for n in range(101):
        text = engine.format_number(n).text
        words[text] = n
        words[text.replace("-", " ")] = n
    words.update({"a": 1, "an": 1, "a couple of": 2, "a few": 3, "noon": 12, "midday": 12})
    return words


@functools.cache
def _number_pattern() -> re.Pattern[str]:
    names = sorted((w for w in _number_words() if w not in ("a", "an")), key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")


def words_to_digits(text: str) -> str:
    """ "in twenty five minutes" -> "in 25 minutes"; "a"/"an" only before a unit."""
    table = _number_words()
    out = _number_pattern().sub(
        lambda m: m.group(0) if m.group(0) in ("noon", "midday") else str(table[m.group(0)]),
        text,
    )
    return re.sub(r"\b(a|an)\s+(second|minute|hour|day|week|month|year)\b", r"1 \2", out)


def normalise(text: str) -> tuple[str, int | None]:
    """The phrase as dateparser reads it, and the bare hour said without am/pm (or None)."""
    s = " ".join(text.lower().replace(",", " ").split())
    s = re.sub(r"\bo'?clock\b", "", s)
    s = words_to_digits(s)
    s = re.sub(r"\b(?:1|one)\s+hours?\s+and\s+(?:a\s+)?half\b", "90 minutes", s)
    s = re.sub(
        r"\b(\d+)\s+and\s+a\s+half\s+hours?\b", lambda m: f"{int(m[1]) * 60 + 30} minutes", s
    )
    s = re.sub(r"\bhalf\s+(?:an|1)\s+hour\b", "30 minutes", s)
    s = re.sub(r"\bhalf\s+past\s+(\d{1,2})\b", r"\1:30", s)
    s = re.sub(r"\bquarter\s+past\s+(\d{1,2})\b", r"\1:15", s)
    s = re.sub(r"\bquarter\s+to\s+(\d{1,2})\b", lambda m: f"{(int(m[1]) - 1) % 12 or 12}:45", s)
    s = re.sub(r"\b(\d{1,2})\s+(\d{2})\s*(am|pm)\b", r"\1:\2 \3", s)  # "7 30 pm" (as STT writes)
    s = re.sub(r"\b(\d{1,2})\s*([ap])\.?m\.?\b", r"\1\2m", s)
    s = re.sub(r"\b(noon|midday)\b", "12:00", s)
    s = re.sub(r"\bmidnight\b", "23:59", s)
    bare: int | None = None
    hour = re.search(
        r"(?:\bat\s+|^)(\d{1,2})(?::(\d{2}))?"
        r"(?!\s*(?:am|pm|:|\d|minutes?|hours?|days?|weeks?|st\b|nd\b|rd\b|th\b|[a-z]))",
        s,
    )
    if (
        hour is not None
        and 0 <= int(hour[1]) <= 23
        and (hour[0].startswith("at") or hour.end() == len(s))
    ):
        h, m = int(hour[1]), hour[2] or "00"
        if 1 <= h <= 11:
            bare = h
        s = s[: hour.start(1)] + f"{h}:{m}" + s[hour.end() :]
    s = re.sub(r"^(on|at|by|for)\s+", "", s)
    if _EVENING.search(s) and bare is not None:
        later = bare + 12
        s = _EVENING.sub("today", s)
        s = re.sub(rf"\b{bare}:(\d\d)\b", lambda m: f"{later}:{m[1]}", s)
        bare = None
    return s.strip(), bare


def parse_when(text: str, now: datetime, zone: tzinfo) -> When | None:
    """The moment ``text`` names, after ``now``; None when it names none Hearth can read."""
    phrase, bare = normalise(text)
    if not phrase:
        return None
    local_now = now.astimezone(zone)
    from dateparser.date import DateDataParser

    data = DateDataParser(languages=["en"], settings=_settings(local_now, zone)).get_date_data(
        phrase
    )
    found = data.date_obj
    if not isinstance(found, datetime):
        return None
    at = found.astimezone(zone) if found.tzinfo is not None else found.replace(tzinfo=zone)
    period = getattr(data, "period", "day")
    named_day = _DAY_WORDS.search(phrase.replace("today", "")) is not None
    written = _CLOCK.search(phrase)
    if period != "time" and written is not None:  # "tomorrow at 10" said at 10:00: a day to
        period = "time"  # dateparser, as the hour did not change; the time is the one said
        at = at.replace(hour=int(written[1]), minute=int(written[2]), second=0, microsecond=0)
    if period != "time":
        part = _PART_OF_DAY.search(phrase)
        hour = _PART_HOURS[part[1]] if part else DEFAULT_HOUR
        return When(at.replace(hour=hour, minute=0, second=0, microsecond=0), part is not None)
    at = (
        at.replace(second=0, microsecond=0)
        if "minute" not in phrase and "second" not in phrase
        else at
    )
    if bare is not None:
        morning = at.replace(hour=bare)
        evening = at.replace(hour=bare + 12)
        if named_day and "today" not in phrase:
            at = morning if bare >= 7 else evening
        else:
            if not named_day:  # "at 5": today's 5 or 17 o'clock, whichever comes first
                morning = morning.replace(
                    year=local_now.year, month=local_now.month, day=local_now.day
                )
                evening = morning.replace(hour=bare + 12)
            later = (morning, evening, morning + timedelta(days=1))
            at = next((c for c in later if c > local_now), evening)
    elif not named_day and "in " not in phrase and at <= local_now:
        at += timedelta(days=1)
    return When(at, True)


def _settings(now: datetime, zone: tzinfo) -> dict[str, Any]:
    return {
        "RELATIVE_BASE": now.replace(tzinfo=None),  # naive local: an aware one loses "7am"
        "PREFER_DATES_FROM": "future",
        "RETURN_TIME_AS_PERIOD": True,
        "TIMEZONE": str(zone),
        "RETURN_AS_TIMEZONE_AWARE": True,
        "DATE_ORDER": "DMY",
    }
