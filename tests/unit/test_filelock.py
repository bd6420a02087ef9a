"""The single-instance lock: exclusive, and free again after the holder is killed -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.filelock import FileLock

HOLDER = """
import sys, time
from pathlib import Path
from app.filelock import FileLock
lock = FileLock(Path(sys.argv[1]))
assert lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_second_holder_is_refused_until_the_first_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "hearth.lock"
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        mine = FileLock(path)
        assert not mine.acquire()
        assert mine.owner_pid() == proc.pid
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while not mine.acquire() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mine.held  # the lock file is still there, but nobody holds it: not stale
        assert mine.owner_pid() == os.getpid()
        mine.release()


def test_same_process_reacquire_and_release(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "x.lock")
    assert lock.acquire() and lock.acquire()
    lock.release()
    assert not lock.held
    with FileLock(tmp_path / "x.lock") as again:
        assert again.held
