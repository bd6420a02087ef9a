from __future__ import annotations

import array
import wave
from pathlib import Path

import pytest
from app.audio.wav import AudioFileError, read_wav, write_wav
from app.core.ports import AudioClip


def test_round_trip(tmp_path: Path) -> None:
    clips = [
        AudioClip(array.array("h", [0, 1000, -1000]).tobytes(), 22050),
        AudioClip(array.array("h", [5, 6]).tobytes(), 22050),
    ]
    path = tmp_path / "x.wav"
    write_wav(path, clips)
    back = read_wav(path)
    assert back.sample_rate == 22050 and back.frames == 5
    assert back.pcm == clips[0].pcm + clips[1].pcm
    assert back.duration == pytest.approx(5 / 22050)


def test_stereo_is_mixed_down(tmp_path: Path) -> None:
    path = tmp_path / "s.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(array.array("h", [100, 300, -200, 0]).tobytes())
    clip = read_wav(path)
    assert array.array("h", clip.pcm).tolist() == [200, -100]


def test_mixed_rates_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mixed sample rates"):
        write_wav(tmp_path / "m.wav", [AudioClip(b"\0\0", 16000), AudioClip(b"\0\0", 22050)])


def test_not_a_wav_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.wav"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(AudioFileError, match="not a readable WAV"):
        read_wav(path)
