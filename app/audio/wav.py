"""Read and write mono 16-bit WAV files with the standard library (atomic writes)."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable
from pathlib import Path

from app.core.errors import AssistantError
from app.core.ports import AudioClip
from app.fsutil import atomic_write_bytes


class AudioFileError(AssistantError):
    code = "audio-file"


def wav_bytes(clips: Iterable[AudioClip], sample_rate: int | None = None) -> bytes:
    """One WAV file from clips of the same sample rate."""
    buffer = io.BytesIO()
    rate = sample_rate
    frames = bytearray()
    for clip in clips:
        if rate is None:
            rate = clip.sample_rate
        if clip.sample_rate != rate:
            raise ValueError(f"mixed sample rates: {clip.sample_rate} and {rate}")
        frames += clip.pcm
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate or 16000)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


def write_wav(path: Path, clips: Iterable[AudioClip], sample_rate: int | None = None) -> None:
    atomic_write_bytes(path, wav_bytes(clips, sample_rate))


def read_wav(path: Path) -> AudioClip:
    """A mono 16-bit WAV file (stereo is mixed down); other encodings get a clear error."""
    try:
        with wave.open(str(path), "rb") as src:
            channels, width, rate = src.getnchannels(), src.getsampwidth(), src.getframerate()
            data = src.readframes(src.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise AudioFileError(f"{path.name} is not a readable WAV file: {exc}") from exc
    if width != 2:
        raise AudioFileError(f"{path.name} uses {8 * width}-bit samples; Hearth reads 16-bit WAV.")
    if channels == 2:
        import array

        samples = array.array("h", data)
        mono = array.array(
            "h", ((samples[i] + samples[i + 1]) // 2 for i in range(0, len(samples) - 1, 2))
        )
        data = mono.tobytes()
    elif channels != 1:
        raise AudioFileError(f"{path.name} has {channels} channels; Hearth reads mono or stereo.")
    return AudioClip(data, rate)
