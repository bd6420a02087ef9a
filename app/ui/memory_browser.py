"""The memory browser: see, search, edit and forget what Hearth remembers; manage folders."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import PurePath

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.documents import IndexProgress, IndexReport
from app.core.durations import rough_duration
from app.core.ports import ImageHit, MemoryHit, MemoryKind, MemoryRecord
from app.ui import a11y, shortcuts
from app.workers.jobs import Job
from app.workers.memory_service import MemoryService

KINDS: dict[str, MemoryKind | None] = {
    "Everything": None,
    "Facts": "fact",
    "Conversations": "turn",
    "Files": "document",
    "Images": None,
}
IMAGES = "Images"
KIND_NAMES = {"fact": "Fact", "turn": "Conversation", "document": "File"}
COLUMNS = ["Kind", "Memory", "From", "When", "Match"]
MATCH = COLUMNS.index("Match")
"""The meaning search's score (hidden when the list is not ranked by meaning)."""
FACT_SOURCES = {
    "note": "A note you wrote",
    "memory browser": "You added it here",
    "import": "Imported",
}
"""Where a fact came from, by its source; any other (a chat) is "You told Hearth"."""


class MemoryBrowser(QWidget):
    """A window of its own (Memory… in the main window, Ctrl+M)."""

    loaded = Signal()
    """The list was refreshed (used by tests)."""
    open_source = Signal(object)
    """A record whose source should be shown (a conversation or a file)."""

    open_conversation = Signal(str)
    """An image's conversation should be shown."""
    forgot_everything = Signal()
    """Forget everything finished (personalization then drops its examples too)."""

    def __init__(
        self,
        service: MemoryService,
        parent: QWidget | None = None,
        *,
        find_images: Callable[[str], Job] | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self._find_images = find_images
        self.image_hits: list[ImageHit] = []
        self._generation = 0
        self.setWindowTitle("Hearth memory")
        self.resize(900, 600)
        self.service = service
        self.records: list[MemoryRecord] = []
        self.scores: dict[str, float] = {}
        self._jobs: list[Job] = []
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        layout.addWidget(self.tabs)
        self.tabs.addTab(self._memories_tab(), "Memories")
        self.tabs.addTab(self._folders_tab(), "Folders")
        self.status = QLabel("", self)
        self.status.setObjectName("memoryStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        service.changed.connect(self.refresh)
        service.error.connect(lambda exc: self.status.setText(getattr(exc, "message", str(exc))))
        service.index_progress.connect(self._index_progress)
        service.index_finished.connect(self._index_finished)
        shortcuts.shortcut(self, "Search memory", self.search.setFocus)
        shortcuts.shortcut(self, "Close memory", self.close)
        self.refresh()
        self.refresh_folders()
        if service.indexing:
            self._indexing(True)
        elif service.last_report is not None:  # e.g. the re-index when Hearth started
            self._index_finished(service.last_report)

    # -- memories -----------------------------------------------------------------------------

    def _memories_tab(self) -> QWidget:
        tab = QWidget(self)
        layout = QVBoxLayout(tab)
        row = QHBoxLayout()
        self.search = QLineEdit(tab)
        self.search.setPlaceholderText("Search your memory…")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.refresh)
        a11y.describe(self.search, "Search memory", "Words or a question; Enter searches.")
        row.addWidget(self.search, 2)
        self.mode = QComboBox(tab)
        self.mode.addItems(["By meaning", "By words"])
        self.mode.currentIndexChanged.connect(self.refresh)
        a11y.describe(
            self.mode, "Search by", "By meaning finds related wording; by words, the exact words."
        )
        row.addWidget(self.mode)
        self.kind = QComboBox(tab)
        self.kind.addItems([k for k in KINDS if k != IMAGES or self._find_images is not None])
        self.kind.currentIndexChanged.connect(self.refresh)
        a11y.describe(self.kind, "Show", "Which memories to list: everything, facts, files…")
        row.addWidget(self.kind)
        self.source = QLineEdit(tab)
        self.source.setPlaceholderText("From (file or conversation)…")
        self.source.setClearButtonEnabled(True)
        self.source.textChanged.connect(self._show_records)
        a11y.describe(self.source, "From", "Only memories from a file or conversation named so.")
        row.addWidget(self.source, 1)
        layout.addLayout(row)

        splitter = QSplitter(Qt.Orientation.Vertical, tab)
        self.table = QTableWidget(0, len(COLUMNS), splitter)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        # The short columns always fit what they hold (a score is never cut to "0."); the
        # memory takes the room left, and a long title in "From" is elided, whole in its tip.
        for column in (0, 3, MATCH):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(2, 240)
        self.table.setColumnHidden(MATCH, True)
        self.table.itemSelectionChanged.connect(self._selected)
        a11y.describe(
            self.table,
            "Memories",
            "What Hearth remembers; select one to read or edit it, Delete forgets it.",
            tip=False,
        )
        shortcuts.shortcut(self.table, "Forget the selected memories", self.delete_selected)
        detail = QWidget(splitter)
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        self.detail_source = QLabel("", detail)
        self.detail_source.setWordWrap(True)
        detail_layout.addWidget(self.detail_source)
        self.editor = QPlainTextEdit(detail)
        self.editor.setPlaceholderText("Select a memory to see it whole and edit it.")
        detail_layout.addWidget(self.editor)
        a11y.describe(self.editor, "Selected memory", "The selected memory whole; edit and save.")
        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save changes", detail)
        self.save_button.clicked.connect(self.save_edit)
        self.delete_button = QPushButton("Delete", detail)
        self.delete_button.clicked.connect(self.delete_selected)
        self.open_button = QPushButton("Open source", detail)
        self.open_button.clicked.connect(self._open_selected)
        a11y.describe(self.save_button, "Save changes", "Keep the edited memory.")
        a11y.describe(self.delete_button, "Delete", "Forget the selected memories.")
        a11y.describe(
            self.open_button, "Open source", "Open the file or conversation it came from."
        )
        for b in (self.save_button, self.delete_button, self.open_button):
            b.setEnabled(False)
            buttons.addWidget(b)
        buttons.addStretch(1)
        detail_layout.addLayout(buttons)
        splitter.addWidget(self.table)
        splitter.addWidget(detail)
        splitter.setSizes([380, 180])
        layout.addWidget(splitter, 1)

        bottom = QHBoxLayout()
        add = QPushButton("Add a fact…", tab)
        add.clicked.connect(self._add_fact)
        export = QPushButton("Export…", tab)
        export.clicked.connect(self._export)
        import_button = QPushButton("Import…", tab)
        import_button.clicked.connect(self._import)
        self.forget_button = QPushButton("Forget everything…", tab)
        # A lambda, so the button's "checked" argument does not reach the keyword-only flag.
        self.forget_button.clicked.connect(lambda: self.forget_everything())  # noqa: PLW0108
        a11y.describe(add, "Add a fact", "Tell Hearth something to remember, in your words.")
        a11y.describe(export, "Export", "Save all memories to a file you choose.")
        a11y.describe(import_button, "Import", "Add memories from a file exported earlier.")
        a11y.describe(self.forget_button, "Forget everything", "Forget every memory (asks first).")
        for b in (add, export, import_button):
            bottom.addWidget(b)
        bottom.addStretch(1)
        bottom.addWidget(self.forget_button)
        layout.addLayout(bottom)
        return tab

    def _kind(self) -> MemoryKind | None:
        return KINDS[self.kind.currentText()]

    def _track(self, job: Job) -> Job:
        self._jobs.append(job)
        job.finished.connect(lambda: self._jobs.remove(job) if job in self._jobs else None)
        return job

    def refresh(self) -> None:
        self._generation += 1  # answers to earlier refreshes are stale from now on
        generation = self._generation
        query = self.search.text().strip()
        if self.kind.currentText() == IMAGES and self._find_images is not None:
            self.records, self.image_hits = [], []
            if not query:
                self._show_records()
                self.status.setText("Describe the image you are looking for, then press Enter.")
                self.loaded.emit()
                return
            self._track(self._find_images(query)).succeeded.connect(
                lambda result: self._images_found(result, generation)
            )
            return
        self.image_hits = []
        if query and self.mode.currentIndex() == 0:
            job = self.service.search(query, self._kind())
        else:
            job = self.service.browse(self._kind(), contains=query)
        self._track(job).succeeded.connect(lambda result: self._loaded(result, generation))

    def _loaded(self, result: object, generation: int) -> None:
        if generation != self._generation or not isinstance(result, list):
            return
        self.scores = {}
        records: list[MemoryRecord] = []
        for item in result:
            if isinstance(item, MemoryHit):
                records.append(item.record)
                self.scores[item.record.id] = item.score
            elif isinstance(item, MemoryRecord):
                records.append(item)
        if not self.scores:
            records.sort(key=lambda r: r.created_at, reverse=True)  # newest first
        self.records = records
        self._show_records()
        self.loaded.emit()

    def _images_found(self, result: object, generation: int) -> None:
        if generation != self._generation:
            return
        hits = [h for h in result if isinstance(h, ImageHit)] if isinstance(result, list) else []
        self.image_hits = hits
        self.table.clearSelection()
        self.table.setRowCount(len(hits))
        for row, hit in enumerate(hits):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(hit.created_at))
            text = " ".join(hit.text.split())[:160]
            cells = [
                "Image",
                f"{hit.name}: {text}" if text else hit.name,
                "A past conversation",
                when,
                f"{hit.score:.2f}",
            ]
            for column, value in enumerate(cells):
                self.table.setItem(row, column, _cell(value, column))
        self.table.setColumnHidden(MATCH, False)
        self.status.setText(f"{len(hits)} images" if hits else "No image matches that.")
        self.loaded.emit()

    def visible_records(self) -> list[MemoryRecord]:
        wanted = self.source.text().strip().lower()
        return [r for r in self.records if not wanted or wanted in _from_words(r).lower()]

    def _show_records(self) -> None:
        kept = {r.id for r in self.selected_records()}
        shown = self.visible_records()
        self.table.clearSelection()
        self.table.setRowCount(len(shown))
        for row, record in enumerate(shown):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created_at))
            score = self.scores.get(record.id)
            text = record.text.removeprefix("User: ") if record.kind == "turn" else record.text
            cells = [
                kind_name(record),
                " ".join(text.split())[:200],
                display_source(record),
                when,
                "" if score is None else f"{score:.2f}",
            ]
            for column, value in enumerate(cells):
                item = _cell(value, column)
                item.setData(Qt.ItemDataRole.UserRole, record.id)
                if column == 1:
                    item.setToolTip(text[:1000])
                elif column == 2:
                    item.setToolTip(_from_words(record))
                self.table.setItem(row, column, item)
        self.table.setColumnHidden(MATCH, not self.scores)
        # The same memories stay selected (by id, never by row: the rows moved).
        selection = QItemSelection()
        for row, record in enumerate(shown):
            if record.id in kept:
                selection.select(self.table.model().index(row, 0), self.table.model().index(row, 0))
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().select(selection, flags)
        total = len(self.records)
        query = self.search.text().strip()
        if not total and query:
            self.status.setText(
                f"Nothing in memory is close in meaning to “{query}”; try By words."
                if self.mode.currentIndex() == 0
                else f"No memory holds all of the words “{query}”."
            )
        else:
            self.status.setText(
                f"{len(shown)} of {total} memories shown"
                if len(shown) != total
                else f"{total} memories"
            )
        self._selected()

    def _selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.table.selectedIndexes()})

    def selected_records(self) -> list[MemoryRecord]:
        """The records of the selected rows, each once, read from the rows themselves."""
        by_id = {r.id: r for r in self.records}
        chosen: list[MemoryRecord] = []
        for row in self._selected_rows():
            item = self.table.item(row, 0)
            record = by_id.get(item.data(Qt.ItemDataRole.UserRole)) if item else None
            if record is not None and record not in chosen:
                chosen.append(record)
        return chosen

    def _selected(self) -> None:
        if self.image_hits:
            rows = self._selected_rows()
            hit = self.image_hits[rows[0]] if len(rows) == 1 else None
            self.editor.setPlainText(hit.text if hit else "")
            self.editor.setReadOnly(True)
            self.detail_source.setText(f"Image {hit.name}" if hit else "")
            self.save_button.setEnabled(False)
            self.delete_button.setEnabled(False)
            self.open_button.setEnabled(hit is not None)
            return
        chosen = self.selected_records()
        one = chosen[0] if len(chosen) == 1 else None
        self.editor.setPlainText(one.text if one else "")
        self.editor.setReadOnly(one is None)
        self.detail_source.setText(
            f"{kind_name(one)} · {_from_words(one)}"
            if one
            else (f"{len(chosen)} selected" if chosen else "")
        )
        self.save_button.setEnabled(one is not None)
        self.delete_button.setEnabled(bool(chosen))
        self.open_button.setEnabled(one is not None and one.kind != "fact")

    def select(self, record_id: str) -> bool:
        """Show one memory (e.g. from a citation); False if it is not in the list."""
        for row, record in enumerate(self.visible_records()):
            if record.id == record_id:
                self.table.selectRow(row)
                return True
        return False

    def save_edit(self) -> None:
        chosen = self.selected_records()
        text = self.editor.toPlainText().strip()
        if len(chosen) != 1 or not text or text == chosen[0].text:
            return
        record = chosen[0]
        self._track(self.service.edit(record, text))
        self.status.setText("Saved.")

    def delete_selected(self, *, confirmed: bool | None = None) -> Job | None:
        chosen = self.selected_records()
        if not chosen:
            return None
        if confirmed is None:
            confirmed = (
                QMessageBox.question(
                    self,
                    "Delete memories",
                    f"Delete {len(chosen)} memor{'y' if len(chosen) == 1 else 'ies'}? "
                    "Hearth will not recall them again.",
                )
                == QMessageBox.StandardButton.Yes
            )
        if not confirmed:
            return None
        return self._track(self.service.delete(chosen))

    def _open_selected(self) -> None:
        if self.image_hits:
            rows = self._selected_rows()
            if len(rows) == 1:
                self.open_conversation.emit(self.image_hits[rows[0]].conversation_id)
            return
        chosen = self.selected_records()
        if len(chosen) == 1:
            self.open_source.emit(chosen[0])

    def _add_fact(self) -> None:
        text, ok = QInputDialog.getMultiLineText(self, "Add a fact", "Hearth should remember:")
        if ok and text.strip():
            self._track(self.service.remember(text.strip(), source="memory browser"))

    def _export(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export memory", "hearth-memory.json", "JSON (*.json);;Markdown (*.md)"
        )
        if path:
            self.export_to(path, "markdown" if chosen.startswith("Markdown") else "json")

    def export_to(self, path: str, fmt: str = "json") -> Job:
        job = self._track(self.service.export(path, fmt))
        job.succeeded.connect(lambda n: self.status.setText(f"Exported {n} memories to {path}"))
        return job

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import memory", "", "JSON (*.json)")
        if path:
            self.import_from(path)

    def import_from(self, path: str) -> Job:
        job = self._track(self.service.import_file(path))
        job.succeeded.connect(lambda n: self.status.setText(f"Imported {n} memories"))
        return job

    def forget_everything(self, *, confirmed: bool | None = None) -> Job | None:
        if confirmed is None:
            answer = QMessageBox.warning(
                self,
                "Forget everything",
                "Forget every fact, remembered conversation, indexed file and image? Your "
                "conversations and files themselves stay. This cannot be undone.",
                QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Discard,
                QMessageBox.StandardButton.Cancel,
            )
            confirmed = answer == QMessageBox.StandardButton.Discard
        if not confirmed:
            return None
        job = self._track(self.service.forget_everything())
        job.succeeded.connect(lambda _r: self.status.setText("Hearth has forgotten everything."))
        job.succeeded.connect(lambda _r: self.refresh_folders())
        job.succeeded.connect(lambda _r: self.forgot_everything.emit())
        return job

    # -- folders ------------------------------------------------------------------------------

    def _folders_tab(self) -> QWidget:
        tab = QWidget(self)
        layout = QVBoxLayout(tab)
        intro = QLabel(
            "Hearth answers from the files in these folders (txt, md, pdf, html, docx). "
            "Only new or changed files are read again; nothing leaves this computer.",
            tab,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.folder_list = QListWidget(tab)
        a11y.describe(
            self.folder_list, "Folders", "Folders whose files Hearth reads and keeps up to date."
        )
        layout.addWidget(self.folder_list, 1)
        row = QHBoxLayout()
        add = QPushButton("Add folder…", tab)
        add.clicked.connect(self._pick_folder)
        self.remove_folder_button = QPushButton("Remove", tab)
        self.remove_folder_button.clicked.connect(self._remove_folder)
        self.index_button = QPushButton("Index now", tab)
        self.index_button.clicked.connect(self.index_now)
        self.retry_button = QPushButton("Retry skipped files", tab)
        self.retry_button.setToolTip(
            "Read again every file that was skipped, even if it has not changed "
            "(after you repaired a file or changed its permissions)."
        )
        self.retry_button.hide()
        self.retry_button.clicked.connect(self.retry_skipped)
        self.cancel_index_button = QPushButton("Stop", tab)
        self.cancel_index_button.setEnabled(False)
        self.cancel_index_button.clicked.connect(self.service.cancel_indexing)
        a11y.describe(add, "Add folder", "Choose a folder whose files Hearth should read.")
        a11y.describe(self.remove_folder_button, "Remove", "Stop reading the selected folder.")
        a11y.describe(self.index_button, "Index now", "Read the folders' new and changed files.")
        a11y.describe(self.cancel_index_button, "Stop", "Stop reading files (resumes later).")
        a11y.describe(self.retry_button, "Retry skipped files", self.retry_button.toolTip())
        for b in (
            add,
            self.remove_folder_button,
            self.index_button,
            self.retry_button,
            self.cancel_index_button,
        ):
            row.addWidget(b)
        row.addStretch(1)
        layout.addLayout(row)
        self.index_bar = QProgressBar(tab)
        self.index_bar.hide()
        layout.addWidget(self.index_bar)
        self.index_label = QLabel("", tab)
        self.index_label.setWordWrap(True)
        layout.addWidget(self.index_label)
        self.skipped = QPlainTextEdit(tab)
        self.skipped.setReadOnly(True)
        a11y.describe(self.skipped, "Skipped files", "The files that could not be read, and why.")
        self.skipped.setMaximumHeight(120)
        self.skipped.hide()
        layout.addWidget(self.skipped)
        return tab

    def refresh_folders(self) -> None:
        self.folder_list.clear()
        self.folder_list.addItems(self.service.folders())

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to Hearth's memory")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> Job:
        job = self.service.add_folder(folder)
        self.refresh_folders()
        self._indexing(True)
        return job

    def index_now(self) -> Job:
        self._indexing(True)
        return self.service.reindex()

    def retry_skipped(self) -> Job:
        """Index again, reading every file that was skipped (changed or not)."""
        self._indexing(True)
        return self.service.reindex(retry_failed=True)

    def _remove_folder(self) -> None:
        for item in self.folder_list.selectedItems():
            job = self.service.remove_folder(item.text())
            job.finished.connect(self.refresh_folders)

    def _indexing(self, on: bool) -> None:
        self.cancel_index_button.setEnabled(on)
        self.index_button.setEnabled(not on)
        self.retry_button.setEnabled(not on)
        self.index_bar.setVisible(on)
        if on:
            self.index_bar.setRange(0, 0)
            self.index_label.setText("Looking for new or changed files…")

    def _index_progress(self, progress: object) -> None:
        if not isinstance(progress, IndexProgress):
            return
        self._indexing(True)
        self.index_bar.setRange(0, max(1, progress.files_total))
        self.index_bar.setValue(progress.files_done)
        eta = progress.eta_seconds
        left = f", about {rough_duration(eta)} left" if eta is not None else ""
        paused = " (paused while you talk to Hearth)" if self.service.gate.busy else ""
        self.index_label.setText(f"{progress.describe()}{left}{paused}")

    def _index_finished(self, report: object) -> None:
        self._indexing(False)
        if isinstance(report, IndexReport):
            self.index_label.setText(report.summary())
            lines = [f"{path}: {message}" for path, message in report.failed + report.notes]
            self.skipped.setPlainText("\n".join(lines))
            self.skipped.setVisible(bool(lines))
            self.retry_button.setVisible(bool(report.failed))
        self.refresh_folders()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        for job in list(self._jobs):
            job.cancel()
        super().closeEvent(event)


def kind_name(record: MemoryRecord) -> str:
    """The Kind column: a fact, a note, a conversation or a file."""
    if record.kind == "fact" and record.source == "note":
        return "Note"
    return KIND_NAMES.get(record.kind, record.kind)


def display_source(record: MemoryRecord) -> str:
    """Where a memory came from, for people: a conversation by its title and day, a file by
    its name and part, a fact as told by the user; never an id. (The model's prompt says it
    its own way: app.core.memory.describe_source.)"""
    if record.kind == "fact":
        return FACT_SOURCES.get(record.source, "You told Hearth")
    if record.kind == "document":
        path = record.extra.get("path")
        name = record.title or PurePath(str(path or record.source)).name or "A file"
        part = record.extra.get("chunk")
        return f"{name}, part {part + 1}" if isinstance(part, int) else name
    day = _day(record.created_at)
    title = " ".join(record.title.split())
    if title:
        return f"Conversation “{title}”" + (f", {day}" if day else "")
    return "A past conversation" + (f" of {day}" if day else "")


def _from_words(record: MemoryRecord) -> str:
    """What the "From" filter and tip know of a record's source: its display, and a file's
    path (the folder it is in helps find it); never a conversation's id."""
    shown = display_source(record)
    if record.kind == "document":
        path = str(record.extra.get("path") or record.source)
        return f"{shown} ({path})" if path else shown
    return shown


def _day(stamp: float) -> str:
    if not stamp:
        return ""
    local = time.localtime(stamp)
    return f"{local.tm_mday} {time.strftime('%b %Y', local)}"


def _cell(text: str, column: int) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if column == MATCH:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item
