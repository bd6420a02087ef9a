"""Personalization for the window: training runs, adapter versions, side-by-side answers.

Training runs in its own process (:class:`app.personalization.runner.TrainingProcess`,
never in the GUI process); a reader thread turns its progress lines into ``event`` signals
on the GUI thread. The process yields to the foreground gate (a turn or a recording stops
it). Switching adapters applies them to the live chat model through the backend's job
runner, so a switch never lands in the middle of a reply.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.cancel import CancelToken
from app.core.gate import ForegroundGate
from app.core.ports import ChatMessage
from app.personalization.adapters import AdapterVersion
from app.personalization.dataset import Example, LineProblem, split_by_time
from app.personalization.runner import TrainingProcess
from app.personalization.service import BaseModel, Personalization
from app.workers.jobs import Emit, Job, JobRunner

log = logging.getLogger(__name__)

COMPARE_TOKENS = 200


class PersonalizationController(QObject):
    training_event = Signal(object)
    """A training event (dict: step, phase, progress, resumed, done, error, exit)."""
    running_changed = Signal(bool)
    versions_changed = Signal()

    def __init__(
        self,
        service: Personalization,
        *,
        model: Callable[[], BaseModel | None],
        runner: JobRunner,
        chat_model: Callable[[], Any],
        gate: ForegroundGate | None,
        system_prompt: Callable[[], str],
        threads: int = 2,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._model = model
        self._runner = runner
        self._chat_model = chat_model
        self._gate = gate
        self._system_prompt = system_prompt
        self._threads = threads
        self.process: TrainingProcess | None = None
        self.last_report: dict[str, Any] | None = None
        self.training_event.connect(self._on_event)

    # -- the dataset ------------------------------------------------------------------------

    def listing(self) -> tuple[list[Example], set[str]]:
        """Every example, left-out ones too, and the ids the next run holds out for its test
        (the newest of those not left out), reading the history and files once."""
        examples = self.service.examples(include_excluded=True)
        kept = self.service.exclusions.apply(examples)
        return examples, {e.id for e in split_by_time(kept)[1]}

    def excluded(self, example_id: str) -> bool:
        return example_id in self.service.exclusions

    def set_excluded(self, example_id: str, excluded: bool) -> None:
        self.service.exclusions.set(example_id, excluded)

    def import_file(self, path: Path) -> tuple[list[Example], list[LineProblem]]:
        return self.service.import_file(path)

    # -- training ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None

    def model(self) -> BaseModel | None:
        return self._model()

    def start(self, **options: Any) -> str:
        """Start (or resume) training on the current data; '' or why it cannot start."""
        if self.process is not None:
            return "Training is already running."
        model = self._model()
        if model is None:
            return "The chat model is not a local model that can be personalized."
        data = self.service.dataset()
        shortfall = data.shortfall()
        if shortfall:
            return f"{shortfall} Chat more, edit or rate replies, or import a file of examples."
        job = self.service.prepare_job(
            model, data, system_prompt=self._system_prompt(), threads=self._threads, **options
        )
        self.process = TrainingProcess(job, threads=self._threads, gate=self._gate)
        self.running_changed.emit(True)
        process = self.process
        threading.Thread(
            target=self._read, args=(process,), name="training-events", daemon=True
        ).start()
        return ""

    def _read(self, process: TrainingProcess) -> None:
        for event in process.events():
            self.training_event.emit({**event, "_job": str(process.folder)})

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") == "done":
            folder = Path(str(event.get("_job")))
            try:
                version = self.service.collect(folder)
            except (OSError, ValueError, KeyError) as exc:
                log.exception("could not keep the adapter")
                self.training_event.emit(
                    {"event": "error", "message": f"The adapter could not be kept: {exc}"}
                )
                return
            self.last_report = dict(version.manifest.get("report", {}), version=version.name)
            if version.passed:
                self.apply_active()
            self.versions_changed.emit()
        elif event.get("event") == "exit":
            self.process = None
            self.running_changed.emit(False)

    def pause(self) -> None:
        if self.process is not None:
            self.process.pause()

    def resume(self) -> None:
        if self.process is not None:
            self.process.resume()

    @property
    def paused(self) -> bool:
        return self.process is not None and self.process.paused

    def cancel(self) -> None:
        if self.process is not None:
            self.process.cancel()

    def shutdown(self) -> None:
        """Hearth is quitting: stop the training process (it resumes from its checkpoint)."""
        process = self.process
        if process is not None:
            process.cancel()
            try:
                process.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.warning("the training process did not stop")

    def unfinished(self) -> bool:
        model = self._model()
        return model is not None and self.service.unfinished_job(model) is not None

    # -- versions ---------------------------------------------------------------------------

    def versions(self) -> list[AdapterVersion]:
        model = self._model()
        return self.service.adapters.versions(model.model_id) if model else []

    def active(self) -> AdapterVersion | None:
        model = self._model()
        return self.service.adapters.active(model.model_id, model.sha256) if model else None

    def use(self, version: int | None) -> Job | None:
        """Answer with adapter ``version`` (None: the base model) from the next reply on."""
        model = self._model()
        if model is None:
            return None
        self.service.adapters.use(model.model_id, version)
        self.versions_changed.emit()
        return self.apply_active()

    def delete(self, version: int) -> Job | None:
        model = self._model()
        if model is None:
            return None
        self.service.adapters.delete(model.model_id, version)
        self.versions_changed.emit()
        return self.apply_active()

    def apply_active(self) -> Job | None:
        """Put the active adapter (or none) on the live chat model, between replies."""
        active = self.active()
        llm = self._chat_model()
        if not hasattr(llm, "set_adapter"):
            return None
        path = active.gguf if active is not None else None
        scale = active.scale if active is not None else 1.0

        def work(_emit: Emit, _cancel: CancelToken) -> None:
            llm.set_adapter(path, scale)

        return self._runner.submit(work, "switch adapter")

    def compare(self, question: str, version: int) -> Job | None:
        """The base model's answer and adapter ``version``'s, side by side ((base, adapter))."""
        model = self._model()
        found = self.service.adapters.get(model.model_id, version) if model else None
        llm = self._chat_model()
        if found is None or not hasattr(llm, "set_adapter"):
            return None
        active = self.active()
        messages = [ChatMessage("system", self._system_prompt()), ChatMessage("user", question)]

        def work(_emit: Emit, cancel: CancelToken) -> tuple[str, str]:
            answers = []
            try:
                for path in (None, found.gguf):
                    llm.set_adapter(path, found.scale)
                    answers.append(
                        "".join(
                            llm.stream(
                                messages, max_tokens=COMPARE_TOKENS, temperature=0.0, cancel=cancel
                            )
                        ).strip()
                    )
            finally:
                if active is not None:
                    llm.set_adapter(active.gguf, active.scale)
                else:
                    llm.set_adapter(None)
            return answers[0], answers[1]

        return self._runner.submit(work, "compare adapter")
