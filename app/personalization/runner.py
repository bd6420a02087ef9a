"""Start, watch, pause, resume and cancel the training process (no Qt; the GUI and CLI share it).

The worker (:mod:`app.personalization.worker`) runs as a child process:

* at a lower priority (``nice`` +10) with explicit thread counts (torch, OpenMP, MKL), so a
  turn in the GUI process is scheduled first even before the gate acts;
* with glibc told to return large freed blocks to the system (``MALLOC_MMAP_THRESHOLD_``):
  without it the heap kept the high-water mark of every step's temporaries, and a
  SmolLM2 step of 2 x 256 tokens peaked at 1.61 GB instead of 1.48 GB (Qwen 0.5B: 3.89
  against 3.22 GB; ``bench/personalize.py --memory``);
* dying with its parent (the worker sets ``PR_SET_PDEATHSIG`` for the pid it is given), so
  a killed app leaves no orphan; the checkpoint in the job folder lets the next start resume.

Pause and the foreground gate stop the process (SIGSTOP) and continue it (SIGCONT): the
CPU is handed back at once, even in the middle of a step, and nothing is lost.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from app.core.gate import ForegroundGate
from app.launch import PERSONALIZATION_WORKER, self_command
from app.privacy import REPORT_ENV

log = logging.getLogger(__name__)

NICENESS = 10
MMAP_THRESHOLD = 4 * 1024 * 1024


def worker_environment(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(max(1, threads))
    env.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD))
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    env["HEARTH_PARENT_PID"] = str(os.getpid())
    report = env.get(REPORT_ENV)
    if report:  # the worker's own privacy report, beside the app's
        env[REPORT_ENV] = report + ".training"
    env["HEARTH_NICENESS"] = str(NICENESS)
    return env


class TrainingProcess:
    """One run of the worker on a job folder; iterate :meth:`events` to follow it."""

    def __init__(
        self,
        folder: Path,
        *,
        threads: int = 2,
        gate: ForegroundGate | None = None,
        log_file: Path | None = None,
    ) -> None:
        self.folder = folder
        self._gate = gate
        self._paused = False
        self._held = False
        self._lock = threading.Lock()
        self._cancelled = False
        stderr = open(log_file or folder / "worker.log", "ab")  # noqa: SIM115 - kept for the run
        self._stderr = stderr
        self.process = subprocess.Popen(
            self_command(PERSONALIZATION_WORKER, str(folder)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=worker_environment(threads),
            text=True,
            encoding="utf-8",
        )
        self._gate_thread: threading.Thread | None = None
        if gate is not None:
            self._gate_thread = threading.Thread(
                target=self._follow_gate, name="training-gate", daemon=True
            )
            self._gate_thread.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def yielding(self) -> bool:
        """Stopped because a turn or a recording holds the foreground gate."""
        return self._held

    def events(self) -> Iterator[dict[str, Any]]:
        """The worker's events until it exits; then one ``exit`` event with its code."""
        stdout = self.process.stdout
        assert stdout is not None
        try:
            for raw in stdout:
                text = raw.strip()
                if not text:
                    continue
                try:
                    event = json.loads(text)
                except ValueError:
                    log.info("worker: %s", text)
                    continue
                if isinstance(event, dict):
                    yield event
            code = self.process.wait()
            yield {"event": "exit", "code": code, "cancelled": self._cancelled}
        finally:
            stdout.close()
            self._stderr.close()

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if not self._held:
                self._signal(signal.SIGCONT)

    def cancel(self) -> None:
        """Stop the run; its last checkpoint stays, so it can be resumed later."""
        with self._lock:
            self._cancelled = True
            self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, number)

    def _follow_gate(self) -> None:
        gate = self._gate
        assert gate is not None
        while self.process.poll() is None:
            if gate.busy:
                with self._lock:
                    self._held = True
                    self._signal(signal.SIGSTOP)
                log.info("training yields to %s", ", ".join(gate.reasons()) or "the foreground")
                gate.wait_clear()
                with self._lock:
                    self._held = False
                    if not self._paused:
                        self._signal(signal.SIGCONT)
            gate.wait_busy(timeout=0.5)


def run_to_end(
    process: TrainingProcess, on_event: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Follow ``process`` to its end; the last event (``done``, ``error`` or ``exit``)."""
    last: dict[str, Any] = {}
    for event in process.events():
        on_event(event)
        if event.get("event") in ("done", "error") or (event.get("event") == "exit" and not last):
            last = event
    return last
