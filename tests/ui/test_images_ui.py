"""Images into the chat: drop files, drop raw data, paste, pick; refusals; the turn sees them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from app.ui.main_window import MainWindow
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QLabel, QToolButton, QWidget
from pytestqt.qtbot import QtBot

from tests.fakes import FakeLanguageModel
from tests.ui.conftest import WindowFactory, send, texts, wait_turn


def png_file(path: Path, color: str = "orange", size: tuple[int, int] = (120, 80)) -> Path:
    Image.new("RGB", size, color).save(path, "PNG")
    return path


def drop(qtbot: QtBot, target: QWidget, mime: QMimeData) -> None:
    pos = QPoint(target.width() // 2, target.height() // 2)  # PySide6 6.11: QPoint only
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        pos,
        actions,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    event = QDropEvent(
        QPointF(pos), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, event)


def wait_images(qtbot: QtBot, window: MainWindow, count: int) -> None:
    qtbot.waitUntil(
        lambda: len(window.tray.images) == count and window.tray.reading == 0, timeout=10000
    )


def test_dropped_files_are_attached_and_read_into_the_turn(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    llm = FakeLanguageModel("The total is 13.60.")
    window = make_window(llm)
    mime = QMimeData()
    mime.setUrls(
        [
            QUrl.fromLocalFile(str(png_file(tmp_path / "receipt.png"))),
            QUrl.fromLocalFile(str(png_file(tmp_path / "second.png", "teal"))),
        ]
    )
    drop(qtbot, window.composer, mime)
    wait_images(qtbot, window, 2)
    assert window.composer.attachments_bar.isVisibleTo(window)
    send(qtbot, window, "What is the total?")
    wait_turn(qtbot, window)
    prompt = llm.prompts[-1][-1].content
    assert "[Image attached: receipt.png]" in prompt and "[Image attached: second.png]" in prompt
    assert "TOTAL  13.60" in prompt and prompt.endswith("What is the total?")
    assert window.tray.images == [] and not window.composer.attachments_bar.isVisibleTo(window)
    user = window.chat.bubbles()[0]
    assert user.images == ["receipt.png", "second.png"]
    # The text found is there on request, selectable and copyable.
    assert not user.ocr_text.isVisibleTo(window)
    qtbot.mouseClick(user.ocr_button, Qt.MouseButton.LeftButton)
    assert user.ocr_text.isVisibleTo(window) and "TOTAL  13.60" in user.ocr_text.toPlainText()
    # Clicking a thumbnail shows the image whole.
    thumbs = [b for b in user.findChildren(QToolButton) if b.objectName() == "bubbleImage"]
    assert len(thumbs) == 2
    thumb = thumbs[0]
    qtbot.mouseClick(thumb, Qt.MouseButton.LeftButton)
    viewer = user.viewers[-1]
    assert viewer.isVisible() and viewer.windowTitle() == "receipt.png"
    assert viewer.picture.pixmap().size().width() == 120
    viewer.close()
    assert texts(window)[-1] == ("assistant", "The total is 13.60.")
    # The image's text stays in the conversation for follow-up questions.
    stored = window.backend.store.messages(window.conversation_id)[0]
    assert stored.content == "What is the total?" and "13.60" in str(stored.meta["context"])


def test_drop_raw_image_data_on_the_window(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    mime = QMimeData()
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.darkGreen)
    mime.setImageData(image)
    drop(qtbot, window, mime)  # onto the window (the chat area passes drops up to it)
    wait_images(qtbot, window, 1)
    assert window.tray.images[0].name == "pasted image.png"
    assert (window.tray.images[0].width, window.tray.images[0].height) == (64, 48)


def test_paste_an_image_with_ctrl_v(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), "purple").save(buffer, "PNG")
    mime = QMimeData()
    mime.setData("image/png", buffer.getvalue())
    QGuiApplication.clipboard().setMimeData(mime)
    box = window.composer.input
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    wait_images(qtbot, window, 1)
    assert box.toPlainText() == ""
    # Text still pastes as text.
    QGuiApplication.clipboard().setText("just words")
    qtbot.keyClick(box, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert box.toPlainText() == "just words"


def test_a_bad_file_is_refused_with_a_message(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    fake = tmp_path / "holiday.png"
    fake.write_text("not really a picture", encoding="utf-8")
    with qtbot.waitSignal(window.tray.checked, timeout=10000):
        window.tray.add_files([str(fake)])
    notes = window.notifications.visible_notifications()
    assert len(notes) == 1 and "holiday.png is not an image Hearth can read" in notes[0].message
    assert window.tray.images == []
    assert not window.busy


def test_remote_urls_are_never_downloaded(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/cat.png")])
    drop(qtbot, window.composer, mime)
    notes = window.notifications.visible_notifications()
    assert len(notes) == 1 and "does not download" in notes[0].message
    assert window.tray.images == [] and window.tray.reading == 0


def test_remove_an_attachment_before_sending(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    llm = FakeLanguageModel("ok")
    window = make_window(llm)
    window.tray.add_files([str(png_file(tmp_path / "a.png")), str(png_file(tmp_path / "b.png"))])
    wait_images(qtbot, window, 2)
    window.composer.attachment_removed.emit(0)
    assert [a.name for a in window.tray.images] == ["b.png"]
    send(qtbot, window, "and this?")
    wait_turn(qtbot, window)
    assert "[Image attached: b.png]" in llm.prompts[-1][-1].content
    assert "a.png" not in llm.prompts[-1][-1].content


def test_an_image_alone_can_be_sent(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    llm = FakeLanguageModel("A receipt.")
    window = make_window(llm)
    box = window.composer.input
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert not window.busy  # nothing to send yet
    window.tray.add_files([str(png_file(tmp_path / "photo.png"))])
    wait_images(qtbot, window, 1)
    with qtbot.waitSignal(window.turn_finished, timeout=10000):
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert texts(window)[0] == ("user", "What is in this image?")
    assert "[Image attached: photo.png]" in llm.prompts[-1][-1].content
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert not window.busy  # the attachment went with the first message


def test_a_20000_by_1_image_is_answered_and_named_under_the_message(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    """A strip of extreme aspect ratio has no visible thumbnail: its name and size stand in."""
    llm = FakeLanguageModel("It is a thin white line.")
    window = make_window(llm)
    window.tray.add_files([str(png_file(tmp_path / "wide.png", "white", (20000, 1)))])
    wait_images(qtbot, window, 1)
    send(qtbot, window, "What is in this image?")
    wait_turn(qtbot, window)
    assert texts(window)[1] == ("assistant", "It is a thin white line.")
    user = window.chat.bubbles()[0]
    [thumb] = [b for b in user.findChildren(QToolButton) if b.objectName() == "bubbleImage"]
    assert thumb.text() == "wide.png\n2048 × 1 px"


def attach_file(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    count = len(window.tray.images)
    window.tray.add_files([str(path)])
    wait_images(qtbot, window, count + 1)


def test_images_are_shown_again_after_a_restart_and_go_with_their_conversation(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(FakeLanguageModel("It says TOTAL 13.60."))
    statuses: list[str] = []
    show = window.show_status

    def watch(text: str, *, working: bool = False) -> None:
        statuses.append(text)
        show(text, working=working)

    monkeypatch.setattr(window, "show_status", watch)
    attach_file(qtbot, window, png_file(tmp_path / "receipt.png"))
    send(qtbot, window, "Read it")
    wait_turn(qtbot, window)
    assert "Reading the image…" in statuses
    conversation = window.conversation_id
    images_dir = Path(window.backend.data_dir) / "images"
    assert len(list(images_dir.glob("*/*.png"))) == 1
    window.close()

    again = make_window(FakeLanguageModel())
    again.open_conversation(conversation)
    user = again.chat.bubbles()[0]
    assert user.images == ["receipt.png"]
    thumbs = [b for b in user.findChildren(QToolButton) if b.objectName() == "bubbleImage"]
    assert len(thumbs) == 1 and not thumbs[0].icon().isNull()
    assert "TOTAL  13.60" in user.ocr_text.toPlainText()
    # Later turns still carry what the image showed.
    send(qtbot, again, "And the shop?")
    wait_turn(qtbot, again)
    assert isinstance(again.backend.assistant.llm, FakeLanguageModel)
    history = again.backend.assistant.llm.prompts[-1]
    assert any("TOTAL  13.60" in m.content for m in history[:-1])

    again._delete(conversation)
    qtbot.waitUntil(lambda: list(images_dir.glob("*/*.png")) == [], timeout=10000)


def test_an_image_whose_file_is_gone_is_named_not_dropped(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window(FakeLanguageModel("ok"))
    attach_file(qtbot, window, png_file(tmp_path / "lost.png"))
    send(qtbot, window, "Look")
    wait_turn(qtbot, window)
    conversation = window.conversation_id
    for file in (Path(window.backend.data_dir) / "images").glob("*/*.png"):
        file.unlink()
    window.new_conversation()
    window.open_conversation(conversation)
    user = window.chat.bubbles()[0]
    assert user.images == ["lost.png"]
    labels = [w.text() for w in user.findChildren(QLabel) if w.objectName() == "bubbleImageMissing"]
    assert labels == ["lost.png\n(image no longer available)"]
