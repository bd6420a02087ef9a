"""How a timer or reminder rings: a notification in the window and one on the desktop (the
freedesktop service), both with Snooze and Dismiss, a chime, and the words spoken when speech
is on. Answering either one answers both."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QSystemTrayIcon

from app.core.tools.alarms import Fired
from app.ui.notifications import Notification, NotificationArea
from app.workers.alarms import AlarmScheduler
from app.workers.desktop_notify import DesktopNotifier

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
        desktop: DesktopNotifier | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.desktop = desktop
        if desktop is not None:
            desktop.clicked.connect(self._desktop_clicked)
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
        if self.desktop is not None and self.desktop.has_session_bus():
            buttons = [("snooze", "Snooze 10 min")] if alarm.repeat is None else []
            self.desktop.notify(alarm.id, "Hearth", message, [*buttons, ("dismiss", "Dismiss")])
        else:
            tray = self._tray()
            if tray is not None and tray.isVisible() and QSystemTrayIcon.supportsMessages():
                tray.showMessage("Hearth", message, QSystemTrayIcon.MessageIcon.Information, 15000)
        if not fired.missed:
            self._chime()
        self._speak(message)

    def _snooze(self, alarm_id: str, note: Notification) -> None:
        self.scheduler.snooze(alarm_id)
        note.dismiss()
        if self.desktop is not None:
            self.desktop.withdraw(alarm_id)

    def _dismiss(self, alarm_id: str, note: Notification) -> None:
        self.scheduler.dismiss(alarm_id)
        note.dismiss()
        if self.desktop is not None:
            self.desktop.withdraw(alarm_id)

    def _desktop_clicked(self, notification: int, action: str) -> None:
        """Snooze or Dismiss pressed in the desktop's notification (a click on its body
        brings the window instead, where the same buttons wait)."""
        assert self.desktop is not None
        alarm_id = self.desktop.answered(notification)
        note = self.shown.get(alarm_id or "")
        if alarm_id is None or note is None:
            return
        if action == "snooze":
            self._snooze(alarm_id, note)
        elif action == "dismiss":
            self._dismiss(alarm_id, note)
