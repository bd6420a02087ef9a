"""QtMultimedia microphone and speaker (the real :mod:`app.audio.devices` implementations).

Both run on the GUI thread's event loop: capture arrives in small chunks via readyRead and
playback is fed by a 20 ms timer, so neither does more than copy bytes there.
"""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QByteArray, QIODevice, QObject, Qt, QThread, QTimer, Signal
from PySide6.QtMultimedia import (
    QAudioDevice,
    QAudioFormat,
    QAudioSink,
    QAudioSource,
    QMediaDevices,
    QtAudio,
)

from app.audio.devices import CAPTURE_RATE, AudioDevice, rms_level
from app.core.errors import AssistantError, AudioDeviceError
from app.core.ports import AudioClip

log = logging.getLogger(__name__)

CAPTURE_BUFFER_SECONDS = 4
"""Audio the microphone stream keeps while the event loop is busy elsewhere."""

LEVEL_WINDOW = CAPTURE_RATE // 20 * 2  # bytes in 50 ms


def _device_id(device: QAudioDevice) -> str:
    return bytes(device.id().data()).decode("utf-8", "replace")


def _describe(devices: list[QAudioDevice], default: QAudioDevice) -> list[AudioDevice]:
    default_id = _device_id(default) if not default.isNull() else ""
    return [
        AudioDevice(_device_id(d), d.description(), _device_id(d) == default_id) for d in devices
    ]


def _pick(
    devices: list[QAudioDevice], default: QAudioDevice, wanted: str, missing: str
) -> QAudioDevice:
    """The wanted device, else the system default, else the first; AudioDeviceError if none."""
    for device in devices:
        if wanted and _device_id(device) == wanted:
            return device
    if default.isNull() and devices:
        default = devices[0]
    if default.isNull():
        raise AudioDeviceError(missing)
    if wanted:
        log.warning("audio device %s not found; using %s", wanted, default.description())
    return default


def _format(rate: int) -> QAudioFormat:
    fmt = QAudioFormat()
    fmt.setSampleRate(rate)
    fmt.setChannelCount(1)
    fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
    return fmt


class QtRecorder(QObject):
    """Microphone capture, mono 16 kHz 16-bit."""

    failed = Signal(object)
    """An AudioDeviceError while recording (device unplugged, stream error)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source: QAudioSource | None = None
        self._io: QIODevice | None = None
        self._buffer = bytearray()
        self._started = 0.0
        # PySide6 cannot deliver QAudioSource.stateChanged's enum argument to Python, so
        # the stream's health is polled instead (cheap: two getters every 250 ms).
        self._watch = QTimer(self)
        self._watch.setInterval(250)
        self._watch.timeout.connect(self._state_changed)

    def input_devices(self) -> list[AudioDevice]:
        return _describe(QMediaDevices.audioInputs(), QMediaDevices.defaultAudioInput())

    def _find(self, device_id: str) -> QAudioDevice:
        return _pick(
            QMediaDevices.audioInputs(),
            QMediaDevices.defaultAudioInput(),
            device_id,
            "No microphone was found. Connect one (or check that the sound system is "
            "running); typing keeps working.",
        )

    def start(self, device_id: str = "") -> None:
        if self._source is not None:
            return
        device = self._find(device_id)
        fmt = _format(CAPTURE_RATE)
        if not device.isFormatSupported(fmt):
            raise AudioDeviceError(
                f"The microphone “{device.description()}” cannot record 16 kHz mono audio."
            )
        self._buffer = bytearray()
        self._started = time.monotonic()
        source = QAudioSource(device, fmt, self)
        # The stream's buffer holds what the GUI thread has not read yet; when it is full,
        # audio is dropped. At 100 ms a 0.4 s stall of the event loop (loading a model) cut
        # the "F" out of "France". Reads still arrive every 20 ms.
        source.setBufferSize(CAPTURE_RATE * 2 * CAPTURE_BUFFER_SECONDS)
        io = source.start()
        if io is None or source.error() != QtAudio.Error.NoError:
            source.deleteLater()
            raise AudioDeviceError(
                f"The microphone “{device.description()}” could not be opened; another "
                "program may be using it."
            )
        io.readyRead.connect(self._read)
        self._source, self._io = source, io
        self._watch.start()

    @property
    def recording(self) -> bool:
        return self._source is not None

    def _read(self) -> None:
        if self._io is not None:
            data: QByteArray = self._io.readAll()
            self._buffer += bytes(data.data())

    def _state_changed(self) -> None:
        source = self._source
        if source is None or source.state() != QtAudio.State.StoppedState:
            return
        if source.error() != QtAudio.Error.NoError:
            log.warning("microphone stopped with error %s", source.error())
            self._watch.stop()
            self.failed.emit(
                AudioDeviceError(
                    "The microphone stopped working (was it unplugged?). What was recorded "
                    "so far is kept."
                )
            )

    def level(self) -> float:
        return rms_level(bytes(self._buffer[-LEVEL_WINDOW:]))

    def snapshot(self) -> AudioClip:
        self._read()
        return AudioClip(bytes(self._buffer), CAPTURE_RATE)

    def stop(self) -> AudioClip:
        self._read()
        self._watch.stop()
        source, self._source = self._source, None
        if source is not None:
            source.stop()
            source.deleteLater()
        self._io = None
        clip = AudioClip(bytes(self._buffer), CAPTURE_RATE)
        log.info(
            "recorded %.2f s of audio in %.2f s", clip.duration, time.monotonic() - self._started
        )
        return clip


class QtPlayer(QObject):
    """Plays queued clips back to back; ``stop`` silences at once."""

    finished = Signal()
    """Everything queued has been played."""
    failed = Signal(object)
    """An AudioDeviceError: the speaker could not be opened or went away mid-reply."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._failure: AudioDeviceError | None = None
        self._device_id = ""
        self._sink: QAudioSink | None = None
        self._io: QIODevice | None = None
        self._rate = 0
        self._pending = bytearray()
        self._queue: list[AudioClip] = []
        self._timer = QTimer(self)
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._pump)

    def output_devices(self) -> list[AudioDevice]:
        return _describe(QMediaDevices.audioOutputs(), QMediaDevices.defaultAudioOutput())

    def set_device(self, device_id: str) -> None:
        self._device_id = device_id

    def _find(self) -> QAudioDevice:
        return _pick(
            QMediaDevices.audioOutputs(),
            QMediaDevices.defaultAudioOutput(),
            self._device_id,
            "No speaker or headphones were found; replies are shown as text only.",
        )

    def play(self, clip: AudioClip) -> None:
        if not clip.pcm:
            return
        self._queue.append(clip)
        if not self._timer.isActive():
            self._timer.start()
        self._pump()

    @property
    def playing(self) -> bool:
        return bool(self._queue or self._pending) or (
            self._sink is not None and self._sink.state() == QtAudio.State.ActiveState
        )

    def _open(self, rate: int) -> None:
        self._close()
        device = self._find()
        sink = QAudioSink(device, _format(rate), self)
        sink.setBufferSize(rate // 5 * 2)  # 200 ms
        io: QIODevice | None = sink.start()
        if io is None:
            sink.deleteLater()
            raise AudioDeviceError(f"The speaker “{device.description()}” could not be opened.")
        self._sink, self._io, self._rate = sink, io, rate

    def _close(self) -> None:
        if self._sink is not None:
            self._sink.stop()
            self._sink.deleteLater()
        self._sink = self._io = None
        self._rate = 0

    def _pump(self) -> None:
        try:
            if not self._pending and self._queue:
                clip = self._queue[0]
                if clip.sample_rate != self._rate or self._sink is None:
                    if self._sink is not None and self._sink.bytesFree() < self._sink.bufferSize():
                        return  # let the previous rate drain first
                    self._open(clip.sample_rate)
                self._queue.pop(0)
                self._pending += clip.pcm
            if self._pending and self._sink is not None and self._io is not None:
                room = self._sink.bytesFree()
                if room > 0:
                    written = self._io.write(bytes(self._pending[:room]))
                    if written > 0:
                        del self._pending[:written]
            if not self._queue and not self._pending and self._sink is not None:
                drained = self._sink.bytesFree() >= self._sink.bufferSize()
                if drained or self._sink.state() != QtAudio.State.ActiveState:
                    self._timer.stop()
                    self._close()
                    self.finished.emit()
        except AudioDeviceError as exc:
            log.warning("playback failed: %s", exc.message)
            self._queue.clear()
            self._pending.clear()
            self._timer.stop()
            self._failure = exc
            self.failed.emit(exc)
            self.finished.emit()

    def stop(self) -> None:
        self._queue.clear()
        self._pending.clear()
        self._timer.stop()
        if self._sink is not None:
            self._sink.reset()
        self._close()

    def take_failure(self) -> AssistantError | None:
        failure, self._failure = self._failure, None
        return failure


class ThreadSafeOutput(QObject):
    """:class:`app.core.ports.AudioOutput` over a player that lives on the GUI thread.

    The voice pipeline's speaker thread calls ``play``; the clip crosses to the GUI thread by
    a queued signal. ``stop`` from any thread silences at once: clips queued before it but not
    yet delivered are dropped (each carries the generation it was queued in)."""

    _deliver = Signal(object, int)
    _silence = Signal()

    def __init__(self, player: QtPlayer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self._lock = threading.Lock()
        self._generation = 0
        self._in_flight = 0
        self._busy = False
        self._failure: AssistantError | None = None
        self._deliver.connect(self._play_here, Qt.ConnectionType.QueuedConnection)
        self._silence.connect(self.player.stop, Qt.ConnectionType.QueuedConnection)
        player.finished.connect(self._drained)
        player.failed.connect(self._failed)

    def play(self, clip: AudioClip) -> None:
        with self._lock:
            self._in_flight += 1
            self._busy = True
            generation = self._generation
        self._deliver.emit(clip, generation)

    @property
    def playing(self) -> bool:
        with self._lock:
            return self._busy

    def stop(self) -> None:
        with self._lock:
            self._generation += 1
            self._busy = False
        if QThread.currentThread() is self.thread():
            self.player.stop()
        else:
            self._silence.emit()

    def take_failure(self) -> AssistantError | None:
        with self._lock:
            failure, self._failure = self._failure, None
        return failure

    def _play_here(self, clip: object, generation: int) -> None:
        with self._lock:
            self._in_flight -= 1
            current = generation == self._generation
        if not current or not isinstance(clip, AudioClip):
            return
        self.player.play(clip)
        self._drained()  # an empty clip plays nothing and never reports back

    def _drained(self) -> None:
        with self._lock:
            if self._in_flight == 0 and not self.player.playing:
                self._busy = False

    def _failed(self, error: object) -> None:
        with self._lock:
            self._failure = error if isinstance(error, AssistantError) else None
            self._busy = False
