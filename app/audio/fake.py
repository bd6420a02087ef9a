"""Fake microphone and speaker that implement Recorder and Player, for fast tests."""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.audio.devices import CAPTURE_RATE, AudioDevice, rms_level
from app.core.errors import AssistantError, AudioDeviceError
from app.core.ports import AudioClip


class _Callbacks:
    """The connect/emit half of a Qt signal, for a fake that is not a QObject."""

    def __init__(self) -> None:
        self._slots: list[Callable[[object], None]] = []

    def connect(self, slot: Callable[[object], None]) -> None:
        self._slots.append(slot)

    def emit(self, value: object) -> None:
        for slot in self._slots:
            slot(value)


class FakeRecorder:
    """Returns ``clip`` (cut to the time "recorded") or fails like a missing device."""

    def __init__(self, clip: AudioClip | None = None, *, missing: bool = False) -> None:
        self.clip = clip or AudioClip(b"\x00\x10" * CAPTURE_RATE, CAPTURE_RATE)
        self.missing = missing
        self.starts: list[str] = []
        self.failed = _Callbacks()
        self._recording = False

    def input_devices(self) -> list[AudioDevice]:
        return [] if self.missing else [AudioDevice("fake-mic", "Fake microphone", True)]

    def start(self, device_id: str = "") -> None:
        if self.missing:
            raise AudioDeviceError("No microphone was found. Connect one; typing keeps working.")
        self.starts.append(device_id)
        self._recording = True

    @property
    def recording(self) -> bool:
        return self._recording

    def level(self) -> float:
        return rms_level(self.clip.pcm[:3200]) if self._recording else 0.0

    def snapshot(self) -> AudioClip:
        return self.clip

    def stop(self) -> AudioClip:
        self._recording = False
        return self.clip

    def unplug(self) -> None:
        """Simulate the device disappearing mid-recording."""
        self.failed.emit(AudioDeviceError("The microphone stopped working (was it unplugged?)."))


class FakePlayer:
    """Records what it was asked to play; ``playing`` until ``finish()`` or ``stop()`` (or at
    once with ``instant``). ``fail()`` makes it lose its device, as an unplugged speaker."""

    def __init__(self, *, instant: bool = False) -> None:
        self.played: list[AudioClip] = []
        self.stops = 0
        self.device = ""
        self.instant = instant
        self._playing = False
        self._failure: AssistantError | None = None
        self._lock = threading.Lock()

    def output_devices(self) -> list[AudioDevice]:
        return [AudioDevice("fake-speaker", "Fake speaker", True)]

    def set_device(self, device_id: str) -> None:
        self.device = device_id

    def play(self, clip: AudioClip) -> None:
        with self._lock:
            self.played.append(clip)
            self._playing = not self.instant

    @property
    def playing(self) -> bool:
        return self._playing

    def finish(self) -> None:
        self._playing = False

    def stop(self) -> None:
        with self._lock:
            self.stops += 1
            self._playing = False

    def fail(self, error: AssistantError) -> None:
        self._failure = error
        self._playing = False

    def take_failure(self) -> AssistantError | None:
        failure, self._failure = self._failure, None
        return failure
