"""The spoken turn as one pipeline: recording -> words -> reply -> sentences -> audio out.

:meth:`VoicePipeline.turn` runs on a worker thread from the moment push-to-talk is released:
it turns the recording into words (or takes the partial transcript already made while the
user spoke, when only silence came after it), runs the assistant's turn, and speaks each
SENTENCE event as soon as it arrives. A :class:`Speaker` synthesizes on a thread of its own,
so the voice starts while the model is still writing. Everything reports through one event
stream; :func:`voice_breakdown` reads the latency of a spoken answer from the events'
timestamps alone.

Failures keep their stage: speech recognition ends the turn with an ERROR of code "stt", the
voice with one of code "tts" (the written reply is still complete and stored), the speaker
with "audio-device". Cancelling (barge-in) silences the output and drops what is queued.
:meth:`VoicePipeline.say` speaks any text through the same speaker (a reminder that fires,
a spoken confirmation), interruptible in the same way.
"""

from __future__ import annotations

import array
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from app.core.assistant import Assistant, TurnResult
from app.core.cancel import CancelToken
from app.core.errors import AssistantError, InternalError, TextToSpeechError
from app.core.events import AssistantEvent, EventCallback, EventType
from app.core.gate import ForegroundGate
from app.core.ports import AudioClip, AudioOutput, SpeechToText, TextToSpeech, Transcript
from app.core.sentences import SentenceSplitter

log = logging.getLogger(__name__)

SILENT_LEVEL = 0.2
"""rms_level below this (about -48 dBFS) counts as silence when judging the tail. The "s" of
a word's end can sit near -39 dBFS: at that level a partial cut inside "France" passed as
complete, and the app answered "the capital of the fence"."""
WORD_END_SECONDS = 0.05
"""A partial transcript holds the last word only when its own audio already ended in this much
silence: a partial cut at the very end of a word is heard by whisper as another word."""
DRAIN_POLL = 0.02
"""How often the end of playback is checked."""


@dataclass(frozen=True, slots=True)
class SpeechOptions:
    speak: bool = True
    """False: mute (replies are only written)."""
    rate: float = 1.0
    volume: float = 1.0
    llm_threads: int = 2
    """The language model's threads when nothing else needs the cores."""
    llm_threads_while_speaking: int = 1
    """Its threads while the voice synthesizes beside it (bench/llm.py: with the other core
    busy, one thread writes about 2.5x faster than two)."""


def rms_level(pcm: bytes) -> float:
    """Root-mean-square of 16-bit samples, scaled to 0..1 on a perceptual (dB) curve."""
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if not samples:
        return 0.0
    mean = sum(s * s for s in samples) / len(samples)
    rms = math.sqrt(mean) / 32768.0
    if rms <= 1e-5:
        return 0.0
    db = 20 * math.log10(rms)  # -100 .. 0
    return max(0.0, min(1.0, (db + 60.0) / 60.0))


def trailing_silence(clip: AudioClip) -> float:
    """Seconds of silence at the end of ``clip``, in whole 50 ms windows counted back."""
    step = max(2, clip.sample_rate // 20 * 2)
    end = len(clip.pcm) - len(clip.pcm) % 2
    start = end
    while start > 0 and rms_level(clip.pcm[max(0, start - step) : start]) < SILENT_LEVEL:
        start = max(0, start - step)
    return (end - start) / 2 / clip.sample_rate


def silence_after(clip: AudioClip, covered: float) -> float | None:
    """The silence at the end of ``clip`` when it reaches back over the last WORD_END_SECONDS
    of its first ``covered`` seconds (a partial transcript's): nothing was said after the
    partial and its words were not cut off. None otherwise."""
    quiet = trailing_silence(clip)
    if clip.duration - quiet > covered - WORD_END_SECONDS:
        return None
    return quiet


_CLOSE = object()


class SpeechCache:
    """Sentences synthesized ahead of time (a command's confirmation while the user is still
    holding push-to-talk), by their words, rate and volume; the few newest are kept."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._clips: dict[tuple[str, float, float], tuple[AudioClip, ...]] = {}
        self._lock = threading.Lock()

    def put(self, key: tuple[str, float, float], clips: Sequence[AudioClip]) -> None:
        with self._lock:
            self._clips.pop(key, None)
            self._clips[key] = tuple(clips)
            while len(self._clips) > self._size:
                del self._clips[next(iter(self._clips))]

    def get(self, key: tuple[str, float, float]) -> tuple[AudioClip, ...] | None:
        with self._lock:
            return self._clips.get(key)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._clips


class Speaker:
    """Speaks sentences in order on its own thread: synthesize, then hand to the output.

    ``put`` never blocks (the reply stream goes on); ``finish`` waits until everything was
    played, ``abort`` silences at once. A synthesis or playback failure stops the speaker and
    is kept in ``error``."""

    def __init__(
        self,
        tts: TextToSpeech,
        output: AudioOutput,
        emit: Callable[..., None],
        cancel: CancelToken,
        options: SpeechOptions,
        *,
        cache: SpeechCache | None = None,
    ) -> None:
        self._tts, self._output, self._emit = tts, output, emit
        self._cancel, self._options = cancel, options
        self._cache = cache
        self._queue: queue.Queue[object] = queue.Queue()
        self.spoken: list[str] = []
        self.error: AssistantError | None = None
        self._thread = threading.Thread(target=self._run, name="hearth-speaker", daemon=True)
        self._thread.start()

    def put(self, index: int, sentence: str) -> None:
        self._queue.put((index, sentence))

    def finish(self) -> None:
        """No more sentences: return once all of them were played (or cancel/failure)."""
        self._queue.put(_CLOSE)
        while self._thread.is_alive() and not self._cancel.is_cancelled():
            self._thread.join(DRAIN_POLL)
        while not self.interrupted and self._output.playing:
            time.sleep(DRAIN_POLL)
        if self.interrupted:
            self.abort()

    def abort(self) -> None:
        """Silence now and drop whatever is queued (barge-in, or the turn failed)."""
        self._queue.put(_CLOSE)
        self._output.stop()
        self._thread.join(1.0)

    @property
    def interrupted(self) -> bool:
        """Cancelled, or the voice or the speaker failed."""
        self._check_output()
        return self._cancel.is_cancelled() or self.error is not None

    def _check_output(self) -> None:
        failure = self._output.take_failure()
        if failure is not None and self.error is None:
            self.error = failure

    def _run(self) -> None:
        try:
            while not self._cancel.is_cancelled():
                try:
                    item = self._queue.get(timeout=0.05)
                except queue.Empty:
                    continue
                if item is _CLOSE or not isinstance(item, tuple):
                    return
                index, sentence = item
                self._speak(index, sentence)
                if self.error is not None:
                    return
        except AssistantError as exc:
            self.error = exc
        except Exception as exc:
            log.exception("the voice failed")
            self.error = TextToSpeechError(
                "Hearth's voice stopped working; the reply is still written above.",
                details=f"{type(exc).__name__}: {exc}",
            )

    def _speak(self, index: int, sentence: str) -> None:
        first = True
        options = self._options
        ready = self._cache.get((sentence, options.rate, options.volume)) if self._cache else None
        clips: Iterable[AudioClip] = (
            ready
            if ready is not None
            else self._tts.synthesize(
                sentence, cancel=self._cancel, rate=options.rate, volume=options.volume
            )
        )
        for clip in clips:
            if self._cancel.is_cancelled():
                return
            self._check_output()
            if self.error is not None:
                return
            self._output.play(clip)
            if first:
                first = False
                self._emit(EventType.SPEAKING, index=index, seconds=clip.duration)
        if not self._cancel.is_cancelled():
            self.spoken.append(sentence)


class VoicePipeline:
    """The voice side of Hearth, in the core: one object, no Qt, fakes in tests."""

    def __init__(
        self,
        stt: SpeechToText,
        tts: TextToSpeech,
        output: AudioOutput,
        *,
        options: SpeechOptions | None = None,
        gate: ForegroundGate | None = None,
    ) -> None:
        self.stt = stt
        self.tts = tts
        self.output = output
        self.options = options or SpeechOptions()
        self.gate = gate or ForegroundGate()
        """Held while the user speaks, while a voice turn runs and while Hearth speaks."""
        self.speech_cache = SpeechCache()
        """Sentences made ahead of time (:meth:`presynthesize`), spoken from here."""

    def set_speech_to_text(self, stt: SpeechToText) -> SpeechToText:
        """Use ``stt`` from the next recording on; returns the old one (caller closes it)."""
        old, self.stt = self.stt, stt
        return old

    # -- hearing --------------------------------------------------------------------------------

    def transcribe(
        self,
        clip: AudioClip,
        cancel: CancelToken,
        partial: tuple[float, str] | None = None,
    ) -> tuple[Transcript, bool]:
        """The words of ``clip``; ``partial`` (seconds covered, text) is used as is when only
        silence came after it. Returns (transcript, taken from the partial)."""
        if partial is not None:
            covered, text = partial
            quiet = silence_after(clip, covered) if text.strip() else None
            if quiet is not None:
                log.info("final transcript taken from the partial (tail %.2f s of silence)", quiet)
                return Transcript(text, "", clip.duration, covered), True
        return self.stt.transcribe(clip, cancel=cancel), False

    # -- the spoken turn ----------------------------------------------------------------------

    def turn(
        self,
        assistant: Assistant,
        conversation_id: str,
        clip: AudioClip,
        on_event: EventCallback,
        cancel: CancelToken | None = None,
        *,
        partial: tuple[float, str] | None = None,
        released_at: float | None = None,
    ) -> TurnResult:
        """A whole voice turn answered by ``assistant``: TURN_START (spoken), TRANSCRIBING,
        TRANSCRIPT, the assistant's events with SPEAKING among them, SPOKEN, and TURN_END last
        once the answer was heard (or interrupted, or failed)."""
        cancel = cancel or CancelToken()
        emit = _LockedEmitter(on_event)
        result = TurnResult()
        self.gate.hold("voice")
        try:
            emit(EventType.TURN_START, conversation_id=conversation_id, user_text="", spoken=True)
            emit.at(released_at, EventType.TRANSCRIBING, seconds=clip.duration)
            try:
                transcript, from_partial = self.transcribe(clip, cancel, partial)
            except AssistantError as exc:
                result.error = exc
                return result
            except Exception as exc:
                result.error = _internal(exc, "Speech recognition failed unexpectedly.")
                return result
            emit(
                EventType.TRANSCRIPT,
                text=transcript.text,
                heard_nothing=transcript.heard_nothing,
                from_partial=from_partial,
            )
            if transcript.heard_nothing or cancel.is_cancelled():
                result.cancelled = cancel.is_cancelled()
                return result
            result = self._answer(assistant, conversation_id, transcript.text, emit, cancel)
            return result
        finally:
            if result.error is not None:
                err = result.error
                emit(EventType.ERROR, code=err.code, message=err.message, details=err.details)
            emit(
                EventType.TURN_END,
                reply=result.reply,
                cancelled=result.cancelled or cancel.is_cancelled(),
                failed=result.error is not None,
            )
            self.gate.release("voice")

    def _answer(
        self,
        assistant: Assistant,
        conversation_id: str,
        text: str,
        emit: _LockedEmitter,
        cancel: CancelToken,
    ) -> TurnResult:
        speaker = self._speaker(emit, cancel)
        llm, options = assistant.llm, self.options
        sharing = [False]

        def inner(event: AssistantEvent) -> None:
            if event.type in (EventType.TURN_START, EventType.TURN_END, EventType.ERROR):
                return  # the voice turn has its own envelope; the error is in the result
            emit.forward(event)
            if event.type is EventType.SENTENCE and speaker is not None and speaker.error is None:
                if not sharing[0]:  # the voice now works beside the model: give it a core
                    sharing[0] = True
                    llm.set_threads(options.llm_threads_while_speaking)
                speaker.put(int(event.data["index"]), str(event.data["text"]))

        try:
            result = assistant.turn(conversation_id, text, inner, cancel, spoken=True)
        finally:
            if sharing[0]:
                llm.set_threads(options.llm_threads)
        if speaker is not None:
            if result.error is not None or result.cancelled:
                speaker.abort()
            else:
                speaker.finish()
            emit(EventType.SPOKEN, sentences=len(speaker.spoken), interrupted=speaker.interrupted)
            if speaker.error is not None and result.error is None:
                result.error = speaker.error
        return result

    def _speaker(self, emit: _LockedEmitter, cancel: CancelToken) -> Speaker | None:
        if not self.options.speak:
            return None
        return Speaker(self.tts, self.output, emit, cancel, self.options, cache=self.speech_cache)

    # -- speaking outside a turn ----------------------------------------------------------------

    def presynthesize(self, text: str, cancel: CancelToken) -> int:
        """Synthesize ``text``'s sentences now, for a reply known before it is given (a
        command's confirmation while push-to-talk is still held): spoken from the cache then,
        it starts as soon as the turn gets there. Returns how many sentences were made."""
        options = self.options
        if not options.speak:
            return 0
        splitter = SentenceSplitter()
        made = 0
        for sentence in splitter.feed(text) + splitter.flush():
            key = (sentence, options.rate, options.volume)
            if key in self.speech_cache:
                continue
            clips = list(
                self.tts.synthesize(
                    sentence, cancel=cancel, rate=options.rate, volume=options.volume
                )
            )
            if cancel.is_cancelled():
                break
            self.speech_cache.put(key, clips)
            made += 1
        return made

    def say(self, text: str, on_event: EventCallback, cancel: CancelToken | None = None) -> int:
        """Speak ``text`` (SENTENCE, SPEAKING, SPOKEN events; ERROR on failure); returns how
        many sentences were heard. Muted, it says nothing and returns 0."""
        cancel = cancel or CancelToken()
        emit = _LockedEmitter(on_event)
        speaker = self._speaker(emit, cancel)
        if speaker is None:
            return 0
        with self.gate.held("speaking"):
            splitter = SentenceSplitter()
            sentences = splitter.feed(text) + splitter.flush()
            for index, sentence in enumerate(sentences):
                emit(EventType.SENTENCE, index=index, text=sentence)
                speaker.put(index, sentence)
            speaker.finish()
            emit(EventType.SPOKEN, sentences=len(speaker.spoken), interrupted=speaker.interrupted)
            if speaker.error is not None:
                err = speaker.error
                emit(EventType.ERROR, code=err.code, message=err.message, details=err.details)
        return len(speaker.spoken)


class _LockedEmitter:
    """Events from the turn's thread and the speaker's thread, one at a time."""

    def __init__(self, on_event: EventCallback) -> None:
        self._on_event = on_event
        self._lock = threading.Lock()

    def __call__(self, kind: EventType, **data: object) -> None:
        self.forward(AssistantEvent(kind, data))

    def at(self, timestamp: float | None, kind: EventType, **data: object) -> None:
        if timestamp is None:
            self(kind, **data)
        else:
            self.forward(AssistantEvent(kind, data, timestamp))

    def forward(self, event: AssistantEvent) -> None:
        with self._lock:
            try:
                self._on_event(event)
            except Exception:  # a broken listener must not break the turn
                log.exception("event listener failed on %s", event.type)


def _internal(exc: Exception, message: str) -> InternalError:
    import traceback

    log.exception(message)
    return InternalError(
        f"{message} The details are in the log file.",
        details="".join(traceback.format_exception(exc)),
    )


STAGES = (
    ("release", EventType.TRANSCRIBING),
    ("transcript", EventType.TRANSCRIPT),
    ("prompt", EventType.PROMPT_READY),
    ("first_token", EventType.TOKEN),
    ("first_sentence", EventType.SENTENCE),
    ("first_audio", EventType.SPEAKING),
)
"""The marks of a voice turn, in order, each the first event of its type."""
STAGE_NAMES = {
    "release->transcript": "hearing",
    "transcript->prompt": "recall",
    "prompt->first_token": "reading",
    "first_token->first_sentence": "first sentence",
    "first_sentence->first_audio": "voice",
}


def voice_marks(events: Sequence[AssistantEvent]) -> dict[str, float]:
    """The timestamp of each stage of a voice turn (the first event of each kind)."""
    marks: dict[str, float] = {}
    for stage, kind in STAGES:
        found = next((e.timestamp for e in events if e.type is kind), None)
        if found is not None:
            marks[stage] = found
    return marks


def voice_breakdown(events: Sequence[AssistantEvent]) -> dict[str, float]:
    """Seconds between consecutive stages, plus ``total`` (release -> first audio)."""
    marks = voice_marks(events)
    out: dict[str, float] = {}
    previous: str | None = None
    for stage, _kind in STAGES:
        if stage not in marks:
            continue
        if previous is not None:
            out[f"{previous}->{stage}"] = marks[stage] - marks[previous]
        previous = stage
    if "release" in marks and "first_audio" in marks:
        out["total"] = marks["first_audio"] - marks["release"]
    return out


def describe_breakdown(parts: dict[str, float]) -> str:
    """ "Spoke after 0.62 s (hearing 0.20 s, ...)" ("" when no audio played)."""
    if "total" not in parts:
        return ""
    detail = ", ".join(
        f"{STAGE_NAMES.get(k, k)} {v:.2f} s" for k, v in parts.items() if k != "total"
    )
    return f"Spoke after {parts['total']:.2f} s ({detail})"
