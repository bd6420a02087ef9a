"""The one place that wires settings -> engines -> store -> Assistant -> window."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from app.core.assistant import DEFAULT_SYSTEM_PROMPT, Assistant
from app.core.cancel import CancelToken
from app.core.documents import Indexer
from app.core.errors import AssistantError, ModelError
from app.core.gate import ForegroundGate
from app.core.handlers import Handler, MemoryHandler
from app.core.images import ImageServices
from app.core.memory import Memory, remembered
from app.core.ports import (
    ImageEmbedder,
    LanguageModel,
    Ocr,
    SpeechToText,
    TextEmbedder,
    TextToSpeech,
)
from app.core.tools.alarms import AlarmBook
from app.core.tools.setup import tool_handler
from app.engines.image_intake import PillowIntake
from app.engines.llama_llm import LlamaLanguageModel
from app.engines.models import ModelRegistry
from app.engines.piper_tts import PiperTextToSpeech
from app.engines.rapid_ocr import RapidOcr
from app.engines.whisper_stt import WhisperSpeechToText
from app.filelock import APP_HOLDER, FileLock
from app.personalization.adapters import AdapterStore
from app.settings import (
    DEFAULT_MODEL,
    FAST_MODEL,
    QUALITY_MODEL,
    SERVER_MODEL,
    Paths,
    Settings,
    load_settings,
    save_settings,
)
from app.store.chroma_memory import ChromaMemory
from app.store.history import SqliteConversationStore
from app.store.image_files import ImageFiles

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.ui.main_window import MainWindow
    from app.workers.backend import AssistantBackend, ImageModelInfo, ModelChoice, ModelLine
    from app.workers.global_keys import GlobalTalkKey
    from app.workers.personalization import PersonalizationController
    from app.workers.voice import VoiceController

log = logging.getLogger(__name__)


def make_language_model(
    registry: ModelRegistry,
    model_id: str,
    settings: Settings,
    adapters: AdapterStore | None = None,
) -> LanguageModel:
    """A lazily loaded model: locating, assembling and verifying happen in load().

    With ``adapters``, the user's active personal adapter for this model (if any, and made
    for this exact file) is applied when it loads."""
    if model_id == SERVER_MODEL:
        return make_server_model(settings)
    try:
        spec = registry.spec(model_id)
    except ModelError:
        log.warning("unknown model %r in settings; using %s", model_id, DEFAULT_MODEL)
        spec = registry.spec(DEFAULT_MODEL)
    if spec.kind != "llm":
        raise ModelError(f"'{spec.title}' is not a chat model.", code="model-kind")
    llm = LlamaLanguageModel(
        lambda: registry.resolve(spec.id).path,
        name=spec.title,
        n_ctx=settings.context_tokens,
        n_threads=settings.llm_threads,
        verify=registry.verifier(spec.id),
    )
    if adapters is not None:
        active = adapters.active(spec.id, spec.files[0].sha256)
        if active is not None:
            llm.set_adapter(active.gguf, active.scale)
    return llm


def make_personalization(
    paths: Paths, core: Core, backend: AssistantBackend
) -> PersonalizationController:
    """The Personalization page's controller: trains for the chat model in use."""
    from app.personalization.service import BaseModel, Personalization
    from app.workers.personalization import PersonalizationController as Controller

    known: dict[str, BaseModel | None] = {}

    def model() -> BaseModel | None:
        """The chat model in use; located once per model (the page asks on every refresh,
        and locating takes the registry's file lock and checks every part)."""
        model_id = backend.settings.model
        if model_id == SERVER_MODEL:
            return None
        if model_id not in known:
            try:
                spec = core.registry.spec(model_id)
                path = core.registry.resolve(model_id).path
                known[model_id] = BaseModel(spec.id, spec.title, path, spec.files[0].sha256)
            except AssistantError:
                return None  # not cached: the package may be installed later
        return known[model_id]

    return Controller(
        Personalization(paths.data_dir, paths.cache_dir, core.store),
        model=model,
        runner=backend.runner,
        chat_model=lambda: core.assistant.llm,
        gate=core.gate,
        system_prompt=lambda: backend.settings.system_prompt or DEFAULT_SYSTEM_PROMPT,
        threads=backend.settings.llm_threads,
        parent=backend,
    )


def adapter_store(paths: Paths) -> AdapterStore:
    """The user's personal adapters (app.personalization.adapters)."""
    return AdapterStore(paths.data_dir / "personalization" / "adapters")


def make_files_model(registry: ModelRegistry, settings: Settings) -> LanguageModel | None:
    """The model for typed questions about the user's files (Settings.files_model), or None
    when the chat model answers them: "off", the quality model not installed, or a chat
    model that is already that one or one the user serves on their network."""
    choice = settings.files_model
    if choice == "off" or settings.model == SERVER_MODEL:
        return None
    model_id = QUALITY_MODEL if choice == "auto" else choice
    if model_id == settings.model or not registry.is_available(model_id):
        return None
    try:
        if registry.spec(model_id).kind != "llm":
            return None
    except ModelError:
        return None
    return make_language_model(registry, model_id, settings)


def make_server_model(settings: Settings) -> LanguageModel:
    """The chat model on the user's own server; the privacy guard lets exactly its host and
    port through (nothing connects until load())."""
    from app.engines.openai_llm import OpenAILanguageModel
    from app.privacy import GUARD

    llm = OpenAILanguageModel(
        settings.model_server_url,
        model=settings.model_server_model,
        api_key=settings.model_server_key,
        n_ctx=settings.context_tokens,
    )
    if llm.host is not None and llm.port is not None:
        GUARD.allow(llm.host, llm.port)  # the one address the user chose
    return llm


def make_speech_to_text(registry: ModelRegistry, model_id: str, settings: Settings) -> SpeechToText:
    spec = registry.spec(model_id)
    if spec.kind != "stt":
        raise ModelError(f"'{spec.title}' is not a speech-to-text model.", code="model-kind")
    return WhisperSpeechToText(
        lambda: registry.resolve(spec.id).directory,
        name=spec.title,
        language="en" if spec.id.endswith(".en") else None,
        cpu_threads=settings.llm_threads,
        verify=registry.verifier(spec.id),
    )


def make_text_to_speech(registry: ModelRegistry, voice_id: str) -> TextToSpeech:
    spec = registry.spec(voice_id)
    if spec.kind != "tts":
        raise ModelError(f"'{spec.title}' is not a voice.", code="model-kind")
    onnx = next(f.name for f in spec.files if f.name.endswith(".onnx"))
    return PiperTextToSpeech(
        lambda: registry.resolve(spec.id).directory,
        name=spec.title,
        voice_file=onnx,
        threads=1,
        verify=registry.verifier(spec.id),
    )


@dataclass
class Core:
    paths: Paths
    settings: Settings
    registry: ModelRegistry
    store: SqliteConversationStore
    assistant: Assistant
    memory: Memory
    memory_store: ChromaMemory
    """The same store as ``memory.store``, which also keeps image embeddings."""
    gate: ForegroundGate
    """Held by turns, recordings and speech; indexing (and later training) waits on it."""
    alarms: AlarmBook
    """Timers and reminders, kept in the data folder."""


def build_core(paths: Paths, settings: Settings | None = None) -> Core:
    settings = settings or load_settings(paths.settings_file)
    registry = ModelRegistry(paths.models_cache)
    store = SqliteConversationStore(paths.history_db)
    llm = make_language_model(registry, settings.model, settings, adapter_store(paths))
    memory = build_memory(paths, settings, registry)
    chroma = memory.store
    assert isinstance(chroma, ChromaMemory)
    gate = ForegroundGate()
    images = ImageServices(
        RapidOcr(), ImageFiles(paths.images_dir), make_image_embedder(settings), lambda: chroma
    )
    alarms = build_alarms(paths)
    chat_model: list[Assistant] = []  # the assistant's model at each use (it can be switched)
    handlers: list[Handler] = [
        MemoryHandler(memory),
        tool_handler(alarms, remember=note_remembers(memory), model=lambda: chat_model[0].llm),
    ]
    assistant = Assistant(
        llm,
        store,
        settings.assistant_config(),
        memory,
        images=images,
        gate=gate,
        handlers=handlers,
    )
    chat_model.append(assistant)
    assistant.set_files_model(make_files_model(registry, settings))
    return Core(paths, settings, registry, store, assistant, memory, chroma, gate, alarms)


def note_remembers(memory: Memory) -> Callable[[str], Callable[[], None] | None]:
    """Notes are memories too (source "note"), so recall finds them; undo forgets them."""

    def remember(text: str) -> Callable[[], None] | None:
        try:
            record = memory.remember_fact(text, source="note")
        except AssistantError as exc:
            log.warning("note not kept in memory: %s", exc.message)
            return None
        return lambda: memory.forget_records([record])

    return remember


def apply_start_at_login(settings: object) -> None:
    """Write or remove the XDG autostart entry as the setting says (a failure is logged: the
    setting stays, and the next start tries again)."""
    from app import autostart

    wanted = bool(getattr(settings, "start_at_login", False))
    if wanted == autostart.is_enabled() and not wanted:
        return
    try:
        autostart.set_enabled(wanted)
    except OSError as exc:
        log.warning("start at login not %s: %s", "set" if wanted else "removed", exc)


def build_alarms(paths: Paths) -> AlarmBook:
    """Timers and reminders in the data folder, on the machine's clock and zone."""
    from app.core.tools.clock import SystemClock
    from app.store.tools_db import SqliteToolStore

    return AlarmBook(SqliteToolStore(paths.tools_db), SystemClock())


def build_memory(paths: Paths, settings: Settings, registry: ModelRegistry | None = None) -> Memory:
    """Memory over the configured store (nothing is loaded or opened until first use)."""
    registry = registry or ModelRegistry(paths.models_cache)
    return Memory(make_text_embedder(registry, settings), open_memory_store(paths, settings))


def make_indexer(paths: Paths, memory: Memory, ocr: Ocr | None = None) -> Indexer:
    """The folder indexer; scanned PDFs are read by ``ocr`` (the images' own, in the app; it
    loads on the first scan only)."""
    from app.engines.document_reader import LocalDocumentReader
    from app.store.index_state import SqliteIndexState

    return Indexer(
        LocalDocumentReader(ocr or RapidOcr()),
        memory.embedder,
        memory.store,
        SqliteIndexState(paths.index_db),
    )


TEXT_EMBEDDER = "all-minilm-l6-v2"


def make_text_embedder(registry: ModelRegistry, settings: Settings) -> TextEmbedder:
    from app.engines.text_embedder import SentenceEmbedder

    spec = registry.spec(TEXT_EMBEDDER)
    return SentenceEmbedder(
        lambda: registry.resolve(spec.id).directory,
        name=spec.title,
        verify=registry.verifier(spec.id),
    )


def open_memory_store(paths: Paths, settings: Settings) -> ChromaMemory:
    """The embedded store in the data folder, or the shared server from the settings.

    Nothing connects yet: chroma is imported and opened on first use, off the GUI thread."""
    if settings.memory_server.strip():
        store = ChromaMemory.server(settings.memory_server.strip())
        from app.privacy import GUARD

        GUARD.allow(store.host)  # the one address the user chose; loopback needs nothing
        return store
    return ChromaMemory.open(paths.memory_dir)


def availability(registry: ModelRegistry, model_id: str) -> tuple[bool, str]:
    """Whether the model is installed whole (sizes, no hashing) and, when not, what to do."""
    if registry.is_available(model_id):
        return True, ""
    try:
        registry.resolve(model_id)  # fails at once, with the message naming what to install
    except ModelError as exc:
        return False, exc.message
    return False, ""


def chat_model_choices(registry: ModelRegistry) -> list[ModelChoice]:
    """The chat models of the manifest as the settings dialog lists them: what each is good
    at, its measured speed, and whether it is installed (or what to install)."""
    from app.workers.backend import ModelChoice

    out = []
    for spec in registry.of_kind("llm"):
        ok, problem = availability(registry, spec.id)
        out.append(
            ModelChoice(
                spec.id,
                spec.title,
                spec.notes,
                ok,
                problem,
                generation_tps=spec.generation_tps,
                prompt_tps=spec.prompt_tps,
                size_bytes=spec.size,
                name=spec.name,
            )
        )
    return out


MODEL_ROLES = {
    "llm": "Chat",
    "stt": "Speech to text",
    "tts": "Voice",
    "text-embedding": "Memory search",
}


def model_lines(registry: ModelRegistry, settings: Settings) -> list[ModelLine]:
    """Every model of this installation, the ones in use first (cheap: sizes, no hashing)."""
    from app.workers.backend import ModelLine

    in_use = {settings.model, FAST_MODEL, settings.stt_model, settings.voice}
    lines = []
    for spec in sorted(registry.models.values(), key=lambda m: m.id not in in_use):
        ready, problem = availability(registry, spec.id)
        role = MODEL_ROLES.get(spec.kind, spec.kind)
        if spec.id == settings.model:
            role += " (in use)"
        lines.append(ModelLine(role, spec.title, spec.licence, ready, problem))
    return lines


def run_gui(paths: Paths, *, warm_up: bool = True, background: bool = False) -> int:
    """Start the desktop app; returns the process exit code. ``background``: start in the
    tray without a window (at login), ready to ring timers and reminders."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.ui.main_window import MainWindow
    from app.ui.single_instance import ActivationServer, ask_running_instance_to_activate
    from app.ui.theme import ASSETS, apply_theme
    from app.workers.backend import AssistantBackend
    from app.workers.memory_service import MemoryService
    from app.workers.voice import VoiceOptions

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Hearth")
    app.setApplicationDisplayName("Hearth")
    app.setDesktopFileName("io.hearth.Hearth")
    icon = ASSETS / "icons" / "hearth.svg"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))

    lock = FileLock(paths.lock_file)
    if not lock.acquire(holder=APP_HOLDER):
        if ask_running_instance_to_activate(paths.data_dir):
            print("Hearth is already running; its window was brought to the front.")
            return 0
        owner = lock.owner()
        if owner is not None and not owner.is_app:
            title = "Hearth's data folder is in use"
            text = (
                f"{owner.describe()} is using Hearth's data folder {paths.data_dir}. "
                "Open Hearth again when it has finished, or stop it."
            )
        else:
            title = "Hearth is already running"
            text = (
                f"Hearth is already running{f' (process {owner.pid})' if owner else ''} with "
                f"the data folder {paths.data_dir}. Switch to its window, or close it first."
            )
        QMessageBox.information(None, title, text)
        return 1

    try:
        core = build_core(paths)
    except AssistantError as exc:
        log.error("cannot start: %s\n%s", exc.message, exc.details)
        QMessageBox.critical(None, "Hearth cannot start", exc.message)
        lock.release()
        return 1
    apply_theme(app, core.settings.theme)

    backend = AssistantBackend(
        core.assistant,
        core.store,
        core.settings,
        model_factory=lambda model_id, s: make_language_model(
            core.registry, model_id, s, adapter_store(paths)
        ),
        files_model_factory=lambda s: make_files_model(core.registry, s),
        models=lambda: chat_model_choices(core.registry),
        save_settings=lambda s: save_settings(paths.settings_file, s),
        data_dir=str(paths.data_dir),
        intake=PillowIntake(),
        embedder_factory=make_image_embedder,
        memory_service=MemoryService(
            core.memory, make_indexer(paths, core.memory, core.assistant.images_ocr()), core.gate
        ),
        image_model_importer=lambda arch, file, config, progress, cancel: import_image_model(
            arch, file, config, progress, cancel, models_dir=paths.image_models_dir
        ),
        installed_models=lambda: model_lines(core.registry, backend.settings),
    )
    voice = build_voice(core.registry, core.settings)

    def voice_settings(new: object) -> None:
        if voice is None or not isinstance(new, Settings):
            return
        if new.stt_model != voice.stt_model_id:
            voice.use_speech_to_text(
                make_speech_to_text(core.registry, new.stt_model, new), new.stt_model
            )
        voice.apply(VoiceOptions.from_settings(new))

    backend.settings_changed.connect(voice_settings)
    backend.settings_changed.connect(apply_start_at_login)
    apply_start_at_login(core.settings)  # the entry follows the setting (and this launcher)
    if voice is not None:
        backend.attach_voice(voice.pipeline)  # one foreground gate: the core's
    from app.workers.alarms import AlarmScheduler

    alarms = AlarmScheduler(core.alarms)
    backend.personalization = make_personalization(paths, core, backend)
    window = MainWindow(backend, voice, alarms)
    server = ActivationServer(paths.data_dir)
    if not server.listen():
        log.warning("could not listen for a second launch; it will show a message instead")

    server.activation_requested.connect(window.bring_back)
    server.request_received.connect(lambda request, reply: answer_request(backend, request, reply))
    global_keys = start_global_talk_key(window, core.settings)
    _close_on_signals(window)
    if background:
        window.start_in_background()
    else:
        window.show()
        window.show_welcome_if_new()
    alarms.start()  # what came due while Hearth was closed shows now
    if warm_up:
        backend.warm_up()
        if voice is not None:
            voice.warm_up()
    code = 1
    try:
        code = int(app.exec())
        return code
    finally:
        # Closing the window cancelled every job and stopped the threads that could stop.
        if global_keys is not None:
            global_keys.stop()
        server.close()
        working = still_working(backend, voice)
        if not working:  # nothing can use the engines and the store any more
            core.store.close()
            core.assistant.llm.close()
            if core.assistant.files_llm is not None:
                core.assistant.files_llm.close()
        lock.release()
        if working:
            end_without_waiting(code, working)


def still_working(backend: AssistantBackend, voice: VoiceController | None) -> list[str]:
    """Worker threads still running after the window closed: each is inside work that
    cannot be interrupted (a model loading), which quitting did not wait for."""
    runners = [backend.runner, backend.image_runner]
    if backend.memory_service is not None:
        runners += [backend.memory_service.index_runner, backend.memory_service.runner]
    if voice is not None:
        runners.append(voice.runner)
    return [runner.name for runner in runners if runner.is_running()]


def end_without_waiting(code: int, working: list[str]) -> NoReturn:
    """End the process now, leaving ``working`` threads unfinished. Python's own ending would
    destroy their QThreads while they run, which Qt answers with an abort. Nothing is lost:
    the stores are built to survive a kill at any moment (SQLite WAL, atomic writes)."""
    log.warning("quitting without waiting for %s (busy loading)", ", ".join(working))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def start_global_talk_key(window: MainWindow, settings: Settings) -> GlobalTalkKey | None:
    """The talk shortcut from anywhere on the desktop, fed to the window's talk keys (which
    merge it with the window's own key events); None where the platform does not allow it."""
    if window.voice is None or not settings.global_talk_key:
        return None
    from app.workers.global_keys import GlobalTalkKey

    keys = GlobalTalkKey(settings.talk_shortcut)
    reason = keys.start()
    if reason:
        log.info("push-to-talk works inside the window only: %s", reason)
        return None
    window.talk_keys.attach(keys)
    window.backend.settings_changed.connect(
        lambda new: keys.set_shortcut(new.talk_shortcut) if isinstance(new, Settings) else None
    )
    return keys


def answer_request(backend: AssistantBackend, request: object, reply: Callable[..., None]) -> None:
    """A request from another Hearth process of this user (app.ui.single_instance): today,
    `hearth ask "remember that ..."`, which cannot open the memory while the window has it."""
    service = backend.memory_service
    if not isinstance(request, dict) or request.get("request") != "remember":
        reply({"ok": False, "message": "The running Hearth does not know that request."})
        return
    text = str(request.get("text", "")).strip()
    if service is None or not text:
        reply({"ok": False, "message": "The running Hearth cannot keep memories."})
        return
    job = service.remember(text, source="command line")

    def done(record: object) -> None:
        backend.status_changed.emit(f"Remembered (asked from the command line): {text}")
        reply({"ok": True, "message": remembered(text)})

    job.succeeded.connect(done)
    job.failed.connect(
        lambda exc: reply({"ok": False, "message": getattr(exc, "message", str(exc))})
    )


def make_image_embedder(settings: Settings) -> ImageEmbedder | None:
    """The configured image model, or None (Hearth then reads images with OCR only).

    Construction is cheap: the checkpoint is loaded on the first image, off the GUI thread.
    """
    if not (settings.image_model and settings.image_model_file):
        return None
    from app.engines.clip_embedder import ClipEmbedder

    config = Path(settings.image_model_config) if settings.image_model_config else None
    return ClipEmbedder(
        settings.image_model, Path(settings.image_model_file), config_file=config, threads=2
    )


def import_image_model(
    architecture: str,
    checkpoint: Path,
    config_file: Path | None,
    progress: Callable[[float, str], None],
    cancel: CancelToken,
    *,
    models_dir: Path,
) -> ImageModelInfo:
    from app.engines.clip_embedder import import_checkpoint
    from app.workers.backend import ImageModelInfo

    imported = import_checkpoint(
        architecture,
        checkpoint,
        models_dir,
        config_file=config_file,
        progress=progress,
        cancel=cancel,
    )
    return ImageModelInfo(
        imported.architecture,
        str(imported.checkpoint),
        str(imported.config_file or ""),
        imported.dimensions,
        imported.load_seconds,
    )


def build_voice(registry: ModelRegistry, settings: Settings) -> VoiceController | None:
    """Microphone, speaker and speech models; None (text only) when a model is missing."""
    from app.workers.qt_audio import QtPlayer, QtRecorder
    from app.workers.voice import VoiceController, VoiceOptions

    try:
        stt = make_speech_to_text(registry, settings.stt_model, settings)
        tts = make_text_to_speech(registry, settings.voice)
    except ModelError as exc:
        log.warning("voice disabled: %s", exc.message)
        return None
    player = QtPlayer()
    player.set_device(settings.output_device)
    controller = VoiceController(
        QtRecorder(), player, stt, tts, options=VoiceOptions.from_settings(settings)
    )
    controller.stt_model_id = settings.stt_model
    return controller


def _close_on_signals(window: QWidget) -> None:
    """SIGTERM and Ctrl+C close the window like the user would: state saved, threads stopped."""
    import signal

    from PySide6.QtCore import QTimer

    def close(_sig: int, _frame: object) -> None:
        QTimer.singleShot(0, getattr(window, "quit", window.close))  # quits, alarms or not

    signal.signal(signal.SIGTERM, close)
    signal.signal(signal.SIGINT, close)
    # Python only runs signal handlers when it holds control; wake it up regularly.
    tick = QTimer(window)
    tick.timeout.connect(lambda: None)
    tick.start(250)
