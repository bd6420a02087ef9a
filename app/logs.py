"""Logging: everything to a rotating file in the data folder, warnings to stderr (made safe for
the terminal, and never in the middle of a progress line: app.terminal)."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from app.terminal import ConsoleHandler

FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def setup_logging(log_dir: Path, *, stderr_level: int = logging.WARNING) -> Path | None:
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_hearth", False):
            root.removeHandler(handler)
    log_file = log_dir / "hearth.log"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        file_handler.setFormatter(logging.Formatter(FORMAT))
        file_handler._hearth = True  # type: ignore[attr-defined]
        root.addHandler(file_handler)
    except OSError:
        log_file = None  # type: ignore[assignment]
    console = ConsoleHandler()
    console.setLevel(stderr_level)
    console.setFormatter(logging.Formatter("hearth: %(levelname)s: %(message)s"))
    console._hearth = True  # type: ignore[attr-defined]
    root.addHandler(console)
    logging.captureWarnings(True)  # library warnings take the same way (never mid-line)
    return log_file
