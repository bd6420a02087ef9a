"""Non-blocking notifications: a plain sentence, optional details, a close button."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MAX_VISIBLE = 3


class Notification(QFrame):
    def __init__(
        self, message: str, details: str, level: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("notification")
        self.setProperty("level", level)
        self.message = message
        self.dismissed = False
        self.actions_buttons: list[QPushButton] = []
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 6, 6, 6)
        row = QHBoxLayout()
        self.label = QLabel(message, self)
        self.label.setWordWrap(True)
        self.label.setObjectName("notificationText")
        row.addWidget(self.label, 1)
        self.details_button = QPushButton("Details", self)
        self.details_button.setCheckable(True)
        self.details_button.setVisible(bool(details))
        row.addWidget(self.details_button)
        self._row = row
        self.close_button = QPushButton("✕", self)
        self.close_button.setObjectName("closeNotification")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setFixedWidth(32)
        row.addWidget(self.close_button)
        outer.addLayout(row)
        self.details = QPlainTextEdit(details, self)
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(160)
        self.details.hide()
        outer.addWidget(self.details)
        self.details_button.toggled.connect(self.details.setVisible)
        self.close_button.clicked.connect(self.dismiss)

    def add_action(self, label: str, callback: Callable[[], None]) -> QPushButton:
        """A button before the close button ("Snooze 10 min", "Dismiss")."""
        button = QPushButton(label, self)
        button.clicked.connect(callback)
        self._row.insertWidget(self._row.count() - 1, button)
        self.actions_buttons.append(button)
        return button

    def dismiss(self) -> None:
        self.dismissed = True
        self.hide()
        self.deleteLater()


class NotificationArea(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notificationArea")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 4, 8, 0)
        self._layout.setSpacing(4)

    def visible_notifications(self) -> list[Notification]:
        return [n for n in self.findChildren(Notification) if not n.dismissed]

    def show_message(
        self, message: str, *, details: str = "", level: str = "error", timeout_ms: int = 0
    ) -> Notification:
        current = self.visible_notifications()
        for old in current[: max(0, len(current) - MAX_VISIBLE + 1)]:
            old.dismiss()
        note = Notification(message, details, level, self)
        self._layout.addWidget(note)
        if timeout_ms > 0:
            QTimer.singleShot(timeout_ms, note, note.dismiss)
        return note
