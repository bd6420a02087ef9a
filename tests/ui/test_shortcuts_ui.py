"""Help -> Keyboard shortcuts lists every shortcut the windows have, from the table they use."""

from __future__ import annotations

from datetime import datetime

from app.core.tools.alarms import AlarmBook
from app.core.tools.clock import ManualClock
from app.settings import Paths
from app.store.tools_db import SqliteToolStore
from app.ui.shortcuts import KEYS, ShortcutsDialog
from app.workers.alarms import AlarmScheduler
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory, memory_service
from tests.ui.test_alarms_ui import LONDON

NATIVE = QKeySequence.SequenceFormat.NativeText


def keys_of(widget: QWidget) -> list[tuple[str, str]]:
    """(label, keys) of every action with a shortcut, and ("", key) of every QShortcut."""
    found = [
        (a.text().replace("&", ""), ", ".join(s.toString(NATIVE) for s in a.shortcuts()))
        for a in widget.findChildren(QAction)
        if a.shortcuts()
    ]
    found += [("", s.key().toString(NATIVE)) for s in widget.findChildren(QShortcut)]
    return found


def test_ctrl_slash_lists_every_shortcut_of_every_window(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    book = AlarmBook(
        SqliteToolStore(paths.tools_db), ManualClock(datetime(2026, 12, 6, tzinfo=LONDON))
    )
    service = memory_service(paths)
    window = make_window(alarms=AlarmScheduler(book), memory=service.memory, memory_service=service)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    rows = dialog.rows()
    assert ("Main window", "Hold to talk", "Ctrl+Space") in rows
    listed = {(what, keys) for _where, what, keys in rows}
    every_key = {k for _where, _what, keys in rows for k in keys.split(", ")}

    agenda = window.open_agenda()
    memory = window.open_memory()
    assert agenda is not None and memory is not None
    made = [*keys_of(window), *keys_of(agenda), *keys_of(memory)]
    assert len(made) >= 15
    for label, keys in made:
        if label:
            assert (label, keys) in listed, f"{label} ({keys}) is not in the shortcut list"
        else:
            assert keys in every_key, f"the shortcut {keys} is not in the shortcut list"
    # And the other way: nothing listed that the window does not do (widget-handled keys apart).
    made_labels = {label for label, _keys in made}
    for key in KEYS.values():
        if not key.handled_by_widget and key.where == "Main window":
            assert key.label in made_labels or key.label in (
                "Go to the message box",
                "Personalization…",  # only with personalization on (its own tests)
            ), key.label
    memory.close()
    agenda.close()
