"""The Personalization page: what the adapter learns, training with a live loss plot, and
the adapter versions (switch, compare side by side, roll back, delete)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.durations import rough_duration
from app.personalization.dataset import Example
from app.workers.personalization import PersonalizationController

SOURCE_NAMES = {
    "edited": "You edited",
    "good": "Marked good",
    "kept": "Kept",
    "file": "From a file",
    "anchor": "General",
}
PHASES = {
    "anchors": "Asking the base model general questions (to keep its general answers)",
    "prepare": "Preparing the model for training",
    "train": "Training",
    "evaluate": "Testing the adapter against the base model",
}


class LossPlot(QWidget):
    """Training loss per step, drawn as a line (with a smoothed line over it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.losses: list[float] = []
        self.total = 0
        self.setMinimumHeight(140)
        self.setAccessibleName("Training loss")

    def set_losses(self, losses: list[float], total: int) -> None:
        self.losses = list(losses)
        self.total = max(total, len(losses))
        self.setToolTip(
            f"Loss after step {len(losses)}: {losses[-1]:.3f}" if losses else "No steps yet"
        )
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = self.rect().adjusted(40, 8, -8, -20)
        text = self.palette().text().color()
        painter.setPen(QPen(text, 1))
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        painter.drawLine(area.bottomLeft(), area.topLeft())
        if not self.losses:
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "The loss appears here")
            return
        top, bottom = max(self.losses), min(0.0, *self.losses)
        span = max(top - bottom, 1e-6)
        painter.drawText(2, area.top() + 10, f"{top:.2f}")
        painter.drawText(2, area.bottom(), f"{bottom:.1f}")
        painter.drawText(
            area.right() - 60, self.rect().bottom() - 4, f"step {len(self.losses)}/{self.total}"
        )

        def point(index: int, value: float) -> QPointF:
            x = area.left() + area.width() * index / max(1, self.total - 1)
            y = area.bottom() - area.height() * (value - bottom) / span
            return QPointF(x, y)

        raw = QPolygonF([point(i, v) for i, v in enumerate(self.losses)])
        painter.setPen(QPen(QColor(150, 150, 150), 1))
        painter.drawPolyline(raw)
        smooth, average = [], self.losses[0]
        for value in self.losses:
            average = 0.7 * average + 0.3 * value
            smooth.append(average)
        painter.setPen(QPen(self.palette().highlight().color(), 2))
        painter.drawPolyline(QPolygonF([point(i, v) for i, v in enumerate(smooth)]))
        # A legend in the lines' own colours, top right.
        metrics = painter.fontMetrics()
        right = area.right()
        for label, colour in (
            ("trend", self.palette().highlight().color()),
            ("each step", QColor(150, 150, 150)),
        ):
            width = metrics.horizontalAdvance(label)
            painter.setPen(QPen(colour, 2))
            painter.drawText(right - width, area.top() + metrics.ascent(), label)
            right -= width + 16


class PersonalizationDialog(QDialog):
    def __init__(
        self, controller: PersonalizationController, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Personalization")
        self.resize(860, 620)
        self.losses: list[float] = []
        self.total_steps = 0
        self.examples: list[Example] = []
        """What the table shows (read again by :meth:`refresh_examples`)."""
        layout = QVBoxLayout(self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.tabs = QTabWidget(self)
        layout.addWidget(self.tabs)
        self._build_train_tab()
        self._build_data_tab()
        self._build_versions_tab()
        controller.training_event.connect(self._on_event)
        controller.running_changed.connect(self._running_changed)
        controller.versions_changed.connect(self.refresh_versions)
        self.refresh()

    # -- train -------------------------------------------------------------------------------

    def _build_train_tab(self) -> None:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self.summary = QLabel(page)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        buttons = QHBoxLayout()
        self.train_button = QPushButton("&Train an adapter", page)
        self.train_button.clicked.connect(self.train)
        self.pause_button = QPushButton("&Pause", page)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QPushButton("&Cancel training", page)
        self.cancel_button.clicked.connect(self.controller.cancel)
        for button in (self.train_button, self.pause_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.progress = QProgressBar(page)
        self.progress.setTextVisible(True)
        layout.addWidget(self.progress)
        self.progress_label = QLabel(page)
        layout.addWidget(self.progress_label)
        self.plot = LossPlot(page)
        layout.addWidget(self.plot, 1)
        self.verdict = QLabel(page)
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.verdict)
        self.tabs.addTab(page, "Train")

    def train(self) -> None:
        self.losses = []
        self.plot.set_losses([], 0)
        self.verdict.setText("")
        problem = self.controller.start()
        if problem:
            self.verdict.setText(problem)

    def toggle_pause(self) -> None:
        if self.controller.paused:
            self.controller.resume()
            self.pause_button.setText("&Pause")
            self.progress_label.setText("Training continues…")
        else:
            self.controller.pause()
            self.pause_button.setText("&Resume")
            self.progress_label.setText("Paused: the computer is yours. Resume when you like.")

    def _running_changed(self, running: bool) -> None:
        self._set_buttons(running)
        if not running:
            self.progress.setRange(0, 1)
            self.refresh_examples()
            self.refresh_versions()

    def _set_buttons(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.pause_button.setText("&Resume" if self.controller.paused else "&Pause")

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "phase":
            phase = str(event.get("phase", ""))
            self.progress_label.setText(PHASES.get(phase, phase) + "…")
            if phase == "train":
                self.total_steps = int(event.get("total", 0))
                self.losses = [float(x) for x in event.get("losses", [])]
                self.progress.setRange(0, self.total_steps)
                self.progress.setValue(int(event.get("step", 0)))
                self.plot.set_losses(self.losses, self.total_steps)
            else:
                self.progress.setRange(0, int(event.get("total", 0) or 0))
        elif kind == "progress":
            self.progress.setRange(0, int(event.get("total", 0)))
            self.progress.setValue(int(event.get("done", 0)))
        elif kind == "resumed":
            self.progress_label.setText(
                f"Resuming at step {event.get('step')} of {event.get('total')}…"
            )
        elif kind == "step":
            self.losses.append(float(event["loss"]))
            self.total_steps = int(event["total"])
            self.progress.setRange(0, self.total_steps)
            self.progress.setValue(int(event["step"]))
            self.plot.set_losses(self.losses, self.total_steps)
            left = float(event.get("eta", 0.0))
            self.progress_label.setText(
                f"Step {event['step']} of {event['total']} · loss {float(event['loss']):.3f} · "
                f"about {rough_duration(left)} left · "
                f"{float(event.get('tokens_per_second', 0)):.0f} tokens/s"
            )
        elif kind == "done":
            report = self.controller.last_report or event.get("report", {})
            self.verdict.setText(_verdict_text(report))
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            self.progress_label.setText(
                f"Finished: {report.get('steps', 0)} steps in "
                f"{rough_duration(float(report.get('train_seconds', 0.0)))}, then tested."
            )
        elif kind == "error":
            self.verdict.setText(f"Training stopped: {event.get('message')}")
            self.progress_label.setText("Stopped.")
        elif kind == "exit" and event.get("cancelled"):
            self.progress_label.setText(
                "Cancelled. What was learned so far is kept: Train resumes from the last "
                "checkpoint."
            )
        elif kind == "exit" and event.get("code") not in (0, None):
            self.verdict.setText(
                "The training process stopped unexpectedly. Train resumes from the last checkpoint."
            )

    # -- data --------------------------------------------------------------------------------

    def _build_data_tab(self) -> None:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        note = QLabel(
            "These replies teach the adapter how you like to be answered: length, tone and form. "
            "Untick any you do not want learned. Facts stay in memory, not in the adapter.",
            page,
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        self.table = QTableWidget(0, 5, page)
        self.table.setHorizontalHeaderLabels(
            ["Learn", "From", "When", "You asked", "Reply it learns"]
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._item_changed)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.import_button = QPushButton("&Import examples (JSONL)…", page)
        self.import_button.clicked.connect(self.import_file)
        row.addWidget(self.import_button)
        self.import_note = QLabel(page)
        self.import_note.setWordWrap(True)
        row.addWidget(self.import_note, 1)
        layout.addLayout(row)
        self.tabs.addTab(page, "What it learns")

    def refresh_examples(self) -> None:
        self.table.blockSignals(True)
        examples, held = self.controller.listing()
        self.examples = examples
        self.table.setRowCount(len(examples))
        for index, example in enumerate(examples):
            learn = QTableWidgetItem()
            learn.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            learn.setCheckState(
                Qt.CheckState.Unchecked
                if self.controller.excluded(example.id)
                else Qt.CheckState.Checked
            )
            learn.setData(Qt.ItemDataRole.UserRole, example.id)
            self.table.setItem(index, 0, learn)
            when = (
                time.strftime("%d %b %H:%M", time.localtime(example.created_at))
                if example.source != "file"
                else example.title
            )
            source = SOURCE_NAMES.get(example.source, example.source)
            if example.id in held:
                source += " · for the test"
            for column, text in enumerate(
                (
                    source,
                    when,
                    example.question,
                    example.target,
                ),
                start=1,
            ):
                item = QTableWidgetItem(" ".join(text.split())[:300])
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                item.setToolTip(text[:2000])
                self.table.setItem(index, column, item)
        self.table.blockSignals(False)

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        example_id = str(item.data(Qt.ItemDataRole.UserRole))
        self.controller.set_excluded(example_id, item.checkState() != Qt.CheckState.Checked)
        self._summarise()

    def import_file(self, path: str = "") -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import examples", str(Path.home()), "Chat examples (*.jsonl);;All files (*)"
            )
        if not path:
            return
        try:
            found, problems = self.controller.import_file(Path(path))
        except OSError as exc:
            self.import_note.setText(f"{Path(path).name} could not be read: {exc.strerror or exc}")
            return
        text = f"{len(found)} examples read from {Path(path).name}."
        if problems:
            shown = "; ".join(str(p) for p in problems[:3])
            more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
            text += f" Skipped {len(problems)} line(s): {shown}{more}."
        self.import_note.setText(text)
        self.refresh()

    # -- versions ----------------------------------------------------------------------------

    def _build_versions_tab(self) -> None:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self.versions = QListWidget(page)
        self.versions.currentRowChanged.connect(lambda _row: self._version_buttons())
        layout.addWidget(self.versions, 1)
        self.version_note = QLabel(page)
        self.version_note.setWordWrap(True)
        layout.addWidget(self.version_note)
        buttons = QHBoxLayout()
        self.use_button = QPushButton("&Use this", page)
        self.use_button.clicked.connect(self.use_selected)
        self.delete_button = QPushButton("&Delete…", page)
        self.delete_button.clicked.connect(self.delete_selected)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        compare_row = QHBoxLayout()
        self.question = QLineEdit(page)
        self.question.setPlaceholderText(
            "A question to compare the base model and the selected adapter"
        )
        self.question.returnPressed.connect(self.compare)
        self.compare_button = QPushButton("C&ompare", page)
        self.compare_button.clicked.connect(self.compare)
        compare_row.addWidget(self.question, 1)
        compare_row.addWidget(self.compare_button)
        layout.addLayout(compare_row)
        answers = QHBoxLayout()
        self.base_answer = QPlainTextEdit(page)
        self.adapter_answer = QPlainTextEdit(page)
        for box, title in (
            (self.base_answer, "Base model"),
            (self.adapter_answer, "With the adapter"),
        ):
            box.setReadOnly(True)
            column = QVBoxLayout()
            column.addWidget(QLabel(title, page))
            column.addWidget(box)
            answers.addLayout(column)
        layout.addLayout(answers, 1)
        self.tabs.addTab(page, "Versions")

    def refresh_versions(self) -> None:
        active = self.controller.active()
        model = self.controller.model()
        current = self.versions.currentItem()
        chosen = current.data(Qt.ItemDataRole.UserRole) if current is not None else False
        self.versions.clear()
        base = QListWidgetItem("Base model, no adapter" + ("  [in use]" if active is None else ""))
        base.setData(Qt.ItemDataRole.UserRole, None)
        self.versions.addItem(base)
        for version in reversed(self.controller.versions()):
            report = version.manifest.get("report", {})
            marks = []
            if active is not None and active.version == version.version:
                marks.append("in use")
            if model is not None and version.stale(model.sha256):
                marks.append("made for another model file: retrain")
            marks.append("passed the test" if version.passed else "did not pass the test")
            if version.passed and version.scale < 1:
                marks.append(f"used at {version.scale:.0%} strength")
            made = time.strftime("%d %b %Y %H:%M", time.localtime(version.created))
            item = QListWidgetItem(
                f"{version.name} · {made} · loss {report.get('held_out_loss_base', 0):.2f} → "
                f"{report.get('held_out_loss_adapter', 0):.2f} · "
                f"style {report.get('style_base', 0):.2f} → "
                f"{report.get('style_adapter', 0):.2f}  [{'; '.join(marks)}]"
            )
            item.setToolTip(version.reason)
            item.setData(Qt.ItemDataRole.UserRole, version.version)
            self.versions.addItem(item)
        for row in range(self.versions.count()):  # keep the row chosen before (Use, Compare)
            if self.versions.item(row).data(Qt.ItemDataRole.UserRole) == chosen:
                self.versions.setCurrentRow(row)
        self._version_buttons()
        self._summarise()

    def _selected(self) -> int | None:
        item = self.versions.currentItem()
        value = None if item is None else item.data(Qt.ItemDataRole.UserRole)
        return value if isinstance(value, int) else None

    def _version_buttons(self) -> None:
        selected = self.versions.currentItem() is not None
        version = self._selected()
        found = next((v for v in self.controller.versions() if v.version == version), None)
        self.version_note.setText(found.reason if found is not None else "")
        self.use_button.setEnabled(selected)
        self.delete_button.setEnabled(version is not None)
        self.compare_button.setEnabled(version is not None)

    def use_selected(self) -> None:
        if self.versions.currentItem() is None:
            return
        self.controller.use(self._selected())

    def delete_selected(self) -> None:
        version = self._selected()
        if version is None:
            return
        answer = QMessageBox.question(
            self, "Delete adapter", f"Delete adapter v{version}? This cannot be undone."
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.controller.delete(version)

    def compare(self) -> None:
        version = self._selected()
        question = self.question.text().strip()
        if version is None or not question:
            return
        job = self.controller.compare(question, version)
        if job is None:
            return
        self.base_answer.setPlainText("Answering…")
        self.adapter_answer.setPlainText("")
        self.compare_button.setEnabled(False)
        job.succeeded.connect(self._compared)
        job.failed.connect(
            lambda error: self.base_answer.setPlainText(str(getattr(error, "message", error)))
        )
        job.finished.connect(lambda: self.compare_button.setEnabled(True))

    def _compared(self, result: object) -> None:
        if isinstance(result, tuple) and len(result) == 2:
            self.base_answer.setPlainText(str(result[0]))
            self.adapter_answer.setPlainText(str(result[1]))

    # -- all ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.refresh_examples()
        self.refresh_versions()
        self._set_buttons(self.controller.running)

    def _summarise(self) -> None:
        model = self.controller.model()
        active = self.controller.active()
        if model is None:
            self.status.setText(
                "The chat model is served elsewhere, so it cannot be personalized here."
            )
            self.train_button.setEnabled(False)
            return
        self.status.setText(
            f"{model.name}: "
            + (
                f"answering with your adapter {active.name}."
                if active
                else "answering with the base model."
            )
        )
        examples = [e for e in self.examples if not self.controller.excluded(e.id)]
        counts: dict[str, int] = {}
        for example in examples:
            counts[example.source] = counts.get(example.source, 0) + 1
        parts = [f"{n} {SOURCE_NAMES[s].lower()}" for s, n in counts.items() if n]
        self.summary.setText(
            f"{len(examples)} examples to learn from"
            + (f" ({', '.join(parts)})" if parts else "")
            + ". The newest fifth is held out to test the adapter against the base model; an "
            "adapter that is not better on them, or that breaks general answers, is kept but not "
            "switched on."
        )
        if not self.controller.running:
            self.train_button.setText(
                "&Resume training" if self.controller.unfinished() else "&Train an adapter"
            )

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        # Training goes on in its own process; closing the page does not stop it.
        super().closeEvent(event)


class EditReplyDialog(QDialog):
    """*Edit reply*: the reply as the user wanted it (what the adapter learns from)."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit reply")
        self.resize(560, 320)
        layout = QVBoxLayout(self)
        note = QLabel(
            "Write the reply the way you would have liked it. Hearth keeps your version in this "
            "conversation and learns your style from it when you train an adapter.",
            self,
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        self.editor = QPlainTextEdit(self)
        self.editor.setPlainText(text)
        layout.addWidget(self.editor, 1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def text(self) -> str:
        return self.editor.toPlainText().strip()


def _verdict_text(report: dict[str, Any]) -> str:
    name = report.get("version", "The adapter")
    if report.get("passed"):
        return f"{name} passed and is now in use. {report.get('reason', '')}"
    return f"{name} is kept but not switched on: {report.get('reason', '')}"
