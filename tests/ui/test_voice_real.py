"""A whole spoken turn through real devices: a question played into a virtual microphone,
push-to-talk driven in the window, real speech recognition, the fast language model, and the
spoken reply recorded from the virtual speaker."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from app.audio.devices import rms_level
from app.bootstrap import build_voice, make_language_model
from app.core.cancel import CancelToken
from app.core.errors import ModelError
from app.core.ports import AudioClip
from app.engines.models import ModelRegistry
from app.settings import DEFAULT_STT, DEFAULT_VOICE, FAST_MODEL, Settings
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.conftest import require, shared_cache_dir
from tests.pulse import Pulse, write_wav_16k
from tests.ui.conftest import WindowFactory, texts

pytestmark = pytest.mark.model


def test_spoken_question_gets_a_spoken_answer(
    qtbot: QtBot, make_window: WindowFactory, pulse: Pulse, tmp_path: Path
) -> None:
    registry = ModelRegistry(shared_cache_dir())
    settings = Settings(
        model=FAST_MODEL, max_reply_tokens=60, input_device=pulse.mic, output_device=pulse.speaker
    )
    try:
        for model in (FAST_MODEL, DEFAULT_STT, DEFAULT_VOICE):
            registry.resolve(model)
    except ModelError as exc:
        require(False, exc.message)
    # The app's own wiring, with the devices chosen in settings (the virtual ones).
    voice = build_voice(registry, settings)
    assert voice is not None
    question = list(voice.tts.synthesize("What is the capital of France?", cancel=CancelToken()))
    asked = AudioClip(b"".join(c.pcm for c in question), question[0].sample_rate)
    wav = tmp_path / "question.wav"
    write_wav_16k(wav, asked.pcm, asked.sample_rate)
    llm = make_language_model(registry, FAST_MODEL, settings)
    window = make_window(llm, voice=voice, settings=settings)
    heard = tmp_path / "speaker.raw"
    with subprocess.Popen(
        [
            "parec",
            f"--device={pulse.speaker}.monitor",
            "--format=s16le",
            "--rate=16000",
            "--channels=1",
            "--raw",
            str(heard),
        ],
        env=pulse.env,
    ) as speaker:
        button = window.composer.talk_button
        qtbot.mousePress(button, Qt.MouseButton.LeftButton)
        qtbot.wait(300)
        with subprocess.Popen(
            ["paplay", f"--device={pulse.mic_feed}", str(wav)], env=pulse.env
        ) as mouth:
            while mouth.poll() is None:
                qtbot.wait(50)
        qtbot.wait(400)
        with qtbot.waitSignal(window.turn_finished, timeout=120000):
            qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not voice.speaking, timeout=60000)
        qtbot.wait(500)
        speaker.terminate()
    llm.close()

    (role, said), (_, reply) = texts(window)[:2]
    assert role == "user" and "capital" in said.lower() and "france" in said.lower(), said
    assert "paris" in reply.lower(), reply
    raw = heard.read_bytes()
    loud = sum(1 for i in range(0, len(raw), 3200) if rms_level(raw[i : i + 3200]) > 0.4) * 0.1
    assert loud >= 1.0, f"only {loud:.1f} s of the reply was heard on the speaker"
    timings = voice.timings
    assert timings is not None and "first_audio" in timings.marks
    print(timings.summary())
