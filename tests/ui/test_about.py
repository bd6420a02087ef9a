"""Help -> About names the version and the model."""

from __future__ import annotations

import app
import pytest
from PySide6.QtWidgets import QMessageBox, QWidget

from tests.fakes import FakeLanguageModel
from tests.ui.conftest import WindowFactory


def test_about_names_the_version_and_the_model(
    make_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(FakeLanguageModel("ok", name="Fake chat model"))
    shown: list[str] = []

    def about(_parent: QWidget, _title: str, text: str) -> None:
        shown.append(text)

    monkeypatch.setattr(QMessageBox, "about", about)
    window._about()
    assert len(shown) == 1
    assert f"Hearth {app.__version__}" in shown[0] and "Fake chat model" in shown[0]
