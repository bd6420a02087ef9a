"""Tools as a direct handler of the turn: the user's words -> a tool call -> a reply.

Only the user's own words of the current turn reach :class:`ToolHandler` (the Assistant gives
it nothing else), so text from documents, memories, images or a tool's own result can never
start a tool. A destructive call asks first, through the pending confirmation (so does an event
that would overlap another); what a call creates or cancels can be undone from its card.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.core.errors import AssistantError
from app.core.handlers import Action, Confirmation, Handled, Request
from app.core.tools.base import Risk, ToolCall, ToolRegistry, ToolResult
from app.core.tools.fallback import ask_words
from app.core.tools.follow_up import Asked, FollowUps, incomplete

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Reading:
    call: ToolCall | None = None
    ask: tuple[str, str] | None = None
    """(the question, the sentence its answer completes): "set a timer" lacks its length."""
    never_mind: bool = False
    """The answer to a follow-up question was "never mind"."""


class ToolHandler:
    name = "tools"

    def __init__(
        self,
        registry: ToolRegistry,
        match: Callable[[str], ToolCall | None],
        choose: Callable[[str], ToolCall | None] | None = None,
    ) -> None:
        self.registry = registry
        self.match = match
        self.choose = choose
        """The model fallback (:class:`app.core.tools.fallback.ModelChooser`), or None."""
        self.follow_ups = FollowUps()

    def claims(self, request: Request) -> bool:
        return self._read(request, self.follow_ups.waiting(request.conversation_id)) is not None

    def handle(self, request: Request) -> Handled | None:
        started = time.perf_counter()
        reading = self._read(request, self.follow_ups.take(request.conversation_id))
        log.debug("tool match in %.1f ms: %s", (time.perf_counter() - started) * 1000, reading)
        if reading is not None and reading.never_mind:
            return Handled("All right, I did nothing.")
        if reading is not None and reading.ask is not None:  # "set a timer": how long?
            self.follow_ups.ask(request.conversation_id, *reading.ask)
            return Handled(reading.ask[0])
        call = reading.call if reading is not None else None
        if call is None and self.choose is not None:
            call = self.choose(request.text)
        return self.perform(call) if call is not None else None

    def preview(self, request: Request) -> str | None:
        """The reply :meth:`handle` would give, worked out without changing anything (a
        read is run, a destructive call gives its question, a creating tool its own
        ``preview``); None when there is none to foresee. For speaking a spoken command's
        confirmation the moment push-to-talk is let go."""
        reading = self._read(request, self.follow_ups.waiting(request.conversation_id))
        if reading is None or reading.never_mind:
            return None
        if reading.ask is not None:
            return reading.ask[0]
        call = reading.call
        tool = self.registry.get(call.tool) if call is not None else None
        if call is None or tool is None:
            return None
        try:
            args = self.registry.validate(call)
            question = tool.confirm(args)
            if question is not None:
                return question
            if tool.risk is Risk.READ:
                return tool.run(args).reply
            foresee = getattr(tool, "preview", None)
            return str(foresee(args)) if callable(foresee) else None
        except AssistantError as exc:
            return exc.message

    def _read(self, request: Request, asked: Asked | None) -> _Reading | None:
        """What the templates make of the words, after ``asked`` (the follow-up question
        waiting in this conversation, if any); None when they make nothing of them (the model
        fallback may still). One reading serves :meth:`claims`, :meth:`handle` and
        :meth:`preview`, so the three always agree."""
        if asked is not None:
            if FollowUps.never_mind(request.text):
                return _Reading(never_mind=True)
            call = self.match(FollowUps.complete(asked, request.text))
            if call is not None:
                return _Reading(call=call)
        call = self.match(request.text)  # no answer to the question: the words on their own
        if call is not None:
            return _Reading(call=call)
        lacking = incomplete(request.text)
        return _Reading(ask=lacking) if lacking is not None else None

    def perform(self, call: ToolCall) -> Handled:
        tool = self.registry.get(call.tool)
        if tool is None:
            return Handled(f"I have no tool called {call.tool}.")
        try:
            args = self.registry.validate(call)
            question = tool.confirm(args)  # destructive ones always ask; others may (a clash)
        except AssistantError as exc:
            return Handled(exc.message)
        if question is None and call.source == "model" and tool.risk is not Risk.READ:
            question = ask_words(call)  # the model's guess changes nothing unasked
        if question is None:
            return self._run(call)

        def yes() -> Handled:
            return self._run(call)

        def no() -> Handled:
            return Handled("All right, I changed nothing.")

        return Handled(question, confirm=Confirmation(self.name, yes, no, "Yes", "No"))

    def _run(self, call: ToolCall) -> Handled:
        tool = self.registry.get(call.tool)
        assert tool is not None
        try:
            result = tool.run(call.args)
        except AssistantError as exc:
            log.info("tool %s refused: %s", call.tool, exc.message)
            return Handled(exc.message)
        return Handled(result.reply, _action(call, result))


def _action(call: ToolCall, result: ToolResult) -> Action | None:
    if not result.action:
        return None
    return Action(
        "tools",
        result.action,
        result.summary or result.reply,
        result.ids,
        (call.tool,),
        result.undo,
    )
