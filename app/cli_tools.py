"""`hearth reminders`, `hearth notes` and `hearth calendar`: the tools' data from a terminal.

They read and write the data folder's tools.sqlite3 (WAL), where an open window sees a change
within half a second; they need no model. Everything printed that the user or a file wrote
goes through app.terminal.safe.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from app.core.errors import AssistantError
from app.settings import Paths
from app.terminal import safe


def list_reminders(paths: Paths, *, as_json: bool) -> int:
    """`hearth reminders [--json]`: the pending timers and reminders, soonest first."""
    from app.bootstrap import build_alarms
    from app.core.tools.alarm_tools import describe_line

    try:
        book = build_alarms(paths)
        alarms = book.active()
    except AssistantError as exc:
        return _fail(exc.message)
    zone = book.clock.zone
    if as_json:
        rows = [
            {
                "id": a.id,
                "kind": a.kind,
                "text": a.text,
                "due": a.local_due(zone).isoformat(timespec="seconds"),
                "repeat": a.repeat,
                "state": a.state,
            }
            for a in alarms
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not alarms:
        print("No timers or reminders are set.")
    for alarm in alarms:
        print(safe(describe_line(book, alarm)))
    return 0


def list_notes(paths: Paths, *, as_json: bool) -> int:
    """`hearth notes [--json]`: notes first, then each list's items, oldest first."""
    from app.bootstrap import build_alarms

    try:
        store: Any = build_alarms(paths).store
        notes = store.notes()
    except AssistantError as exc:
        return _fail(exc.message)
    notes.sort(key=lambda n: (n.list != "", n.list, n.created))
    if as_json:
        rows = [
            {
                "id": n.id,
                "list": n.list or None,
                "text": n.text,
                "created": datetime.fromtimestamp(n.created).astimezone().isoformat("T", "seconds"),
            }
            for n in notes
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not notes:
        print("No notes or lists yet.")
    shown = None
    for note in notes:
        if note.list != shown:
            shown = note.list
            print(safe(f"{shown.capitalize()} list:" if shown else "Notes:"))
        print(safe(f"- {note.text}"))
    return 0


def calendar(
    paths: Paths,
    *,
    as_json: bool,
    start: str | None,
    end: str | None,
    import_file: str | None,
    export_file: str | None,
) -> int:
    """`hearth calendar [--json] [--from DATE] [--to DATE] [--import F.ics] [--export F.ics]`."""
    from app.bootstrap import build_alarms
    from app.core.tools.calendar_tools import span
    from app.core.tools.setup import book_calendar

    try:
        cal = book_calendar(build_alarms(paths))
        if import_file is not None:
            return _import(cal, Path(import_file))
        if export_file is not None:
            return _export(cal, Path(export_file))
        zone = cal.clock.zone
        today = cal.clock.now().date()
        first = _day(start) if start else today
        last = _day(end) if end else first + timedelta(days=30)
        if last < first:
            return _fail("--to is before --from.")
        lo = datetime(first.year, first.month, first.day, tzinfo=zone)
        hi = datetime(last.year, last.month, last.day, tzinfo=zone) + timedelta(days=1)
        found = cal.occurrences(lo, hi)
    except AssistantError as exc:
        return _fail(exc.message)
    except ValueError as exc:
        return _fail(str(exc))
    if as_json:
        rows = [
            {
                "id": o.event.id,
                "title": o.title,
                "start": o.start.astimezone(zone).isoformat(timespec="seconds"),
                "end": o.end.astimezone(zone).isoformat(timespec="seconds"),
                "all_day": o.event.all_day,
                "location": o.event.location or None,
                "repeat": o.event.repeat,
            }
            for o in found
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print(f"Nothing in the calendar from {first.isoformat()} to {last.isoformat()}.")
    shown_day = None
    for occurrence in found:
        day = occurrence.start.astimezone(zone).date()
        if day != shown_day:
            shown_day = day
            print(f"{day:%A} {day.day} {day:%B %Y}")
        where = f" ({occurrence.event.location})" if occurrence.event.location else ""
        again = ", repeats" if occurrence.event.repeat else ""
        print(safe(f"  {span(occurrence, zone)}  {occurrence.title}{where}{again}"))
    return 0


def _day(text: str) -> date:
    """An ISO date, or words such as "tomorrow" or "next monday"."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    from app.core.tools.clock import SystemClock
    from app.core.tools.when import parse_when

    clock = SystemClock()
    found = parse_when(text, clock.now(), clock.zone)
    if found is None:
        raise ValueError(f"“{text}” is not a date Hearth can read (try 2027-03-01).")
    return found.at.date()


def _import(cal: Any, path: Path) -> int:
    added, skipped = cal.import_file(path)
    note = f"; {skipped} part{'s' if skipped != 1 else ''} could not be read" if skipped else ""
    print(
        safe(f"Imported {len(added)} event{'s' if len(added) != 1 else ''} from {path.name}{note}.")
    )
    return 0


def _export(cal: Any, path: Path) -> int:
    count = cal.export_file(path)
    print(safe(f"Exported {count} event{'s' if count != 1 else ''} to {path}."))
    return 0


def _fail(message: str) -> int:
    print(f"hearth: {safe(message)}", file=sys.stderr)
    return 1
