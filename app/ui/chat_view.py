"""The conversation: user messages as plain text, replies as Markdown, streaming in."""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QDesktopServices,
    QEnterEvent,
    QGuiApplication,
    QIcon,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import a11y
from app.ui.rich_text import COPY_SCHEME, render_reply

RENDER_INTERVAL_MS = 40
COPIED_MS = 1500
"""How long a Copy button says "Copied"."""
"""Streaming tokens are coalesced: the Markdown is re-rendered at most this often."""
INDENT = 72
"""Space kept on the other side of a bubble, so the two voices are told apart."""
FOUND_MARK_MS = 2500
"""How long a message found by a search stays outlined."""


class ImageViewer(QDialog):
    """An attached image at full (working) size, scrollable."""

    def __init__(self, name: str, pixmap: QPixmap, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(name)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        area = QScrollArea(self)
        self.picture = QLabel(area)
        self.picture.setPixmap(pixmap)
        area.setWidget(self.picture)
        layout.addWidget(area)
        self.resize(min(pixmap.width() + 40, 1200), min(pixmap.height() + 40, 900))


class MessageBubble(QFrame):
    citation_clicked = Signal(object)
    """A citation (dict, see app.core.memory.citation) was clicked."""
    answered = Signal(str)
    """"yes" or "no" from the confirm buttons."""
    remember_requested = Signal(str)
    """"Remember this" from the context menu, with the text to remember."""
    undo_requested = Signal()
    """The Undo button of a handled action was clicked."""
    edit_requested = Signal(object)
    """*Edit reply* from the context menu of an answer (the bubble)."""
    rate_requested = Signal(object, int)
    """*Good answer* (1), *Bad answer* (-1) or neither (0) from the context menu."""
    regenerate_requested = Signal(object)
    """*Regenerate* on the last reply."""
    resend_requested = Signal(object)
    """*Edit* on the user's last message (edit it in the message box and send it again)."""

    def __init__(self, role: str, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.setObjectName("bubble")
        self.setProperty("role", role)
        self.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(4)
        self.body = QLabel(self)
        self.body.setObjectName("bubbleText")
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.body.setOpenExternalLinks(False)
        self.body.linkActivated.connect(self._link)
        self.body.setAccessibleName("Your message" if role == "user" else "Hearth's reply")
        self.codes: list[str] = []
        """The code blocks of the text as shown, each copied whole by its Copy link."""
        # The bubble's own menu (Copy, Remember this) also over the text, not only around it.
        self.body.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.body.setTextFormat(
            Qt.TextFormat.PlainText if role == "user" else Qt.TextFormat.RichText
        )
        self.body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        layout.addWidget(self.body)
        self.sources = QLabel(self)
        self.sources.setObjectName("bubbleSources")
        self.sources.setWordWrap(True)
        self.sources.setTextFormat(Qt.TextFormat.RichText)
        self.sources.linkActivated.connect(self._cited)
        self.sources.hide()
        layout.addWidget(self.sources)
        self.quote = QLabel(self)
        self.quote.setObjectName("bubbleQuote")
        self.quote.setWordWrap(True)
        self.quote.setTextFormat(Qt.TextFormat.RichText)
        self.quote.linkActivated.connect(self._cited)
        self.quote.setAccessibleName("Supporting quote")
        self.quote.hide()
        layout.addWidget(self.quote)
        self.kept = QLabel(self)
        self.kept.setObjectName("bubbleFooter")
        self.kept.hide()
        layout.addWidget(self.kept)
        self.personal = QLabel(self)
        self.personal.setObjectName("bubbleFooter")
        self.personal.hide()
        layout.addWidget(self.personal)
        self.citations: list[dict[str, object]] = []
        self.footer = QLabel(self)
        self.footer.setObjectName("bubbleFooter")
        self.footer.hide()
        layout.addWidget(self.footer)
        self.actions_bar = QWidget(self)
        self.actions_bar.setObjectName("bubbleActions")
        bar = QHBoxLayout(self.actions_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(4)
        bar.addStretch(1)
        self.copy_button = self._tool_button("Copy", "Copy this message", self.copy_text)
        self.edit_button = self._tool_button(
            "Edit",
            "Edit your last message and send it again",
            lambda: self.resend_requested.emit(self),
        )
        self.regenerate_button = self._tool_button(
            "Regenerate", "Answer this again", lambda: self.regenerate_requested.emit(self)
        )
        for button in (self.copy_button, self.edit_button, self.regenerate_button):
            bar.addWidget(button)
        self.edit_button.hide()
        self.regenerate_button.hide()
        policy = self.actions_bar.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # no jump when it shows on hover
        self.actions_bar.setSizePolicy(policy)
        self.actions_bar.hide()
        layout.addWidget(self.actions_bar)
        self._hovered = False
        self._text = ""
        self.message_id: int | None = None
        """The stored message this bubble shows (None until the reply is saved)."""
        self.rating = 0
        self.edited = False
        self.images: list[str] = []
        self.viewers: list[ImageViewer] = []
        self.set_text(text)

    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        self._text = text
        if self.role == "user" or not text:
            self.codes = []
            self.body.setText(text if text else "…")
            return
        app = QApplication.instance()
        rendered = render_reply(text, str(app.property("hearthTheme") or "light") if app else "")
        self.codes = rendered.codes
        self.body.setText(rendered.html)

    def _link(self, url: str) -> None:
        if url.startswith(COPY_SCHEME):
            index = int(url.removeprefix(COPY_SCHEME) or -1)
            if 0 <= index < len(self.codes):
                QGuiApplication.clipboard().setText(self.codes[index])
                self._say_copied("Code copied")
            return
        _open_link(url)

    def copy_text(self) -> None:
        """The whole message as written (a reply's Markdown), or the selected part of it."""
        QGuiApplication.clipboard().setText(self.body.selectedText() or self._text)
        self._say_copied("Copied")

    def _say_copied(self, text: str) -> None:
        self.copy_button.setText(text)
        QTimer.singleShot(COPIED_MS, _if_still_shown(lambda: self.copy_button.setText("Copy")))

    def set_found(self, found: bool) -> None:
        """Outline this message (a search result shown), or not."""
        self.setProperty("found", found)
        self.style().polish(self)

    def _tool_button(self, text: str, tip: str, slot: Callable[[], object]) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName("bubbleAction")
        button.setText(text)
        a11y.describe(button, text, tip)
        button.setAutoRaise(True)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def focusables(self) -> list[QWidget]:
        """What Tab stops at in this message, in order: its text, then its buttons."""
        return [self.body, self.copy_button, self.edit_button, self.regenerate_button]

    def last_focusable(self) -> QWidget:
        return self.focusables()[-1]

    def set_last(self, *, regenerate: bool, edit: bool) -> None:
        """Offer Regenerate (the last reply) and Edit (the user's last message), or not."""
        self.regenerate_button.setVisible(regenerate)
        self.edit_button.setVisible(edit)

    def show_actions(self, shown: bool) -> None:
        self.actions_bar.setVisible(shown and bool(self._text.strip()))

    def has_focus_inside(self) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and (focus is self or self.isAncestorOf(focus))

    def enterEvent(self, event: QEnterEvent) -> None:  # noqa: N802 - Qt override
        self._hovered = True
        self.show_actions(True)
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        self._hovered = False
        self.show_actions(self.has_focus_inside())
        super().leaveEvent(event)

    def add_images(self, images: list[tuple[str, bytes | None]]) -> None:
        """Thumbnails of the attached images under the text; click one to see it whole.

        An image whose file is gone (None) is named, not silently dropped."""
        row = QHBoxLayout()
        row.setSpacing(6)
        for name, png in images:
            pixmap = QPixmap()
            if png is None or not pixmap.loadFromData(png, "PNG"):
                missing = QLabel(f"{name}\n(image no longer available)", self)
                missing.setObjectName("bubbleImageMissing")
                row.addWidget(missing)
                self.images.append(name)
                continue
            picture = QToolButton(self)
            picture.setObjectName("bubbleImage")
            picture.setIcon(QIcon(pixmap))
            size = pixmap.size().scaled(160, 160, Qt.AspectRatioMode.KeepAspectRatio)
            picture.setIconSize(size)
            if min(size.width(), size.height()) < 8:  # a 2048 x 1 strip: no visible thumbnail
                picture.setText(f"{name}\n{pixmap.width()} × {pixmap.height()} px")
                picture.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            picture.setToolTip(f"{name} (click to view)")
            picture.setAutoRaise(True)
            picture.clicked.connect(lambda _=False, n=name, p=pixmap: self._view(n, p))
            row.addWidget(picture)
            self.images.append(name)
        row.addStretch(1)
        layout = self.layout()
        if isinstance(layout, QVBoxLayout):
            layout.insertLayout(1, row)
        wanted = min(560, 170 * len(images) + 24)
        self.setMaximumWidth(max(self.maximumWidth(), wanted))
        self.setMinimumWidth(wanted)

    def _view(self, name: str, pixmap: QPixmap) -> None:
        viewer = ImageViewer(name, pixmap, self.window())
        viewer.show()
        self.viewers.append(viewer)

    def set_image_texts(self, texts: list[str], looks_like: list[list[str]] | None = None) -> None:
        """What OCR found, behind a button: shown on request, selectable and copyable; with an
        image model, what each image looks like."""
        found = "\n\n".join(t for t in texts if t.strip())
        tags = sorted({tag for image in looks_like or [] for tag in image})
        self.looks_like = QLabel("Looks like: " + ", ".join(tags) if tags else "", self)
        self.looks_like.setObjectName("bubbleFooter")
        self.looks_like.setVisible(bool(tags))
        self.ocr_button = QPushButton(
            "Show text found in the image" if found else "No text found in the image", self
        )
        self.ocr_button.setEnabled(bool(found))
        self.ocr_button.setCheckable(True)
        self.ocr_text = QPlainTextEdit(found, self)
        self.ocr_text.setReadOnly(True)
        self.ocr_text.setMaximumHeight(160)
        self.ocr_text.hide()
        self.ocr_button.toggled.connect(self.ocr_text.setVisible)
        layout = self.layout()
        if isinstance(layout, QVBoxLayout):
            layout.insertWidget(layout.count() - 1, self.looks_like)
            layout.insertWidget(layout.count() - 1, self.ocr_button)
            layout.insertWidget(layout.count() - 1, self.ocr_text)

    def natural_width(self) -> int:
        """Width of the longest line of plain text (for short user messages)."""
        metrics = self.body.fontMetrics()
        lines = self._text.splitlines() or [""]
        return max(metrics.horizontalAdvance(line) for line in lines) + 32

    def set_footer(self, text: str) -> None:
        self.footer.setText(text)
        self.footer.setVisible(bool(text))

    def set_citations(self, citations: list[dict[str, object]]) -> None:
        """ "Sources: [1] fact … [2] file …" under a reply; each opens where it came from."""
        self.citations = citations
        links = []
        for c in citations:
            label = html.escape(str(c.get("label", "")))
            if c.get("kind") == "fact":
                snippet = str(c.get("text", ""))
                label += ": " + html.escape(snippet[:40] + ("…" if len(snippet) > 40 else ""))
            links.append(f'<a href="cite:{c.get("n")}">[{c.get("n")}] {label}</a>')
        self.sources.setText("Sources: " + " · ".join(links) if links else "")
        self.sources.setVisible(bool(links))

    def set_grounding(
        self, quote: str, n: int, label: str, *, general: bool = False, trimmed: bool = False
    ) -> None:
        """The sentence of source [n] that supports the reply, under it (click: open the
        source there); or, for a general question, that the answer is the model's own.
        ``trimmed``: what the model wrote after the supported part was left out."""
        if quote:
            text = html.escape(" ".join(quote.split()))  # a PDF sentence runs over lines
            where = html.escape(f"[{n}] {label}" if label else f"[{n}]")
            note = " · the rest of the model's reply was left out" if trimmed else ""
            self.quote.setText(f'“{text}” — <a href="cite:{n}">{where}</a>{note}')
            self.quote.setToolTip(
                "Copied from the source; click to open it at this passage."
                + (
                    " What the model wrote after this answer is not in your files, so Hearth "
                    "left it out."
                    if trimmed
                    else ""
                )
            )
        elif general:
            self.quote.setText("From the model's general knowledge, not from your files.")
            self.quote.setToolTip(
                "Nothing in your files or memories was used for this answer; check it."
            )
        else:
            self.quote.setText("")
        self.quote.setVisible(bool(self.quote.text()))

    def set_personal(self, *, edited: bool, rating: int) -> None:
        """Show that the user edited or rated this reply (what the adapter learns from)."""
        self.edited, self.rating = edited, rating
        marks = []
        if edited:
            marks.append("Edited by you")
        if rating == 1:
            marks.append("You marked this good")
        elif rating == -1:
            marks.append("You marked this bad")
        self.personal.setText(" · ".join(marks))
        self.personal.setVisible(bool(marks))

    def set_kept(self, kept: bool, reason: str = "", secrets: int = 0) -> None:
        """A quiet line saying whether what the user said in this turn was kept in memory."""
        if kept:
            text = "Kept in memory"
            if secrets:
                text += " (a password or key left out)"
            tip = (
                "What you said in this turn is kept in memory, so Hearth can recall it later "
                "(the reply is not). See or delete it in Memory; right-click the conversation "
                "to keep it out of memory."
            )
        else:
            text = {"conversation": "Not kept: this conversation is not remembered"}.get(reason, "")
            tip = "Turn “Remember this conversation” on again in the conversation's menu."
        self.kept.setText(text)
        self.kept.setToolTip(tip if text else "")
        self.kept.setVisible(bool(text))

    def _cited(self, url: str) -> None:
        if url.startswith("cite:"):
            n = url.removeprefix("cite:")
            for c in self.citations:
                if str(c.get("n")) == n:
                    self.citation_clicked.emit(c)

    def ask_to_confirm(self, yes: str, no: str) -> None:
        """Yes/No buttons under the reply (used when Hearth asks before forgetting)."""
        row = QHBoxLayout()
        self.yes_button = QPushButton(yes, self)
        self.no_button = QPushButton(no, self)
        for button, answer in ((self.yes_button, "yes"), (self.no_button, "no")):
            button.clicked.connect(lambda _=False, a=answer: self._answer(a))
            row.addWidget(button)
        row.addStretch(1)
        layout = self.layout()
        if isinstance(layout, QVBoxLayout):
            layout.insertLayout(layout.count() - 1, row)

    def offer_undo(self) -> None:
        """An Undo button under the reply (what Hearth did can be taken back once)."""
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setToolTip("Take back what Hearth just did")
        self.undo_button.clicked.connect(self._undo)
        row = QHBoxLayout()
        row.addWidget(self.undo_button)
        row.addStretch(1)
        layout = self.layout()
        if isinstance(layout, QVBoxLayout):
            layout.insertLayout(layout.count() - 1, row)

    def _undo(self) -> None:
        self.undo_button.setEnabled(False)
        self.undo_requested.emit()

    def _answer(self, answer: str) -> None:
        self.yes_button.setEnabled(False)
        self.no_button.setEnabled(False)
        self.answered.emit(answer)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt override
        menu = QMenu(self)
        copy = menu.addAction("Copy")
        remember = menu.addAction("Remember this")
        remember.setEnabled(bool(self._text.strip()))
        edit = good = bad = None
        if self.role == "assistant" and self._text.strip():
            menu.addSeparator()
            edit = menu.addAction("Edit reply…")
            edit.setToolTip("Write the reply as you wanted it; Hearth learns your style from it")
            good = menu.addAction("Good answer")
            good.setCheckable(True)
            good.setChecked(self.rating == 1)
            bad = menu.addAction("Bad answer")
            bad.setCheckable(True)
            bad.setChecked(self.rating == -1)
        chosen = choose_from_menu(menu, event.globalPos())
        if chosen is not None and chosen is edit:
            self.edit_requested.emit(self)
        elif chosen is not None and chosen is good:
            self.rate_requested.emit(self, 0 if self.rating == 1 else 1)
        elif chosen is not None and chosen is bad:
            self.rate_requested.emit(self, 0 if self.rating == -1 else -1)
        elif chosen is copy:
            self.copy_text()
        elif chosen is remember:
            self.remember_requested.emit(self.body.selectedText() or self._text)


def _bubble_of(widget: QWidget | None) -> MessageBubble | None:
    while widget is not None and not isinstance(widget, MessageBubble):
        widget = widget.parentWidget()
    return widget


def _if_still_shown(change: Callable[[], object]) -> Callable[[], None]:
    """``change``, for a timer: nothing if its message was closed meanwhile."""

    def run() -> None:
        with contextlib.suppress(RuntimeError):  # the Qt object is gone
            change()

    return run


def choose_from_menu(menu: QMenu, pos: QPoint) -> QAction | None:
    """Show ``menu`` at ``pos`` until the user picks an action (None: dismissed); tests
    stand in for the user here."""
    return menu.exec(pos)


def _open_link(url: str) -> None:
    """Links in replies open in the user's browser, on the user's click only."""
    target = QUrl(url)
    if target.scheme() in ("http", "https", "mailto"):
        QDesktopServices.openUrl(target)


class ChatView(QScrollArea):
    citation_clicked = Signal(object)
    answered = Signal(str)
    remember_requested = Signal(str)
    edit_requested = Signal(object)
    """A bubble's *Edit reply* (the MessageBubble)."""
    rate_requested = Signal(object, int)
    """A bubble's rating: 1 good, -1 bad, 0 neither."""
    regenerate_requested = Signal(object)
    """Regenerate on the last reply (the MessageBubble)."""
    resend_requested = Signal(object)
    """Edit on the user's last message (the MessageBubble)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._inner = QWidget(self)
        self._inner.setObjectName("chatInner")
        self._layout = QVBoxLayout(self._inner)
        self._layout.setContentsMargins(16, 16, 16, 16)
        self._layout.setSpacing(10)
        self._layout.addStretch(1)
        self.setWidget(self._inner)
        self._placeholder = QLabel(
            "Ask anything. Hearth runs on this computer; nothing you type leaves it.", self
        )
        self._placeholder.setObjectName("placeholder")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._layout.insertWidget(0, self._placeholder)
        self._reply: MessageBubble | None = None
        self._pending = ""
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_INTERVAL_MS)
        self._render_timer.timeout.connect(self._render_pending)
        self._follow = True
        self._reveal: MessageBubble | None = None
        """A message shown from a search: kept in view while the layout settles."""
        self._last_bubble: MessageBubble | None = None
        """The message shown last: a new one comes after it in the Tab order."""
        self.verticalScrollBar().rangeChanged.connect(self._range_changed)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_moved)

    # -- content ------------------------------------------------------------------------------

    def bubbles(self) -> list[MessageBubble]:
        return self._inner.findChildren(MessageBubble)

    def clear(self) -> None:
        self._render_timer.stop()
        self._reply = None
        self._pending = ""
        for bubble in self.bubbles():
            self._discard(bubble)
        self._placeholder.show()
        self._follow = True
        self._reveal = None

    def add_message(self, role: str, text: str, footer: str = "") -> MessageBubble:
        self._placeholder.hide()
        row = QWidget(self._inner)
        row.setObjectName("messageRow")
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        bubble = MessageBubble(role, text, row)
        bubble.citation_clicked.connect(self.citation_clicked.emit)
        bubble.answered.connect(self.answered.emit)
        bubble.remember_requested.connect(self.remember_requested.emit)
        bubble.edit_requested.connect(self.edit_requested.emit)
        bubble.rate_requested.connect(self.rate_requested.emit)
        bubble.regenerate_requested.connect(self.regenerate_requested.emit)
        bubble.resend_requested.connect(self.resend_requested.emit)
        if footer:
            bubble.set_footer(footer)
        if role == "user":
            # Short questions get a snug bubble on the right; long ones wrap.
            row_layout.addStretch(1)
            row_layout.addSpacing(INDENT)
            row_layout.addWidget(bubble, 0)
            self._fit_user_bubble(bubble)
        else:
            row_layout.addWidget(bubble, 1)
            row_layout.addSpacing(INDENT)
        self._layout.insertWidget(self._layout.count() - 1, row)
        self._follow = True
        self._reveal = None
        self._tab_after_the_last(bubble)
        return bubble

    def _tab_after_the_last(self, bubble: MessageBubble) -> None:
        """Tab goes through the messages in the order they are shown, right after the
        conversation itself (a new bubble would otherwise come last, after the Send button)."""
        last = self._last_bubble
        previous: QWidget = last.last_focusable() if last is not None else self
        for widget in bubble.focusables():
            QWidget.setTabOrder(previous, widget)
            previous = widget
        self._last_bubble = bubble

    def _focus_moved(self, old: QWidget | None, new: QWidget | None) -> None:
        """A message's buttons show while the keyboard is in it, as they do under the mouse."""
        for widget in (old, new):
            bubble = _bubble_of(widget)
            if bubble is not None and bubble.window() is self.window():
                bubble.show_actions(bubble._hovered or bubble.has_focus_inside())

    def set_last_actions(self, *, regenerate: bool, edit: bool) -> None:
        """Regenerate on the last reply and Edit on the user's last message, when offered."""
        bubbles = self.bubbles()
        last_reply = next((b for b in reversed(bubbles) if b.role == "assistant"), None)
        last_user = next((b for b in reversed(bubbles) if b.role == "user"), None)
        for bubble in bubbles:
            bubble.set_last(
                regenerate=regenerate and bubble is last_reply,
                edit=edit and bubble is last_user,
            )

    # -- streaming reply ------------------------------------------------------------------------

    def start_reply(self) -> MessageBubble:
        self._reply = self.add_message("assistant", "")
        self._pending = ""
        return self._reply

    @property
    def reply(self) -> MessageBubble | None:
        return self._reply

    def append_to_reply(self, piece: str) -> None:
        if self._reply is None:
            self.start_reply()
        self._pending += piece
        if not self._render_timer.isActive():
            self._render_timer.start()

    def _render_pending(self) -> None:
        if self._reply is not None and self._pending:
            self._reply.set_text(self._reply.text + self._pending)
            self._pending = ""

    def finish_reply(
        self, footer: str = "", *, drop_if_empty: bool = False, text: str | None = None
    ) -> None:
        """``text``: the reply as it was kept, when it differs from what streamed (a reply
        stopped and trimmed because it repeated itself)."""
        self._render_timer.stop()
        self._render_pending()
        if text is not None and self._reply is not None and text != self._reply.text:
            self._reply.set_text(text)
        bubble, self._reply = self._reply, None
        if bubble is None:
            return
        if drop_if_empty and not bubble.text.strip():
            self._discard(bubble)
            return
        if footer:
            bubble.set_footer(footer)

    def _fit_user_bubble(self, bubble: MessageBubble) -> None:
        natural = bubble.natural_width()
        room = max(240, int(self.viewport().width() * 0.7))
        bubble.setMaximumWidth(natural)
        bubble.setMinimumWidth(min(natural, room))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        for bubble in self.bubbles():
            if bubble.role == "user":
                self._fit_user_bubble(bubble)

    def _discard(self, bubble: MessageBubble) -> None:
        row = bubble.parentWidget()
        if row is None:
            return
        self._layout.removeWidget(row)
        row.hide()
        row.setParent(None)
        row.deleteLater()
        if bubble is self._last_bubble:
            shown = self.bubbles()
            self._last_bubble = shown[-1] if shown else None

    # -- scrolling --------------------------------------------------------------------------------

    def _scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._follow = value >= bar.maximum() - 24

    def _range_changed(self, _low: int, high: int) -> None:
        if self._reveal is not None:
            self._reveal_now()
        elif self._follow:
            self.verticalScrollBar().setValue(high)

    def show_message(self, message_id: int) -> MessageBubble | None:
        """Scroll to the stored message ``message_id`` (a search result), mark it for a moment
        and put the keyboard focus on its text; None if this conversation has no such
        message."""
        bubble = next((b for b in self.bubbles() if b.message_id == message_id), None)
        if bubble is None:
            return None
        self._follow = False
        self._reveal = bubble
        self._reveal_now()
        QTimer.singleShot(0, self._reveal_now)  # again once the new bubbles are laid out
        bubble.set_found(True)
        QTimer.singleShot(FOUND_MARK_MS, _if_still_shown(lambda: bubble.set_found(False)))
        bubble.body.setFocus(Qt.FocusReason.OtherFocusReason)
        return bubble

    def _reveal_now(self) -> None:
        if self._reveal is not None:
            self._layout.activate()
            self.ensureWidgetVisible(self._reveal, 0, 24)
