"""Start at login: the XDG autostart entry (~/.config/autostart) that starts Hearth in the
background, ready to ring timers and reminders, when the user's desktop session begins.

Hearth writes the entry when the setting is switched on and removes it when switched off;
nothing else in the folder is touched. The entry runs the same ``hearth`` that is running now
(the installed launcher, or this Python with ``-m app`` in a checkout), with ``--background``.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from app.launch import self_command

ENTRY_NAME = "io.hearth.Hearth.desktop"


def autostart_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".config") / "autostart"


def entry_path() -> Path:
    return autostart_dir() / ENTRY_NAME


def launch_command() -> list[str]:
    """How to start this Hearth again: its launcher when it was started by one."""
    launcher = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if launcher is not None and launcher.name == "hearth" and launcher.exists():
        return [str(launcher.resolve()), "--background"]
    return self_command("--background")


def entry_text(command: list[str]) -> str:
    exec_line = " ".join(_desktop_quote(part) for part in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Hearth\n"
        "Comment=Your private assistant, ready to ring timers and reminders\n"
        f"Exec={exec_line}\n"
        "Icon=io.hearth.Hearth\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
        "X-KDE-autostart-after=panel\n"
    )


def _desktop_quote(part: str) -> str:
    """Quoting for an Exec key (the Desktop Entry spec: double quotes, and a literal % is %%)."""
    part = part.replace("%", "%%")
    if shlex.quote(part) == part:
        return part
    escaped = part.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def is_enabled() -> bool:
    return entry_path().is_file()


def set_enabled(enabled: bool, command: list[str] | None = None) -> None:
    """Write or remove the entry (raises OSError with the reason when the folder is not
    writable)."""
    path = entry_path()
    if not enabled:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(entry_text(command or launch_command()), encoding="utf-8")
    partial.replace(path)
