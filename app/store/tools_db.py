"""Timers, reminders, notes and the calendar in one SQLite file, WAL.

Each change is its own transaction with synchronous=FULL: once ``add`` returns, a kill -9
cannot take the alarm back. Times are stored as ISO 8601 with their UTC offset.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import cast

from app.core.errors import StoreError
from app.core.tools.alarms import Alarm, Kind, State
from app.core.tools.calendar import Event, zone_named
from app.core.tools.notes import Note

SCHEMA_VERSION = 2
"""2 added the events table (a version-1 file gains it on open)."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('timer', 'reminder')),
    text TEXT NOT NULL,
    due TEXT NOT NULL,
    created TEXT NOT NULL,
    repeat TEXT,
    seconds REAL,
    state TEXT NOT NULL,
    fired_at TEXT,
    zone TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alarms_by_state ON alarms(state, due);
CREATE TABLE IF NOT EXISTS notes (
    id TEXT PRIMARY KEY,
    list TEXT NOT NULL,
    text TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_list ON notes(list, created);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    zone TEXT NOT NULL,
    repeat TEXT,
    exdates TEXT NOT NULL DEFAULT '[]',
    location TEXT NOT NULL DEFAULT '',
    all_day INTEGER NOT NULL DEFAULT 0,
    uid TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
"""
_EVENT_COLUMNS = "id, title, start, end, zone, repeat, exdates, location, all_day, uid, created"
_COLUMNS = "id, kind, text, due, created, repeat, seconds, state, fired_at, zone"
_INSERT = f"INSERT INTO alarms ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"  # noqa: S608
_REPLACE = f"INSERT OR REPLACE INTO alarms ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"  # noqa: S608
_BY_ID = f"SELECT {_COLUMNS} FROM alarms WHERE id = ?"  # noqa: S608
_IN_STATES = f"SELECT {_COLUMNS} FROM alarms WHERE state IN "  # noqa: S608


class SqliteToolStore:
    """:class:`app.core.tools.alarms.AlarmStore` in the data folder's tools.sqlite3."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            if str(path) != ":memory:":
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"The timers, reminders, notes and calendar at {path} were written by a "
                    f"newer Hearth (schema {version}); update Hearth to open them."
                )
            self._db.executescript(SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"The timers, reminders, notes and calendar at {path} cannot be opened: {exc}. "
                "If the file is damaged, move it away and Hearth will start a new one.",
                details=repr(exc),
            ) from exc

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        try:
            with self._lock:
                self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(
                f"The timers, reminders, notes and calendar could not be saved: {exc}.",
                details=repr(exc),
            ) from exc

    def add(self, alarm: Alarm) -> None:
        self._write(_INSERT, _row(alarm))

    def update(self, alarm: Alarm) -> None:
        self._write(_REPLACE, _row(alarm))

    def get(self, alarm_id: str) -> Alarm | None:
        with self._lock:
            row = self._db.execute(_BY_ID, (alarm_id,)).fetchone()
        return _alarm(row) if row else None

    def delete(self, alarm_id: str) -> None:
        self._write("DELETE FROM alarms WHERE id = ?", (alarm_id,))

    def in_states(self, states: Sequence[State]) -> list[Alarm]:
        marks = ",".join("?" for _ in states)
        with self._lock:
            rows = self._db.execute(_IN_STATES + f"({marks})", tuple(states)).fetchall()
        return sorted((_alarm(r) for r in rows), key=lambda a: (a.due, a.created))

    # -- notes and lists (app.core.tools.notes.NoteStore) -------------------------------------

    def add_note(self, note: Note) -> None:
        self._write(
            "INSERT OR REPLACE INTO notes (id, list, text, created) VALUES (?,?,?,?)",
            (note.id, note.list, note.text, note.created),
        )

    def remove_note(self, note_id: str) -> None:
        self._write("DELETE FROM notes WHERE id = ?", (note_id,))

    def notes(self, list_name: str | None = None) -> list[Note]:
        with self._lock:
            if list_name is None:
                rows = self._db.execute("SELECT id, list, text, created FROM notes").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT id, list, text, created FROM notes WHERE list = ?", (list_name,)
                ).fetchall()
        return sorted(
            (Note(str(r[0]), str(r[1]), str(r[2]), float(r[3])) for r in rows),
            key=lambda n: n.created,
        )

    # -- the calendar (app.core.tools.calendar.CalendarStore) ---------------------------------

    def add_event(self, event: Event) -> None:
        self._write(
            f"INSERT OR REPLACE INTO events ({_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
            (
                event.id,
                event.title,
                event.start.isoformat(),
                event.end.isoformat(),
                event.zone,
                event.repeat,
                json.dumps([d.isoformat() for d in event.exdates]),
                event.location,
                int(event.all_day),
                event.uid,
                event.created,
            ),
        )

    def delete_event(self, event_id: str) -> None:
        self._write("DELETE FROM events WHERE id = ?", (event_id,))

    def events(self) -> list[Event]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_EVENT_COLUMNS} FROM events").fetchall()  # noqa: S608
        return sorted((_event(r) for r in rows), key=lambda e: (e.start, e.created))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _row(a: Alarm) -> tuple[object, ...]:
    return (
        a.id,
        a.kind,
        a.text,
        a.due.isoformat(),
        a.created.isoformat(),
        a.repeat,
        a.seconds,
        a.state,
        a.fired_at.isoformat() if a.fired_at else None,
        a.zone,
    )


def _alarm(row: tuple[object, ...]) -> Alarm:
    (aid, kind, text, due, created, repeat, seconds, state, fired, zone) = row
    return Alarm(
        str(aid),
        cast(Kind, kind),
        str(text),
        datetime.fromisoformat(str(due)),
        datetime.fromisoformat(str(created)),
        str(repeat) if repeat is not None else None,
        float(cast(float, seconds)) if seconds is not None else None,
        cast(State, state),
        datetime.fromisoformat(str(fired)) if fired else None,
        str(zone or ""),
    )


def _event(row: tuple[object, ...]) -> Event:
    (eid, title, start, end, zone, repeat, exdates, location, all_day, uid, created) = row
    tz = zone_named(str(zone))
    return Event(
        str(eid),
        str(title),
        datetime.fromisoformat(str(start)).astimezone(tz),
        datetime.fromisoformat(str(end)).astimezone(tz),
        str(zone),
        str(repeat) if repeat is not None else None,
        tuple(datetime.fromisoformat(d).astimezone(tz) for d in json.loads(str(exdates))),
        str(location),
        bool(all_day),
        str(uid),
        float(cast(float, created)),
    )
