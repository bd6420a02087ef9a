"""Follow-up questions: a command that lacks what it needs ("set a timer", "remind me to call
mum") is answered with a question ("For how long?"), and the next words of that conversation
complete it ("ten minutes" -> "set a timer for ten minutes").

The completed sentence goes through the same templates as any other, so a follow-up can do
nothing a whole sentence could not; an answer that does not complete it ("what's the
weather?") drops the question and is handled as usual. A question waits two minutes.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from app.core.tools.intents import plain

WAIT_SECONDS = 120.0
_NEVER_MIND = re.compile(r"^(?:never ?mind|forget it|nothing|no|nope|cancel|stop|no thanks)$")


@dataclass(frozen=True, slots=True)
class Asked:
    question: str
    template: str
    """The whole sentence with ``{}`` where the answer goes."""
    at: float


_INCOMPLETE: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(r"^(?:set|start|create|make|put on)\s+(?:me\s+)?(?:an?\s+)?(?:new\s+)?timer$"),
        "For how long?",
        "set a timer for {}",
    ),
    (
        re.compile(r"^(?:set|start)\s+(?:an?\s+|the\s+)?(?P<name>[a-z]+)\s+timer$"),
        "For how long?",
        "set a {name} timer for {}",
    ),
    (
        re.compile(r"^remind me (?P<what>(?:to|about)\s+.+)$"),
        "When should I remind you?",
        "remind me {what} {}",
    ),
    (
        re.compile(r"^(?:set (?:me )?a reminder|remind me|can you remind me)$"),
        "What should I remind you of, and when?",
        "remind me {}",
    ),
    (
        re.compile(r"^(?:add|put) (?:an item |a thing )?(?:to|on) (?:my|the) (?P<list>.+ list)$"),
        "What should I add?",
        "add {} to my {list}",
    ),
]


def incomplete(text: str) -> tuple[str, str] | None:
    """(question, template) when ``text`` is a command that lacks its time, length or item."""
    said = plain(text).lower()
    for pattern, question, template in _INCOMPLETE:
        found = pattern.match(said)
        if found is not None:
            named = {k: v for k, v in found.groupdict().items() if v}
            return question, template.replace("{}", "\x00").format(**named).replace("\x00", "{}")
    return None


class FollowUps:
    """The question waiting in each conversation (thread-safe)."""

    def __init__(self, clock: object = time.monotonic) -> None:
        self._asked: dict[str, Asked] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def ask(self, conversation_id: str, question: str, template: str) -> None:
        with self._lock:
            self._asked[conversation_id] = Asked(question, template, self._now())

    def waiting(self, conversation_id: str) -> Asked | None:
        with self._lock:
            asked = self._asked.get(conversation_id)
            if asked is not None and self._now() - asked.at > WAIT_SECONDS:
                del self._asked[conversation_id]
                return None
            return asked

    def take(self, conversation_id: str) -> Asked | None:
        with self._lock:
            asked = self._asked.pop(conversation_id, None)
        if asked is not None and self._now() - asked.at > WAIT_SECONDS:
            return None
        return asked

    @staticmethod
    def never_mind(answer: str) -> bool:
        return _NEVER_MIND.match(plain(answer).lower()) is not None

    @staticmethod
    def complete(asked: Asked, answer: str) -> str:
        return asked.template.format(plain(answer))

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]
