"""The local calendar: conflicts named before saving, recurrence across DST, moving and
cancelling with undo, .ics out and in (Hearth's own and another program's), and SQLite."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from app.core.handlers import Request
from app.core.tools.alarms import AlarmBook, MemoryAlarmStore
from app.core.tools.base import ToolError
from app.core.tools.calendar import Calendar, MemoryCalendarStore, read_ics
from app.core.tools.clock import ManualClock
from app.core.tools.handler import ToolHandler
from app.core.tools.setup import tool_handler
from app.store.tools_db import SqliteToolStore

LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=LONDON)  # a Wednesday


def at(day: str, hm: str = "00:00", zone: ZoneInfo = LONDON) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=zone)


def setup(clock: ManualClock | None = None) -> tuple[ToolHandler, Calendar]:
    clock = clock or ManualClock(NOW)
    calendar = Calendar(MemoryCalendarStore(), clock)
    return tool_handler(AlarmBook(MemoryAlarmStore(), clock), calendar=calendar), calendar


def say(handler: ToolHandler, text: str) -> str:
    handled = handler.handle(Request("c", text))
    assert handled is not None, f"not a tool request: {text!r}"
    return handled.reply


def starts(calendar: Calendar, first: str, last: str) -> list[tuple[str, str]]:
    found = calendar.occurrences(at(first), at(last) + timedelta(days=1))
    return [(o.title, o.start.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")) for o in found]


def test_an_overlapping_event_names_the_other_and_is_added_only_on_yes() -> None:
    handler, calendar = setup()
    say(handler, "add a dentist appointment on Friday at 3")
    handled = handler.handle(Request("c", "schedule a call with Bob on Friday at 3:30"))
    assert handled is not None and handled.confirm is not None
    assert "Dentist appointment" in handled.reply and "15:00" in handled.reply
    assert len(starts(calendar, "2026-12-04", "2026-12-04")) == 1  # nothing saved yet
    handled.confirm.no()
    assert len(starts(calendar, "2026-12-04", "2026-12-04")) == 1
    handled = handler.handle(Request("c", "schedule a call with Bob on Friday at 3:30"))
    assert handled is not None and handled.confirm is not None
    handled.confirm.yes()
    assert starts(calendar, "2026-12-04", "2026-12-04") == [
        ("Dentist appointment", "2026-12-04 15:00"),
        ("Call with Bob", "2026-12-04 15:30"),
    ]
    free = handler.handle(Request("c", "schedule a call with Ann on Friday at 5"))
    assert free is not None and free.confirm is None  # no clash: nothing to ask


def test_a_weekly_event_keeps_its_wall_time_across_the_dst_change() -> None:
    handler, calendar = setup(ManualClock(at("2027-03-17", "10:00")))
    say(handler, "add a standup every Monday at 9 for 15 minutes")
    found = calendar.occurrences(at("2027-03-20"), at("2027-04-06"))
    assert [o.start.astimezone(LONDON).strftime("%m-%d %H:%M %Z") for o in found] == [
        "03-22 09:00 GMT",
        "03-29 09:00 BST",  # the clocks went forward on the 28th
        "04-05 09:00 BST",
    ]
    assert {o.end - o.start for o in found} == {timedelta(minutes=15)}


def test_listing_says_the_day_or_nothing_and_reads_the_week() -> None:
    handler, _ = setup()
    assert say(handler, "what's on tomorrow?") == "Nothing in your calendar tomorrow."
    say(handler, "add lunch with Anna to my calendar on Thursday at 1pm for 90 minutes")
    say(handler, "add a piano lesson on Saturday at 10")
    tomorrow = say(handler, "what's on tomorrow?")
    assert tomorrow == "1 event tomorrow:\n- 13:00\u201314:30 Lunch with Anna"
    week = say(handler, "what's on this week")
    assert week.splitlines() == [
        "2 events this week:",
        "- Tomorrow, 13:00\u201314:30 Lunch with Anna",
        "- Saturday 5 December, 10:00\u201311:00 Piano lesson",
    ]


def test_moving_asks_then_moves_and_undo_puts_it_back() -> None:
    handler, calendar = setup()
    say(handler, "add a dentist appointment on Thursday at 3")
    asked = handler.handle(Request("c", "move my dentist appointment to Friday"))
    assert asked is not None and asked.confirm is not None
    assert "Thursday 3 December 15:00" not in asked.reply  # said as "tomorrow 15:00"
    assert "tomorrow 15:00" in asked.reply and "Friday 4 December 15:00" in asked.reply
    done = asked.confirm.yes()
    assert done.action is not None and done.action.undo is not None
    assert starts(calendar, "2026-12-03", "2026-12-04") == [
        ("Dentist appointment", "2026-12-04 15:00")
    ]
    done.action.undo()
    assert starts(calendar, "2026-12-03", "2026-12-04") == [
        ("Dentist appointment", "2026-12-03 15:00")
    ]


def test_moving_one_occurrence_of_a_series_leaves_the_others() -> None:
    handler, calendar = setup()
    say(handler, "add a standup every weekday at 9 for 15 minutes")
    asked = handler.handle(Request("c", "move Thursday's standup to Thursday at 11"))
    assert asked is not None and asked.confirm is not None
    assert "Only this one" in asked.reply
    asked.confirm.yes()
    assert starts(calendar, "2026-12-03", "2026-12-04") == [
        ("Standup", "2026-12-03 11:00"),
        ("Standup", "2026-12-04 09:00"),
    ]


def test_cancelling_one_day_or_the_whole_series_with_undo() -> None:
    handler, calendar = setup()
    say(handler, "add a standup every weekday at 9 for 15 minutes")
    one = handler.handle(Request("c", "cancel the standup on Friday"))
    assert one is not None and one.confirm is not None and "every time" not in one.reply
    assert "the others stay" in one.confirm.yes().reply
    assert [d for _, d in starts(calendar, "2026-12-03", "2026-12-07")] == [
        "2026-12-03 09:00",
        "2026-12-07 09:00",
    ]
    every = handler.handle(Request("c", "cancel the standup"))
    assert every is not None and every.confirm is not None and "every time" in every.reply
    done = every.confirm.yes()
    assert starts(calendar, "2026-12-03", "2026-12-31") == []
    assert done.action is not None and done.action.undo is not None
    done.action.undo()
    assert len(starts(calendar, "2026-12-03", "2026-12-07")) == 2  # Friday's stays cancelled


def test_nothing_to_cancel_or_move_is_said_plainly() -> None:
    handler, _ = setup()
    assert say(handler, "cancel my dentist appointment") == (
        "I found no “Dentist appointment” in your calendar."
    )
    assert "I found no" in say(handler, "move the team meeting to Monday")


def test_an_ics_round_trip_keeps_every_event_and_importing_twice_adds_nothing() -> None:
    handler, calendar = setup()
    say(handler, "add a standup every weekday at 9 for 15 minutes")
    say(handler, "add a dentist appointment on Friday at 3")
    say(handler, "put the school concert in my diary on Thursday")
    cancelled = handler.handle(Request("c", "cancel the standup on Friday"))
    assert cancelled is not None and cancelled.confirm is not None
    cancelled.confirm.yes()
    exported = calendar.export_ics()
    assert b"BEGIN:VTIMEZONE" in exported and b"TZID:Europe/London" in exported
    fresh = Calendar(MemoryCalendarStore(), ManualClock(NOW))
    added, skipped = fresh.import_ics(exported)
    assert (len(added), skipped) == (3, 0)
    assert starts(fresh, "2026-12-02", "2026-12-09") == starts(calendar, "2026-12-02", "2026-12-09")
    fresh.import_ics(exported)
    assert len(fresh.store.events()) == 3


FOREIGN = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r
BEGIN:VTIMEZONE\r
TZID:W. Europe Standard Time\r
BEGIN:STANDARD\r
DTSTART:16011028T030000\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:16010325T020000\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
END:DAYLIGHT\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:choir-1@example.org\r
SUMMARY:Choir practice\r
LOCATION:Church hall\r
DTSTART;TZID=W. Europe Standard Time:20261014T190000\r
DTEND;TZID=W. Europe Standard Time:20261014T203000\r
RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=6\r
EXDATE;TZID=W. Europe Standard Time:20261028T190000\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:choir-1@example.org\r
RECURRENCE-ID;TZID=W. Europe Standard Time:20261104T190000\r
SUMMARY:Choir practice (hall B)\r
DTSTART;TZID=W. Europe Standard Time:20261105T200000\r
DTEND;TZID=W. Europe Standard Time:20261105T213000\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:holiday-1@example.org\r
SUMMARY:Bank holiday\r
DTSTART;VALUE=DATE:20261225\r
DTEND;VALUE=DATE:20261226\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:broken@example.org\r
SUMMARY:No start\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_another_programs_file_with_vtimezone_rrule_exdate_and_a_moved_occurrence() -> None:
    calendar = Calendar(MemoryCalendarStore(), ManualClock(at("2026-10-01", "10:00")))
    _, skipped = calendar.import_ics(FOREIGN)
    assert skipped == 1  # the event with no start is named as skipped, not guessed
    found = calendar.occurrences(at("2026-10-01"), at("2027-01-01"))
    assert [(o.title, o.start.astimezone(BERLIN).strftime("%m-%d %H:%M")) for o in found] == [
        ("Choir practice", "10-14 19:00"),
        ("Choir practice", "10-21 19:00"),
        # 10-28 is an EXDATE; 11-04 was moved to the 5th at 20:00
        ("Choir practice (hall B)", "11-05 20:00"),
        ("Choir practice", "11-11 19:00"),
        ("Choir practice", "11-18 19:00"),
        ("Bank holiday", "12-25 01:00"),  # all day: from midnight in the user's zone (London)
    ]
    assert found[0].event.zone == "Europe/Berlin"  # Outlook's zone name, read as IANA's
    assert found[0].event.location == "Church hall"
    assert found[-1].event.all_day


def test_a_file_that_is_no_calendar_and_an_endless_rule_are_refused_or_bounded() -> None:
    calendar = Calendar(MemoryCalendarStore(), ManualClock(NOW))
    with pytest.raises(ToolError, match="not a calendar"):
        calendar.import_ics(b"\x89PNG\r\n\x1a\n not a calendar at all")
    secondly = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:Tick\r\n"
        b"DTSTART:20260101T000000Z\r\nDTEND:20260101T000001Z\r\nRRULE:FREQ=SECONDLY\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert calendar.import_ics(secondly) == ([], 1)  # refused, and counted as skipped
    hourly = secondly.replace(b"SECONDLY", b"HOURLY").replace(b"20260101", b"19000101")
    calendar.import_ics(hourly)  # over a million steps from 1900 to a listing of 2026
    started = time.perf_counter()
    found = calendar.occurrences(at("2026-12-01"), at("2027-12-01"))
    assert len(found) == 2000  # capped
    assert time.perf_counter() - started < 60  # bounded, not hours


def test_events_survive_a_restart_and_a_version_1_file_gains_the_calendar(tmp_path: Path) -> None:
    path = tmp_path / "tools.sqlite3"
    with sqlite3.connect(path) as old:  # a file as the first tools release wrote it
        old.execute("CREATE TABLE notes (id TEXT PRIMARY KEY, list TEXT, text TEXT, created REAL)")
        old.execute("INSERT INTO notes VALUES ('n1', '', 'boiler code 4471', 1.0)")
        old.execute("PRAGMA user_version=1")
    store = SqliteToolStore(path)
    assert [n.text for n in store.notes()] == ["boiler code 4471"]
    clock = ManualClock(NOW)
    handler = tool_handler(AlarmBook(store, clock))
    say(handler, "add a standup every Monday at 9 for 15 minutes")
    say(handler, "add a dentist appointment on Friday at 3")
    store.close()
    again = SqliteToolStore(path)
    calendar = Calendar(again, clock)
    assert starts(calendar, "2026-12-02", "2026-12-08") == [
        ("Dentist appointment", "2026-12-04 15:00"),
        ("Standup", "2026-12-07 09:00"),
    ]
    again.close()


def test_the_event_keeps_its_zone_when_the_user_travels() -> None:
    clock = ManualClock(NOW)
    handler, calendar = setup(clock)
    say(handler, "add a dentist appointment on Friday at 3")
    clock.move_to(ZoneInfo("Asia/Tokyo"))
    (occurrence,) = calendar.occurrences(at("2026-12-04"), at("2026-12-05"))
    assert occurrence.start.astimezone(LONDON).strftime("%H:%M") == "15:00"
    listing = say(handler, "what's on Saturday")  # 15:00 in London is midnight in Tokyo
    assert "00:00\u201301:00 Dentist appointment" in listing


def test_read_ics_names_a_missing_start_as_skipped() -> None:
    events, skipped = read_ics(FOREIGN, LONDON)
    assert skipped == 1 and {e.title for e in events} >= {"Choir practice", "Bank holiday"}
