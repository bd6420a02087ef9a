"""Timers and reminders ring on time: the Qt side of :class:`app.core.tools.alarms.AlarmBook`.

A timer on the GUI thread asks the book twice a second what came due (one indexed SQLite
query); each alarm that rang is emitted once through :attr:`AlarmScheduler.rang`. Polling
instead of one long single-shot timer keeps alarms right when the system clock is changed,
the machine wakes from sleep or a tool in another thread (a turn, `hearth ask` through the
window) sets a new alarm.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from app.core.errors import AssistantError
from app.core.tools.alarms import AlarmBook, Fired
from app.core.tools.calendar import Calendar
from app.core.tools.setup import book_calendar

log = logging.getLogger(__name__)

POLL_MS = 500


class AlarmScheduler(QObject):
    rang = Signal(object)
    """A :class:`Fired`: an alarm came due now, or (``missed``) while Hearth was closed."""
    changed = Signal()
    """Alarms were snoozed or dismissed here."""

    def __init__(self, book: AlarmBook, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.book = book
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.check)
        self._started = False
        self._calendar: Calendar | None = None

    def start(self) -> None:
        """Report what came due while Hearth was closed, then ring on time from now on."""
        if self._started:
            return
        self._started = True
        self._emit(self._safely(self.book.on_start))
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def check(self) -> None:
        self._emit(self._safely(self.book.fire_due))

    @property
    def calendar(self) -> Calendar:
        """The calendar kept beside the alarms (the same SQLite file)."""
        if self._calendar is None:
            self._calendar = book_calendar(self.book)
        return self._calendar

    def pending(self) -> bool:
        """Anything still to ring (Hearth keeps running in the tray for it)."""
        try:
            return bool(self.book.active())
        except AssistantError:
            return False

    def snooze(self, alarm_id: str) -> None:
        self.book.snooze(alarm_id)
        self.changed.emit()

    def dismiss(self, alarm_id: str) -> None:
        self.book.dismiss(alarm_id)
        self.changed.emit()

    def _safely(self, step: object) -> list[Fired]:
        try:
            result = step()  # type: ignore[operator]
        except AssistantError as exc:
            log.error("alarms could not be checked: %s (%s)", exc.message, exc.details)
            return []
        return list(result)

    def _emit(self, fired: list[Fired]) -> None:
        for one in fired:
            log.info("alarm rang: %s %s (missed=%s)", one.alarm.kind, one.alarm.id, one.missed)
            self.rang.emit(one)
