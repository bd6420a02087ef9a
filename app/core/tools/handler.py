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

from app.core.errors import AssistantError
from app.core.handlers import Action, Confirmation, Handled, Request
from app.core.tools.base import Risk, ToolCall, ToolRegistry, ToolResult
from app.core.tools.fallback import ask_words
from app.core.tools.follow_up import FollowUps, incomplete

log = logging.getLogger(__name__)


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
        if incomplete(request.text) is not None:
            return True
        asked = self.follow_ups.waiting(request.conversation_id)
        if asked is not None and (
            FollowUps.never_mind(request.text)
            or self.match(FollowUps.complete(asked, request.text)) is not None
        ):
            return True
        return self.match(request.text) is not None

    def handle(self, request: Request) -> Handled | None:
        answered = self._follow_up(request)
        if answered is not None:
            return answered
        started = time.perf_counter()
        call = self.match(request.text)
        log.debug("tool match in %.1f ms: %s", (time.perf_counter() - started) * 1000, call)
        if call is None:
            lacking = incomplete(request.text)
            if lacking is not None:  # "set a timer": ask for the length, then do it
                self.follow_ups.ask(request.conversation_id, *lacking)
                return Handled(lacking[0])
        if call is None and self.choose is not None:
            call = self.choose(request.text)
        if call is None:
            return None
        return self.perform(call)

    def preview(self, request: Request) -> str | None:
        """The reply :meth:`handle` would give, worked out without changing anything (a
        read is run, a destructive call gives its question, a creating tool its own
        ``preview``); None when there is none to foresee. For speaking a spoken command's
        confirmation the moment push-to-talk is let go."""
        asked = self.follow_ups.waiting(request.conversation_id)
        if asked is not None:
            text = FollowUps.complete(asked, request.text)
            if FollowUps.never_mind(request.text):
                return None
        else:
            text = request.text
            lacking = incomplete(text)
            if lacking is not None and self.match(text) is None:
                return lacking[0]
        call = self.match(text)
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

    def _follow_up(self, request: Request) -> Handled | None:
        """The answer to "For how long?" and the like, completing the command it was
        asked for; None when nothing was asked or the words are no answer to it."""
        asked = self.follow_ups.take(request.conversation_id)
        if asked is None:
            return None
        if FollowUps.never_mind(request.text):
            return Handled("All right, I did nothing.")
        call = self.match(FollowUps.complete(asked, request.text))
        return self.perform(call) if call is not None else None

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
