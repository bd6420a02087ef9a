"""Push-to-talk: the microphone side of a voice turn, and the Qt home of the voice pipeline.

States: idle -> listening (recording, partial transcripts) -> idle. On release the recording
leaves as :class:`Recording` through ``recorded``; the window hands it to the backend, which
runs the whole spoken turn in the core (:class:`app.core.voice.VoicePipeline`: words, reply,
sentences, speech). Partial transcripts, loading the speech models and ``say`` run on this
object's own worker thread ("hearth-voice"), never on the GUI thread.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from app.audio.devices import Player, Recorder
from app.core.cancel import CancelToken
from app.core.errors import AudioDeviceError
from app.core.gate import ForegroundGate
from app.core.ports import AudioClip, AudioOutput, SpeechToText, TextToSpeech, Transcript
from app.core.voice import SpeechOptions, VoicePipeline, silence_after
from app.settings import Settings
from app.workers.jobs import Emit, Job, JobRunner
from app.workers.qt_audio import QtPlayer, ThreadSafeOutput

log = logging.getLogger(__name__)

MIN_SECONDS = 0.3
"""Shorter than this is a tap, not speech."""
PARTIAL_INTERVAL_MS = 100
"""How often to check whether a new partial transcript can start (one runs at a time)."""
TICK_MS = 100
SETTLED_SECONDS = 0.2
"""Silence after the newest partial transcript for it to count as what the user said."""
NOT_HEARD = "I didn't catch that. Hold the talk button (or the talk shortcut) while you speak."


@dataclass(frozen=True, slots=True)
class VoiceOptions:
    max_seconds: float = 60.0
    mute: bool = False
    rate: float = 1.0
    volume: float = 1.0
    input_device: str = ""
    output_device: str = ""
    llm_threads: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> VoiceOptions:
        return cls(
            max_seconds=settings.max_recording_seconds,
            mute=settings.mute,
            rate=settings.speech_rate,
            volume=settings.speech_volume,
            input_device=settings.input_device,
            output_device=settings.output_device,
            llm_threads=settings.llm_threads,
        )

    def speech(self) -> SpeechOptions:
        return SpeechOptions(
            speak=not self.mute,
            rate=self.rate,
            volume=self.volume,
            llm_threads=self.llm_threads,
            llm_threads_while_speaking=max(1, self.llm_threads - 1),
        )


@dataclass(frozen=True, slots=True)
class Recording:
    """A released push-to-talk, ready for the voice pipeline."""

    clip: AudioClip
    released_at: float
    """time.monotonic() of the release: where the latency of the spoken answer starts."""
    partial: tuple[float, str] | None = None
    """The newest partial transcript: (seconds of audio it covers, text)."""


class VoiceController(QObject):
    listening_changed = Signal(bool)
    level = Signal(float)
    """Microphone loudness 0..1, ten times a second while listening."""
    elapsed = Signal(float)
    partial = Signal(str)
    """What has been heard so far, while the user is still speaking."""
    settled = Signal(str)
    """Silence has followed the newest partial transcript: the user has stopped (or paused)
    and these are most likely their final words, worth preparing the answer for."""
    recorded = Signal(object)
    """A :class:`Recording` to answer (or to :meth:`review`)."""
    transcribed = Signal(str)
    """The words of a reviewed recording, for the composer (never empty)."""
    not_heard = Signal(str)
    """A sentence to show when nothing usable was said."""
    notice = Signal(str)
    """A warning to show (recording capped, ...)."""
    error = Signal(object)
    """An AssistantError (no microphone, engine failure)."""
    interrupted = Signal()
    """Push-to-talk was pressed while Hearth was answering or speaking: stop that."""

    def __init__(
        self,
        recorder: Recorder,
        player: Player,
        stt: SpeechToText,
        tts: TextToSpeech,
        *,
        options: VoiceOptions | None = None,
        gate: ForegroundGate | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.recorder = recorder
        self.player = player
        self.options = options or VoiceOptions()
        self.output: AudioOutput = (
            ThreadSafeOutput(player, self) if isinstance(player, QtPlayer) else player
        )
        self.pipeline = VoicePipeline(
            stt, tts, self.output, options=self.options.speech(), gate=gate
        )
        self.stt_model_id = ""
        """Registry id of ``stt`` (set by the bootstrap; lets settings swap it)."""
        self.runner = JobRunner("hearth-voice", parent=self)
        self.hearing: JobRunner = self.runner
        """Where transcripts are made (see :meth:`hear_on`)."""
        self._started = 0.0
        self._partial_job: Job | None = None
        self._partial: tuple[float, str] | None = None
        """(seconds of audio covered, text) of the newest partial transcript."""
        self._settled: tuple[float, str] | None = None
        """The partial transcript ``settled`` was last emitted for."""
        self._take = 0
        """Counts recordings, so a late partial of an old one is ignored."""
        self._released: Recording | None = None
        """A released recording waiting for the partial transcript in flight."""
        self._saying: Job | None = None
        self.answering = False
        """A reply is being written or spoken (set by the window from the turn's events)."""
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick)
        self._partial_timer = QTimer(self)
        self._partial_timer.setInterval(PARTIAL_INTERVAL_MS)
        self._partial_timer.timeout.connect(self._request_partial)
        failed = getattr(recorder, "failed", None)  # QtRecorder: device lost mid-recording
        if failed is not None:
            failed.connect(self._recorder_failed)

    @property
    def stt(self) -> SpeechToText:
        return self.pipeline.stt

    @property
    def tts(self) -> TextToSpeech:
        return self.pipeline.tts

    @property
    def gate(self) -> ForegroundGate:
        return self.pipeline.gate

    def hear_on(self, runner: JobRunner) -> None:
        """Make transcripts on ``runner``, the thread that also prepares and answers turns.
        On two cores a partial transcript and the model reading the prompt each want both
        cores; side by side (llama.cpp's threads spin while they wait) each took 1.5-3 times
        as long, so one after the other is sooner for both."""
        self.hearing = runner

    # -- listening ----------------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        return self.recorder.recording

    @property
    def speaking(self) -> bool:
        return self.output.playing

    def press(self) -> None:
        """Push-to-talk down: interrupt whatever Hearth is saying, then listen."""
        if self.listening:
            return
        if self.answering or self.output.playing:
            self.stop_speaking()
            self.interrupted.emit()
        try:
            self.recorder.start(self.options.input_device)
        except AudioDeviceError as exc:
            self.error.emit(exc)
            return
        self.gate.hold("recording")
        self._started = time.monotonic()
        self._take += 1
        self._partial = None
        self._settled = None
        self._released = None
        self._tick.start()
        self._partial_timer.start()
        self.listening_changed.emit(True)

    def release(self) -> None:
        """Push-to-talk up: hand the recording on (or say that nothing was heard)."""
        if not self.listening:
            return
        released_at = time.monotonic()
        clip = self._stop_recording()
        if clip.duration < MIN_SECONDS:
            if self._partial_job is not None:
                self._partial_job.cancel()
            self.gate.release("recording")
            self.not_heard.emit(NOT_HEARD)
            return
        recording = Recording(clip, released_at)
        if self._partial_job is not None:
            self._released = recording  # decide when the partial in flight is done
            return
        self._finish(recording)

    def _stop_recording(self) -> AudioClip:
        self._tick.stop()
        self._partial_timer.stop()
        clip = self.recorder.stop()
        self.listening_changed.emit(False)
        self.level.emit(0.0)
        return clip

    def _finish(self, recording: Recording) -> None:
        self._released = None
        done = Recording(recording.clip, recording.released_at, self._partial)
        try:
            self.recorded.emit(done)  # its turn holds the gate from here on
        finally:
            self.gate.release("recording")

    def review(self, recording: Recording) -> None:
        """Review-first mode: only the words, through ``transcribed`` (or ``not_heard``)."""
        pipeline = self.pipeline

        def work(_emit: Emit, cancel: CancelToken) -> Transcript:
            return pipeline.transcribe(recording.clip, cancel, recording.partial)[0]

        job = self.hearing.submit(work, "transcribe")

        def done(result: object) -> None:
            if isinstance(result, Transcript):
                if result.heard_nothing:
                    self.not_heard.emit(NOT_HEARD)
                else:
                    self.transcribed.emit(result.text)

        job.succeeded.connect(done)

    def _recorder_failed(self, error: object) -> None:
        """The microphone went away: say so, and still use what was recorded."""
        self.error.emit(error)
        if self.listening:
            self.release()

    def cancel_listening(self) -> None:
        if self.listening:
            self._stop_recording()
            self.gate.release("recording")

    def _on_tick(self) -> None:
        seconds = time.monotonic() - self._started
        self.elapsed.emit(seconds)
        self.level.emit(self.recorder.level())
        if seconds >= self.options.max_seconds:
            self.notice.emit(
                f"Recording stopped at {self.options.max_seconds:.0f} seconds, the longest "
                "Hearth listens at once."
            )
            self.release()

    def _request_partial(self) -> None:
        if self._partial_job is not None or not self.listening:
            return  # one partial at a time; the next tick takes the longer buffer
        clip = self.recorder.snapshot()
        if clip.duration < MIN_SECONDS:
            return
        # Only silence after the newest partial: it already holds every word said, so another
        # would take the CPU that preparing the answer needs, and a release would wait for it.
        quiet = silence_after(clip, self._partial[0]) if self._partial is not None else None
        if quiet is not None:
            self._settle(quiet)
            return
        stt = self.pipeline.stt

        def work(_emit: Emit, cancel: CancelToken) -> Transcript:
            return stt.transcribe(clip, cancel=cancel)

        job = self.hearing.submit(work, "partial transcript")
        job.quiet = True  # a failed partial costs nothing: the final transcript says why
        self._partial_job = job
        take = self._take

        def done(result: object) -> None:
            if isinstance(result, Transcript) and take == self._take:
                self._partial = (clip.duration, result.text)
                if result.text and self.listening:
                    self.partial.emit(result.text)

        def over() -> None:
            if self._partial_job is job:
                self._partial_job = None
            if self._released is not None:
                self._finish(self._released)
            elif self.listening:
                self._request_partial()  # the next one now, not at the next tick

        job.succeeded.connect(done)
        job.finished.connect(over)

    def _settle(self, quiet: float) -> None:
        """After SETTLED_SECONDS of silence, the newest partial is what was said: once."""
        partial = self._partial
        if partial is None or partial == self._settled or quiet < SETTLED_SECONDS:
            return
        self._settled = partial
        if partial[1].strip():
            self.settled.emit(partial[1])

    # -- speaking -----------------------------------------------------------------------------

    def say(self, text: str) -> Job:
        """Speak ``text`` outside a turn (a reminder, a confirmation); its events arrive
        through ``job.progress``; push-to-talk or :meth:`stop_speaking` interrupts it."""
        pipeline = self.pipeline

        def work(emit: Emit, cancel: CancelToken) -> int:
            return pipeline.say(text, emit, cancel)

        job = self.runner.submit(work, "say")
        self._saying = job
        job.finished.connect(lambda: self._said(job))
        return job

    def _said(self, job: Job) -> None:
        if self._saying is job:
            self._saying = None

    def stop_speaking(self) -> None:
        """Barge-in: silence now (the turn's cancel drops what is queued)."""
        if self._saying is not None:
            self._saying.cancel()
        self.output.stop()

    def apply(self, options: VoiceOptions) -> None:
        self.options = options
        self.pipeline.options = options.speech()
        self.player.set_device(options.output_device)

    def use_speech_to_text(self, stt: SpeechToText, model_id: str) -> Job:
        """Recognise with ``stt`` from now on; the old model is closed off the GUI thread."""
        old = self.pipeline.set_speech_to_text(stt)
        self.stt_model_id = model_id

        def work(_emit: Emit, _cancel: CancelToken) -> None:
            if old is not stt:
                old.close()

        return self.runner.submit(work, "close speech model")

    def warm_up(self) -> Job:
        """Load both speech models in the background so the first push-to-talk is quick."""
        stt, tts = self.pipeline.stt, self.pipeline.tts

        def work(_emit: Emit, cancel: CancelToken) -> None:
            if not cancel.is_cancelled():
                stt.load()
            if not cancel.is_cancelled():
                tts.load()

        return self.runner.submit(work, "load voice")

    def shutdown(self) -> None:
        """Quit: stop listening and speaking, cancel the jobs; a model still loading is not
        waited for beyond QUIT_WAIT_MS."""
        from app.workers.jobs import QUIT_WAIT_MS

        self.cancel_listening()
        self.stop_speaking()
        self.runner.shutdown(QUIT_WAIT_MS)
