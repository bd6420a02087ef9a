"""The GUI's single door to the assistant: turns, model changes and settings, as jobs.

The window never calls a model library or the store's engine directly: it asks this object,
which runs the work on the :class:`JobRunner` thread and answers through Qt signals.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.core.assistant import Assistant, TurnResult
from app.core.cancel import CancelToken
from app.core.errors import AssistantError
from app.core.events import AssistantEvent, EventType
from app.core.images import ImageIntake, ImageIntakeError, PreparedImage, read_attachments
from app.core.ports import ConversationStore, LanguageModel, Ocr
from app.settings import Settings
from app.workers.jobs import Emit, Job, JobRunner

log = logging.getLogger(__name__)

ModelFactory = Callable[[str, Settings], LanguageModel]


@dataclass(frozen=True, slots=True)
class ModelChoice:
    id: str
    title: str
    notes: str
    available: bool
    """Every package of the model is installed with the right size (not yet hashed)."""
    problem: str = ""


@dataclass(frozen=True, slots=True)
class ModelPrepared:
    """Result of a warm-up or model switch job."""

    name: str
    load_seconds: float


class AssistantBackend(QObject):
    status_changed = Signal(str)
    """A short sentence for the status bar: "Loading model…", "Ready"."""
    model_changed = Signal(str)
    """Display name of the model now in use."""
    error = Signal(object)
    """An AssistantError from background work that belongs to no turn (warm-up, switch)."""
    settings_changed = Signal(object)

    def __init__(
        self,
        assistant: Assistant,
        store: ConversationStore,
        settings: Settings,
        *,
        model_factory: ModelFactory,
        models: Callable[[], list[ModelChoice]],
        save_settings: Callable[[Settings], None],
        data_dir: str,
        ocr: Ocr | None = None,
        intake: ImageIntake | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.assistant = assistant
        self.store = store
        self.settings = settings
        self.data_dir = data_dir
        self._model_factory = model_factory
        self._models = models
        self._save_settings = save_settings
        self.runner = JobRunner(parent=self)
        self.image_runner = JobRunner("hearth-images", parent=self)
        """Image intake (decoding, checks) runs here, so a big photo never waits for a reply."""
        self.ocr = ocr
        self.intake = intake
        self._turn: Job | None = None

    # -- models -----------------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        return self.assistant.llm.name

    def models(self) -> list[ModelChoice]:
        return self._models()

    def warm_up(self) -> Job:
        """Load the current model and evaluate the system prefix, in the background."""
        llm = self.assistant.llm
        prompt = self.assistant.config.system_prompt

        def work(_emit: Emit, cancel: CancelToken) -> ModelPrepared | None:
            if cancel.is_cancelled():
                return None
            llm.warm_up(prompt)
            return ModelPrepared(llm.name, getattr(llm, "load_seconds", 0.0))

        self.status_changed.emit(f"Loading {llm.name}…")
        return self._background(work, "warm-up")

    def switch_model(self, model_id: str) -> Job:
        """Use another model from the next turn on, without restarting."""
        new = self._model_factory(model_id, self.settings)
        prompt = self.assistant.config.system_prompt

        def work(_emit: Emit, _cancel: CancelToken) -> ModelPrepared:
            old = self.assistant.set_language_model(new)
            if old is not new:
                old.close()
            new.warm_up(prompt)
            return ModelPrepared(new.name, getattr(new, "load_seconds", 0.0))

        self.status_changed.emit(f"Loading {new.name}…")
        self.model_changed.emit(new.name)
        return self._background(work, "switch model")

    def _background(self, work: Callable[[Emit, CancelToken], object], name: str) -> Job:
        job = self.runner.submit(work, name)
        job.succeeded.connect(self._prepared)
        job.failed.connect(self._background_failed)
        return job

    def _prepared(self, result: object) -> None:
        if isinstance(result, ModelPrepared):
            log.info("model %s ready (load %.2f s)", result.name, result.load_seconds)
            self.status_changed.emit("Ready")

    def _background_failed(self, error: object) -> None:
        self.status_changed.emit("Model unavailable")
        self.error.emit(error)

    # -- turns ----------------------------------------------------------------------------------

    def prepare_image(self, name: str, data: bytes) -> Job:
        """Check and decode an image off the GUI thread; succeeds with a PreparedImage."""

        intake = self._intake()

        def work(_emit: Emit, _cancel: CancelToken) -> PreparedImage:
            return intake.from_bytes(name, data)

        return self.image_runner.submit(work, "image intake")

    def prepare_image_file(self, path: str) -> Job:
        intake = self._intake()

        def work(_emit: Emit, _cancel: CancelToken) -> PreparedImage:
            return intake.from_file(Path(path))

        return self.image_runner.submit(work, "image intake")

    def _intake(self) -> ImageIntake:
        if self.intake is None:
            raise ImageIntakeError("Images are not available in this build of Hearth.")
        return self.intake

    def send(self, conversation_id: str, text: str, images: Sequence[PreparedImage] = ()) -> Job:
        """Start a turn; its AssistantEvents arrive through ``job.progress`` on the GUI thread.

        Attached images are read (OCR) first, on the same worker, and their text goes into the
        turn's context.
        """
        assistant = self.assistant
        ocr = self.ocr

        def work(emit: Emit, cancel: CancelToken) -> TurnResult:
            def forward(event: AssistantEvent) -> None:
                emit(event)

            attachments = read_attachments(images, ocr, cancel)
            if attachments:
                forward(
                    AssistantEvent(
                        EventType.IMAGES_READ,
                        {
                            "names": [a.name for a in attachments],
                            "texts": [a.text for a in attachments],
                        },
                    )
                )
            return assistant.turn(conversation_id, text, forward, cancel, attachments)

        job = self.runner.submit(work, "turn")
        self._turn = job
        job.finished.connect(lambda: self._turn_over(job))
        return job

    def _turn_over(self, job: Job) -> None:
        if self._turn is job:
            self._turn = None

    @property
    def busy(self) -> bool:
        return self._turn is not None

    def stop(self) -> None:
        """Cancel the turn in progress (the reply so far is kept)."""
        if self._turn is not None:
            self._turn.cancel()

    # -- settings -----------------------------------------------------------------------------

    def update_settings(self, new: Settings) -> None:
        """Save and apply; a different model or context size reloads the model in the background."""
        new = new.validated()
        old, self.settings = self.settings, new
        try:
            self._save_settings(new)
        except (OSError, AssistantError) as exc:
            log.warning("settings not saved: %s", exc)
            self.error.emit(
                exc
                if isinstance(exc, AssistantError)
                else AssistantError(f"Your settings could not be saved: {exc}", code="settings")
            )
        self.assistant.config = new.assistant_config()
        reload_fields = ("model", "context_tokens", "llm_threads")
        if any(getattr(old, f) != getattr(new, f) for f in reload_fields):
            self.switch_model(new.model)
        if dataclasses.replace(old, last_conversation="", window_geometry="") != (
            dataclasses.replace(new, last_conversation="", window_geometry="")
        ):
            self.settings_changed.emit(new)

    def remember(self, **changes: object) -> None:
        """Persist small UI state (last conversation, window geometry) without side effects."""
        self.settings = self.settings.replace(**changes)
        try:
            self._save_settings(self.settings)
        except (OSError, AssistantError) as exc:
            log.warning("could not save UI state: %s", exc)

    def shutdown(self) -> None:
        self.image_runner.shutdown()
        self.runner.shutdown()
