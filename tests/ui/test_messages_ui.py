"""What a person does with messages: copy code or a whole message, answer again, edit and send
again, from the mouse (on hover) or the keyboard."""

from __future__ import annotations

from app.ui.chat_view import MessageBubble
from app.ui.main_window import MainWindow
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tests.fakes import FakeLanguageModel
from tests.ui.conftest import WindowFactory, send, texts, wait_turn

CODE_REPLY = (
    "Use a list comprehension:\n\n```python\nsquares = [n * n for n in range(10)]\n"
    "print(squares)\n```\n\nThen `print` it."
)


def last(window: MainWindow, role: str) -> MessageBubble:
    return next(b for b in reversed(window.chat.bubbles()) if b.role == role)


def test_a_code_block_is_highlighted_and_its_copy_link_copies_the_code_only(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(FakeLanguageModel(CODE_REPLY))
    send(qtbot, window, "How do I square numbers?")
    wait_turn(qtbot, window)
    bubble = last(window, "assistant")
    assert bubble.codes == ["squares = [n * n for n in range(10)]\nprint(squares)"]
    shown = bubble.body.text()
    assert 'href="copy-code:0"' in shown and "Copy code" in shown
    assert "style=" in shown and "color" in shown  # Pygments' colours, inline
    assert "```" not in shown  # rendered, not the Markdown
    assert bubble.body.textInteractionFlags() & Qt.TextInteractionFlag.LinksAccessibleByKeyboard

    QGuiApplication.clipboard().clear()
    bubble.body.linkActivated.emit("copy-code:0")
    assert QGuiApplication.clipboard().text() == bubble.codes[0]
    # Copy on the message copies the whole reply as written (its Markdown), and says so.
    bubble.show_actions(True)
    qtbot.mouseClick(bubble.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == CODE_REPLY
    assert bubble.copy_button.text() == "Copied"
    qtbot.waitUntil(lambda: bubble.copy_button.text() == "Copy", timeout=3000)


def test_raw_html_in_a_reply_is_shown_as_text() -> None:
    from app.ui.rich_text import render_reply

    rendered = render_reply('<img src="http://x/y.png"> and <a href="http://evil">a link</a>')
    assert "<img" not in rendered.html and "&lt;img" in rendered.html
    assert 'href="http://evil"' not in rendered.html


def test_actions_show_on_hover_and_when_the_keyboard_is_in_the_message(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(FakeLanguageModel("Fine, thanks."))
    send(qtbot, window, "How are you?")
    wait_turn(qtbot, window)
    reply, question = last(window, "assistant"), last(window, "user")
    assert not reply.actions_bar.isVisibleTo(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    reply.body.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: reply.actions_bar.isVisibleTo(window), timeout=2000)
    assert reply.regenerate_button.isVisibleTo(window) and not reply.edit_button.isVisibleTo(window)
    assert question.edit_button.isVisible() is False  # hidden until hovered or focused
    assert not question.regenerate_button.isVisibleTo(question)
    window.composer.input.setFocus()
    qtbot.waitUntil(lambda: not reply.actions_bar.isVisibleTo(window), timeout=2000)
    for bubble in (reply, question):
        for button in (bubble.copy_button, bubble.edit_button, bubble.regenerate_button):
            assert button.accessibleName() and button.accessibleDescription()


def test_regenerate_replaces_the_last_reply_everywhere(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    llm = FakeLanguageModel("First answer.")
    window = make_window(llm)
    send(qtbot, window, "Tell me a fact")
    wait_turn(qtbot, window)
    llm.reply = "Second answer."
    reply = last(window, "assistant")
    reply.show_actions(True)
    assert reply.regenerate_button.isVisibleTo(window)
    qtbot.mouseClick(reply.regenerate_button, Qt.MouseButton.LeftButton)
    wait_turn(qtbot, window)
    assert texts(window) == [("user", "Tell me a fact"), ("assistant", "Second answer.")]
    stored = window.backend.store.messages(window.conversation_id)
    assert [(m.role, m.content) for m in stored] == texts(window)
    assert window.backend.store.search("first answer") == []  # gone from search too

    # Again from the keyboard (Ctrl+R).
    llm.reply = "Third answer."
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.composer.input, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    wait_turn(qtbot, window)
    assert texts(window)[-1] == ("assistant", "Third answer.") and len(texts(window)) == 2


def test_a_reply_that_did_something_is_not_regenerated(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    store = window.backend.store
    conv = store.create_conversation("Timer")
    store.add_message(conv.id, "user", "set a timer for 5 minutes")
    store.add_message(conv.id, "assistant", "Timer set for 5 minutes.", {"handled": "timer"})
    window.refresh_conversations()
    window.open_conversation(conv.id)
    reply = last(window, "assistant")
    reply.show_actions(True)
    assert not reply.regenerate_button.isVisibleTo(window)
    assert not window.regenerate_action.isEnabled()
    window.regenerate()
    assert len(store.messages(conv.id)) == 2  # nothing was done twice


def test_up_edits_the_last_message_and_enter_sends_it_in_its_place(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    llm = FakeLanguageModel("Paris.")
    window = make_window(llm)
    send(qtbot, window, "What is the capital of Frnace?")
    wait_turn(qtbot, window)
    box = window.composer.input
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert box.toPlainText() == "What is the capital of Frnace?"
    hint = window.composer.hint
    assert isinstance(hint, QLabel) and hint.text().startswith("Editing your last message")

    # Esc leaves it as it was.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert box.toPlainText() == "" and hint.text() == ""
    assert len(window.backend.store.messages(window.conversation_id)) == 2

    # The Edit button does the same; Enter sends the corrected words in place of the old.
    question = last(window, "user")
    question.show_actions(True)
    qtbot.mouseClick(question.edit_button, Qt.MouseButton.LeftButton)
    box.selectAll()
    qtbot.keyClicks(box, "What is the capital of Italy?")
    llm.reply = "Rome."
    qtbot.keyClick(box, Qt.Key.Key_Return)
    wait_turn(qtbot, window)
    assert texts(window) == [("user", "What is the capital of Italy?"), ("assistant", "Rome.")]
    stored = window.backend.store.messages(window.conversation_id)
    assert [m.content for m in stored] == ["What is the capital of Italy?", "Rome."]
