"""The push-to-talk shortcut: one press and one release per physical hold.

Two sources report the shortcut: the window (Qt key events, while Hearth has focus) and the
global hook (:class:`app.workers.global_keys.GlobalTalkKey`, from anywhere on the desktop).
While Hearth has focus both see the same hold. Neither is clean while a key is held, because
X repeats it: after the repeat delay (660 ms by default) every window gets a key release
followed by a key press with the same timestamp, 25 times a second. Qt flags such a pair
with ``isAutoRepeat()`` only if the press has already arrived when it handles the release; when
it has not (the X server or Qt's event reader was preempted between the two, which happens
on a busy machine), the pair looks exactly like letting go and pressing again. The global hook
may see repeated presses, or release + press pairs, depending on the server.

So a release is believed only when no press of the shortcut follows within a short grace
period, and only when no source still holds the shortcut down. The window forwards what
:attr:`pressed` and :attr:`released` mean (start and stop listening); it never sees the raw keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QWidget

DEFAULT_SHORTCUT = "Ctrl+Space"
GRACE_MS = 100
"""How long a release waits for a press to follow (an auto-repeat pair arrives at once)."""
WINDOW = "window"
GLOBAL = "global"

_MODIFIER_KEYS = {
    Qt.KeyboardModifier.ControlModifier: Qt.Key.Key_Control,
    Qt.KeyboardModifier.ShiftModifier: Qt.Key.Key_Shift,
    Qt.KeyboardModifier.AltModifier: Qt.Key.Key_Alt,
    Qt.KeyboardModifier.MetaModifier: Qt.Key.Key_Meta,
}


class KeySource(Protocol):
    """Anything reporting the shortcut's raw presses and releases (the global hook)."""

    @property
    def pressed(self) -> SignalInstance: ...

    @property
    def released(self) -> SignalInstance: ...


def parse_talk_shortcut(text: str) -> QKeySequence:
    """The shortcut as Qt reads it; the default when ``text`` is empty or not a key."""
    sequence = QKeySequence(text)
    return sequence if not sequence.isEmpty() else QKeySequence(DEFAULT_SHORTCUT)


class TalkKeys(QObject):
    """Install on the QApplication (``installEventFilter``) to see the window's keys; connect
    the global hook with :meth:`attach`."""

    pressed = Signal()
    """The shortcut went down (once per hold)."""
    released = Signal()
    """The shortcut was let go (once per hold, after :data:`GRACE_MS` without a press)."""

    def __init__(
        self,
        window: QWidget,
        shortcut: str = DEFAULT_SHORTCUT,
        *,
        grace_ms: int = GRACE_MS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._clock = clock
        self._down: set[str] = set()
        """Sources that report the shortcut held right now."""
        self._holding = False
        self._up_at = 0.0
        self._waited_again = False
        self.release_timer = QTimer(self)
        self.release_timer.setSingleShot(True)
        self.release_timer.setInterval(grace_ms)
        self.release_timer.timeout.connect(self._settle)
        self.set_shortcut(shortcut)

    # -- the shortcut -------------------------------------------------------------------------

    def set_shortcut(self, text: str) -> None:
        sequence = parse_talk_shortcut(text)
        combo = sequence[0]  # type: ignore[index]  # (PySide6 stubs miss __getitem__)
        self.key = combo.key()
        self.modifiers = combo.keyboardModifiers()
        self._modifier_keys = {k for m, k in _MODIFIER_KEYS.items() if self.modifiers & m}
        self.text = sequence.toString(QKeySequence.SequenceFormat.NativeText)
        """As the user reads it: 'Ctrl+Space'."""

    @property
    def tooltip(self) -> str:
        return f"Hold while you speak (or hold {self.text})"

    # -- raw presses and releases, from any source ---------------------------------------------

    @property
    def holding(self) -> bool:
        """Between :attr:`pressed` and :attr:`released`."""
        return self._holding

    @property
    def release_pending(self) -> bool:
        return self.release_timer.isActive()

    def down(self, source: str) -> None:
        self._down.add(source)
        self.release_timer.stop()
        if not self._holding:
            self._holding = True
            self.pressed.emit()

    def up(self, source: str) -> None:
        self._down.discard(source)
        if self._holding and not self._down:
            self._up_at = self._clock()
            self._waited_again = False
            self.release_timer.start()

    def _settle(self) -> None:
        if self._down or not self._holding:
            return
        late = self._clock() - self._up_at - self.release_timer.interval() / 1000
        if late > self.release_timer.interval() / 1000 and not self._waited_again:
            # The event loop was stalled: input that arrived meanwhile (the press of a repeat
            # pair) may still be queued behind this timer. Give it one more grace to arrive.
            self._waited_again = True
            self.release_timer.start()
            return
        self._holding = False
        self.released.emit()

    def attach(self, source: KeySource) -> None:
        """Listen to the global hook too."""
        source.pressed.connect(lambda: self.down(GLOBAL))
        source.released.connect(lambda: self.up(GLOBAL))

    # -- the window's key events ---------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind == QEvent.Type.WindowDeactivate and watched is self._window:
            # Keys released elsewhere never reach this window: stop counting on it.
            if WINDOW in self._down:
                self.up(WINDOW)
            return False
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        # Widgets only: the QWindow sees each key event first, then the widget with focus.
        if not isinstance(event, QKeyEvent) or not isinstance(watched, QWidget):
            return False
        key = event.key()
        if kind == QEvent.Type.KeyPress:
            if key != self.key or watched.window() is not self._window:
                return False
            if (event.modifiers() & self.modifiers) != self.modifiers:
                return False
            self.down(WINDOW)  # a repeat's press too: it cancels the release before it
            return True  # the shortcut's space is never typed
        if key == self.key:
            ours = WINDOW in self._down or self._holding
            if not event.isAutoRepeat() and WINDOW in self._down:
                self.up(WINDOW)
            return ours
        if key in self._modifier_keys and WINDOW in self._down:
            self.up(WINDOW)  # letting go of Ctrl ends the hold too (as with the global hook)
        return False
