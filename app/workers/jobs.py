"""Run core work on a dedicated QThread and deliver its events to the GUI thread.

Modelled on napari/superqt's GeneratorWorker and Anki's QueryOp: a job is a plain function
``fn(emit, cancel) -> result`` that must not touch any widget. Whatever it emits, returns or
raises arrives, in order, as a call on the GUI thread. Jobs run one at a time, because the
models share two cores and llama.cpp contexts are not thread-safe.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.cancel import CancelToken
from app.core.errors import AssistantError, InternalError

log = logging.getLogger(__name__)

Emit = Callable[[object], None]
JobFunction = Callable[[Emit, CancelToken], object]


class Job(QObject):
    """Handle of one piece of background work; lives on the GUI thread."""

    progress = Signal(object)
    """Anything the job emitted, in order."""
    succeeded = Signal(object)
    failed = Signal(object)
    """An AssistantError (unexpected exceptions are wrapped in InternalError)."""
    finished = Signal()
    """Always last, after succeeded or failed (or when a cancelled job never started)."""

    _relay_event = Signal(object)
    _relay_done = Signal(object, object)

    def __init__(self, fn: JobFunction, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.name = name
        self.cancel_token = CancelToken()
        self.running = False
        self.done = False
        # Queued: emitted on the worker thread, delivered on this object's (GUI) thread.
        self._relay_event.connect(self._deliver_event)
        self._relay_done.connect(self._deliver_done)

    def cancel(self) -> None:
        self.cancel_token.cancel()

    # Called on the worker thread.
    def _run(self) -> None:
        if self.cancel_token.is_cancelled():
            self._relay_done.emit(None, None)
            return
        self.running = True
        result: object = None
        error: AssistantError | None = None
        try:
            result = self.fn(self._relay_event.emit, self.cancel_token)
        except AssistantError as exc:
            log.warning("job %s failed: %s\n%s", self.name, exc.message, exc.details)
            error = exc
        except Exception as exc:
            log.exception("job %s failed unexpectedly", self.name)
            error = InternalError(
                f"Something went wrong ({self.name}). The details are in the log file.",
                details="".join(traceback.format_exception(exc)),
            )
        self._relay_done.emit(result, error)

    @Slot(object)
    def _deliver_event(self, payload: object) -> None:
        self.progress.emit(payload)

    @Slot(object, object)
    def _deliver_done(self, result: object, error: object) -> None:
        self.running = False
        self.done = True
        if isinstance(error, AssistantError):
            self.failed.emit(error)
        elif not self.cancel_token.is_cancelled() or result is not None:
            self.succeeded.emit(result)
        self.finished.emit()


class _Executor(QObject):
    @Slot(object)
    def run(self, job: Job) -> None:
        job._run()


class JobRunner(QObject):
    """One worker thread that runs submitted jobs in order."""

    _submit = Signal(object)

    def __init__(self, name: str = "hearth-engine", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._executor = _Executor()
        self._executor.moveToThread(self._thread)
        self._submit.connect(self._executor.run)
        self._jobs: list[Job] = []
        self._thread.start()

    def submit(self, fn: JobFunction, name: str) -> Job:
        job = Job(fn, name, parent=self)
        self._jobs.append(job)
        job.finished.connect(lambda: self._forget(job))
        self._submit.emit(job)
        return job

    def _forget(self, job: Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
        job.deleteLater()

    @property
    def busy(self) -> bool:
        return any(not j.done for j in self._jobs)

    def cancel_all(self) -> None:
        for job in list(self._jobs):
            job.cancel()

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Cancel everything and stop the thread; True if it stopped in time."""
        self.cancel_all()
        self._thread.quit()
        stopped = self._thread.wait(timeout_ms)
        if not stopped:
            log.warning("worker thread did not stop within %d ms", timeout_ms)
        return bool(stopped)

    def is_running(self) -> bool:
        return bool(self._thread.isRunning())
