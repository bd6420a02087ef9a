"""Benchmark of the local chat models (llama-cpp-python, GGUF); prints figures, asserts nothing.

For every model, in a fresh subprocess of its own (so load time and peak RSS are per model):

* load time of ``LlamaLanguageModel.load()`` (the model is resolved, i.e. assembled and
  verified, beforehand and untimed);
* prompt tokens/s (tokens evaluated / prompt seconds on the cold first turn, the largest
  evaluation) and generation tokens/s (generated tokens / generation seconds, averaged over
  all turns);
* time to first token of the first turn (cold: right after load, no warm-up) and p50/p95 of
  the follow-up turns of a multi-turn conversation, with the mean number of prompt tokens
  evaluated per follow-up against the mean prompt size (llama.cpp's prefix cache);
* peak RSS of the process (``ru_maxrss`` and ``VmHWM``) and its RSS at the end (psutil).

Run from the repository root::

    .venv/bin/python -m bench.llm
    .venv/bin/python -m bench.llm --models smollm2-135m-instruct --turns 20 --json out.json

The parent process imports nothing heavy; it re-invokes ``python -m bench.llm --child MODEL``
for each model, collects the JSON line each child prints, and prints a final table.

``--suite`` adds the engine suites of :mod:`bench.llm_engine` (one more child per model):
``grammar`` (tokens/s free, with Hearth's grammar sampler, with llama-cpp-python's stock
one), ``native`` (ratio to llama.cpp's own llama-bench built from the same source by
bench/native.py, alternating single runs), ``contention`` (1 and 2 threads, alone and
beside a busy process, with cancel latency); ``engine`` runs the three, ``all`` adds the
turns. Every table carries the load average before and after::

    .venv/bin/python -m bench.llm --suite engine --trials 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MODELS = ("smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct")
N_CTX = 4096
N_THREADS = 2
TEMPERATURE = 0.2
RESULT_MARKER = "BENCH-RESULT "

QUESTIONS = (
    "What is the capital of France?",
    "Give me one tip for writing readable Python code.",
    "How many legs does a spider have?",
    "Explain what a hash table is in one sentence.",
    "Suggest a name for a grey cat.",
    "What is 17 multiplied by 6?",
    "Write a haiku about autumn rain.",
    "Why is the sky blue?",
    "Translate 'good morning' into Spanish.",
    "What does HTTP stand for?",
    "List three fruits that are red.",
    "How do I reverse a list in Python?",
    "What is the boiling point of water in Fahrenheit?",
    "Recommend a short book for a long train ride.",
    "What is the difference between RAM and disk storage?",
    "Summarise our conversation so far in one sentence.",
    "Write a SQL query that counts the rows of a table named users.",
    "Who painted the Mona Lisa?",
    "Give me a quick breakfast idea.",
    "Thank you! Say goodbye in French.",
)


@dataclass(slots=True)
class TurnRecord:
    turn: int
    ttft_seconds: float | None
    """Wall time from asking for the reply to its first text piece (None: empty reply)."""
    total_seconds: float
    prompt_tokens: int
    prompt_tokens_evaluated: int
    generated_tokens: int
    prompt_seconds: float
    generation_seconds: float
    reply_chars: int


@dataclass(slots=True)
class ModelResult:
    model_id: str
    title: str
    ok: bool = True
    error: str = ""
    llama_cpp_version: str = ""
    model_file: str = ""
    model_bytes: int = 0
    resolve_seconds: float = 0.0
    load_seconds: float = 0.0
    """Wall time around ``load()``."""
    load_seconds_reported: float = 0.0
    """``LlamaLanguageModel.load_seconds`` (measured inside load())."""
    system_prompt_tokens: int = 0
    turns: int = 0
    max_tokens: int = 0
    prompt_tokens_per_s: float = 0.0
    generation_tokens_per_s: float = 0.0
    generation_tokens_per_s_pooled: float = 0.0
    """Sum of generated tokens / sum of generation seconds (for comparison with the mean)."""
    ttft_first_seconds: float | None = None
    ttft_followup_p50_seconds: float | None = None
    ttft_followup_p95_seconds: float | None = None
    ttft_followup_empty: int = 0
    followup_mean_prompt_tokens: float = 0.0
    followup_mean_prompt_tokens_evaluated: float = 0.0
    rss_before_load_mib: float = 0.0
    rss_after_load_mib: float = 0.0
    rss_end_mib: float = 0.0
    peak_rss_mib: float = 0.0
    """``resource.getrusage(RUSAGE_SELF).ru_maxrss``."""
    peak_rss_hwm_mib: float | None = None
    """``VmHWM`` from /proc/self/status (Linux), a per-process cross-check of ru_maxrss."""
    cancel_stream_ms: list[float] = field(default_factory=list)
    """From cancel() on another thread to the end of the stream, while generating."""
    cancel_prompt_ms: list[float] = field(default_factory=list)
    """The same, while a long prompt (~1,500 tokens) is being evaluated."""
    child_wall_seconds: float = 0.0
    per_turn: list[TurnRecord] = field(default_factory=list)


# -- helpers -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100), like numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ru_maxrss_mib() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def vm_hwm_mib() -> float | None:
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- child: one model ----------------------------------------------------------------------


def run_child(model_id: str, turns: int, max_tokens: int) -> ModelResult:
    child_started = time.perf_counter()
    import app  # noqa: F401  (switches every library to offline mode first)
    import llama_cpp
    import psutil
    from app.core.assistant import DEFAULT_SYSTEM_PROMPT
    from app.core.cancel import CancelToken
    from app.core.ports import ChatMessage
    from app.engines.llama_llm import LlamaLanguageModel
    from app.engines.models import ModelRegistry
    from app.settings import Paths

    process = psutil.Process()

    def rss_mib() -> float:
        return float(process.memory_info().rss) / (1024 * 1024)

    registry = ModelRegistry(Paths.default().models_cache)
    spec = registry.spec(model_id)
    result = ModelResult(model_id=spec.id, title=spec.title, turns=turns, max_tokens=max_tokens)
    result.llama_cpp_version = str(getattr(llama_cpp, "__version__", "?"))

    log(f"[{model_id}] resolving (untimed)")
    started = time.perf_counter()
    path = registry.resolve(model_id).path
    result.resolve_seconds = time.perf_counter() - started
    result.model_file = str(path)
    result.model_bytes = path.stat().st_size

    model = LlamaLanguageModel(path, name=spec.title, n_ctx=N_CTX, n_threads=N_THREADS)
    result.rss_before_load_mib = rss_mib()
    started = time.perf_counter()
    model.load()
    result.load_seconds = time.perf_counter() - started
    result.load_seconds_reported = model.load_seconds
    result.rss_after_load_mib = rss_mib()
    log(f"[{model_id}] loaded in {result.load_seconds:.2f} s")

    messages = [ChatMessage("system", DEFAULT_SYSTEM_PROMPT)]
    for index in range(turns):
        messages.append(ChatMessage("user", QUESTIONS[index % len(QUESTIONS)]))
        pieces: list[str] = []
        first: float | None = None
        started = time.perf_counter()
        for piece in model.stream(
            messages, max_tokens=max_tokens, temperature=TEMPERATURE, cancel=CancelToken()
        ):
            if first is None:
                first = time.perf_counter()
            pieces.append(piece)
        ended = time.perf_counter()
        stats = model.last_stats
        reply = "".join(pieces)
        messages.append(ChatMessage("assistant", reply))
        record = TurnRecord(
            turn=index + 1,
            ttft_seconds=None if first is None else first - started,
            total_seconds=ended - started,
            prompt_tokens=stats.prompt_tokens,
            prompt_tokens_evaluated=stats.prompt_tokens_evaluated,
            generated_tokens=stats.generated_tokens,
            prompt_seconds=stats.prompt_seconds,
            generation_seconds=stats.generation_seconds,
            reply_chars=len(reply),
        )
        result.per_turn.append(record)
        ttft = "-" if record.ttft_seconds is None else f"{record.ttft_seconds:.3f} s"
        log(
            f"[{model_id}] turn {record.turn:2d}/{turns}: ttft {ttft}, prompt "
            f"{record.prompt_tokens_evaluated}/{record.prompt_tokens} tokens evaluated, "
            f"{record.generated_tokens} tokens in {record.generation_seconds:.2f} s"
        )

    result.system_prompt_tokens = model.count_tokens(DEFAULT_SYSTEM_PROMPT)
    story = [messages[0], ChatMessage("user", "Write a long story about a lighthouse keeper.")]
    notes = " ".join(f"Item {i} is a blue box on shelf {i % 7}." for i in range(200))
    long_prompt = [messages[0], ChatMessage("user", "Summarise my notes: " + notes)]
    for trial in range(CANCEL_TRIALS):
        result.cancel_stream_ms.append(
            cancel_latency_ms(model, story, 0.3 + 0.05 * trial, CancelToken, TEMPERATURE)
        )
        result.cancel_prompt_ms.append(
            cancel_latency_ms(model, long_prompt, 0.2 + 0.1 * trial, CancelToken, TEMPERATURE)
        )
    log(f"[{model_id}] cancel latency while generating (ms): {result.cancel_stream_ms}")
    log(f"[{model_id}] cancel latency during a long prompt (ms): {result.cancel_prompt_ms}")
    summarise(result)
    result.rss_end_mib = rss_mib()
    result.peak_rss_mib = ru_maxrss_mib()
    result.peak_rss_hwm_mib = vm_hwm_mib()
    model.close()
    result.child_wall_seconds = time.perf_counter() - child_started
    return result


CANCEL_TRIALS = 5


def cancel_latency_ms(
    model: Any, messages: list[Any], after: float, token_type: Any, temperature: float
) -> float:
    """Cancel from another thread ``after`` seconds in; time until the stream has ended."""
    import threading

    cancel = token_type()
    cancelled_at: list[float] = []

    def fire() -> None:
        cancelled_at.append(time.perf_counter())
        cancel.cancel()

    timer = threading.Timer(after, fire)
    timer.start()
    for _piece in model.stream(messages, max_tokens=400, temperature=temperature, cancel=cancel):
        pass
    ended = time.perf_counter()
    timer.cancel()
    if not cancelled_at:  # finished before the timer fired: no latency to speak of
        return 0.0
    return (ended - cancelled_at[0]) * 1000


def summarise(result: ModelResult) -> None:
    turns = result.per_turn
    if not turns:
        return
    first = turns[0]
    if first.prompt_seconds > 0:
        result.prompt_tokens_per_s = first.prompt_tokens_evaluated / first.prompt_seconds
    result.ttft_first_seconds = first.ttft_seconds

    rates = [
        t.generated_tokens / t.generation_seconds
        for t in turns
        if t.generation_seconds > 0 and t.generated_tokens > 0
    ]
    if rates:
        result.generation_tokens_per_s = statistics.fmean(rates)
    gen_seconds = sum(t.generation_seconds for t in turns)
    if gen_seconds > 0:
        result.generation_tokens_per_s_pooled = sum(t.generated_tokens for t in turns) / gen_seconds

    followups = turns[1:]
    ttfts = [t.ttft_seconds for t in followups if t.ttft_seconds is not None]
    result.ttft_followup_empty = len(followups) - len(ttfts)
    result.ttft_followup_p50_seconds = percentile(ttfts, 50)
    result.ttft_followup_p95_seconds = percentile(ttfts, 95)
    if followups:
        result.followup_mean_prompt_tokens = statistics.fmean(t.prompt_tokens for t in followups)
        result.followup_mean_prompt_tokens_evaluated = statistics.fmean(
            t.prompt_tokens_evaluated for t in followups
        )


# -- parent: one subprocess per model, then the table ---------------------------------------


def run_parent(models: list[str], turns: int, max_tokens: int) -> list[ModelResult]:
    results: list[ModelResult] = []
    for model_id in models:
        log(f"== {model_id}: starting a fresh process")
        command = [
            sys.executable,
            "-m",
            "bench.llm",
            "--child",
            model_id,
            "--turns",
            str(turns),
            "--max-tokens",
            str(max_tokens),
        ]
        started = time.perf_counter()
        proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        wall = time.perf_counter() - started
        line = next(
            (ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith(RESULT_MARKER)),
            None,
        )
        if proc.returncode != 0 or line is None:
            results.append(
                ModelResult(
                    model_id=model_id,
                    title=model_id,
                    ok=False,
                    error=f"child exited with {proc.returncode}; see its output above",
                    child_wall_seconds=wall,
                )
            )
            continue
        results.append(result_from_json(json.loads(line[len(RESULT_MARKER) :])))
    return results


ENGINE_SUITES = ("grammar", "native", "contention")


def run_engine_child(
    model_id: str,
    suites: list[str],
    trials: int,
    flash_attn: bool,
    binary: str,
    *,
    prompt_target: int = 128,
) -> dict[str, Any]:
    import app  # noqa: F401  (offline environment first)
    from app.engines.llama_llm import LlamaLanguageModel
    from app.engines.models import ModelRegistry
    from app.settings import Paths

    from bench import llm_engine

    registry = ModelRegistry(Paths.default().models_cache)
    path = registry.resolve(model_id).path
    model = LlamaLanguageModel(
        path, name=model_id, n_ctx=N_CTX, n_threads=N_THREADS, flash_attn=flash_attn
    )
    model.load()
    model.warm_up("You are a helpful assistant.")
    out: dict[str, Any] = {"model_id": model_id, "flash_attn": flash_attn}
    out["cancel_inside_batches"] = model.cancels_inside_batches
    if "grammar" in suites:
        log(f"[{model_id}] grammar suite")
        out["grammar"] = llm_engine.suite_grammar(model, trials)
    if "native" in suites:
        log(f"[{model_id}] native suite")
        if binary:
            out["native"] = llm_engine.suite_native(
                model,
                path,
                Path(binary),
                threads=N_THREADS,
                batch=model._llm.n_batch,
                ubatch=model._llm.context_params.n_ubatch,
                flash_attn=flash_attn,
                trials=trials,
                prompt_target=prompt_target,
            )
        else:
            out["native"] = {"error": "llama-bench unavailable (see the parent's message)"}
    if "contention" in suites:
        log(f"[{model_id}] contention suite")
        out["contention"] = llm_engine.suite_contention(model, trials)
    model.close()
    return out


def run_engine_parent(
    models: list[str],
    suites: list[str],
    trials: int,
    flash_attn: bool,
    policies: list[str],
    *,
    prompt_target: int = 128,
) -> list[dict[str, Any]]:
    binary = ""
    if "native" in suites:
        from bench.native import NativeUnavailableError, ensure_llama_bench

        try:
            binary = str(ensure_llama_bench())
        except (NativeUnavailableError, subprocess.CalledProcessError) as exc:
            log(f"native baseline unavailable: {exc}")
    results: list[dict[str, Any]] = []
    for model_id, policy in [(m, p) for m in models for p in policies]:
        log(f"== {model_id}: engine suites {', '.join(suites)}, wait policy {policy}")
        command = [
            sys.executable,
            "-m",
            "bench.llm",
            "--engine-child",
            model_id,
            "--suite",
            *suites,
            "--trials",
            str(trials),
            "--flash-attn",
            "on" if flash_attn else "off",
            "--llama-bench",
            binary,
            "--prompt-tokens",
            str(prompt_target),
        ]
        env = dict(os.environ)
        env.pop("OMP_WAIT_POLICY", None)
        if policy == "passive":
            env["OMP_WAIT_POLICY"] = "PASSIVE"
        proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False, env=env)
        line = next(
            (ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith(RESULT_MARKER)),
            None,
        )
        if proc.returncode != 0 or line is None:
            results.append({"model_id": model_id, "error": f"child exited {proc.returncode}"})
            continue
        results.append({**json.loads(line[len(RESULT_MARKER) :]), "wait_policy": policy})
    return results


def _cores(loads: dict[str, float | None]) -> str:
    return "/".join("?" if v is None else f"{v:.2f}" for v in loads.values())


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def format_engine_tables(results: list[dict[str, Any]]) -> str:
    from bench.llm_engine import CLEAN_BELOW

    out: list[str] = []
    out.append(
        "(others: CPU cores other processes used meanwhile; the busy cases include the loop)"
    )
    for r in results:
        model_id = f"{r['model_id']} [wait {r.get('wait_policy', '?')}]"
        if "error" in r:
            out.append(f"{model_id}: FAILED: {r['error']}")
            continue
        grammar = r.get("grammar")
        if grammar:
            out.append(
                f"\n{model_id}: generation tok/s, median of {grammar['trials']} single runs "
                f"(load {grammar['load_before']} -> {grammar['load_after']})"
            )
            for name, values in grammar["tokens_per_s"].items():
                runs = " ".join(f"{v:.1f}" for v in values)
                out.append(f"  {name:<15} {_median(values):6.1f}   runs: {runs}")
            checks = grammar["grammar_checks"]
            totals = {k: sum(c[k] for c in checks) for k in checks[0]} if checks else {}
            out.append(
                f"  grammar checks (best token / tokens near it / whole vocabulary): {totals}"
            )
            out.append(f"  valid replies of {grammar['trials']}: {grammar['valid_replies']}")
            out.append(
                "  other processes' cores per trial (max over its runs): "
                + " ".join(f"{c:.2f}" for c in grammar["others_cores"])
            )
        native = r.get("native")
        if native and "error" not in native:
            out.append(
                f"\n{model_id}: against llama-bench (same source and libraries), "
                f"{native['threads']} threads, batch {native['batch']}/{native['ubatch']}, "
                f"flash-attn {native['flash_attn']} "
                f"(load {native['load_before']} -> {native['load_after']})"
            )
            pp, tg = native["prompt_tokens"], native["n_gen"]
            clean = native["clean_pairs"]
            out.append(
                f"  pairs with other processes under {CLEAN_BELOW} cores: {len(clean)} of "
                f"{len(native['pp_ratios'])}; per-run others' cores: "
                + ", ".join(_cores(o) for o in native["others_cores"])
            )
            for kind, label in (("pp", f"prompt {pp} tok"), ("tg", f"generate {tg} tok")):
                out.append(
                    f"  {label:<16} native {_median(native['native_' + kind]):6.1f}  ours "
                    f"{_median(native['ours_' + kind]):6.1f}  ratio (median of pairs) "
                    f"{_fmt(native[kind + '_ratio'], 3)}, clean pairs "
                    f"{_fmt(native[kind + '_ratio_clean'], 3)}; per pair "
                    + " ".join(f"{x:.2f}" for x in native[kind + "_ratios"])
                )
        elif native:
            out.append(f"\n{model_id}: native ratio skipped: {native['error']}")
        contention = r.get("contention")
        if contention:
            out.append(
                f"\n{model_id}: threads under contention, median of {contention['trials']} "
                f"(load {contention['load_before']} -> {contention['load_after']})"
            )
            out.append(
                f"  {'case':<20} {'prompt tok/s':>12} {'gen tok/s':>10} "
                f"{'cancel gen ms':>14} {'cancel prompt ms (max)':>23} {'others':>7}"
            )
            for case, row in contention["cases"].items():
                worst = max(row["cancel_prompt_ms"]) if row["cancel_prompt_ms"] else 0.0
                out.append(
                    f"  {case:<20} {_median(row['pp']):12.1f} {_median(row['tg']):10.1f} "
                    f"{_median(row['cancel_gen_ms']):14.0f} "
                    f"{_median(row['cancel_prompt_ms']):14.0f} ({worst:.0f})"
                    f" {_median(row['others_cores']):7.2f}"
                )
    return "\n".join(out)


def result_from_json(data: dict[str, Any]) -> ModelResult:
    per_turn = [TurnRecord(**t) for t in data.pop("per_turn")]
    return ModelResult(**data, per_turn=per_turn)


def _fmt(value: float | None, digits: int = 2, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}{unit}"


def format_table(results: list[ModelResult]) -> str:
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, make: Callable[[ModelResult], str]) -> None:
        rows.append((label, [make(r) if r.ok else "-" for r in results]))

    row("load (s)", lambda r: _fmt(r.load_seconds))
    row("prompt tok/s (turn 1)", lambda r: _fmt(r.prompt_tokens_per_s, 1))
    row("generation tok/s (mean)", lambda r: _fmt(r.generation_tokens_per_s, 1))
    row("TTFT turn 1, cold (s)", lambda r: _fmt(r.ttft_first_seconds, 3))
    row("TTFT follow-up p50 (s)", lambda r: _fmt(r.ttft_followup_p50_seconds, 3))
    row("TTFT follow-up p95 (s)", lambda r: _fmt(r.ttft_followup_p95_seconds, 3))
    row(
        "follow-up prompt eval/size",
        lambda r: (
            f"{r.followup_mean_prompt_tokens_evaluated:.1f} / {r.followup_mean_prompt_tokens:.1f}"
        ),
    )
    row(
        "follow-up cache hit",
        lambda r: (
            _fmt(
                100 * (1 - r.followup_mean_prompt_tokens_evaluated / r.followup_mean_prompt_tokens),
                1,
                "%",
            )
            if r.followup_mean_prompt_tokens
            else "-"
        ),
    )
    row("turn 1 prompt eval/size", _first_turn_prompt)
    row("cancel while generating p50/max (ms)", lambda r: _pair(r.cancel_stream_ms))
    row("cancel in long prompt p50/max (ms)", lambda r: _pair(r.cancel_prompt_ms))
    row("peak RSS ru_maxrss (MiB)", lambda r: _fmt(r.peak_rss_mib, 0))
    row("peak RSS VmHWM (MiB)", lambda r: _fmt(r.peak_rss_hwm_mib, 0))
    row("RSS before load/end (MiB)", lambda r: f"{r.rss_before_load_mib:.0f} / {r.rss_end_mib:.0f}")
    row("model file (MiB)", lambda r: _fmt(r.model_bytes / (1024 * 1024), 0))
    row("turns x max tokens", lambda r: f"{r.turns} x {r.max_tokens}")
    row("child wall time (s)", lambda r: _fmt(r.child_wall_seconds, 1))

    header = ("metric", [r.model_id for r in results])
    label_width = max(len(label) for label, _ in [header, *rows])
    widths = [
        max(len(header[1][i]), *(len(cells[i]) for _, cells in rows)) for i in range(len(results))
    ]

    def line(label: str, cells: list[str]) -> str:
        body = "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
        return f"{label.ljust(label_width)}  {body}"

    out = [line(*header), "-" * len(line(*header))]
    out.extend(line(label, cells) for label, cells in rows)
    out.extend(f"{r.model_id}: FAILED: {r.error}" for r in results if not r.ok)
    return "\n".join(out)


def _pair(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{_fmt(percentile(values, 50), 1)} / {max(values):.1f}"


def _first_turn_prompt(r: ModelResult) -> str:
    if not r.per_turn:
        return "-"
    first = r.per_turn[0]
    return f"{first.prompt_tokens_evaluated} / {first.prompt_tokens}"


# -- entry point ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.llm", description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), metavar="MODEL")
    parser.add_argument("--turns", type=int, default=20, help="turns per conversation (>= 1)")
    parser.add_argument("--max-tokens", type=int, default=64, help="reply limit per turn")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument(
        "--suite",
        nargs="+",
        default=["turns"],
        choices=["turns", *ENGINE_SUITES, "engine", "all"],
        help="what to measure (default: turns)",
    )
    parser.add_argument("--trials", type=int, default=5, help="single runs per engine figure")
    parser.add_argument(
        "--flash-attn", choices=["on", "off"], default="on", help="engine and llama-bench"
    )
    parser.add_argument(
        "--wait-policy",
        nargs="+",
        default=["default"],
        choices=["default", "passive"],
        help="libgomp wait policy (passive: OMP_WAIT_POLICY=PASSIVE); one child per value",
    )
    parser.add_argument(
        "--prompt-tokens", type=int, default=128, help="prompt size of the native comparison"
    )
    parser.add_argument("--child", metavar="MODEL", help=argparse.SUPPRESS)
    parser.add_argument("--engine-child", metavar="MODEL", help=argparse.SUPPRESS)
    parser.add_argument("--llama-bench", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.turns < 1:
        parser.error("--turns must be at least 1")
    if args.max_tokens < 1:
        parser.error("--max-tokens must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    flash_attn = args.flash_attn == "on"
    if args.child:
        result = run_child(args.child, args.turns, args.max_tokens)
        print(RESULT_MARKER + json.dumps(asdict(result)), flush=True)
        return 0
    suites = set(args.suite)
    if "engine" in suites or "all" in suites:
        suites |= set(ENGINE_SUITES)
    if "all" in suites:
        suites.add("turns")
    engine_suites = [s for s in ENGINE_SUITES if s in suites]
    if args.engine_child:
        data = run_engine_child(
            args.engine_child,
            engine_suites,
            args.trials,
            flash_attn,
            args.llama_bench,
            prompt_target=args.prompt_tokens,
        )
        print(RESULT_MARKER + json.dumps(data), flush=True)
        return 0

    started = time.perf_counter()
    print(f"load average at start: {_load()}  (other work on the machine moves every figure)")
    results: list[ModelResult] = []
    if "turns" in suites:
        results = run_parent(args.models, args.turns, args.max_tokens)
        print()
        print(format_table(results))
    engine: list[dict[str, Any]] = []
    if engine_suites:
        engine = run_engine_parent(
            args.models,
            engine_suites,
            args.trials,
            flash_attn,
            args.wait_policy,
            prompt_target=args.prompt_tokens,
        )
        print(format_engine_tables(engine))
    total = time.perf_counter() - started
    print(f"\ntotal wall time: {total:.1f} s  (n_threads={N_THREADS}, n_ctx={N_CTX})")
    print(f"load average at end: {_load()}")
    if args.json is not None:
        payload = {
            "total_seconds": total,
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpu_count": os.cpu_count(),
            },
            "settings": {
                "turns": args.turns,
                "max_tokens": args.max_tokens,
                "n_threads": N_THREADS,
                "n_ctx": N_CTX,
                "temperature": TEMPERATURE,
            },
            "results": [asdict(r) for r in results],
            "engine": engine,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {args.json}")
    return 0 if all(r.ok for r in results) and all("error" not in e for e in engine) else 1


def _load() -> str:
    from bench.llm_engine import load_average

    return load_average()


if __name__ == "__main__":
    sys.exit(main())
