"""Build real windows around a real store and a fake (or real) model; leave no thread behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from app.core.assistant import Assistant
from app.core.documents import Indexer
from app.core.handlers import Handler
from app.core.images import ImageServices
from app.core.memory import Memory
from app.core.ports import LanguageModel, MemoryStore
from app.engines.document_reader import LocalDocumentReader
from app.engines.image_intake import PillowIntake
from app.settings import Paths, Settings, load_settings, save_settings
from app.store.chroma_memory import ChromaMemory
from app.store.history import SqliteConversationStore
from app.store.image_files import ImageFiles
from app.store.index_state import SqliteIndexState
from app.ui.main_window import MainWindow
from app.workers.alarms import AlarmScheduler
from app.workers.backend import AssistantBackend, ModelChoice
from app.workers.memory_service import MemoryService
from app.workers.voice import VoiceController
from pytestqt.qtbot import QtBot

from tests.fakes import FakeLanguageModel, FakeOcr, FakeTextEmbedder

WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def make_window(qtbot: QtBot, paths: Paths) -> Iterator[WindowFactory]:
    created: list[tuple[MainWindow, SqliteConversationStore]] = []
    factories: dict[str, Callable[[], LanguageModel]] = {}

    def factory(
        llm: LanguageModel | None = None,
        *,
        models: dict[str, Callable[[], LanguageModel]] | None = None,
        settings: Settings | None = None,
        voice: VoiceController | None = None,
        memory: Memory | None = None,
        alarms: AlarmScheduler | None = None,
        handlers: list[Handler] | None = None,
        **backend_options: Any,
    ) -> MainWindow:
        factories.update(models or {})
        settings = settings or load_settings(paths.settings_file)
        store = SqliteConversationStore(paths.history_db)
        service = backend_options.get("memory_service")
        images = ImageServices(
            backend_options.pop("ocr", FakeOcr()),
            ImageFiles(paths.images_dir),
            memory=backend_options.pop("image_memory", None),
        )
        assistant = Assistant(
            llm or FakeLanguageModel(),
            store,
            settings.assistant_config(),
            memory,
            images=images,
            gate=service.gate if isinstance(service, MemoryService) else None,
            handlers=handlers,
        )
        backend = AssistantBackend(
            assistant,
            store,
            settings,
            model_factory=lambda model_id, _s: factories[model_id](),
            models=lambda: [ModelChoice(k, k, "", True) for k in factories],
            save_settings=lambda s: save_settings(paths.settings_file, s),
            data_dir=str(paths.data_dir),
            **{"intake": PillowIntake(), **backend_options},
        )
        window = MainWindow(backend, voice, alarms)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        created.append((window, store))
        return window

    yield factory
    for window, store in created:
        window.quit()  # saves UI state and stops the worker thread (alarms pending or not)
        assert not window.backend.runner.is_running(), "a worker thread was left running"
        assert not window.backend.image_runner.is_running(), "the image thread was left running"
        if window.backend.memory_service is not None:
            assert not window.backend.memory_service.runner.is_running()
            assert not window.backend.memory_service.index_runner.is_running()
        if window.voice is not None:
            assert not window.voice.runner.is_running(), "the voice thread was left running"
        store.close()


def memory_service(paths: Paths, store: MemoryStore | None = None) -> MemoryService:
    """Memory (a word-hashing embedder over ``store``, by default the real chroma in the data
    folder) with its folder indexer, as the app's memory service holds them."""
    memory = Memory(FakeTextEmbedder(), store or ChromaMemory.open(paths.memory_dir))
    indexer = Indexer(
        LocalDocumentReader(), memory.embedder, memory.store, SqliteIndexState(paths.index_db)
    )
    return MemoryService(memory, indexer)


def wait_turn(qtbot: QtBot, window: MainWindow, timeout: int = 20000) -> None:
    if window.busy:
        with qtbot.waitSignal(window.turn_finished, timeout=timeout):
            pass
    assert not window.busy


def send(qtbot: QtBot, window: MainWindow, text: str) -> None:
    from PySide6.QtCore import Qt

    box = window.composer.input
    box.setFocus()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def texts(window: MainWindow) -> list[tuple[str, str]]:
    return [(b.role, b.text) for b in window.chat.bubbles()]


def data_dir(window: MainWindow) -> Path:
    return Path(window.backend.data_dir)
