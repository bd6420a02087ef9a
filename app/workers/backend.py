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
from app.core.images import ImageIntake, ImageIntakeError, ImageServices, PreparedImage
from app.core.ports import ConversationStore, ImageEmbedder, ImageHit, LanguageModel
from app.core.voice import VoicePipeline
from app.settings import Settings
from app.workers.jobs import Emit, Job, JobRunner, report
from app.workers.memory_service import MemoryService
from app.workers.personalization import PersonalizationController
from app.workers.voice import Recording

log = logging.getLogger(__name__)

ModelFactory = Callable[[str, Settings], LanguageModel]
FilesModelFactory = Callable[[Settings], LanguageModel | None]
"""The model for typed questions about the user's files under these settings (None: the chat
model answers them), see app.bootstrap.make_files_model."""
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
    generation_tps: float = 0.0
    """Measured speed of writing an answer, tokens/s (0: not measured)."""
    prompt_tps: float = 0.0
    """Measured speed of reading the prompt (question, history, passages), tokens/s."""
    size_bytes: int = 0
    """On disk (0: not known)."""
    name: str = ""
    """What a person calls it ("" = the title)."""


@dataclass(frozen=True, slots=True)
class ModelLine:
    """One model Hearth ships, as the welcome and Help -> About list them."""

    role: str
    """What it does for the user: "Chat", "Speech to text", "Voice", "Memory search"."""
    title: str
    licence: str
    ready: bool
    """Installed whole (sizes checked, not hashed: `hearth doctor` hashes)."""
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
    settings_changed = Signal(object)

    def __init__(
        self,
        assistant: Assistant,
        store: ConversationStore,
        settings: Settings,
        *,
        model_factory: ModelFactory,
        files_model_factory: FilesModelFactory | None = None,
        models: Callable[[], list[ModelChoice]],
        save_settings: Callable[[Settings], None],
        data_dir: str,
        intake: ImageIntake | None = None,
        embedder_factory: EmbedderFactory | None = None,
        image_model_importer: ImageModelImporter | None = None,
        memory_service: MemoryService | None = None,
        installed_models: Callable[[], list[ModelLine]] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.installed_models = installed_models or (lambda: [])
        """Every model of this installation and whether it is ready (welcome, About)."""
        self.assistant = assistant
        self.store = store
        self.settings = settings
        self.data_dir = data_dir
        self._model_factory = model_factory
        self._files_model_factory = files_model_factory
        self._models = models
        self._save_settings = save_settings
        self.runner = JobRunner(parent=self)
        self.image_runner = JobRunner("hearth-images", parent=self)
        """Image intake (decoding, checks) runs here, so a big photo never waits for a reply."""
        self.intake = intake
        self._embedder_factory = embedder_factory
        if assistant.images is not None and embedder_factory is not None:
            assistant.images.embedder = embedder_factory(settings)
        self._import_image_model = image_model_importer
        self.memory_service = memory_service
        """Personal memory (None: this build or test runs without it)."""
        self.turn: Job | None = None
        """The turn in flight (the one place that knows)."""
        self._preparing: Job | None = None
        self._prepare_next: tuple[str, str] | None = None
        self.voice: VoicePipeline | None = None
        """The spoken side of turns (None: text only)."""
        self.personalization: PersonalizationController | None = None
        """Adapters trained on the user's own chats (None: not in this build or test)."""

    def attach_voice(self, voice: VoicePipeline) -> None:
        """Answer recordings through ``voice``; it shares the assistant's foreground gate."""
        voice.gate = self.assistant.gate
        self.voice = voice

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
            if not cancel.is_cancelled():
                from app.core.tools.intents import warm_up

                warm_up()  # the tools' templates and date reading: ~1 s on the first command
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

    def switch_files_model(self, settings: Settings) -> Job | None:
        """Answer questions about the user's files with the model ``settings`` choose, from
        the next turn on; it loads on its first question, not now."""
        if self._files_model_factory is None:
            return None
        new = self._files_model_factory(settings)

        def work(_emit: Emit, _cancel: CancelToken) -> None:
            old = self.assistant.set_files_model(new)
            if old is not None and old is not new:
                old.close()

        return self.runner.submit(work, "switch files model")

    def _background(self, work: Callable[[Emit, CancelToken], object], name: str) -> Job:
        job = self.runner.submit(work, name)
        job.succeeded.connect(self._prepared)
        job.failed.connect(lambda _e: self.status_changed.emit("Model unavailable"))
        return job

    def _prepared(self, result: object) -> None:
        if isinstance(result, ModelPrepared):
            log.info("model %s ready (load %.2f s)", result.name, result.load_seconds)
            self.status_changed.emit("Ready")

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

    @property
    def images(self) -> ImageServices | None:
        return self.assistant.images

    @property
    def embedder(self) -> ImageEmbedder | None:
        """The image model (None: images are read with OCR only)."""
        return self.assistant.images.embedder if self.assistant.images is not None else None

    def send(self, conversation_id: str, text: str, images: Sequence[PreparedImage] = ()) -> Job:
        """Start a turn; its AssistantEvents arrive through ``job.progress`` on the GUI thread
        (attached images are read first, in the turn)."""
        assistant = self.assistant

        def work(emit: Emit, cancel: CancelToken) -> TurnResult:
            return assistant.turn(conversation_id, text, emit, cancel, images=images)

        return self._start_turn(work)

    def voice_turn(self, conversation_id: str, recording: Recording) -> Job:
        """A spoken turn from the released recording to the last word spoken (its events
        arrive through ``job.progress``; the first is TURN_START with ``spoken``)."""
        voice, assistant = self.voice, self.assistant
        if voice is None:
            raise AssistantError("Voice is not available in this Hearth.", code="no-voice")

        def work(emit: Emit, cancel: CancelToken) -> TurnResult:
            return voice.turn(
                assistant,
                conversation_id,
                recording.clip,
                emit,
                cancel,
                partial=recording.partial,
                released_at=recording.released_at,
            )

        return self._start_turn(work)

    def prepare(self, conversation_id: str, heard: str) -> None:
        """Push-to-talk is held and ``heard`` is what was understood so far: recall and read
        the prompt now (Assistant.prepare), one at a time, the newest words next."""
        if self.turn is not None:
            return
        if self._preparing is not None:
            self._prepare_next = (conversation_id, heard)
            return
        assistant = self.assistant
        voice = self.voice

        def work(_emit: Emit, cancel: CancelToken) -> bool:
            if voice is not None:
                foreseen = assistant.foresee(conversation_id, heard)
                if foreseen is not None:  # a command: its spoken confirmation, made now
                    voice.presynthesize(foreseen, cancel)
                    return False
            return assistant.prepare(conversation_id, heard, cancel)

        job = self.runner.submit(work, "prepare turn")
        job.quiet = True  # a failed preparation costs nothing: the turn does it again
        self._preparing = job
        job.finished.connect(lambda: self._prepared_turn(job))

    def stop_preparing(self) -> None:
        """The user let go of push-to-talk: no newer words will come, so the preparation in
        flight (if any) is the last one and none waits after it."""
        self._prepare_next = None

    def _prepared_turn(self, job: Job) -> None:
        if self._preparing is job:
            self._preparing = None
        pending, self._prepare_next = self._prepare_next, None
        if pending is not None:
            self.prepare(*pending)

    def _start_turn(self, work: Callable[[Emit, CancelToken], TurnResult]) -> Job:
        # Held from now (the GUI thread) to the end, so that background work cannot start in
        # the moment between this and the turn taking the gate on the worker thread.
        gate = self.assistant.gate
        gate.hold("turn-queued")
        self._prepare_next = None
        job = self.runner.submit(work, "turn")
        job.quiet = True  # a turn reports its own failures as ERROR events
        self.turn = job
        job.finished.connect(lambda: self._turn_over(job))
        return job

    def find_images(self, query: str, limit: int = 5) -> Job:
        """Text-to-image search over the images of past conversations (needs an image model)."""
        images = self.images

        def work(_emit: Emit, _cancel: CancelToken) -> list[ImageHit]:
            if images is None:
                raise AssistantError("Images are not available here.", code="no-images")
            return images.find(query, limit)

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
        images = self.images
        if images is None or images.archive is None or not key:
            return None
        return images.archive.load(key)

    def delete_conversation(self, conversation_id: str) -> Job:
        """Delete a conversation now, then (in the background) its images and memories."""
        self.assistant.delete_conversation(conversation_id)
        assistant = self.assistant

        def work(_emit: Emit, _cancel: CancelToken) -> None:
            assistant.forget_conversation(conversation_id)

        return self.image_runner.submit(work, "forget conversation")

    def truncate(self, conversation_id: str, from_message_id: int) -> Job:
        """Remove a conversation's messages from ``from_message_id`` on now, then (in the
        background) what memory kept of them."""
        gone = self.assistant.truncate(conversation_id, from_message_id)
        assistant = self.assistant

        def work(_emit: Emit, _cancel: CancelToken) -> None:
            assistant.forget_turns(conversation_id, gone)

        return self.image_runner.submit(work, "forget edited turns")

    def set_remember(self, conversation_id: str, remember: bool) -> Job:
        """Keep a conversation's turns in memory or not (off forgets what was kept of it)."""
        assistant = self.assistant

        def work(_emit: Emit, _cancel: CancelToken) -> None:
            assistant.set_remember(conversation_id, remember)

        return self.image_runner.submit(work, "remember conversation")

    def _turn_over(self, job: Job) -> None:
        self.assistant.gate.release("turn-queued")
        if self.turn is job:
            self.turn = None

    def stop(self) -> None:
        """Cancel the turn in progress (the reply so far is kept)."""
        if self.turn is not None:
            self.turn.cancel()

    def undo(self, key: str) -> Job:
        """Reverse a handled action; succeeds with the sentence that says what was undone."""
        assistant = self.assistant

        def work(_emit: Emit, _cancel: CancelToken) -> str:
            return assistant.undo(key)

        job = self.runner.submit(work, "undo")
        service = self.memory_service
        if service is not None:
            job.succeeded.connect(lambda _r: service.changed.emit())
        return job

    # -- settings -----------------------------------------------------------------------------

    def update_settings(self, new: Settings) -> None:
        """Save and apply; a different model or context size reloads the model in the background."""
        new = new.validated()
        old, self.settings = self.settings, new
        try:
            self._save_settings(new)
        except (OSError, AssistantError) as exc:
            log.warning("settings not saved: %s", exc)
            report(
                exc
                if isinstance(exc, AssistantError)
                else AssistantError(f"Your settings could not be saved: {exc}", code="settings")
            )
        self.assistant.config = new.assistant_config()
        image_fields = ("image_model", "image_model_file", "image_model_config")
        if (
            self._embedder_factory is not None
            and any(getattr(old, f) != getattr(new, f) for f in image_fields)
            and self.assistant.images is not None
        ):
            self.assistant.images.embedder = self._embedder_factory(new)
        reload_fields = (
            "model",
            "context_tokens",
            "llm_threads",
            "model_server_url",
            "model_server_model",
            "model_server_key",
        )
        if any(getattr(old, f) != getattr(new, f) for f in reload_fields):
            self.switch_model(new.model)
        elif old.chat_system_prompt() != new.chat_system_prompt():
            self.warm_up()  # the new system prompt is read now, not at the next question
        if self._files_model_factory is not None and any(
            getattr(old, f) != getattr(new, f)
            for f in ("files_model", "model", "context_tokens", "llm_threads")
        ):
            self.switch_files_model(new)
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
        """Quit: cancel every job on every thread first, then wait for them together, then
        close the memory store. A thread still inside work that cannot be interrupted (a
        model loading) is not waited for beyond QUIT_WAIT_MS (the app then ends without it,
        see bootstrap.run_gui)."""
        from app.workers.jobs import QUIT_WAIT_MS, shutdown_together

        memory = self.memory_service
        runners = [self.runner, self.image_runner]
        if memory is not None:
            memory.stop()
            runners += [memory.index_runner, memory.runner]
        shutdown_together(runners, QUIT_WAIT_MS)
        if memory is not None:
            memory.shutdown(0)  # closes the store if nothing can use it any more
