"""The fast path: the common phrasings of every tool, matched by templates without the model.

Templates are hassil's (Home Assistant's matcher): whole sentences with optional words
``[a]``, alternatives ``(set|start)``, number slots that take digits or words, and wildcards
for free text. The sentences are Hearth's own. A sentence must match from its first word to its
last, so chit-chat that only mentions a timer ("I set a timer yesterday and it annoyed me"),
a negation ("don't set a timer") or a question about the past matches nothing and goes to the
model, which only talks.

Reminders are split here: "remind me to X <when>" or "remind me <when> to X", where <when>
must be read by :func:`parse_when` or :func:`parse_repeat`; a sentence whose time cannot be
read is no reminder (the model is asked instead, and it cannot set one by talking).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from app.core.tools.base import ToolCall
from app.core.tools.calendar_intents import match_calendar
from app.core.tools.maths import MathsError, normalise
from app.core.tools.repeat import parse_repeat
from app.core.tools.units import match_units, zone_of
from app.core.tools.units import warm_up as units_warm_up
from app.core.tools.when import parse_when

_POLITE = re.compile(
    r"^(?:(?:hey|hi|ok|okay)\s+hearth[,!.]?\s+|hearth[,!.]?\s+)?"
    r"(?:(?:please|kindly)\s+)?"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|"
    r"i\s+(?:want|need|would like)\s+(?:you\s+)?to\s+|i'd\s+like\s+(?:you\s+)?to\s+)?"
    r"(?:please\s+)?",
    re.IGNORECASE,
)
_TAIL = re.compile(r"[\s,]*(?:please|thanks|thank you|for me)?[\s.!?]*$", re.IGNORECASE)

SENTENCES: dict[str, list[str]] = {
    "SetTimer": [
        "<set> [me] [a|an] [new] timer (for|of) <duration> [(called|named|for [the]) {name}]",
        "<set> [me] [a|an] <duration> timer [(called|named|for [the]) {name}]",
        "<set> [me] [a|an] {name} timer (for|of) <duration>",
        "[a] timer (for|of) <duration>",
        "<duration> timer",
    ],
    "ListAlarms": [
        "(what|which) {kinds} (do i have|have i got|are (set|running|on|there))",
        "(list|show [me]|tell me) [all] [of] [my|the] {kinds}",
        "(do|have) i (have|got) any {kinds} [set]",
        "(what's|what is) on my (timers|timer list|reminder list)",
        "my {kinds}",
    ],
    "TimeLeft": [
        "how (long|much time) (is|'s|has) left [on [the|my] [{name}] timer]",
        "how (long|much time) left [on [the|my] [{name}] timer]",
        "how long (until|till|before) [the|my] [{name}] timer (goes off|is done|rings|ends)",
        "(time|how much) (is|'s) left on [the|my] [{name}] timer",
    ],
    "CancelAlarms": [
        "(cancel|delete|remove|clear|stop) all [of] [my|the] {kinds}",
        "(cancel|delete|remove|stop|turn off) [the|my] [{name}] timer",
    ],
    "CancelReminder": [
        "(cancel|delete|remove) [the|my] reminder [(to|about) {name}]",
    ],
    "AddNote": [
        "(note|write down|jot down) [that] {note}",
        "(make|take) a note [that|of] {note}",
    ],
    "AddItem": [
        "(add|put) {item} (to|on) [my|the] ({known_list}|{list} list)",
    ],
    "ReadList": [
        "(what's|what is|whats) on [my|the] ({known_list}|{list} list)",
        "(read|show|tell) [me] [my|the] ({known_list}|{list} list)",
    ],
    "ReadNotes": [
        "(read|show|tell) [me] [all] [of] my notes [(about|on) {about}]",
        "what (are|were) my notes [(about|on) {about}]",
        "what notes do i have [(about|on) {about}]",
    ],
    "RemoveItem": [
        "(remove|delete|take|cross) {item} (from|off) [my|the] ({known_list}|{list} list)",
    ],
    "Calculate": [
        "(what is|what's|whats|calculate|compute|how much is|work out) {expression}",
    ],
    "DaysUntil": [
        "how many days (until|till|to|before|is it (until|till|to)) {date}",
        "how long (until|till) {date}",
    ],
    "DayOfWeek": [
        "what day [of the week] (is|was|will be|falls on|does) {date} [fall on|on|be]",
    ],
    "TimeIn": [
        "what time is it [now|right now] [over] in {place}",
        "(what's|what is|whats) the [local] time [now|right now] in {place}",
        "[the] [current|local] time in {place}",
        "what time [is it] (in|is it in) {place} [now|right now]",
    ],
    "Now": [
        "what time is it [now] [here]",
        "what's the time [now]",
        "(what|which) (day|date) is it [today]",
        "what's the date [today]",
        "what is the date [today]",
        "what's today's date",
        "tell me the (time|date)",
    ],
}

LISTS: dict[str, Any] = {
    "hours": {"range": {"from": 1, "to": 24}},
    "minutes": {"range": {"from": 1, "to": 600}},
    "seconds": {"range": {"from": 1, "to": 3600}},
    "half": {"values": [{"in": "and a half", "out": 0.5}]},
    "fixed": {
        "values": [
            {"in": "(an|one) hour and a half", "out": 5400},
            {"in": "half an hour", "out": 1800},
            {"in": "(an|one) hour", "out": 3600},
            {"in": "a minute", "out": 60},
            {"in": "a quarter of an hour", "out": 900},
            {"in": "a couple of minutes", "out": 120},
        ]
    },
    "kinds": {
        "values": [
            {"in": "timer[s]", "out": "timer"},
            {"in": "reminder[s]", "out": "reminder"},
            {"in": "alarm[s]", "out": "all"},
        ]
    },
    "known_list": {
        "values": [
            {"in": "shopping [list]", "out": "shopping"},
            {"in": "grocery [list]", "out": "shopping"},
            {"in": "(to do|to-do|todo) [list]", "out": "to do"},
            {"in": "packing [list]", "out": "packing"},
        ]
    },
    "note": {"wildcard": True},
    "item": {"wildcard": True},
    "list": {"wildcard": True},
    "about": {"wildcard": True},
    "name": {"wildcard": True},
    "expression": {"wildcard": True},
    "date": {"wildcard": True},
    "place": {"wildcard": True},
}

RULES = {
    "set": "(set|start|create|make|put on|add|begin)",
    "duration": (
        "({hours} hour[s] [and {minutes} minute[s]]|{hours} {half} hours|"
        "{minutes} (minute[s]|min[s]) [and {seconds} second[s]]|{minutes} {half} minutes|"
        "{seconds} (second[s]|sec[s])|{fixed})"
    ),
}

_REMIND = re.compile(r"^remind\s+me\s+(.+)$", re.IGNORECASE)
_WHEN_START = re.compile(
    r"\b(in|at|on|by|tomorrow|tonight|today|this|next|every|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|the day after)\b"
)


@functools.cache
def _intents() -> Any:
    from hassil import Intents

    return Intents.from_dict(
        {
            "language": "en",
            "intents": {
                name: {"data": [{"sentences": sentences}]} for name, sentences in SENTENCES.items()
            },
            "lists": LISTS,
            "expansion_rules": RULES,
        }
    )


def warm_up() -> None:
    """Load the templates and hassil's number words (about 0.6 s on the first match)."""
    from hassil import recognize_best

    recognize_best("set a timer for ten minutes", _intents())
    units_warm_up()
    now = datetime.now(UTC)
    parse_when("tomorrow at nine", now, UTC)


def plain(text: str) -> str:
    """The request without "hey Hearth", "could you please", "thanks" and end marks."""
    s = " ".join(text.replace("\u2019", "'").split())
    s = _POLITE.sub("", s, count=1)
    return _TAIL.sub("", s)


class Matcher:
    """Sentence -> ToolCall, or None to leave it to the model."""

    def __init__(self, now: Any, zone: Any) -> None:
        self._now = now
        self._zone = zone

    def match(self, text: str) -> ToolCall | None:
        said = plain(text)
        if not said or len(said) > 300:
            return None
        now: datetime = self._now()
        zone: tzinfo = self._zone()
        reminder = _REMIND.match(said)
        if reminder is not None:
            return _reminder(reminder[1], now, zone)
        event = match_calendar(said, now, zone)
        if event is not None:
            return event
        conversion = match_units(said)
        if conversion is not None:
            return conversion
        from hassil import recognize_all

        best: tuple[tuple[int, int], ToolCall] | None = None
        for result in recognize_all(said, _intents()):
            slots = {k: _original(said, e) for k, e in result.entities.items()}
            call = _call(result.intent.name, slots)
            if call is None:
                continue
            wild = sum(1 for e in result.entities.values() if e.is_wildcard)
            wild_chars = sum(len(str(e.value)) for e in result.entities.values() if e.is_wildcard)
            rank = (wild, wild_chars)
            if best is None or rank < best[0]:
                best = (rank, call)
        return best[1] if best is not None else None


def _original(said: str, entity: Any) -> Any:
    """A wildcard's words as the user wrote them: hassil drops the commas of "eggs, bread
    and milk", which tell the items apart."""
    value = entity.value
    span = getattr(entity, "text_span", None)
    if not entity.is_wildcard or not isinstance(value, str) or not span:
        return value
    written = said[span[0] : span[1]].strip(" ,.;:!?")
    same = re.sub(r"[^\w\s]", "", written).split() == re.sub(r"[^\w\s]", "", value).split()
    return written if same else value


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def _call(intent: str, slots: dict[str, Any]) -> ToolCall | None:
    if intent == "SetTimer":
        seconds = (
            _number(slots.get("hours")) * 3600
            + _number(slots.get("minutes")) * 60
            + _number(slots.get("seconds"))
            + _number(slots.get("fixed"))
        )
        if "half" in slots:
            seconds += 1800 if "hours" in slots else 30
        name = str(slots.get("name", "")).strip()
        if seconds <= 0 or len(name) > 40 or _WHEN_START.search(name.lower()):
            return None
        return ToolCall("set_timer", {"seconds": seconds, "name": name})
    if intent == "ListAlarms":
        return ToolCall("list_alarms", {"kind": str(slots.get("kinds", "all"))})
    if intent == "TimeLeft":
        return ToolCall("time_left", {"name": str(slots.get("name", "")).strip()})
    if intent == "CancelAlarms":
        kind = str(slots.get("kinds", ""))
        name = str(slots.get("name", "")).strip()
        if kind:
            return ToolCall("cancel_alarms", {"kind": kind, "name": "", "all": True})
        return ToolCall("cancel_alarms", {"kind": "timer", "name": name, "all": False})
    if intent == "CancelReminder":
        name = str(slots.get("name", "")).strip()
        return ToolCall("cancel_alarms", {"kind": "reminder", "name": name, "all": False})
    if intent in ("AddItem", "ReadList", "RemoveItem"):
        name = str(slots.get("known_list") or slots.get("list") or "").strip()
        if not name or len(name) > 40:
            return None
        if intent == "ReadList":
            return ToolCall("read_notes", {"list": name})
        item = str(slots.get("item", "")).strip()
        if not item:
            return None
        tool = "add_note" if intent == "AddItem" else "remove_note"
        return ToolCall(tool, {"text": item, "list": name})
    if intent == "AddNote":
        note = str(slots.get("note", "")).strip()
        return ToolCall("add_note", {"text": note, "list": ""}) if note else None
    if intent == "ReadNotes":
        return ToolCall("read_notes", {"list": "", "about": str(slots.get("about", "")).strip()})
    if intent == "Calculate":
        expression = str(slots.get("expression", ""))
        try:
            normalise(expression)
        except MathsError:
            return None  # "what is the capital of France": not a sum
        return ToolCall("calculate", {"expression": expression})
    if intent in ("DaysUntil", "DayOfWeek"):
        what = "days_until" if intent == "DaysUntil" else "day_of_week"
        return ToolCall("date_maths", {"question": what, "date": str(slots.get("date", ""))})
    if intent == "TimeIn":
        place = str(slots.get("place", "")).strip()
        return ToolCall("time_in", {"place": place}) if zone_of(place) else None
    if intent == "Now":
        return ToolCall("date_maths", {"question": "now", "date": ""})
    return None


def _reminder(rest: str, now: datetime, zone: tzinfo) -> ToolCall | None:
    """ "to call mum tomorrow at 9" / "tomorrow at 9 to call mum" / "about the bins every
    Monday": the words and the time, or None when no time can be read."""
    words = rest.strip()
    lead = re.match(r"^(to|that|about)\s+", words)
    if lead is not None:  # the text first, then the time: try the longest time that reads
        body = words[lead.end() :]
        for start in _when_starts(body):
            what, when = body[:start].strip(" ,"), body[start:].strip()
            if what and _reads(when, now, zone):
                return ToolCall("set_reminder", {"text": _subject(lead[1], what), "when": when})
        return None
    for to in re.finditer(r"\s(to|that|about)\s", words):  # the time first: "at 5 to ..."
        when, what = words[: to.start()].strip(" ,"), words[to.end() :].strip()
        if what and _reads(when, now, zone):
            return ToolCall("set_reminder", {"text": _subject(to[1], what), "when": when})
    return None


def _when_starts(body: str) -> list[int]:
    return [m.start() for m in _WHEN_START.finditer(body.lower())]


def _reads(when: str, now: datetime, zone: tzinfo) -> bool:
    if parse_repeat(when, now, zone) is not None:
        return True
    return parse_when(when, now, zone) is not None  # a past time is refused by the tool


def _subject(lead: str, what: str) -> str:
    """What the reminder says: "call mum" (a repeated "to" as STT writes it is dropped)."""
    return re.sub(r"^(to|that)\s+", "", what.strip())
