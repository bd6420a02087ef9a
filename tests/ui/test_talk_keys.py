"""The talk shortcut's raw presses and releases become one press and one release per hold.

The key events here are the ones X and Qt deliver while the shortcut is held with auto-repeat
on (see tests/ui/test_talk_keys_x11.py for the real thing): every 40 ms a release and a press
with the same timestamp, flagged isAutoRepeat() by Qt when it paired them, unflagged when not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from app.ui.talk_keys import GLOBAL, GRACE_MS, WINDOW, TalkKeys
from app.workers.global_keys import GlobalTalkKey
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory, texts
from tests.ui.test_voice import Rig, recording

CTRL = Qt.KeyboardModifier.ControlModifier
NONE = Qt.KeyboardModifier.NoModifier
PRESS, RELEASE = QEvent.Type.KeyPress, QEvent.Type.KeyRelease


@dataclass
class PynputKey:
    name: str


def key_event(
    widget: QWidget,
    kind: QEvent.Type,
    *,
    key: Qt.Key = Qt.Key.Key_Space,
    modifiers: Qt.KeyboardModifier = CTRL,
    repeat: bool = False,
    stamp: int = 0,
) -> bool:
    """Deliver one key event the way Qt does (application event filters first)."""
    text = " " if key == Qt.Key.Key_Space and kind == PRESS else ""
    event = QKeyEvent(kind, key, modifiers, text, repeat)
    event.setTimestamp(stamp)
    return QApplication.sendEvent(widget, event)


def pending(keys: TalkKeys) -> bool:
    return keys.release_pending  # (a call: mypy would keep a checked attribute narrowed)


class Harness:
    def __init__(
        self,
        qtbot: QtBot,
        shortcut: str = "Ctrl+Space",
        *,
        grace_ms: int = GRACE_MS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = QWidget()
        self.box = QPlainTextEdit(self.window)
        self.keys = TalkKeys(self.window, shortcut, grace_ms=grace_ms, clock=clock)
        self.events: list[str] = []
        self.keys.pressed.connect(lambda: self.events.append("pressed"))
        self.keys.released.connect(lambda: self.events.append("released"))
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self.keys)
        qtbot.addWidget(self.window, before_close_func=lambda _w: app.removeEventFilter(self.keys))


def test_a_repeat_pair_is_not_a_release(qtbot: QtBot) -> None:
    rig = Harness(qtbot)
    keys = rig.keys
    keys.down(WINDOW)
    for _ in range(20):  # release + press at once: X auto-repeat
        keys.up(WINDOW)
        QApplication.processEvents()
        keys.down(WINDOW)
    assert rig.events == ["pressed"] and keys.holding and not pending(keys)
    keys.up(WINDOW)  # let go for real
    assert pending(keys) and rig.events == ["pressed"]  # believed only after the grace
    with qtbot.waitSignal(keys.released, timeout=2000):
        pass
    assert rig.events == ["pressed", "released"] and not keys.holding


def test_unflagged_repeat_pairs_from_qt_keep_one_hold(qtbot: QtBot) -> None:
    rig = Harness(qtbot)
    key_event(rig.box, PRESS, stamp=1000)
    for i in range(10):
        stamp = 1660 + 40 * i
        key_event(rig.box, RELEASE, stamp=stamp)  # Qt missed the pairing: unflagged
        QApplication.processEvents()
        key_event(rig.box, PRESS, stamp=stamp)
    for i in range(10):  # ...and when Qt did pair them
        key_event(rig.box, RELEASE, repeat=True, stamp=2100 + 40 * i)
        key_event(rig.box, PRESS, repeat=True, stamp=2100 + 40 * i)
    assert rig.events == ["pressed"] and not pending(rig.keys)
    assert rig.box.toPlainText() == ""  # the shortcut's space is never typed
    # xdotool keyup ctrl+space: Ctrl goes first, then Space without the modifier.
    key_event(rig.box, RELEASE, key=Qt.Key.Key_Control, modifiers=NONE, stamp=2600)
    with qtbot.waitSignal(rig.keys.released, timeout=2000):
        key_event(rig.box, RELEASE, modifiers=NONE, stamp=2610)
    assert rig.events == ["pressed", "released"]


def test_a_release_after_a_stalled_event_loop_waits_for_queued_input(qtbot: QtBot) -> None:
    now = [0.0]
    rig = Harness(qtbot, grace_ms=10, clock=lambda: now[0])
    keys = rig.keys
    keys.down(WINDOW)
    keys.up(WINDOW)
    now[0] = 1.0  # the event loop was busy for a second: the timer fires late...
    with qtbot.waitSignal(keys.release_timer.timeout, timeout=2000):
        pass
    assert rig.events == ["pressed"] and pending(keys)  # ...and waits once more
    keys.down(WINDOW)  # the repeat's press that was queued behind it
    assert rig.events == ["pressed"] and keys.holding
    keys.up(WINDOW)
    with qtbot.waitSignal(keys.released, timeout=2000):
        pass
    assert rig.events == ["pressed", "released"]


def test_global_hook_release_press_pairs_keep_one_hold(qtbot: QtBot) -> None:
    rig = Harness(qtbot)
    hook = GlobalTalkKey("Ctrl+Space")
    rig.keys.attach(hook)
    hook._on_press(PynputKey("ctrl_l"))
    hook._on_press(PynputKey("space"))
    for _ in range(10):  # X RECORD under auto-repeat: release + press of the key
        hook._on_release(PynputKey("space"))
        hook._on_press(PynputKey("space"))
    for _ in range(10):  # or only repeated presses
        hook._on_press(PynputKey("space"))
    assert rig.events == ["pressed"] and not pending(rig.keys)
    with qtbot.waitSignal(rig.keys.released, timeout=2000):
        hook._on_release(PynputKey("ctrl_l"))
        hook._on_release(PynputKey("space"))
    assert rig.events == ["pressed", "released"]


def test_both_sources_see_one_hold(qtbot: QtBot) -> None:
    """With Hearth focused, the window and the global hook both report the keys, in either
    order; a release one of them believes in does not count while the other still holds."""
    rig = Harness(qtbot)
    keys = rig.keys
    keys.down(GLOBAL)  # the hook's signal often arrives first
    key_event(rig.box, PRESS, stamp=1000)
    key_event(rig.box, RELEASE, stamp=1660)  # an unflagged pair, its press not yet handled
    assert not pending(keys)  # the hook still holds the key
    key_event(rig.box, PRESS, stamp=1660)
    keys.up(GLOBAL)
    assert not pending(keys)  # the window still holds it
    keys.down(GLOBAL)
    key_event(rig.box, RELEASE, modifiers=NONE, stamp=3000)
    keys.up(GLOBAL)
    with qtbot.waitSignal(keys.released, timeout=2000):
        pass
    assert rig.events == ["pressed", "released"]


def test_leaving_the_window_drops_its_keys(qtbot: QtBot) -> None:
    """Keys let go in another window never reach this one: its hold ends with the focus."""
    rig = Harness(qtbot)
    key_event(rig.box, PRESS, stamp=1000)
    rig.keys.down(GLOBAL)
    QApplication.sendEvent(rig.window, QEvent(QEvent.Type.WindowDeactivate))
    assert not pending(rig.keys)  # the global hook still sees the key held
    with qtbot.waitSignal(rig.keys.released, timeout=2000):
        rig.keys.up(GLOBAL)
    assert rig.events == ["pressed", "released"]


def test_only_the_shortcut_counts(qtbot: QtBot) -> None:
    rig = Harness(qtbot, "F9")
    assert rig.keys.text == "F9" and "F9" in rig.keys.tooltip
    key_event(rig.box, PRESS, modifiers=NONE, stamp=1)  # a plain space is typed
    key_event(rig.box, PRESS, stamp=2)  # so is the old shortcut
    assert rig.events == [] and rig.box.toPlainText() != ""
    key_event(rig.box, PRESS, key=Qt.Key.Key_F9, modifiers=NONE, stamp=3)
    assert rig.events == ["pressed"]
    rig.keys.set_shortcut("")  # nothing usable: the default
    assert rig.keys.text == "Ctrl+Space"


def test_window_records_one_utterance_through_unflagged_repeat_pairs(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    rig = Rig(qtbot, make_window)
    window = rig.window
    box = window.composer.input
    box.setFocus()
    key_event(box, PRESS, stamp=1000)
    assert recording(rig)
    for i in range(15):
        stamp = 1660 + 40 * i
        key_event(box, RELEASE, stamp=stamp)
        QApplication.processEvents()
        key_event(box, PRESS, stamp=stamp)
    assert recording(rig) and rig.recorder.starts == [""]  # never stopped, never restarted
    assert "didn't catch" not in window.composer.hint.text()
    with qtbot.waitSignal(window.turn_finished, timeout=10000):
        key_event(box, RELEASE, key=Qt.Key.Key_Control, modifiers=NONE, stamp=2500)
        key_event(box, RELEASE, modifiers=NONE, stamp=2510)
    assert not recording(rig) and rig.recorder.starts == [""]
    assert [role for role, _ in texts(window)] == ["user", "assistant"]  # sent once
    assert box.toPlainText() == ""


def test_the_button_hold_is_not_ended_by_a_tap_of_the_shortcut(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    rig = Rig(qtbot, make_window)
    button = rig.window.composer.talk_button
    qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    box = rig.window.composer.input
    key_event(box, PRESS, stamp=1000)
    key_event(box, RELEASE, modifiers=NONE, stamp=1100)
    qtbot.waitUntil(lambda: not rig.window.talk_keys.holding, timeout=2000)
    assert recording(rig)  # the button still holds the recording
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    assert texts(rig.window)[0] == ("user", "What is the capital of France?")
