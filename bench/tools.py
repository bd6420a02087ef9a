"""Agent tools benchmark: the fast path on the phrasing set, and spoken commands end to end.

1. Fast path: every phrasing of tests/unit/tool_phrases.py matched (warm) five times; the
   median per phrase, then p50/p95 over the phrases that match and those that do not; the
   accuracy and wrong-action rate on the set (a wrong action: a tool that would run with
   something the phrase did not ask for).
2. Spoken commands: each command, spoken by piper, is played into a private PulseAudio
   microphone while push-to-talk is held in the real window (real whisper, real piper, the
   default model loaded but not asked); release -> first audio of the spoken confirmation,
   p50/p95, and whether the right thing was done.

    .venv/bin/python -m bench.tools [--turns 12] [--skip-voice]

3. Model fallback: each phrasing of tool_phrases.FALLBACK (what the templates leave to the
   model, and chit-chat that only names a tool's subject) read by each shipped model under the
   registry's JSON schema; time per choice p50/p95, accuracy of the tool chosen, and the
   wrong-tool rate (a tool where another or none was wanted; "none" instead of a tool is a
   miss, not a wrong action).

    .venv/bin/python -m bench.tools [--turns 12] [--skip-voice] [--skip-fallback]

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from app.core.ports import LanguageModel

from bench.voice import _more_than, pct, wait_until

COMMANDS = (
    ("Set a timer for ten minutes.", "Timer set for 10 minutes."),
    ("Remind me to call mum at five.", "I'll remind you to call mum"),
    ("What timers do I have?", "You have"),
    ("Set a pasta timer for twelve minutes.", "Pasta timer set for 12 minutes."),
    ("How long is left on the pasta timer?", "left on the pasta timer"),
    ("What time is it?", "It is"),
)


def fast_path() -> None:
    from app.core.tools.intents import Matcher, warm_up
    from tests.unit.test_tool_phrases import NOW, ZONE, judge
    from tests.unit.tool_phrases import ALL

    warm_up()
    matcher = Matcher(lambda: NOW, lambda: ZONE)
    hits: list[float] = []
    misses: list[float] = []
    for text, tool, _args in ALL:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            matcher.match(text)
            times.append((time.perf_counter() - started) * 1000)
        (hits if tool is not None else misses).append(statistics.median(times))
    wrong_lines = judge(ALL)
    missed, wrong = wrong_lines
    accuracy = 1 - (len(missed) + len(wrong)) / len(ALL)
    print(f"fast path on {len(ALL)} phrasings ({len(hits)} commands, {len(misses)} others):")
    print(f"  match time, commands      p50 {pct(hits, 50):.2f} ms / p95 {pct(hits, 95):.2f} ms")
    print(
        f"  match time, not commands  p50 {pct(misses, 50):.2f} ms / p95 {pct(misses, 95):.2f} ms"
    )
    print(
        f"  accuracy {accuracy:.1%}, wrong actions {len(wrong)} ({len(wrong) / len(ALL):.1%}), "
        f"left to the model {len(missed)}"
    )
    for line in missed + wrong:
        print("   ", line)


def _same(value: LanguageModel) -> LanguageModel:
    return value


def fallback() -> None:
    from app.bootstrap import make_language_model
    from app.core.tools.alarms import AlarmBook, MemoryAlarmStore
    from app.core.tools.clock import ManualClock
    from app.core.tools.fallback import ModelChooser, might_be_tool
    from app.core.tools.intents import Matcher
    from app.core.tools.setup import tool_registry
    from app.engines.models import ModelRegistry
    from app.settings import DEFAULT_MODEL, FAST_MODEL, Paths, Settings
    from tests.unit.test_tool_phrases import NOW, ZONE
    from tests.unit.tool_phrases import FALLBACK, FALLBACK_HELD_OUT

    matcher = Matcher(lambda: NOW, lambda: ZONE)
    paths = Paths.default(None)
    for model_id in (DEFAULT_MODEL, FAST_MODEL):
        llm = make_language_model(ModelRegistry(paths.models_cache), model_id, Settings())
        llm.load()
        clock = ManualClock(NOW)
        registry = tool_registry(AlarmBook(MemoryAlarmStore(), clock))
        chooser = ModelChooser(functools.partial(_same, llm), registry, clock)
        chooser.choose("set a timer for one minute")  # warm: the prompt prefix is cached
        for label, phrases in (("tuned on", FALLBACK), ("held out", FALLBACK_HELD_OUT)):
            left = [(t, e) for t, e in phrases if matcher.match(t) is None]
            times, right, wrong, asked = [], 0, [], 0
            for text, expected in left:
                call = chooser.choose(text)
                if might_be_tool(text):
                    asked += 1
                    times.append(chooser.last_seconds)
                got = call.tool if call is not None else None
                if got == expected:
                    right += 1
                elif call is not None:
                    wrong.append(f"{text!r}: wanted {expected}, got {got} {dict(call.args)}")
            n = len(left)
            print(
                f"fallback {model_id}, {label}: {n} phrasings the templates miss "
                f"(of {len(phrases)}), {asked} reached the model, choice p50 "
                f"{pct(times, 50):.2f} s / p95 {pct(times, 95):.2f} s, accuracy {right / n:.0%}, "
                f"wrong tool {len(wrong)} ({len(wrong) / n:.0%})"
            )
            for line in wrong:
                print("  wrong:", line)
        llm.close()


def spoken(turns: int) -> None:
    from app.bootstrap import build_voice, make_language_model
    from app.core.assistant import Assistant
    from app.core.cancel import CancelToken
    from app.core.handlers import MemoryHandler
    from app.core.tools.alarms import AlarmBook, MemoryAlarmStore
    from app.core.tools.clock import SystemClock
    from app.core.tools.setup import tool_handler
    from app.engines.models import ModelRegistry
    from app.settings import Paths, Settings
    from app.store.history import SqliteConversationStore
    from app.ui.main_window import MainWindow
    from app.workers.alarms import AlarmScheduler
    from app.workers.backend import AssistantBackend
    from PySide6.QtWidgets import QApplication
    from tests.pulse import steady_microphone, virtual_pulse, write_wav_16k

    app = QApplication.instance() or QApplication([])
    registry = ModelRegistry(Paths.default().models_cache)
    with (
        tempfile.TemporaryDirectory() as tmp,
        virtual_pulse(Path(tmp) / "pulse") as pulse,
        steady_microphone(pulse),
    ):
        workdir = Path(tmp)
        settings = Settings(input_device=pulse.mic, output_device=pulse.speaker)
        store = SqliteConversationStore(workdir / "history.sqlite3")
        llm = make_language_model(registry, settings.model, settings)
        book = AlarmBook(MemoryAlarmStore(), SystemClock(ZoneInfo("Europe/London")))
        assistant = Assistant(
            llm,
            store,
            settings.assistant_config(),
            None,
            handlers=[MemoryHandler(None), tool_handler(book)],
        )
        backend = AssistantBackend(
            assistant,
            store,
            settings,
            model_factory=lambda m, s: llm,
            models=lambda: [],
            save_settings=lambda s: None,
            data_dir=str(workdir),
        )
        voice = build_voice(registry, settings)
        assert voice is not None
        window = MainWindow(backend, voice, AlarmScheduler(book))
        window.show()
        jobs = [backend.warm_up(), voice.warm_up()]  # as the app does at start
        wait_until(lambda: all(j.done for j in jobs), 180)
        wavs = []
        for i, (command, _reply) in enumerate(COMMANDS):
            clips = list(voice.tts.synthesize(command, cancel=CancelToken()))
            wav = workdir / f"c{i}.wav"
            write_wav_16k(wav, b"".join(c.pcm for c in clips), clips[0].sample_rate)
            wavs.append(wav)
        finished = [0]
        window.turn_finished.connect(lambda: finished.__setitem__(0, finished[0] + 1))
        totals: list[float] = []
        right = 0
        for i in range(turns):
            wav = wavs[i % len(wavs)]
            expected = COMMANDS[i % len(COMMANDS)][1]
            window.new_conversation()
            before = finished[0]
            voice.press()
            wait_until(lambda: False, 0.25)
            with subprocess.Popen(
                ["paplay", f"--device={pulse.mic_feed}", str(wav)], env=pulse.env
            ) as mouth:
                wait_until(lambda: mouth.poll() is not None, 30)
            wait_until(lambda: False, 0.3)
            voice.release()
            wait_until(_more_than(finished, before), 120)
            wait_until(lambda: not window.busy and not voice.speaking, 60)
            parts = window.turns.timings()
            said = [b.text for b in window.chat.bubbles()]
            reply = said[-1] if len(said) > 1 else ""
            ok = expected in reply
            right += ok
            if "total" in parts:
                totals.append(parts["total"])
            from app.core.voice import describe_breakdown

            print(f"    {describe_breakdown(parts)}", file=sys.stderr)
            print(
                f"  turn {i + 1}: {parts.get('total', float('nan')):.2f} s "
                f"{'ok  ' if ok else 'WRONG'} heard {said[0] if said else ''!r} -> {reply!r}",
                file=sys.stderr,
            )
        window.quit()
        llm.close()
        store.close()
        del app
    print(f"spoken commands ({turns} turns, {len(COMMANDS)} commands, default models, 2 cores):")
    print(
        f"  release -> first audio of the confirmation  p50 {pct(totals, 50):.2f} s / "
        f"p95 {pct(totals, 95):.2f} s"
    )
    print(f"  done right {right}/{turns}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--skip-voice", action="store_true")
    parser.add_argument("--skip-fallback", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import app  # noqa: F401  (offline switches first)

    print(f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores")
    fast_path()
    if not args.skip_fallback:
        fallback()
    if not args.skip_voice:
        spoken(args.turns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
