"""Personalization as the app and the command line use it (no Qt).

``data_dir/personalization/`` holds the user's imported example files (``files/``), the
examples they left out (``excluded.json``), training jobs (``jobs/``; an unfinished one is
resumed when the same data is trained on the same model again) and adapter versions
(``adapters/``, see :mod:`app.personalization.adapters`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.fsutil import atomic_write_text
from app.personalization import dataset
from app.personalization.adapters import AdapterStore, AdapterVersion
from app.personalization.dataset import Dataset, Example, Exclusions, History, LineProblem
from app.personalization.job import JobConfig


@dataclass(frozen=True)
class BaseModel:
    """The chat model an adapter is trained for."""

    model_id: str
    name: str
    path: Path
    sha256: str


class Personalization:
    def __init__(self, data_dir: Path, cache_dir: Path, history: History | None) -> None:
        self.root = data_dir / "personalization"
        self.cache_dir = cache_dir / "personalization"
        self.history = history
        self.adapters = AdapterStore(self.root / "adapters")
        self.exclusions = Exclusions(self.root / "excluded.json")

    # -- the dataset ------------------------------------------------------------------------

    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    def import_file(self, path: Path) -> tuple[list[Example], list[LineProblem]]:
        """Read a JSONL file of examples and keep a copy; bad lines are reported, not fatal."""
        examples, problems = dataset.read_jsonl(path)
        if examples:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            shutil.copyfile(path, self.files_dir / f"{path.stem}-{digest}.jsonl")
        return examples, problems

    def imported_files(self) -> list[Path]:
        return sorted(self.files_dir.glob("*.jsonl")) if self.files_dir.is_dir() else []

    def examples(self, *, include_excluded: bool = False) -> list[Example]:
        """Every example of the user's (history and imported files), oldest first."""
        found = dataset.from_history(self.history) if self.history is not None else []
        for path in self.imported_files():
            found.extend(dataset.read_jsonl(path)[0])
        found.sort(key=lambda e: (e.created_at, e.id))
        return found if include_excluded else self.exclusions.apply(found)

    def dataset(self) -> Dataset:
        """The examples to learn from and the newest ones held out for the test."""
        train, held = dataset.split_by_time(self.examples())
        return Dataset(train=train, held_out=held)

    # -- jobs -------------------------------------------------------------------------------

    def unfinished_job(self, model: BaseModel) -> Path | None:
        jobs = self.root / "jobs"
        for folder in sorted(jobs.glob("*"), reverse=True) if jobs.is_dir() else []:
            try:
                config = JobConfig.read(folder / "job.json")
            except (OSError, ValueError, TypeError):
                continue
            if config.sha256 == model.sha256 and not (folder / "collected.json").is_file():
                return folder
        return None

    def prepare_job(
        self, model: BaseModel, data: Dataset, *, system_prompt: str, **options: Any
    ) -> Path:
        """A job folder for ``data`` on ``model``; an unfinished job on the same data is reused."""
        fingerprint = data.fingerprint
        waiting = self.unfinished_job(model)
        if waiting is not None:
            if (
                json.loads((waiting / "data.json").read_text(encoding="utf-8")).get("fingerprint")
                == fingerprint
            ):
                return waiting
            shutil.rmtree(waiting)  # the data changed: that run would learn the old data
        folder = self.root / "jobs" / time.strftime("%Y%m%d-%H%M%S")
        while folder.exists():
            folder = folder.with_name(folder.name + "x")
        folder.mkdir(parents=True)
        dataset.write_jsonl(folder / "train.jsonl", data.train)
        dataset.write_jsonl(folder / "held_out.jsonl", data.held_out)
        conversations = sorted(
            {e.conversation_id for e in [*data.train, *data.held_out] if e.conversation_id}
        )
        atomic_write_text(
            folder / "data.json",
            json.dumps(
                {
                    "fingerprint": fingerprint,
                    "counts": data.counts(),
                    "conversations": conversations,
                }
            ),
        )
        config = JobConfig(
            model_id=model.model_id,
            model_name=model.name,
            gguf=str(model.path),
            sha256=model.sha256,
            cache_dir=str(self.cache_dir),
            system_prompt=system_prompt,
            **options,
        )
        config.write(folder / "job.json")
        return folder

    def collect(self, folder: Path, *, activate: bool = True) -> AdapterVersion:
        """Keep a finished job's adapter as a new version; switch it on if it passed the gate."""
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        config = JobConfig.read(folder / "job.json")
        data = json.loads((folder / "data.json").read_text(encoding="utf-8"))
        version = self.adapters.add(
            config.model_id,
            folder,
            {
                "model_id": config.model_id,
                "model_name": config.model_name,
                "base_sha256": config.sha256,
                "examples": data.get("counts", {}),
                "conversations": data.get("conversations", []),
                "settings": {
                    k: v
                    for k, v in asdict(config).items()
                    if k in ("rank", "alpha", "learning_rate", "steps")
                },
                "report": report,
            },
        )
        if activate and report.get("passed"):
            self.adapters.use(config.model_id, version.version)
        atomic_write_text(folder / "collected.json", json.dumps({"version": version.version}))
        shutil.rmtree(folder, ignore_errors=True)
        return version

    # -- forgetting -------------------------------------------------------------------------

    def forget_all_examples(self) -> None:
        """After *Forget everything*: nothing the user wrote so far is learned any more (the
        conversations themselves stay, so their examples are left out one by one)."""
        self.exclusions.set_many((e.id for e in self.examples()), True)
        shutil.rmtree(self.files_dir, ignore_errors=True)

    def forgotten(self, conversation_ids: set[str] | None) -> list[AdapterVersion]:
        """After conversations (None: everything) were deleted: the adapters that learned from
        them, so the user can be offered a retrain. Unfinished jobs on that data are removed."""
        jobs = self.root / "jobs"
        for folder in list(jobs.glob("*")) if jobs.is_dir() else []:
            try:
                learned = set(
                    json.loads((folder / "data.json").read_text(encoding="utf-8"))["conversations"]
                )
            except (OSError, ValueError, KeyError):
                learned = set()
            if conversation_ids is None or learned & conversation_ids:
                shutil.rmtree(folder, ignore_errors=True)
        if conversation_ids is None:
            shutil.rmtree(self.files_dir, ignore_errors=True)
        return self.adapters.mark_retrain(conversation_ids)
