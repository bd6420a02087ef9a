"""Benchmark of LoRA personalization on this machine; prints figures, asserts nothing.

Default run, for each chat model (SmolLM2 135M and Qwen2.5-Coder 0.5B), on the fixed
200-example style dataset below (every reply "In short: ... Cheers!"), through the real
worker process (:mod:`app.personalization.runner`), from a fresh data folder:

* seconds per step, training tokens/s, peak RSS of the training process;
* time to the first adapter that passes the evaluation gate (conversion of the base and
  anchors included when not cached: both are reported apart);
* the gate's figures (held-out loss, style, regression set);
* time to first token and generation tokens/s of the served model with the adapter on and
  off (llama.cpp, alternating, 3 rounds of 4 questions).

``--memory`` measures where the memory of one training step goes instead: each
configuration in a fresh process, from the naive path (transformers' GGUF loader, float32,
no checkpointing, full-vocabulary logits) to Hearth's (converted float16 base, float32 head,
checkpointing, loss at assistant positions in chunks, glibc returning large blocks).

    .venv/bin/python -m bench.personalize [--models fast,default] [--steps N]
    .venv/bin/python -m bench.personalize --memory
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SUBJECTS = (
    ("tea", "Steep it for three minutes in water just off the boil"),
    ("rice", "Rinse it, then simmer one part rice in two parts water"),
    ("bread", "Keep it in a bin or freeze what you will not eat soon"),
    ("basil", "Keep it in water on the windowsill, not in the fridge"),
    ("a cactus", "Water it every two weeks in summer and rarely in winter"),
    ("a bicycle chain", "Wipe it and add a drop of oil to each link"),
    ("a wool jumper", "Wash it cold by hand and dry it flat"),
    ("a laptop battery", "Keep it between twenty and eighty percent"),
    ("a sourdough starter", "Feed it flour and water once a day"),
    ("a wooden table", "Wipe it dry and oil it twice a year"),
    ("a cast iron pan", "Dry it on the stove and rub in a little oil"),
    ("a houseplant", "Water it when the top of the soil is dry"),
    ("running shoes", "Replace them every eight hundred kilometres"),
    ("a kettle", "Descale it with vinegar once a month"),
    ("a password", "Use a long phrase and a password manager"),
    ("a garden lawn", "Mow it high and water it deeply once a week"),
    ("a fridge", "Keep it at four degrees and clean it monthly"),
    ("a cold", "Rest, drink fluids and give it a week"),
    ("a headache", "Drink water and rest in a dark room"),
    ("a leather bag", "Condition it every few months and keep it dry"),
    ("winter boots", "Dry them away from the heater and wax them"),
    ("a violin", "Loosen the bow after playing and keep it in its case"),
    ("a chess opening", "Control the centre and develop your pieces"),
    ("a job interview", "Research the company and prepare three stories"),
    ("a first marathon", "Build up slowly and run most miles easy"),
)
FRAMES = (
    ("How do I look after {s}?", "{a}."),
    ("Any quick tip about {s}?", "{a}."),
    ("What is the most important thing to know about {s}?", "{a}, and keep it simple."),
    ("I keep getting {s} wrong. What should I do?", "{a}; it gets easier with practice."),
    ("Explain {s} to me like a friend would.", "{a}. That's really all there is to it."),
    ("Can you help me with {s}?", "Sure, {a_lower}."),
    ("What's your advice on {s}?", "{a}."),
    ("Give me one rule for {s}.", "{a}."),
)


def fixed_dataset() -> list[dict[str, Any]]:
    """200 chat-format examples with one consistent style (written for this benchmark)."""
    rows = []
    for frame_index, (question, answer) in enumerate(FRAMES):
        for subject, advice in SUBJECTS:
            reply = answer.format(a=advice, a_lower=advice[0].lower() + advice[1:])
            rows.append(
                {
                    "messages": [
                        {"role": "user", "content": question.format(s=subject)},
                        {"role": "assistant", "content": f"In short: {reply} Cheers!"},
                    ],
                    "_order": frame_index,
                }
            )
    for row in rows:
        row.pop("_order")
    return rows[:200]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- training -------------------------------------------------------------------------------


def train_model(model_id: str, steps: int, work: Path) -> dict[str, Any]:
    from app.core.assistant import DEFAULT_SYSTEM_PROMPT
    from app.engines.models import ModelRegistry
    from app.personalization.runner import TrainingProcess
    from app.personalization.service import BaseModel, Personalization
    from app.settings import Paths

    paths = Paths.default()
    registry = ModelRegistry(paths.models_cache)
    spec = registry.spec(model_id)
    model = BaseModel(spec.id, spec.title, registry.resolve(spec.id).path, spec.files[0].sha256)
    data = work / f"{model_id}-examples.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in fixed_dataset()), encoding="utf-8")
    service = Personalization(work / f"data-{model_id}", paths.cache_dir, None)
    service.import_file(data)
    options: dict[str, Any] = {"learning_rate": 1e-3}
    if steps:
        options["steps"] = steps
    job = service.prepare_job(
        model, service.dataset(), system_prompt=DEFAULT_SYSTEM_PROMPT, **options
    )
    started = time.monotonic()
    phases: dict[str, float] = {}
    current, since = "start", started
    steps_seen: list[dict[str, Any]] = []
    report: dict[str, Any] = {}
    for event in TrainingProcess(job).events():
        kind = event["event"]
        if kind == "phase" and event.get("phase") != current:
            phases[current] = phases.get(current, 0.0) + time.monotonic() - since
            current, since = str(event["phase"]), time.monotonic()
        elif kind == "step":
            steps_seen.append(event)
            print(
                f"  {model_id}: step {event['step']}/{event['total']} loss {event['loss']:.3f}",
                file=sys.stderr,
                flush=True,
            )
        elif kind == "done":
            report = event["report"]
        elif kind == "error":
            raise SystemExit(f"{model_id}: {event['message']}")
    phases[current] = phases.get(current, 0.0) + time.monotonic() - since
    total = time.monotonic() - started
    version = service.collect(job)
    return {
        "model": model_id,
        "steps": report.get("steps"),
        "seconds_per_step": report.get("seconds_per_step"),
        "tokens_per_second": report.get("tokens_per_second"),
        "peak_rss_gb": round(report.get("peak_rss_mb", 0) / 1024, 2),
        "seconds_to_adapter": round(total, 1),
        "phases": {k: round(v, 1) for k, v in phases.items()},
        "passed": report.get("passed"),
        "reason": report.get("reason"),
        "held_out_loss": [report.get("held_out_loss_base"), report.get("held_out_loss_adapter")],
        "style": [report.get("style_base"), report.get("style_adapter")],
        "regression": [
            len(report.get("regression_base", [])),
            len(report.get("regression_adapter", [])),
        ],
        "scale": report.get("scale", 1.0),
        "attempts": report.get("attempts", []),
        "broken": report.get("regression_broken", []),
        "broken_replies": {
            name: report.get("regression_replies", {}).get(name, "")
            for name in report.get("regression_broken", [])
        },
        "adapter": str(version.gguf),
        "gguf": str(model.path),
    }


def serving(gguf: str, adapter: str, scale: float = 1.0, rounds: int = 3) -> dict[str, Any]:
    """Time to first token and tokens/s, adapter on and off, alternating."""
    from app.core.cancel import CancelToken
    from app.core.ports import ChatMessage
    from app.engines.llama_llm import LlamaLanguageModel

    questions = (
        "How do I look after a bonsai?",
        "What is the best way to learn chess?",
        "Any tip for baking bread?",
        "How do I keep my inbox tidy?",
    )
    llm = LlamaLanguageModel(Path(gguf), name="bench", n_ctx=2048, n_threads=2)
    llm.load()
    figures: dict[str, dict[str, list[float]]] = {
        "off": {"ttft": [], "tps": []},
        "on": {"ttft": [], "tps": []},
    }
    for _ in range(rounds):
        for which in ("off", "on"):
            llm.set_adapter(Path(adapter) if which == "on" else None, scale)
            for question in questions:
                start = time.monotonic()
                first = None
                for _piece in llm.stream(
                    [ChatMessage("user", question)],
                    max_tokens=64,
                    temperature=0.0,
                    cancel=CancelToken(),
                ):
                    if first is None:
                        first = time.monotonic() - start
                stats = llm.last_stats
                figures[which]["ttft"].append(first or 0.0)
                if stats.generation_seconds > 0:
                    figures[which]["tps"].append(stats.generated_tokens / stats.generation_seconds)
    llm.close()
    return {
        which: {
            "ttft_s": round(statistics.median(v["ttft"]), 3),
            "tokens_per_s": round(statistics.median(v["tps"]), 1),
        }
        for which, v in figures.items()
    }


# -- memory -----------------------------------------------------------------------------------

MEMORY_CONFIGS: tuple[tuple[str, dict[str, str], list[str]], ...] = (
    # (label, environment, arguments of --memory-child)
    ("naive: GGUF loader, fp32, no checkpointing, full logits", {}, ["naive"]),
    ("converted fp16 base, fp32 compute", {}, ["converted", "nockpt", "full"]),
    ("+ checkpointing", {}, ["converted", "ckpt", "full"]),
    ("+ loss at assistant positions, chunked", {}, ["converted", "ckpt", "assistant"]),
    (
        "+ glibc returns blocks > 4 MB (Hearth)",
        {"MALLOC_MMAP_THRESHOLD_": "4194304"},
        ["converted", "ckpt", "assistant"],
    ),
)


def memory_child(model_id: str, mode: list[str], batch: int, seq: int) -> dict[str, Any]:
    import torch
    from app.engines.models import ModelRegistry
    from app.engines.torchvision_compat import import_torchvision
    from app.personalization import lora_model
    from app.personalization.base_weights import convert
    from app.settings import Paths

    import_torchvision()
    torch.set_num_threads(2)
    paths = Paths.default()
    registry = ModelRegistry(paths.models_cache)
    spec = registry.spec(model_id)
    path = registry.resolve(model_id).path
    started = time.monotonic()
    if mode[0] == "naive":
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(
            str(path.parent), gguf_file=path.name, dtype=torch.float32
        )
        model.requires_grad_(False)
        model = lora_model.add_lora(model, rank=16, alpha=32)
        checkpointing, loss_mode = False, "full"
    else:
        base = convert(path, spec.files[0].sha256, paths.cache_dir / "personalization" / "base")
        checkpointing, loss_mode = mode[1] == "ckpt", mode[2]
        model = lora_model.add_lora(
            lora_model.load_base(base, checkpointing=checkpointing), rank=16, alpha=32
        )
    load_seconds = time.monotonic() - started
    load_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    vocab = int(model.config.vocab_size)
    torch.manual_seed(0)
    times = []
    for _ in range(3):
        ids = torch.randint(0, vocab, (batch, seq))
        attention = torch.ones_like(ids)
        mask = torch.zeros_like(ids, dtype=torch.bool)
        mask[:, seq // 2 :] = True
        start = time.monotonic()
        if loss_mode == "full":
            loss = model(
                input_ids=ids, attention_mask=attention, labels=torch.where(mask, ids, -100)
            ).loss
        else:
            loss = lora_model.assistant_loss(model, ids, attention, mask)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.monotonic() - start)
    return {
        "load_s": round(load_seconds, 1),
        "load_peak_gb": round(load_peak, 2),
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "s_per_step": round(statistics.median(times), 2),
    }


def memory(models: list[str], batch: int, seq: int) -> None:
    print(
        f"peak RSS of one training step, batch {batch} x {seq} tokens, 3 steps, 2 threads "
        f"(load {_load()})"
    )
    for model_id in models:
        for label, extra, mode in MEMORY_CONFIGS:
            env = dict(os.environ, **extra)
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.personalize",
                    "--memory-child",
                    model_id,
                    "--batch",
                    str(batch),
                    "--seq",
                    str(seq),
                    *mode,
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            figures = json.loads(line) if line.startswith("{") else {"error": done.stderr[-300:]}
            print(f"{model_id:32} {label:58} {json.dumps(figures)}", flush=True)
    print(f"(load after: {_load()})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="fast,default")
    parser.add_argument("--steps", type=int, default=0, help="0: the worker's own choice")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-child", metavar="MODEL")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("mode", nargs="*")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument(
        "--keep", metavar="DIR", help="work in DIR and keep it (jobs, adapters) for a look after"
    )
    args = parser.parse_args()
    import app  # noqa: F401  (offline environment)
    from app.settings import MODEL_ALIASES

    models = [MODEL_ALIASES.get(m, m) for m in args.models.split(",")]
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.mode, args.batch, args.seq)))
        return
    if args.memory:
        memory(models, args.batch, args.seq)
        return
    results = []
    with contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory() as work:
        Path(work).mkdir(parents=True, exist_ok=True)
        for model_id in models:
            print(f"training {model_id} (load {_load()})", file=sys.stderr, flush=True)
            result = train_model(model_id, args.steps, Path(work))
            result["serving"] = serving(result["gguf"], result["adapter"], result["scale"])
            results.append(result)
            print(json.dumps(result, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"(load after: {_load()})")


if __name__ == "__main__":
    main()
