"""The version is written once, in pyproject.toml; the app reads it back."""

from __future__ import annotations

import tomllib
from pathlib import Path

import app
import pytest


def test_the_app_reports_the_version_written_in_pyproject() -> None:
    pyproject = tomllib.loads(
        (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert app.__version__ == pyproject["project"]["version"]


def test_hearth_version_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    from app.__main__ import main

    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"Hearth {app.__version__}"
