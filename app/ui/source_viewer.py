"""A cited passage of a file, with a button to open the file itself."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QDesktopServices, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)


class SourceViewer(QDialog):
    def __init__(
        self,
        label: str,
        path: str,
        passage: str,
        parent: QWidget | None = None,
        *,
        quote: str = "",
    ) -> None:
        """``quote``: the sentence that supported a reply, highlighted in the passage."""
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
        self.highlighted = self._highlight(quote)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.open_button = QPushButton("Open file", self)
        self.open_button.setEnabled(Path(path).is_file())
        if not self.open_button.isEnabled():
            self.open_button.setToolTip("The file is no longer there.")
        self.open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(path)))
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _highlight(self, quote: str) -> str:
        """Mark ``quote`` in the passage and bring it into view; returns what was marked."""
        start = self.passage.toPlainText().find(quote) if quote else -1
        if start < 0:
            return ""
        cursor = self.passage.textCursor()
        cursor.setPosition(start)
        cursor.setPosition(start + len(quote), QTextCursor.MoveMode.KeepAnchor)
        mark = QTextEdit.ExtraSelection()
        mark.cursor = cursor
        mark.format.setBackground(QColor("#ffe58a"))
        mark.format.setForeground(QColor("#000000"))
        self.passage.setExtraSelections([mark])
        self.passage.setTextCursor(cursor)
        self.passage.ensureCursorVisible()
        return cursor.selectedText()
