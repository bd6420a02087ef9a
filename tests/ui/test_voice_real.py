"""A whole spoken turn through real devices: a question played into a virtual microphone,
push-to-talk driven in the window, real speech recognition, the fast language model, and the
spoken reply recorded from the virtual speaker."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from app.audio.devices import rms_level
from app.bootstrap import build_voice, make_language_model
from app.core.cancel import CancelToken
from app.core.errors import ModelError
from app.core.ports import AudioClip
from app.core.voice import describe_breakdown
from app.engines.models import ModelRegistry
from app.settings import DEFAULT_STT, DEFAULT_VOICE, FAST_MODEL, Settings
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.conftest import require, shared_cache_dir
from tests.pulse import Pulse, steady_microphone, write_wav_16k
from tests.ui.conftest import WindowFactory, texts

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow
    from app.workers.voice import VoiceController

pytestmark = pytest.mark.model


def hold_to_talk(
    qtbot: QtBot,
    window: MainWindow,
    voice: VoiceController,
    pulse: Pulse,
    *,
    wav: Path,
    heard: Path,
) -> None:
    """Hold the talk button, play ``wav`` into the virtual microphone, let go, and record the
    virtual speaker into ``heard`` until the spoken reply has ended."""
    with (
        steady_microphone(pulse),
        subprocess.Popen(
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
        ) as speaker,
    ):
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
    hold_to_talk(qtbot, window, voice, pulse, wav=wav, heard=heard)
    llm.close()

    (role, said), (_, reply) = texts(window)[:2]
    assert role == "user" and "capital" in said.lower() and "france" in said.lower(), said
    assert "paris" in reply.lower(), reply
    raw = heard.read_bytes()
    loud = sum(1 for i in range(0, len(raw), 3200) if rms_level(raw[i : i + 3200]) > 0.4) * 0.1
    assert loud >= 1.0, f"only {loud:.1f} s of the reply was heard on the speaker"
    timings = window.turns.timings()
    assert "total" in timings, timings
    print(describe_breakdown(timings))


def test_a_spoken_timer_command_sets_the_timer_and_is_confirmed_aloud(
    qtbot: QtBot, make_window: WindowFactory, pulse: Pulse, tmp_path: Path
) -> None:
    """Push-to-talk "Set a timer for ten minutes": the real whisper hears it, the tool sets it
    without the model, and the confirmation comes out of the (virtual) speaker."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from app.bootstrap import make_speech_to_text
    from app.core.handlers import MemoryHandler
    from app.core.tools.alarms import AlarmBook, MemoryAlarmStore
    from app.core.tools.clock import ManualClock
    from app.core.tools.setup import tool_handler

    from tests.fakes import FakeLanguageModel

    registry = ModelRegistry(shared_cache_dir())
    settings = Settings(input_device=pulse.mic, output_device=pulse.speaker)
    try:
        for model in (DEFAULT_STT, DEFAULT_VOICE):
            registry.resolve(model)
    except ModelError as exc:
        require(False, exc.message)
    voice = build_voice(registry, settings)
    assert voice is not None
    said = list(voice.tts.synthesize("Set a timer for ten minutes.", cancel=CancelToken()))
    wav = tmp_path / "command.wav"
    write_wav_16k(wav, b"".join(c.pcm for c in said), said[0].sample_rate)
    clock = ManualClock(datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Europe/London")))
    book = AlarmBook(MemoryAlarmStore(), clock)
    llm = FakeLanguageModel("The model must not answer a command.")
    window = make_window(
        llm, voice=voice, settings=settings, handlers=[MemoryHandler(None), tool_handler(book)]
    )
    heard = tmp_path / "speaker.raw"
    hold_to_talk(qtbot, window, voice, pulse, wav=wav, heard=heard)
    (_, command), (_, reply) = texts(window)[:2]
    assert "timer" in command.lower(), command
    assert reply == "Timer set for 10 minutes.", reply
    assert llm.prompts == []  # done without the model
    (timer,) = book.active()
    assert timer.due - clock.now() == timedelta(minutes=10)
    raw = heard.read_bytes()
    stt = make_speech_to_text(registry, DEFAULT_STT, settings)
    spoken = stt.transcribe(AudioClip(raw, 16000), cancel=CancelToken()).text
    stt.close()
    assert "for 10 minutes" in spoken.lower(), spoken  # "Timer set" is heard as "Time reset"
    print("spoken confirmation:", spoken, "|", describe_breakdown(window.turns.timings()))
