"""The tool interface, its risk levels and the registry."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from app.core.errors import AssistantError


class Risk(StrEnum):
    """What running a tool can do, as MCP's read-only / destructive hints say it."""

    READ = "read"
    """Looks only (what timers do I have, what is 17% of 2,340)."""
    CREATE = "create"
    """Adds something the user can see and undo (a timer, a note)."""
    DESTRUCTIVE = "destructive"
    """Deletes, cancels or moves: asks first."""


class ToolError(AssistantError):
    """A tool refused its arguments or could not do its work; the message says why."""

    code = "tool"


@dataclass(frozen=True, slots=True)
class ToolCall:
    tool: str
    args: Mapping[str, Any]
    source: str = "template"
    """Who chose the call: "template" (the fast path) or "model"."""


@dataclass(frozen=True, slots=True)
class ToolResult:
    reply: str
    """What Hearth says: short, with the numbers and times computed by the tool."""
    action: str = ""
    """A stable word for what was done ("created", "cancelled", ...); empty when only read."""
    summary: str = ""
    """One line for the action's card."""
    ids: tuple[str, ...] = ()
    undo: Callable[[], str] | None = field(default=None, compare=False, repr=False)
    card: Mapping[str, Any] = field(default_factory=dict)
    """What the chat's card shows (kind, text, due as ISO 8601, repeat)."""


class Tool(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def schema(self) -> Mapping[str, Any]:
        """JSON schema of the arguments (an object)."""
        ...

    @property
    def risk(self) -> Risk: ...

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        """Do the work; raises ToolError with a plain message on bad arguments."""
        ...

    def confirm(self, args: Mapping[str, Any]) -> str | None:
        """The question asked before a destructive call ("Cancel the pasta timer?"); None
        when there is nothing to ask about (no such timer: the run says so)."""
        ...


class ToolRegistry:
    """The tools Hearth has, by name."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"two tools are called {tool.name!r}")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def names(self) -> list[str]:
        return list(self._tools)

    def validate(self, call: ToolCall) -> Mapping[str, Any]:
        """The call's arguments checked against its tool's schema (raises ToolError)."""
        tool = self.get(call.tool)
        if tool is None:
            raise ToolError(f"There is no tool called {call.tool!r}.")
        from jsonschema import ValidationError, validate  # type: ignore[import-untyped]

        try:
            validate(dict(call.args), dict(tool.schema))
        except ValidationError as exc:
            raise ToolError(
                "That request did not have what it needs.", details=str(exc.message)
            ) from exc
        return call.args


class AsksNothing:
    """For tools that are not destructive: the handler asks nothing before running them."""

    def confirm(self, args: Mapping[str, Any]) -> str | None:
        return None


def words(text: str) -> set[str]:
    """The lower-case words of ``text``, punctuation dropped (for matching names)."""
    return {w for w in "".join(c if c.isalnum() else " " for c in text.lower()).split()}


def first_up(text: str) -> str:
    """The first letter in capitals, the rest as written ("Call Anna on Friday"; Python's
    str.capitalize would write "Call anna on friday")."""
    return text[:1].upper() + text[1:]


def object_schema(properties: Mapping[str, Any], required: Iterable[str] = ()) -> dict[str, Any]:
    """A JSON schema of an object with exactly these properties."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(required),
        "additionalProperties": False,
    }
