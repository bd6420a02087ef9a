"""Conversations: grouped by date (pinned first), searched by title and by every message's words,
new, rename in place (F2), pin, export to Markdown, delete with confirmation."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.ports import Conversation, SearchHit
from app.ui import a11y, shortcuts

ID_ROLE = Qt.ItemDataRole.UserRole
REMEMBER_ROLE = Qt.ItemDataRole.UserRole + 1
PINNED_ROLE = Qt.ItemDataRole.UserRole + 2
MESSAGE_ROLE = Qt.ItemDataRole.UserRole + 3
TITLE_ROLE = Qt.ItemDataRole.UserRole + 4
SEARCH_DELAY_MS = 120
"""Typing pauses this long before the history is searched (every key would be wasted work)."""
MARK_START, MARK_END = "\x02", "\x03"


def date_group(when: float, today: date) -> str:
    """The heading a conversation last used at ``when`` (a timestamp) sits under."""
    day = datetime.fromtimestamp(when).date()
    if day >= today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day > today - timedelta(days=7):
        return "Previous 7 days"
    if day.year == today.year:
        return day.strftime("%B")
    return day.strftime("%B %Y")


def long_date(when: float) -> str:
    """Sunday 6 December 2026, 14:05: the date a row shows on hover."""
    moment = datetime.fromtimestamp(when)
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M}"


def marked_html(snippet: str) -> str:
    """A search snippet as rich text: its matched words in bold, everything else escaped."""
    snippet = re.sub(r"\*\*|__|`", "", snippet)  # a reply's Markdown emphasis, not its words
    escaped = html.escape(snippet).replace("\n", " ")
    return escaped.replace(MARK_START, "<b>").replace(MARK_END, "</b>")


class ConversationList(QWidget):
    selected = Signal(str)
    new_requested = Signal()
    rename_requested = Signal(str, str)
    delete_requested = Signal(str)
    remember_changed = Signal(str, bool)
    """The user kept a conversation out of memory (False) or let it be remembered again."""
    pin_changed = Signal(str, bool)
    export_requested = Signal(str)
    search_changed = Signal(str)
    """The search text, once typing pauses (or at once on Enter)."""
    hit_chosen = Signal(str, int)
    """A search result: the conversation and the message to show (-1: the title matched)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationList")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.new_button = QPushButton("New conversation", self)
        self.new_button.setToolTip("New conversation (Ctrl+N)")
        self.new_button.setAccessibleDescription("Start an empty conversation")
        self.new_button.clicked.connect(self.new_requested)
        layout.addWidget(self.new_button)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search conversations (Ctrl+F)")
        a11y.describe(
            self.search,
            "Search conversations",
            "Finds words in conversation titles and in every message. Down arrow goes to the "
            "results; Enter opens the first one.",
            tip=False,
        )
        self.search.setClearButtonEnabled(True)
        self.search.installEventFilter(self)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._search_now)
        self.search.textChanged.connect(self._search_typed)
        layout.addWidget(self.search)

        self.pages = QStackedWidget(self)
        layout.addWidget(self.pages, 1)
        self.list = QListWidget(self)
        a11y.describe(
            self.list,
            "Conversations",
            "Your conversations by date. Enter opens one, F2 renames it, Delete deletes it, "
            "the menu key shows the rest.",
            tip=False,
        )
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.DoubleClicked
        )
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemChanged.connect(self._item_edited)
        self.pages.addWidget(self.list)
        delete = shortcuts.action(self.list, "Delete conversation", self.delete_current)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.list.addAction(delete)

        self.results = QListWidget(self)
        self.results.setObjectName("searchResults")
        a11y.describe(
            self.results,
            "Search results",
            "Enter opens the conversation at that message.",
            tip=False,
        )
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.results.itemActivated.connect(self._hit_activated)
        self.results.itemClicked.connect(self._hit_activated)
        self.results.viewport().installEventFilter(self)
        self.pages.addWidget(self.results)
        self.no_matches = QLabel(self)
        self.no_matches.setObjectName("noMatches")
        self.no_matches.setWordWrap(True)
        self.no_matches.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.no_matches.setAccessibleName("No matches")
        self.pages.addWidget(self.no_matches)
        self._filling = False

    # -- the list ------------------------------------------------------------------------------

    def set_conversations(self, conversations: Sequence[Conversation], current: str) -> None:
        """Pinned ones under "Pinned", the rest under Today, Yesterday, Previous 7 days and
        then one heading per month (the store gives them pinned first, then most recent)."""
        self._filling = True
        try:
            self.list.clear()
            today = date.today()
            heading = ""
            for conv in conversations:
                group = "Pinned" if conv.pinned else date_group(conv.updated_at, today)
                if group != heading:
                    heading = group
                    self.list.addItem(self._heading(group))
                item = QListWidgetItem(conv.title or "New conversation")
                item.setData(ID_ROLE, conv.id)
                item.setData(REMEMBER_ROLE, conv.remember)
                item.setData(PINNED_ROLE, conv.pinned)
                item.setData(TITLE_ROLE, conv.title)
                notes = [f"Last used {long_date(conv.updated_at)}"]
                if conv.pinned:
                    notes.append("Pinned")
                if not conv.remember:
                    item.setText(f"{item.text()}  (not remembered)")
                    notes.append("Not kept in memory")
                item.setToolTip("\n".join([conv.title or "New conversation", *notes]))
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                self.list.addItem(item)
                if conv.id == current:
                    self.list.setCurrentItem(item)
        finally:
            self._filling = False
        if not self.search.text().strip():
            self.pages.setCurrentWidget(self.list)

    def _heading(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setFlags(Qt.ItemFlag.NoItemFlags)  # not selectable: the arrow keys pass over it
        font = item.font()
        font.setBold(True)
        item.setFont(font)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{text}:")
        return item

    def _rows(self) -> list[QListWidgetItem]:
        items = (self.list.item(i) for i in range(self.list.count()))
        return [item for item in items if item.data(ID_ROLE) is not None]

    def ids(self) -> list[str]:
        return [str(item.data(ID_ROLE)) for item in self._rows()]

    def titles(self) -> list[str]:
        return [item.text() for item in self._rows()]

    def headings(self) -> list[str]:
        items = (self.list.item(i) for i in range(self.list.count()))
        return [item.text() for item in items if item.data(ID_ROLE) is None]

    def item_for(self, conversation_id: str) -> QListWidgetItem | None:
        return next((i for i in self._rows() if i.data(ID_ROLE) == conversation_id), None)

    def current_id(self) -> str:
        item: QListWidgetItem | None = self.list.currentItem()
        if item is None or item.data(ID_ROLE) is None:
            return ""
        return str(item.data(ID_ROLE))

    def _current_changed(self, item: QListWidgetItem | None, _prev: object) -> None:
        if item is not None and item.data(ID_ROLE) is not None and not self._filling:
            self.selected.emit(str(item.data(ID_ROLE)))

    def _item_edited(self, item: QListWidgetItem) -> None:
        if self._filling or item.data(ID_ROLE) is None:
            return
        title = item.text().strip().removesuffix("(not remembered)").strip()
        if title and title != item.data(TITLE_ROLE):
            item.setData(TITLE_ROLE, title)
            self.rename_requested.emit(str(item.data(ID_ROLE)), title)

    def rename_current(self) -> None:
        item: QListWidgetItem | None = self.list.currentItem()
        if item is not None and item.data(ID_ROLE) is not None:
            self.list.editItem(item)

    def delete_current(self) -> None:
        item: QListWidgetItem | None = self.list.currentItem()
        if item is None or item.data(ID_ROLE) is None:
            return
        if self.confirm_delete(item.text()):
            self.delete_requested.emit(str(item.data(ID_ROLE)))

    def pin_current(self) -> None:
        """Pin the current conversation, or unpin it if it is pinned."""
        item: QListWidgetItem | None = self.list.currentItem()
        if item is not None and item.data(ID_ROLE) is not None:
            self.pin_changed.emit(str(item.data(ID_ROLE)), not bool(item.data(PINNED_ROLE)))

    def export_current(self) -> None:
        conversation_id = self.current_id()
        if conversation_id:
            self.export_requested.emit(conversation_id)

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
        if item is None or item.data(ID_ROLE) is None:
            return
        self.list.setCurrentItem(item)
        menu = QMenu(self)
        menu.addAction("Rename", self.rename_current)
        menu.addAction("Unpin" if item.data(PINNED_ROLE) else "Pin to the top", self.pin_current)
        menu.addAction("Export as Markdown…", self.export_current)
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
        if not remember and not self.confirm_forget(str(item.data(TITLE_ROLE))):
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

    # -- search --------------------------------------------------------------------------------

    def _search_typed(self, text: str) -> None:
        if text.strip():
            self._search_timer.start()
        else:  # cleared: the whole list again at once
            self._search_timer.stop()
            self._search_now()

    def _search_now(self) -> None:
        self._search_timer.stop()
        self.search_changed.emit(self.search.text())

    def searching(self) -> bool:
        return bool(self.search.text().strip())

    def show_results(self, hits: Sequence[SearchHit], query: str) -> None:
        """The hits of ``query``: title, where and when, and the words around the match; or a
        plain "No matches"."""
        row = self.results.currentRow()
        kept = self.hits()[row] if row >= 0 else None  # the same result stays chosen
        self.results.clear()
        if not hits:
            self.no_matches.setTextFormat(Qt.TextFormat.PlainText)
            self.no_matches.setText(
                f"No matches for “{query.strip()}”.\n\n"
                "Search looks at conversation titles and at every message."
            )
            self.pages.setCurrentWidget(self.no_matches)
            return
        self.pages.setCurrentWidget(self.results)
        for hit in hits:
            item = QListWidgetItem()
            item.setData(ID_ROLE, hit.conversation_id)
            item.setData(MESSAGE_ROLE, -1 if hit.message_id is None else hit.message_id)
            who = {"user": "You", "assistant": "Hearth"}.get(hit.role, "Title")
            plain = hit.snippet.replace(MARK_START, "").replace(MARK_END, "")
            item.setData(
                Qt.ItemDataRole.AccessibleTextRole,
                f"{hit.title or 'New conversation'}, {who}: {plain}",
            )
            item.setToolTip(long_date(hit.at))
            label = QLabel(
                f"<b>{html.escape(hit.title or 'New conversation')}</b>"
                f" <span style='color:palette(placeholder-text)'>· {who} · "
                f"{datetime.fromtimestamp(hit.at):%d %b %Y}</span><br>{marked_html(hit.snippet)}"
                if hit.message_id is not None
                else f"{marked_html(hit.snippet) or 'New conversation'}"
                f" <span style='color:palette(placeholder-text)'>· title</span>"
            )
            label.setObjectName("searchHit")
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            label.setContentsMargins(4, 4, 4, 4)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            self.results.addItem(item)
            self.results.setItemWidget(item, label)
        self._fit_hits()
        shown = self.hits()
        self.results.setCurrentRow(shown.index(kept) if kept in shown else 0)

    def _fit_hits(self) -> None:
        """Each result wraps to the list's width (again whenever the list is resized)."""
        width = max(120, self.results.viewport().width() - 2)
        for row in range(self.results.count()):
            item = self.results.item(row)
            label = self.results.itemWidget(item)
            if isinstance(label, QLabel):
                label.setFixedWidth(width)
                item.setSizeHint(QSize(width, label.heightForWidth(width) + 2))

    def hits(self) -> list[tuple[str, int]]:
        """(conversation, message or -1) of every result shown."""
        items = (self.results.item(i) for i in range(self.results.count()))
        return [(str(i.data(ID_ROLE)), int(i.data(MESSAGE_ROLE))) for i in items]

    def _hit_activated(self, item: QListWidgetItem) -> None:
        self.hit_chosen.emit(str(item.data(ID_ROLE)), int(item.data(MESSAGE_ROLE)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.results.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_hits()
            return False
        if watched is self.search and isinstance(event, QKeyEvent):
            key = event.key()
            if event.type() == QEvent.Type.ShortcutOverride:
                # Esc in a search with text clears it (the window's Esc stops a reply).
                if key == Qt.Key.Key_Escape and self.search.text():
                    event.accept()
                    return True
                return False
            if event.type() != QEvent.Type.KeyPress:
                return False
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.searching():
                self._search_now()
                if self.results.count():
                    self._hit_activated(self.results.item(0))
                return True
            if key == Qt.Key.Key_Down:
                if self.searching():
                    self.results.setFocus()
                    if self.results.currentRow() < 0 and self.results.count():
                        self.results.setCurrentRow(0)
                else:
                    self.list.setFocus()
                    rows = self._rows()
                    if self.current_id() == "" and rows:
                        self.list.setCurrentItem(rows[0])
                return True
            if key == Qt.Key.Key_Escape and self.search.text():
                self.search.clear()
                return True
        return super().eventFilter(watched, event)
