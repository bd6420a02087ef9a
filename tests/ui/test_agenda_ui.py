"""The agenda window: the calendar by day and week, events added by a typed command showing
there, a delete that asks first and can be undone, .ics import and export; the timers and
reminders listed, edited and deleted."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from app.core.tools.calendar import Calendar, MemoryCalendarStore
from app.core.tools.clock import ManualClock
from app.settings import Paths
from app.ui.agenda import AgendaWindow
from PySide6.QtCore import QDate, QDateTime
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory, texts
from tests.ui.test_alarms_ui import LONDON, rig, send
from tests.unit.test_calendar import FOREIGN


def rows(agenda: AgendaWindow) -> list[str]:
    return [agenda.events.item(i).text() for i in range(agenda.events.count())]


def choose(agenda: AgendaWindow, row: int) -> None:
    item = agenda.reminders.topLevelItem(row)
    assert item is not None
    agenda.reminders.setCurrentItem(item)


def reminder_rows(agenda: AgendaWindow) -> list[list[str]]:
    tree = agenda.reminders
    return [
        [tree.topLevelItem(i).text(c) for c in range(3)]  # type: ignore[union-attr]
        for i in range(tree.topLevelItemCount())
    ]


def test_events_said_in_the_chat_show_by_day_and_week_and_delete_asks_then_undoes(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window, _book, _clock, _scheduler = rig(qtbot, make_window, paths)
    send(qtbot, window, "add a dentist appointment on Friday at 3")
    send(qtbot, window, "add a standup every weekday at 9 for 15 minutes")
    assert "Added “Standup”" in texts(window)[-1][1]
    agenda = window.open_agenda()
    assert agenda is not None and agenda.isVisible()
    agenda.month.setSelectedDate(QDate(2026, 12, 4))
    assert rows(agenda) == [
        "09:00\u201309:15   Standup  (repeats)",
        "15:00\u201316:00   Dentist appointment",
    ]
    agenda.span.setCurrentText("Week")
    assert agenda.heading.text() == "Week of Monday 30 November 2026"
    assert rows(agenda)[:3] == [
        "Thu 3  09:00\u201309:15   Standup  (repeats)",
        "Fri 4  09:00\u201309:15   Standup  (repeats)",
        "Fri 4  15:00\u201316:00   Dentist appointment",
    ]
    agenda.events.setCurrentRow(2)
    agenda.delete_event_button.click()
    bar = agenda.calendar_bar
    assert bar.isVisible() and bar.label.text() == "Delete “Dentist appointment”?"
    assert len(rows(agenda)) == 3  # nothing gone before the yes
    bar.yes.click()
    assert rows(agenda) == [
        "Thu 3  09:00\u201309:15   Standup  (repeats)",
        "Fri 4  09:00\u201309:15   Standup  (repeats)",
    ]
    assert bar.label.text() == "Deleted “Dentist appointment”." and bar.yes.text() == "Undo"
    bar.yes.click()
    assert "Fri 4  15:00\u201316:00   Dentist appointment" in rows(agenda)
    send(qtbot, window, "what's on Friday")
    assert texts(window)[-1][1].splitlines() == [
        "2 events on Friday 4 December:",
        "- 09:00\u201309:15 Standup",
        "- 15:00\u201316:00 Dentist appointment",
    ]


def test_calendar_files_import_and_export_from_the_agenda(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    window, _book, _clock, _scheduler = rig(qtbot, make_window, paths)
    agenda = window.open_agenda()
    assert agenda is not None
    (tmp_path / "outlook.ics").write_bytes(FOREIGN)
    agenda.import_file(str(tmp_path / "outlook.ics"))
    assert agenda.calendar_bar.label.text() == (
        "Imported 3 events from outlook.ics (1 part could not be read)."
    )
    agenda.month.setSelectedDate(QDate(2026, 12, 25))
    assert rows(agenda) == ["all day   Bank holiday"]
    (tmp_path / "junk.ics").write_bytes(b"\x00\x01 not a calendar")
    agenda.import_file(str(tmp_path / "junk.ics"))
    assert "not a calendar Hearth can read" in agenda.calendar_bar.label.text()
    agenda.export_file(str(tmp_path / "out.ics"))
    other = Calendar(MemoryCalendarStore(), ManualClock(datetime(2026, 10, 1, tzinfo=LONDON)))
    added, skipped = other.import_ics((tmp_path / "out.ics").read_bytes())
    assert (len(added), skipped) == (3, 0)


def test_timers_and_reminders_are_listed_edited_and_deleted_with_undo(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window, book, clock, _scheduler = rig(qtbot, make_window, paths)
    send(qtbot, window, "set a timer for ten minutes called pasta")
    send(qtbot, window, "remind me to call the dentist at 5pm")
    agenda = window.open_agenda("Reminders")
    assert agenda is not None and agenda.tabs.currentIndex() == 1
    assert reminder_rows(agenda) == [
        ["The pasta timer", "10 minutes left", ""],
        ["Call the dentist", "today at 17:00", ""],
    ]
    choose(agenda, 1)
    assert agenda.edit_text.text() == "call the dentist"
    agenda.edit_text.setText("call the dentist about Friday")
    agenda.edit_due.setDateTime(QDateTime(2026, 12, 2, 18, 15, 0))
    agenda.save_button.click()
    (reminder,) = book.active("reminder")
    assert reminder.text == "call the dentist about Friday"
    assert reminder.local_due(LONDON) == datetime(2026, 12, 2, 18, 15, tzinfo=LONDON)
    assert reminder_rows(agenda)[1] == ["Call the dentist about Friday", "today at 18:15", ""]
    agenda.edit_due.setDateTime(QDateTime(2026, 12, 1, 9, 0, 0))  # yesterday: refused
    agenda.save_button.click()
    assert "already passed" in agenda.reminders_bar.label.text()
    assert book.active("reminder")[0].local_due(LONDON).hour == 18

    choose(agenda, 0)
    agenda.delete_alarm_button.click()
    assert agenda.reminders_bar.label.text() == "Delete the pasta timer?"
    agenda.reminders_bar.yes.click()
    assert [a.kind for a in book.active()] == ["reminder"]
    agenda.reminders_bar.yes.click()  # Undo
    assert sorted(a.kind for a in book.active()) == ["reminder", "timer"]
    clock.advance(timedelta(minutes=11))  # the timer rings: the list follows
    qtbot.waitUntil(lambda: reminder_rows(agenda)[0][1] == "", timeout=5000)
    assert reminder_rows(agenda)[0][0] == "The pasta timer is ringing"
    QApplication.processEvents()


def test_the_agenda_opens_from_its_menu_and_from_the_tray(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window, _book, _clock, _scheduler = rig(qtbot, make_window, paths)
    menus = {a.text(): a for a in window.menuBar().actions()}
    assert "&Agenda" in menus
    menu = menus["&Agenda"].menu()
    assert isinstance(menu, QMenu)
    actions = {a.text(): a for a in menu.actions()}
    assert actions["&Calendar…"].shortcut().toString() == "Ctrl+Shift+A"
    assert actions["&Timers and reminders…"].shortcut().toString() == "Ctrl+Shift+R"
    actions["&Timers and reminders…"].trigger()
    assert window.agenda is not None and window.agenda.isVisible()
    assert window.agenda.tabs.tabText(window.agenda.tabs.currentIndex()) == "Reminders"
    actions["&Calendar…"].trigger()
    assert window.agenda.tabs.tabText(window.agenda.tabs.currentIndex()) == "Calendar"
    assert window.agenda.month.selectedDate() == QDate(2026, 12, 2)  # the clock's today
