"""Run a Python script in a real X11 session of its own (Xvfb), for key and focus tests.

xvfb-run gives the script a private X server; xdotool sends it key presses through the XTEST
extension, which the server treats like a keyboard (key auto-repeat included); xset turns
auto-repeat on or off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import REPO, require


def require_x11_tools(*extra: str) -> None:
    tools = ("xvfb-run", "xdotool", *extra)
    missing = [tool for tool in tools if shutil.which(tool) is None]
    require(
        not missing,
        f"{', '.join(missing)} not installed (Debian packages xvfb, xdotool, x11-xserver-utils)",
    )


def run_on_x11(
    script: str,
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -c script args...`` on a fresh Xvfb display, importing this checkout's code."""
    child_env = dict(env if env is not None else os.environ, PYTHONPATH=str(REPO))
    for key in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "DISPLAY"):
        child_env.pop(key, None)
    return subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1280x800x24",
            sys.executable,
            "-c",
            script,
            *(str(a) for a in args),
        ],
        env=child_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
