"""Settings say Hearth works without an image model; Add image model imports and verifies a
checkpoint (a tiny random open_clip model built here), after which images are tagged and found
again by description, through the real window, worker threads and chromadb."""

from __future__ import annotations

from pathlib import Path

from app.bootstrap import import_image_model, make_image_embedder
from app.engines.clip_embedder import ClipEmbedder
from app.settings import Paths, Settings
from app.store.chroma_memory import ChromaMemory
from app.ui.image_model_dialog import AddImageModelDialog
from app.ui.main_window import MainWindow
from app.ui.memory_browser import MemoryBrowser
from app.ui.settings_dialog import SettingsDialog
from app.workers.backend import ImageModelInfo
from pytestqt.qtbot import QtBot

from tests.fakes import FakeLanguageModel
from tests.tiny_clip import ARCHITECTURE, make_tiny_checkpoint
from tests.ui.conftest import WindowFactory, memory_service, send, wait_turn
from tests.ui.test_images_ui import attach_file, png_file


def image_window(make_window: WindowFactory, paths: Paths) -> MainWindow:
    return make_window(
        FakeLanguageModel("An orange picture."),
        embedder_factory=make_image_embedder,
        image_memory=lambda: ChromaMemory.open(paths.memory_dir),
        image_model_importer=lambda arch, file, config, progress, cancel: import_image_model(
            arch, file, config, progress, cancel, models_dir=paths.image_models_dir
        ),
    )


def embedder_of(window: MainWindow) -> object:
    return window.backend.embedder


def imported(dialog: AddImageModelDialog) -> ImageModelInfo | None:
    return dialog.info


def test_settings_say_images_work_without_an_image_model(qtbot: QtBot) -> None:
    dialog = SettingsDialog(Settings(), [], "/tmp/data")
    qtbot.addWidget(dialog)
    assert "works fully without one" in dialog.image_model.text()
    assert "OCR" in dialog.image_model.text()
    assert not dialog.add_image_button.isEnabled()  # nothing to import with in this build
    assert dialog.result_settings().image_model == ""


def test_settings_take_an_added_model_and_can_remove_it(qtbot: QtBot) -> None:
    info = ImageModelInfo("ViT-B-32", "/data/image-models/abc-model.pt", "", 512, 1.0)
    dialog = SettingsDialog(Settings(), [], "/tmp/data", add_image_model=lambda: info)
    qtbot.addWidget(dialog)
    dialog.add_image_button.click()
    assert "ViT-B-32 (abc-model.pt)" in dialog.image_model.text()
    chosen = dialog.result_settings()
    assert (chosen.image_model, chosen.image_model_file) == ("ViT-B-32", info.checkpoint)
    dialog.remove_image_button.click()
    assert dialog.result_settings().image_model_file == ""


def test_add_image_model_then_images_are_kept_for_search(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    window = image_window(make_window, paths)
    assert embedder_of(window) is None
    checkpoint, config = make_tiny_checkpoint(tmp_path)

    dialog = AddImageModelDialog(window.backend, window)
    qtbot.addWidget(dialog)
    dialog.checkpoint.setText(str(tmp_path / "missing.pt"))
    dialog.architecture.setCurrentText(ARCHITECTURE)
    dialog.config.setText(str(config))
    dialog.add_button.click()
    qtbot.waitUntil(lambda: "cannot be read" in dialog.message.text(), timeout=10000)
    assert imported(dialog) is None and dialog.add_button.isEnabled()

    dialog.checkpoint.setText(str(checkpoint))
    with qtbot.waitSignal(dialog.accepted, timeout=60000):
        dialog.add_button.click()
    info = imported(dialog)
    assert info is not None and info.dimensions == 32
    assert Path(info.checkpoint).parent == paths.image_models_dir
    window.backend.use_image_model(info)
    assert isinstance(embedder_of(window), ClipEmbedder)
    assert window.backend.settings.image_model == ARCHITECTURE

    attach_file(qtbot, window, png_file(tmp_path / "sunset.png", "orange"))
    send(qtbot, window, "What is this?")
    wait_turn(qtbot, window)
    assert window.chat.bubbles()[0].images == ["sunset.png"]

    def found() -> list[object]:
        job = window.backend.find_images("an orange sunset")
        results: list[object] = []
        job.succeeded.connect(results.append)
        with qtbot.waitSignal(job.finished, timeout=20000):
            pass
        return results

    qtbot.waitUntil(lambda: bool(found() and found()[0]), timeout=30000)
    [hits] = found()
    assert isinstance(hits, list) and hits[0].name == "sunset.png"
    assert hits[0].conversation_id == window.conversation_id

    # The memory browser finds it by description too, and opens its conversation.
    service = memory_service(paths)
    browser = MemoryBrowser(service, find_images=window.backend.find_images)
    qtbot.addWidget(browser)
    try:
        browser.kind.setCurrentText("Images")
        browser.search.setText("an orange sunset")
        browser.refresh()
        qtbot.waitUntil(lambda: bool(browser.image_hits), timeout=20000)
        assert browser.image_hits[0].name == "sunset.png"
        browser.table.selectRow(0)
        with qtbot.waitSignal(browser.open_conversation, timeout=5000) as opened:
            browser.open_button.click()
        assert opened.args == [window.conversation_id]
    finally:
        service.shutdown()


def test_cancel_stops_an_import(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    window = image_window(make_window, paths)
    big = tmp_path / "big.pt"
    big.write_bytes(b"\0" * (400 * 1024 * 1024))  # sparse enough: copying takes a moment
    dialog = AddImageModelDialog(window.backend, window)
    qtbot.addWidget(dialog)
    dialog.checkpoint.setText(str(big))
    dialog.add_button.click()
    dialog.cancel_button.click()
    qtbot.waitUntil(dialog.add_button.isEnabled, timeout=30000)
    assert dialog.info is None
    assert dialog.message.text() == "Import cancelled: nothing was added."
    leftovers = list(paths.image_models_dir.glob("*")) if paths.image_models_dir.exists() else []
    assert leftovers == []
