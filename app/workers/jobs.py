"""Run core work on a dedicated QThread and deliver its events to the GUI thread.

Modelled on napari/superqt's GeneratorWorker and Anki's QueryOp: a job is a plain function
``fn(emit, cancel) -> result`` that must not touch any widget. Whatever it emits, returns or
raises arrives, in order, as a call on the GUI thread. Jobs run one at a time, because the
models share two cores and llama.cpp contexts are not thread-safe.

Every failure reaches the user: a job whose caller did not take its failure
(:meth:`Job.on_failure`) and that is not ``quiet`` hands the error to :data:`FAILURES`, which
the window shows as one notification. No call site can forget to report.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.cancel import CancelToken
from app.core.errors import AssistantError, InternalError

log = logging.getLogger(__name__)

QUIT_WAIT_MS = 1000
"""How long quitting waits for cancelled jobs to stop. Every job stops at its next yield (a
token, a sentence, a segment, a file) well within it; one still running after that is inside
work nothing can interrupt (a model loading), and quitting does not wait for it."""

Emit = Callable[[object], None]
JobFunction = Callable[[Emit, CancelToken], object]


class FailureRoute(QObject):
    failed = Signal(object)
    """The AssistantError of a job nobody else took; the window shows it."""


FAILURES = FailureRoute()
"""The app-wide default failure route (see the module docstring)."""


def report(error: AssistantError) -> None:
    """Tell the user about a failure outside any job (the same single route)."""
    FAILURES.failed.emit(error)


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
        """The worker thread is inside ``fn`` (named when a quit cannot wait for it)."""
        self.done = False
        self.quiet = False
        """A failure costs nothing worth telling (a partial transcript): only logged."""
        self._taken = False
        # Queued: emitted on the worker thread, delivered on this object's (GUI) thread.
        self._relay_event.connect(self._deliver_event)
        self._relay_done.connect(self._deliver_done)

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def on_failure(self, handler: Callable[[AssistantError], None]) -> Job:
        """The caller reports this job's failure itself (instead of the default route)."""
        self._taken = True
        self.failed.connect(handler)
        return self

    # Called on the worker thread.
    def _run(self) -> None:
        if self.cancel_token.is_cancelled():
            self._relay_done.emit(None, None)
            return
        self.running = True
        result: object = None
        error: AssistantError | None = None
        started = time.monotonic()
        log.debug("job %s started at %.3f", self.name, started)
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
        log.debug("job %s took %.3f s", self.name, time.monotonic() - started)
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
            if not (self._taken or self.quiet):
                FAILURES.failed.emit(error)
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
        """Some job is queued or running."""
        return any(not j.done for j in self._jobs)

    def cancel_all(self) -> None:
        for job in list(self._jobs):
            job.cancel()

    def stop(self) -> None:
        """Cancel everything and let the thread end after the job it is in; no waiting."""
        self.cancel_all()
        self._thread.quit()

    def wait(self, timeout_ms: int) -> bool:
        """After :meth:`stop`: True once the thread has ended, False if it still runs."""
        stopped = bool(self._thread.wait(max(0, timeout_ms)))
        if not stopped:
            busy = [job.name for job in self._jobs if job.running]
            log.warning(
                "%s still busy with %s %d ms after it was asked to stop",
                self._thread.objectName(),
                ", ".join(busy) or "a job",
                timeout_ms,
            )
        return stopped

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Cancel everything and stop the thread; True if it stopped in time."""
        self.stop()
        return self.wait(timeout_ms)

    def is_running(self) -> bool:
        return bool(self._thread.isRunning())

    @property
    def name(self) -> str:
        return self._thread.objectName()


def shutdown_together(runners: Iterable[JobRunner], timeout_ms: int = QUIT_WAIT_MS) -> bool:
    """Cancel every runner's jobs first, then wait for all their threads within one
    ``timeout_ms``; True if all of them stopped."""
    runners = list(runners)
    for runner in runners:
        runner.stop()
    deadline = time.monotonic() + timeout_ms / 1000
    stopped = True
    for runner in runners:
        left = round((deadline - time.monotonic()) * 1000)
        stopped = runner.wait(left) and stopped
    return stopped
