"""Real speech models: piper speaks, whisper hears; word error rate on piper's own voice."""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from app.bootstrap import make_speech_to_text, make_text_to_speech
from app.core.cancel import CancelToken
from app.core.errors import ModelError
from app.core.ports import AudioClip, SpeechToText, TextToSpeech
from app.engines.models import ModelRegistry
from app.settings import DEFAULT_VOICE, Settings

from tests.conftest import hearth_env, require, shared_cache_dir
from tests.wer import normalise, word_errors

pytestmark = pytest.mark.model

SENTENCES = [
    "What is the weather like in Paris today?",
    "Remind me to call my sister at six in the evening.",
    "Set a timer for ten minutes.",
    "How many kilometres are there in a mile?",
    "Please summarise the notes from yesterday's meeting.",
    "Add milk, eggs and bread to my shopping list.",
    "Who wrote the novel Pride and Prejudice?",
    "Turn the volume down a little.",
]


def registry() -> ModelRegistry:
    return ModelRegistry(shared_cache_dir())


@pytest.fixture(scope="module")
def tts() -> Iterator[TextToSpeech]:
    try:
        engine = make_text_to_speech(registry(), DEFAULT_VOICE)
        engine.load()
    except ModelError as exc:
        require(False, exc.message)
        raise
    yield engine
    engine.close()


def stt_engine(model_id: str) -> SpeechToText:
    try:
        engine = make_speech_to_text(registry(), model_id, Settings())
        engine.load()
    except ModelError as exc:
        require(False, exc.message)
        raise
    return engine


def speak(tts: TextToSpeech, text: str) -> AudioClip:
    clips = list(tts.synthesize(text, cancel=CancelToken()))
    return AudioClip(b"".join(c.pcm for c in clips), clips[0].sample_rate)


def rms(clip: AudioClip) -> float:
    import numpy as np

    samples = np.frombuffer(clip.pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def test_piper_speaks_one_clip_per_sentence(tts: TextToSpeech) -> None:
    clips = list(tts.synthesize("Hello there. How are you today?", cancel=CancelToken()))
    assert len(clips) == 2
    assert all(c.sample_rate == tts.sample_rate == 22050 for c in clips)
    assert 0.3 < clips[0].duration < 2.0 and 0.6 < clips[1].duration < 3.0
    assert all(rms(c) > 500 for c in clips)  # audible, not silence


def test_rate_and_volume_change_the_audio(tts: TextToSpeech) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    normal, *_ = tts.synthesize(text, cancel=CancelToken())
    fast, *_ = tts.synthesize(text, cancel=CancelToken(), rate=1.6)
    quiet, *_ = tts.synthesize(text, cancel=CancelToken(), volume=0.3)
    assert fast.duration < normal.duration * 0.8
    assert rms(quiet) < rms(normal) * 0.5


def test_cancel_stops_between_sentences(tts: TextToSpeech) -> None:
    cancel = CancelToken()
    got = []
    for clip in tts.synthesize("One. Two. Three. Four. Five.", cancel=cancel):
        got.append(clip)
        cancel.cancel()
    assert len(got) == 1


@pytest.mark.parametrize(
    ("model_id", "max_wer"), [("whisper-tiny.en", 0.15), ("whisper-base", 0.2)]
)
def test_word_error_rate_on_spoken_commands(
    tts: TextToSpeech, model_id: str, max_wer: float
) -> None:
    stt = stt_engine(model_id)
    errors = words = 0
    heard = []
    for sentence in SENTENCES:
        result = stt.transcribe(speak(tts, sentence), cancel=CancelToken())
        e, n = word_errors(sentence, result.text)
        errors, words = errors + e, words + n
        heard.append(result.text)
    stt.close()
    wer = errors / words
    print(f"{model_id}: WER {wer:.3f} over {words} words")
    assert wer <= max_wer, list(zip(SENTENCES, heard, strict=True))


def test_silence_and_noise_are_heard_as_nothing() -> None:
    import numpy as np

    stt = stt_engine("whisper-tiny.en")
    silence = AudioClip(bytes(2 * 16000 * 3), 16000)
    rng = np.random.default_rng(7)
    noise = AudioClip((rng.normal(0, 300, 16000 * 2)).astype("<i2").tobytes(), 16000)
    tap = AudioClip((rng.normal(0, 8000, 3200)).astype("<i2").tobytes(), 16000)
    for clip in (silence, noise, tap):
        result = stt.transcribe(clip, cancel=CancelToken())
        assert result.heard_nothing, result
    stt.close()


def test_cli_say_then_transcribe(hearth_exe: str, tmp_path: Path) -> None:
    env = hearth_env(tmp_path)
    out = tmp_path / "out.wav"
    said = subprocess.run(
        [hearth_exe, "say", "Set a timer for ten minutes.", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert said.returncode == 0, said.stderr
    with wave.open(str(out)) as wav:
        assert wav.getnchannels() == 1 and wav.getframerate() == 22050
        assert 1.0 < wav.getnframes() / 22050 < 5.0
    heard = subprocess.run(
        [hearth_exe, "transcribe", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert heard.returncode == 0, heard.stderr
    assert word_errors("Set a timer for ten minutes.", heard.stdout)[0] <= 1
    bad = subprocess.run(
        [hearth_exe, "transcribe", str(tmp_path / "missing.wav")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1 and "does not exist" in bad.stderr


# -- long recordings (issue 9): every word of them, with progress ------------------------------

LONG_TEXT = """
Hearth keeps everything on the computer in front of you. When you ask it a question, the words
you type or say are read by a small language model that runs on the processor of this machine,
and the answer is written back to you one word at a time. Nothing is sent to a server, and
nothing waits for a network that may not be there.

The assistant can listen as well as read. Hold the talk key and speak, and your voice is turned
into text by a speech model that also lives on this computer. Let go of the key, and the answer
is spoken aloud by a voice that was installed together with the program. The first sentence is
spoken while the rest of the answer is still being written.

Your notes and documents can be added to its memory. Choose a folder, and every text file, web
page, word processor document and printed report in it is read and cut into short passages.
Each passage is turned into a list of numbers that captures what it is about, so that a later
question can find the passages that matter even when it uses other words.

When the answer comes from one of your files, the file is named under the reply, and a click
opens it at the passage that was used. When nothing in memory is close enough, the assistant
says that it does not know instead of making something up. That is the promise of the program.

A long recording should come back whole. A lecture, a meeting or a letter read aloud may last
many minutes, and every paragraph of it matters to the person who recorded it. Losing a single
sentence without a word of warning would be worse than refusing the file, because nobody would
notice until it was too late. The recording is therefore cut at its pauses into pieces that the
speech model can hold at once, and every piece is written down in turn, with the time it began.

The weather in the mountains changed quickly that afternoon. Clouds came over the ridge, the
wind turned cold, and the walkers went back down the valley before the rain. At the bottom they
found a small inn with a fire, hot soup and bread, and they stayed there until the evening.
"""


@pytest.mark.timeout(900)
def test_a_long_recording_is_transcribed_whole_with_progress(tts: TextToSpeech) -> None:
    """A 247 s recording once came back with 375 of 668 words, whole paragraphs missing."""
    clip = speak(tts, " ".join((LONG_TEXT + LONG_TEXT).split()))
    assert clip.duration > 200
    stt = stt_engine("whisper-tiny.en")
    progress: list[tuple[float, float]] = []
    result = stt.transcribe(
        clip, cancel=CancelToken(), on_progress=lambda d, t: progress.append((d, t))
    )
    stt.close()
    errors, words = word_errors(LONG_TEXT + LONG_TEXT, result.text)
    heard = len(normalise(result.text))
    print(f"{clip.duration:.0f} s: {heard} of {words} words, WER {errors / words:.3f}")
    assert heard >= 0.95 * words, result.text
    assert errors / words <= 0.12, result.text
    assert len(progress) > 20 and all(t == clip.duration for _, t in progress)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert progress[-1][0] > 0.9 * clip.duration


@pytest.mark.timeout(900)
def test_one_sentence_said_many_times_is_heard_every_time(tts: TextToSpeech) -> None:
    """Ten minutes of one repeated sentence once gave 10 words."""
    sentence = "Please bring the blue folder to the meeting on Friday."
    clip = speak(tts, " ".join([sentence] * 48))
    assert clip.duration > 120
    stt = stt_engine("whisper-tiny.en")
    result = stt.transcribe(clip, cancel=CancelToken())
    stt.close()
    assert result.text.lower().count("blue folder") >= 44, result.text
