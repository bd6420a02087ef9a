"""Help -> About: the version, the models with their licences, and where the licences are."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import app
from app.launch import licences_dir
from app.workers.backend import ModelLine


class AboutDialog(QDialog):
    def __init__(
        self,
        parent: QWidget | None,
        *,
        chat_model: str,
        data_dir: str,
        models: list[ModelLine],
        licences: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Hearth")
        self.setObjectName("about")
        layout = QVBoxLayout(self)
        heading = QLabel(f"<h2>Hearth {app.__version__}</h2>")
        heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(heading)
        intro = QLabel(
            "A private assistant that runs entirely on this computer. Free software under the "
            "GNU General Public License, version 3 or later."
            f"<br>Answering with: {chat_model}<br>Your data: {data_dir}"
        )
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(intro)

        self.models = QTableWidget(len(models), 4, self)
        self.models.setAccessibleName("Models in this installation")
        self.models.setHorizontalHeaderLabels(["Used for", "Model", "Licence", "Status"])
        self.models.verticalHeader().hide()
        self.models.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.models.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, line in enumerate(models):
            status = "Ready" if line.ready else (line.problem or "Missing")
            for col, text in enumerate((line.role, line.title, line.licence, status)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.models.setItem(row, col, item)
        header = self.models.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.models)

        self.licences = licences if licences is not None else licences_dir()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        if self.licences is not None:
            self.licences_button: QPushButton | None = buttons.addButton(
                "Third-party &licences and source…", QDialogButtonBox.ButtonRole.ActionRole
            )
            self.licences_button.clicked.connect(self.open_licences)
            where = f"Licences of everything inside Hearth, and its source: {self.licences}"
        else:
            self.licences_button = None
            where = (
                "Run from a checkout: the installers gather the licences of everything they "
                "bundle (packaging/collect_licences.py)."
            )
        note = QLabel(where)
        note.setWordWrap(True)
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(720, 420)

    def open_licences(self) -> None:
        if self.licences is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.licences / "README.md")))
