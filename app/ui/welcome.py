"""The first-run welcome: what Hearth is, a microphone check, the models, where data lives.

Shown once, on the first start of a new installation (``Settings.welcome_seen``); finishing
or skipping it (Esc) both count. Every step is reachable from the keyboard: Enter goes on,
Alt+B goes back, Esc skips, Alt+T tests the microphone.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AssistantError
from app.workers.backend import ModelLine
from app.workers.qt_audio import QtRecorder

HEARD_LEVEL = 0.02
"""RMS (0-1) above which the check says it hears the user (quiet speech is ~0.03-0.1)."""
CHECK_SECONDS = 20


def level_percent(rms: float) -> int:
    """The meter's reading: -60 dBFS (silence) to 0 dBFS (full scale) as 0-100."""
    if rms <= 0:
        return 0
    return max(0, min(100, round((20 * math.log10(rms) + 60) / 60 * 100)))


def _text(html: str) -> QLabel:
    label = QLabel(html)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class WelcomeDialog(QDialog):
    def __init__(
        self,
        parent: QWidget | None,
        *,
        data_dir: str,
        talk_shortcut: str,
        global_talk_key: bool,
        has_voice: bool,
        models: list[ModelLine],
        input_device: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setWindowTitle("Welcome to Hearth")
        self.setAccessibleName("Welcome to Hearth")
        self._input_device = input_device
        self.recorder: QtRecorder | None = None
        self.heard = False
        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(50)
        self._meter_timer.timeout.connect(self._update_meter)
        self._check_ends = QTimer(self)
        self._check_ends.setSingleShot(True)
        self._check_ends.setInterval(CHECK_SECONDS * 1000)
        self._check_ends.timeout.connect(self.stop_microphone_check)

        self.pages = QStackedWidget(self)
        self.pages.addWidget(self._about_page(data_dir))
        self.pages.addWidget(self._voice_page(talk_shortcut, global_talk_key, has_voice))
        self.pages.addWidget(self._models_page(models))

        self.step = QLabel()
        self.skip_button = QPushButton("&Skip")
        self.skip_button.setToolTip("Close the welcome (Esc); it does not come back")
        self.back_button = QPushButton("&Back")
        self.next_button = QPushButton("&Next")
        self.next_button.setDefault(True)
        self.skip_button.clicked.connect(self.reject)
        self.back_button.clicked.connect(lambda: self.go(self.pages.currentIndex() - 1))
        self.next_button.clicked.connect(self._next)
        buttons = QHBoxLayout()
        buttons.addWidget(self.step)
        buttons.addStretch(1)
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addLayout(buttons)
        self.setMinimumWidth(560)
        self.finished.connect(lambda _code: self.stop_microphone_check())
        self.go(0)

    # -- pages -----------------------------------------------------------------------------

    def _about_page(self, data_dir: str) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(_text("<h2>Welcome to Hearth</h2>"))
        layout.addWidget(
            _text(
                "Hearth is an assistant that runs entirely on this computer. Ask it anything, "
                "talk to it, show it images and documents, and let it keep timers, reminders, "
                "notes and your calendar."
            )
        )
        layout.addWidget(
            _text(
                "<b>Nothing leaves this computer.</b> Hearth's models run on this processor "
                "and Hearth never uses the network: no account, no cloud, no telemetry."
            )
        )
        self.data_label = _text(
            "Your conversations, settings and memories are kept here, and only here:"
            f"<br><code>{data_dir}</code><br>Removing or upgrading Hearth leaves them in place."
        )
        layout.addWidget(self.data_label)
        layout.addStretch(1)
        return page

    def _voice_page(self, shortcut: str, global_key: bool, has_voice: bool) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(_text("<h2>Talk to Hearth</h2>"))
        where = "anywhere on your desktop" if global_key else "while Hearth's window is in front"
        self.shortcut_label = _text(
            f"Hold <b>{shortcut}</b> and speak; let go to send. This works {where}. "
            "Hearth answers aloud as it writes (mute it in Settings). You can change the "
            "shortcut in Settings."
        )
        layout.addWidget(self.shortcut_label)
        if not has_voice:
            layout.addWidget(_text("Voice is not available in this installation."))
        self.test_button = QPushButton("&Test the microphone")
        self.test_button.setToolTip(f"Listen for {CHECK_SECONDS} seconds and show the level")
        self.test_button.clicked.connect(self.toggle_microphone_check)
        self.test_button.setEnabled(has_voice)
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setAccessibleName("Microphone level")
        self.meter.setMaximumHeight(14)
        self.mic_status = QLabel("Say something after pressing the button to see the level move.")
        self.mic_status.setWordWrap(True)
        self.mic_status.setAccessibleName("Microphone check result")
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.meter, 1)
        layout.addLayout(row)
        layout.addWidget(self.mic_status)
        layout.addStretch(1)
        return page

    def _models_page(self, models: list[ModelLine]) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(_text("<h2>The models inside Hearth</h2>"))
        rows = []
        for line in models:
            status = "ready" if line.ready else f"<b>not ready</b>: {line.problem or 'missing'}"
            rows.append(f"<li><b>{line.role}</b>: {line.title} ({line.licence}), {status}</li>")
        missing = sum(not line.ready for line in models)
        self.models_label = _text(
            f"<ul>{''.join(rows)}</ul>"
            + (
                "All of them are on this computer and ready; nothing is downloaded. "
                "<code>hearth doctor</code> checks every file against its checksum."
                if not missing
                else f"{missing} model(s) need attention: <code>hearth doctor</code> says why."
            )
        )
        layout.addWidget(self.models_label)
        layout.addStretch(1)
        return page

    # -- navigation ------------------------------------------------------------------------

    def go(self, index: int) -> None:
        count = self.pages.count()
        index = max(0, min(count - 1, index))
        if index != 1:
            self.stop_microphone_check()
        self.pages.setCurrentIndex(index)
        self.step.setText(f"Step {index + 1} of {count}")
        self.back_button.setEnabled(index > 0)
        last = index == count - 1
        self.next_button.setText("&Start using Hearth" if last else "&Next")
        self.next_button.setFocus()

    def _next(self) -> None:
        if self.pages.currentIndex() == self.pages.count() - 1:
            self.accept()
        else:
            self.go(self.pages.currentIndex() + 1)

    # -- microphone check ------------------------------------------------------------------

    def toggle_microphone_check(self) -> None:
        if self.recorder is not None:
            self.stop_microphone_check()
            return
        recorder = QtRecorder(self)
        try:
            recorder.start(self._input_device)
        except AssistantError as exc:
            recorder.deleteLater()
            self.mic_status.setText(exc.message)
            return
        self.recorder = recorder
        self.heard = False
        recorder.failed.connect(self._failed)
        self.test_button.setText("S&top the test")
        self.mic_status.setText("Listening… say something.")
        self._meter_timer.start()
        self._check_ends.start()

    def _failed(self, exc: object) -> None:
        self.stop_microphone_check()
        self.mic_status.setText(getattr(exc, "message", str(exc)))

    def _update_meter(self) -> None:
        if self.recorder is None:
            return
        rms = self.recorder.level()
        self.meter.setValue(level_percent(rms))
        if rms >= HEARD_LEVEL and not self.heard:
            self.heard = True
            self.mic_status.setText("Hearing you: the microphone works.")

    def stop_microphone_check(self) -> None:
        self._meter_timer.stop()
        self._check_ends.stop()
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        recorder.stop()
        recorder.deleteLater()
        self.meter.setValue(0)
        self.test_button.setText("&Test the microphone")
        if not self.heard:
            self.mic_status.setText(
                "Nothing was heard. Check that the microphone is connected and not muted, "
                "or choose another one in Settings, then test again."
            )
