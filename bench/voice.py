"""Voice latency benchmark: real spoken turns through a virtual microphone and speaker.

For each chat model (default and fast) it asks N spoken questions the way a user would: the
question, spoken by piper, is played into a private PulseAudio microphone while push-to-talk is
held in the real window; on release Hearth transcribes, answers and speaks. Every turn records
release -> transcript -> prompt -> first token -> first sentence -> first audio out, read from the
turn's event timestamps (app.core.voice.voice_breakdown). It also
measures the speech-to-text real-time factor (tiny.en and base) and text-to-speech time to first
audio. Figures are printed, never asserted.

    .venv/bin/python -m bench.voice [--turns 6] [--models qwen2.5-coder-0.5b-instruct ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

QUESTIONS = (
    "What is the capital of France?",
    "Where is the spare house key kept?",
    "How many days are there in a week?",
    "What is the code for the garage?",
    "Name a fruit that is yellow.",
    "When is my sister Anna's birthday?",
    "How many legs does a spider have?",
    "Where does my brother Tom live?",
)
"""General questions alternate with questions about the user's own notes (bench.notes),
which recall memories when the memory is on."""
STAGES = (
    ("release->transcript", "hearing (STT)"),
    ("transcript->prompt", "recall and prompt"),
    ("prompt->first_token", "reading the prompt (LLM to first token)"),
    ("first_token->first_sentence", "first sentence written"),
    ("first_sentence->first_audio", "voice (TTS of sentence 1)"),
    ("total", "release -> first audio"),
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.005)
    return False


def speech_figures(registry: object, tts: object) -> dict[str, float]:
    from app.bootstrap import make_speech_to_text
    from app.core.cancel import CancelToken
    from app.core.ports import AudioClip, SpeechToText, TextToSpeech
    from app.settings import Settings

    assert isinstance(tts, TextToSpeech)
    out: dict[str, float] = {}
    started = time.perf_counter()
    first = next(iter(tts.synthesize("Sure, here is what I found.", cancel=CancelToken())))
    out["tts first audio, 6 words (s)"] = time.perf_counter() - started
    started = time.perf_counter()
    clips = list(tts.synthesize(" ".join(QUESTIONS[:4]), cancel=CancelToken()))
    spent = time.perf_counter() - started
    audio = AudioClip(b"".join(c.pcm for c in clips), clips[0].sample_rate)
    out["tts real-time factor"] = spent / audio.duration
    del first
    for model in ("whisper-tiny.en", "whisper-base"):
        stt = make_speech_to_text(registry, model, Settings())  # type: ignore[arg-type]
        assert isinstance(stt, SpeechToText)
        stt.load()
        stt.transcribe(audio, cancel=CancelToken())  # warm
        started = time.perf_counter()
        stt.transcribe(audio, cancel=CancelToken())
        out[f"stt real-time factor, {model} ({audio.duration:.1f} s clip)"] = (
            time.perf_counter() - started
        ) / audio.duration
        stt.close()
    return out


def _more_than(counter: list[int], before: int) -> Callable[[], bool]:
    return lambda: counter[0] > before


def fill_memory(registry: object, workdir: Path, notes: int) -> object:
    """The user's memory: ``notes`` distinct personal notes (bench.notes), real MiniLM
    vectors in a real chroma store, built once per run."""
    from app.bootstrap import make_text_embedder
    from app.core.memory import Memory, fact_id
    from app.core.ports import MemoryRecord
    from app.settings import Settings
    from app.store.chroma_memory import ChromaMemory

    from bench.notes import personal_notes

    memory = Memory(
        make_text_embedder(registry, Settings()),  # type: ignore[arg-type]
        ChromaMemory.open(workdir / "memory"),
    )
    if memory.store.count("fact") < notes:
        now = time.time()
        records = [
            MemoryRecord(fact_id(t), "fact", t, "chat", t[:60], now, now)
            for t in personal_notes(notes)
        ]
        started = time.perf_counter()
        memory.import_records(records)
        print(
            f"  memory: {notes} distinct notes stored in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    return memory


def run_model(
    model_id: str,
    turns: int,
    pulse: object,
    workdir: Path,
    *,
    memory: object | None = None,
    variant: str = "fast",
) -> list[dict[str, float]]:
    """``variant`` "baseline": the turn without the latency work of issue 10 that can be
    switched off (no recall and prompt reading before the release, no early first clause,
    transcripts on their own thread beside the model); "fast": as the app runs now."""
    from app.bootstrap import build_voice, make_language_model
    from app.core.assistant import Assistant
    from app.core.cancel import CancelToken
    from app.core.memory import Memory
    from app.engines.models import ModelRegistry
    from app.settings import Paths, Settings
    from app.store.history import SqliteConversationStore
    from app.ui.main_window import MainWindow
    from app.workers.backend import AssistantBackend
    from PySide6.QtWidgets import QApplication
    from tests.pulse import Pulse, write_wav_16k

    assert isinstance(pulse, Pulse)
    app = QApplication.instance() or QApplication([])
    registry = ModelRegistry(Paths.default().models_cache)
    settings = Settings(
        model=model_id, max_reply_tokens=80, input_device=pulse.mic, output_device=pulse.speaker
    )
    label = f"{model_id}-{'memory' if memory is not None else 'plain'}-{variant}"
    store = SqliteConversationStore(workdir / f"{label}.sqlite3")
    llm = make_language_model(registry, model_id, settings)
    assert memory is None or isinstance(memory, Memory)
    # The store stays the same for every run: answered turns are not added to it.
    config = dataclasses.replace(settings.assistant_config(), remember_turns=False)
    if variant == "baseline":
        config = dataclasses.replace(config, first_clause_words=0)
    assistant = Assistant(llm, store, config, memory)
    backend = AssistantBackend(
        assistant,
        store,
        settings,
        model_factory=lambda m, s: llm,
        models=lambda: [],
        save_settings=lambda s: None,
        data_dir=str(workdir),
    )
    # The app's own wiring, with the devices chosen in settings (the virtual ones).
    voice = build_voice(registry, settings)
    assert voice is not None
    tts = voice.tts
    window = MainWindow(backend, voice)
    if variant == "baseline":
        backend.prepare = lambda *_a: None  # type: ignore[method-assign]
        voice.hear_on(voice.runner)  # transcripts on their own thread, beside the model
    window.show()
    # As the app does at start: models warm in the background before the first question.
    jobs = [backend.warm_up(), voice.warm_up()]
    wait_until(lambda: all(j.done for j in jobs), 120)
    if memory is not None:
        memory.embedder.load()
        memory.store.count("fact")
    wavs = []
    for i, question in enumerate((QUESTIONS * 4)[:turns]):
        clips = list(tts.synthesize(question, cancel=CancelToken()))
        wav = workdir / f"q{i}.wav"
        write_wav_16k(wav, b"".join(c.pcm for c in clips), clips[0].sample_rate)
        wavs.append(wav)
    results: list[dict[str, float]] = []
    finished = [0]
    window.turn_finished.connect(lambda: finished.__setitem__(0, finished[0] + 1))
    for i, wav in enumerate(wavs):
        window.new_conversation()
        done_before = finished[0]
        voice.press()
        wait_until(lambda: False, 0.25)
        with subprocess.Popen(
            ["paplay", f"--device={pulse.mic_feed}", str(wav)], env=pulse.env
        ) as mouth:
            wait_until(lambda: mouth.poll() is not None, 30)
        wait_until(lambda: False, 0.3)
        voice.release()
        spoke = wait_until(_more_than(finished, done_before), 180)
        spoke = spoke and "total" in window.turns.timings()
        wait_until(lambda: not window.busy and not voice.speaking, 120)
        heard = window.chat.bubbles()[0].text if window.chat.bubbles() else ""
        if not spoke:
            print(f"  [{label}] turn {i + 1}: no audio (heard {heard!r})", file=sys.stderr)
            continue
        parts = window.turns.timings()
        results.append(parts)
        recalled = next(
            (e.data.get("count", 0) for e in window.turns.events if e.type.value == "recalled"),
            0,
        )
        parts["recalled"] = float(recalled)
        print(
            f"  [{label}] turn {i + 1}: {parts['total']:.2f} s, {recalled} recalled, "
            f"heard {heard!r}",
            file=sys.stderr,
        )
    window.close()
    llm.close()
    store.close()
    del app
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument(
        "--models", nargs="+", default=["qwen2.5-coder-0.5b-instruct", "smollm2-135m-instruct"]
    )
    parser.add_argument(
        "--memory",
        nargs="+",
        choices=("on", "off"),
        default=["on", "off"],
        help="run with the personal memory on (a store of distinct notes), off, or both",
    )
    parser.add_argument("--notes", type=int, default=450, help="notes in the memory store")
    parser.add_argument(
        "--variants", nargs="+", choices=("baseline", "fast"), default=["baseline", "fast"]
    )
    parser.add_argument("--skip-engines", action="store_true", help="no STT/TTS figures")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import app  # noqa: F401  (offline switches first)
    from app.bootstrap import make_text_to_speech
    from app.engines.models import ModelRegistry
    from app.settings import DEFAULT_VOICE, Paths
    from tests.pulse import steady_microphone, virtual_pulse

    registry = ModelRegistry(Paths.default().models_cache)
    tts = make_text_to_speech(registry, DEFAULT_VOICE)
    tts.load()
    figures = {} if args.skip_engines else speech_figures(registry, tts)
    table: dict[str, list[dict[str, float]]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        virtual_pulse(Path(tmp) / "pulse") as pulse,
        steady_microphone(pulse),  # audio from the first moment of a recording, as a real mic
    ):
        memory = fill_memory(registry, Path(tmp), args.notes) if "on" in args.memory else None
        for model in args.models:
            for mode in args.memory:
                for variant in args.variants:
                    label = f"{model[:5]} mem {mode} {variant}"
                    table[label] = run_model(
                        model,
                        args.turns,
                        pulse,
                        Path(tmp),
                        memory=memory if mode == "on" else None,
                        variant=variant,
                    )
    print()
    print("speech engines (2 cores, one run):")
    for name, value in figures.items():
        print(f"  {name:<48} {value:.3f}")
    print()
    header = f"{'stage (s)':<34}" + "".join(f"{m[:22]:>26}" for m in table)
    print(header)
    print("-" * len(header))
    for key, label in (*STAGES, ("recalled", "memories recalled")):
        cells = []
        for results in table.values():
            values = [r[key] for r in results if key in r]
            cells.append(
                f"p50 {pct(values, 50):.2f} / p95 {pct(values, 95):.2f}" if values else "-"
            )
        print(f"{label:<34}" + "".join(f"{c:>26}" for c in cells))
    print(
        f"{'turns with audio':<34}"
        + "".join(f"{len(r)}/{args.turns:>2}".rjust(26) for r in table.values())
    )
    totals = [r["total"] for rs in table.values() for r in rs]
    if totals:
        print(f"\nall turns: median release -> first audio {statistics.median(totals):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
