"""The turn in the window: Undo of a handled action, a message typed while a reply streams,
hints that do not outlive their moment, and background failures that always reach the user."""

from __future__ import annotations

from pathlib import Path

import pytest
from app.core.documents import IndexReport
from app.core.errors import MemoryStoreError
from app.settings import Paths
from app.ui.main_window import MainWindow
from app.workers.jobs import Emit
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.fakes import FakeLanguageModel
from tests.ui.conftest import WindowFactory, memory_service, send, texts, wait_turn
from tests.ui.test_voice import Rig


@pytest.fixture
def memory_window(make_window: WindowFactory, paths: Paths) -> MainWindow:
    service = memory_service(paths)
    return make_window(FakeLanguageModel("Noted."), memory=service.memory, memory_service=service)


def messages(window: MainWindow) -> list[str]:
    return [n.message for n in window.notifications.visible_notifications()]


def test_undo_takes_back_a_remembered_fact(qtbot: QtBot, memory_window: MainWindow) -> None:
    window = memory_window
    service = window.backend.memory_service
    assert service is not None
    send(qtbot, window, "remember that the spare key is under the blue pot")
    wait_turn(qtbot, window)
    bubble = window.chat.bubbles()[-1]
    assert service.memory.store.count("fact") == 1
    with qtbot.waitSignal(service.changed, timeout=10000):
        qtbot.mouseClick(bubble.undo_button, Qt.MouseButton.LeftButton)
    assert service.memory.store.count("fact") == 0
    assert not bubble.undo_button.isEnabled()
    qtbot.waitUntil(lambda: any("no longer remember" in m for m in messages(window)), timeout=5000)


def test_a_message_typed_while_a_reply_streams_is_sent_after_it(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    llm = FakeLanguageModel("First answer here.", gate_after_tokens=1)
    window = make_window(llm)
    send(qtbot, window, "first question")
    qtbot.waitUntil(lambda: window.busy, timeout=5000)
    send(qtbot, window, "second question")
    assert "Sent when this reply ends" in window.composer.hint.text()
    assert [t for _, t in texts(window)][:1] == ["first question"]
    llm.gate_after_tokens = None
    llm.gate.set()
    qtbot.waitUntil(lambda: len(texts(window)) == 4 and not window.busy, timeout=10000)
    assert [r for r, _ in texts(window)] == ["user", "assistant", "user", "assistant"]
    assert texts(window)[2] == ("user", "second question")
    assert window.composer.hint.text() == ""


def test_the_not_heard_hint_goes_when_the_user_types(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    rig = Rig(qtbot, make_window)
    rig.stt.heard = ""
    rig.hold_button()
    qtbot.waitUntil(lambda: "didn't catch that" in rig.window.composer.hint.text(), timeout=5000)
    send(qtbot, rig.window, "typed instead")
    assert rig.window.composer.hint.text() == ""
    wait_turn(qtbot, rig.window)
    assert "didn't catch that" not in rig.window.composer.hint.text()


def test_a_failed_remember_this_is_shown(
    qtbot: QtBot, memory_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Formerly only logged: "Remember this" on a message whose store fails."""
    window = memory_window
    service = window.backend.memory_service
    assert service is not None

    def broken(*_a: object, **_k: object) -> object:
        raise MemoryStoreError("The memory store cannot be written (the disk is full).")

    monkeypatch.setattr(service.memory, "remember_fact", broken)
    window.chat.remember_requested.emit("my locker is 42")
    qtbot.waitUntil(lambda: any("disk is full" in m for m in messages(window)), timeout=10000)


def test_a_failed_start_up_reindex_is_shown(
    qtbot: QtBot, memory_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Formerly only logged: the re-index that runs after start-up with nobody watching."""
    window = memory_window
    service = window.backend.memory_service
    assert service is not None

    def broken_run(**_kw: object) -> IndexReport:
        raise MemoryStoreError("The index could not be opened.")

    monkeypatch.setattr(service.indexer, "run", broken_run)
    window.backend.warm_up()  # the start-up sequence: model, memory, then re-index
    qtbot.waitUntil(
        lambda: any("could not be opened" in m for m in messages(window)), timeout=10000
    )


def test_files_skipped_by_the_start_up_reindex_are_shown(
    qtbot: QtBot, memory_window: MainWindow, tmp_path: Path
) -> None:
    window = memory_window
    service = window.backend.memory_service
    assert service is not None
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    service.indexer.state.add_folder(str(folder))
    window.backend.warm_up()
    qtbot.waitUntil(lambda: any("skipped 1 file" in m for m in messages(window)), timeout=20000)


def test_any_failing_background_job_reaches_a_notification(
    qtbot: QtBot, memory_window: MainWindow
) -> None:
    """The default route: a job whose caller connected nothing still tells the user."""
    window = memory_window

    def work(_emit: Emit, _cancel: object) -> None:
        raise MemoryStoreError("Something in the background broke.")

    window.backend.image_runner.submit(work, "a job nobody watches")
    qtbot.waitUntil(lambda: any("background broke" in m for m in messages(window)), timeout=5000)
    quiet = window.backend.image_runner.submit(work, "a quiet one")
    quiet.quiet = True
    with qtbot.waitSignal(quiet.finished, timeout=5000):
        pass
    assert sum("background broke" in m for m in messages(window)) == 1


def test_a_reply_that_repeats_itself_is_stopped_shown_once_and_explained(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    line = "I am not sure about that, but here is what I know."
    window = make_window(FakeLanguageModel(" ".join([line] * 30)))
    send(qtbot, window, "tell me about it")
    wait_turn(qtbot, window)
    assert texts(window)[-1] == ("assistant", line)
    assert any("repeating itself" in m for m in messages(window))
