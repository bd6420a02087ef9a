"""A cited passage of a file, with a button to open the file itself."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class SourceViewer(QDialog):
    def __init__(self, label: str, path: str, passage: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(Path(path).name or "Source")
        self.resize(640, 420)
        self.path = path
        layout = QVBoxLayout(self)
        where = QLabel(f"{label}\n{path}", self)
        where.setWordWrap(True)
        layout.addWidget(where)
        self.passage = QPlainTextEdit(passage, self)
        self.passage.setReadOnly(True)
        layout.addWidget(self.passage, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.open_button = QPushButton("Open file", self)
        self.open_button.setEnabled(Path(path).is_file())
        if not self.open_button.isEnabled():
            self.open_button.setToolTip("The file is no longer there.")
        self.open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(path)))
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
