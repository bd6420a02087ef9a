"""Memory in the window, with real chromadb and a word-hashing embedder: remember from chat,
citations that open their source, yes/no before forgetting, and the memory browser's search,
delete, export and forget-everything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app.audio.fake import FakePlayer, FakeRecorder
from app.core.ports import AudioClip
from app.settings import Paths
from app.ui.main_window import MainWindow
from app.ui.memory_browser import MemoryBrowser
from app.workers.jobs import Job
from app.workers.voice import VoiceController
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.fakes import (
    FakeLanguageModel,
    FakeSpeechToText,
    FakeTextToSpeech,
)
from tests.ui.conftest import WindowFactory, memory_service, send, texts, wait_turn


@pytest.fixture
def memory_window(make_window: WindowFactory, paths: Paths) -> MainWindow:
    service = memory_service(paths)
    return make_window(
        FakeLanguageModel("Your dog is called Biscuit."),
        memory=service.memory,
        memory_service=service,
    )


def finish(qtbot: QtBot, job: Job | None) -> object:
    assert job is not None
    results: list[object] = []
    job.succeeded.connect(results.append)
    if not job.done:
        with qtbot.waitSignal(job.finished, timeout=30000):
            pass
    return results[0] if results else None


def browser_of(qtbot: QtBot, window: MainWindow) -> MemoryBrowser:
    browser = window.open_memory()
    assert browser is not None
    qtbot.waitUntil(lambda: bool(browser.records) or browser.status.text() != "", timeout=10000)
    return browser


def reload(qtbot: QtBot, browser: MemoryBrowser) -> None:
    with qtbot.waitSignal(browser.loaded, timeout=10000):
        browser.refresh()


def test_remembered_in_chat_cited_in_a_new_chat_and_shown_in_the_browser(
    qtbot: QtBot, memory_window: MainWindow
) -> None:
    window = memory_window
    send(qtbot, window, "remember that my dog is called Biscuit")
    wait_turn(qtbot, window)
    assert texts(window)[-1] == ("assistant", "Got it. I'll remember: my dog is called Biscuit")

    window.new_conversation()
    send(qtbot, window, "what is my dog's name?")
    wait_turn(qtbot, window)
    reply = window.chat.bubbles()[-1]
    assert reply.sources.isVisibleTo(window)
    assert "[1] fact: my dog is called Biscuit" in reply.sources.text()
    # The citation opens the memory browser at that fact.
    with qtbot.waitSignal(window.chat.citation_clicked, timeout=5000):
        reply.sources.linkActivated.emit("cite:1")
    browser = window.memory_browser
    assert browser is not None and browser.isVisible()
    qtbot.waitUntil(lambda: bool(browser.selected_records()), timeout=10000)
    assert browser.selected_records()[0].text == "my dog is called Biscuit"
    # Citations survive reopening the conversation.
    conversation = window.conversation_id
    window.new_conversation()
    window.open_conversation(conversation)
    assert "Biscuit" in window.chat.bubbles()[-1].sources.text()


def test_forgetting_asks_with_buttons(qtbot: QtBot, memory_window: MainWindow) -> None:
    window = memory_window
    send(qtbot, window, "remember that my dog is called Biscuit")
    wait_turn(qtbot, window)
    send(qtbot, window, "forget my dog's name")
    wait_turn(qtbot, window)
    ask = window.chat.bubbles()[-1]
    assert "Should I forget this?" in ask.text
    qtbot.mouseClick(ask.yes_button, Qt.MouseButton.LeftButton)
    wait_turn(qtbot, window)
    assert texts(window)[-1] == ("assistant", "Done. I have forgotten it.")
    assert not ask.yes_button.isEnabled()
    service = window.backend.memory_service
    assert service is not None and service.memory.store.count("fact") == 0


def test_browser_search_delete_export_and_forget_everything(
    qtbot: QtBot, memory_window: MainWindow, tmp_path: Path
) -> None:
    window = memory_window
    service = window.backend.memory_service
    assert service is not None
    for fact in ("my dog is called Biscuit", "my sister lives in Lyon", "the boiler code is 4411"):
        finish(qtbot, service.remember(fact))
    browser = browser_of(qtbot, window)
    reload(qtbot, browser)
    assert len(browser.records) == 3 and browser.table.rowCount() == 3

    browser.search.setText("boiler code")
    browser.mode.setCurrentIndex(1)  # by words
    reload(qtbot, browser)
    assert [r.text for r in browser.records] == ["the boiler code is 4411"]
    browser.mode.setCurrentIndex(0)  # by meaning: best first
    reload(qtbot, browser)
    assert browser.records[0].text == "the boiler code is 4411"

    browser.search.clear()
    reload(qtbot, browser)
    # Edit: the id stays (citations still lead to it), the text and its meaning change.
    boiler = next(r for r in browser.records if "boiler" in r.text)
    assert browser.select(boiler.id)
    browser.editor.setPlainText("the boiler code is 5522")
    browser.save_edit()
    qtbot.waitUntil(
        lambda: any(r.text == "the boiler code is 5522" for r in browser.records), timeout=10000
    )
    assert [r.id for r in browser.records if "boiler" in r.text] == [boiler.id]
    assert browser.select(next(r.id for r in browser.records if "Lyon" in r.text))
    assert browser.editor.toPlainText() == "my sister lives in Lyon"
    finish(qtbot, browser.delete_selected(confirmed=True))
    qtbot.waitUntil(lambda: len(browser.records) == 2, timeout=10000)
    assert sorted(r.text for r in browser.records) == [
        "my dog is called Biscuit",
        "the boiler code is 5522",
    ]

    exported = tmp_path / "memory.json"
    assert finish(qtbot, browser.export_to(str(exported))) == 2
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert sorted(r["text"] for r in data["records"]) == [
        "my dog is called Biscuit",
        "the boiler code is 5522",
    ]
    markdown = tmp_path / "memory.md"
    finish(qtbot, browser.export_to(str(markdown), "markdown"))
    assert "- my dog is called Biscuit" in markdown.read_text(encoding="utf-8")

    finish(qtbot, browser.forget_everything(confirmed=True))
    qtbot.waitUntil(lambda: browser.records == [], timeout=10000)
    assert service.memory.store.count("fact") == 0

    assert finish(qtbot, browser.import_from(str(exported))) == 2
    qtbot.waitUntil(lambda: len(browser.records) == 2, timeout=10000)


def test_folders_are_indexed_with_progress_and_can_be_removed(
    qtbot: QtBot, memory_window: MainWindow, tmp_path: Path
) -> None:
    window = memory_window
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(5):
        (folder / f"n{i}.md").write_text(f"Note {i} about the garden and tomatoes.", "utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 nothing else")
    browser = window.open_memory(tab="Folders")
    assert browser is not None
    with qtbot.waitSignal(browser.service.index_finished, timeout=60000):
        browser.add_folder(str(folder))
    assert browser.folder_list.count() == 1
    assert browser.index_label.text().startswith("5 file(s) indexed")
    assert "broken.pdf" in browser.skipped.toPlainText()
    assert browser.service.memory.store.count("document") == 5
    browser.folder_list.setCurrentRow(0)
    browser.folder_list.item(0).setSelected(True)
    browser._remove_folder()
    qtbot.waitUntil(lambda: browser.folder_list.count() == 0, timeout=10000)
    assert browser.service.memory.store.count("document") == 0


def test_skipped_files_can_be_retried_from_the_folders_tab(
    qtbot: QtBot, memory_window: MainWindow, tmp_path: Path
) -> None:
    """A skipped file unchanged on disk is not read again by itself; "Retry skipped files"
    reads it (here the user repaired it keeping its size and time, as a restore might)."""
    import os

    folder = tmp_path / "docs"
    folder.mkdir()
    note = folder / "note.md"
    note.write_bytes(b" " * 30)  # blank: "has no text Hearth can read"
    service = memory_window.backend.memory_service
    assert service is not None
    with qtbot.waitSignal(service.index_finished, timeout=60000):
        service.add_folder(str(folder))  # as the re-index when Hearth starts, before any window
    browser = memory_window.open_memory(tab="Folders")
    assert browser is not None
    assert "note.md has no text" in browser.skipped.toPlainText()  # the last run, shown
    assert browser.retry_button.isVisible() and browser.retry_button.isEnabled()
    stamp = note.stat()
    note.write_bytes(b"The shed key hangs by the door")
    os.utime(note, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    with qtbot.waitSignal(browser.service.index_finished, timeout=60000):
        browser.index_now()
    assert "note.md has no text" in browser.skipped.toPlainText()  # unchanged: not read again
    with qtbot.waitSignal(browser.service.index_finished, timeout=60000):
        qtbot.mouseClick(browser.retry_button, Qt.MouseButton.LeftButton)
    assert browser.index_label.text().startswith("1 file(s) indexed")
    assert not browser.skipped.isVisible() and not browser.retry_button.isVisible()
    assert browser.service.memory.store.count("document") == 1


def _garden_notes(tmp_path: Path, count: int = 3) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(count):
        (folder / f"n{i}.txt").write_text(f"Note {i} about the garden.", "utf-8")
    return folder


def test_indexing_waits_on_the_gate_during_a_text_turn(
    qtbot: QtBot, memory_window: MainWindow, tmp_path: Path
) -> None:
    window = memory_window
    service = window.backend.memory_service
    assert service is not None
    llm = window.backend.assistant.llm
    assert isinstance(llm, FakeLanguageModel)
    llm.gate_after_tokens = 1  # the reply holds after its first word
    send(qtbot, window, "tell me something long")
    qtbot.waitUntil(lambda: service.gate.busy, timeout=5000)
    reports: list[object] = []
    service.index_finished.connect(reports.append)
    service.add_folder(str(_garden_notes(tmp_path)))
    qtbot.wait(700)
    assert reports == [] and service.indexing  # waiting, not working
    assert service.memory.store.count("document") == 0
    llm.gate.set()
    wait_turn(qtbot, window)
    qtbot.waitUntil(lambda: bool(reports), timeout=30000)
    assert service.memory.store.count("document") == 3


def test_indexing_waits_on_the_gate_while_the_user_talks_and_hears_the_answer(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    service = memory_service(paths)
    recorder = FakeRecorder(AudioClip(b"\x00\x10" * 16000 * 2, 16000))
    llm = FakeLanguageModel("The roses. They need water.", gate_after_tokens=1)
    voice = VoiceController(
        recorder, FakePlayer(instant=True), FakeSpeechToText(), FakeTextToSpeech()
    )
    window = make_window(llm, memory=service.memory, memory_service=service, voice=voice)
    assert voice.gate is service.gate  # one gate for the whole app
    reports: list[object] = []
    service.index_finished.connect(reports.append)
    voice.press()
    service.add_folder(str(_garden_notes(tmp_path)))
    qtbot.wait(700)
    assert reports == [] and service.memory.store.count("document") == 0  # recording
    voice.release()
    qtbot.waitUntil(lambda: window.busy and llm.prompts != [], timeout=5000)
    qtbot.wait(500)
    assert reports == [] and service.memory.store.count("document") == 0  # answering
    llm.gate.set()
    wait_turn(qtbot, window)
    qtbot.waitUntil(lambda: bool(reports), timeout=30000)
    assert service.memory.store.count("document") == 3
