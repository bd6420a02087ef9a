from __future__ import annotations

import array
import math

from app.audio.devices import rms_level


def tone(amplitude: float, n: int = 1600) -> bytes:
    return array.array("h", [int(amplitude * 32767 * math.sin(i / 5)) for i in range(n)]).tobytes()


def test_levels_rise_with_loudness_and_stay_in_range() -> None:
    assert rms_level(b"") == 0.0
    assert rms_level(bytes(3200)) == 0.0
    quiet, mid, loud = rms_level(tone(0.01)), rms_level(tone(0.1)), rms_level(tone(0.9))
    assert 0.0 < quiet < mid < loud <= 1.0
    assert rms_level(tone(0.9) + b"\x01") == loud  # an odd trailing byte is ignored
