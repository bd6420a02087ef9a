"""A training job's settings and its evaluation report (no heavy imports: the window reads
these too), and the evaluation gate's rule."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

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
    """0: two passes over the training examples, between 24 and 150 steps."""
    examples_per_step: int = 8
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
    style_base: float = 0.0
    style_adapter: float = 0.0
    regression_base: list[str] = field(default_factory=list)
    regression_adapter: list[str] = field(default_factory=list)
    regression_broken: list[str] = field(default_factory=list)
    seconds_per_step: float = 0.0
    tokens_per_second: float = 0.0
    peak_rss_mb: float = 0.0
    train_seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    samples: list[dict[str, str]] = field(default_factory=list)


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
    if report.style_adapter < report.style_base:
        return False, (
            f"Its answers were less like your replies than the base model's "
            f"(style {report.style_base:.3f} -> {report.style_adapter:.3f})."
        )
    if len(report.regression_broken) > config.regression_slack or len(
        report.regression_adapter
    ) < len(report.regression_base):
        return False, "It broke general answers the base model got right: " + ", ".join(
            report.regression_broken
        ) + "."
    return True, (
        f"Held-out loss {report.held_out_loss_base:.3f} -> {report.held_out_loss_adapter:.3f} "
        f"({gain:.0%} better), style {report.style_base:.3f} -> {report.style_adapter:.3f}, "
        f"general checks {len(report.regression_adapter)}/{len(REGRESSION_SET)} "
        f"(base {len(report.regression_base)})."
    )
