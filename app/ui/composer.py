"""Where the user writes: Enter sends, Shift+Enter adds a line; Send turns into Stop."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

MIN_LINES, MAX_LINES = 2, 8


class MessageInput(QPlainTextEdit):
    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageInput")
        self.setPlaceholderText("Message Hearth…  (Enter to send, Shift+Enter for a new line)")
        self.setTabChangesFocus(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def _fit(self, *_args: object) -> None:
        """Grow with the text, from two lines up to eight, then scroll."""
        line = self.fontMetrics().lineSpacing()
        lines = max(MIN_LINES, min(MAX_LINES, int(self.document().size().height())))
        margins = self.contentsMargins()
        frame = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom()
        self.setFixedHeight(lines * line + frame + 4)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            mods = event.modifiers()
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
                return
            if not mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
                self.submitted.emit()
                return
        super().keyPressEvent(event)


class Composer(QWidget):
    send_requested = Signal(str)
    stop_requested = Signal()
    talk_pressed = Signal()
    talk_released = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 4, 12, 12)
        outer.setSpacing(4)
        status_row = QHBoxLayout()
        self.hint = QLabel(self)
        self.hint.setObjectName("voiceHint")
        self.hint.setWordWrap(True)
        status_row.addWidget(self.hint, 1)
        self.meter = QProgressBar(self)
        self.meter.setObjectName("micLevel")
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedWidth(120)
        self.meter.setMaximumHeight(8)
        self.meter.hide()
        status_row.addWidget(self.meter)
        self.clock = QLabel(self)
        self.clock.setObjectName("micClock")
        self.clock.hide()
        status_row.addWidget(self.clock)
        outer.addLayout(status_row)
        layout = QHBoxLayout()
        outer.addLayout(layout)
        self.input = MessageInput(self)
        layout.addWidget(self.input, 1)
        self.talk_button = QPushButton("Hold to talk", self)
        self.talk_button.setObjectName("talkButton")
        self.talk_button.setToolTip("Hold while you speak (or hold Ctrl+Space)")
        self.talk_button.pressed.connect(self.talk_pressed)
        self.talk_button.released.connect(self.talk_released)
        self.talk_button.hide()
        layout.addWidget(self.talk_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send (Enter)")
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the reply (Esc)")
        self.stop_button.hide()
        layout.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.input.submitted.connect(self._submit)
        self.send_button.clicked.connect(self._submit)
        self.stop_button.clicked.connect(self.stop_requested)
        self._busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)

    def enable_voice(self, enabled: bool) -> None:
        self.talk_button.setVisible(enabled)

    def set_listening(self, listening: bool) -> None:
        self.meter.setVisible(listening)
        self.clock.setVisible(listening)
        self.talk_button.setText("Listening…" if listening else "Hold to talk")
        if listening:
            self.meter.setValue(0)
            self.clock.setText("0.0 s")
            self.hint.setText("Listening… release to send.")

    def show_level(self, level: float) -> None:
        self.meter.setValue(round(level * 100))

    def show_elapsed(self, seconds: float) -> None:
        self.clock.setText(f"{seconds:.1f} s")

    def show_hint(self, text: str) -> None:
        self.hint.setText(text)

    def _submit(self) -> None:
        text = self.input.toPlainText().strip()
        if not text or self._busy:
            return
        self.input.clear()
        self.send_requested.emit(text)
