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
from app.core.images import (
    ImageArchive,
    ImageIntake,
    ImageIntakeError,
    PreparedImage,
    find_images,
    read_attachments,
    remember_images,
    stored_images,
)
from app.core.ports import (
    Attachment,
    ConversationStore,
    ImageEmbedder,
    ImageHit,
    ImageMemory,
    LanguageModel,
    Ocr,
)
from app.settings import Settings
from app.workers.jobs import Emit, Job, JobRunner
from app.workers.memory_service import MemoryService

log = logging.getLogger(__name__)

ModelFactory = Callable[[str, Settings], LanguageModel]
EmbedderFactory = Callable[[Settings], ImageEmbedder | None]


@dataclass(frozen=True, slots=True)
class ImageModelInfo:
    """An image model checkpoint that was copied into Hearth's folder and proven to work."""

    architecture: str
    checkpoint: str
    config_file: str
    dimensions: int
    load_seconds: float


ImageModelImporter = Callable[
    [str, Path, Path | None, Callable[[float, str], None], CancelToken], ImageModelInfo
]


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
        archive: ImageArchive | None = None,
        embedder_factory: EmbedderFactory | None = None,
        image_memory: Callable[[], ImageMemory] | None = None,
        image_model_importer: ImageModelImporter | None = None,
        memory_service: MemoryService | None = None,
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
        self.archive = archive
        """Attached images are kept here so conversations show them after a restart."""
        self._embedder_factory = embedder_factory
        self.embedder = embedder_factory(settings) if embedder_factory else None
        """The image model (None: images are read with OCR only)."""
        self._import_image_model = image_model_importer
        self.memory_service = memory_service
        """Personal memory (None: this build or test runs without it)."""
        self._open_image_memory = image_memory
        self._image_memory: ImageMemory | None = None
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
        job = self._background(work, "warm-up")
        if self.memory_service is not None and self.settings.memory_enabled:
            # After the chat model (same cores): the text embedder and the store, then any
            # folder changes made while Hearth was closed.
            memory = self.memory_service
            job.finished.connect(lambda: (memory.warm_up(), memory.reindex()))
        return job

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
        ocr, embedder, archive = self.ocr, self.embedder, self.archive

        def work(emit: Emit, cancel: CancelToken) -> TurnResult:
            def forward(event: AssistantEvent) -> None:
                emit(event)

            def reading(index: int, total: int, name: str) -> None:
                forward(
                    AssistantEvent(
                        EventType.IMAGES_READING, {"index": index, "total": total, "name": name}
                    )
                )

            attachments = read_attachments(
                images,
                ocr,
                cancel,
                embedder=embedder,
                archive=archive,
                on_progress=reading,
                on_problem=self.error.emit,
            )
            if attachments:
                forward(
                    AssistantEvent(
                        EventType.IMAGES_READ,
                        {
                            "names": [a.name for a in attachments],
                            "texts": [a.text for a in attachments],
                            "looks_like": [list(a.looks_like) for a in attachments],
                        },
                    )
                )
            result = assistant.turn(conversation_id, text, forward, cancel, attachments)
            if embedder is not None and any(a.embedding for a in attachments):
                self._remember_images(attachments, conversation_id, embedder)
            return result

        job = self.runner.submit(work, "turn")
        self._turn = job
        if self.memory_service is not None:
            self.memory_service.hold("turn")  # indexing waits: the cores are the turn's
        job.finished.connect(lambda: self._turn_over(job))
        return job

    def _remember_images(
        self, attachments: Sequence[Attachment], conversation_id: str, embedder: ImageEmbedder
    ) -> None:
        """Index the turn's images for text-to-image search; a failure costs only the search."""
        try:
            memory = self.image_memory()
            if memory is not None:
                remember_images(attachments, conversation_id, embedder, memory)
        except AssistantError as exc:
            log.warning("images not kept for search: %s", exc.message)
            self.error.emit(exc)

    def image_memory(self) -> ImageMemory | None:
        """The store for image search, opened on first use (worker threads only)."""
        if self._image_memory is None and self._open_image_memory is not None:
            self._image_memory = self._open_image_memory()
        return self._image_memory

    def find_images(self, query: str, limit: int = 5) -> Job:
        """Text-to-image search over the images of past conversations (needs an image model)."""
        embedder = self.embedder

        def work(_emit: Emit, _cancel: CancelToken) -> list[ImageHit]:
            if embedder is None:
                raise AssistantError(
                    "Searching images by description needs an image model: add one in "
                    "Settings → Image model.",
                    code="no-image-model",
                )
            memory = self.image_memory()
            return [] if memory is None else find_images(query, embedder, memory, limit)

        return self.image_runner.submit(work, "image search")

    @property
    def can_import_image_models(self) -> bool:
        return self._import_image_model is not None

    def import_image_model(self, architecture: str, checkpoint: str, config_file: str = "") -> Job:
        """Copy and verify a checkpoint; progress is (fraction, step); succeeds with an
        :class:`ImageModelInfo`, after which the caller saves it in the settings."""
        importer = self._import_image_model
        if importer is None:
            raise AssistantError("Image models cannot be added in this build.", code="image-model")

        def work(emit: Emit, cancel: CancelToken) -> ImageModelInfo:
            return importer(
                architecture,
                Path(checkpoint),
                Path(config_file) if config_file else None,
                lambda fraction, step: emit((fraction, step)),
                cancel,
            )

        return self.image_runner.submit(work, "import image model")

    def use_image_model(self, info: ImageModelInfo | None) -> None:
        """Start using an imported image model (None: back to OCR only)."""
        self.update_settings(
            self.settings.replace(
                image_model=info.architecture if info else "",
                image_model_file=info.checkpoint if info else "",
                image_model_config=info.config_file if info else "",
            )
        )

    def load_image(self, key: str) -> bytes | None:
        """A kept image by its key (small local read; None if it is gone)."""
        return self.archive.load(key) if self.archive is not None and key else None

    def delete_conversation(self, conversation_id: str) -> None:
        """Delete a conversation, then (in the background) its images and memories."""
        self.store.delete_conversation(conversation_id)
        store, archive = self.store, self.archive

        def work(_emit: Emit, _cancel: CancelToken) -> None:
            if archive is not None:
                used = {
                    image.file
                    for conv in store.list_conversations()
                    for message in store.messages(conv.id)
                    for image in stored_images(message.meta)
                }
                archive.prune(used)
            if self.memory_service is not None:
                self.memory_service.memory.forget_conversation(conversation_id)
            if self._image_memory is not None or self.embedder is not None:
                memory = self.image_memory()
                if memory is not None:
                    memory.forget_conversation(conversation_id)

        job = self.image_runner.submit(work, "forget conversation")
        job.failed.connect(self.error.emit)

    def _turn_over(self, job: Job) -> None:
        if self._turn is job:
            self._turn = None
            if self.memory_service is not None:
                self.memory_service.release("turn")

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
        image_fields = ("image_model", "image_model_file", "image_model_config")
        if self._embedder_factory is not None and any(
            getattr(old, f) != getattr(new, f) for f in image_fields
        ):
            self.embedder = self._embedder_factory(new)
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
        if self.memory_service is not None:
            self.memory_service.shutdown()
        self.image_runner.shutdown()
        self.runner.shutdown()
