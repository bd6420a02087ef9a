"""Conversations: search by title, new, rename in place (F2), delete with confirmation."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.ports import Conversation

ID_ROLE = Qt.ItemDataRole.UserRole
REMEMBER_ROLE = Qt.ItemDataRole.UserRole + 1


class ConversationList(QWidget):
    selected = Signal(str)
    new_requested = Signal()
    rename_requested = Signal(str, str)
    delete_requested = Signal(str)
    remember_changed = Signal(str, bool)
    """The user kept a conversation out of memory (False) or let it be remembered again."""
    search_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationList")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.new_button = QPushButton("New conversation", self)
        self.new_button.setToolTip("New conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.new_requested)
        layout.addWidget(self.new_button)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search conversations (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.search_changed)
        layout.addWidget(self.search)
        self.list = QListWidget(self)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.DoubleClicked
        )
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setUniformItemSizes(True)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemChanged.connect(self._item_edited)
        layout.addWidget(self.list, 1)
        delete = QAction("Delete conversation", self.list)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self.delete_current)
        self.list.addAction(delete)
        self._filling = False

    def set_conversations(self, conversations: Sequence[Conversation], current: str) -> None:
        self._filling = True
        try:
            self.list.clear()
            for conv in conversations:
                item = QListWidgetItem(conv.title or "New conversation")
                item.setData(ID_ROLE, conv.id)
                item.setData(REMEMBER_ROLE, conv.remember)
                item.setToolTip(conv.title)
                if not conv.remember:
                    item.setText(f"{item.text()}  (not remembered)")
                    item.setToolTip(f"{conv.title}\nNot kept in memory")
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                self.list.addItem(item)
                if conv.id == current:
                    self.list.setCurrentItem(item)
        finally:
            self._filling = False

    def current_id(self) -> str:
        item: QListWidgetItem | None = self.list.currentItem()
        return str(item.data(ID_ROLE)) if item is not None else ""

    def ids(self) -> list[str]:
        return [str(self.list.item(i).data(ID_ROLE)) for i in range(self.list.count())]

    def _current_changed(self, item: QListWidgetItem | None, _prev: object) -> None:
        if item is not None and not self._filling:
            self.selected.emit(str(item.data(ID_ROLE)))

    def _item_edited(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        title = item.text().strip().removesuffix("(not remembered)").strip()
        if title and title != item.toolTip().split("\n")[0]:
            item.setToolTip(title)
            self.rename_requested.emit(str(item.data(ID_ROLE)), title)

    def rename_current(self) -> None:
        item: QListWidgetItem | None = self.list.currentItem()
        if item is not None:
            self.list.editItem(item)

    def delete_current(self) -> None:
        item: QListWidgetItem | None = self.list.currentItem()
        if item is None:
            return
        if self.confirm_delete(item.text()):
            self.delete_requested.emit(str(item.data(ID_ROLE)))

    def confirm_delete(self, title: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Delete conversation",
            f"Delete “{title}” and all its messages? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        self.list.setCurrentItem(item)
        menu = QMenu(self)
        menu.addAction("Rename", self.rename_current)
        remember = menu.addAction("Remember this conversation")
        remember.setCheckable(True)
        remember.setChecked(bool(item.data(REMEMBER_ROLE)))
        remember.setToolTip("Keep what you say here in memory, so Hearth can recall it later")
        remember.toggled.connect(self.set_remember_current)
        menu.addAction("Delete…", self.delete_current)
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def set_remember_current(self, remember: bool) -> None:
        item: QListWidgetItem | None = self.list.currentItem()
        if item is None or bool(item.data(REMEMBER_ROLE)) == remember:
            return
        if not remember and not self.confirm_forget(item.toolTip().split("\n")[0]):
            return
        self.remember_changed.emit(str(item.data(ID_ROLE)), remember)

    def confirm_forget(self, title: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Don't remember this conversation",
            f"Keep “{title}” out of memory? What Hearth kept from it is forgotten now, and "
            "nothing said in it is kept from here on. The messages stay in the conversation.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes
