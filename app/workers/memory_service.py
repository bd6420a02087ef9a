"""The GUI's door to the personal memory: browsing, editing, export/import, folder indexing.

Everything runs on two worker threads: one for quick memory operations (search, delete, edit),
one for indexing, which is long and waits on the foreground gate (app.core.gate) while the
user is talking to Hearth: the two cores belong to the voice turn first.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.core.cancel import CancelToken
from app.core.documents import Indexer, IndexProgress, IndexReport
from app.core.errors import AssistantError
from app.core.gate import ForegroundGate
from app.core.memory import Memory, export_json, export_markdown, parse_export, worth_showing
from app.core.ports import MEMORY_KINDS, MemoryHit, MemoryKind, MemoryRecord
from app.fsutil import atomic_write_text
from app.workers.jobs import QUIT_WAIT_MS, Emit, Job, JobFunction, JobRunner, shutdown_together

log = logging.getLogger(__name__)


class MemoryService(QObject):
    changed = Signal()
    """What memory holds changed (a record added, edited, deleted, imported or indexed)."""
    index_progress = Signal(object)
    """An :class:`IndexProgress` snapshot while a folder is being indexed."""
    index_finished = Signal(object)
    """The :class:`IndexReport` of an indexing run (also when it was cancelled)."""
    error = Signal(object)

    def __init__(
        self,
        memory: Memory,
        indexer: Indexer,
        gate: ForegroundGate | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.memory = memory
        self.indexer = indexer
        self.runner = JobRunner("hearth-memory", parent=self)
        self.index_runner = JobRunner("hearth-index", parent=self)
        self._index_job: Job | None = None
        self.last_report: IndexReport | None = None
        """What the last indexing run did and skipped (the browser shows it when opened)."""
        self.gate = gate or ForegroundGate()
        """Indexing waits on it between batches: a turn or a recording has the cores."""

    # -- quick operations -----------------------------------------------------------------------

    def _submit(self, work: JobFunction, name: str, *, changes: bool = False) -> Job:
        job = self.runner.submit(work, name)
        job.failed.connect(self.error.emit)
        if changes:
            job.succeeded.connect(lambda _r: self.changed.emit())
        return job

    def warm_up(self) -> Job:
        """Load the text embedder and open the store in the background."""
        memory = self.memory

        def work(_emit: Emit, _cancel: CancelToken) -> int:
            memory.embedder.load()
            return memory.store.count("fact")

        return self._submit(work, "memory warm-up")

    def browse(self, kind: MemoryKind | None = None, contains: str = "", source: str = "") -> Job:
        """Records by text (``contains``) and source, oldest first; succeeds with a list."""
        store = self.memory.store
        kinds = [kind] if kind else list(MEMORY_KINDS)

        def work(_emit: Emit, _cancel: CancelToken) -> list[MemoryRecord]:
            out: list[MemoryRecord] = []
            for k in kinds:
                out += store.browse(k, contains=contains, source=source, limit=1000)
            return out

        return self._submit(work, "browse memory")

    def search(self, query: str, kind: MemoryKind | None = None) -> Job:
        """By meaning; succeeds with a list of MemoryHit, best first: only those similar
        enough to matter (:func:`worth_showing`), the nearest of the rest are noise."""
        memory = self.memory
        kinds = [kind] if kind else list(MEMORY_KINDS)

        def work(_emit: Emit, _cancel: CancelToken) -> list[MemoryHit]:
            return [hit for hit in memory.search(query, kinds) if worth_showing(hit)]

        return self._submit(work, "search memory")

    def remember(self, text: str, *, source: str = "chat", conversation_id: str = "") -> Job:
        memory = self.memory

        def work(_emit: Emit, _cancel: CancelToken) -> MemoryRecord:
            return memory.remember_fact(text, source=source, conversation_id=conversation_id)

        return self._submit(work, "remember", changes=True)

    def edit(self, record: MemoryRecord, text: str) -> Job:
        memory = self.memory

        def work(_emit: Emit, _cancel: CancelToken) -> MemoryRecord:
            return memory.edit(record, text)

        return self._submit(work, "edit memory", changes=True)

    def delete(self, records: Sequence[MemoryRecord]) -> Job:
        """Delete exactly these records; succeeds with their count. Unlike "forget ..." in a
        chat (Memory.forget_records), nothing else goes with them: the browser asked the user
        about these rows, so a fact's past turns stay, as rows of their own."""
        store = self.memory.store
        chosen = list({(r.kind, r.id): r for r in records}.values())

        def work(_emit: Emit, _cancel: CancelToken) -> int:
            for kind in MEMORY_KINDS:
                ids = [r.id for r in chosen if r.kind == kind]
                if ids:
                    store.delete(kind, ids)
            return len(chosen)

        return self._submit(work, "delete memories", changes=True)

    def export(self, path: str, fmt: str = "json") -> Job:
        """Write everything remembered to ``path`` (JSON or Markdown); succeeds with a count."""
        memory = self.memory

        def work(_emit: Emit, _cancel: CancelToken) -> int:
            records = memory.all_records()
            text = export_json(records) if fmt == "json" else export_markdown(records)
            try:
                atomic_write_text(Path(path), text)
            except OSError as exc:
                raise AssistantError(
                    f"The export could not be written to {path}: {exc.strerror or exc}",
                    code="export",
                ) from exc
            return len(records)

        return self._submit(work, "export memory")

    def import_file(self, path: str) -> Job:
        memory = self.memory

        def work(_emit: Emit, _cancel: CancelToken) -> int:
            try:
                records = parse_export(Path(path).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                message = str(exc) if isinstance(exc, ValueError) else f"{path}: {exc}"
                raise AssistantError(message, code="import") from exc
            return memory.import_records(records)

        return self._submit(work, "import memory", changes=True)

    def forget_everything(self) -> Job:
        """Every fact, remembered turn, indexed chunk and image embedding; folders too."""
        memory, indexer = self.memory, self.indexer
        self.cancel_indexing()

        def work(_emit: Emit, _cancel: CancelToken) -> None:
            memory.store.clear()
            for folder in indexer.state.folders():
                indexer.state.remove_folder(folder)

        return self._submit(work, "forget everything", changes=True)

    # -- folders --------------------------------------------------------------------------------

    def folders(self) -> list[str]:
        return self.indexer.state.folders()

    @property
    def indexing(self) -> bool:
        return self._index_job is not None

    def add_folder(self, folder: str) -> Job:
        self.indexer.state.add_folder(str(Path(folder).resolve()))
        return self.reindex()

    def remove_folder(self, folder: str) -> Job:
        indexer = self.indexer
        self.cancel_indexing()

        def work(_emit: Emit, _cancel: CancelToken) -> int:
            return indexer.remove_folder(folder)

        job = self.index_runner.submit(work, "remove folder")
        job.failed.connect(self.error.emit)
        job.succeeded.connect(lambda _r: self.changed.emit())
        return job

    def reindex(self, *, retry_failed: bool = False) -> Job:
        """Bring every added folder up to date (only new or changed files are read; with
        ``retry_failed`` also every file that was skipped)."""
        if self._index_job is not None:
            return self._index_job
        indexer = self.indexer

        def work(emit: Emit, cancel: CancelToken) -> IndexReport:
            last = [0.0]

            def progress(p: IndexProgress) -> None:
                now = time.monotonic()
                if now - last[0] >= 0.1 or p.files_done == p.files_total:
                    last[0] = now
                    emit(dataclasses.replace(p))

            return indexer.run(
                cancel=cancel,
                progress=progress,
                pause=lambda: self.gate.wait_clear(cancel),
                retry_failed=retry_failed,
            )

        job = self.index_runner.submit(work, "index folders")
        self._index_job = job
        job.progress.connect(self.index_progress.emit)
        job.succeeded.connect(self._indexed)
        job.failed.connect(self.error.emit)
        job.finished.connect(lambda: self._index_over(job))
        return job

    def _indexed(self, report: object) -> None:
        if isinstance(report, IndexReport):
            self.last_report = report
            self.index_finished.emit(report)
            if report.indexed or report.removed:
                self.changed.emit()

    def _index_over(self, job: Job) -> None:
        if self._index_job is job:
            self._index_job = None

    def cancel_indexing(self) -> None:
        if self._index_job is not None:
            self._index_job.cancel()

    def stop(self) -> None:
        """Cancel indexing and every memory job, without waiting (see :meth:`shutdown`)."""
        self.cancel_indexing()
        self.index_runner.stop()
        self.runner.stop()

    def shutdown(self, timeout_ms: int = QUIT_WAIT_MS) -> bool:
        """Stop, wait for both threads, then close the store: True if all of that happened.
        A thread still inside work that cannot be interrupted (loading the text embedder)
        after ``timeout_ms`` may still use the store, so it is left open for the process's
        end to take."""
        self.stop()
        if not shutdown_together([self.index_runner, self.runner], timeout_ms):
            return False
        self.memory.store.close()
        return True
