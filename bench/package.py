"""Benchmark of the installers and the installed app; prints figures, asserts nothing.

After `make package` and `apt-get install ./dist/hearth_*.deb`:

* sizes: the .deb, the tarball, the installed folder (/opt/hearth), the development .venv;
* build time per step (build/package/build-times.tsv, written by packaging/build.sh);
* for the installed app and for the development .venv, each from a fresh home folder, cold
  (page cache dropped first, when run as root) and warm: seconds from launch to the chat window
  shown (under Xvfb), and from `hearth ask` to the first token of the answer; the peak RSS of
  both processes.

    .venv/bin/python -m bench.package [--rounds N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.installed.conftest import user_env

REPO = Path(__file__).resolve().parents[1]
INSTALLED = "/usr/bin/hearth"
DEVELOPMENT = str(REPO / ".venv" / "bin" / "hearth")
QUESTION = "What is the capital of France?"


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def drop_caches() -> bool:
    if os.geteuid() != 0:
        return False
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def fresh_env(home: Path) -> dict[str, str]:
    env = user_env(home)
    data = home / ".local" / "share" / "Hearth"
    data.mkdir(parents=True, exist_ok=True)
    # A returning user (no welcome over the window); the default chat model.
    (data / "settings.json").write_text(json.dumps({"schema_version": 2, "welcome_seen": True}))
    return env


def first_token(command: str) -> dict[str, float]:
    """Launch `hearth ask` and time the first byte of the answer; peak RSS from wait4."""
    with tempfile.TemporaryDirectory() as home:
        env = fresh_env(Path(home))
        started = time.monotonic()
        proc = subprocess.Popen(
            [command, "ask", QUESTION], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdout is not None
        first = proc.stdout.read(1)
        token = time.monotonic() - started
        proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        total = time.monotonic() - started
    if not first or proc.returncode != 0:
        raise SystemExit(
            f"{command} ask failed: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
    return {"first_token_s": token, "answer_s": total, "ask_peak_rss_mb": usage.ru_maxrss / 1024}


WINDOW_DRIVER = r"""
import os, subprocess, sys, time
from tests.installed.window_driver import find_window, xdotool
command, home = sys.argv[1], sys.argv[2]
env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "PYTHONPATH")}
env["HOME"] = home
started = time.monotonic()
proc = subprocess.Popen([command], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
window = find_window("(^| — )Hearth$", 300, interval=0.05)  # "Hearth" or "<title> — Hearth"
shown = time.monotonic() - started
time.sleep(3)  # settled: warm-up running, as a user starts typing
xdotool("windowfocus", "--sync", window)
xdotool("key", "ctrl+q")
_pid, status, usage = os.wait4(proc.pid, 0)
print(shown, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status))
"""


def window_shown(command: str, seed: Callable[[Path], None] | None = None) -> dict[str, float]:
    """Seconds from launch to the chat window shown, in a fresh home whose data folder
    ``seed`` may fill first (it is given the data folder)."""
    with tempfile.TemporaryDirectory() as home:
        env = fresh_env(Path(home))
        if seed is not None:
            seed(Path(home) / ".local" / "share" / "Hearth")
        env.update(DISPLAY="")
        done = subprocess.run(
            ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, "-c", WINDOW_DRIVER,
             command, home],
            env=dict(env, PATH=os.environ["PATH"], PYTHONPATH=str(REPO)),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"window of {command}: {done.stderr}")
    shown, rss, code = done.stdout.split()
    return {"window_s": float(shown), "window_peak_rss_mb": float(rss), "exit": float(code)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="warm runs after the cold one")
    args = parser.parse_args()
    for tool in ("xvfb-run", "xdotool"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed")
    if not Path(INSTALLED).exists():
        raise SystemExit("install the package first: apt-get install ./dist/hearth_*.deb")

    print("## Sizes")
    for label, path in (
        ("deb", next((REPO / "dist").glob("hearth_*_amd64.deb"))),
        ("tarball", next((REPO / "dist").glob("Hearth-*-linux-x86_64.tar.gz"))),
    ):
        print(f"{label:<24} {path.stat().st_size / 1e9:6.2f} GB  {path.name}")
    print(f"{'installed /opt/hearth':<24} {du(Path('/opt/hearth')) / 1e9:6.2f} GB")
    models = Path("/opt/hearth/_internal/models")
    print(f"{'  of which models':<24} {du(models) / 1e9:6.2f} GB")
    print(f"{'development .venv':<24} {du(REPO / '.venv') / 1e9:6.2f} GB")

    times = REPO / "build" / "package" / "build-times.tsv"
    if times.is_file():
        print("\n## Build time (make package, packaging environment already made)")
        rows = [line.split("\t") for line in times.read_text().splitlines() if line]
        for (name, start), (_next, end) in itertools.pairwise(rows):
            print(f"{name:<40} {int(end) - int(start):5d} s")
        print(f"{'total':<40} {int(rows[-1][1]):5d} s")

    print("\n## Start and first token (fresh home folder; cold = page cache dropped)")
    results: dict[str, list[dict[str, Any]]] = {}
    for label, command in (("installed", INSTALLED), ("dev .venv", DEVELOPMENT)):
        for round_ in range(args.rounds + 1):
            cold = round_ == 0 and drop_caches()
            row: dict[str, Any] = {"cold": cold}
            row.update(window_shown(command))
            if round_ == 0:
                drop_caches()
            row.update(first_token(command))
            results.setdefault(label, []).append(row)
            print(
                f"{label:<10} {'cold' if cold else 'warm'}: window {row['window_s']:6.2f} s "
                f"(peak RSS {row['window_peak_rss_mb']:6.0f} MB), first token "
                f"{row['first_token_s']:6.2f} s, answer {row['answer_s']:6.2f} s "
                f"(peak RSS {row['ask_peak_rss_mb']:6.0f} MB)",
                flush=True,
            )
    print("\n## Installed / dev .venv (warm medians)")
    for key in ("window_s", "first_token_s", "window_peak_rss_mb", "ask_peak_rss_mb"):
        ours = sorted(r[key] for r in results["installed"][1:])
        theirs = sorted(r[key] for r in results["dev .venv"][1:])
        a, b = ours[len(ours) // 2], theirs[len(theirs) // 2]
        print(f"{key:<22} {a:8.2f} / {b:8.2f} = {a / b:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
