"""Direct handlers: requests Hearth answers itself, without the language model.

A :class:`Handler` looks at the user's words of the current turn and either leaves them to
the model (returns None) or answers with a :class:`Handled`: the reply, what it did (an
:class:`Action`, with an undo where one exists) or a :class:`Confirmation` to ask before
acting. Only the user's own words reach a handler: text from documents, memories, images and
tool results never does, so nothing but the user can start a change.

The first handler keeps and forgets memories ("remember that ...", "forget ..."). Later ones
(timers, reminders, notes) plug in the same way, and any of them can ask first: the question
waits in :class:`PendingConfirmations` until the next message of that conversation, which is
a yes or a no (typed, spoken or clicked) or else an ordinary message that drops the question.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from app.core.memory import (
    Memory,
    fact_id,
    forget_intent,
    forget_label,
    remember_intent,
    remembered,
)


@dataclass(frozen=True, slots=True)
class Request:
    """The user's own words of the current turn."""

    conversation_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Action:
    """Something a handler did: reported as an ACTION event and kept with the reply."""

    handler: str
    action: str
    """A stable word: "remembered", "forgotten", "kept", ..."""
    summary: str
    """One sentence for people: what was done."""
    ids: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    undo: Callable[[], str] | None = field(default=None, compare=False, repr=False)
    """Reverses the action and returns a sentence saying so (None: cannot be undone)."""


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A question to the user before acting; exactly one of the answers runs."""

    handler: str
    yes: Callable[[], Handled] = field(compare=False, repr=False)
    no: Callable[[], Handled] = field(compare=False, repr=False)
    yes_label: str = "Yes"
    no_label: str = "No"
    yes_words: frozenset[str] = frozenset()
    """More ways to say yes to this question ("forget it"); the labels count too."""
    no_words: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Handled:
    reply: str
    action: Action | None = None
    confirm: Confirmation | None = None
    """Set when ``reply`` is a question: the next message answers it."""


class Handler(Protocol):
    name: str

    def handle(self, request: Request) -> Handled | None:
        """Answer the request, or None to leave it to the language model.

        A handler may also have ``claims(request) -> bool``: whether ``handle`` would answer,
        with no side effect; the Assistant then skips preparing the model for a command that
        is still being spoken."""
        ...


# A trailing run is tried only from its first character (re.sub tries every start: "[.!\s]+$"
# alone is quadratic on a long run of spaces that is not at the end).
_END_MARKS = re.compile(r"(?<![.!\s])[.!\s]+$")
_INNER_MARKS = re.compile(r"[,;:]")
_YES = {"yes", "y", "yeah", "yep", "yes please", "sure", "do it", "go ahead", "confirm", "ok"}
_YES |= {"okay", "ok do it", "yes do it"}
_NO = {"no", "n", "nope", "no thanks", "no thank you", "cancel", "don't", "do not", "stop"}


def yes_or_no(
    text: str, yes: frozenset[str] = frozenset(), no: frozenset[str] = frozenset()
) -> bool | None:
    """True for a yes, False for a no, None for anything else (an ordinary message).

    ``yes`` and ``no`` add answers of one question ("forget it", "keep it")."""
    said = _plain(_END_MARKS.sub("", text.strip().lower()))
    if said in _YES or said in yes:
        return True
    if said in _NO or said in no:
        return False
    return None


class PendingConfirmations:
    """At most one open question per conversation (thread-safe)."""

    def __init__(self) -> None:
        self._open: dict[str, Confirmation] = {}
        self._lock = threading.Lock()

    def ask(self, conversation_id: str, confirmation: Confirmation) -> None:
        with self._lock:
            self._open[conversation_id] = confirmation

    def pending(self, conversation_id: str) -> Confirmation | None:
        with self._lock:
            return self._open.get(conversation_id)

    def answer(self, request: Request) -> Handled | None:
        """The outcome if ``request`` answers the open question; any other message drops it
        (None: an ordinary turn)."""
        with self._lock:
            confirmation = self._open.pop(request.conversation_id, None)
        if confirmation is None:
            return None
        answer = yes_or_no(
            request.text,
            confirmation.yes_words | {_plain(confirmation.yes_label)},
            confirmation.no_words | {_plain(confirmation.no_label)},
        )
        if answer is None:
            return None
        return confirmation.yes() if answer else confirmation.no()

    def drop(self, conversation_id: str) -> None:
        with self._lock:
            self._open.pop(conversation_id, None)


def _plain(text: str) -> str:
    return " ".join(_INNER_MARKS.sub(" ", text.lower()).split())


class MemoryHandler:
    """ "remember that ...", "forget ..." (asks before forgetting), with undo."""

    name = "memory"

    def __init__(self, memory: Memory | None) -> None:
        self.memory = memory
        """None: this Hearth keeps no memories; requests are refused, never passed on."""

    def claims(self, request: Request) -> bool:
        return remember_intent(request.text) is not None or forget_intent(request.text) is not None

    def handle(self, request: Request) -> Handled | None:
        fact = remember_intent(request.text)
        what = forget_intent(request.text) if fact is None else None
        if fact is None and what is None:
            return None
        memory = self.memory
        if memory is None:
            if fact is not None:
                return Handled("I can't keep memories here, so I have not remembered that.")
            return Handled("I can't reach my memories here, so I have not forgotten anything.")
        if fact is not None:
            known = bool(memory.store.get("fact", [fact_id(fact)]))
            record = memory.remember_fact(fact, conversation_id=request.conversation_id)

            def undo_remember() -> str:
                memory.forget_records([record])
                return f"Undone: I no longer remember “{record.text}”."

            action = Action(
                self.name,
                "remembered",
                f"Remembered: {record.text}",
                (record.id,),
                (record.text,),
                None if known else undo_remember,  # never undo what was known before
            )
            return Handled(remembered(fact), action)
        assert what is not None
        hits = memory.find_to_forget(what)
        if not hits:
            return Handled(f"I don't remember anything about “{what}”.")
        records = [h.record for h in hits]
        ids = tuple(r.id for r in records)
        texts = tuple(r.text for r in records)

        def forget() -> Handled:
            memory.forget_records(records)

            def undo_forget() -> str:
                memory.import_records(records)
                return "Undone: I remember it again."

            summary = "Forgotten: " + "; ".join(texts)
            return Handled(
                "Done. I have forgotten it.",
                Action(self.name, "forgotten", summary, ids, texts, undo_forget),
            )

        def keep() -> Handled:
            return Handled("All right, I kept it.", Action(self.name, "kept", "Kept", ids, texts))

        listing = "\n".join(f"- {forget_label(r)}" for r in records)
        question = (
            f"Should I forget this?\n\n{listing}\n\nSay **yes** to forget it or **no** to keep it."
        )
        return Handled(
            question,
            confirm=Confirmation(
                self.name,
                forget,
                keep,
                "Yes, forget it",
                "No, keep it",
                frozenset({"forget it"}),
                frozenset({"keep it"}),
            ),
        )
