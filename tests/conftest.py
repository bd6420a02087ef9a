"""Shared fixtures. Under CI=true a test that needs a model or a device fails, never skips."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import app  # noqa: F401  (offline environment before anything heavy)
import pytest
from app.settings import Paths

from tests.pulse import pulse

__all__ = ["pulse"]  # one PulseAudio server per test session, for every test that asks

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parents[1]

# tests/installed checks the installed package (`make test-installed`, after `make package`
# and installing the .deb); the rest of the suite never needs it.
collect_ignore = [] if os.environ.get("HEARTH_TEST_INSTALLED") else ["installed"]


def require(condition: bool, reason: str) -> None:
    """Skip locally when something is missing; fail under CI, where nothing may be skipped."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI but missing: {reason}")
    pytest.skip(reason)


def shared_cache_dir() -> Path:
    """Models assembled once for the whole test run (the real registry path)."""
    value = os.environ.get("HEARTH_CACHE_DIR")
    return Path(value) if value else REPO / ".hearth-test-cache"


def hearth_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for running the `hearth` command: a private data folder, the shared cache."""
    return dict(
        os.environ,
        HEARTH_DATA_DIR=str(tmp_path / "data"),
        HEARTH_CACHE_DIR=str(shared_cache_dir()),
        QT_QPA_PLATFORM="offscreen",
        **extra,
    )


def run_hearth(hearth_exe: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`hearth <args>` with :func:`hearth_env`, its output captured, ten minutes at most."""
    return subprocess.run(
        [hearth_exe, *args],
        env=hearth_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    """A private data folder per test; the shared model cache."""
    return Paths(data_dir=tmp_path / "data", cache_dir=shared_cache_dir())


@pytest.fixture
def hearth_exe() -> Iterator[str]:
    exe = shutil.which("hearth", path=str(REPO / ".venv" / "bin")) or shutil.which("hearth")
    require(exe is not None, "the hearth command is not installed (run make test)")
    assert exe is not None
    yield exe
