"""Answers that show what they rest on: the supporting quote under a reply, opening the source
at that passage; a quiet line saying whether the turn was kept in memory; a conversation kept
out of memory; the bubble's own menu over its text."""

from __future__ import annotations

from pathlib import Path

import pytest
from app.settings import Paths
from app.ui import chat_view
from app.ui.chat_view import MessageBubble
from app.ui.main_window import MainWindow
from PySide6.QtCore import QPoint
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from tests.fakes import FakeLanguageModel
from tests.ui.conftest import WindowFactory, memory_service, send, wait_turn

HOUSE = "The boiler was serviced in March. The service code is 4411. Call Sam for repairs."


def window_with_notes(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path, reply: str
) -> MainWindow:
    service = memory_service(paths)
    window = make_window(FakeLanguageModel(reply), memory=service.memory, memory_service=service)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "house.txt").write_text(HOUSE, encoding="utf-8")
    with qtbot.waitSignal(service.index_finished, timeout=60000):
        service.add_folder(str(folder))
    return window


def test_the_supporting_quote_shows_under_the_reply_and_opens_the_source_there(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    window = window_with_notes(
        qtbot, make_window, paths, tmp_path, "Your boiler's service code is 4411 [1]."
    )
    send(qtbot, window, "what is my boiler's service code?")
    wait_turn(qtbot, window)
    bubble = window.chat.bubbles()[-1]
    assert bubble.quote.isVisible()
    shown = bubble.quote.text()
    assert "“The service code is 4411.”" in shown and "[1] file house.txt" in shown
    with qtbot.waitSignal(window.chat.citation_clicked, timeout=5000):
        bubble.quote.linkActivated.emit("cite:1")  # what a click on the link does
    viewer = window.memory.source_viewer
    assert viewer is not None and viewer.isVisible()
    assert viewer.highlighted == "The service code is 4411."
    assert viewer.passage.textCursor().selectedText() == "The service code is 4411."
    assert bubble.kept.isVisible() and bubble.kept.text() == "Kept in memory"

    # Opened again later, the reply still shows its quote.
    conversation = window.conversation_id
    window.new_conversation()
    window.open_conversation(conversation)
    again = window.chat.bubbles()[-1]
    assert "“The service code is 4411.”" in again.quote.text()


def test_a_question_about_the_user_with_nothing_to_answer_from_says_so(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    window = window_with_notes(qtbot, make_window, paths, tmp_path, "October 22nd.")
    send(qtbot, window, "when is my sister's birthday?")
    wait_turn(qtbot, window)
    bubble = window.chat.bubbles()[-1]
    assert bubble.text == "I couldn't find that in your files or memories."
    assert not bubble.kept.isVisible()  # an "I don't know" is not kept


def test_a_general_answer_is_marked_as_the_models_own_knowledge(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    window = window_with_notes(qtbot, make_window, paths, tmp_path, "Paris.")
    send(qtbot, window, "what is the capital of France?")
    wait_turn(qtbot, window)
    bubble = window.chat.bubbles()[-1]
    assert bubble.quote.text() == "From the model's general knowledge, not from your files."


def test_a_conversation_kept_out_of_memory(
    qtbot: QtBot,
    make_window: WindowFactory,
    paths: Paths,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = window_with_notes(qtbot, make_window, paths, tmp_path, "Sounds lovely.")
    memory = window.backend.memory_service.memory  # type: ignore[union-attr]
    send(qtbot, window, "we are planning a trip to the Lake District")
    wait_turn(qtbot, window)
    assert memory.store.count("turn") == 1
    monkeypatch.setattr(window.conversations, "confirm_forget", lambda _title: True)
    window.conversations.set_remember_current(False)
    qtbot.waitUntil(lambda: "(not remembered)" in window.conversations.titles()[0])
    assert memory.store.count("turn") == 0
    send(qtbot, window, "we will stay in Keswick")
    wait_turn(qtbot, window)
    assert memory.store.count("turn") == 0
    assert window.chat.bubbles()[-1].kept.text().startswith("Not kept")


def test_remember_this_is_offered_when_right_clicking_the_text_itself(
    qtbot: QtBot, make_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(FakeLanguageModel("The spare key is under the blue pot."))
    send(qtbot, window, "where could a spare key go?")
    wait_turn(qtbot, window)
    bubble: MessageBubble = window.chat.bubbles()[-1]
    offered: list[str] = []

    def choose(menu: QMenu, _pos: QPoint) -> QAction:
        offered.extend(a.text() for a in menu.actions())
        return next(a for a in menu.actions() if a.text() == "Remember this")

    monkeypatch.setattr(chat_view, "choose_from_menu", choose)
    centre = bubble.body.rect().center()
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, centre, bubble.body.mapToGlobal(centre)
    )
    with qtbot.waitSignal(bubble.remember_requested, timeout=5000) as asked:
        QApplication.sendEvent(bubble.body, event)  # on the words, not the bubble's margin
    assert offered == ["Copy", "Remember this", "", "Edit reply…", "Good answer", "Bad answer"]
    assert asked.args == ["The spare key is under the blue pot."]


def test_the_status_bar_says_which_model_answered_a_question_about_the_files(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    window = window_with_notes(qtbot, make_window, paths, tmp_path, "Paris.")
    files = FakeLanguageModel("Your boiler's service code is 4411 [1].", name="Quality model")
    window.backend.assistant.set_files_model(files)
    send(qtbot, window, "what is my boiler's service code?")
    wait_turn(qtbot, window)
    assert window.chat.bubbles()[-1].text == "Your boiler's service code is 4411 [1]."
    assert window.speed_label.text().endswith("tok/s · answered by Quality model")
    send(qtbot, window, "what is the capital of France?")
    wait_turn(qtbot, window)
    assert "answered by" not in window.speed_label.text()  # the chat model's own answer
