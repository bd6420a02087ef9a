"""A training job's settings and its evaluation report (no heavy imports: the window reads
these too), and the evaluation gate's rule."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.fsutil import atomic_write_text
from app.personalization.probes import REGRESSION_SET


@dataclass
class JobConfig:
    model_id: str
    model_name: str
    gguf: str
    sha256: str
    cache_dir: str
    system_prompt: str
    rank: int = 16
    alpha: int = 32
    learning_rate: float = 1e-3
    """Measured on SmolLM2 with the 36-example style file: 2e-4 for 20 steps lowered the
    held-out loss but left the answers' form unchanged; 1e-3 for 24 steps made it visible."""
    steps: int = 0
    """0: ``worker.PASSES`` over the user's examples, between 24 and 150 steps."""
    examples_per_step: int = 8
    anchors_per_step: int = 4
    """Of the examples of every step, this many are anchors (the base model's own answers to
    general questions), whatever the size of the user's data: a fixed share of every update
    pulls back toward general answers, where anchors mixed into the data once were diluted
    by 160 of the user's examples (the benchmark's Qwen adapter then broke a sum). Measured
    on SmolLM2 with the benchmark's 200 examples, one pass: 2 of 8 broke a fact at full
    strength (style 0.42 -> 0.63); 4 of 8 kept every check (style 0.42 -> 0.71); LoRA on the
    attention layers only broke two facts."""
    micro_tokens: int = 256
    """Padded tokens per forward pass: the memory of a step grows with this. Measured on
    SmolLM2 (bench/personalize.py --memory): 4 x 128 tokens peaked at 1.48 GB, 2 x 128 at
    1.20 GB, at the same tokens/s."""
    max_minutes: float = 0.0
    threads: int = 2
    seed: int = 1234
    storage: str = "F16"
    regression_slack: int = 1
    """Regression items the adapter may fail that the base model passes, as long as it
    passes as many items in all (greedy answers of a small model flip on a word or two)."""
    min_loss_gain: float = 0.02
    """The held-out loss must fall by at least this fraction."""
    min_style_gain: float = 0.1
    """The style measure (0-1) must rise by at least this much. Measured on SmolLM2: an
    adapter at half strength rose from 0.42 to 0.49 and none of its answers took the learned
    form, so a smaller rise is not a style the user would see."""
    fallback_scales: tuple[float, ...] = (0.5,)
    """Strengths to try, in order, when the adapter at full strength breaks general answers
    (llama.cpp scales an adapter on a live context; the version is then served at that
    strength)."""

    def __post_init__(self) -> None:
        self.fallback_scales = tuple(float(s) for s in self.fallback_scales)

    @classmethod
    def read(cls, path: Path) -> JobConfig:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def write(self, path: Path) -> None:
        atomic_write_text(path, json.dumps(asdict(self), indent=1))


@dataclass
class Report:
    passed: bool = False
    reason: str = ""
    steps: int = 0
    train_examples: int = 0
    held_out_examples: int = 0
    anchor_examples: int = 0
    held_out_loss_base: float = 0.0
    held_out_loss_adapter: float = 0.0
    held_out_loss_scaled: dict[str, float] = field(default_factory=dict)
    """The held-out loss with the adapter at each fallback strength (keyed by the scale)."""
    style_base: float = 0.0
    style_adapter: float = 0.0
    regression_base: list[str] = field(default_factory=list)
    regression_adapter: list[str] = field(default_factory=list)
    regression_broken: list[str] = field(default_factory=list)
    regression_replies: dict[str, str] = field(default_factory=dict)
    """The adapter's answers to the regression questions (at the strength it is served)."""
    scale: float = 1.0
    """The strength the adapter is served at (below 1 when full strength broke answers)."""
    attempts: list[dict[str, Any]] = field(default_factory=list)
    """Each strength tried: its style figure, the checks it passed and the gate's reason."""
    seconds_per_step: float = 0.0
    tokens_per_second: float = 0.0
    peak_rss_mb: float = 0.0
    train_seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    samples: list[dict[str, str]] = field(default_factory=list)


def breaks_general(report: Report, config: JobConfig) -> bool:
    """More base-passed checks lost than the slack allows, or fewer checks passed in all."""
    return len(report.regression_broken) > config.regression_slack or len(
        report.regression_adapter
    ) < len(report.regression_base)


def verdict(report: Report, config: JobConfig) -> tuple[bool, str]:
    """The gate: better on the user's held-out replies, and nothing general broken."""
    if report.held_out_examples == 0:
        return False, "There are too few examples to hold some out for a fair test."
    gain = 1 - report.held_out_loss_adapter / max(report.held_out_loss_base, 1e-9)
    if gain < config.min_loss_gain:
        return False, (
            f"It did not learn your newest replies better than the base model "
            f"(held-out loss {report.held_out_loss_base:.3f} -> "
            f"{report.held_out_loss_adapter:.3f})."
        )
    strength = "" if report.scale >= 1 else f" at {report.scale:.0%} strength"
    if report.style_adapter - report.style_base < config.min_style_gain:
        return False, (
            f"Its answers{strength} were not noticeably more like your replies than the base "
            f"model's (style {report.style_base:.3f} -> {report.style_adapter:.3f})."
        )
    if breaks_general(report, config):
        lost = ", ".join(report.regression_broken) or (
            f"{len(report.regression_adapter)} of {len(REGRESSION_SET)} checks passed, "
            f"the base model passed {len(report.regression_base)}"
        )
        return False, f"It broke general answers the base model got right{strength}: {lost}."
    return True, (
        f"Held-out loss {report.held_out_loss_base:.3f} -> {report.held_out_loss_adapter:.3f} "
        f"({gain:.0%} better), style {report.style_base:.3f} -> {report.style_adapter:.3f}"
        f"{strength}, general checks {len(report.regression_adapter)}/{len(REGRESSION_SET)} "
        f"(base {len(report.regression_base)})."
    )
