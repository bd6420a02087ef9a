"""How a timer or reminder rings in the window: a notification with Snooze and Dismiss, a
message from the tray, a chime, and the words spoken when speech is on."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QSystemTrayIcon

from app.core.tools.alarms import Fired
from app.ui.notifications import Notification, NotificationArea
from app.workers.alarms import AlarmScheduler

log = logging.getLogger(__name__)


class AlarmAlerts(QObject):
    def __init__(
        self,
        scheduler: AlarmScheduler,
        notifications: NotificationArea,
        *,
        tray: Callable[[], QSystemTrayIcon | None] = lambda: None,
        chime: Callable[[], None] = lambda: None,
        speak: Callable[[str], None] = lambda _text: None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.scheduler = scheduler
        self.notifications = notifications
        self._tray = tray
        self._chime = chime
        self._speak = speak
        self.shown: dict[str, Notification] = {}
        scheduler.rang.connect(self._rang)

    def _rang(self, fired: object) -> None:
        assert isinstance(fired, Fired)
        alarm = fired.alarm
        message = fired.message(self.scheduler.book.clock.zone)
        old = self.shown.pop(alarm.id, None)
        if old is not None and not old.dismissed:
            old.dismiss()
        note = self.notifications.show_message(message, level="alarm")
        if alarm.repeat is None:  # a recurring one has moved on already: nothing to snooze
            note.add_action("Snooze 10 min", lambda: self._snooze(alarm.id, note))
        note.add_action("Dismiss", lambda: self._dismiss(alarm.id, note))
        note.close_button.clicked.connect(lambda: self.scheduler.dismiss(alarm.id))
        self.shown[alarm.id] = note
        tray = self._tray()
        if tray is not None and tray.isVisible() and QSystemTrayIcon.supportsMessages():
            tray.showMessage("Hearth", message, QSystemTrayIcon.MessageIcon.Information, 15000)
        if not fired.missed:
            self._chime()
        self._speak(message)

    def _snooze(self, alarm_id: str, note: Notification) -> None:
        self.scheduler.snooze(alarm_id)
        note.dismiss()

    def _dismiss(self, alarm_id: str, note: Notification) -> None:
        self.scheduler.dismiss(alarm_id)
        note.dismiss()
