"""Push-to-talk while another window has focus, where the platform allows it.

Works on X11 (through the RECORD extension), Windows and macOS (macOS asks the user to allow
"Input Monitoring" for Hearth once). It cannot work on Wayland, which by design never tells an
application about keys pressed in other applications: there the shortcut only works while
Hearth's window has focus, and the settings say so.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

_MODIFIERS = {
    "ctrl": "ctrl",
    "control": "ctrl",
    "alt": "alt",
    "shift": "shift",
    "meta": "cmd",
    "super": "cmd",
    "cmd": "cmd",
}


def parse_shortcut(text: str) -> tuple[frozenset[str], str]:
    """'Ctrl+Space' -> ({'ctrl'}, 'space'); the last part is the key, the rest modifiers."""
    parts = [p.strip().lower() for p in text.split("+") if p.strip()]
    if not parts:
        raise ValueError("empty shortcut")
    key = parts[-1]
    mods = frozenset(_MODIFIERS[p] for p in parts[:-1] if p in _MODIFIERS)
    if len(mods) != len(parts) - 1:
        raise ValueError(f"unknown modifier in {text!r}")
    return mods, key


def unavailable_reason() -> str:
    """Why a global shortcut cannot work here ('' when it can)."""
    if sys.platform.startswith("linux"):
        if os.environ.get("WAYLAND_DISPLAY") and os.environ.get("XDG_SESSION_TYPE") == "wayland":
            return "Wayland does not let applications see keys pressed in other windows."
        if not os.environ.get("DISPLAY"):
            return "There is no X11 display."
    return ""


def _name(key: Any) -> str:
    """pynput Key/KeyCode -> 'ctrl', 'space', 'a', ..."""
    name = getattr(key, "name", None)
    if name is None:
        char = getattr(key, "char", None)
        return (char or "").lower()
    base = str(name).lower()
    for prefix in ("ctrl", "alt", "shift", "cmd"):
        if base.startswith(prefix):
            return prefix
    return base


class GlobalTalkKey(QObject):
    """Emits pressed/released for the shortcut, from anywhere on the desktop.

    These are raw: during key auto-repeat the X server may report repeated presses or
    release + press pairs. :class:`app.ui.talk_keys.TalkKeys` turns them into one hold.
    """

    pressed = Signal()
    released = Signal()

    def __init__(self, shortcut: str = "Ctrl+Space", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.modifiers, self.key = parse_shortcut(shortcut)
        self._held: set[str] = set()
        self._active = False
        self._listener: Any = None

    def set_shortcut(self, shortcut: str) -> None:
        """Listen for another shortcut from the next press on ('' or invalid: keep this one)."""
        try:
            modifiers, key = parse_shortcut(shortcut)
        except ValueError:
            log.warning("global shortcut %r not understood; keeping %s", shortcut, self.key)
            return
        if self._active:
            self._active = False
            self.released.emit()
        self.modifiers, self.key = modifiers, key

    def start(self) -> str:
        """Start listening; returns '' on success or a sentence saying why not."""
        reason = unavailable_reason()
        if reason:
            return reason
        try:
            from pynput import keyboard

            listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release)
            listener.start()
            listener.wait()
        except Exception as exc:  # backends fail in many ways (no RECORD extension, ...)
            log.warning("global push-to-talk unavailable: %r", exc)
            return f"The global shortcut could not be set up here ({exc})."
        self._listener = listener
        return ""

    # Called on pynput's thread; signals reach the GUI thread queued.
    def _on_press(self, key: Any) -> None:
        name = _name(key)
        self._held.add(name)
        if name == self.key and self.modifiers <= self._held and not self._active:
            self._active = True
            self.pressed.emit()

    def _on_release(self, key: Any) -> None:
        name = _name(key)
        self._held.discard(name)
        if self._active and (name == self.key or name in self.modifiers):
            self._active = False
            self.released.emit()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
