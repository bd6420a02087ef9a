"""Settings: model (switches without restart), theme, performance, and where data lives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.settings import THEMES, Settings
from app.workers.backend import ModelChoice


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        models: Sequence[ModelChoice],
        data_dir: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Hearth settings")
        self._settings = settings
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        self.model = QComboBox(self)
        for choice in models:
            label = choice.title if choice.available else f"{choice.title} (not installed)"
            self.model.addItem(label, choice.id)
            index = self.model.count() - 1
            tip = choice.notes if choice.available else choice.problem
            self.model.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
            if not choice.available:
                items = cast(QStandardItemModel, self.model.model())
                items.item(index).setEnabled(False)
            if choice.id == settings.model:
                self.model.setCurrentIndex(index)
        self.model_notes = QLabel(self)
        self.model_notes.setWordWrap(True)
        self.model.currentIndexChanged.connect(self._show_notes)
        self._models = {m.id: m for m in models}
        self._show_notes()
        form.addRow("Chat model", self.model)
        form.addRow("", self.model_notes)

        self.theme = QComboBox(self)
        for theme in THEMES:
            self.theme.addItem(theme.capitalize(), theme)
        self.theme.setCurrentIndex(THEMES.index(settings.theme))
        form.addRow("Theme", self.theme)

        self.threads = QSpinBox(self)
        self.threads.setRange(1, 64)
        self.threads.setValue(settings.llm_threads)
        self.threads.setToolTip("CPU threads the chat model may use.")
        form.addRow("Model threads", self.threads)

        self.context = QSpinBox(self)
        self.context.setRange(512, 32768)
        self.context.setSingleStep(512)
        self.context.setValue(settings.context_tokens)
        self.context.setToolTip("Longer context remembers more of the conversation but is slower.")
        form.addRow("Context window (tokens)", self.context)

        self.reply_tokens = QSpinBox(self)
        self.reply_tokens.setRange(16, 4096)
        self.reply_tokens.setValue(settings.max_reply_tokens)
        form.addRow("Longest reply (tokens)", self.reply_tokens)

        folder_row = QHBoxLayout()
        self.data_dir = QLabel(data_dir, self)
        self.data_dir.setObjectName("dataDir")
        self.data_dir.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        folder_row.addWidget(self.data_dir, 1)
        open_button = QPushButton("Open", self)
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(data_dir)))
        folder_row.addWidget(open_button)
        form.addRow("Data folder", folder_row)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _show_notes(self) -> None:
        choice = self._models.get(str(self.model.currentData()))
        self.model_notes.setText(choice.notes if choice else "")

    def result_settings(self) -> Settings:
        return self._settings.replace(
            model=str(self.model.currentData()),
            theme=str(self.theme.currentData()),
            llm_threads=self.threads.value(),
            context_tokens=self.context.value(),
            max_reply_tokens=self.reply_tokens.value(),
        ).validated()
