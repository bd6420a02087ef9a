"""Real QtMultimedia devices on a real (virtual) PulseAudio microphone and speaker."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from app.audio.devices import CAPTURE_RATE, rms_level
from app.bootstrap import make_speech_to_text, make_text_to_speech
from app.core.cancel import CancelToken
from app.core.errors import ModelError
from app.core.ports import AudioClip, TextToSpeech
from app.engines.models import ModelRegistry
from app.settings import DEFAULT_STT, DEFAULT_VOICE, Settings
from app.workers.qt_audio import QtPlayer, QtRecorder
from pytestqt.qtbot import QtBot

from tests.conftest import require, shared_cache_dir
from tests.pulse import Pulse, steady_microphone, write_wav_16k

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tts() -> Iterator[TextToSpeech]:
    try:
        engine = make_text_to_speech(ModelRegistry(shared_cache_dir()), DEFAULT_VOICE)
        engine.load()
    except ModelError as exc:
        require(False, exc.message)
        raise
    yield engine
    engine.close()


def speech(tts: TextToSpeech, text: str) -> AudioClip:
    clips = list(tts.synthesize(text, cancel=CancelToken()))
    return AudioClip(b"".join(c.pcm for c in clips), clips[0].sample_rate)


def test_devices_are_listed(qtbot: QtBot, pulse: Pulse) -> None:
    inputs = QtRecorder().input_devices()
    outputs = QtPlayer().output_devices()
    assert any(d.id == pulse.mic for d in inputs), inputs
    assert any(d.id == pulse.speaker for d in outputs), outputs


def test_records_what_is_said_into_the_microphone(
    qtbot: QtBot, pulse: Pulse, tts: TextToSpeech, tmp_path: Path
) -> None:
    said = speech(tts, "What is the weather like in Paris today?")
    wav = tmp_path / "said.wav"
    write_wav_16k(wav, said.pcm, said.sample_rate)
    recorder = QtRecorder()
    recorder.start(pulse.mic)
    assert recorder.recording
    qtbot.wait(300)
    levels = []
    with subprocess.Popen(
        ["paplay", f"--device={pulse.mic_feed}", str(wav)], env=pulse.env
    ) as player:
        while player.poll() is None:
            qtbot.wait(50)
            levels.append(recorder.level())
    qtbot.wait(500)
    clip = recorder.stop()
    assert not is_recording(recorder)
    assert clip.sample_rate == CAPTURE_RATE
    assert clip.duration > said.duration
    assert max(levels) > 0.5  # the meter moved while speech came in
    stt = make_speech_to_text(ModelRegistry(shared_cache_dir()), DEFAULT_STT, Settings())
    heard = stt.transcribe(clip, cancel=CancelToken()).text.lower()
    stt.close()
    assert "weather" in heard and "today" in heard, heard


def test_a_busy_event_loop_loses_no_audio(qtbot: QtBot, pulse: Pulse) -> None:
    """The recorder reads on the GUI thread; while that thread is busy (a model loading, a
    long render) the stream must keep the audio. With a 100 ms buffer a 0.4 s stall cut the
    "F" out of "France" and the app answered about "the capital friends"."""
    with steady_microphone(pulse):
        recorder = QtRecorder()
        started = time.monotonic()
        recorder.start(pulse.mic)
        qtbot.wait(300)
        time.sleep(1.0)  # the event loop does not run: nothing is read
        qtbot.wait(300)
        clip = recorder.stop()
        elapsed = time.monotonic() - started
    assert clip.duration > elapsed - 0.2, (clip.duration, elapsed)


def is_recording(recorder: QtRecorder) -> bool:
    return recorder.recording


def is_playing(player: QtPlayer) -> bool:
    return player.playing


def record_monitor(pulse: Pulse, path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "parec",
            f"--device={pulse.speaker}.monitor",
            "--format=s16le",
            "--rate=16000",
            "--channels=1",
            "--raw",
            str(path),
        ],
        env=pulse.env,
    )


def test_plays_to_the_speaker_and_stop_is_immediate(
    qtbot: QtBot, pulse: Pulse, tts: TextToSpeech, tmp_path: Path
) -> None:
    first = speech(tts, "Hello. This is Hearth, speaking through the virtual speaker.")
    player = QtPlayer()
    player.set_device(pulse.speaker)
    out = tmp_path / "heard.raw"
    with record_monitor(pulse, out) as rec:
        qtbot.wait(300)
        player.play(first)
        assert player.playing
        with qtbot.waitSignal(player.finished, timeout=int(first.duration * 1000) + 5000):
            pass
        qtbot.wait(300)
        rec.terminate()
    loud = seconds_of_sound(out.read_bytes())
    assert loud > first.duration * 0.5, (loud, first.duration)

    # Barge-in: stop mid-sentence; the speaker goes quiet at once.
    long = speech(tts, "This sentence is long enough to be interrupted well before its end. " * 2)
    out2 = tmp_path / "stopped.raw"
    with record_monitor(pulse, out2) as rec:
        qtbot.wait(300)
        player.play(long)
        qtbot.wait(1000)
        stopped_at = time.monotonic()
        player.stop()
        assert not is_playing(player)
        qtbot.wait(1500)
        rec.terminate()
    assert time.monotonic() - stopped_at > 1.0
    assert long.duration > 5.0
    # About one second played before stop(); nothing of the remaining seconds came out.
    assert seconds_of_sound(out2.read_bytes()) < 2.0


def seconds_of_sound(raw: bytes) -> float:
    """Seconds of 16 kHz mono 16-bit audio that are clearly not silence, in 0.1 s steps."""
    step = 3200
    return sum(1 for i in range(0, len(raw), step) if rms_level(raw[i : i + step]) > 0.4) * 0.1


NO_SERVER = """
from PySide6.QtWidgets import QApplication
from app.core.errors import AudioDeviceError
from app.workers.qt_audio import QtPlayer, QtRecorder
from app.core.ports import AudioClip
app = QApplication([])
try:
    QtRecorder().start()
except AudioDeviceError as exc:
    print("MIC:", exc.message)
player = QtPlayer()
player.play(AudioClip(bytes(3200), 16000))
print("PLAYING:", player.playing)
"""


def test_without_a_sound_server_the_message_is_clear(tmp_path: Path) -> None:
    import os
    import sys

    runtime = tmp_path / "empty-runtime"
    runtime.mkdir(mode=0o700)
    env = dict(
        os.environ,
        XDG_RUNTIME_DIR=str(runtime),
        PULSE_RUNTIME_PATH=str(runtime / "p"),
        PULSE_SERVER="unix:" + str(runtime / "none"),
        QT_QPA_PLATFORM="offscreen",
        HOME=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, "-c", NO_SERVER],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "MIC: No microphone was found" in done.stdout
    assert "PLAYING: False" in done.stdout  # playback gave up quietly instead of crashing
