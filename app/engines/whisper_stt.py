"""Speech to text with faster-whisper (CTranslate2), tuned for short spoken commands.

beam_size=1, the language fixed when known, condition_on_previous_text off and Silero VAD on
(it ships inside faster-whisper) trim silence and keep a short command fast. Threads are set
explicitly: the language model and the voice share the same two cores.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.cancel import CancelToken
from app.core.errors import AssistantError, ModelCorruptError
from app.core.files import FileRefusedError, check_regular_file
from app.core.ports import AudioClip, Transcript
from app.engines.models import verified_while_loading

log = logging.getLogger(__name__)

WHISPER_RATE = 16000


class SpeechToTextError(AssistantError):
    code = "stt"


def clip_to_float32(clip: AudioClip) -> Any:
    """16-bit PCM at any rate -> float32 numpy array at 16 kHz (linear resampling)."""
    import numpy as np

    samples = np.frombuffer(clip.pcm, dtype="<i2").astype(np.float32) / 32768.0
    if clip.sample_rate == WHISPER_RATE or samples.size == 0:
        return samples
    duration = samples.size / clip.sample_rate
    target = max(1, round(duration * WHISPER_RATE))
    positions = np.linspace(0.0, samples.size - 1, num=target, dtype=np.float64)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


class WhisperSpeechToText:
    """:class:`app.core.ports.SpeechToText` backed by faster-whisper."""

    def __init__(
        self,
        model_dir: Path | Callable[[], Path],
        *,
        name: str,
        language: str | None = "en",
        cpu_threads: int = 2,
        beam_size: int = 1,
        vad: bool = True,
        verify: Callable[[], None] | None = None,
    ) -> None:
        self._locate = model_dir if callable(model_dir) else (lambda: Path(model_dir))
        self._verify = verify
        self._name = name
        self.language = language
        self._threads = cpu_threads
        self._beam = beam_size
        self._vad = vad
        self._model: Any = None
        self._lock = threading.Lock()
        self.load_seconds = 0.0

    @property
    def name(self) -> str:
        return self._name

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            folder = self._locate()
            started = time.monotonic()
            from faster_whisper import WhisperModel

            try:
                with verified_while_loading(self._verify):
                    model = WhisperModel(
                        str(folder),
                        device="cpu",
                        compute_type="int8",
                        cpu_threads=self._threads,
                        num_workers=1,
                        local_files_only=True,
                    )
                self._model = model
            except (RuntimeError, ValueError, OSError) as exc:
                raise ModelCorruptError(
                    f"The speech model in {folder} could not be loaded; it may be damaged. "
                    "Run `hearth doctor` to check it.",
                    details=repr(exc),
                ) from exc
            self.load_seconds = time.monotonic() - started
            log.info("loaded speech model %s in %.2f s", folder.name, self.load_seconds)

    def transcribe(self, clip: AudioClip, *, cancel: CancelToken) -> Transcript:
        return self._run(clip_to_float32(clip), clip.duration, cancel)

    def transcribe_file(self, path: Path, *, cancel: CancelToken) -> Transcript:
        """Any audio file PyAV can decode (wav, mp3, ogg, m4a, ...); regular files only."""
        from faster_whisper import decode_audio

        try:
            check_regular_file(path)
        except FileRefusedError as exc:
            raise SpeechToTextError(exc.message, code="audio-file") from exc
        except OSError as exc:
            raise SpeechToTextError(
                f"{path.name} cannot be read: {exc.strerror or exc}.", code="audio-file"
            ) from exc
        try:
            audio = decode_audio(str(path), sampling_rate=WHISPER_RATE)
        except Exception as exc:  # PyAV raises a zoo of error types, with raw FFmpeg errnos
            raise SpeechToTextError(
                f"{path.name} is not audio Hearth can read: it is damaged, empty, or in a "
                "format this computer has no decoder for.",
                code="audio-file",
                details=repr(exc),
            ) from exc
        return self._run(audio, float(len(audio)) / WHISPER_RATE, cancel)

    def _run(self, audio: Any, seconds: float, cancel: CancelToken) -> Transcript:
        self.load()
        try:
            segments, info = self._model.transcribe(
                audio,
                language=self.language,
                beam_size=self._beam,
                vad_filter=self._vad,
                condition_on_previous_text=False,
                without_timestamps=True,
            )
            texts: list[str] = []
            for segment in segments:  # lazy: decoding happens while iterating
                if cancel.is_cancelled():
                    break
                texts.append(segment.text.strip())
        except RuntimeError as exc:
            raise SpeechToTextError(
                "Speech recognition failed. The details are in the log.", details=repr(exc)
            ) from exc
        speech = float(getattr(info, "duration_after_vad", seconds) or 0.0)
        return Transcript(
            text=" ".join(t for t in texts if t).strip(),
            language=str(info.language),
            audio_seconds=seconds,
            speech_seconds=speech,
        )

    def close(self) -> None:
        with self._lock:
            self._model = None
