"""The memory store survives kill -9 at any moment of adding (repeated many times) and says
plainly when the disk is full; real chromadb in separate processes, as in the app."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import IN_CI, REPO, require

ROUNDS = int(os.environ.get("HEARTH_KILL_ROUNDS", "50"))


def start(folder: Path, check: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.memory_child", str(folder), str(check), *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_kill_9_during_adds_loses_nothing_acknowledged(tmp_path: Path) -> None:
    folder, check = tmp_path / "memory", tmp_path / "acknowledged.txt"
    rng = random.Random(1234)
    acknowledged: list[str] = []
    for round_ in range(ROUNDS):
        child = start(folder, check)
        assert child.stdout is not None
        first = child.stdout.readline().strip()
        assert first == f"verified {len(acknowledged)}", f"round {round_}: {first}"
        time.sleep(rng.uniform(0.0, 0.4))  # kill at a different point of the add loop each time
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate()
        lines = rest.split("\n")
        # The last line may be cut mid-write; only whole lines were acknowledged.
        acknowledged += [ln for ln in lines[:-1] if ln.startswith("fact-")]
        check.write_text("\n".join(acknowledged))
    final = start(folder, check, "--max", "1")
    out, _ = final.communicate(timeout=120)
    assert out.splitlines()[0] == f"verified {len(acknowledged)}", out
    assert len(acknowledged) > ROUNDS  # the processes really were adding when killed


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


def test_a_full_disk_is_a_plain_message_and_keeps_what_was_saved(tmp_path: Path) -> None:
    require(can_mount(), "needs root to mount a small tmpfs as a full disk")
    disk = tmp_path / "small-disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)], check=False
    )
    if mounted.returncode != 0:
        if IN_CI:
            pytest.fail("mounting a tmpfs failed under CI")
        pytest.skip("cannot mount a tmpfs here")
    try:
        folder, check = disk / "memory", tmp_path / "acknowledged.txt"
        child = start(folder, check, "--text-bytes", "20000")
        out, _ = child.communicate(timeout=300)
        lines = out.splitlines()
        assert lines[-1].startswith("FULL disk-full The disk is full"), lines[-3:]
        saved = [ln for ln in lines if ln.startswith("fact-")]
        assert len(saved) > 5
        # Make room, then everything acknowledged is still there and adding works again.
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        check.write_text("\n".join(saved))
        again = start(folder, check, "--max", "3", "--text-bytes", "0")
        out, _ = again.communicate(timeout=120)
        assert out.splitlines()[0] == f"verified {len(saved)}", out
        assert len([ln for ln in out.splitlines() if ln.startswith("fact-")]) == 3, out
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
