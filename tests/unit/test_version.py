"""The version is written once, in pyproject.toml; the app reads it back."""

from __future__ import annotations

import tomllib
from pathlib import Path

import app


def test_the_app_reports_the_version_written_in_pyproject() -> None:
    pyproject = tomllib.loads(
        (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert app.__version__ == pyproject["project"]["version"]
