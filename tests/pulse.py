"""Fixture: a private PulseAudio server with a virtual speaker and a virtual microphone.

hearth_speaker       a null sink: what Hearth plays; record its monitor to hear it.
hearth_mic_feed      a null sink the test plays speech into (paplay)...
hearth_mic           ...remapped as a real capture source: Hearth's microphone.

A null sink left alone runs on a long (about 2 s) clock, so a recording started on it hears
nothing for its first second or two; ``steady_microphone`` keeps it ticking like a real one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Pulse:
    env: dict[str, str]
    speaker: str = "hearth_speaker"
    mic_feed: str = "hearth_mic_feed"
    mic: str = "hearth_mic"

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )


class PulseUnavailableError(RuntimeError):
    pass


@contextlib.contextmanager
def virtual_pulse(root: Path) -> Iterator[Pulse]:
    """Start a private PulseAudio server under ``root``; point this process at it."""
    if shutil.which("pulseaudio") is None or shutil.which("paplay") is None:
        raise PulseUnavailableError(
            "PulseAudio (Debian packages pulseaudio, pulseaudio-utils) is not installed"
        )
    runtime = root / "run"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = dict(
        os.environ,
        XDG_RUNTIME_DIR=str(runtime),
        PULSE_RUNTIME_PATH=str(runtime / "pulse"),
        HOME=str(root),
    )
    env.pop("PULSE_SERVER", None)
    args = [
        "pulseaudio",
        "--daemonize=no",
        "--exit-idle-time=-1",
        "--disallow-exit",
        "-n",
        "--system=false",
        "--log-target=stderr",
        "--disable-shm=true",
        "--load=module-native-protocol-unix",
        "--load=module-null-sink sink_name=hearth_speaker",
        "--load=module-null-sink sink_name=hearth_mic_feed",
        "--load=module-remap-source master=hearth_mic_feed.monitor source_name=hearth_mic",
        "--load=module-always-sink",
    ]
    log_path = root / "pulse.log"
    saved = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")}
    with (
        log_path.open("w") as log,
        subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT) as proc,
    ):
        pulse = Pulse(env)
        try:
            deadline = time.monotonic() + 20
            while pulse.run("pactl", "info", timeout=5).returncode != 0:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise PulseUnavailableError("pulseaudio did not start: " + log_path.read_text())
                time.sleep(0.1)
            pulse.run("pactl", "set-default-sink", pulse.speaker)
            pulse.run("pactl", "set-default-source", pulse.mic)
            # Qt's PulseAudio backend reads these from this process's environment.
            os.environ["XDG_RUNTIME_DIR"] = env["XDG_RUNTIME_DIR"]
            os.environ["PULSE_RUNTIME_PATH"] = env["PULSE_RUNTIME_PATH"]
            yield pulse
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextlib.contextmanager
def steady_microphone(pulse: Pulse, *, timeout: float = 20) -> Iterator[None]:
    """Keep a low-latency recording of the virtual microphone running (and discarded), so
    the null sink behind it delivers audio in small blocks from the first moment a recording
    starts, as a real microphone does. Returns once audio flows."""
    with subprocess.Popen(
        [
            "parec",
            f"--device={pulse.mic}",
            "--latency-msec=20",
            "--format=s16le",
            "--rate=16000",
            "--channels=1",
            "--raw",
        ],
        env=pulse.env,
        stdout=subprocess.PIPE,
    ) as parec:
        assert parec.stdout is not None
        flowing = threading.Event()

        def drain() -> None:
            assert parec.stdout is not None
            while chunk := parec.stdout.read(640):
                flowing.set()
                del chunk

        reader = threading.Thread(target=drain, name="steady-microphone", daemon=True)
        reader.start()
        try:
            if not flowing.wait(timeout):
                raise PulseUnavailableError("the virtual microphone delivers no audio")
            time.sleep(0.3)  # a few blocks past the first: the sink now runs on the short clock
            yield
        finally:
            parec.terminate()
            parec.wait(10)
            reader.join(10)


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pulse]:
    from tests.conftest import require  # (conftest imports this module)

    try:
        with virtual_pulse(tmp_path_factory.mktemp("pulse")) as server:
            yield server
    except PulseUnavailableError as exc:
        require(False, str(exc))


def write_wav_16k(path: Path, pcm: bytes, rate: int) -> None:
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
