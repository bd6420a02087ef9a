"""The Personalization page and the reply actions it learns from (pytest-qt, real window)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from app.core.gate import ForegroundGate
from app.personalization.base_weights import read_config
from app.personalization.export import write_gguf_adapter
from app.personalization.service import BaseModel, Personalization
from app.settings import FAST_MODEL, Paths
from app.ui import chat_view, main_window
from app.ui.chat_view import MessageBubble
from app.ui.main_window import MainWindow
from app.ui.personalization_page import PersonalizationDialog
from app.workers.personalization import PersonalizationController
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu, QTableWidgetItem
from pytestqt.qtbot import QtBot

from tests.engines.test_personalization_real import STYLE_FILE, base_model, read_stat
from tests.fakes import FakeLanguageModel
from tests.ui.conftest import WindowFactory, send, wait_turn


def controller(
    window: MainWindow, paths: Paths, model: BaseModel | None, gate: ForegroundGate | None = None
) -> PersonalizationController:
    control = PersonalizationController(
        Personalization(paths.data_dir, paths.cache_dir, window.backend.store),
        model=lambda: model,
        runner=window.backend.runner,
        chat_model=lambda: window.backend.assistant.llm,
        gate=gate,
        system_prompt=lambda: "You are Hearth.",
        parent=window.backend,
    )
    window.backend.personalization = control
    return control


def pick(monkeypatch: pytest.MonkeyPatch, label: str) -> None:
    def choose(menu: QMenu, _pos: QPoint) -> QAction:
        return next(a for a in menu.actions() if a.text() == label)

    monkeypatch.setattr(chat_view, "choose_from_menu", choose)


def right_click(bubble: MessageBubble) -> None:
    centre = bubble.body.rect().center()
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, centre, bubble.body.mapToGlobal(centre)
    )
    QApplication.sendEvent(bubble.body, event)


def cell(page: PersonalizationDialog, row: int, column: int) -> QTableWidgetItem:
    item = page.table.item(row, column)
    assert item is not None
    return item


def test_edited_and_rated_replies_are_what_the_page_shows_and_unticking_leaves_one_out(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(FakeLanguageModel("Tea is a drink made from leaves, enjoyed worldwide."))
    control = controller(window, paths, BaseModel("m", "Test model", Path("m.gguf"), "sha"))
    send(qtbot, window, "what is tea?")
    wait_turn(qtbot, window)
    bubble = window.chat.bubbles()[-1]

    class Edited:
        def __init__(self, text: str, parent: object) -> None:
            self.shown = text

        def exec(self) -> bool:
            return True

        def text(self) -> str:
            return "In short: a drink made from leaves. Cheers!"

    monkeypatch.setattr(main_window, "EditReplyDialog", Edited)
    pick(monkeypatch, "Edit reply…")
    right_click(bubble)
    assert bubble.text == "In short: a drink made from leaves. Cheers!"
    assert bubble.personal.text() == "Edited by you"
    pick(monkeypatch, "Good answer")
    right_click(bubble)
    assert bubble.personal.text() == "Edited by you · You marked this good"

    stored = window.backend.store.messages(window.conversation_id)[-1]
    assert stored.meta["edited"] == "In short: a drink made from leaves. Cheers!"
    assert stored.meta["rating"] == 1
    # Opening the conversation again shows the user's version, marked.
    window.new_conversation()
    window.open_conversation(stored.conversation_id)
    again = window.chat.bubbles()[-1]
    assert again.text == stored.meta["edited"]
    assert again.personal.text() == "Edited by you · You marked this good"

    page = window.open_personalization()
    assert isinstance(page, PersonalizationDialog)
    page.tabs.setCurrentIndex(1)
    assert page.table.rowCount() == 1
    assert cell(page, 0, 1).text() == "You edited"  # one example: none held out yet
    assert cell(page, 0, 4).text() == "In short: a drink made from leaves. Cheers!"
    cell(page, 0, 0).setCheckState(Qt.CheckState.Unchecked)
    assert control.service.examples() == []
    assert "0 examples to learn from" in page.summary.text()
    page.close()


@pytest.mark.model
@pytest.mark.slow
def test_the_page_trains_with_progress_and_a_loss_plot_pauses_and_cancels(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    model = base_model(FAST_MODEL)
    window = make_window(FakeLanguageModel("ok"))
    gate = ForegroundGate()
    control = controller(window, paths, model, gate)
    page = window.open_personalization()
    assert page is not None
    page.import_file(str(STYLE_FILE))
    assert "36 examples read" in page.import_note.text()
    assert page.table.rowCount() == 36
    tested = [r for r in range(36) if cell(page, r, 1).text().endswith("for the test")]
    assert tested == list(range(28, 36))  # the newest fifth, held out to test the adapter
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    assert control.running and not page.train_button.isEnabled()
    qtbot.waitUntil(lambda: len(page.losses) >= 2, timeout=300_000)
    assert page.progress.maximum() >= 24 and page.progress.value() >= 2
    assert page.plot.losses == page.losses[: len(page.plot.losses)]
    assert "left" in page.progress_label.text() and "loss" in page.progress_label.text()
    page.plot.grab().save(str(tmp_path / "loss-plot.png"))
    assert control.process is not None
    pid = control.process.pid

    qtbot.mouseClick(page.pause_button, Qt.MouseButton.LeftButton)
    assert page.pause_button.text() == "&Resume"
    qtbot.waitUntil(lambda: read_stat(pid) == "T", timeout=5000)
    steps = len(page.losses)
    time.sleep(2)
    QApplication.processEvents()
    assert len(page.losses) == steps
    qtbot.mouseClick(page.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: read_stat(pid) != "T", timeout=5000)

    with qtbot.waitSignal(control.running_changed, timeout=30_000):
        qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    assert not still_running(control)
    assert page.train_button.isEnabled()
    # The process's exit report can arrive just after running_changed on a busy machine.
    qtbot.waitUntil(lambda: "Cancelled" in page.progress_label.text(), timeout=10_000)
    assert page.train_button.text() == "&Resume training"  # the checkpoint stays
    page.close()


def still_running(control: PersonalizationController) -> bool:
    return control.running


def random_adapter(model: BaseModel, path: Path) -> None:
    config = read_config(model.path)
    rng = np.random.default_rng(0)
    hidden, inner = int(config["hidden_size"]), int(config["intermediate_size"])
    state = {}
    for layer in range(int(config["num_hidden_layers"])):
        key = f"base_model.model.model.layers.{layer}.mlp.down_proj"
        state[f"{key}.lora_A.weight"] = rng.normal(0, 0.05, (8, inner)).astype(np.float32)
        state[f"{key}.lora_B.weight"] = rng.normal(0, 0.05, (hidden, 8)).astype(np.float32)
    write_gguf_adapter(path, state, config=config, alpha=16, base_sha256=model.sha256, name="t")


@pytest.mark.model
def test_switching_adapters_changes_the_next_answer_and_rolling_back_restores_it(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    from app.engines.llama_llm import LlamaLanguageModel

    model = base_model(FAST_MODEL)
    llm = LlamaLanguageModel(model.path, name="SmolLM2", n_ctx=2048, n_threads=2)
    window = make_window(llm)
    control = controller(window, paths, model)
    job = tmp_path / "job"
    job.mkdir()
    random_adapter(model, job / "adapter.gguf")
    control.service.adapters.add(
        model.model_id, job, {"base_sha256": model.sha256, "report": {"passed": True}}
    )
    question = "Name three colours."

    def answer() -> str:
        window.new_conversation()
        send(qtbot, window, question)
        wait_turn(qtbot, window, timeout=120_000)
        return window.chat.bubbles()[-1].text

    base = answer()
    page = window.open_personalization()
    assert page is not None
    page.tabs.setCurrentIndex(2)
    assert page.versions.count() == 2  # the base model, v1
    assert "[in use]" in page.versions.item(0).text()
    page.versions.setCurrentRow(1)
    qtbot.mouseClick(page.use_button, Qt.MouseButton.LeftButton)
    assert "in use" in page.versions.item(1).text()
    assert control.active() is not None
    changed = answer()
    assert changed != base

    page.question.setText(question)
    assert page.versions.currentRow() == 1  # still chosen after Use: Compare is one click
    assert page.compare_button.isEnabled()
    qtbot.mouseClick(page.compare_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.compare_button.isEnabled, timeout=120_000)
    assert page.base_answer.toPlainText() and page.adapter_answer.toPlainText()
    assert page.base_answer.toPlainText() != page.adapter_answer.toPlainText()

    page.versions.setCurrentRow(0)  # roll back: the base model
    qtbot.mouseClick(page.use_button, Qt.MouseButton.LeftButton)
    assert control.active() is None
    assert answer() == base
    page.close()


def test_a_finished_run_says_so_and_gives_the_verdict(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window = make_window(FakeLanguageModel("ok"))
    control = controller(window, paths, BaseModel("m", "Test model", Path("m.gguf"), "sha"))
    page = window.open_personalization()
    assert page is not None
    control.training_event.emit({"event": "phase", "phase": "evaluate", "total": 40})
    assert page.progress_label.text().startswith("Testing the adapter")
    report = {"passed": False, "steps": 24, "train_seconds": 430.0, "reason": "It broke X."}
    control.training_event.emit({"event": "done", "report": report})
    assert page.progress_label.text() == "Finished: 24 steps in 7 min, then tested."
    assert page.progress.value() == page.progress.maximum()
    assert page.verdict.text() == "The adapter is kept but not switched on: It broke X."
    page.close()
