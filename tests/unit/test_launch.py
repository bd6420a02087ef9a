"""Hearth starting itself again: the same command works from a checkout and from the bundle."""

from __future__ import annotations

import subprocess
import sys

import pytest
from app import autostart, launch
from app.launch import PERSONALIZATION_WORKER, self_command


def test_from_python_it_runs_the_package_with_the_same_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert self_command("--background") == [sys.executable, "-m", "app", "--background"]


def test_in_the_bundle_it_runs_the_bundles_own_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/hearth/hearth")
    assert launch.frozen()
    assert self_command(PERSONALIZATION_WORKER, "/j") == [
        "/opt/hearth/hearth",
        PERSONALIZATION_WORKER,
        "/j",
    ]
    monkeypatch.setattr(sys, "argv", ["python"])  # not started by a launcher named hearth
    assert autostart.launch_command() == ["/opt/hearth/hearth", "--background"]


def test_the_worker_command_reaches_the_training_process_and_stays_out_of_help() -> None:
    ran = subprocess.run(
        self_command(PERSONALIZATION_WORKER),
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 2 and "JOB_DIR" in ran.stderr  # the worker's own usage line
    helped = subprocess.run(
        self_command("--help"), check=False, capture_output=True, text=True, timeout=120
    )
    assert helped.returncode == 0 and "ask" in helped.stdout
    assert PERSONALIZATION_WORKER not in helped.stdout
