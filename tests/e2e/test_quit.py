"""Quitting the real app while a worker is inside work that cannot be interrupted (a model
loading): the app ends at once, with exit code 0, instead of waiting for it, and without
the abort Qt gives when a running QThread is destroyed at Python's exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, hearth_env

DRIVER = r"""
import sys, threading
from pathlib import Path

import app
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.bootstrap import run_gui
from app.settings import Paths, Settings, save_settings
from app.ui.main_window import MainWindow

paths = Paths.default(Path(sys.argv[1]))
save_settings(paths.settings_file, Settings(global_talk_key=False, welcome_seen=True))
never = threading.Event()


def quit_while_loading():
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
    memory = window.backend.memory_service
    assert memory is not None
    started = threading.Event()

    def load(_emit, _cancel):  # like loading the text embedder: nothing can stop it
        started.set()
        never.wait()

    memory.runner.submit(load, "memory warm-up")
    started.wait(30)
    print("LOADING", flush=True)
    window.close()  # as the user quits


qt = QApplication(["hearth"])
QTimer.singleShot(500, quit_while_loading)
code = run_gui(paths, warm_up=False)
print("RETURNED", code, flush=True)  # only when nothing was left running
sys.exit(code)
"""


def test_quitting_while_a_model_loads_ends_the_app_cleanly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", DRIVER, str(tmp_path / "data")],
        env=hearth_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout + done.stderr[-3000:]
    assert "LOADING" in done.stdout, out
    assert done.returncode == 0, out
    assert "Destroyed while thread" not in done.stderr, out
    assert "RETURNED" not in done.stdout, out  # it did not wait for the load to end
    assert "quitting without waiting for hearth-memory" in done.stderr, out
