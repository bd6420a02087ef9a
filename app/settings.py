"""Settings as a frozen dataclass, stored as JSON with a schema version, saved atomically.

Where things live (platformdirs, overridable for tests and portable installs):
- data: conversations, settings, logs   -> ``HEARTH_DATA_DIR`` or the platform data dir
- cache: models assembled from parts      -> ``HEARTH_CACHE_DIR`` or the platform cache dir
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import platformdirs

from app.core.answer_style import LENGTHS, TONES, AnswerStyle, system_prompt_with
from app.core.assistant import DEFAULT_SYSTEM_PROMPT, AssistantConfig
from app.fsutil import atomic_write_text

log = logging.getLogger(__name__)

APP_NAME = "Hearth"
SCHEMA_VERSION = 2
DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"
FAST_MODEL = "smollm2-135m-instruct"
QUALITY_MODEL = "qwen2.5-coder-1.5b-instruct"
MODEL_ALIASES = {"default": DEFAULT_MODEL, "fast": FAST_MODEL, "quality": QUALITY_MODEL}
SERVER_MODEL = "server"
"""``model`` for a chat model served on the user's network (``model_server_url``)."""
DEFAULT_STT = "whisper-tiny.en"
STT_ALIASES = {"tiny": DEFAULT_STT, "tiny.en": DEFAULT_STT, "base": "whisper-base"}
STT_CHOICES = {
    DEFAULT_STT: "Whisper tiny (English, fastest)",
    "whisper-base": "Whisper base (multilingual)",
}
DEFAULT_VOICE = "piper-en_US-joe-medium"
Theme = Literal["system", "light", "dark"]
THEMES: tuple[Theme, ...] = ("system", "light", "dark")


@dataclass(frozen=True, slots=True)
class Paths:
    data_dir: Path
    """Conversations, settings, logs and the single-instance lock."""
    cache_dir: Path
    """Models assembled from split packages; safe to delete (rebuilt on demand)."""

    @classmethod
    def default(cls, data_dir: Path | None = None) -> Paths:
        data = (
            data_dir
            or _env_path("HEARTH_DATA_DIR")
            or Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        )
        cache = _env_path("HEARTH_CACHE_DIR") or Path(
            platformdirs.user_cache_dir(APP_NAME, appauthor=False)
        )
        return cls(data_dir=data.expanduser().resolve(), cache_dir=cache.expanduser().resolve())

    @property
    def settings_file(self) -> Path:
        return self.data_dir / "settings.json"

    @property
    def history_db(self) -> Path:
        return self.data_dir / "history.sqlite3"

    @property
    def images_dir(self) -> Path:
        """Attached images, by content hash (so conversations show them after a restart)."""
        return self.data_dir / "images"

    @property
    def image_models_dir(self) -> Path:
        """Image model checkpoints the user imported (Settings → Image model)."""
        return self.data_dir / "image-models"

    @property
    def memory_dir(self) -> Path:
        """The personal store (chromadb)."""
        return self.data_dir / "memory"

    @property
    def index_db(self) -> Path:
        """Which files of the user's folders are in memory (for incremental indexing)."""
        return self.data_dir / "index.sqlite3"

    @property
    def tools_db(self) -> Path:
        """Timers, reminders, notes and the calendar."""
        return self.data_dir / "tools.sqlite3"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "hearth.lock"

    @property
    def models_cache(self) -> Path:
        return self.cache_dir / "models"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value) if value else None


@dataclass(frozen=True, slots=True)
class Settings:
    schema_version: int = SCHEMA_VERSION
    model: str = DEFAULT_MODEL
    """Registry id of the chat model (see models/manifest.toml)."""
    files_model: str = "auto"
    """Who answers a typed question about the user's files: "auto" is the quality model
    (QUALITY_MODEL) when it is installed and the chat model is a smaller local one; "off" is
    the chat model; or a registry id. Spoken questions stay on the chat model (fast). On the
    evaluation set (bench/answers.py, 76 answerable and 15 unanswerable questions) the quality
    model answered 70% right against 57% for the default model, with 1 invented answer in 15
    against 0, and its first token after 9.6 s instead of 6.1 s (median, 2 cores)."""
    theme: Theme = "system"
    llm_threads: int = 2
    """CPU threads for the language model; the machine's other work shares the rest."""
    context_tokens: int = 4096
    """Context window requested from the model; history beyond it is dropped, oldest first."""
    max_reply_tokens: int = 512
    temperature: float = 0.2
    """How varied replies are: 0 the same words every time, 1 and more ever freer."""
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    answer_name: str = ""
    """How Hearth should answer (Settings -> Chat): the name to call the user..."""
    answer_tone: str = ""
    """...a tone (see app.core.answer_style.TONES)..."""
    answer_language: str = ""
    """...a language ("" = the one the user writes in)..."""
    answer_length: str = ""
    """...a length (app.core.answer_style.LENGTHS)..."""
    answer_instructions: str = ""
    """...and anything else, in the user's words."""
    stt_model: str = DEFAULT_STT
    """Registry id of the speech-to-text model."""
    voice: str = DEFAULT_VOICE
    """Registry id of the text-to-speech voice."""
    speech_rate: float = 1.0
    """Speaking rate: 1.0 is the voice's own pace, 1.5 is half again as fast."""
    speech_volume: float = 1.0
    mute: bool = False
    """Do not speak replies to spoken questions."""
    review_transcript: bool = False
    """Put what was heard in the composer to check, instead of sending it at once."""
    max_recording_seconds: float = 60.0
    talk_shortcut: str = "Ctrl+Space"
    """Hold to talk (in the window, and from anywhere where the platform allows it)."""
    global_talk_key: bool = True
    """Listen for the shortcut while other windows have focus (X11, Windows, macOS)."""
    image_model: str = ""
    """open_clip architecture of the imported image model ("" = none: OCR only)."""
    image_model_file: str = ""
    """The imported checkpoint (a copy inside the data folder)."""
    image_model_config: str = ""
    """Optional open_clip model config (JSON) for an architecture open_clip does not know."""
    start_at_login: bool = False
    """Start Hearth in the background when the desktop session begins (an XDG autostart
    entry), so reminders ring even when the window was never opened."""
    memory_enabled: bool = True
    """Recall memories in every answer and keep each turn in memory."""
    memory_server: str = ""
    """A shared Chroma server (e.g. http://192.168.1.20:8000) instead of the embedded store
    in the data folder; the one address Hearth will connect to besides this computer."""
    model_server_url: str = ""
    """With ``model = "server"``: an OpenAI-compatible server on the user's network
    (llama.cpp's llama-server, Ollama, vLLM), e.g. http://192.168.1.20:8080; the chat goes
    there, and Hearth connects to that host and port only."""
    model_server_model: str = ""
    """The model name to ask that server for ("" = the first it lists)."""
    model_server_key: str = field(default="", repr=False)
    """The server's API key, if it wants one (sent as a bearer token)."""
    input_device: str = ""
    """Microphone id ("" for the system default)."""
    output_device: str = ""
    welcome_seen: bool = False
    """The first-run welcome was shown (finished or skipped): it never shows again."""
    last_conversation: str = ""
    """Reopened at start."""
    window_geometry: str = field(default="", repr=False)
    """Base64 of QWidget.saveGeometry()."""

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def answer_style(self) -> AnswerStyle:
        return AnswerStyle(
            self.answer_name,
            self.answer_tone,
            self.answer_language,
            self.answer_length,
            self.answer_instructions,
        )

    def chat_system_prompt(self) -> str:
        """The system prompt of every chat turn: Hearth's rules, then the user's style."""
        return system_prompt_with(self.system_prompt, self.answer_style())

    def assistant_config(self) -> AssistantConfig:
        return AssistantConfig(
            system_prompt=self.chat_system_prompt(),
            max_reply_tokens=self.max_reply_tokens,
            temperature=self.temperature,
            use_memory=self.memory_enabled,
        )

    def validated(self) -> Settings:
        """Clamp out-of-range values to something that works."""
        theme: Theme = self.theme if self.theme in THEMES else "system"
        return dataclasses.replace(
            self,
            model=MODEL_ALIASES.get(self.model, self.model),
            files_model=MODEL_ALIASES.get(self.files_model, self.files_model) or "off",
            system_prompt=(
                DEFAULT_SYSTEM_PROMPT
                if self.system_prompt in PREVIOUS_SYSTEM_PROMPTS
                else self.system_prompt
            ),
            theme=theme,
            answer_tone=self.answer_tone if self.answer_tone in TONES else "",
            answer_length=self.answer_length if self.answer_length in LENGTHS else "",
            llm_threads=max(1, min(64, int(self.llm_threads))),
            context_tokens=max(512, min(32768, int(self.context_tokens))),
            max_reply_tokens=max(16, min(4096, int(self.max_reply_tokens))),
            temperature=max(0.0, min(2.0, float(self.temperature))),
            stt_model=STT_ALIASES.get(self.stt_model, self.stt_model),
            speech_rate=max(0.5, min(2.0, float(self.speech_rate))),
            speech_volume=max(0.0, min(2.0, float(self.speech_volume))),
        )


PREVIOUS_SYSTEM_PROMPTS = (
    "You are Hearth, a helpful assistant running entirely on the user's own computer. "
    "Answer clearly and concisely. Use Markdown for lists and code.",
)
"""Defaults of earlier versions: a saved copy of one is the default, not the user's own."""


def _from_schema_1(raw: dict[str, Any]) -> dict[str, Any]:
    """Hearth 0.1 (schema 1) had no first-run welcome: whoever already has settings has
    used Hearth, so the welcome is for new users only."""
    return {**raw, "welcome_seen": raw.get("welcome_seen", True)}


# Migrations from schema N to N+1, applied in order to the raw JSON dict.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_schema_1}


def load_settings(path: Path) -> Settings:
    """Read settings; a missing file gives defaults, a broken one is kept aside, never lost."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("settings file is not a JSON object")
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        backup = path.with_name(f"{path.name}.broken-{int(time.time())}")
        try:
            path.replace(backup)
            log.warning("settings file unreadable (%s); kept as %s, using defaults", exc, backup)
        except OSError:
            log.warning("settings file unreadable (%s); using defaults", exc)
        return Settings()
    version = int(raw.get("schema_version", 1))
    while version in MIGRATIONS:
        raw = MIGRATIONS[version](raw)
        version += 1
    raw["schema_version"] = SCHEMA_VERSION
    known = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    defaults = Settings()
    for key, value in raw.items():
        if key not in known:
            continue
        default = getattr(defaults, key)
        if isinstance(default, bool):
            wrong_type = not isinstance(value, bool)
        elif isinstance(default, float):
            wrong_type = isinstance(value, bool) or not isinstance(value, int | float)
        else:
            wrong_type = isinstance(value, bool) or not isinstance(value, type(default))
        if wrong_type:
            log.warning("setting %s has an unexpected value %r; using the default", key, value)
            continue
        values[key] = float(value) if isinstance(default, float) else value
    return Settings(**values).validated()


def save_settings(path: Path, settings: Settings) -> None:
    atomic_write_text(path, json.dumps(dataclasses.asdict(settings), indent=2, sort_keys=True))
