"""`hearth index`, `hearth recall` and `hearth ask` with memory, as a user runs them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from app.filelock import APP_HOLDER, FileLock, command_holder

from tests.conftest import hearth_env, require
from tests.conftest import run_hearth as run

pytestmark = pytest.mark.model


def test_index_recall_and_ask_share_one_memory(hearth_exe: str, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "garden.md").write_text("The tomatoes grow in the north bed.", encoding="utf-8")
    (folder / "house.txt").write_text("The boiler service code is 4411.", encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 then nothing")

    indexed = run(hearth_exe, tmp_path, "index", str(folder))
    assert indexed.returncode == 0, indexed.stderr
    assert "2 file(s) indexed" in indexed.stdout and "1 skipped" in indexed.stdout
    assert "broken.pdf" in indexed.stdout

    recalled = run(hearth_exe, tmp_path, "recall", "where do the tomatoes grow?")
    assert recalled.returncode == 0, recalled.stderr
    assert recalled.stdout.startswith("[1] file garden.md"), recalled.stdout

    told = run(hearth_exe, tmp_path, "ask", "remember that my dog is called Biscuit")
    assert told.returncode == 0, told.stderr
    assert told.stdout.strip() == "Got it. I'll remember: my dog is called Biscuit"
    recalled = run(hearth_exe, tmp_path, "recall", "dog's name")
    assert "fact" in recalled.stdout.splitlines()[0] and "Biscuit" in recalled.stdout

    removed = run(hearth_exe, tmp_path, "index", "--remove", str(folder))
    assert removed.returncode == 0 and "removed from memory (3 files)" in removed.stdout
    recalled = run(hearth_exe, tmp_path, "recall", "where do the tomatoes grow?")
    assert "garden.md" not in recalled.stdout


def test_memory_commands_wait_for_no_one_and_say_who_is_in_the_way(
    hearth_exe: str, tmp_path: Path
) -> None:
    """While another process holds the data folder, the commands say which one (the window,
    or another command) instead of touching the store."""
    import os

    data = Path(hearth_env(tmp_path)["HEARTH_DATA_DIR"])
    for holder, expected in (
        (APP_HOLDER, "the Hearth window (process {pid}) is using this data folder: use its"),
        (command_holder("ask"), "`hearth ask` (process {pid}) is using this data folder; try"),
    ):
        lock = FileLock(data / "hearth.lock")
        assert lock.acquire(holder=holder)
        try:
            results = [run(hearth_exe, tmp_path, cmd, "x") for cmd in ("recall", "index")]
        finally:
            lock.release()
        for result in results:
            assert result.returncode == 1
            assert expected.format(pid=os.getpid()) in result.stderr, result.stderr


def test_memory_works_with_the_network_cut_and_the_guard_sees_nothing(
    hearth_exe: str, tmp_path: Path
) -> None:
    """chromadb, sentence-transformers and the reader make no network call of any kind."""
    import json

    from tests.e2e.test_cli import unshare_available

    require(unshare_available(), "unshare -n (a private network namespace) is not permitted")
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "house.md").write_text("The boiler service code is 4411.", encoding="utf-8")
    for args in (
        ["index", str(folder)],
        ["ask", "--model", "fast", "remember that my dog is called Biscuit"],
        ["recall", "boiler code"],
    ):
        report = tmp_path / f"privacy-{args[0]}.json"
        proc = subprocess.run(
            ["unshare", "-n", hearth_exe, *args],
            env=hearth_env(tmp_path, HEARTH_PRIVACY_REPORT=str(report)),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        data = json.loads(report.read_text(encoding="utf-8"))
        assert data["installed"] is True and data["blocked"] == [], (args, data)
    assert "house.md" in proc.stdout
