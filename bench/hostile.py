"""Hostile-input benchmark (issue 9): prints figures, asserts nothing.

* A long clip (about 5 minutes of speech, the app's own voice reading a known text): time,
  real-time factor, peak RSS, words heard and WER, for the old single call (timestamps off)
  and for the pieces cut at silences that Hearth uses now. Each in a fresh process.
* A 50 MB text file through the real `hearth index`: from scratch; then again in a new data
  folder, killed with SIGKILL at half its chunks and resumed. Time to finish after the resume
  against from scratch, and peak RSS of each run.
* Model verification at start: a fresh process loads the default chat model and answers one
  short question, with the sha256 check beside the load and without it (warm page cache).

    .venv/bin/python -m bench.hostile [--only audio index verify] [--mb 50] [--minutes 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from tests.wer import normalise

REPO = Path(__file__).resolve().parents[1]
HEARTH = REPO / ".venv" / "bin" / "hearth"

PROSE = """Hearth keeps everything on the computer in front of you. When you ask it a question, the
words you type or say are read by a small language model that runs on the processor of this
machine, and the answer is written back to you one word at a time. Nothing is sent to a server.
The assistant can listen as well as read. Hold the talk key and speak, and your voice is turned
into text by a speech model that also lives on this computer. Let go of the key, and the answer is
spoken aloud by a voice that was installed together with the program. Your notes and documents can
be added to its memory. Choose a folder, and every text file in it is read and cut into short
passages. When the answer comes from one of your files, the file is named under the reply. When
nothing in memory is close enough, the assistant says that it does not know. The weather in the
mountains changed quickly that afternoon. Clouds came over the ridge, the wind turned cold, and the
walkers went back down the valley before the rain. At the bottom they found a small inn with a
fire, hot soup and bread, and they stayed there until the evening."""


def peak_rss_mb(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> float:
    """Poll a running process's resident memory until it ends; its peak, in MB."""
    import psutil

    peak = 0
    try:
        watched = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.Error:
                break
            time.sleep(0.1)
    except psutil.Error:
        pass
    proc.wait()
    return peak / 1e6


# -- long audio -----------------------------------------------------------------------------------


def wer(reference: str, hypothesis: str) -> float:
    from tests.wer import word_errors

    errors, total = word_errors(reference, hypothesis)
    return errors / max(1, total)


def make_clip(folder: Path, minutes: float) -> tuple[Path, str]:
    from app.bootstrap import make_text_to_speech
    from app.core.cancel import CancelToken
    from app.engines.models import ModelRegistry
    from app.settings import DEFAULT_VOICE, Paths
    from tests.pulse import write_wav_16k

    tts = make_text_to_speech(ModelRegistry(Paths.default().models_cache), DEFAULT_VOICE)
    text, pcm, rate = "", b"", 22050
    while len(pcm) / 2 / rate < minutes * 60:
        clips = list(tts.synthesize(" ".join(PROSE.split()), cancel=CancelToken()))
        rate = clips[0].sample_rate
        pcm += b"".join(c.pcm for c in clips)
        text += " " + PROSE
    wav = folder / "long.wav"
    write_wav_16k(wav, pcm, rate)
    (folder / "long.txt").write_text(text, encoding="utf-8")
    return wav, text


def audio_child(wav: Path, mode: str) -> int:
    """In a fresh process: transcribe ``wav`` the old way or the new; print JSON."""
    import resource

    from app.bootstrap import make_speech_to_text
    from app.core.cancel import CancelToken
    from app.engines.models import ModelRegistry
    from app.engines.whisper_stt import WHISPER_RATE, WhisperSpeechToText
    from app.settings import DEFAULT_STT, Paths, Settings
    from faster_whisper import decode_audio

    stt = make_speech_to_text(ModelRegistry(Paths.default().models_cache), DEFAULT_STT, Settings())
    assert isinstance(stt, WhisperSpeechToText)
    stt.load()
    audio = decode_audio(str(wav), sampling_rate=WHISPER_RATE)
    seconds = len(audio) / WHISPER_RATE
    started = time.perf_counter()
    if mode == "before":  # the single call every clip took before (issue 9)
        texts, _language, _speech = stt._whole(stt._model.get(), audio, seconds, CancelToken())
        text = " ".join(texts)
    else:
        text = stt._run(audio, seconds, CancelToken()).text
    spent = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "spent": spent, "peak_mb": peak, "text": text}))
    return 0


def bench_audio(folder: Path, minutes: float) -> list[str]:
    wav, reference = make_clip(folder, minutes)
    out = []
    for mode in ("before", "after"):
        done = subprocess.run(
            [sys.executable, "-m", "bench.hostile", "--audio-child", str(wav), mode],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        heard, total = len(normalise(r["text"])), len(normalise(reference))
        out.append(
            f"  {mode:<6} {r['seconds']:.0f} s clip: {r['spent']:.1f} s "
            f"(RTF {r['spent'] / r['seconds']:.3f}), peak RSS {r['peak_mb']:.0f} MB, "
            f"{heard} of {total} words, WER {wer(reference, r['text']):.3f}"
        )
        print(out[-1], flush=True)
    return out


# -- a 50 MB text file, killed at half and resumed ------------------------------------------------


def make_text(folder: Path, megabytes: int) -> Path:
    rng = random.Random(9)
    vocabulary = sorted(set(normalise(PROSE)))
    path = folder / "docs" / "huge.txt"
    path.parent.mkdir(parents=True)
    size, target = 0, megabytes * 1_000_000
    with path.open("w", encoding="utf-8") as out:
        n = 0
        while size < target:
            sentence = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(8, 20)))
            line = f"Paragraph {n}: {sentence.capitalize()}.\n\n"
            out.write(line)
            size += len(line)
            n += 1
    return path


def env_for(data: Path) -> dict[str, str]:
    return dict(os.environ, HEARTH_DATA_DIR=str(data))


def state_of(data: Path) -> tuple[str, int, int]:
    db = data / "index.sqlite3"
    if not db.is_file():
        return ("", 0, 0)
    with closing(sqlite3.connect(db, timeout=30)) as con:
        row = con.execute("SELECT status, done, chunks FROM files").fetchone()
    return (str(row[0]), int(row[1]), int(row[2])) if row else ("", 0, 0)


def index_run(folder: Path, data: Path, *, kill_at_half: bool = False) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(HEARTH), "index", str(folder)],
        env=env_for(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    killed_at = 0
    if kill_at_half:
        import threading

        peak: list[float] = []
        watcher = threading.Thread(target=lambda: peak.append(peak_rss_mb(proc)), daemon=True)
        watcher.start()
        while proc.poll() is None:
            _status, done, chunks = state_of(data)
            if chunks and done >= chunks // 2:
                killed_at = done
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.2)
        watcher.join()
        return {
            "seconds": time.perf_counter() - started,
            "peak_mb": peak[0] if peak else 0.0,
            "killed_at": killed_at,
            "chunks": state_of(data)[2],
        }
    peak_mb = peak_rss_mb(proc)
    summary = proc.stdout.read() if proc.stdout else ""
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_mb, "summary": summary}  # type: ignore[dict-item]


def bench_index(folder: Path, megabytes: int) -> list[str]:
    path = make_text(folder, megabytes)
    out = [f"  file: {path.stat().st_size / 1e6:.0f} MB of text"]
    print(out[-1], flush=True)
    full = index_run(path.parent, folder / "data-full")
    status, done, chunks = state_of(folder / "data-full")
    out.append(
        f"  from scratch: {full['seconds']:.0f} s, {chunks} chunks ({status}), "
        f"peak RSS {full['peak_mb']:.0f} MB"
    )
    print(out[-1], flush=True)
    killed = index_run(path.parent, folder / "data-resume", kill_at_half=True)
    out.append(
        f"  killed after {killed['seconds']:.0f} s at chunk {int(killed['killed_at'])} of "
        f"{int(killed['chunks'])}, peak RSS {killed['peak_mb']:.0f} MB"
    )
    print(out[-1], flush=True)
    resumed = index_run(path.parent, folder / "data-resume")
    status, done, chunks = state_of(folder / "data-resume")
    out.append(
        f"  resumed: {resumed['seconds']:.0f} s to finish ({status}, {done} of {chunks}), "
        f"peak RSS {resumed['peak_mb']:.0f} MB; "
        f"{str(resumed['summary']).strip().splitlines()[0] if resumed['summary'] else ''}"
    )
    out.append(
        f"  resume / from scratch: {resumed['seconds'] / full['seconds']:.2f} "
        f"(killed + resumed / from scratch: "
        f"{(killed['seconds'] + resumed['seconds']) / full['seconds']:.2f})"
    )
    print("\n".join(out[-2:]), flush=True)
    return out


# -- verification at start -------------------------------------------------------------------------


def verify_child(mode: str) -> int:
    """In a fresh process (nothing hashed yet): load the default model, answer one question."""
    from app.bootstrap import make_language_model
    from app.core.cancel import CancelToken
    from app.core.ports import ChatMessage
    from app.engines.llama_llm import LlamaLanguageModel
    from app.engines.models import ModelRegistry
    from app.settings import DEFAULT_MODEL, Paths, Settings

    registry = ModelRegistry(Paths.default().models_cache)
    settings = Settings()
    started = time.perf_counter()
    if mode == "checked":
        llm = make_language_model(registry, DEFAULT_MODEL, settings)
    else:
        path = registry.resolve(DEFAULT_MODEL).path
        llm = LlamaLanguageModel(path, name="unchecked", n_ctx=settings.context_tokens)
    llm.load()
    loaded = time.perf_counter() - started
    stream = llm.stream(
        [ChatMessage("user", "Say hello.")], max_tokens=8, temperature=0.0, cancel=CancelToken()
    )
    next(iter(stream))
    first = time.perf_counter() - started
    getattr(stream, "close", lambda: None)()  # let go of the model before closing it
    llm.close()
    print(json.dumps({"loaded": loaded, "first_token": first}))
    return 0


def bench_verify(runs: int) -> list[str]:
    figures: dict[str, list[tuple[float, float]]] = {"checked": [], "unchecked": []}
    for _ in range(runs):
        for mode, values in figures.items():
            done = subprocess.run(
                [sys.executable, "-m", "bench.hostile", "--verify-child", mode],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(done.stdout.strip().splitlines()[-1])
            values.append((r["loaded"], r["first_token"]))
    out = []
    for mode, values in figures.items():
        loads = statistics.median(v[0] for v in values)
        firsts = statistics.median(v[1] for v in values)
        out.append(f"  {mode:<9} load {loads:.2f} s, first token {firsts:.2f} s (median of {runs})")
    added = statistics.median(v[1] for v in figures["checked"]) - statistics.median(
        v[1] for v in figures["unchecked"]
    )
    out.append(f"  added to the first token by the check: {added:+.2f} s")
    print("\n".join(out), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--only", nargs="+", default=["audio", "index", "verify"])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--audio-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--verify-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import app  # noqa: F401  (offline switches first)

    if args.audio_child:
        return audio_child(Path(args.audio_child[0]), args.audio_child[1])
    if args.verify_child:
        return verify_child(args.verify_child)
    report: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "verify" in args.only:
            print("model verification at start (default chat model, warm page cache):")
            report += ["model verification at start:", *bench_verify(args.runs)]
        if "audio" in args.only:
            print(f"long clip ({args.minutes:.0f} min), whisper tiny.en, 2 threads:")
            report += ["long clip:", *bench_audio(folder, args.minutes)]
        if "index" in args.only:
            print(f"{args.mb} MB text file through hearth index:")
            report += ["indexing a huge file:", *bench_index(folder, args.mb)]
    print("\n" + "\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
