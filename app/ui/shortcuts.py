"""Every keyboard shortcut of Hearth, in one table.

The windows make their actions and shortcuts from this table (:func:`action`,
:func:`shortcut`), and Help -> Keyboard shortcuts lists the same table, so the list cannot go
stale: a shortcut that is not in the table cannot be made, and a test walks the windows for
any that slipped past. Keys that a widget handles itself (Enter in the message box) are listed
too, marked ``handled_by_widget``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui import a11y

StandardKey = QKeySequence.StandardKey
LAST_COMMON_KEY = Qt.Key.Key_Menu.value + 1
"""Letters, digits, Esc, Delete, the arrows, F1-F35 and Menu; not media or application keys."""


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    """What it does, as the menu says it (with its & mnemonic)."""
    where: str
    """Where it works: the window or the part of it."""
    standard: StandardKey | None = None
    """The platform's own key for this (Ctrl+N for New ...), when there is one."""
    keys: tuple[str, ...] = ()
    """The keys otherwise (or when the platform has no standard one), portable text."""
    handled_by_widget: bool = False
    """Handled inside a widget's own key handling, not by an action (listed for the user)."""

    @property
    def label(self) -> str:
        return self.name.replace("&&", "\0").replace("&", "").replace("\0", "&")

    def sequences(self) -> list[QKeySequence]:
        found = list(QKeySequence.keyBindings(self.standard)) if self.standard is not None else []
        # Keys of a keyboard's own (a "New" or "Save" key) are left to the platform: few
        # keyboards have them, and the list would name keys the user cannot find.
        found = [s for s in found if s.count() and s[0].key().value < LAST_COMMON_KEY]  # type: ignore[index]
        return found or [QKeySequence(k) for k in self.keys]

    def shown(self) -> str:
        return ", ".join(
            s.toString(QKeySequence.SequenceFormat.NativeText) for s in self.sequences()
        )


MAIN = "Main window"
LIST = "Conversation list"
SEARCH = "Search box"
MESSAGE = "Message box"
CALENDAR = "Calendar and reminders"
MEMORY = "Memory"

KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key("&New conversation", MAIN, StandardKey.New, ("Ctrl+N",)),
        Key("&Settings…", MAIN, StandardKey.Preferences, ("Ctrl+,",)),
        Key("&Quit", MAIN, StandardKey.Quit, ("Ctrl+Q",)),
        Key("&Find in conversations", MAIN, StandardKey.Find, ("Ctrl+F",)),
        Key("Go to the &message box", MAIN, None, ("Ctrl+L",)),
        Key("&Rename", MAIN, None, ("F2",)),
        Key("&Export as Markdown…", MAIN, StandardKey.SaveAs, ("Ctrl+Shift+S",)),
        Key("S&top reply", MAIN, None, ("Esc",)),
        Key("Re&generate last reply", MAIN, None, ("Ctrl+R",)),
        Key("&Edit last message", MAIN, None, ("Ctrl+Shift+E",)),
        Key("&Browse memory…", MAIN, None, ("Ctrl+M",)),
        Key("&Calendar…", MAIN, None, ("Ctrl+Shift+A",)),
        Key("&Timers and reminders…", MAIN, None, ("Ctrl+Shift+R",)),
        Key("&Personalization…", MAIN, None, ("Ctrl+Shift+P",)),
        Key("&Keyboard shortcuts", MAIN, None, ("Ctrl+/",)),
        Key("Delete conversation", LIST, StandardKey.Delete, ("Del",)),
        Key("Open conversation menu", LIST, None, ("Menu", "Shift+F10"), handled_by_widget=True),
        Key("Go to the results", SEARCH, None, ("Down",), handled_by_widget=True),
        Key("Open the first result", SEARCH, None, ("Return",), handled_by_widget=True),
        Key("Clear the search", SEARCH, None, ("Esc",), handled_by_widget=True),
        Key("Send", MESSAGE, None, ("Return",), handled_by_widget=True),
        Key("New line", MESSAGE, None, ("Shift+Return",), handled_by_widget=True),
        Key("Edit your last message", MESSAGE, None, ("Up",), handled_by_widget=True),
        Key("Leave the edit", MESSAGE, None, ("Esc",), handled_by_widget=True),
        Key("Close the window", CALENDAR, None, ("Esc",)),
        Key("Delete the selected entry", CALENDAR, StandardKey.Delete, ("Del",)),
        Key("Search memory", MEMORY, StandardKey.Find, ("Ctrl+F",)),
        Key("Close memory", MEMORY, None, ("Esc",)),
        Key("Forget the selected memories", MEMORY, StandardKey.Delete, ("Del",)),
    )
}
TALK = "Hold to talk"
"""The talk key is the user's choice (Settings -> Voice); the list shows the current one."""


def action(parent: QObject, name: str, slot: Callable[[], object]) -> QAction:
    """A QAction named and keyed by the table (``name`` must be in it, with or without keys)."""
    key = KEYS[name]
    made = QAction(key.name, parent)
    made.setShortcuts(key.sequences())
    made.triggered.connect(lambda _checked=False: slot())
    return made


def shortcut(parent: QWidget, name: str, slot: Callable[[], object]) -> list[QShortcut]:
    """The table's key(s) for ``name`` on ``parent`` (its window, unless ``parent`` is a
    widget whose own focus should decide)."""
    made = []
    for sequence in KEYS[name].sequences():
        one = QShortcut(sequence, parent)
        one.activated.connect(slot)
        made.append(one)
    return made


class ShortcutsDialog(QDialog):
    """Help -> Keyboard shortcuts: the table, grouped by where each key works."""

    def __init__(self, talk_key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Every shortcut of Hearth. Menus also open with Alt and the underlined letter.", self
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        rows: list[tuple[str, str, str]] = [(MAIN, TALK, talk_key)]
        rows += [(k.where, k.label, k.shown()) for k in KEYS.values()]
        order = [MAIN, LIST, SEARCH, MESSAGE, CALENDAR, MEMORY]
        rows.sort(key=lambda r: order.index(r[0]))
        self.table = QTableWidget(len(rows), 3, self)
        a11y.describe(
            self.table,
            "Shortcuts",
            "Where each shortcut works, what it does, its keys.",
            tip=False,
        )
        self.table.setHorizontalHeaderLabels(["Where", "What", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        for row, (where, what, keys) in enumerate(rows):
            for column, text in enumerate((where, what, keys)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.AccessibleTextRole, text)
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleDescription("Close the list of shortcuts.")
        layout.addWidget(buttons)
        self.resize(560, 620)

    def rows(self) -> list[tuple[str, str, str]]:
        def text(row: int, column: int) -> str:
            item = self.table.item(row, column)
            return item.text() if item is not None else ""

        return [(text(r, 0), text(r, 1), text(r, 2)) for r in range(self.table.rowCount())]
