"""The calendar's phrasings on the fast path: "add a dentist appointment on Friday at 3",
"what's on tomorrow?", "move my dentist appointment to Friday", "cancel the meeting with Sam".

An event's title and its time are free text side by side, which hassil's wildcards cannot
split; as for reminders, the split is the longest tail that reads as a time. A request must be
about the calendar: it says calendar, diary or agenda, or its title names a kind of event
(appointment, meeting, lunch...), or its verb is schedule or book. "Add milk to my shopping
list" and "cancel the pasta timer" stay with their own tools; statements ("I moved my
meeting") and negations ("don't cancel ...") start with other words and match nothing.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from app.core.tools.base import ToolCall, first_up, words
from app.core.tools.calendar_tools import read_range
from app.core.tools.repeat import parse_repeat
from app.core.tools.when import parse_when, words_to_digits

EVENT_WORDS = frozenset(
    {
        "appointment",
        "meeting",
        "event",
        "call",
        "lunch",
        "dinner",
        "breakfast",
        "brunch",
        "party",
        "interview",
        "class",
        "lesson",
        "session",
        "visit",
        "checkup",
        "game",
        "match",
        "concert",
        "flight",
        "drinks",
        "coffee",
        "standup",
        "rehearsal",
        "practice",
        "training",
        "workshop",
        "conference",
        "webinar",
    }
)
OTHER_TOOLS = frozenset({"timer", "timers", "reminder", "reminders", "alarm", "alarms", "list"})
_CALENDAR = r"(?:calendar|diary|agenda|schedule)"
_MARKER = re.compile(rf"\s*\b(?:to|in|on|into|from|off)\s+(?:my|the)\s+{_CALENDAR}\b\s*")
_ADD = re.compile(r"^(add|put|schedule|book|create|make|set up|pencil in|plan)\s+(.+)$")
_MOVE = re.compile(
    r"^(?:move|reschedule|shift|push|push back|bring forward|change)\s+"
    r"(?:the\s+time\s+of\s+)?(.+)$"
)
_CANCEL = re.compile(r"^(?:cancel|delete|remove|call off|drop)\s+(.+)$")
_LEAD = re.compile(r"^(?:an?|the|my)\s+")
_NAMED = re.compile(r"^(?:new\s+)?(?:event|appointment|meeting)\s+(?:called|named|titled|for)\s+")
_LENGTH = re.compile(
    r"\s*\bfor\s+(?:(an?|one|two|three|four|five|six|ten|fifteen|twenty|thirty|forty|"
    r"forty[- ]five|ninety|\d+(?:\.\d+)?)\s+(hours?|hrs?|minutes?|mins?)(\s+and\s+a\s+half)?"
    r"|(half\s+an\s+hour))\b"
)
_WHEN_START = re.compile(
    r"\b(in|at|on|by|for|from|tomorrow|tonight|today|this|next|every|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|the day after)\b",
    re.IGNORECASE,
)
_DAY_OWNER = re.compile(
    r"^(today|tomorrow|tonight|monday|tuesday|wednesday|thursday|friday|saturday|sunday)'?s\s+",
    re.IGNORECASE,
)
_ON_DAY = re.compile(
    r"\s+(?:on|for)\s+((?:today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|the\s+\d{1,2}(?:st|nd|rd|th)?)(?:\s+\w+)?)$",
    re.IGNORECASE,
)
_LIST = [
    re.compile(
        r"^(?:what's|what is|whats|what have i got|what do i have|is there anything|anything)\s+"
        rf"(?:on|happening|planned|scheduled|(?:in|on) my {_CALENDAR})\s*(?P<span>.*)$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:what|which)\s+(?:meetings|appointments|events|plans)\s+"
        r"(?:do i have|have i got|are there|are (?:on|in) my calendar)\s*(?P<span>.*)$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^do i have (?:anything|any (?:meetings|appointments|events|plans))"
        rf"(?: (?:on|in) my {_CALENDAR})?\s*(?P<span>.*)$",
        re.IGNORECASE,
    ),
    re.compile(r"^am i (?:free|busy)\s*(?P<span>.*)$"),
    re.compile(
        r"^(?:show|list|read|tell)\s+(?:me\s+)?(?:my|the)\s+"
        r"(?:calendar|schedule|agenda|appointments|events|diary|meetings)\s*(?P<span>.*)$",
        re.IGNORECASE,
    ),
    re.compile(rf"^(?:my\s+)?{_CALENDAR}\s*(?P<span>.*)$"),
]
_EXPLICIT = re.compile(rf"\b(?:{_CALENDAR[3:-1]}|meetings|appointments|events|plans)\b")


def match_calendar(said: str, now: datetime, zone: tzinfo) -> ToolCall | None:
    written = " ".join(said.replace("\u2019", "'").split())
    call = _match(written.lower(), now, zone)
    if call is None or "title" not in call.args:
        return call
    return ToolCall(call.tool, {**call.args, "title": _as_written(written, call.args["title"])})


def _as_written(written: str, title: str) -> str:
    """The title with the user's own capitals ("lunch with Anna"), its first letter up."""
    at = written.lower().find(title)
    if at >= 0 and len(written) == len(written.lower()):
        title = written[at : at + len(title)]
    return first_up(title)


def _match(s: str, now: datetime, zone: tzinfo) -> ToolCall | None:
    if not s or OTHER_TOOLS & words(s):
        return None
    for pattern in _LIST:
        listed = pattern.match(s)
        call = _listing(s, listed["span"], now) if listed is not None else None
        if call is not None:
            return call
    added = _ADD.match(s)
    if added is not None:
        return _add(added[1], added[2], now, zone)
    moved = _MOVE.match(s)
    if moved is not None:
        return _move(moved[1], now, zone)
    cancelled = _CANCEL.match(s)
    if cancelled is not None:
        return _cancel(cancelled[1], now)
    return None


def _listing(s: str, rest: str, now: datetime) -> ToolCall | None:
    rest = re.sub(rf"^(?:(?:in|on)\s+)?my\s+{_CALENDAR}\s*", "", rest.strip(" ?.!"))
    rest = re.sub(r"^(?:for|on)\s+", "", rest)
    if not rest and not _EXPLICIT.search(s):
        return None  # "what's on?" alone: too little to be sure
    if read_range(rest, now) is None:
        return None  # "what's on my shopping list", "what's on TV"
    return ToolCall("list_events", {"range": rest})


def _is_event(verb: str, text: str, marked: bool) -> bool:
    return marked or verb in ("schedule", "book", "pencil in") or bool(EVENT_WORDS & words(text))


def _add(verb: str, rest: str, now: datetime, zone: tzinfo) -> ToolCall | None:
    marked = _MARKER.search(rest) is not None
    rest = _MARKER.sub(" ", rest).strip()
    minutes = None
    length = _LENGTH.search(rest)
    if length is not None:
        minutes = _minutes(length)
        rest = (rest[: length.start()] + " " + rest[length.end() :]).strip()
    for start in (m.start() for m in _WHEN_START.finditer(rest)):
        title, when = rest[:start].strip(" ,"), rest[start:].strip(" ,")
        if not title or not _reads(when, now, zone):
            continue
        if not _is_event(verb, title, marked):
            return None
        title = _NAMED.sub("", _LEAD.sub("", title)).strip()
        if not title:
            return None
        args: dict[str, object] = {"title": title, "when": when}
        if minutes:
            args["minutes"] = minutes
        return ToolCall("add_event", args)
    return None


def _move(rest: str, now: datetime, zone: tzinfo) -> ToolCall | None:
    rest = _MARKER.sub(" ", rest).strip()
    for to in reversed(list(re.finditer(r"\s(?:to|for|until|till)\s", rest))):
        what, when = rest[: to.start()].strip(" ,"), rest[to.end() :].strip(" ,")
        if what and parse_when(when, now, zone) is not None:
            what = re.sub(r"\s+from\s+.+$", "", what)  # "from Thursday": where it is now
            return _named("move_event", what, {"when": when}, now)
    return None


def _cancel(rest: str, now: datetime) -> ToolCall | None:
    marked = _MARKER.search(rest) is not None
    rest = _MARKER.sub(" ", rest).strip()
    if not (marked or EVENT_WORDS & words(rest)):
        return None
    return _named("cancel_event", rest, {}, now)


def _named(tool: str, what: str, args: dict[str, object], now: datetime) -> ToolCall | None:
    """The event's name, and the day it is on when the words say so ("Friday's dentist
    appointment", "the meeting on Thursday")."""
    on = ""
    owner = _DAY_OWNER.match(_LEAD.sub("", what))
    if owner is not None:
        on, what = owner[1], _LEAD.sub("", what)[owner.end() :]
    day = _ON_DAY.search(what)
    if day is not None and read_range(day[1], now) is not None:
        on, what = day[1], what[: day.start()]
    title = _LEAD.sub("", what.strip(" ,")).strip()
    if not title or len(title) > 200:
        return None
    call: dict[str, object] = {"title": title, **args}
    if on:
        call["on"] = on
    return ToolCall(tool, call)


def _reads(when: str, now: datetime, zone: tzinfo) -> bool:
    return parse_repeat(when, now, zone) is not None or parse_when(when, now, zone) is not None


def _minutes(length: re.Match[str]) -> int:
    if length[4]:
        return 30
    amount = length[1]
    number = 1.0 if amount in ("a", "an") else float(words_to_digits(amount.replace("-", " ")))
    if length[3]:
        number += 0.5
    unit = length[2]
    return max(1, round(number * (60 if unit.startswith("h") else 1)))
