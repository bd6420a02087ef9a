"""Speech to text with faster-whisper (CTranslate2): short commands fast, long recordings whole.

beam_size=1, the language fixed when known, condition_on_previous_text off and Silero VAD on
(it ships inside faster-whisper) trim silence and keep a short command fast. Audio longer than
28 s is cut at its silences into pieces of at most 30 s, each transcribed with timestamps on,
with progress (see ``_in_pieces`` for why). Threads are set explicitly: the language model and
the voice share the same two cores.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.cancel import CancelToken
from app.core.errors import ModelCorruptError, SpeechToTextError
from app.core.files import FileRefusedError, check_regular_file
from app.core.ports import AudioClip, Transcript
from app.engines.loader import LazyModel
from app.engines.models import verified_while_loading

log = logging.getLogger(__name__)

WHISPER_RATE = 16000


LONG_CLIP_SECONDS = 28.0
"""Longer audio is transcribed in pieces (see ``_in_pieces``); a command stays one call."""
PIECE_SECONDS = 30.0
"""Whisper's window: a piece never exceeds it."""
ProgressCallback = Callable[[float, float], None]
"""(seconds transcribed, seconds in all)."""


def speech_pieces(spans: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """Speech spans (sample offsets, each at most ``limit`` long) grouped into pieces of at most
    ``limit`` samples; each cut between two pieces lies in the middle of the silence there."""
    pieces: list[list[int]] = []
    for start, end in spans:
        if pieces and end - pieces[-1][0] <= limit:
            pieces[-1][1] = end
        else:
            pieces.append([start, end])
    for before, after in itertools.pairwise(pieces):
        middle = (before[1] + after[0]) // 2
        before[1] = min(middle, before[0] + limit)
        after[0] = max(middle, after[1] - limit)
    return [(start, end) for start, end in pieces]


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
        self._model: LazyModel[Any] = LazyModel(f"speech model {name}", self._build)

    @property
    def name(self) -> str:
        return self._name

    @property
    def loaded(self) -> bool:
        return self._model.loaded

    @property
    def load_seconds(self) -> float:
        return self._model.load_seconds

    def load(self) -> None:
        self._model.get()

    def _build(self) -> Any:
        folder = self._locate()
        from faster_whisper import WhisperModel

        try:
            with verified_while_loading(self._verify):
                return WhisperModel(
                    str(folder),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=self._threads,
                    num_workers=1,
                    local_files_only=True,
                )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelCorruptError(
                f"The speech model in {folder} could not be loaded; it may be damaged. "
                "Run `hearth doctor` to check it.",
                details=repr(exc),
            ) from exc

    def transcribe(
        self,
        clip: AudioClip,
        *,
        cancel: CancelToken,
        on_progress: ProgressCallback | None = None,
    ) -> Transcript:
        return self._run(clip_to_float32(clip), clip.duration, cancel, on_progress)

    def transcribe_file(
        self, path: Path, *, cancel: CancelToken, on_progress: ProgressCallback | None = None
    ) -> Transcript:
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
        return self._run(audio, float(len(audio)) / WHISPER_RATE, cancel, on_progress)

    def _run(
        self,
        audio: Any,
        seconds: float,
        cancel: CancelToken,
        on_progress: ProgressCallback | None = None,
    ) -> Transcript:
        model = self._model.get()
        try:
            if seconds <= LONG_CLIP_SECONDS:
                texts, language, speech = self._whole(model, audio, seconds, cancel)
            else:
                texts, language, speech = self._in_pieces(
                    model, audio, seconds, cancel, on_progress
                )
        except RuntimeError as exc:
            raise SpeechToTextError(
                "Speech recognition failed. The details are in the log.", details=repr(exc)
            ) from exc
        return Transcript(
            text=" ".join(t for t in texts if t).strip(),
            language=language,
            audio_seconds=seconds,
            speech_seconds=speech,
        )

    def _whole(
        self, model: Any, audio: Any, seconds: float, cancel: CancelToken
    ) -> tuple[list[str], str, float]:
        """A command: one padded 30 s window, timestamps off (the fastest call)."""
        segments, info = model.transcribe(
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
        speech = float(getattr(info, "duration_after_vad", seconds) or 0.0)
        return texts, str(info.language), speech

    def _in_pieces(
        self,
        model: Any,
        audio: Any,
        seconds: float,
        cancel: CancelToken,
        on_progress: ProgressCallback | None,
    ) -> tuple[list[str], str, float]:
        """A long recording, cut at its silences into pieces of at most 30 s, each transcribed
        with timestamps on.

        In one call with timestamps off (the command path), a window whose speech runs to its
        edge yields a few words and the decoder then jumps a whole 30 s on: a 247 s clip lost
        whole paragraphs (375 of 668 words). With timestamps the decoder resumes at the last
        word it placed. The compression-ratio fallback is off: it fires on every window of
        repetitive speech and resamples it into invented words (a sentence said 150 times
        came back as 10 words); the log-probability fallback stays."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        spans = get_speech_timestamps(
            audio,
            VadOptions(max_speech_duration_s=PIECE_SECONDS - 1, min_silence_duration_ms=160),
        )
        pieces = speech_pieces(
            [(int(s["start"]), int(s["end"])) for s in spans], int(PIECE_SECONDS * WHISPER_RATE)
        )
        language = self.language
        texts: list[str] = []
        shown = 0.0
        for start, end in pieces:
            if cancel.is_cancelled():
                break
            segments, info = model.transcribe(
                audio[start:end],
                language=language,
                beam_size=self._beam,
                vad_filter=False,
                condition_on_previous_text=False,
                without_timestamps=False,
                compression_ratio_threshold=None,
            )
            language = language or str(info.language)  # detected once, on the first piece
            for segment in segments:
                if cancel.is_cancelled():
                    break
                texts.append(segment.text.strip())
                # A segment's end can come before the previous one's (whisper placed its
                # timestamps out of order): progress never goes back.
                shown = max(shown, min(seconds, start / WHISPER_RATE + segment.end))
                if on_progress is not None:
                    on_progress(shown, seconds)
        speech = sum(end - start for start, end in pieces) / WHISPER_RATE
        return texts, language or "", speech

    def close(self) -> None:
        self._model.close()
