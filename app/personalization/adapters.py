"""Adapter versions in the data folder: ``personalization/adapters/<model id>/v<N>/``.

Each version holds ``adapter.gguf`` (what llama.cpp applies), ``adapter.safetensors`` (the
PEFT weights) and ``manifest.json``: when it was made, the base file's sha256, what it
learned from and the evaluation gate's figures and verdict. ``state.json`` names the
active version per model (or none: the base model). Switching is a write of that file;
rolling back is switching to an older version or to none; deleting removes a folder.
A version whose base sha256 is not the installed model's is stale: it is never applied.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.fsutil import atomic_write_text


@dataclass(frozen=True)
class AdapterVersion:
    model_id: str
    version: int
    folder: Path
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return f"v{self.version}"

    @property
    def gguf(self) -> Path:
        return self.folder / "adapter.gguf"

    @property
    def base_sha256(self) -> str:
        return str(self.manifest.get("base_sha256", ""))

    @property
    def passed(self) -> bool:
        return bool(self.manifest.get("report", {}).get("passed"))

    @property
    def reason(self) -> str:
        return str(self.manifest.get("report", {}).get("reason", ""))

    @property
    def scale(self) -> float:
        """The strength the gate passed it at (1: full)."""
        try:
            value = float(self.manifest.get("report", {}).get("scale", 1.0))
        except (TypeError, ValueError):
            return 1.0
        return value if 0.0 < value <= 1.0 else 1.0

    @property
    def created(self) -> float:
        return float(self.manifest.get("created", 0.0))

    def stale(self, sha256: str) -> bool:
        return self.base_sha256 != sha256


class AdapterStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _state_path(self) -> Path:
        return self.root / "state.json"

    def _state(self) -> dict[str, Any]:
        try:
            data = json.loads(self._state_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"active": {}}
        return (
            data
            if isinstance(data, dict) and isinstance(data.get("active"), dict)
            else {"active": {}}
        )

    def versions(self, model_id: str) -> list[AdapterVersion]:
        folder = self.root / model_id
        found = []
        for path in sorted(folder.glob("v*")) if folder.is_dir() else []:
            try:
                number = int(path.name[1:])
                manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            except (ValueError, OSError):
                continue
            if (path / "adapter.gguf").is_file():
                found.append(AdapterVersion(model_id, number, path, manifest))
        return sorted(found, key=lambda v: v.version)

    def get(self, model_id: str, version: int) -> AdapterVersion | None:
        return next((v for v in self.versions(model_id) if v.version == version), None)

    def active(self, model_id: str, sha256: str | None = None) -> AdapterVersion | None:
        """The version in use for ``model_id`` (None: the base model, or a stale version)."""
        number = self._state()["active"].get(model_id)
        if not isinstance(number, int):
            return None
        version = self.get(model_id, number)
        if version is None or (sha256 is not None and version.stale(sha256)):
            return None
        return version

    def use(self, model_id: str, version: int | None) -> None:
        if version is not None and self.get(model_id, version) is None:
            raise KeyError(f"{model_id} has no adapter v{version}")
        state = self._state()
        if version is None:
            state["active"].pop(model_id, None)
        else:
            state["active"][model_id] = version
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self._state_path(), json.dumps(state, indent=1))

    def add(self, model_id: str, job_folder: Path, manifest: dict[str, Any]) -> AdapterVersion:
        """Copy a finished job's adapter in as the next version (not yet active)."""
        existing = self.versions(model_id)
        number = (existing[-1].version if existing else 0) + 1
        folder = self.root / model_id / f"v{number}"
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for name in ("adapter.gguf", "adapter.safetensors", "report.json"):
            if (job_folder / name).is_file():
                shutil.copy2(job_folder / name, partial / name)
        manifest = {"version": number, "created": time.time(), **manifest}
        atomic_write_text(partial / "manifest.json", json.dumps(manifest, indent=1))
        partial.rename(folder)
        return AdapterVersion(model_id, number, folder, manifest)

    def delete(self, model_id: str, version: int) -> None:
        found = self.get(model_id, version)
        if found is None:
            return
        if self._state()["active"].get(model_id) == version:
            self.use(model_id, None)
        shutil.rmtree(found.folder)

    def mark_retrain(self, conversation_ids: set[str] | None) -> list[AdapterVersion]:
        """Versions that learned from these conversations (None: from any user data)."""
        affected = []
        for model in (
            sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []
        ):
            for version in self.versions(model):
                learned = set(version.manifest.get("conversations", []))
                if conversation_ids is None or learned & conversation_ids:
                    affected.append(version)
        return affected
