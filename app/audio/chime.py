"""The sound of a timer or reminder: two soft tones, made here (no sound file to ship)."""

from __future__ import annotations

import array
import math

from app.core.ports import AudioClip

RATE = 22050


def chime(volume: float = 0.35) -> AudioClip:
    """About 0.9 s: A5 then E6, each fading out, twice as loud as nothing but never harsh."""
    samples = array.array("h")
    for frequency, seconds in ((880.0, 0.35), (1318.5, 0.55)):
        count = int(RATE * seconds)
        for i in range(count):
            t = i / RATE
            envelope = min(1.0, i / (0.01 * RATE)) * math.exp(-4.0 * t / seconds)
            value = math.sin(2 * math.pi * frequency * t) * envelope * volume
            samples.append(int(max(-1.0, min(1.0, value)) * 32767))
    return AudioClip(samples.tobytes(), RATE)
