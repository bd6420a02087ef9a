"""The app and the voice benchmark end with exit code 0 after spoken turns (issue 9).

With PySide6 6.12.0 on Python 3.11 every signal emit and void Qt call took a reference to True
or None it never gave back; after enough streamed tokens and level ticks the process aborted
("Fatal Python error: bool_dealloc", exit code 134), at exit or in the middle of a session.
These run the real window, the real models and a private PulseAudio microphone and speaker in
a separate process, and look at nothing but how it ends and what it heard.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, hearth_env
from tests.pulse import Pulse, steady_microphone

pytestmark = pytest.mark.model

DRIVER = r"""
import subprocess, sys, time
from pathlib import Path

import app  # the offline switches, as the hearth command applies them
from app.privacy import install_network_guard
install_network_guard()
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.bootstrap import run_gui
from app.settings import Paths
from app.ui.main_window import MainWindow

wavs = [Path(p) for p in sys.argv[2:]]
turns = []

def wait(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return False

def drive():
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
    voice = window.voice
    assert voice is not None, "no voice in the app"
    finished = []
    window.turn_finished.connect(lambda: finished.append(1))
    for wav in wavs:
        window.new_conversation()
        before = len(finished)
        voice.press()
        wait(lambda: False, 0.3)
        mouth = subprocess.Popen(["paplay", "--device=hearth_mic_feed", str(wav)])
        wait(lambda: mouth.poll() is not None, 60)
        wait(lambda: False, 0.4)
        voice.release()
        ended = wait(lambda: len(finished) > before, 180)  # the turn ends once it was heard
        spoke = ended and "total" in window.turns.timings()
        wait(lambda: not window.busy and not voice.speaking, 180)
        said = [b.text for b in window.chat.bubbles()] or [""]
        turns.append((spoke, said[0], said[-1]))
    print("TURNS", turns, flush=True)
    window.close()  # as the user closes it: run_gui's own shutdown follows

qt = QApplication(["hearth"])  # run_gui uses this one; the timer needs it first
QTimer.singleShot(3000, drive)
from app.logs import setup_logging
paths = Paths.default(Path(sys.argv[1]))
setup_logging(paths.log_dir)  # as the hearth command does before the window
code = run_gui(paths)
print("EXIT", code, flush=True)
sys.exit(code)
"""


def test_the_app_exits_cleanly_after_spoken_turns(pulse: Pulse, tmp_path: Path) -> None:
    from app.bootstrap import make_text_to_speech
    from app.core.cancel import CancelToken
    from app.engines.models import ModelRegistry
    from app.settings import DEFAULT_VOICE, FAST_MODEL, Paths, Settings, save_settings

    from tests.conftest import shared_cache_dir
    from tests.pulse import write_wav_16k

    data = tmp_path / "data"
    paths = Paths.default(data)
    save_settings(
        paths.settings_file,
        Settings(
            model=FAST_MODEL,
            max_reply_tokens=60,
            input_device=pulse.mic,
            output_device=pulse.speaker,
            global_talk_key=False,
            welcome_seen=True,  # a returning user: no first-run welcome over the window
        ),
    )
    tts = make_text_to_speech(ModelRegistry(shared_cache_dir() / "models"), DEFAULT_VOICE)
    wavs = []
    for i, question in enumerate(("What is the capital of France?", "How many legs has a cat?")):
        clips = list(tts.synthesize(question, cancel=CancelToken()))
        wav = tmp_path / f"q{i}.wav"
        write_wav_16k(wav, b"".join(c.pcm for c in clips), clips[0].sample_rate)
        wavs.append(str(wav))
    tts.close()
    env = dict(pulse.env, **{k: v for k, v in hearth_env(tmp_path).items() if "HEARTH" in k})
    env["QT_QPA_PLATFORM"] = "offscreen"
    with steady_microphone(pulse):  # audio from the first moment of each recording
        done = subprocess.run(
            [sys.executable, "-X", "faulthandler", "-c", DRIVER, str(data), *wavs],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "EXIT 0" in done.stdout
    turns = next(line for line in done.stdout.splitlines() if line.startswith("TURNS"))
    assert turns.count("(True,") == 2, turns  # both questions were answered aloud
    # When a question is misheard, say whether its words came from a partial transcript.
    log = paths.log_dir / "hearth.log"
    heard = (
        [ln for ln in log.read_text().splitlines() if "transcript" in ln] if log.exists() else []
    )
    assert "france" in turns.lower(), (turns, heard[-10:])


def test_the_voice_benchmark_exits_cleanly_after_spoken_turns(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-m", "bench.voice", "--turns", "1"],
        env=hearth_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "release -> first audio" in done.stdout
    assert "1/ 1" in done.stdout.split("turns with audio")[1].splitlines()[0], done.stdout
