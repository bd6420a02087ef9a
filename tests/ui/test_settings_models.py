"""Settings → Chat model offers every chat model of the real manifest, saying what each is
good at and how fast it is, in full (nothing cut off)."""

from __future__ import annotations

from pathlib import Path

import pytest
from app.bootstrap import chat_model_choices
from app.engines.models import ModelRegistry
from app.settings import DEFAULT_MODEL, FAST_MODEL, Settings
from app.ui.settings_dialog import SettingsDialog, describe_model, plain_name
from app.workers.backend import ModelChoice
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from pytestqt.qtbot import QtBot

from tests.conftest import require

LARGE_MODEL = "qwen2.5-coder-1.5b-instruct"


def test_a_model_without_measured_speed_shows_its_notes_only() -> None:
    assert describe_model(ModelChoice("m", "M", "Good at tests.", True)) == "Good at tests."
    text = describe_model(
        ModelChoice("m", "M", "Good at tests.", True, generation_tps=8.2, prompt_tps=30)
    )
    assert text.startswith("Good at tests.\n") and "8 tokens/s" in text and "30 tokens/s" in text


@pytest.mark.model
def test_every_chat_model_is_offered_with_what_it_is_good_at_and_its_speed(
    qtbot: QtBot, tmp_path: Path
) -> None:
    choices = chat_model_choices(ModelRegistry(tmp_path))  # packages found, nothing assembled
    by_id = {c.id: c for c in choices}
    assert set(by_id) == {DEFAULT_MODEL, FAST_MODEL, LARGE_MODEL}
    missing = [c.problem for c in choices if not c.available]
    require(not missing, f"chat models not installed: {missing}")

    # A short data folder: a long one widens the dialog and would hide a cut-off description.
    dialog = SettingsDialog(Settings(model=LARGE_MODEL).validated(), choices, "/tmp/data")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.show_section("Chat")
    assert dialog.model.count() == 3
    assert dialog.model.currentData() == LARGE_MODEL
    items = dialog.model.model()
    assert isinstance(items, QStandardItemModel)
    for row in range(dialog.model.count()):
        choice = by_id[dialog.model.itemData(row)]
        assert items.item(row).isEnabled()
        assert dialog.model.itemText(row) == plain_name(choice)  # a plain name...
        tip = dialog.model.itemData(row, Qt.ItemDataRole.ToolTipRole)
        assert tip == describe_model(choice)

        dialog.model.setCurrentIndex(row)
        text = dialog.model_notes.text()
        assert text.startswith(choice.notes)
        assert f"answers at about {choice.generation_tps:.0f} tokens/s" in text
        assert f"reads documents at about {choice.prompt_tps:.0f} tokens/s" in text
        assert choice.title in text.splitlines()[-1]  # ...with the technical one under it
        assert text.endswith(" MB") or text.endswith(" GB")  # and its size
        # Shown in full: the label is tall enough for its wrapped lines, the box wide enough
        # for the longest title (Qt does not grow a dialog for a wrapped label by itself).
        qtbot.wait(20)
        notes = dialog.model_notes
        assert notes.height() >= notes.heightForWidth(notes.width()), (notes.size(), text)
        assert dialog.model.width() >= dialog.model.sizeHint().width()
    dialog.show_section("Images")
    qtbot.wait(20)
    image = dialog.image_model
    assert image.height() >= image.heightForWidth(image.width())
    dialog.model.setCurrentIndex(dialog.model.findData(LARGE_MODEL))
    assert "documents" in dialog.model_notes.text()
    assert dialog.result_settings().model == LARGE_MODEL


def test_questions_about_my_files_go_to_the_larger_model_unless_turned_off(
    qtbot: QtBot,
) -> None:
    choices = [
        ModelChoice(DEFAULT_MODEL, "Qwen 0.5B", "Default.", True),
        ModelChoice(LARGE_MODEL, "Qwen 1.5B", "Better from documents.", True, name="Best answers"),
    ]
    dialog = SettingsDialog(Settings().validated(), choices, "/tmp/data")
    qtbot.addWidget(dialog)
    assert dialog.files_model.isEnabled() and dialog.files_model.isChecked()
    assert "“Best answers”" in dialog.files_model.text()  # its plain name...
    tip = dialog.files_model.toolTip()
    assert "Qwen 1.5B" in tip  # ...and the technical one
    assert "70% right against 57%" in tip and "Spoken" in tip
    assert dialog.result_settings().files_model == "auto"
    dialog.files_model.setChecked(False)
    assert dialog.result_settings().files_model == "off"

    off = SettingsDialog(Settings(files_model="off").validated(), choices, "/tmp/data")
    qtbot.addWidget(off)
    assert not off.files_model.isChecked()
    off.files_model.setChecked(True)
    assert off.result_settings().files_model == "auto"

    missing = [choices[0], ModelChoice(LARGE_MODEL, "Qwen 1.5B", "", False, "Not installed.")]
    absent = SettingsDialog(Settings().validated(), missing, "/tmp/data")
    qtbot.addWidget(absent)
    assert not absent.files_model.isEnabled() and absent.files_model.toolTip() == "Not installed."
