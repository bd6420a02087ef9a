"""The engine-level suites of ``bench.llm``: grammar cost, native ratio, threads under load.

Each suite runs inside the per-model child process of ``bench.llm`` and returns plain
dicts (JSON-able) that the parent prints as tables. Every figure is a single run; runs of
the things compared alternate (A, B, A, B...) so a change in machine load hits both sides.
The load average is recorded before and after each suite: other work on the machine
(other agents, builds) moves these figures, so read them with it.

* ``grammar``: generation tokens/s of the same kind of short reply free (``stream``,
  greedy), under a JSON schema with Hearth's sampler (``structured``), and under the same
  grammar with llama-cpp-python's stock sampler (``create_chat_completion(grammar=...)``,
  grammar applied to the whole vocabulary before top-k).
* ``native``: llama.cpp's ``llama-bench`` (bench/native.py, same source, the wheel's own
  libraries) against the engine on the same prompt size and generation length, same
  threads, batch and flash-attention setting.
* ``contention``: prompt and generation tokens/s and cancel latency (while generating and
  inside a long prompt), alone and beside one busy Python process, with 1 and 2 threads.
"""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUSY_LOOP = "import time\nwhile True:\n    pass\n"
LONG_NOTES = " ".join(f"Item {i} is a blue box on shelf {i % 7}." for i in range(200))


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # pragma: no cover - not on this platform
        return "?"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


CLEAN_BELOW = 0.25
"""A run is "clean" when other processes used less than this many cores during it."""


class OtherLoad:
    """CPU cores other processes used during a block (from /proc/stat, Linux).

    All CPU time the machine spent, minus this process's and its reaped children's
    (llama-bench), divided by the wall time: 0 on a quiet machine, ~1 with one busy
    process beside us. ``cores`` is None where /proc/stat does not exist.
    """

    cores: float | None = None

    def __enter__(self) -> OtherLoad:
        self._start = _snapshot()
        return self

    def __exit__(self, *exc: object) -> None:
        end = _snapshot()
        if self._start is None or end is None:
            return
        wall = end[0] - self._start[0]
        if wall > 0:
            machine = end[1] - self._start[1]
            mine = end[2] - self._start[2]
            self.cores = max(0.0, (machine - mine) / wall)


def _snapshot() -> tuple[float, float, float] | None:
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
    busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
    times = os.times()
    mine = times.user + times.system + times.children_user + times.children_system
    return time.monotonic(), busy / os.sysconf("SC_CLK_TCK"), mine


def _clean(*loads: float | None) -> bool:
    return all(load is not None and load < CLEAN_BELOW for load in loads)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def busy_process(active: bool) -> Iterator[None]:
    """One Python busy loop on the side (a stand-in for TTS/STT/indexing) while active."""
    if not active:
        yield
        return
    proc = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    time.sleep(0.3)  # let it reach the loop
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def _gen_rate(stats: Any) -> float:
    # The first token is sampled before the clock of generation_seconds starts.
    decodes = max(0, stats.generated_tokens)
    return decodes / stats.generation_seconds if stats.generation_seconds > 0 else 0.0


def _prompt_rate(stats: Any) -> float:
    seconds = stats.prompt_seconds
    return stats.prompt_tokens_evaluated / seconds if seconds > 0 else 0.0


def _fresh(model: Any, text: str, salt: int) -> list[Any]:
    """A conversation whose prompt misses the prefix cache (a salted system prompt)."""
    from app.core.ports import ChatMessage

    return [
        ChatMessage("system", f"Session {salt}. You are a helpful assistant."),
        ChatMessage("user", text),
    ]


# -- grammar -------------------------------------------------------------------------------


def suite_grammar(model: Any, trials: int) -> dict[str, Any]:
    from app.core.cancel import CancelToken
    from app.core.ports import ChatMessage
    from app.core.structured import StructuredOutputError, parse_structured
    from app.engines.llama_llm import schema_to_gbnf
    from llama_cpp.llama_grammar import LlamaGrammar

    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "name": {"enum": ["add_note", "set_timer", "get_weather"]},
            "arguments": {
                "type": "object",
                "properties": {"text": {"type": "string", "maxLength": 60}},
                "required": ["text"],
                "additionalProperties": False,
            },
        },
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }
    system = (
        'Reply with one JSON object {"name": "add_note" | "set_timer" | "get_weather", '
        '"arguments": {"text": "<what the user said, shortened>"}}.'
    )
    asks = [
        "Note that the plumber comes on Friday at nine and needs the garage key.",
        "Remember to buy oat milk, eggs, bread and two lemons on the way home.",
        "Write down that the meeting with Ana moved to Thursday afternoon.",
    ]
    gbnf = schema_to_gbnf(schema)
    max_tokens = 40
    rows: dict[str, list[float]] = {"free": [], "hearth grammar": [], "stock grammar": []}
    checks: list[dict[str, int]] = []
    valid = {"hearth grammar": 0, "stock grammar": 0}
    others: list[float] = []
    load_before = load_average()

    def free(messages: list[Any]) -> None:
        # the same prompt, greedy, same length cap, no constraint
        list(model.stream(messages, max_tokens=max_tokens, temperature=0.0, cancel=CancelToken()))
        rows["free"].append(_gen_rate(model.last_stats))

    def hearth(messages: list[Any]) -> None:
        reply = model.structured(
            messages, schema=schema, max_tokens=max_tokens, cancel=CancelToken()
        )
        rows["hearth grammar"].append(_gen_rate(model.last_stats))
        checks.append(dict(model.grammar_checks))
        valid["hearth grammar"] += _valid(reply)

    def stock(messages: list[Any]) -> None:
        first: float | None = None
        pieces: list[str] = []
        for chunk in model._llm.create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            grammar=LlamaGrammar.from_string(gbnf, verbose=False),
            temperature=0.0,
            repeat_penalty=1.0,
            max_tokens=max_tokens,
            stream=True,
        ):
            text = chunk["choices"][0]["delta"].get("content")
            if text:
                if first is None:
                    first = time.perf_counter()
                pieces.append(text)
        ended = time.perf_counter()
        # tokens evaluated after the prompt = generated tokens decoded, as n_eval counts them
        generated = max(0, model._llm.n_tokens - len(model._prompt_tokens(messages)))
        rate = generated / (ended - first) if first is not None and ended > first else 0.0
        rows["stock grammar"].append(rate)
        valid["stock grammar"] += _valid("".join(pieces))

    def _valid(reply: str) -> int:
        try:
            parse_structured(reply, schema)
        except StructuredOutputError:
            return 0
        return 1

    methods = [free, hearth, stock]
    for trial in range(trials):
        messages = [ChatMessage("system", system), ChatMessage("user", asks[trial % len(asks)])]
        loads: list[float] = []
        for method in methods[trial % 3 :] + methods[: trial % 3]:  # rotate the order
            with OtherLoad() as other:
                method(messages)
            loads.append(-1.0 if other.cores is None else other.cores)
        others.append(max(loads))
        _log(
            f"  grammar trial {trial + 1}: free {rows['free'][-1]:.1f}, hearth "
            f"{rows['hearth grammar'][-1]:.1f}, stock {rows['stock grammar'][-1]:.1f} tok/s; "
            f"checks {checks[-1]}; other processes' cores {max(loads):.2f}"
        )
    return {
        "trials": trials,
        "max_tokens": max_tokens,
        "tokens_per_s": {k: v for k, v in rows.items()},
        "median_tokens_per_s": {k: statistics.median(v) for k, v in rows.items() if v},
        "grammar_checks": checks,
        "valid_replies": valid,
        "others_cores": others,
        "load_before": load_before,
        "load_after": load_average(),
    }


# -- native ratio --------------------------------------------------------------------------


def suite_native(
    model: Any,
    model_path: Path,
    binary: Path,
    *,
    threads: int,
    batch: int,
    ubatch: int,
    flash_attn: bool,
    trials: int,
    prompt_target: int = 128,
    n_gen: int = 64,
) -> dict[str, Any]:
    from app.core.cancel import CancelToken

    from bench.native import run_llama_bench

    # A user message that makes a prompt of about prompt_target tokens with the template.
    words = "Tell me about the old lighthouse by the harbour and the keeper who lived there. "
    base = len(model._prompt_tokens(_fresh(model, "", 0)))
    per_repeat = max(1, model.count_tokens(words))
    text = words * max(1, round((prompt_target - base) / per_repeat))
    prompt_tokens = len(model._prompt_tokens(_fresh(model, text, 0)))
    story = "Write a long story about a lighthouse keeper and his cat."
    story_tokens = len(model._prompt_tokens(_fresh(model, story, 0)))
    bench = functools.partial(
        run_llama_bench,
        binary,
        model_path,
        threads=threads,
        n_batch=batch,
        n_ubatch=ubatch,
        repetitions=1,
        flash_attn=flash_attn,
    )
    runs: dict[str, list[float]] = {"native_pp": [], "ours_pp": [], "native_tg": [], "ours_tg": []}
    others: list[dict[str, float | None]] = []

    def native() -> None:
        # the prompt from an empty cache; generation after a prompt as long as ours
        runs["native_pp"].append(bench(n_prompt=prompt_tokens, n_gen=0)[0].tokens_per_s)
        tg = bench(n_prompt=0, n_gen=n_gen, n_depth=story_tokens)
        runs["native_tg"].append(tg[0].tokens_per_s)

    def ours(salt: int) -> None:
        token = CancelToken()
        list(model.stream(_fresh(model, text, salt), max_tokens=1, temperature=0.0, cancel=token))
        runs["ours_pp"].append(_prompt_rate(model.last_stats))
        list(
            model.stream(
                _fresh(model, story, salt), max_tokens=n_gen, temperature=0.2, cancel=token
            )
        )
        runs["ours_tg"].append(_gen_rate(model.last_stats))

    load_before = load_average()
    for trial in range(trials):
        loads: dict[str, float | None] = {}
        for side in ("native", "ours") if trial % 2 == 0 else ("ours", "native"):
            with OtherLoad() as other:
                if side == "native":
                    native()
                else:
                    ours(1000 + trial)
            loads[side] = other.cores
        others.append(loads)
        _log(
            f"  native trial {trial + 1}: pp native {runs['native_pp'][-1]:.1f} ours "
            f"{runs['ours_pp'][-1]:.1f}; tg native {runs['native_tg'][-1]:.1f} ours "
            f"{runs['ours_tg'][-1]:.1f} tok/s; other processes' cores {loads}"
        )
    pairs = range(trials)
    clean = [i for i in pairs if _clean(others[i]["native"], others[i]["ours"])]

    def ratios(kind: str, which: list[int] | range) -> list[float]:
        return [runs[f"ours_{kind}"][i] / runs[f"native_{kind}"][i] for i in which]

    def median_or_none(values: list[float]) -> float | None:
        return statistics.median(values) if values else None

    return {
        "prompt_tokens": prompt_tokens,
        "n_gen": n_gen,
        "threads": threads,
        "batch": batch,
        "ubatch": ubatch,
        "generation_depth": story_tokens,
        "flash_attn": flash_attn,
        **runs,
        "others_cores": others,
        "clean_pairs": clean,
        "pp_ratios": ratios("pp", pairs),
        "tg_ratios": ratios("tg", pairs),
        "pp_ratio": median_or_none(ratios("pp", pairs)),
        "tg_ratio": median_or_none(ratios("tg", pairs)),
        "pp_ratio_clean": median_or_none(ratios("pp", clean)),
        "tg_ratio_clean": median_or_none(ratios("tg", clean)),
        "load_before": load_before,
        "load_after": load_average(),
    }


# -- threads under contention --------------------------------------------------------------


def cancel_ms(model: Any, messages: list[Any], after: float) -> float:
    """Cancel from another thread ``after`` seconds in; ms until the stream has ended."""
    from app.core.cancel import CancelToken

    cancel = CancelToken()
    fired: list[float] = []

    def fire() -> None:
        fired.append(time.perf_counter())
        cancel.cancel()

    timer = threading.Timer(after, fire)
    timer.start()
    for _ in model.stream(messages, max_tokens=400, temperature=0.2, cancel=cancel):
        pass
    ended = time.perf_counter()
    timer.cancel()
    return (ended - fired[0]) * 1000 if fired else 0.0


def suite_contention(model: Any, trials: int) -> dict[str, Any]:
    from app.core.cancel import CancelToken

    cases = [(busy, threads) for busy in (False, True) for threads in (2, 1)]
    out: dict[str, dict[str, list[float]]] = {
        _case(b, t): {
            "pp": [],
            "tg": [],
            "cancel_gen_ms": [],
            "cancel_prompt_ms": [],
            "others_cores": [],
        }
        for b, t in cases
    }
    story = "Write a long story about a lighthouse keeper and his cat."
    prompt = "Summarise my notes: " + LONG_NOTES
    load_before = load_average()
    for trial in range(trials):
        order = cases if trial % 2 == 0 else list(reversed(cases))
        for busy, threads in order:
            row = out[_case(busy, threads)]
            model.set_threads(threads)
            salt = 5000 + trial * 10 + threads + (2 if busy else 0)
            with busy_process(busy), OtherLoad() as other:
                list(
                    model.stream(
                        _fresh(model, prompt, salt),
                        max_tokens=1,
                        temperature=0.0,
                        cancel=CancelToken(),
                    )
                )
                row["pp"].append(_prompt_rate(model.last_stats))
                list(
                    model.stream(
                        _fresh(model, story, salt),
                        max_tokens=48,
                        temperature=0.2,
                        cancel=CancelToken(),
                    )
                )
                row["tg"].append(_gen_rate(model.last_stats))
                row["cancel_gen_ms"].append(cancel_ms(model, _fresh(model, story, salt + 1), 0.5))
                row["cancel_prompt_ms"].append(
                    cancel_ms(model, _fresh(model, prompt, salt + 2), 0.4 + 0.1 * trial)
                )
            row["others_cores"].append(-1.0 if other.cores is None else other.cores)
            _log(
                f"  {_case(busy, threads)} trial {trial + 1}: pp {row['pp'][-1]:.1f} tg "
                f"{row['tg'][-1]:.1f} tok/s, cancel gen {row['cancel_gen_ms'][-1]:.0f} ms, "
                f"prompt {row['cancel_prompt_ms'][-1]:.0f} ms"
            )
    model.set_threads(2)
    return {
        "cases": out,
        "trials": trials,
        "load_before": load_before,
        "load_after": load_average(),
    }


def _case(busy: bool, threads: int) -> str:
    return f"{'busy' if busy else 'alone'}, {threads} thread{'s' if threads > 1 else ''}"
