"""Screen readers and the keyboard: every control in Qt's accessibility tree has a name and a
description, the whole window is reachable with Tab in a sensible order, and a streamed reply
is announced once, politely, when it is complete (not token by token)."""

from __future__ import annotations

from app.settings import Paths
from app.ui import a11y
from app.ui.settings_dialog import SettingsDialog
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHeaderView,
    QKeySequenceEdit,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tests.fakes import FakeLanguageModel
from tests.ui.conftest import WindowFactory, memory_service, send, wait_turn

CONTROLS = (
    QAbstractButton,
    QLineEdit,
    QComboBox,
    QAbstractSpinBox,
    QPlainTextEdit,
    QTextEdit,
    QAbstractItemView,
    QKeySequenceEdit,
)


def unnamed(root: QWidget) -> list[str]:
    """Visible controls whose accessible interface lacks a name or a description."""
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisibleTo(root):
            continue
        if isinstance(widget.parentWidget(), (QComboBox, QAbstractSpinBox, QKeySequenceEdit)):
            continue  # the line edit inside a combo box or spin box is part of it
        if isinstance(widget, QHeaderView):
            continue  # a table's header is read as part of the table
        face = QAccessible.queryAccessibleInterface(widget)
        assert face is not None
        name = face.text(QAccessible.Text.Name).strip()
        description = face.text(QAccessible.Text.Description).strip()
        if not name or not description:
            label = widget.objectName() or type(widget).__name__
            missing.append(f"{label} name={name!r} description={description!r}")
    return missing


def test_every_control_has_a_name_and_a_description(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    service = memory_service(paths)
    window = make_window(
        FakeLanguageModel("Try:\\n\\n```python\\nprint(1)\\n```"),
        memory=service.memory,
        memory_service=service,
    )
    send(qtbot, window, "How do I print?")
    wait_turn(qtbot, window)
    for bubble in window.chat.bubbles():
        bubble.show_actions(True)
    problems = {"main window": unnamed(window)}
    dialog = SettingsDialog(
        window.backend.settings, window.backend.models(), window.backend.data_dir, window
    )
    qtbot.addWidget(dialog)
    dialog.show()
    for row in range(dialog.sections.count()):
        dialog.sections.setCurrentRow(row)
        problems[f"settings {dialog.sections.item(row).text()}"] = unnamed(dialog)
    shortcuts = window.show_shortcuts()
    problems["shortcuts"] = unnamed(shortcuts)
    memory = window.open_memory()
    assert memory is not None
    problems["memory"] = unnamed(memory)
    memory.close()
    problems = {where: found for where, found in problems.items() if found}
    assert not problems, "\n".join(f"{w}: {p}" for w, found in problems.items() for p in found)


def test_tab_goes_through_the_window_in_reading_order(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(FakeLanguageModel("Fine, thanks."))
    send(qtbot, window, "Hello")
    wait_turn(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.conversations.new_button.setFocus()
    order = []
    for _ in range(16):
        focus = QApplication.focusWidget()
        assert focus is not None
        order.append(focus)
        qtbot.keyClick(focus, Qt.Key.Key_Tab)
    user, reply = window.chat.bubbles()
    expected = [
        window.conversations.new_button,
        window.conversations.search,
        window.conversations.list,
        window.chat,
        user.body,
        user.copy_button,
        user.edit_button,
        reply.body,
        reply.copy_button,
        reply.regenerate_button,
        window.composer.attach_button,
        window.composer.input,
        window.composer.send_button,
    ]
    assert order[: len(expected)] == expected, [type(w).__name__ for w in order]
    assert order[len(expected)] is window.conversations.new_button  # and round again


def test_a_streamed_reply_is_announced_once_and_politely_when_whole(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    llm = FakeLanguageModel(" ".join(f"word{i}" for i in range(60)), token_delay=0.005)
    window = make_window(llm)
    a11y.ANNOUNCED.clear()
    names = []
    send(qtbot, window, "Say sixty words")
    qtbot.waitUntil(lambda: window.chat.reply is not None, timeout=5000)
    reply = window.chat.reply
    assert reply is not None
    while window.busy:
        names.append(reply.body.accessibleName())
        qtbot.wait(15)
    wait_turn(qtbot, window)
    assert set(names) == {"Hearth's reply"}  # its name never changes with the text
    announced = list(a11y.ANNOUNCED)
    assert announced == [(f"Hearth: {llm.reply}", "polite")]
