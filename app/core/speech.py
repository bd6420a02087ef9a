"""Speaking a reply while it is being written, and timing a voice turn.

:class:`SpeechQueue` sits between the reply stream and the voice: the GUI thread puts each
sentence in as soon as the splitter completes it; a worker thread takes them out, synthesizes
them one by one and hands each clip on to be played. Cancelling (barge-in) drops whatever is
queued and stops between sentences.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.cancel import CancelToken
from app.core.ports import AudioClip, TextToSpeech

_CLOSE = object()


class SpeechQueue:
    def __init__(self) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self.spoken: list[str] = []

    def put(self, sentence: str) -> None:
        self._queue.put(sentence)

    def close(self) -> None:
        """No more sentences: ``run`` returns once the queued ones are spoken."""
        self._queue.put(_CLOSE)

    def run(
        self,
        tts: TextToSpeech,
        on_clip: Callable[[str, AudioClip], None],
        cancel: CancelToken,
        *,
        rate: float = 1.0,
        volume: float = 1.0,
    ) -> int:
        """Synthesize sentences until closed or cancelled; returns how many were spoken."""
        while not cancel.is_cancelled():
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            if item is _CLOSE:
                break
            sentence = str(item)
            for clip in tts.synthesize(sentence, cancel=cancel, rate=rate, volume=volume):
                if cancel.is_cancelled():
                    break
                on_clip(sentence, clip)
            if not cancel.is_cancelled():
                self.spoken.append(sentence)
        return len(self.spoken)


STAGES = ("release", "transcript", "first_token", "first_sentence", "first_audio")
"""The marks of a voice turn, in the order they normally happen."""


@dataclass(slots=True)
class VoiceTimings:
    """Monotonic timestamps of one voice turn; the first mark of each stage wins."""

    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, stage: str, at: float | None = None) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage}")
        self.marks.setdefault(stage, time.monotonic() if at is None else at)

    def breakdown(self) -> dict[str, float]:
        """Seconds between consecutive marks, plus ``total`` (release -> first audio)."""
        out: dict[str, float] = {}
        previous: str | None = None
        for stage in STAGES:
            if stage not in self.marks:
                continue
            if previous is not None:
                out[f"{previous}->{stage}"] = self.marks[stage] - self.marks[previous]
            previous = stage
        if "release" in self.marks and "first_audio" in self.marks:
            out["total"] = self.marks["first_audio"] - self.marks["release"]
        return out

    def summary(self) -> str:
        parts = self.breakdown()
        if "total" not in parts:
            return ""
        names = {
            "release->transcript": "hearing",
            "transcript->first_token": "thinking",
            "first_token->first_sentence": "first sentence",
            "first_sentence->first_audio": "voice",
        }
        detail = ", ".join(f"{names.get(k, k)} {v:.2f} s" for k, v in parts.items() if k != "total")
        return f"Spoke after {parts['total']:.2f} s ({detail})"
