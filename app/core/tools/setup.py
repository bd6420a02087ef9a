"""The tools Hearth has, put together over one alarm book, note store and clock."""

from __future__ import annotations

from app.core.tools.alarm_tools import alarm_tools
from app.core.tools.alarms import AlarmBook
from app.core.tools.base import ToolRegistry
from app.core.tools.exact import Calculate, DateMaths
from app.core.tools.handler import ToolHandler
from app.core.tools.intents import Matcher
from app.core.tools.notes import MemoryNoteStore, NoteStore, Remembers, note_tools


def tool_registry(
    book: AlarmBook, notes: NoteStore | None = None, remember: Remembers | None = None
) -> ToolRegistry:
    return ToolRegistry(
        [
            *alarm_tools(book),
            *note_tools(notes if notes is not None else MemoryNoteStore(), remember),
            Calculate(),
            DateMaths(book.clock),
        ]
    )


def tool_handler(
    book: AlarmBook, notes: NoteStore | None = None, remember: Remembers | None = None
) -> ToolHandler:
    """``notes`` defaults to the book's store when it keeps notes too (SQLite does)."""
    if notes is None and all(hasattr(book.store, m) for m in ("add_note", "notes")):
        notes = book.store  # type: ignore[assignment]
    clock = book.clock
    matcher = Matcher(clock.now, lambda: clock.zone)
    return ToolHandler(tool_registry(book, notes, remember), matcher.match)
