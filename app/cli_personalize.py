"""``hearth personalize``: train, inspect and switch the personal adapter from a terminal.

``train`` exits 0 when the new adapter passed the evaluation gate and is now active, 1 with
the reason when it did not (the adapter is kept, switched off), 2 on a usage problem.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from app.core.durations import rough_duration
from app.settings import MODEL_ALIASES, Paths, load_settings
from app.terminal import ProgressLine, safe


def _model(paths: Paths, model: str | None) -> tuple[Any, Any, Any]:
    from app.engines.models import ModelRegistry
    from app.personalization.service import BaseModel

    settings = load_settings(paths.settings_file)
    model_id = MODEL_ALIASES.get(model, model) if model else settings.model
    registry = ModelRegistry(paths.models_cache)
    spec = registry.spec(model_id)
    if spec.kind != "llm":
        raise ValueError(f"'{spec.title}' is not a chat model")
    return registry, spec, BaseModel(spec.id, spec.title, Path(), spec.files[0].sha256)


def _chosen(paths: Paths, model: str | None) -> tuple[Any, Any, Any] | None:
    """(registry, spec, base model) of ``model`` (default: the chat model), or None after
    saying why not."""
    from app.core.errors import AssistantError

    try:
        return _model(paths, model)
    except AssistantError as exc:
        print(f"hearth: {safe(exc.message)}", file=sys.stderr)
    except (KeyError, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        print(f"hearth: {safe(str(message))}", file=sys.stderr)
    return None


def _service(paths: Paths) -> Any:
    from app.personalization.service import Personalization
    from app.store.history import SqliteConversationStore

    history = SqliteConversationStore(paths.history_db) if paths.history_db.is_file() else None
    return Personalization(paths.data_dir, paths.cache_dir, history)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe(step: dict[str, Any]) -> str:
    eta = float(step.get("eta", 0.0))
    return (
        f"training step {step['step']}/{step['total']}, loss {float(step['loss']):.3f}, "
        f"{float(step.get('tokens_per_second', 0)):.0f} tokens/s, about {rough_duration(eta)} left"
    )


def train(
    paths: Paths,
    *,
    data: Path | None,
    model: str | None,
    max_minutes: float,
    steps: int = 0,
) -> int:
    import dataclasses

    from app.core.assistant import DEFAULT_SYSTEM_PROMPT
    from app.core.errors import AssistantError
    from app.personalization.runner import TrainingProcess, run_to_end

    chosen = _chosen(paths, model)
    if chosen is None:
        return 2
    registry, spec, base = chosen
    service = _service(paths)
    if data is not None:
        if not data.is_file():
            print(f"hearth: {data} does not exist", file=sys.stderr)
            return 2
        found, problems = service.import_file(data)
        for problem in problems:
            print(f"hearth: {data.name}, {problem} (skipped)", file=sys.stderr)
        print(f"{_count(len(found), 'example')} read from {data.name}", file=sys.stderr)
    learned = service.dataset()
    shortfall = learned.shortfall()
    if shortfall:
        print(
            f"hearth: {shortfall} Chat more, edit or rate replies, or give a file with --data.",
            file=sys.stderr,
        )
        return 1
    try:
        resolved = registry.resolve(spec.id)
    except AssistantError as exc:
        print(f"hearth: {safe(exc.message)}", file=sys.stderr)
        return 1
    base = dataclasses.replace(base, path=resolved.path)
    settings = load_settings(paths.settings_file)
    options: dict[str, Any] = {"max_minutes": max_minutes, "threads": settings.llm_threads}
    if steps:
        options["steps"] = steps
    job = service.prepare_job(
        base,
        learned,
        system_prompt=settings.system_prompt or DEFAULT_SYSTEM_PROMPT,
        **options,
    )
    print(
        f"Personalizing {spec.title}: {len(learned.train)} examples to learn from, "
        f"{len(learned.held_out)} newest held out for the test.",
        file=sys.stderr,
    )
    process = TrainingProcess(job, threads=settings.llm_threads)
    with ProgressLine() as line:

        def show(event: dict[str, Any]) -> None:
            kind = event.get("event")
            now = time.monotonic()
            if kind == "step":
                line.update(describe(event), now=now, force=event["step"] == event["total"])
            elif kind == "progress":
                line.update(f"{event['phase']}: {event['done']}/{event['total']}", now=now)
            elif kind == "phase":
                line.update(f"{event['phase']}...", now=now, force=True)
            elif kind == "resumed":
                line.update(
                    f"resuming at step {event['step']}/{event['total']}", now=now, force=True
                )

        try:
            last = run_to_end(process, show)
        except KeyboardInterrupt:
            process.cancel()
            print(
                "\nhearth: stopped; `hearth personalize train` resumes from the last checkpoint.",
                file=sys.stderr,
            )
            return 130
    if last.get("event") != "done":
        message = last.get("message") or f"the training process ended with code {last.get('code')}"
        print(
            f"hearth: training failed: {safe(str(message))}. Details: {job / 'worker.log'}",
            file=sys.stderr,
        )
        return 1
    version = service.collect(job)
    report = version.manifest["report"]
    print(_report_text(version.name, report))
    if version.passed:
        print(f"{version.name} is now active for {spec.title}.")
        return 0
    print(
        f"hearth: {version.name} is kept but not switched on: {report['reason']}", file=sys.stderr
    )
    return 1


def _report_text(name: str, report: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{name}: {report['steps']} steps in {rough_duration(report['train_seconds'])} "
            f"({report['seconds_per_step']:.1f} s/step, "
            f"{report['tokens_per_second']:.0f} tokens/s, "
            f"peak {report['peak_rss_mb'] / 1024:.2f} GB)",
            f"  held-out loss: base {report['held_out_loss_base']:.3f}, adapter "
            f"{report['held_out_loss_adapter']:.3f}",
            f"  style (0-1, like your replies): base {report['style_base']:.3f}, adapter "
            f"{report['style_adapter']:.3f}",
            f"  general checks passed: base {len(report['regression_base'])}, adapter "
            f"{len(report['regression_adapter'])}"
            + (
                f" (broken: {', '.join(report['regression_broken'])})"
                if report["regression_broken"]
                else ""
            ),
            *(
                f"  at {attempt['scale']:.0%} strength: style {attempt['style_adapter']:.3f}, "
                f"{attempt['checks']} general checks passed"
                for attempt in report.get("attempts", [])[1:]
            ),
            f"  verdict: {'passed' if report['passed'] else 'not passed'}. {report['reason']}",
        ]
    )


def status(paths: Paths, *, model: str | None, as_json: bool) -> int:
    chosen = _chosen(paths, model)
    if chosen is None:
        return 2
    _registry, spec, base = chosen
    service = _service(paths)
    active = service.adapters.active(spec.id, base.sha256)
    versions = service.adapters.versions(spec.id)
    examples = service.examples()
    waiting = service.unfinished_job(base)
    data = {
        "model": spec.id,
        "active": active.name if active else None,
        "versions": len(versions),
        "examples": len(examples),
        "unfinished_job": str(waiting) if waiting else None,
    }
    if as_json:
        print(json.dumps(data, indent=1))
        return 0
    print(f"{spec.title}: {'adapter ' + active.name if active else 'base model (no adapter)'}")
    print(f"  {len(versions)} adapter version(s); {len(examples)} examples to learn from")
    if waiting:
        print("  an interrupted training run will resume with `hearth personalize train`")
    return 0


def list_versions(paths: Paths, *, model: str | None) -> int:
    chosen = _chosen(paths, model)
    if chosen is None:
        return 2
    _registry, spec, base = chosen
    service = _service(paths)
    active = service.adapters.active(spec.id, base.sha256)
    versions = service.adapters.versions(spec.id)
    if not versions:
        print(f"No adapters for {spec.title} yet: `hearth personalize train` makes one.")
        return 0
    for version in versions:
        marks = []
        if active and active.version == version.version:
            marks.append("active")
        if version.stale(base.sha256):
            marks.append("stale: made for another model file")
        if not version.passed:
            marks.append("did not pass the test")
        elif version.scale < 1:
            marks.append(f"used at {version.scale:.0%} strength")
        made = time.strftime("%Y-%m-%d %H:%M", time.localtime(version.created))
        report = version.manifest.get("report", {})
        print(
            f"{version.name}  {made}  loss {report.get('held_out_loss_base', 0):.3f} -> "
            f"{report.get('held_out_loss_adapter', 0):.3f}  "
            f"style {report.get('style_base', 0):.3f} -> {report.get('style_adapter', 0):.3f}"
            + (f"  [{'; '.join(marks)}]" if marks else "")
        )
    return 0


def use(paths: Paths, version: str | None, *, model: str | None) -> int:
    chosen = _chosen(paths, model)
    if chosen is None:
        return 2
    _registry, spec, base = chosen
    service = _service(paths)
    if version is None:
        service.adapters.use(spec.id, None)
        print(f"{spec.title} answers without an adapter now.")
        return 0
    try:
        number = int(version.lstrip("v"))
    except ValueError:
        print(f"hearth: {version!r} is not a version (like v2)", file=sys.stderr)
        return 2
    found = service.adapters.get(spec.id, number)
    if found is None:
        print(f"hearth: {spec.title} has no adapter v{number}", file=sys.stderr)
        return 2
    if found.stale(base.sha256):
        print(
            f"hearth: v{number} was made for another file of this model; train again",
            file=sys.stderr,
        )
        return 1
    service.adapters.use(spec.id, number)
    print(f"{spec.title} now answers with adapter v{number}.")
    return 0
