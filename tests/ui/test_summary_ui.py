"""Summarising a document in the window: progress in the status bar and under the reply,
the sources under it, and Stop (the turn's own Stop button) keeping what was written."""

from __future__ import annotations

import re
from pathlib import Path

from app.core.summary import DocumentSummaries, SummaryConfig
from app.settings import Paths
from app.ui.main_window import MainWindow
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tests.fakes import SectionModel
from tests.ui.conftest import WindowFactory, memory_service, send, wait_turn

TOPICS = (
    "The printer driver supports colour inkjet printers and their paper sizes.",
    "Print quality depends on the resolution, the dither algorithm and the ink type.",
    "The plugin lets the user choose a printer model and preview the page.",
    "Calibration adjusts gamma, density and colour balance for each paper.",
)


def window_with_manual(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path, delay: float
) -> MainWindow:
    service = memory_service(paths)
    model = SectionModel(token_delay=delay)  # slow enough to stop
    model.overview = "This manual explains how to print [1]."
    window = make_window(model, memory=service.memory, memory_service=service)
    window.backend.assistant.summaries = DocumentSummaries(SummaryConfig(section_tokens=300))
    folder = tmp_path / "docs"
    folder.mkdir()
    text = "\n\n".join(
        f"{TOPICS[i % len(TOPICS)]} Paragraph {i} adds detail number {i * 7}." for i in range(90)
    )
    (folder / "printing-manual.txt").write_text(text, encoding="utf-8")
    with qtbot.waitSignal(service.index_finished, timeout=60000):
        service.add_folder(str(folder))
    return window


def test_summary_progress_shows_and_the_sections_are_cited(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    window = window_with_manual(qtbot, make_window, paths, tmp_path, delay=0.01)
    seen: list[str] = []
    footers: list[str] = []

    def watch(_event: object) -> None:
        seen.append(window.state_label.text())
        bubble = window.chat.reply
        if bubble is not None:
            footers.append(bubble.footer.text())

    window.turns.rendered.connect(watch)
    send(qtbot, window, "summarise the printing manual")
    wait_turn(qtbot, window, timeout=60000)
    sections = [s for s in seen if s.startswith("Summarising section ")]
    assert sections, seen
    first = re.match(r"Summarising section 1 of (\d+) \(parts 1–\d+\) …", sections[0])
    assert first is not None, sections[0]
    total = int(first.group(1))
    assert total > 1
    assert f"Summarising section {total} of {total}" in sections[-1]
    assert "Reading printing-manual.txt…" in seen
    assert any(s.startswith("Writing the summary of printing-manual.txt") for s in seen)
    assert any(f.startswith("Summarising section 2 of") for f in footers)  # under the reply
    bubble = window.chat.bubbles()[-1]
    assert bubble.text.startswith("**printing-manual.txt, section by section:**")
    assert f"- Section {total} explains printing topic {total}. [{total}]" in bubble.text
    assert bubble.text.endswith("**In short:** This manual explains how to print [1].\n")
    assert bubble.footer.text() == ""  # the progress is over
    assert bubble.sources.isVisible()
    links = re.findall(
        r'<a href="cite:(\d+)">\[\d+\] file printing-manual\.txt, parts', bubble.sources.text()
    )
    assert [int(n) for n in links] == list(range(1, total + 1))
    assert window.state_label.text() == "Ready"
    with qtbot.waitSignal(window.chat.citation_clicked, timeout=5000):
        bubble.sources.linkActivated.emit("cite:2")
    viewer = window.memory.source_viewer
    assert viewer is not None and viewer.isVisible()
    assert viewer.windowTitle() == "printing-manual.txt"
    [where, *_] = viewer.findChildren(QLabel)
    assert where.text().startswith("file printing-manual.txt, parts ")
    assert viewer.passage.toPlainText() == bubble.citations[1]["text"]


def test_stop_ends_a_summary_and_keeps_the_sections_done(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths, tmp_path: Path
) -> None:
    window = window_with_manual(qtbot, make_window, paths, tmp_path, delay=0.05)
    send(qtbot, window, "summarise printing-manual.txt")
    qtbot.waitUntil(
        lambda: window.state_label.text().startswith("Summarising section 2 of"), timeout=20000
    )
    qtbot.mouseClick(window.composer.stop_button, Qt.MouseButton.LeftButton)
    wait_turn(qtbot, window, timeout=5000)
    bubble = window.chat.bubbles()[-1]
    assert bubble.footer.text() == "Stopped"
    assert window.state_label.text() == "Stopped"
    assert "- Section 1 explains printing topic 1. [1]" in bubble.text
    assert "Section 2 explains" not in bubble.text
    assert re.search(r"\[1\]\n\nStopped after 1 of \d+ sections\.\n$", bubble.text)
    assert "[1] file printing-manual.txt, parts 1–" in bubble.sources.text()
    stored = window.backend.store.messages(window.conversation_id)[-1]
    assert stored.meta.get("cancelled") is True and stored.content == bubble.text
