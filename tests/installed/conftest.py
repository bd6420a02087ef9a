"""Tests of the INSTALLED Hearth (the .deb from `make package`), never of this checkout.

`make test-installed` runs them after `apt-get install ./dist/hearth_*.deb` (.ci/run does
both). They are left out of `make test` (tests/conftest.py) because they need the package
installed; under CI=true a missing package fails them, never skips them. Every command runs
as a new user would: a fresh home folder, PATH without the checkout's .venv, none of the
test suite's HEARTH_* settings.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import require

INSTALLED = Path("/opt/hearth/hearth")
COMMAND = Path("/usr/bin/hearth")
DESKTOP_ENTRY = Path("/usr/share/applications/io.hearth.Hearth.desktop")


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a new user of this machine whose home folder is ``home``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HEARTH_", "XDG_", "QT_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(HOME=str(home), PATH="/usr/local/bin:/usr/bin:/bin", LANG="C.UTF-8")
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def hearth() -> str:
    """The installed `hearth` command (the package's /usr/bin/hearth -> /opt/hearth)."""
    require(
        COMMAND.exists() and INSTALLED.is_file(),
        "Hearth is not installed: run make package, apt-get install ./dist/hearth_*.deb",
    )
    assert COMMAND.resolve() == INSTALLED, f"{COMMAND} is not the package's: {COMMAND.resolve()}"
    found = shutil.which("hearth", path="/usr/local/bin:/usr/bin:/bin")
    assert found == str(COMMAND), found
    return found


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder
