"""The model fallback: a request the templates did not match, read by the language model, which
picks one tool (or none) and fills its arguments under a JSON schema built from the registry.

The schema makes every reply a valid choice: ``{"tool": "none"}`` or ``{"tool": <name>,
"args": <that tool's own schema>}``; the arguments are validated again by the registry before
anything runs. Three rules keep a wrong guess harmless, because not calling a tool beats
calling the wrong one (the 0.5B model alone chose a wrong tool for 43% of the phrasings the
templates miss; see bench/tools.py):

- the model is asked only when the words name something a tool does and are said as a
  request (:func:`might_be_tool`): chit-chat, statements, questions about the world and
  negations never cost a model pass or risk an action;
- the tool it chose must agree with the words (:data:`AGREES`: a reminder needs "remind",
  a cancel needs "cancel" or the like), or the choice is dropped;
- a call the model chose that would create or change something is asked first ("Shall I set
  a reminder ...?"); only reads (a sum, the time in Tokyo) run at once.

The model only ever sees the user's own words of this turn.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from app.core.cancel import CancelToken
from app.core.errors import AssistantError
from app.core.ports import ChatMessage, LanguageModel
from app.core.structured import parse_structured
from app.core.tools.base import ToolCall, ToolRegistry
from app.core.tools.clock import Clock

log = logging.getLogger(__name__)

MAX_TOKENS = 120
_TOOL_WORDS = re.compile(
    r"\b(timers?|remind\w*|alarms?|wake me|ping me|nudge me|alert me|notes?|jot|write (?:it |"
    r"this |that )?down|(?:shopping|grocery|to ?do|packing) list|calendar|diary|agenda|"
    r"schedule\w*|appointments?|meetings?|cancel\w*|reschedul\w*|postpone|convert|left on|"
    r"days? (?:until|till|between)|percent|per cent|what time|time in)\b|%|\d\s*[-+*/x×÷^]\s*\d",
    re.IGNORECASE,
)
TITLES = {
    "set_timer": "set a timer",
    "set_reminder": "set a reminder",
    "cancel_alarms": "cancel timers or reminders",
    "add_note": "add a note",
    "remove_note": "remove from a list",
    "add_event": "add an event to your calendar",
    "move_event": "move an event",
    "cancel_event": "cancel an event",
}


_NOT_A_REQUEST = re.compile(
    r"^(?:(?:hey|ok|okay)\s+hearth[,!.]?\s+)?(?:"
    r"i(?!\s+(?:need|want|would like|'d like|d like)\b)|my|the|who|why|when|did|does|do you|"
    r"was|were|is it|isn't|should|shall i|could i|what's a|what is a|what are|how do|how does|"
    r"don't|do not|never|no)\b",
    re.IGNORECASE,
)
"""Statements ("my alarm didn't go off"), questions about the world ("who invented the
timer") and negations ("don't remind me"): the model is not asked to act on them."""
_PAST = re.compile(r"\b(?:yesterday|last (?:night|week|time)|ago|did|didn't|was|were)\b", re.I)


def _words(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rf"\b(?:{p})\b", re.IGNORECASE) for p in patterns)


_ALARM = r"timers?|reminders?|alarms?"
_EVENT = r"calendar|diary|agenda|schedule|appointments?|meetings?|events?|lunch|dinner|class"
AGREES: dict[str, tuple[re.Pattern[str], ...]] = {
    # A tool the model chose runs only when the words carry its kind of request, each of these
    # patterns at least once: a guess against the words is dropped (a miss, never an action).
    "set_timer": _words(r"timer|countdown|count down"),
    "set_reminder": _words(r"remind\w*|wake me|ping me|nudge me|alert me|don't let me forget"),
    "list_alarms": _words(_ALARM, r"what|which|list|show|any|got|have"),
    "time_left": _words(r"timer", r"left|remaining|longer|how long|how much time"),
    "cancel_alarms": _words(
        _ALARM, r"cancel|delete|remove|scrap|get rid of|stop|clear|turn off|kill|drop"
    ),
    "add_note": _words(r"notes?|jot|write|list"),
    "read_notes": _words(r"notes|list", r"what|read|show|tell|got|on"),
    "remove_note": _words(r"list|notes?", r"remove|delete|take|cross|off|drop"),
    "add_event": _words(
        _EVENT + r"|book|haircut|party",
        r"add|put|schedule|book|plan|set up|"
        r"pencil|like|want|in for|make",
    ),
    "list_events": _words(_EVENT + r"|plans|free|busy|on"),
    "move_event": _words(_EVENT, r"move|reschedule|postpone|push|shift|bring forward|change"),
    "cancel_event": _words(_EVENT, r"cancel|delete|remove|call off|drop|scrap"),
    "calculate": _words(r"\d+|percent|per cent|plus|minus|times|divided|squared|half|third"),
    "date_maths": _words(r"days?|date|week|weekday"),
    "convert_units": _words(r"convert|in|into|to"),
    "time_in": _words(r"time", r"in|there"),
}


def might_be_tool(text: str) -> bool:
    """Words a tool could act on, said as a request; anything else goes straight to the chat
    model."""
    said = " ".join(text.split())
    return (
        len(said) <= 300
        and _TOOL_WORDS.search(said) is not None
        and _NOT_A_REQUEST.match(said) is None
        and _PAST.search(said) is None
    )


def agrees(call: ToolCall, text: str) -> bool:
    """Whether the user's words carry the kind of request the model's chosen tool does."""
    needed = AGREES.get(call.tool)
    return needed is not None and all(p.search(text) for p in needed)


def choice_schema(registry: ToolRegistry) -> dict[str, Any]:
    """One of: no tool, or a tool by name with arguments under that tool's own schema."""
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {"tool": {"const": "none"}},
            "required": ["tool"],
            "additionalProperties": False,
        }
    ]
    for tool in registry:
        options.append(
            {
                "type": "object",
                "properties": {"tool": {"const": tool.name}, "args": dict(tool.schema)},
                "required": ["tool", "args"],
                "additionalProperties": False,
            }
        )
    return {"anyOf": options}


def _arguments(schema: Mapping[str, Any]) -> str:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    shown = []
    for name, spec in properties.items():
        kind = "|".join(map(str, spec["enum"])) if "enum" in spec else spec.get("type", "any")
        shown.append(f"{name}{'' if name in required else '?'}: {kind}")
    return ", ".join(shown)


EXAMPLES = [
    (
        "ping me about the laundry in 45 minutes",
        '{"tool": "set_reminder", "args": {"text": "the laundry", "when": "in 45 minutes"}}',
    ),
    ("how much longer on the rice timer", '{"tool": "time_left", "args": {"name": "rice"}}'),
    ("I set a timer yesterday and it annoyed me", '{"tool": "none"}'),
    ("what is the capital of Peru", '{"tool": "none"}'),
]


def system_prompt(registry: ToolRegistry, clock: Clock) -> str:
    now = clock.now()
    lines = [
        "You decide whether one of Hearth's tools does what the user asks. Reply with JSON "
        'only: {"tool": "none"} when no tool fits (questions, chit-chat, something in the '
        'past, a negation, a request for something no tool does), else {"tool": <name>, '
        '"args": {...}}. Times and dates go in "when" as the user said them.',
        f"Now: {now:%A %d %B %Y %H:%M}.",
        "Tools:",
    ]
    lines += [f"- {t.name}({_arguments(t.schema)}): {t.description}" for t in registry]
    lines.append("Examples:")
    lines += [f"User: {said}\nReply: {reply}" for said, reply in EXAMPLES]
    return "\n".join(lines)


class ModelChooser:
    """The language model as the tools' second reader (see the module's notes)."""

    def __init__(
        self,
        model: Callable[[], LanguageModel],
        registry: ToolRegistry,
        clock: Clock,
        *,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        self.model = model
        self.registry = registry
        self.clock = clock
        self.max_tokens = max_tokens
        self.schema = choice_schema(registry)
        self.last_seconds = 0.0

    def choose(self, text: str, cancel: CancelToken | None = None) -> ToolCall | None:
        """The model's call for ``text``, already validated; None for "no tool", for words no
        tool could act on, and when the model fails (the chat model answers instead)."""
        if not might_be_tool(text):
            return None
        started = time.perf_counter()
        messages = [
            ChatMessage("system", system_prompt(self.registry, self.clock)),
            ChatMessage("user", text),
        ]
        try:
            reply = self.model().structured(
                messages,
                schema=self.schema,
                max_tokens=self.max_tokens,
                cancel=cancel or CancelToken(),
            )
            value = parse_structured(reply, self.schema)
        except AssistantError as exc:
            log.info("tool fallback gave nothing usable: %s", exc.message)
            return None
        finally:
            self.last_seconds = time.perf_counter() - started
        if not isinstance(value, dict) or value.get("tool") in (None, "none"):
            return None
        call = ToolCall(str(value["tool"]), dict(value.get("args", {})), source="model")
        if not agrees(call, text):
            log.info("tool fallback chose %s against the words; dropped", call.tool)
            return None
        try:
            self.registry.validate(call)
        except AssistantError:
            return None
        log.info("tool fallback chose %s in %.2f s", call.tool, self.last_seconds)
        return call


def ask_words(call: ToolCall) -> str:
    """ "Shall I set a reminder (text: call mum, when: tomorrow at 9)?"."""
    title = TITLES.get(call.tool, call.tool.replace("_", " "))
    shown = ", ".join(f"{k}: {v}" for k, v in call.args.items() if v not in ("", None, False))
    return f"Shall I {title} ({shown})?" if shown else f"Shall I {title}?"
