"""Timers and reminders in the window: set by a typed command, a card with Undo, a yes/no
before cancelling, and a notification with Snooze and Dismiss when one rings."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from app.core.handlers import MemoryHandler
from app.core.tools.alarms import AlarmBook
from app.core.tools.clock import ManualClock
from app.core.tools.setup import tool_handler
from app.settings import Paths
from app.store.tools_db import SqliteToolStore
from app.ui.main_window import MainWindow
from app.ui.notifications import Notification
from app.workers.alarms import AlarmScheduler
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory, texts

LONDON = ZoneInfo("Europe/London")


def rig(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> tuple[MainWindow, AlarmBook, ManualClock, AlarmScheduler]:
    clock = ManualClock(datetime(2026, 12, 2, 10, 0, tzinfo=LONDON))
    book = AlarmBook(SqliteToolStore(paths.tools_db), clock)
    scheduler = AlarmScheduler(book)
    window = make_window(alarms=scheduler, handlers=[MemoryHandler(None), tool_handler(book)])
    scheduler.start()
    return window, book, clock, scheduler


def in_background(window: MainWindow) -> bool:
    return window.in_background


def send(qtbot: QtBot, window: MainWindow, text: str) -> None:
    with qtbot.waitSignal(window.turn_finished, timeout=10000):
        window.send(text)


def test_a_typed_timer_shows_a_card_rings_and_is_dismissed(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window, book, clock, _scheduler = rig(qtbot, make_window, paths)
    send(qtbot, window, "set a timer for ten minutes")
    assert texts(window)[-1] == ("assistant", "Timer set for 10 minutes.")
    assert [a.kind for a in book.active()] == ["timer"]
    clock.advance(timedelta(minutes=10))
    notes = window.notifications
    qtbot.waitUntil(
        lambda: any("Your timer is done." in n.message for n in notes.visible_notifications()),
        timeout=3000,
    )
    (note,) = [n for n in notes.visible_notifications() if "timer" in n.message]
    labels = [b.text() for b in note.actions_buttons]
    assert labels == ["Snooze 10 min", "Dismiss"]
    qtbot.mouseClick(note.actions_buttons[1], Qt.MouseButton.LeftButton)
    assert book.active() == [] and note.dismissed


def test_undo_on_the_card_removes_the_timer(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window, book, _clock, _scheduler = rig(qtbot, make_window, paths)
    send(qtbot, window, "set a 5 minute timer for the eggs")
    bubble = window.chat.bubbles()[-1]
    qtbot.waitUntil(lambda: getattr(bubble, "undo_button", None) is not None, timeout=3000)
    qtbot.mouseClick(bubble.undo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: book.active() == [], timeout=3000)


def test_cancelling_asks_and_yes_cancels(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window, book, _clock, _scheduler = rig(qtbot, make_window, paths)
    send(qtbot, window, "set a pasta timer for 12 minutes")
    send(qtbot, window, "cancel the pasta timer")
    assert texts(window)[-1][1].startswith("Cancel this?")
    assert len(book.active()) == 1
    send(qtbot, window, "yes")
    assert texts(window)[-1] == ("assistant", "Cancelled the pasta timer.")
    assert book.active() == []


def test_a_snoozed_reminder_rings_again(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window, book, clock, _scheduler = rig(qtbot, make_window, paths)
    send(qtbot, window, "remind me to take the bread out in 20 minutes")
    assert texts(window)[-1] == (
        "assistant",
        "I'll remind you to take the bread out today at 10:20.",
    )
    clock.advance(timedelta(minutes=20))
    notes = window.notifications

    def ringing() -> list[Notification]:
        return [n for n in notes.visible_notifications() if "take the bread out" in n.message]

    qtbot.waitUntil(lambda: len(ringing()) == 1, timeout=3000)
    note = ringing()[0]
    qtbot.mouseClick(note.actions_buttons[0], Qt.MouseButton.LeftButton)
    assert ringing() == []
    (alarm,) = book.active()
    assert alarm.local_due(LONDON).strftime("%H:%M") == "10:30"
    clock.advance(timedelta(minutes=10))
    qtbot.waitUntil(lambda: len(ringing()) == 1, timeout=3000)


def test_a_reminder_due_while_hearth_was_closed_shows_on_start(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    clock = ManualClock(datetime(2026, 12, 2, 10, 0, tzinfo=LONDON))
    earlier = AlarmBook(SqliteToolStore(paths.tools_db), clock)
    earlier.set_reminder("call the bank", datetime(2026, 12, 2, 11, 0, tzinfo=LONDON))
    clock.advance(timedelta(hours=5))  # Hearth was closed meanwhile
    book = AlarmBook(SqliteToolStore(paths.tools_db), clock)
    scheduler = AlarmScheduler(book)
    window = make_window(alarms=scheduler, handlers=[tool_handler(book)])
    scheduler.start()
    messages = [n.message for n in window.notifications.visible_notifications()]
    assert messages == [
        "Reminder: call the bank. (It was due on Wednesday 2 December 2026 at 11:00.)"
    ]


def test_closing_with_a_timer_pending_keeps_hearth_running_until_it_rings(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window, book, clock, _scheduler = rig(qtbot, make_window, paths)
    send(qtbot, window, "remind me to take the bread out in 20 minutes")
    window.close()  # as the user closes it
    assert in_background(window) and not window.isVisible()
    assert window.backend.runner.is_running()  # not shut down: the reminder can still ring
    clock.advance(timedelta(minutes=20))
    qtbot.waitUntil(window.isVisible, timeout=3000)  # it came back to ring
    assert any(
        "take the bread out" in n.message for n in window.notifications.visible_notifications()
    )
    (alarm,) = book.active()
    book.dismiss(alarm.id)
    window.close()  # nothing pending any more: it really closes
    assert not window.isVisible() and not in_background(window)
    assert not window.backend.runner.is_running()


def test_quit_quits_even_with_a_reminder_pending(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window, book, _clock, _scheduler = rig(qtbot, make_window, paths)
    send(qtbot, window, "remind me to call mum tomorrow at 9")
    window.quit()
    assert not in_background(window) and not window.backend.runner.is_running()
    assert len(book.active()) == 1  # kept for the next start


def test_started_at_login_it_waits_hidden_and_a_reminder_brings_the_window(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    clock = ManualClock(datetime(2026, 12, 2, 10, 0, tzinfo=LONDON))
    book = AlarmBook(SqliteToolStore(paths.tools_db), clock)
    book.set_reminder("take the bread out", clock.now() + timedelta(minutes=20))
    scheduler = AlarmScheduler(book)
    window = make_window(alarms=scheduler, handlers=[MemoryHandler(None), tool_handler(book)])
    window.hide()  # as run_gui(background=True) leaves it: never shown
    window.start_in_background()
    scheduler.start()
    assert in_background(window) and not window.isVisible()
    clock.advance(timedelta(minutes=20))
    qtbot.waitUntil(window.isVisible, timeout=3000)
    assert not in_background(window)
    assert any(
        "take the bread out" in n.message for n in window.notifications.visible_notifications()
    )


def test_a_ringing_alarm_is_also_a_desktop_notification_answered_from_there(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.dbus_session import FakeNotifications, private_session_bus

    with private_session_bus() as address:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        desktop = FakeNotifications(address)
        try:
            window, book, clock, _scheduler = rig(qtbot, make_window, paths)
            send(qtbot, window, "set a timer for ten minutes")
            send(qtbot, window, "remind me to call mum at 10:30")
            clock.advance(timedelta(minutes=10))
            qtbot.waitUntil(lambda: len(desktop.shown) == 1, timeout=5000)
            (shown,) = desktop.shown
            assert (shown["app"], shown["summary"], shown["body"]) == (
                "Hearth",
                "Hearth",
                "Your timer is done.",
            )
            assert shown["actions"] == ["snooze", "Snooze 10 min", "dismiss", "Dismiss"]
            assert shown["timeout"] == 0  # it stays until answered
            desktop.click(shown["id"], "dismiss")  # answered on the desktop ...
            qtbot.waitUntil(lambda: [a.kind for a in book.active()] == ["reminder"], timeout=5000)
            notes = window.notifications.visible_notifications()
            assert not any("timer is done" in n.message for n in notes)  # ... so in the window
            clock.advance(timedelta(minutes=20))
            qtbot.waitUntil(lambda: len(desktop.shown) == 2, timeout=5000)
            assert desktop.shown[1]["body"] == "Reminder: call mum."
            (note,) = [
                n for n in window.notifications.visible_notifications() if "mum" in n.message
            ]
            dismiss = next(b for b in note.actions_buttons if b.text() == "Dismiss")
            dismiss.click()  # answered in the window: the desktop's is withdrawn
            qtbot.waitUntil(lambda: desktop.closed == [desktop.shown[1]["id"]], timeout=5000)
            window.quit()  # before the bus goes: its connection closes with the window
        finally:
            desktop.close()
