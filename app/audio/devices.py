"""Microphone and speaker behind small interfaces; the Qt implementation lives in app.workers.

The core and the tests talk to :class:`Recorder` and :class:`Player`. The real devices use
QtMultimedia (it ships inside the PySide6 wheels, so nothing beyond ``make run`` is needed),
and because only app.workers and app.ui may import Qt, they live in
``app/workers/qt_audio.py``; the fakes for unit tests live in :mod:`app.audio.fake`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.core.errors import AssistantError
from app.core.ports import AudioClip
from app.core.voice import rms_level

__all__ = ["CAPTURE_RATE", "AudioDevice", "Player", "Recorder", "rms_level"]

CAPTURE_RATE = 16000
"""Whisper's rate: capturing at it avoids resampling on the way to speech recognition."""


@dataclass(frozen=True, slots=True)
class AudioDevice:
    id: str
    name: str
    default: bool = False


class Recorder(Protocol):
    def input_devices(self) -> list[AudioDevice]: ...

    def start(self, device_id: str = "") -> None:
        """Start capturing (mono, 16 kHz, 16-bit); AudioDeviceError when impossible."""
        ...

    @property
    def recording(self) -> bool: ...

    def level(self) -> float:
        """Loudness of the last ~50 ms, 0.0 (silence) to 1.0 (full scale), for meters."""
        ...

    def snapshot(self) -> AudioClip:
        """Everything captured so far, while still recording (for partial transcripts)."""
        ...

    def stop(self) -> AudioClip:
        """Stop and return the whole recording."""
        ...


class Player(Protocol):
    def output_devices(self) -> list[AudioDevice]: ...

    def set_device(self, device_id: str) -> None: ...

    def play(self, clip: AudioClip) -> None:
        """Queue a clip; clips play back to back, in order."""
        ...

    @property
    def playing(self) -> bool:
        """True while queued audio is still being played."""
        ...

    def stop(self) -> None:
        """Silence at once and drop everything queued (barge-in)."""
        ...

    def take_failure(self) -> AssistantError | None:
        """The playback failure since the last call, once (see app.core.ports.AudioOutput)."""
        ...
