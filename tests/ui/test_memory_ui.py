"""Memory in the window, with real chromadb and a word-hashing embedder: remember from chat,
citations that open their source, yes/no before forgetting, and the memory browser's search,
delete, export and forget-everything."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from app.audio.fake import FakePlayer, FakeRecorder
from app.core.memory import MIN_SCORE
from app.core.ports import AudioClip, MemoryRecord
from app.settings import Paths
from app.ui.main_window import MainWindow
from app.ui.memory_browser import MATCH, MemoryBrowser
from app.workers.jobs import Job
from app.workers.memory_service import MemoryService
from app.workers.voice import VoiceController
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QTableWidget, QTableWidgetItem
from pytestqt.qtbot import QtBot

from tests.fakes import (
    FakeLanguageModel,
    FakeSpeechToText,
    FakeTextToSpeech,
    ListMemoryStore,
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


# -- the memory browser, as a user found it ---------------------------------------------------


@pytest.fixture(params=["chroma", "list"])
def any_store_window(
    request: pytest.FixtureRequest, make_window: WindowFactory, paths: Paths
) -> MainWindow:
    """The window over the real chroma store, and over the fake one (the same answers)."""
    service = memory_service(paths, ListMemoryStore() if request.param == "list" else None)
    return make_window(FakeLanguageModel(), memory=service.memory, memory_service=service)


def service_of(window: MainWindow) -> MemoryService:
    service = window.backend.memory_service
    assert service is not None
    return service


def keep(service: MemoryService, *records: MemoryRecord) -> None:
    """Records as the app stores them (one kind at a time), with the test embedder."""
    memory = service.memory
    for record in records:
        memory.store.upsert([record], memory.embedder.embed([record.text]))


def opened(qtbot: QtBot, window: MainWindow) -> MemoryBrowser:
    browser = window.open_memory()
    assert browser is not None
    reload(qtbot, browser)
    return browser


def look_for(qtbot: QtBot, browser: MemoryBrowser, query: str, *, by_words: bool) -> None:
    browser.mode.blockSignals(True)
    browser.mode.setCurrentIndex(1 if by_words else 0)
    browser.mode.blockSignals(False)
    browser.search.setText(query)
    reload(qtbot, browser)


def cell(
    table: QTableWidget | QTableWidgetItem | None, row: int = 0, col: int = 0
) -> QTableWidgetItem:
    """The item at (row, col) of ``table``, or the header ``table`` itself; never None."""
    item = table.item(row, col) if isinstance(table, QTableWidget) else table
    assert item is not None
    return item


def column(browser: MemoryBrowser, index: int) -> list[str]:
    table = browser.table
    return [cell(table, row, index).text() for row in range(table.rowCount())]


MAY_3 = time.mktime((2025, 5, 3, 12, 0, 0, 0, 0, -1))


def test_a_words_search_finds_every_word_in_any_order_case_and_possessive(
    qtbot: QtBot, any_store_window: MainWindow
) -> None:
    service = service_of(any_store_window)
    texts = {
        "f-anne": "My sister Anne's Birthday is on 3 May",
        "f-dog": "the dog's birthday party is in June",
        "f-lyon": "my sister lives in Lyon",
        "f-tom": "Birthday of my SISTER's son Tom: 9 March",
    }
    keep(
        service,
        *(
            MemoryRecord(i, "fact", t, "chat", created_at=n)
            for n, (i, t) in enumerate(texts.items())
        ),
    )
    browser = opened(qtbot, any_store_window)
    for query in ("birthday", "sister birthday", "Birthday SISTER", "sister's birthday"):
        look_for(qtbot, browser, query, by_words=True)
        wanted = {"f-anne", "f-dog", "f-tom"} if query == "birthday" else {"f-anne", "f-tom"}
        assert {r.id for r in browser.records} == wanted, query
        assert browser.table.rowCount() == len(wanted)
    look_for(qtbot, browser, "sister birthday lyon", by_words=True)
    assert browser.records == []
    assert "all of the words" in browser.status.text()
    # Paging counts the records that match (the store's contract, chroma and the fake alike).
    store = service.memory.store
    pages = [store.browse("fact", contains="sister BIRTHDAY", limit=1, offset=n) for n in (0, 1, 2)]
    assert [[r.id for r in page] for page in pages] == [["f-anne"], ["f-tom"], []]


def test_the_meaning_search_lists_only_what_matters_with_its_score_whole(
    qtbot: QtBot, memory_window: MainWindow
) -> None:
    window = memory_window
    service = service_of(window)
    for fact in ("the boiler code is 4411", "my dog is called Biscuit", "my sister lives in Lyon"):
        finish(qtbot, service.remember(fact))
    browser = opened(qtbot, window)
    table, header = browser.table, browser.table.horizontalHeader()
    assert table.isColumnHidden(MATCH)  # not ranked: no score to show
    look_for(qtbot, browser, "boiler code", by_words=False)
    assert [r.text for r in browser.records] == ["the boiler code is 4411"]
    score = browser.scores[browser.records[0].id]
    assert score >= MIN_SCORE["fact"]
    assert cell(table.horizontalHeaderItem(MATCH)).text() == "Match"
    assert not table.isColumnHidden(MATCH)
    assert column(browser, MATCH) == [f"{score:.2f}"]
    assert "match" not in column(browser, 3)[0]  # "When" holds the time only
    # Never clipped: each short column is as wide as what it holds.
    for index in (0, 3, MATCH):
        assert header.sectionSize(index) >= table.sizeHintForColumn(index), index
    metrics = table.fontMetrics()
    assert header.sectionSize(MATCH) > metrics.horizontalAdvance(f"{score:.2f}")

    look_for(qtbot, browser, "violin lessons", by_words=False)
    assert browser.records == [] and table.rowCount() == 0
    assert "close in meaning" in browser.status.text()


def test_deleting_one_selected_row_deletes_exactly_that_record(
    qtbot: QtBot, memory_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fact, the past turn that said it and the one that used it are three rows: deleting
    the fact's row asks about one memory and deletes that one, not its turns too."""
    window = memory_window
    service = service_of(window)
    memory = service.memory
    fact = memory.remember_fact("my sister's birthday is on 3 May")
    memory.remember_turn("c1", "Family", 1, "my sister's birthday is on 3 May")
    memory.remember_turn("c1", "Family", 3, "when is my sister's birthday?", cites=[fact.id])
    browser = opened(qtbot, window)
    assert len(browser.records) == 3
    row = next(n for n, r in enumerate(browser.visible_records()) if r.id == fact.id)
    table = browser.table
    rect = table.visualItemRect(cell(table, row, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert [r.id for r in browser.selected_records()] == [fact.id]

    asked: list[str] = []

    def question(_parent: object, _title: str, text: str, *_args: Any) -> Any:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    with qtbot.waitSignal(browser.loaded, timeout=10000):
        qtbot.mouseClick(browser.delete_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and asked[0].startswith("Delete 1 memory?")
    assert memory.store.count("fact") == 0
    assert memory.store.count("turn") == 2  # exactly one record went
    assert len(browser.records) == 2 and table.rowCount() == 2
    assert browser.selected_records() == []  # no other row inherits the selection


def test_sources_are_shown_in_words_never_as_ids(qtbot: QtBot, memory_window: MainWindow) -> None:
    window = memory_window
    service = service_of(window)
    conversation = "02bb5f0c9e8d4f7a"
    keep(
        service,
        MemoryRecord("fact-1", "fact", "my dog is called Biscuit", "chat", created_at=MAY_3),
        MemoryRecord("fact-2", "fact", "buy seeds for the garden", "note", created_at=MAY_3 + 1),
        MemoryRecord(
            f"turn-{conversation}-1",
            "turn",
            "User: my sister's birthday is on 3 May",
            f"conversation:{conversation}",
            title="Family plans",
            created_at=MAY_3 + 2,
            extra={"conversation_id": conversation, "message_id": 1},
        ),
        MemoryRecord(
            "chunk-1",
            "document",
            "Tomatoes want sun.",
            "/home/me/docs/garden.md",
            title="garden.md",
            created_at=MAY_3 + 3,
            extra={"path": "/home/me/docs/garden.md", "chunk": 1, "start": 80},
        ),
    )
    browser = opened(qtbot, window)
    shown = dict(
        zip(
            column(browser, 1),
            zip(column(browser, 0), column(browser, 2), strict=True),
            strict=True,
        )
    )
    assert shown == {
        "my dog is called Biscuit": ("Fact", "You told Hearth"),
        "buy seeds for the garden": ("Note", "A note you wrote"),
        "my sister's birthday is on 3 May": (
            "Conversation",
            "Conversation “Family plans”, 3 May 2025",
        ),
        "Tomatoes want sun.": ("File", "garden.md, part 2"),
    }
    table = browser.table
    for row in range(table.rowCount()):
        assert browser.select(browser.visible_records()[row].id)
        cells = [cell(table, row, n).text() for n in range(table.columnCount())]
        seen = " ".join([*cells, cell(table, row, 2).toolTip(), browser.detail_source.text()])
        assert "conversation:" not in seen and conversation not in seen, seen
    browser.source.setText("family")  # the "From" filter knows what it shows
    assert [r.kind for r in browser.visible_records()] == ["turn"]
