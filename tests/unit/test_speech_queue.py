"""Sentences to speech while the reply streams; barge-in; latency breakdown."""

from __future__ import annotations

import itertools
import threading

import pytest
from app.core.cancel import CancelToken
from app.core.ports import AudioClip, SpeechToText, TextToSpeech
from app.core.sentences import SentenceSplitter
from app.core.speech import SpeechQueue, VoiceTimings

from tests.fakes import FakeSpeechToText, FakeTextToSpeech


def test_fakes_implement_the_protocols() -> None:
    assert isinstance(FakeTextToSpeech(), TextToSpeech)
    assert isinstance(FakeSpeechToText(), SpeechToText)


def test_first_sentence_is_spoken_before_the_reply_is_finished() -> None:
    tts = FakeTextToSpeech()
    speech = SpeechQueue()
    clips: list[str] = []
    first_clip = threading.Event()

    def on_clip(sentence: str, _clip: AudioClip) -> None:
        clips.append(sentence)
        first_clip.set()

    worker = threading.Thread(target=speech.run, args=(tts, on_clip, CancelToken()))
    worker.start()
    splitter = SentenceSplitter()
    for piece in ["Paris is the ", "capital. It is ", "lovely in spring."]:
        for sentence in splitter.feed(piece):
            speech.put(sentence)
        if piece.startswith("capital"):
            # The reply is still streaming, and the first sentence is already audio.
            assert first_clip.wait(5)
            assert clips == ["Paris is the capital."]
    for sentence in splitter.flush():
        speech.put(sentence)
    speech.close()
    worker.join(5)
    assert clips == ["Paris is the capital.", "It is lovely in spring."]
    assert speech.spoken == clips


def test_barge_in_drops_the_queue_and_stops_between_sentences() -> None:
    tts = FakeTextToSpeech(delay=0.05)
    speech = SpeechQueue()
    cancel = CancelToken()
    heard: list[str] = []

    def on_clip(sentence: str, _clip: AudioClip) -> None:
        heard.append(sentence)
        cancel.cancel()  # the user pressed push-to-talk during the first sentence

    for i in range(10):
        speech.put(f"Sentence {i}.")
    speech.run(tts, on_clip, cancel)
    assert heard == ["Sentence 0."]
    assert len(tts.requests) <= 2


def test_timings_breakdown_and_summary() -> None:
    timings = VoiceTimings()
    for at, stage in enumerate(
        ["release", "transcript", "first_token", "first_sentence", "first_audio"]
    ):
        timings.mark(stage, at=10.0 + at * 0.25)
    timings.mark("release", at=99.0)  # the first mark wins
    parts = timings.breakdown()
    assert parts["total"] == pytest.approx(1.0)
    assert parts["release->transcript"] == pytest.approx(0.25)
    assert timings.summary().startswith("Spoke after 1.00 s (hearing 0.25 s")
    with pytest.raises(ValueError, match="unknown stage"):
        timings.mark("lunch")
    assert VoiceTimings().summary() == ""


def test_speech_pieces_stay_within_the_window_and_cut_in_silences() -> None:
    from app.engines.whisper_stt import speech_pieces

    limit = 30 * 16000
    spans = [(s * 16000, (s + 8) * 16000) for s in range(0, 200, 10)]  # 8 s talk, 2 s pause
    pieces = speech_pieces(spans, limit)
    assert all(end - start <= limit for start, end in pieces)
    assert pieces[0][0] == spans[0][0] and pieces[-1][1] == spans[-1][1]
    for (_, end), (start, _) in itertools.pairwise(pieces):
        assert end == start  # nothing between two pieces is left out
        assert any(a_end < end < b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    assert speech_pieces([], limit) == []
    assert speech_pieces([(0, limit)], limit) == [(0, limit)]
