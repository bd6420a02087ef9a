"""Quitting: every job is cancelled first, then the threads are waited for, then the stores
close. Work that cannot be interrupted (a model loading) is not waited for."""

from __future__ import annotations

import threading
from typing import Any

from app.bootstrap import still_working
from app.core.cancel import CancelToken
from app.settings import Paths
from app.ui.main_window import MainWindow
from app.workers.jobs import Emit, JobRunner
from app.workers.memory_service import MemoryService
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.fakes import FakeLanguageModel, ListMemoryStore
from tests.ui.conftest import WindowFactory, memory_service, send, texts, wait_turn
from tests.ui.test_voice import Rig


def with_memory(paths: Paths) -> tuple[MemoryService, ListMemoryStore]:
    store = ListMemoryStore()
    return memory_service(paths, store), store


def runners(rig: Rig) -> list[JobRunner]:
    backend = rig.window.backend
    assert backend.memory_service is not None
    memory = backend.memory_service
    return [
        backend.runner,
        backend.image_runner,
        memory.index_runner,
        memory.runner,
        rig.voice.runner,
    ]


def test_quitting_an_idle_app_leaves_no_thread_and_no_job(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    service, store = with_memory(paths)

    def window(llm: FakeLanguageModel, **options: Any) -> MainWindow:
        return make_window(llm, memory_service=service, **options)

    rig = Rig(qtbot, window)
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        rig.hold_button()  # a spoken turn...
    qtbot.waitUntil(lambda: len(rig.player.played) == 3, timeout=10000)
    rig.player.finish()  # the reply was spoken to the end
    qtbot.waitUntil(lambda: not rig.voice.speaking, timeout=10000)
    send(qtbot, rig.window, "And of Spain?")  # ...and a typed one
    wait_turn(qtbot, rig.window)
    assert [role for role, _ in texts(rig.window)] == ["user", "assistant"] * 2
    rig.window.close()
    assert still_working(rig.window.backend, rig.voice) == []
    assert not any(runner.busy for runner in runners(rig))
    assert store.closed


def test_quitting_does_not_wait_for_work_that_cannot_be_interrupted(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    service, store = with_memory(paths)
    llm = FakeLanguageModel("One two three four five six.", gate_after_tokens=2)

    def window(llm: FakeLanguageModel, **options: Any) -> MainWindow:
        return make_window(llm, memory_service=service, **options)

    rig = Rig(qtbot, window, llm=llm)
    loading = threading.Event()
    loaded = threading.Event()

    def load_that_ignores_cancel(_emit: Emit, _cancel: CancelToken) -> None:
        loading.set()
        loaded.wait(60)  # like loading the text embedder: nothing can stop it

    stuck = service.runner.submit(load_that_ignores_cancel, "memory warm-up")
    box = rig.window.composer.input
    qtbot.keyClicks(box, "Count to six")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: llm.prompts != [] and loading.is_set(), timeout=10000)
    assert rig.window.busy  # a turn is in flight, held after two tokens

    rig.window.close()
    assert not loaded.is_set() and stuck.running  # quitting did not wait for the load...
    assert still_working(rig.window.backend, rig.voice) == ["hearth-memory"]
    assert not store.closed  # ...and left it the store it may still use
    assert not rig.window.backend.runner.is_running()  # the turn was cancelled and stopped

    loaded.set()  # (the process would have ended here; let the thread finish for the test)
    assert service.runner.wait(10000)
    assert still_working(rig.window.backend, rig.voice) == []
