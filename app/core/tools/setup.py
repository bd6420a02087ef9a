"""The tools Hearth has, put together over one alarm book, note store, calendar and clock."""

from __future__ import annotations

from collections.abc import Callable

from app.core.ports import LanguageModel
from app.core.tools.alarm_tools import alarm_tools
from app.core.tools.alarms import AlarmBook
from app.core.tools.base import ToolRegistry
from app.core.tools.calendar import Calendar, CalendarStore, MemoryCalendarStore
from app.core.tools.calendar_tools import calendar_tools
from app.core.tools.exact import Calculate, DateMaths
from app.core.tools.fallback import ModelChooser
from app.core.tools.handler import ToolHandler
from app.core.tools.intents import Matcher
from app.core.tools.notes import MemoryNoteStore, NoteStore, Remembers, note_tools
from app.core.tools.units import zone_tools


def book_calendar(book: AlarmBook) -> Calendar:
    """The calendar in the book's store when it keeps events too (SQLite does)."""
    store = book.store
    if all(hasattr(store, m) for m in ("add_event", "delete_event", "events")):
        return Calendar(store, book.clock)  # type: ignore[arg-type]
    return Calendar(MemoryCalendarStore(), book.clock)


def tool_registry(
    book: AlarmBook,
    notes: NoteStore | None = None,
    remember: Remembers | None = None,
    calendar: Calendar | None = None,
) -> ToolRegistry:
    return ToolRegistry(
        [
            *alarm_tools(book),
            *note_tools(notes if notes is not None else MemoryNoteStore(), remember),
            *calendar_tools(calendar if calendar is not None else book_calendar(book)),
            Calculate(),
            DateMaths(book.clock),
            *zone_tools(book.clock),
        ]
    )


def tool_handler(
    book: AlarmBook,
    notes: NoteStore | None = None,
    remember: Remembers | None = None,
    calendar: Calendar | None = None,
    model: Callable[[], LanguageModel] | None = None,
) -> ToolHandler:
    """``notes`` and ``calendar`` default to the book's store when it keeps them too;
    ``model`` (the chat model, looked up at each use) reads what the templates miss."""
    if notes is None and all(hasattr(book.store, m) for m in ("add_note", "notes")):
        notes = book.store  # type: ignore[assignment]
    clock = book.clock
    matcher = Matcher(clock.now, lambda: clock.zone)
    registry = tool_registry(book, notes, remember, calendar)
    chooser = ModelChooser(model, registry, clock).choose if model is not None else None
    return ToolHandler(registry, matcher.match, chooser)


__all__ = ["CalendarStore", "book_calendar", "tool_handler", "tool_registry"]
