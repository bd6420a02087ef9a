"""Push-to-talk and spoken replies: the voice side of a turn, off the GUI thread.

States: idle -> listening (recording, partial transcripts) -> transcribing -> idle, and
independently speaking (a reply is being synthesized and played). Speech recognition and
synthesis run on their own worker thread ("hearth-voice"), so the voice can start speaking
while the language model (on the engine thread) is still writing the rest of the reply.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from app.audio.devices import AudioDeviceError, Player, Recorder, rms_level
from app.core.cancel import CancelToken
from app.core.errors import AssistantError
from app.core.ports import AudioClip, SpeechToText, TextToSpeech, Transcript
from app.core.sentences import SentenceSplitter
from app.core.speech import SpeechQueue, VoiceTimings
from app.settings import Settings
from app.workers.jobs import Emit, Job, JobRunner

log = logging.getLogger(__name__)

MIN_SECONDS = 0.3
"""Shorter than this is a tap, not speech."""
PARTIAL_INTERVAL_MS = 250
"""How often to check whether a new partial transcript can start (one runs at a time)."""
SILENT_LEVEL = 0.35
"""rms_level below this (about -39 dBFS) counts as silence when judging the tail."""
TICK_MS = 100
NOT_HEARD = "I didn't catch that. Hold the button (or Ctrl+Space) while you speak."


@dataclass(frozen=True, slots=True)
class VoiceOptions:
    max_seconds: float = 60.0
    review_first: bool = False
    """Put the transcript in the composer instead of sending it."""
    mute: bool = False
    rate: float = 1.0
    volume: float = 1.0
    input_device: str = ""
    output_device: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> VoiceOptions:
        return cls(
            max_seconds=settings.max_recording_seconds,
            review_first=settings.review_transcript,
            mute=settings.mute,
            rate=settings.speech_rate,
            volume=settings.speech_volume,
            input_device=settings.input_device,
            output_device=settings.output_device,
        )


def _silent(pcm: bytes, rate: int) -> bool:
    """No 50 ms window of ``pcm`` rises above SILENT_LEVEL."""
    step = rate // 20 * 2
    return all(rms_level(pcm[i : i + step]) < SILENT_LEVEL for i in range(0, len(pcm), step))


class VoiceController(QObject):
    listening_changed = Signal(bool)
    level = Signal(float)
    """Microphone loudness 0..1, ten times a second while listening."""
    elapsed = Signal(float)
    partial = Signal(str)
    """What has been heard so far, while the user is still speaking."""
    transcribed = Signal(str)
    """The final transcript of a push-to-talk (never empty)."""
    not_heard = Signal(str)
    """A sentence to show when nothing usable was said."""
    notice = Signal(str)
    """A warning to show (recording capped, ...)."""
    error = Signal(object)
    """An AssistantError (no microphone, engine failure)."""
    interrupted = Signal()
    """Push-to-talk was pressed while Hearth was answering: stop the turn."""
    speaking_changed = Signal(bool)
    timings_ready = Signal(object)
    """The VoiceTimings of a voice turn once its first audio played."""

    def __init__(
        self,
        recorder: Recorder,
        player: Player,
        stt: SpeechToText,
        tts: TextToSpeech,
        *,
        options: VoiceOptions | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.recorder = recorder
        self.player = player
        self.stt = stt
        self.tts = tts
        self.options = options or VoiceOptions()
        self.stt_model_id = ""
        """Registry id of ``stt`` (set by the bootstrap; lets settings swap it)."""
        self.runner = JobRunner("hearth-voice", parent=self)
        self._started = 0.0
        self._partial_job: Job | None = None
        self._partial: tuple[float, str] | None = None
        """(seconds of audio covered, text) of the newest partial transcript."""
        self._take = 0
        """Counts recordings, so a late partial of an old one is ignored."""
        self._released: AudioClip | None = None
        """A released recording waiting for the partial transcript in flight."""
        self._final_job: Job | None = None
        self._speech_job: Job | None = None
        self._speech: SpeechQueue | None = None
        self._splitter = SentenceSplitter()
        self.timings: VoiceTimings | None = None
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick)
        self._partial_timer = QTimer(self)
        self._partial_timer.setInterval(PARTIAL_INTERVAL_MS)
        self._partial_timer.timeout.connect(self._request_partial)
        self._poll_player = QTimer(self)
        self._poll_player.setInterval(100)
        self._poll_player.timeout.connect(self._check_speaking)
        self._reply_open = False
        failed = getattr(recorder, "failed", None)  # QtRecorder: device lost mid-recording
        if failed is not None:
            failed.connect(self._recorder_failed)

    # -- listening ----------------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        return self.recorder.recording

    @property
    def speaking(self) -> bool:
        return self._speech_job is not None or self.player.playing

    def press(self) -> None:
        """Push-to-talk down: interrupt whatever Hearth is saying, then listen."""
        if self.listening:
            return
        if self.speaking or self._reply_open:
            self.stop_speaking()
            self.interrupted.emit()
        if self._final_job is not None:
            self._final_job.cancel()
        try:
            self.recorder.start(self.options.input_device)
        except AudioDeviceError as exc:
            self.error.emit(exc)
            return
        self._started = time.monotonic()
        self._take += 1
        self._partial = None
        self._released = None
        self._tick.start()
        self._partial_timer.start()
        self.listening_changed.emit(True)

    def release(self) -> None:
        """Push-to-talk up: transcribe what was said."""
        if not self.listening:
            return
        self._tick.stop()
        self._partial_timer.stop()
        clip = self.recorder.stop()
        self.listening_changed.emit(False)
        self.level.emit(0.0)
        self.timings = VoiceTimings()
        self.timings.mark("release")
        if clip.duration < MIN_SECONDS:
            if self._partial_job is not None:
                self._partial_job.cancel()
            self.not_heard.emit(NOT_HEARD)
            return
        if self._partial_job is not None:
            self._released = clip  # decide when the partial in flight is done
            return
        self._finish(clip)

    def _finish(self, clip: AudioClip) -> None:
        """Use the newest partial if only silence came after it; else transcribe it all."""
        self._released = None
        if self._partial is not None:
            covered, text = self._partial
            tail = clip.pcm[int(covered * clip.sample_rate) * 2 :]
            if text and _silent(tail, clip.sample_rate):
                log.info(
                    "final transcript taken from the partial (tail %.2f s of silence)",
                    len(tail) / 2 / clip.sample_rate,
                )
                self._final(Transcript(text, "", clip.duration, covered))
                return
        job = self._transcribe(clip, "transcribe")
        self._final_job = job
        job.succeeded.connect(self._final)
        job.failed.connect(self.error)
        job.finished.connect(lambda: self._forget_final(job))

    def _recorder_failed(self, error: object) -> None:
        """The microphone went away: say so, and still use what was recorded."""
        self.error.emit(error)
        if self.listening:
            self.release()

    def cancel_listening(self) -> None:
        if self.listening:
            self._tick.stop()
            self._partial_timer.stop()
            self.recorder.stop()
            self.listening_changed.emit(False)

    def _forget_final(self, job: Job) -> None:
        if self._final_job is job:
            self._final_job = None

    def _transcribe(self, clip: AudioClip, name: str) -> Job:
        stt = self.stt

        def work(_emit: Emit, cancel: CancelToken) -> Transcript:
            return stt.transcribe(clip, cancel=cancel)

        return self.runner.submit(work, name)

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
        job = self._transcribe(clip, "partial transcript")
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

        job.succeeded.connect(done)
        job.finished.connect(over)

    def _final(self, result: object) -> None:
        if not isinstance(result, Transcript):
            return
        if self.timings is not None:
            self.timings.mark("transcript")
        if result.heard_nothing:
            self.not_heard.emit(NOT_HEARD)
            return
        self.transcribed.emit(result.text)

    # -- speaking -----------------------------------------------------------------------------

    def begin_reply(self) -> None:
        """A reply to a voice turn starts streaming: get ready to speak it."""
        self.stop_speaking()
        self._reply_open = True
        self._splitter = SentenceSplitter()
        if self.options.mute:
            return
        speech = SpeechQueue()
        self._speech = speech
        tts, options = self.tts, self.options

        def work(emit: Emit, cancel: CancelToken) -> int:
            return speech.run(
                tts, lambda _s, clip: emit(clip), cancel, rate=options.rate, volume=options.volume
            )

        job = self.runner.submit(work, "speak reply")
        self._speech_job = job
        job.progress.connect(self._play)
        job.failed.connect(self.error)
        job.finished.connect(lambda: self._speech_done(job))
        self.speaking_changed.emit(True)

    def feed_reply(self, text: str) -> None:
        if not self._reply_open:
            return
        for sentence in self._splitter.feed(text):
            self._say(sentence)

    def end_reply(self) -> None:
        if not self._reply_open:
            return
        for sentence in self._splitter.flush():
            self._say(sentence)
        self._reply_open = False
        if self._speech is not None:
            self._speech.close()

    def _say(self, sentence: str) -> None:
        if self.timings is not None:
            self.timings.mark("first_sentence")
        if self._speech is not None:
            self._speech.put(sentence)

    def mark_first_token(self) -> None:
        if self.timings is not None:
            self.timings.mark("first_token")

    def _play(self, clip: object) -> None:
        if not isinstance(clip, AudioClip) or self._speech_job is None:
            return
        try:
            self.player.play(clip)
        except AssistantError as exc:
            self.error.emit(exc)
            return
        timings = self.timings
        if timings is not None and "first_audio" not in timings.marks:
            timings.mark("first_audio")
            log.info("voice turn: %s", timings.summary())
            self.timings_ready.emit(timings)
        self._poll_player.start()

    def _speech_done(self, job: Job) -> None:
        if self._speech_job is job:
            self._speech_job = None
            self._speech = None
        self._check_speaking()

    def _check_speaking(self) -> None:
        if not self.speaking:
            self._poll_player.stop()
            self.speaking_changed.emit(False)

    def stop_speaking(self) -> None:
        """Barge-in: silence now, drop queued sentences, stop synthesis."""
        self._reply_open = False
        if self._speech_job is not None:
            self._speech_job.cancel()
            self._speech_job = None
        self._speech = None
        self.player.stop()
        self._check_speaking()

    def apply(self, options: VoiceOptions) -> None:
        self.options = options
        self.player.set_device(options.output_device)

    def warm_up(self) -> Job:
        """Load both speech models in the background so the first push-to-talk is quick."""
        stt, tts = self.stt, self.tts

        def work(_emit: Emit, cancel: CancelToken) -> None:
            if not cancel.is_cancelled():
                stt.load()
            if not cancel.is_cancelled():
                tts.load()

        job = self.runner.submit(work, "load voice")
        job.failed.connect(self.error)
        return job

    def shutdown(self) -> None:
        self.cancel_listening()
        self.stop_speaking()
        self.runner.shutdown()
