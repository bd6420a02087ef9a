"""The training process: ``python -m app.personalization.worker JOB_DIR``.

Never run in the GUI process. :mod:`app.personalization.runner` starts it at a lower
priority with explicit thread counts, reads its progress (one JSON object per line on
stdout), stops and continues it (the foreground gate, pause) and kills it (cancel). The job
folder holds everything it needs (``job.json``, ``train.jsonl``, ``held_out.jsonl``,
``anchors.jsonl``) and everything it makes:

* ``checkpoint.pt``: LoRA weights, optimizer state and step, written atomically every
  :data:`CHECKPOINT_SECONDS`; a killed or rebooted run starts again from it, with the same
  batches (the order of examples is a function of the seed and the epoch).
* ``adapter.safetensors`` and ``adapter.gguf``: the trained adapter (PEFT and llama.cpp).
* ``report.json``: the evaluation gate's figures and verdict.

Phases: prepare (convert the base once, tokenize), anchors (the base model's own answers,
cached per base file), train, evaluate (held-out loss in PyTorch; then, through llama.cpp
with the real GGUF and the adapter, the style of held-out replies and the regression set).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import json
import math
import os
import random
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.fsutil import atomic_write_text
from app.personalization import style
from app.personalization.dataset import Example, load_jsonl, write_jsonl
from app.personalization.job import JobConfig, Report, breaks_general, verdict
from app.personalization.probes import ANCHOR_QUESTIONS, REGRESSION_SET

CHECKPOINT_SECONDS = 20.0
MAX_PROMPT_TOKENS = 320
MAX_TARGET_TOKENS = 192
ANCHOR_TOKENS = 160
EVAL_TOKENS = 160
PASSES = 1
"""Passes over the user's examples when no step count is given (at least 24 steps, so a
small set is seen several times). On the benchmark's 200 examples, three passes at 1e-3
memorised them (held-out loss 0.003) and two still broke a plain fact on both models (Qwen
passed only at half strength); the style was learned within the first pass."""
EVAL_ANSWERS = 12
"""Held-out examples answered through llama.cpp for the style measure (the newest ones; the
held-out loss uses them all). Each costs two generations, base and adapter, and a third
when the adapter is tried at a fallback strength."""


def emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _trim_heap() -> None:
    """Give freed heap back to the system (glibc keeps it otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# -- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    ids: list[int]
    mask: list[bool]
    """True for the target (assistant) tokens the loss is computed on."""


class Tokens:
    """The serving model's own tokenizer and chat template (llama.cpp, vocabulary only)."""

    def __init__(self, gguf: str, system_prompt: str) -> None:
        import llama_cpp

        from app.engines.llama_llm import chat_formatter

        self._llm = llama_cpp.Llama(model_path=gguf, vocab_only=True, verbose=False)
        self._format = chat_formatter(self._llm)
        self._system = system_prompt
        self.eos = int(self._llm.token_eos())

    def messages(self, example: Example) -> list[dict[str, str]]:
        head = [{"role": "system", "content": self._system}] if self._system else []
        return head + [{"role": r, "content": c} for r, c in example.messages]

    def row(self, example: Example) -> Row:
        prompt = self._format(self.messages(example))
        if len(prompt) > MAX_PROMPT_TOKENS:  # keep the system prompt's start and the end
            prompt = prompt[:64] + prompt[-(MAX_PROMPT_TOKENS - 64) :]
        target = self._llm.tokenize(example.target.encode("utf-8"), add_bos=False, special=False)
        target = [*target[:MAX_TARGET_TOKENS], self.eos]
        return Row(prompt + target, [False] * len(prompt) + [True] * len(target))


# -- batches ------------------------------------------------------------------------------------


def step_examples(count: int, per_step: int, step: int, seed: int) -> list[int]:
    """Indices of the examples of ``step``: a fresh shuffle every pass, from the seed alone."""
    per_step = min(per_step, count)
    if per_step <= 0:
        return []
    per_epoch = max(1, count // per_step)
    epoch, index = divmod(step, per_epoch)
    order = list(range(count))
    random.Random(seed * 1000 + epoch).shuffle(order)  # noqa: S311 - a data order
    return order[index * per_step : (index + 1) * per_step]


def micro_batches(rows: Sequence[Row], budget: int) -> list[list[Row]]:
    """Rows grouped so that rows x longest row stays within ``budget`` padded tokens."""
    batches: list[list[Row]] = []
    current: list[Row] = []
    for row in sorted(rows, key=lambda r: len(r.ids)):
        longest = max([len(row.ids), *(len(r.ids) for r in current)])
        if current and longest * (len(current) + 1) > budget:
            batches.append(current)
            current = []
        current.append(row)
    if current:
        batches.append(current)
    return batches


def tensors(batch: Sequence[Row]) -> tuple[Any, Any, Any]:
    import torch

    width = max(len(r.ids) for r in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    attention = torch.zeros_like(ids)
    mask = torch.zeros_like(ids, dtype=torch.bool)
    for i, row in enumerate(batch):
        n = len(row.ids)
        ids[i, :n] = torch.tensor(row.ids)
        attention[i, :n] = 1
        mask[i, :n] = torch.tensor(row.mask)
    return ids, attention, mask


class StepPlan:
    """Which examples each step learns from: a fixed number of anchors in every step (so a
    large data set does not dilute them) and the user's examples, a fresh order each pass."""

    def __init__(self, config: JobConfig, users: int, anchors: int) -> None:
        self.users, self.anchors, self.seed = users, anchors, config.seed
        self.anchors_per_step = min(config.anchors_per_step, anchors)
        self.users_per_step = max(1, min(config.examples_per_step - self.anchors_per_step, users))
        self.total = (
            config.steps
            if config.steps > 0
            else max(24, min(150, math.ceil(PASSES * users / self.users_per_step)))
        )
        """``PASSES`` over the user's examples, at least 24 steps, at most 150."""

    def step(self, step: int) -> tuple[list[int], list[int]]:
        """(user example indices, anchor indices) of ``step``."""
        return (
            step_examples(self.users, self.users_per_step, step, self.seed),
            step_examples(self.anchors, self.anchors_per_step, step, self.seed + 1),
        )


# -- the job ------------------------------------------------------------------------------------


class Job:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.config = JobConfig.read(folder / "job.json")
        self.train = load_jsonl(folder / "train.jsonl")
        self.held_out = load_jsonl(folder / "held_out.jsonl")

    @property
    def anchors_file(self) -> Path:
        """Per base file and system prompt: the base model's answers depend on both."""
        prompt = hashlib.sha256(self.config.system_prompt.encode("utf-8")).hexdigest()[:12]
        return Path(self.config.cache_dir) / "anchors" / f"{self.config.sha256[:16]}-{prompt}.jsonl"

    def run(self) -> int:
        import torch

        torch.set_num_threads(max(1, self.config.threads))
        torch.manual_seed(self.config.seed)
        report_path = self.folder / "report.json"
        if report_path.is_file():
            emit("done", report=json.loads(report_path.read_text(encoding="utf-8")))
            return 0
        anchors = self.anchors()
        trained = self.folder / "trained.json"
        report = Report(
            train_examples=len(self.train),
            held_out_examples=len(self.held_out),
            anchor_examples=len(anchors),
        )
        if not trained.is_file():
            self.training(anchors, report)
        # The training's figures, whether trained now or before a restart.
        for key, value in json.loads(trained.read_text(encoding="utf-8")).items():
            setattr(report, key, value)
        self.evaluate(report)
        report.peak_rss_mb = max(report.peak_rss_mb, peak_rss_mb())
        atomic_write_text(report_path, json.dumps(asdict(report), indent=1))
        emit("done", report=asdict(report))
        return 0

    # -- anchors --------------------------------------------------------------------------

    def anchors(self) -> list[Example]:
        """The base model's own answers to general questions (made once per base file)."""
        path = self.anchors_file
        if path.is_file():
            made = load_jsonl(path)
            if [e.question for e in made] == list(ANCHOR_QUESTIONS):
                return made
        from app.core.cancel import CancelToken
        from app.core.ports import ChatMessage

        llm = self._llm()
        made = []
        emit("phase", phase="anchors", total=len(ANCHOR_QUESTIONS))
        for index, question in enumerate(ANCHOR_QUESTIONS):
            messages = [
                ChatMessage("system", self.config.system_prompt),
                ChatMessage("user", question),
            ]
            reply = "".join(
                llm.stream(
                    messages, max_tokens=ANCHOR_TOKENS, temperature=0.0, cancel=CancelToken()
                )
            ).strip()
            made.append(
                Example(f"anchor:{index}", "anchor", (("user", question),), reply, float(index))
            )
            emit("progress", phase="anchors", done=index + 1, total=len(ANCHOR_QUESTIONS))
        llm.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(path, made)
        _trim_heap()
        return made

    def _llm(self) -> Any:
        from app.engines.llama_llm import LlamaLanguageModel

        return LlamaLanguageModel(
            Path(self.config.gguf),
            name=self.config.model_name,
            n_ctx=2048,
            n_threads=self.config.threads,
        )

    # -- training -------------------------------------------------------------------------

    def base_weights(self) -> Any:
        from app.personalization.base_weights import convert

        def progress(done: int, total: int) -> None:
            emit("progress", phase="prepare", done=done, total=total)

        emit("phase", phase="prepare")
        return convert(
            Path(self.config.gguf),
            self.config.sha256,
            Path(self.config.cache_dir) / "base",
            dtype=self.config.storage,
            progress=progress,
        )

    def training(self, anchors: list[Example], report: Report) -> None:
        import torch

        from app.personalization import lora_model

        base = self.base_weights()
        tokens = Tokens(self.config.gguf, self.config.system_prompt)
        rows = [tokens.row(e) for e in self.train]
        anchor_rows = [tokens.row(e) for e in anchors]
        plan = StepPlan(self.config, len(rows), len(anchor_rows))
        model = lora_model.add_lora(
            lora_model.load_base(base),
            rank=self.config.rank,
            alpha=self.config.alpha,
        )
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=self.config.learning_rate, weight_decay=0.0)
        total = plan.total
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min(1.0, (s + 1) / 4) * max(0.1, 1 - s / total)
        )
        checkpoint_path = self.folder / "checkpoint.pt"
        step, losses, spent, tokens_seen = 0, [], 0.0, 0
        if checkpoint_path.is_file():
            try:
                saved = torch.load(checkpoint_path, weights_only=False)
                model.load_state_dict(saved["lora"], strict=False)
                optimizer.load_state_dict(saved["optimizer"])
                schedule.load_state_dict(saved["schedule"])
                step, losses = int(saved["step"]), list(saved["losses"])
                spent, tokens_seen = float(saved["seconds"]), int(saved["tokens"])
                emit("resumed", step=step, total=total)
            except (OSError, RuntimeError, KeyError, ValueError, EOFError) as exc:
                # A damaged checkpoint (the disk, not a kill: writes are atomic) costs the
                # steps it held, never the run.
                emit("note", text=f"the checkpoint could not be read ({exc}); starting over")
                checkpoint_path.unlink(missing_ok=True)
        emit("phase", phase="train", total=total, step=step, losses=losses)
        started = time.monotonic() - spent
        last_save = time.monotonic()
        deadline = started + self.config.max_minutes * 60 if self.config.max_minutes > 0 else None
        while step < total:
            users, anchor_indices = plan.step(step)
            chosen = [rows[i] for i in users] + [anchor_rows[i] for i in anchor_indices]
            targets = sum(sum(r.mask[1:]) for r in chosen)
            step_loss = 0.0
            for batch in micro_batches(chosen, self.config.micro_tokens):
                ids, attention, mask = tensors(batch)
                count = int(mask[:, 1:].sum())
                loss = lora_model.assistant_loss(model, ids, attention, mask)
                (loss * (count / max(1, targets))).backward()
                step_loss += float(loss.detach()) * count / max(1, targets)
                tokens_seen += int(attention.sum())
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            losses.append(round(step_loss, 4))
            elapsed = time.monotonic() - started
            emit(
                "step",
                step=step,
                total=total,
                loss=step_loss,
                seconds=elapsed,
                eta=elapsed / step * (total - step),
                tokens_per_second=tokens_seen / max(elapsed, 1e-6),
                peak_rss_mb=peak_rss_mb(),
            )
            out_of_time = deadline is not None and time.monotonic() > deadline
            if time.monotonic() - last_save > CHECKPOINT_SECONDS or step == total or out_of_time:
                self._checkpoint(model, optimizer, schedule, step, losses, elapsed, tokens_seen)
                last_save = time.monotonic()
            if out_of_time:
                emit("note", text=f"stopped at the time limit after {step} of {total} steps")
                break
        elapsed = time.monotonic() - started
        report.steps = step
        report.losses = losses
        report.train_seconds = elapsed
        report.seconds_per_step = elapsed / max(1, step)
        report.tokens_per_second = tokens_seen / max(elapsed, 1e-6)
        report.peak_rss_mb = peak_rss_mb()
        self._finish_training(model, base, report, tokens)
        del model, optimizer
        _trim_heap()

    def _checkpoint(  # noqa: PLR0917 - the run's state, saved together
        self,
        model: Any,
        optimizer: Any,
        schedule: Any,
        step: int,
        losses: list[float],
        seconds: float,
        tokens_seen: int,
    ) -> None:
        import torch

        state = {
            "lora": {k: v for k, v in model.state_dict().items() if "lora_" in k},
            "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(),
            "step": step,
            "losses": losses,
            "seconds": seconds,
            "tokens": tokens_seen,
        }
        partial = self.folder / "checkpoint.pt.partial"
        with open(partial, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.folder / "checkpoint.pt")
        emit("checkpoint", step=step)

    def _finish_training(self, model: Any, base: Any, report: Report, tokens: Tokens) -> None:
        """Held-out loss with and without the adapter; the adapter written for llama.cpp."""
        from safetensors.torch import save_file

        from app.personalization import lora_model
        from app.personalization.export import write_gguf_adapter

        emit("phase", phase="evaluate", part="loss")
        rows = [tokens.row(e) for e in self.held_out]
        pairs = [(r.ids, r.mask) for r in rows]
        model.eval()
        with_adapter = lora_model.token_losses(model, pairs)
        with model.disable_adapter():
            without = lora_model.token_losses(model, pairs)
        count = sum(n for _, n in with_adapter)
        report.held_out_loss_adapter = sum(x for x, _ in with_adapter) / max(1, count)
        report.held_out_loss_base = sum(x for x, _ in without) / max(1, count)
        for scale in self.config.fallback_scales:
            with lora_model.scaled(model, scale):
                scaled = lora_model.token_losses(model, pairs)
            report.held_out_loss_scaled[str(scale)] = sum(x for x, _ in scaled) / max(1, count)
        state = {
            k: v.detach().float().contiguous()
            for k, v in model.state_dict().items()
            if "lora_" in k
        }
        write_gguf_adapter(
            self.folder / "adapter.gguf",
            state,
            config=base.config,
            alpha=self.config.alpha,
            base_sha256=self.config.sha256,
            name=f"hearth-{self.config.model_id}",
        )
        save_file(state, str(self.folder / "adapter.safetensors.partial"))
        os.replace(self.folder / "adapter.safetensors.partial", self.folder / "adapter.safetensors")
        figures = (
            "steps",
            "seconds_per_step",
            "tokens_per_second",
            "train_seconds",
            "losses",
            "peak_rss_mb",
            "held_out_loss_base",
            "held_out_loss_adapter",
            "held_out_loss_scaled",
        )
        atomic_write_text(
            self.folder / "trained.json",
            json.dumps({key: getattr(report, key) for key in figures}),
        )

    # -- evaluation through llama.cpp -------------------------------------------------------

    def evaluate(self, report: Report) -> None:
        """Base and adapter answer the newest held-out questions and the regression set.

        When the adapter at full strength breaks general answers, the fallback strengths are
        tried in turn (llama.cpp scales an adapter on a live context); the first that passes
        the gate is the strength the version is served at."""
        from app.core.cancel import CancelToken
        from app.core.ports import ChatMessage

        llm = self._llm()
        adapter = self.folder / "adapter.gguf"
        system = ChatMessage("system", self.config.system_prompt)
        answered = self.held_out[-EVAL_ANSWERS:]
        per_round = len(answered) + sum(len(item.questions) for item in REGRESSION_SET)
        total = 2 * per_round
        done = 0
        emit("phase", phase="evaluate", part="answers", total=total)

        def answer(messages: list[ChatMessage], schema: dict[str, Any] | None) -> str:
            nonlocal done
            cancel = CancelToken()
            text: str
            if schema is not None:
                text = llm.structured(messages, schema=schema, max_tokens=48, cancel=cancel)
            else:
                text = "".join(
                    llm.stream(messages, max_tokens=EVAL_TOKENS, temperature=0.0, cancel=cancel)
                )
            done += 1
            emit("progress", phase="evaluate", done=done, total=total)
            return text.strip()

        def one_round(scale: float | None) -> tuple[float, list[str], list[str], dict[str, str]]:
            llm.set_adapter(adapter if scale is not None else None, scale or 1.0)
            scores, replies = [], []
            for example in answered:
                messages = [system, *(ChatMessage(r, c) for r, c in example.messages)]  # type: ignore[arg-type]
                reply = answer(messages, None)
                replies.append(reply)
                scores.append(style.similarity(reply, example.target))
            passed, checked = [], {}
            for item in REGRESSION_SET:
                said = [
                    answer([system, ChatMessage("user", q)], item.schema) for q in item.questions
                ]
                checked[item.name] = "\n---\n".join(said)
                if item.passes(said):
                    passed.append(item.name)
            return sum(scores) / max(1, len(scores)), passed, replies, checked

        report.style_base, report.regression_base, base_replies, _ = one_round(None)
        tried: list[dict[str, Any]] = []
        for scale in (1.0, *self.config.fallback_scales):
            if scale != 1.0:
                total += per_round
            style_now, passed, replies, checked = one_round(scale)
            outcome: dict[str, Any] = {
                "scale": scale,
                "held_out_loss_adapter": report.held_out_loss_scaled.get(
                    str(scale), report.held_out_loss_adapter
                ),
                "style_adapter": style_now,
                "regression_adapter": passed,
                "regression_broken": [n for n in report.regression_base if n not in passed],
                "regression_replies": checked,
                "samples": [
                    {"question": e.question, "wanted": e.target, "base": b, "adapter": a}
                    for e, b, a in zip(answered, base_replies, replies, strict=True)
                ][:6],
            }
            probe = Report(**{**asdict(report), **outcome})
            outcome["passed"], outcome["reason"] = verdict(probe, self.config)
            tried.append(outcome)
            if outcome["passed"] or not breaks_general(probe, self.config):
                break  # a weaker adapter cannot mend a failure that is not a broken answer
        llm.close()
        chosen = next((t for t in tried if t["passed"]), tried[0])
        for key, value in chosen.items():
            setattr(report, key, value)
        report.attempts = [
            {k: t[k] for k in ("scale", "held_out_loss_adapter", "style_adapter", "passed")}
            | {"checks": len(t["regression_adapter"]), "reason": t["reason"]}
            for t in tried
        ]


def _follow_parent() -> None:
    """Lower this process's priority and make it die with the app that started it."""
    with contextlib.suppress(OSError, ValueError):
        os.nice(int(os.environ.get("HEARTH_NICENESS", "10")))
    parent = os.environ.get("HEARTH_PARENT_PID")
    if not parent or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != int(parent):  # the parent died before the line above
        sys.exit(3)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: hearth _personalization-worker JOB_DIR (Hearth starts it)", file=sys.stderr)
        return 2
    _follow_parent()
    from app import privacy

    privacy.apply_offline_environment()
    privacy.install_network_guard()
    from app.engines.torchvision_compat import import_torchvision

    import_torchvision()
    try:
        return Job(Path(args[0])).run()
    except Exception as exc:  # reported to the parent as one line, traceback on stderr
        import traceback

        traceback.print_exc()
        emit("error", message=str(exc) or type(exc).__name__, kind=type(exc).__name__)
        return 1


if __name__ == "__main__":
    sys.exit(main())
