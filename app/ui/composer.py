"""Where the user writes: Enter sends, Shift+Enter adds a line; Send turns into Stop."""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import a11y

HintLasts = Literal["", "typing", "send"]
"""How long a hint stays: until replaced (''), until the user types or sends ('typing'), or
until a message is sent ('send')."""

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.gif *.tif *.tiff)"
THUMB = 72


def offers_from_mime(mime: QMimeData) -> tuple[list[str], list[tuple[str, bytes]], list[str]]:
    """(local files, raw images as (name, bytes), refused remote URLs) in dropped/pasted data."""
    files: list[str] = []
    blobs: list[tuple[str, bytes]] = []
    remote: list[str] = []
    if mime.hasUrls():
        for url in mime.urls():
            if url.isLocalFile():
                files.append(url.toLocalFile())
            else:
                remote.append(url.toString())
        if files or remote:
            return files, blobs, remote
    for fmt in ("image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp"):
        if fmt in mime.formats():
            data = bytes(mime.data(fmt).data())
            if data:
                blobs.append((f"pasted image.{fmt.split('/')[1]}", data))
                return files, blobs, remote
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            buffer = QByteArray()
            device = QBuffer(buffer)
            device.open(QIODevice.OpenModeFlag.WriteOnly)
            image.save(device, "PNG")  # type: ignore[call-overload]  # (stubs say bytes)
            blobs.append(("pasted image.png", bytes(buffer.data())))
    return files, blobs, remote


def has_images(mime: QMimeData) -> bool:
    return mime.hasUrls() or mime.hasImage() or any(f.startswith("image/") for f in mime.formats())


MIN_LINES, MAX_LINES = 2, 8


class MessageInput(QPlainTextEdit):
    submitted = Signal()
    mime_offered = Signal(object)
    edit_last = Signal()
    """Up in an empty box: edit the last message sent (as in most chat apps)."""
    """Images or image files pasted or dropped into the text box (a QMimeData)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageInput")
        self.setPlaceholderText("Message Hearth…  (Enter to send, Shift+Enter for a new line)")
        self.setTabChangesFocus(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def _fit(self, *_args: object) -> None:
        """Grow with the text, from two lines up to eight, then scroll."""
        line = self.fontMetrics().lineSpacing()
        lines = max(MIN_LINES, min(MAX_LINES, int(self.document().size().height())))
        margins = self.contentsMargins()
        frame = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom()
        self.setFixedHeight(lines * line + frame + 4)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 - Qt override
        return has_images(source) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 - Qt override
        if has_images(source) and not (
            source.hasText() and not source.hasUrls() and not source.hasImage()
        ):
            self.mime_offered.emit(source)
            return
        super().insertFromMimeData(source)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Up and not self.toPlainText() and not event.modifiers():
            self.edit_last.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            mods = event.modifiers()
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
                return
            if not mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
                self.submitted.emit()
                return
        super().keyPressEvent(event)


class Composer(QWidget):
    send_requested = Signal(str)
    stop_requested = Signal()
    talk_pressed = Signal()
    talk_released = Signal()
    files_offered = Signal(list)
    """Paths of local files the user dropped, pasted or picked."""
    images_offered = Signal(list)
    """[(name, bytes)] of image data dropped or pasted."""
    remote_refused = Signal(list)
    """URLs that were dropped: Hearth never downloads them."""
    attachment_removed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 4, 12, 12)
        outer.setSpacing(4)
        status_row = QHBoxLayout()
        self.hint = QLabel(self)
        self.hint.setObjectName("voiceHint")
        self.hint.setWordWrap(True)
        status_row.addWidget(self.hint, 1)
        self.meter = QProgressBar(self)
        self.meter.setObjectName("micLevel")
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedWidth(120)
        self.meter.setMaximumHeight(8)
        self.meter.hide()
        status_row.addWidget(self.meter)
        self.clock = QLabel(self)
        self.clock.setObjectName("micClock")
        self.clock.hide()
        status_row.addWidget(self.clock)
        outer.addLayout(status_row)
        self.attachments_bar = QWidget(self)
        self.attachments_bar.setObjectName("attachments")
        self._chips = QHBoxLayout(self.attachments_bar)
        self._chips.setContentsMargins(0, 0, 0, 0)
        self._chips.addStretch(1)
        self.attachments_bar.hide()
        outer.addWidget(self.attachments_bar)
        layout = QHBoxLayout()
        outer.addLayout(layout)
        self.attach_button = QToolButton(self)
        self.attach_button.setText("+")  # U+FF0B drew as a box in DejaVu Sans
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setToolTip("Attach images (or drop or paste them here)")
        self.attach_button.clicked.connect(self.pick_images)
        layout.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.input = MessageInput(self)
        a11y.describe(
            self.input,
            "Message",
            "Your message to Hearth. Enter sends, Shift+Enter starts a new line, Up edits your "
            "last message.",
            tip=False,
        )
        self.input.mime_offered.connect(self.offer_mime)
        layout.addWidget(self.input, 1)
        self.setAcceptDrops(True)
        self.talk_button = QPushButton("Hold to talk", self)
        self.talk_button.setObjectName("talkButton")
        self.talk_button.setToolTip("Hold while you speak (or hold Ctrl+Space)")
        self.talk_button.pressed.connect(self.talk_pressed)
        self.talk_button.released.connect(self.talk_released)
        self.talk_button.hide()
        layout.addWidget(self.talk_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send (Enter)")
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the reply (Esc)")
        self.stop_button.hide()
        layout.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.input.submitted.connect(self._submit)
        self.input.textChanged.connect(self._typed)
        self._hint_lasts: HintLasts = ""
        self.send_button.clicked.connect(self._submit)
        self.stop_button.clicked.connect(self.stop_requested)

    @property
    def busy(self) -> bool:
        return self.stop_button.isVisibleTo(self)

    def set_busy(self, busy: bool) -> None:
        """A reply is streaming: Stop replaces Send (Enter still sends: it is queued)."""
        if busy and self._hint_lasts:
            self.show_hint("")  # a message was sent: remarks about the last attempt are done
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)

    def enable_voice(self, enabled: bool) -> None:
        self.talk_button.setVisible(enabled)

    def set_listening(self, listening: bool) -> None:
        self.meter.setVisible(listening)
        self.clock.setVisible(listening)
        self.talk_button.setText("Listening…" if listening else "Hold to talk")
        if listening:
            self.meter.setValue(0)
            self.clock.setText("0.0 s")
            self.show_hint("Listening… release to send.")

    def show_level(self, level: float) -> None:
        self.meter.setValue(round(level * 100))

    def show_elapsed(self, seconds: float) -> None:
        self.clock.setText(f"{seconds:.1f} s")

    def show_hint(self, text: str, *, lasts: HintLasts = "") -> None:
        self.hint.setText(text)
        self._hint_lasts = lasts if text else ""

    def _typed(self) -> None:
        if self._hint_lasts == "typing" and self.input.toPlainText():
            self.show_hint("")

    # -- images -------------------------------------------------------------------------------

    def pick_images(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach images", "", IMAGE_FILTER)
        if paths:
            self.files_offered.emit(paths)

    def offer_mime(self, mime: object) -> None:
        if not isinstance(mime, QMimeData):
            return
        files, blobs, remote = offers_from_mime(mime)
        if files:
            self.files_offered.emit(files)
        if blobs:
            self.images_offered.emit(blobs)
        if remote:
            self.remote_refused.emit(remote)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if has_images(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        self.offer_mime(event.mimeData())
        event.acceptProposedAction()

    def set_attachments(self, thumbnails: list[tuple[str, bytes]]) -> None:
        """Show one chip per attached image: (name, PNG bytes)."""
        while self._chips.count() > 1:
            item = self._chips.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()
        for index, (name, png) in enumerate(thumbnails):
            chip = QWidget(self.attachments_bar)
            chip.setObjectName("attachmentChip")
            row = QHBoxLayout(chip)
            row.setContentsMargins(0, 0, 0, 0)
            picture = QLabel(chip)
            pixmap = QPixmap()
            pixmap.loadFromData(png, "PNG")
            picture.setPixmap(
                pixmap.scaled(
                    THUMB,
                    THUMB,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
            picture.setToolTip(name)
            row.addWidget(picture)
            remove = QToolButton(chip)
            remove.setText("✕")
            remove.setToolTip(f"Remove {name}")
            remove.clicked.connect(lambda _=False, i=index: self.attachment_removed.emit(i))
            row.addWidget(remove)
            self._chips.insertWidget(self._chips.count() - 1, chip)
        self.attachments_bar.setVisible(bool(thumbnails))

    def _has_attachments(self) -> bool:
        return self._chips.count() > 1  # the chips, then the closing stretch

    def _submit(self) -> None:
        text = self.input.toPlainText().strip()
        if not (text or self._has_attachments()):
            return
        text = text or "What is in this image?"
        self.input.clear()
        self.send_requested.emit(text)
