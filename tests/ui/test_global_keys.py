"""Push-to-talk from anywhere: the key logic, and a real X11 session (Xvfb + xdotool)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from app.settings import Settings
from app.workers.global_keys import GlobalTalkKey, parse_shortcut, unavailable_reason
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory
from tests.ui.test_voice import Rig, recording
from tests.x11 import require_x11_tools, run_on_x11


@dataclass
class Key:
    name: str | None = None
    char: str | None = None


def test_parse_shortcut() -> None:
    assert parse_shortcut("Ctrl+Space") == (frozenset({"ctrl"}), "space")
    assert parse_shortcut("ctrl + alt + F9") == (frozenset({"ctrl", "alt"}), "f9")
    assert parse_shortcut("F8") == (frozenset(), "f8")
    with pytest.raises(ValueError, match="unknown modifier"):
        parse_shortcut("Hyper+Space")


def test_key_logic_press_and_release(qtbot: QtBot) -> None:
    keys = GlobalTalkKey("Ctrl+Space")
    events: list[str] = []
    keys.pressed.connect(lambda: events.append("pressed"))
    keys.released.connect(lambda: events.append("released"))
    keys._on_press(Key("space"))  # space alone: nothing
    keys._on_release(Key("space"))
    keys._on_press(Key("ctrl_l"))
    keys._on_press(Key("space"))
    keys._on_press(Key("space"))  # auto-repeat: still one press
    keys._on_release(Key("ctrl_l"))  # letting go of either key ends it
    keys._on_release(Key("space"))
    assert events == ["pressed", "released"]


def test_the_global_shortcut_follows_the_settings(qtbot: QtBot) -> None:
    keys = GlobalTalkKey("Ctrl+Space")
    events: list[str] = []
    keys.pressed.connect(lambda: events.append("pressed"))
    keys.released.connect(lambda: events.append("released"))
    keys._on_press(Key("ctrl_l"))
    keys._on_press(Key("space"))
    keys.set_shortcut("F9")  # changed while held: that hold ends
    assert events == ["pressed", "released"]
    keys._on_release(Key("space"))
    keys._on_release(Key("ctrl_l"))
    keys._on_press(Key("f9"))
    assert events == ["pressed", "released", "pressed"]
    keys.set_shortcut("Hyper+F9")  # not understood: kept
    assert (keys.modifiers, keys.key) == (frozenset(), "f9")


def test_wayland_is_named_as_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    assert "Wayland" in unavailable_reason()
    assert "Wayland" in GlobalTalkKey().start()


def test_shortcut_is_configurable_in_the_window(qtbot: QtBot, make_window: WindowFactory) -> None:
    rig = Rig(qtbot, make_window, settings=Settings(talk_shortcut="F9"))
    box = rig.window.composer.input
    box.setFocus()
    qtbot.keyPress(box, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert not recording(rig)  # the old shortcut does nothing now
    qtbot.keyPress(box, Qt.Key.Key_F9)
    assert recording(rig)
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        qtbot.keyRelease(box, Qt.Key.Key_F9)
    assert "F9" in rig.window.composer.talk_button.toolTip()


X11_SCRIPT = """
import subprocess, sys, time
from pathlib import Path
import app
from PySide6.QtWidgets import QApplication
from app.audio.fake import FakePlayer, FakeRecorder
from app.core.assistant import Assistant
from app.settings import Settings
from app.store.history import SqliteConversationStore
from app.ui.main_window import MainWindow
from app.workers.backend import AssistantBackend
from app.bootstrap import start_global_talk_key
from app.workers.voice import VoiceController
from tests.fakes import FakeLanguageModel, FakeSpeechToText, FakeTextToSpeech

qapp = QApplication([])
data = Path(sys.argv[1])
store = SqliteConversationStore(data / "h.sqlite3")
settings = Settings()
backend = AssistantBackend(Assistant(FakeLanguageModel("Paris."), store), store, settings,
    model_factory=lambda m, s: None, models=lambda: [], save_settings=lambda s: None,
    data_dir=str(data))
recorder = FakeRecorder()
voice = VoiceController(recorder, FakePlayer(), FakeSpeechToText(), FakeTextToSpeech())
window = MainWindow(backend, voice)
window.setGeometry(600, 400, 400, 300)
window.show()
keys = start_global_talk_key(window, settings)  # as the app does
print("START:", "ok" if keys is not None else "no global hook", flush=True)

def pump(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        qapp.processEvents()
        time.sleep(0.01)

pump(1.0)
subprocess.run(["xdotool", "mousemove", "5", "5"])  # the pointer (and so focus) elsewhere
pump(0.3)
print("ACTIVE:", window.isActiveWindow(), flush=True)
subprocess.run(["xdotool", "keydown", "ctrl+space"])
pump(0.8)
print("LISTENING:", recorder.recording, flush=True)
subprocess.run(["xdotool", "keyup", "ctrl+space"])
end = time.monotonic() + 10
while time.monotonic() < end and not (window.chat.bubbles() and not window.busy):
    pump(0.05)
pump(0.3)
print("ASKED:", [b.text for b in window.chat.bubbles()][:1], flush=True)
keys.stop()
window.close()
store.close()
"""


def test_global_shortcut_on_a_real_x11_display(tmp_path: Path) -> None:
    require_x11_tools()
    done = run_on_x11(X11_SCRIPT, tmp_path)
    out = done.stdout
    assert "START: ok" in out, out + done.stderr
    assert "ACTIVE: False" in out, out
    assert "LISTENING: True" in out, out + done.stderr
    assert "ASKED: ['What is the capital of France?']" in out, out + done.stderr
