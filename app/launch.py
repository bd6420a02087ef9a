"""How Hearth starts itself again (the training process, the login entry).

From a checkout or a pip install that is ``python -m app ...``. In the installed bundle
(PyInstaller) ``sys.executable`` is Hearth's own launcher, which runs ``app.__main__`` and
knows no ``-m``, so the same arguments go to it directly.
"""

from __future__ import annotations

import sys
from pathlib import Path

# A command left out of ``hearth --help``: the app starts the training process with it.
PERSONALIZATION_WORKER = "_personalization-worker"


def frozen() -> bool:
    """True in the installed bundle (PyInstaller), False when run by a Python interpreter."""
    return bool(getattr(sys, "frozen", False))


def self_command(*args: str) -> list[str]:
    """The argv that runs ``hearth ARGS...`` with this same installation."""
    if frozen():
        return [sys.executable, *args]
    return [sys.executable, "-m", "app", *args]


def licences_dir() -> Path | None:
    """The licences and source the installer gathered (``_internal/licences`` in the bundle,
    packaging/collect_licences.py); None when run from a checkout."""
    folder = Path(__file__).resolve().parents[1] / "licences"
    return folder if (folder / "README.md").is_file() else None
