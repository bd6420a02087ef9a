"""Open Hearth the way a desktop does and photograph what a new user sees (run under Xvfb).

    python window_driver.py OUT_DIR NAME HOME COMMAND...

Starts COMMAND (a desktop entry's Exec line, already split) with a fresh HOME, waits for the
first-run welcome, photographs it, dismisses it with Escape as a user would, waits for the
chat window, photographs that, closes it, and prints one JSON line with the window
geometries and the image files (OUT_DIR/NAME-welcome.png, OUT_DIR/NAME-window.png).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image
from Xlib import X, display  # type: ignore[import-untyped]  # python-xlib (pynput's)

from tests.installed.conftest import user_env


def xdotool(*args: str, timeout: float = 10) -> str:
    return subprocess.run(
        ["xdotool", *args], capture_output=True, text=True, timeout=timeout, check=False
    ).stdout.strip()


def find_window(name: str, seconds: float, *, interval: float = 0.25) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = xdotool("search", "--onlyvisible", "--name", name).split()
        if found:
            return found[-1]
        time.sleep(interval)
    raise SystemExit(f"no visible window named {name!r} after {seconds:.0f} s")


def geometry(window: str) -> dict[str, int]:
    values = dict(
        line.split("=", 1) for line in xdotool("getwindowgeometry", "--shell", window).splitlines()
    )
    return {k.lower(): int(values[k]) for k in ("X", "Y", "WIDTH", "HEIGHT")}


def photograph(box: dict[str, int], path: Path) -> None:
    screen = display.Display()
    root = screen.screen().root
    raw = root.get_image(box["x"], box["y"], box["width"], box["height"], X.ZPixmap, 0xFFFFFFFF)
    image = Image.frombytes("RGB", (box["width"], box["height"]), raw.data, "raw", "BGRX")
    image.save(path)
    screen.close()


def main() -> int:
    out, name, home, command = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    env = user_env(Path(home))
    started = time.monotonic()
    log = (out / f"{name}.log").open("w")
    app = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        welcome = find_window("^Welcome to Hearth$", 180)
        welcome_box = geometry(welcome)
        shown = time.monotonic() - started
        time.sleep(1.0)  # let it paint
        photograph(welcome_box, out / f"{name}-welcome.png")
        # Real key presses (XTEST) to the active window, as a keyboard sends them; xdotool's
        # --window sends synthetic events, which applications may ignore.
        xdotool("windowfocus", "--sync", welcome)  # no window manager here
        xdotool("key", "Escape")
        deadline = time.monotonic() + 30
        while xdotool("search", "--onlyvisible", "--name", "^Welcome to Hearth$"):
            if time.monotonic() > deadline:
                raise SystemExit("Escape did not close the welcome")
            time.sleep(0.25)
        window = find_window("^Hearth$", 30)
        box = geometry(window)
        time.sleep(1.5)
        photograph(box, out / f"{name}-window.png")
        xdotool("windowfocus", "--sync", window)
        xdotool("key", "ctrl+q")  # File -> Quit
        code = app.wait(60)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        log.close()
    print(
        json.dumps(
            {
                "welcome": welcome_box,
                "window": box,
                "seconds_to_welcome": round(shown, 2),
                "exit_code": code,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
