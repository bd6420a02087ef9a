"""Settings → "A model served on my network": the address, model name and key, saved as the
app reads them, and a changed address reloads the chat model without a restart."""

from __future__ import annotations

from app.settings import SERVER_MODEL, Settings
from app.ui.settings_dialog import SettingsDialog
from app.workers.backend import ModelChoice
from pytestqt.qtbot import QtBot

from tests.fakes import FakeLanguageModel
from tests.ui.conftest import WindowFactory

LOCAL = [ModelChoice("local-model", "Local model", "On this computer.", True)]


def test_choosing_a_model_served_on_my_network(qtbot: QtBot) -> None:
    dialog = SettingsDialog(Settings(model="local-model"), LOCAL, "/tmp/data")
    qtbot.addWidget(dialog)
    dialog.show_section("Chat")
    assert not dialog.use_server.isChecked()
    assert not dialog.server_box.isVisibleTo(dialog) and dialog.model.isEnabled()
    assert dialog.result_settings().model == "local-model"

    dialog.use_server.setChecked(True)
    assert dialog.server_box.isVisibleTo(dialog) and not dialog.model.isEnabled()
    dialog.model_server_url.setText(" http://192.168.1.20:8080 ")
    dialog.model_server_model.setText("qwen2.5:7b")
    dialog.model_server_key.setText("secret")
    chosen = dialog.result_settings()
    assert chosen.model == SERVER_MODEL
    assert chosen.model_server_url == "http://192.168.1.20:8080"
    assert chosen.model_server_model == "qwen2.5:7b" and chosen.model_server_key == "secret"
    assert "secret" not in repr(chosen)  # never in a log line

    dialog.use_server.setChecked(False)  # back to this computer; the address is kept
    back = dialog.result_settings()
    assert back.model == "local-model" and back.model_server_url == "http://192.168.1.20:8080"


def test_the_dialog_opens_on_the_served_model(qtbot: QtBot) -> None:
    settings = Settings(model=SERVER_MODEL, model_server_url="http://box.lan:11434")
    dialog = SettingsDialog(settings, LOCAL, "/tmp/data")
    qtbot.addWidget(dialog)
    assert (
        dialog.use_server.isChecked()
        and dialog.model_server_url.text() == settings.model_server_url
    )
    assert dialog.result_settings().model == SERVER_MODEL


def test_a_new_server_address_reloads_the_model(qtbot: QtBot, make_window: WindowFactory) -> None:
    made: list[FakeLanguageModel] = []

    def served() -> FakeLanguageModel:
        made.append(FakeLanguageModel("served reply", name="Served fake"))
        return made[-1]

    settings = Settings(model=SERVER_MODEL, model_server_url="http://192.0.2.1:8080")
    window = make_window(models={SERVER_MODEL: served}, settings=settings)
    window.backend.update_settings(settings.replace(model_server_url="http://192.0.2.2:8080"))
    qtbot.waitUntil(lambda: bool(made) and made[0].warmups != [], timeout=3000)
    assert window.backend.assistant.llm is made[0]
