"""A voice turn through the core pipeline with fakes and no Qt: PCM in -> transcript -> reply
-> sentences -> clips out, in order; barge-in; failures with their stage codes; say()."""

from __future__ import annotations

import array
import itertools
import threading
from collections.abc import Iterator

import pytest
from app.audio.fake import FakePlayer
from app.core.assistant import Assistant
from app.core.cancel import CancelToken
from app.core.errors import AudioDeviceError, SpeechToTextError, TextToSpeechError
from app.core.events import AssistantEvent, EventType
from app.core.ports import AudioClip, AudioOutput, SpeechToText, TextToSpeech, Transcript
from app.core.voice import (
    SpeechOptions,
    VoicePipeline,
    describe_breakdown,
    voice_breakdown,
)

from tests.fakes import (
    FakeLanguageModel,
    FakeSpeechToText,
    FakeTextToSpeech,
    MemoryConversationStore,
)

REPLY = "Paris is the capital of France. It is lovely in spring. Enjoy your trip!"
SENTENCES = ["Paris is the capital of France.", "It is lovely in spring.", "Enjoy your trip!"]


def speech(seconds: float = 1.5) -> AudioClip:
    return AudioClip(b"\x00\x10" * int(16000 * seconds), 16000)


class Rig:
    def __init__(self, reply: str = REPLY, **llm: object) -> None:
        self.llm = FakeLanguageModel(reply, **llm)  # type: ignore[arg-type]
        self.store = MemoryConversationStore()
        self.assistant = Assistant(self.llm, self.store)
        self.stt = FakeSpeechToText()
        self.tts = FakeTextToSpeech()
        self.output = FakePlayer(instant=True)
        self.voice = VoicePipeline(self.stt, self.tts, self.output, gate=self.assistant.gate)
        self.conversation = self.store.create_conversation().id
        self.events: list[AssistantEvent] = []

    def talk(
        self, clip: AudioClip | None = None, cancel: CancelToken | None = None, **kw: object
    ) -> None:
        self.events = []
        self.voice.turn(
            self.assistant,
            self.conversation,
            clip or speech(),
            self.events.append,
            cancel,
            **kw,  # type: ignore[arg-type]
        )

    def kinds(self) -> list[EventType]:
        return [e.type for e in self.events]

    def of(self, kind: EventType) -> list[AssistantEvent]:
        return [e for e in self.events if e.type is kind]

    def typed(self, text: str) -> str:
        result = self.assistant.turn(self.conversation, text, lambda e: None)
        assert result.error is None
        return result.reply


def test_fakes_implement_the_protocols() -> None:
    assert isinstance(FakeTextToSpeech(), TextToSpeech)
    assert isinstance(FakeSpeechToText(), SpeechToText)
    assert isinstance(FakePlayer(), AudioOutput)


def test_a_voice_turn_from_pcm_to_clips_in_order() -> None:
    rig = Rig()
    rig.talk(released_at=123.0)
    kinds = rig.kinds()
    assert kinds[:3] == [EventType.TURN_START, EventType.TRANSCRIBING, EventType.TRANSCRIPT]
    assert kinds[-2:] == [EventType.SPOKEN, EventType.TURN_END]
    assert rig.of(EventType.TURN_START)[0].data["spoken"] is True
    assert rig.of(EventType.TRANSCRIBING)[0].timestamp == 123.0  # the release is the clock
    assert rig.of(EventType.TRANSCRIPT)[0].data["text"] == "What is the capital of France?"
    assert kinds.count(EventType.TURN_START) == kinds.count(EventType.TURN_END) == 1
    assert [e.data["text"] for e in rig.of(EventType.SENTENCE)] == SENTENCES
    assert rig.tts.requests == SENTENCES
    assert [e.data["index"] for e in rig.of(EventType.SPEAKING)] == [0, 1, 2]
    assert [len(c.pcm) for c in rig.output.played] == [len(s) * 200 for s in SENTENCES]
    # Every sentence is spoken after it was written, in order.
    for index in range(3):
        written = next(
            i
            for i, e in enumerate(rig.events)
            if e.type is EventType.SENTENCE and e.data["index"] == index
        )
        spoken = next(
            i
            for i, e in enumerate(rig.events)
            if e.type is EventType.SPEAKING and e.data["index"] == index
        )
        assert written < spoken
    end = rig.events[-1].data
    assert end == {"reply": REPLY, "cancelled": False, "failed": False}
    assert rig.of(EventType.SPOKEN)[0].data == {"sentences": 3, "interrupted": False}
    assert [m.role for m in rig.store.messages(rig.conversation)] == ["user", "assistant"]
    assert not rig.assistant.gate.busy


def test_the_first_sentence_is_heard_while_the_reply_is_still_being_written() -> None:
    rig = Rig(gate_after_tokens=8)  # the model holds after "... France. It is"
    heard_first = threading.Event()

    def watch(event: AssistantEvent) -> None:
        rig.events.append(event)
        if event.type is EventType.SPEAKING:
            heard_first.set()

    worker = threading.Thread(
        target=rig.voice.turn, args=(rig.assistant, rig.conversation, speech(), watch)
    )
    worker.start()
    assert heard_first.wait(5)  # spoken, while the model has not finished
    assert EventType.TURN_END not in rig.kinds()
    rig.llm.gate.set()
    worker.join(5)
    assert rig.tts.requests == SENTENCES


def test_barge_in_mid_sentence_drops_the_rest() -> None:
    rig = Rig(" ".join(f"Sentence {i}." for i in range(50)), token_delay=0.01)
    rig.output = FakePlayer()  # still playing: the user talks over it
    rig.voice.output = rig.output
    cancel = CancelToken()

    def barge_in(event: AssistantEvent) -> None:
        rig.events.append(event)
        if event.type is EventType.SPEAKING:
            cancel.cancel()  # push-to-talk pressed during the first sentence

    rig.voice.turn(rig.assistant, rig.conversation, speech(), barge_in, cancel)
    assert len(rig.of(EventType.SPEAKING)) == 1
    assert rig.output.stops >= 1 and not rig.output.playing  # silenced
    assert len(rig.tts.requests) <= 2  # nothing synthesised past the interruption
    assert rig.of(EventType.SPOKEN)[0].data["interrupted"] is True
    assert rig.events[-1].data["cancelled"] is True and not rig.events[-1].data["failed"]
    stored = rig.store.messages(rig.conversation)[-1]
    assert stored.meta.get("cancelled") is True
    assert rig.typed("still there?")  # text chat goes on


def test_a_speech_recognition_failure_ends_the_turn_with_its_code() -> None:
    rig = Rig()

    class BrokenEars(FakeSpeechToText):
        def transcribe(self, clip: AudioClip, **kw: object) -> Transcript:
            raise SpeechToTextError("The speech model could not be loaded.")

    rig.voice.stt = BrokenEars()
    rig.talk()
    assert rig.kinds() == [
        EventType.TURN_START,
        EventType.TRANSCRIBING,
        EventType.ERROR,
        EventType.TURN_END,
    ]
    assert rig.of(EventType.ERROR)[0].data["code"] == "stt"
    assert rig.events[-1].data["failed"] is True
    assert rig.llm.prompts == [] and rig.output.played == []
    assert not rig.assistant.gate.busy
    assert rig.typed("and by keyboard?") == REPLY


def test_a_voice_failure_ends_the_turn_with_its_code_and_keeps_the_written_reply() -> None:
    rig = Rig()

    class BrokenVoice(FakeTextToSpeech):
        def synthesize(self, text: str, **kw: object) -> Iterator[AudioClip]:
            self.requests.append(text)
            if text:
                raise TextToSpeechError("The voice file is damaged.")
            yield from ()

    rig.voice.tts = BrokenVoice()
    rig.talk()
    [error] = rig.of(EventType.ERROR)
    assert error.data["code"] == "tts"
    assert rig.kinds()[-1] is EventType.TURN_END and rig.events[-1].data["failed"] is True
    assert rig.events[-1].data["reply"] == REPLY  # the answer is still complete on screen
    assert rig.store.messages(rig.conversation)[-1].content == REPLY
    assert rig.output.played == []
    assert rig.typed("and by keyboard?") == REPLY


def test_a_lost_speaker_ends_the_turn_with_the_device_code() -> None:
    rig = Rig()
    rig.output = FakePlayer()
    rig.voice.output = rig.output
    rig.output.fail(AudioDeviceError("The speaker went away."))
    rig.talk()
    assert rig.of(EventType.ERROR)[0].data["code"] == "audio-device"
    assert rig.events[-1].data["failed"] is True


def test_nothing_heard_is_no_question() -> None:
    rig = Rig()
    rig.stt.heard = ""
    rig.talk()
    assert rig.kinds() == [
        EventType.TURN_START,
        EventType.TRANSCRIBING,
        EventType.TRANSCRIPT,
        EventType.TURN_END,
    ]
    assert rig.of(EventType.TRANSCRIPT)[0].data["heard_nothing"] is True
    assert rig.llm.prompts == [] and rig.store.messages(rig.conversation) == []


def test_a_partial_transcript_with_only_silence_after_it_is_used_as_is() -> None:
    rig = Rig()
    clip = AudioClip(speech(1.0).pcm + bytes(16000), 16000)  # then half a second of silence
    rig.talk(clip, partial=(1.2, "What is the capital of France?"))
    assert rig.stt.clips == []  # no second pass of recognition
    assert rig.of(EventType.TRANSCRIPT)[0].data["from_partial"] is True
    rig.talk(speech(2.0), partial=(1.0, "What is the"))  # speech came after it
    assert len(rig.stt.clips) == 1
    assert rig.of(EventType.TRANSCRIPT)[0].data["from_partial"] is False


def tone(seconds: float, dbfs: float) -> bytes:
    amplitude = int(32767 * 10 ** (dbfs / 20))
    return array.array("h", [amplitude, -amplitude] * int(8000 * seconds)).tobytes()


def test_a_partial_that_may_have_cut_off_the_last_word_is_heard_again() -> None:
    rig = Rig()
    silence = bytes(16000)  # half a second
    # It ended right where the speech did: the word may have been cut in half.
    rig.talk(AudioClip(speech(1.0).pcm + silence, 16000), partial=(1.0, "What is the fence"))
    assert rig.of(EventType.TRANSCRIPT)[0].data["from_partial"] is False
    # It was heard while the soft end of the word (about -42 dBFS, as the "s" of "France")
    # was being said.
    soft_end = AudioClip(speech(1.0).pcm + tone(0.15, -42) + silence, 16000)
    rig.talk(soft_end, partial=(1.1, "What is the fence"))
    assert rig.of(EventType.TRANSCRIPT)[0].data["from_partial"] is False
    assert len(rig.stt.clips) == 2


def test_muted_the_reply_is_only_written() -> None:
    rig = Rig()
    rig.voice.options = SpeechOptions(speak=False)
    rig.talk()
    assert rig.tts.requests == [] and rig.output.played == []
    assert EventType.SPOKEN not in rig.kinds()
    assert rig.events[-1].data["reply"] == REPLY


def test_say_speaks_outside_a_turn_and_can_be_interrupted() -> None:
    rig = Rig()
    events: list[AssistantEvent] = []
    assert rig.voice.say("Your tea is ready. Enjoy it.", events.append) == 2
    assert [e.type for e in events] == [
        EventType.SENTENCE,
        EventType.SENTENCE,
        EventType.SPEAKING,
        EventType.SPEAKING,
        EventType.SPOKEN,
    ]
    assert rig.tts.requests == ["Your tea is ready.", "Enjoy it."]

    rig.output = FakePlayer()
    rig.voice.output = rig.output
    cancel = CancelToken()
    said: list[AssistantEvent] = []

    def interrupt(event: AssistantEvent) -> None:
        said.append(event)
        if event.type is EventType.SPEAKING:
            cancel.cancel()

    assert rig.voice.say("One. Two. Three. Four.", interrupt, cancel) == 0
    assert [e.data["index"] for e in said if e.type is EventType.SPEAKING] == [0]
    assert rig.output.stops >= 1
    assert said[-1].data == {"sentences": 0, "interrupted": True}
    assert not rig.assistant.gate.busy


def test_the_latency_breakdown_comes_from_event_timestamps_alone() -> None:
    stamps = itertools.count(10.0, 0.25)
    kinds = [
        EventType.TRANSCRIBING,
        EventType.TRANSCRIPT,
        EventType.PROMPT_READY,
        EventType.TOKEN,
        EventType.TOKEN,
        EventType.SENTENCE,
        EventType.SPEAKING,
    ]
    events = [AssistantEvent(k, {}, next(stamps)) for k in kinds]
    parts = voice_breakdown(events)
    assert parts["total"] == pytest.approx(1.5)
    assert parts["prompt->first_token"] == pytest.approx(0.25)  # the first token wins
    assert parts["first_token->first_sentence"] == pytest.approx(0.5)
    assert describe_breakdown(parts).startswith("Spoke after 1.50 s (hearing 0.25 s")
    assert describe_breakdown(voice_breakdown(events[:-1])) == ""


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


def test_the_model_gives_the_voice_a_core_while_both_work() -> None:
    rig = Rig()
    rig.voice.options = SpeechOptions(llm_threads=2, llm_threads_while_speaking=1)
    rig.talk()
    assert rig.llm.thread_changes == [1, 2]  # down at the first sentence, back at the end
    rig.voice.options = SpeechOptions(speak=False)
    rig.talk()
    assert rig.llm.thread_changes == [1, 2]  # muted: nothing shares the cores


def test_a_command_foreseen_while_talking_is_spoken_from_what_was_made_ahead() -> None:
    """The confirmation of "set a timer for ten minutes" is synthesized before the release;
    the turn then speaks it without synthesizing again, and a different reply is made as
    usual."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from app.core.handlers import MemoryHandler
    from app.core.tools.alarms import AlarmBook, MemoryAlarmStore
    from app.core.tools.clock import ManualClock
    from app.core.tools.setup import tool_handler

    rig = Rig()
    clock = ManualClock(datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Europe/London")))
    book = AlarmBook(MemoryAlarmStore(), clock)
    rig.assistant.handlers = [MemoryHandler(None), tool_handler(book)]
    rig.stt.heard = "Set a timer for ten minutes."
    foreseen = rig.assistant.foresee(rig.conversation, "Set a timer for ten minutes")
    assert foreseen == "Timer set for 10 minutes."
    assert book.active() == []  # foreseen, not done
    assert rig.voice.presynthesize(foreseen, CancelToken()) == 1
    assert rig.tts.requests == ["Timer set for 10 minutes."]
    rig.talk()
    assert [a.seconds for a in book.active()] == [600]
    assert rig.tts.requests == ["Timer set for 10 minutes."]  # not made a second time
    assert len(rig.output.played) == 1 and rig.of(EventType.SPEAKING)
    rig.stt.heard = "Set a timer for five minutes."
    rig.talk()
    assert rig.tts.requests[-1] == "Timer set for 5 minutes."  # not foreseen: made now
    assert rig.assistant.foresee(rig.conversation, "What is the capital of France?") is None
