"""The main window: conversations on the left, the chat on the right, status at the bottom."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AssistantError
from app.core.events import AssistantEvent, EventType
from app.core.images import PreparedImage, stored_images
from app.core.memory import citation
from app.core.ports import MemoryHit, MemoryRecord
from app.ui.chat_view import ChatView, MessageBubble
from app.ui.composer import Composer
from app.ui.conversation_list import ConversationList
from app.ui.image_model_dialog import AddImageModelDialog
from app.ui.memory_browser import MemoryBrowser
from app.ui.notifications import NotificationArea
from app.ui.settings_dialog import SettingsDialog
from app.ui.source_viewer import SourceViewer
from app.ui.theme import apply_theme
from app.workers.backend import AssistantBackend, ImageModelInfo
from app.workers.jobs import Job
from app.workers.voice import VoiceController

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    turn_finished = Signal()
    image_checked = Signal()
    """An offered image was accepted or refused (used by tests)."""
    """Emitted after a turn's last event was rendered (used by tests and benchmarks)."""

    def __init__(self, backend: AssistantBackend, voice: VoiceController | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.voice = voice
        self._spoken_turn = False
        self._talk_by_key = False
        self._talk_global = False
        self.setWindowTitle("Hearth")
        self.resize(1000, 700)
        self.conversation_id = ""
        self._turn_job: Job | None = None
        self._turn_conversation = ""
        self._tokens = 0
        self._first_token_at = 0.0
        self._spoken_bubble: MessageBubble | None = None
        self._user_bubble: MessageBubble | None = None
        self.attachments: list[PreparedImage] = []
        self._reading = 0

        self.conversations = ConversationList(self)
        self.notifications = NotificationArea(self)
        self.chat = ChatView(self)
        self.composer = Composer(self)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        right_layout.addWidget(self.notifications)
        right_layout.addWidget(self.chat, 1)
        right_layout.addWidget(self.composer)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.conversations)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([240, 760])
        self.setCentralWidget(splitter)

        self.model_label = QLabel(backend.model_name, self)
        self.state_label = QLabel("Starting…", self)
        self.speed_label = QLabel("", self)
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.hide()
        status = self.statusBar()
        status.addWidget(self.state_label, 1)
        status.addPermanentWidget(self.busy_bar)
        status.addPermanentWidget(self.speed_label)
        status.addPermanentWidget(self.model_label)

        self._build_menu()
        self.conversations.selected.connect(self.open_conversation)
        self.conversations.new_requested.connect(self.new_conversation)
        self.conversations.rename_requested.connect(self._rename)
        self.conversations.delete_requested.connect(self._delete)
        self.conversations.search_changed.connect(lambda _q: self.refresh_conversations())
        self.composer.send_requested.connect(self.send)
        self.chat.citation_clicked.connect(self.open_citation)
        self.chat.answered.connect(self.send)
        self.chat.remember_requested.connect(self.remember_text)
        self.memory_browser: MemoryBrowser | None = None
        self.composer.files_offered.connect(self.attach_files)
        self.composer.images_offered.connect(self.attach_images)
        self.composer.remote_refused.connect(self._remote_refused)
        self.composer.attachment_removed.connect(self._remove_attachment)
        self.setAcceptDrops(True)
        self.composer.stop_requested.connect(self.stop)
        backend.status_changed.connect(self._status)
        backend.model_changed.connect(self.model_label.setText)
        backend.error.connect(self.show_error)
        backend.settings_changed.connect(self._apply_settings)

        self.set_talk_shortcut(backend.settings.talk_shortcut)
        if voice is not None:
            self._connect_voice(voice)

        geometry = backend.settings.window_geometry
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii")))
        self.refresh_conversations()
        last = backend.settings.last_conversation
        ids = self.conversations.ids()
        if last in ids:
            self.open_conversation(last)
        elif ids:
            self.open_conversation(ids[0])
        self.composer.input.setFocus()

    # -- images -----------------------------------------------------------------------------

    def attach_files(self, paths: list[str]) -> None:
        for path in paths:
            self._track(self.backend.prepare_image_file(path))

    def attach_images(self, blobs: list[tuple[str, bytes]]) -> None:
        for name, data in blobs:
            self._track(self.backend.prepare_image(name, data))

    def _track(self, job: Job) -> None:
        self._reading += 1
        self.composer.show_hint("Checking the image…")
        job.succeeded.connect(self._attached)
        job.failed.connect(self.show_error)
        job.finished.connect(self._image_done)

    def _attached(self, image: object) -> None:
        if isinstance(image, PreparedImage):
            self.attachments.append(image)
            self._show_attachments()

    def _image_done(self) -> None:
        self._reading -= 1
        if self._reading == 0:
            self.composer.show_hint("")
        self.image_checked.emit()

    def _remove_attachment(self, index: int) -> None:
        if 0 <= index < len(self.attachments):
            del self.attachments[index]
            self._show_attachments()

    def _show_attachments(self) -> None:
        self.composer.set_attachments([(a.name, a.png) for a in self.attachments])

    def _remote_refused(self, urls: list[str]) -> None:
        self.notifications.show_message(
            "Hearth does not download anything: save the image to this computer first, then "
            "drop the file.",
            details="\n".join(urls),
            level="warning",
        )

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        self.composer.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        self.composer.dropEvent(event)

    # -- voice -----------------------------------------------------------------------------------

    def _connect_voice(self, voice: VoiceController) -> None:
        self.composer.enable_voice(True)
        self.composer.talk_pressed.connect(voice.press)
        self.composer.talk_released.connect(voice.release)
        voice.listening_changed.connect(self.composer.set_listening)
        voice.level.connect(self.composer.show_level)
        voice.elapsed.connect(self.composer.show_elapsed)
        voice.partial.connect(lambda text: self.composer.show_hint(f"Hearing: {text}"))
        voice.not_heard.connect(self._not_heard)
        voice.notice.connect(
            lambda text: self.notifications.show_message(text, level="warning", timeout_ms=8000)
        )
        voice.error.connect(self.show_error)
        voice.interrupted.connect(self.stop)
        voice.transcribed.connect(self._transcribed)
        voice.timings_ready.connect(self._show_timings)
        memory = self.backend.memory_service
        if memory is not None:
            # Indexing waits while the user talks and while Hearth speaks.
            voice.listening_changed.connect(
                lambda on: memory.hold("listening") if on else memory.release("listening")
            )
            voice.speaking_changed.connect(
                lambda on: memory.hold("speaking") if on else memory.release("speaking")
            )
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def set_talk_shortcut(self, text: str) -> None:
        sequence = QKeySequence(text)
        if sequence.isEmpty():
            sequence = QKeySequence("Ctrl+Space")
        combo = sequence[0]  # type: ignore[index]  # (PySide6 stubs miss __getitem__)
        self._talk_key = combo.key()
        self._talk_modifiers = combo.keyboardModifiers()
        native = sequence.toString(QKeySequence.SequenceFormat.NativeText)
        self.composer.talk_button.setToolTip(f"Hold while you speak (or hold {native})")

    def global_talk_pressed(self) -> None:
        """The shortcut was pressed while another application had focus."""
        if self.voice is None or self.isActiveWindow() or self.voice.listening:
            return  # in the window, the event filter below handles it
        self._talk_global = True
        self.voice.press()

    def global_talk_released(self) -> None:
        if self.voice is not None and self._talk_global:
            self._talk_global = False
            self.voice.release()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Hold the talk shortcut (Ctrl+Space) anywhere in the window to talk."""
        voice = self.voice
        kind = event.type()
        if voice is None or kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if not isinstance(event, QKeyEvent) or event.key() != self._talk_key:
            return False
        if kind == QEvent.Type.KeyPress:
            in_this_window = isinstance(watched, QWidget) and watched.window() is self
            wanted = self._talk_modifiers
            if (event.modifiers() & wanted) != wanted or not in_this_window:
                return False
            if not event.isAutoRepeat() and not voice.listening:
                self._talk_by_key = True
                voice.press()
            return True
        if self._talk_by_key and not event.isAutoRepeat():
            self._talk_by_key = False
            voice.release()
            return True
        return self._talk_by_key

    def _not_heard(self, text: str) -> None:
        self.composer.show_hint(text)
        self._status("Nothing heard")

    def _transcribed(self, text: str) -> None:
        if self.backend.settings.review_transcript:
            self.composer.input.setPlainText(text)
            self.composer.input.setFocus()
            self.composer.show_hint("Check the words, then press Enter to send.")
            return
        self.composer.show_hint("")
        self.send(text, spoken=True)

    def _show_timings(self, timings: object) -> None:
        summary = getattr(timings, "summary", lambda: "")()
        bubble = self._spoken_bubble
        if bubble is not None and summary:
            total = summary.split(" (")[0]
            bubble.set_footer(total)
            bubble.footer.setToolTip(summary)

    # -- menus and shortcuts ---------------------------------------------------------------------

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action(
            file_menu, "&New conversation", self.new_conversation, QKeySequence.StandardKey.New
        )
        file_menu.addSeparator()
        self._action(
            file_menu,
            "&Settings…",
            self.open_settings,
            QKeySequence.StandardKey.Preferences,
            fallback="Ctrl+,",
        )
        file_menu.addSeparator()
        self._action(
            file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit, fallback="Ctrl+Q"
        )
        edit_menu = self.menuBar().addMenu("&Conversation")
        self._action(
            edit_menu, "&Find conversation", self._focus_search, QKeySequence.StandardKey.Find
        )
        self._action(edit_menu, "&Rename", self.conversations.rename_current, None, fallback="F2")
        self._action(edit_menu, "&Delete…", self.conversations.delete_current, None)
        self.stop_action = self._action(edit_menu, "S&top reply", self.stop, None, fallback="Esc")
        if self.backend.memory_service is not None:
            memory_menu = self.menuBar().addMenu("&Memory")
            self._action(memory_menu, "&Browse memory…", self.open_memory, None, fallback="Ctrl+M")
            self._action(
                memory_menu,
                "Add a &folder…",
                lambda: self.open_memory(tab="Folders"),
                None,
            )
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About Hearth", self._about, None)
        focus = QShortcut(QKeySequence("Ctrl+L"), self)
        focus.activated.connect(self.composer.input.setFocus)

    def _action(
        self,
        menu: object,
        text: str,
        slot: object,
        key: QKeySequence.StandardKey | None,
        *,
        fallback: str = "",
    ) -> QAction:
        action = QAction(text, self)
        shortcuts = QKeySequence.keyBindings(key) if key is not None else []
        if not shortcuts and fallback:
            shortcuts = [QKeySequence(fallback)]
        if shortcuts:
            action.setShortcuts(shortcuts)
        action.triggered.connect(slot)
        menu.addAction(action)  # type: ignore[attr-defined]
        return action

    def _focus_search(self) -> None:
        self.conversations.search.setFocus()
        self.conversations.search.selectAll()

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Hearth",
            "<b>Hearth</b> is a private assistant that runs entirely on this computer.<br>"
            f"Model: {self.backend.model_name}<br>Data: {self.backend.data_dir}",
        )

    # -- conversations -------------------------------------------------------------------------

    def refresh_conversations(self) -> None:
        query = self.conversations.search.text()
        try:
            items = self.backend.store.list_conversations(query)
        except AssistantError as exc:
            self.show_error(exc)
            return
        self.conversations.set_conversations(items, self.conversation_id)
        current = next((c for c in items if c.id == self.conversation_id), None)
        self.setWindowTitle(f"{current.title} — Hearth" if current and current.title else "Hearth")

    def new_conversation(self) -> None:
        """Start an empty chat; it is saved once the first message is sent."""
        self._leave_turn()
        self.conversation_id = ""
        self.chat.clear()
        self.conversations.list.clearSelection()
        self.conversations.list.setCurrentRow(-1)
        self.composer.input.setFocus()

    def open_conversation(self, conversation_id: str) -> None:
        if conversation_id == self.conversation_id and self.chat.bubbles():
            return
        self._leave_turn()
        try:
            messages = self.backend.store.messages(conversation_id)
        except AssistantError as exc:
            self.show_error(exc)
            return
        self.conversation_id = conversation_id
        self.chat.clear()
        for m in messages:
            footer = "Stopped" if m.meta.get("cancelled") else ""
            bubble = self.chat.add_message(m.role, m.content, footer)
            citations = m.meta.get("citations")
            if isinstance(citations, list):
                bubble.set_citations([c for c in citations if isinstance(c, dict)])
            images = stored_images(m.meta)
            if images:
                bubble.add_images([(i.name, self.backend.load_image(i.file)) for i in images])
                bubble.set_image_texts(
                    [i.text for i in images], [list(i.looks_like) for i in images]
                )
        self.backend.remember(last_conversation=conversation_id)
        self.refresh_conversations()

    def _rename(self, conversation_id: str, title: str) -> None:
        try:
            self.backend.store.rename_conversation(conversation_id, title)
        except AssistantError as exc:
            self.show_error(exc)
        self.refresh_conversations()

    def _delete(self, conversation_id: str) -> None:
        if conversation_id == self._turn_conversation:
            self.stop()
        try:
            self.backend.delete_conversation(conversation_id)
        except AssistantError as exc:
            self.show_error(exc)
            return
        if conversation_id == self.conversation_id:
            self.new_conversation()
        self.refresh_conversations()

    # -- turns ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._turn_job is not None

    def send(self, text: str, *, spoken: bool = False) -> None:
        if self.busy:
            return
        if not self.conversation_id:
            try:
                self.conversation_id = self.backend.store.create_conversation().id
            except AssistantError as exc:
                self.composer.input.setPlainText(text)
                self.show_error(exc)
                return
            self.backend.remember(last_conversation=self.conversation_id)
        images, self.attachments = self.attachments, []
        self._show_attachments()
        user_bubble = self.chat.add_message("user", text)
        self._user_bubble = user_bubble
        if images:
            user_bubble.add_images([(i.name, i.png) for i in images])
        self._spoken_bubble = self.chat.start_reply()
        self._spoken_turn = spoken and self.voice is not None
        if self._spoken_turn and self.voice is not None:
            self.voice.begin_reply()
        self._tokens = 0
        self._first_token_at = 0.0
        self._turn_conversation = self.conversation_id
        job = self.backend.send(self.conversation_id, text, images)
        self._turn_job = job
        job.progress.connect(self._on_event)
        job.failed.connect(self.show_error)
        job.finished.connect(lambda: self._job_finished(job))
        self.composer.set_busy(True)
        self._status("Thinking…")

    def stop(self) -> None:
        if self.voice is not None:
            self.voice.stop_speaking()
        if self._turn_job is not None:
            self.backend.stop()
            self._status("Stopping…")

    def _leave_turn(self) -> None:
        """Switching away from the chat being answered stops the reply (what came is kept)."""
        if self._turn_job is not None:
            self.stop()
            self.chat.finish_reply("Stopped", drop_if_empty=True)

    def _showing_turn(self) -> bool:
        return self._turn_conversation == self.conversation_id

    def _on_event(self, event: object) -> None:
        if not isinstance(event, AssistantEvent):
            return
        kind = event.type
        if kind is EventType.IMAGES_READING:
            total = int(event.data.get("total", 1))
            index = int(event.data.get("index", 0)) + 1
            self._status(
                f"Reading image {index} of {total}…" if total > 1 else "Reading the image…"
            )
            self.busy_bar.show()
        elif kind is EventType.IMAGES_READ:
            self.busy_bar.hide()
            if self._showing_turn() and self._user_bubble is not None:
                self._user_bubble.set_image_texts(
                    [str(t) for t in event.data.get("texts", [])],
                    [list(tags) for tags in event.data.get("looks_like", [])],
                )
        elif kind is EventType.RECALLED:
            count = int(event.data.get("count", 0))
            self._status(f"Thinking… (recalled {count} memor{'y' if count == 1 else 'ies'})")
        elif kind is EventType.CITATIONS:
            reply = self.chat.reply
            if self._showing_turn() and reply is not None:
                citations = event.data.get("citations", [])
                reply.set_citations([dict(c) for c in citations if isinstance(c, dict)])
        elif kind is EventType.MEMORY:
            action = str(event.data.get("action", ""))
            reply = self.chat.reply
            if action == "confirm-forget" and self._showing_turn() and reply is not None:
                reply.ask_to_confirm("Yes, forget it", "No, keep it")
            if action in ("remembered", "forgotten") and self.backend.memory_service:
                self.backend.memory_service.changed.emit()
        elif kind is EventType.MODEL_LOADING:
            self._status(f"Loading {event.data.get('model', 'model')}…")
            self.busy_bar.show()
        elif kind is EventType.PROMPT_READY:
            self.busy_bar.hide()
            dropped = int(event.data.get("dropped_messages", 0))
            self._status(
                f"Thinking… ({dropped} older messages left out to fit the context)"
                if dropped
                else "Thinking…"
            )
        elif kind is EventType.TOKEN:
            self._tokens += 1
            now = time.monotonic()
            if self._tokens == 1:
                self._first_token_at = now
                self._status("Answering…")
                if self._spoken_turn and self.voice is not None:
                    self.voice.mark_first_token()
            elif now > self._first_token_at:
                rate = (self._tokens - 1) / (now - self._first_token_at)
                self.speed_label.setText(f"{rate:.1f} tok/s")
            if self._showing_turn():
                self.chat.append_to_reply(str(event.data.get("text", "")))
            if self._spoken_turn and self.voice is not None:
                self.voice.feed_reply(str(event.data.get("text", "")))
        elif kind is EventType.STATS:
            rate = float(event.data.get("tokens_per_second", 0.0))
            if rate:
                self.speed_label.setText(f"{rate:.1f} tok/s")
        elif kind is EventType.ERROR:
            self.notifications.show_message(
                str(event.data.get("message", "Something went wrong.")),
                details=f"[{event.data.get('code', '')}]\n{event.data.get('details', '')}",
            )
        elif kind is EventType.TURN_END:
            self.busy_bar.hide()
            cancelled = bool(event.data.get("cancelled"))
            failed = bool(event.data.get("failed"))
            if self._spoken_turn and self.voice is not None:
                if cancelled or failed:
                    self.voice.stop_speaking()
                else:
                    self.voice.end_reply()
            if self._showing_turn():
                footer = "Stopped" if cancelled else ("Failed" if failed else "")
                self.chat.finish_reply(footer, drop_if_empty=True)
            self._status("Stopped" if cancelled else ("Ready" if not failed else "Error"))

    def _job_finished(self, job: Job) -> None:
        if self._turn_job is job:
            self._turn_job = None
            self._turn_conversation = ""
            self.composer.set_busy(False)
            self.busy_bar.hide()
            self.refresh_conversations()
            self.turn_finished.emit()

    # -- status, errors, settings ------------------------------------------------------------------

    def _status(self, text: str) -> None:
        self.state_label.setText(text)
        self.busy_bar.setVisible(text.startswith("Loading"))

    def show_error(self, error: object) -> None:
        if isinstance(error, AssistantError):
            details = f"[{error.code}]\n{error.details}" if error.details else f"[{error.code}]"
            self.notifications.show_message(error.message, details=details)
        else:
            self.notifications.show_message(str(error))

    def open_settings(self) -> None:
        dialog = SettingsDialog(
            self.backend.settings,
            self.backend.models(),
            self.backend.data_dir,
            self,
            voice=self.voice,
            add_image_model=self._add_image_model if self.backend.can_import_image_models else None,
        )
        if dialog.exec():
            self.backend.update_settings(dialog.result_settings())

    # -- memory -------------------------------------------------------------------------------

    def open_memory(self, *, tab: str = "Memories") -> MemoryBrowser | None:
        service = self.backend.memory_service
        if service is None:
            return None
        if self.memory_browser is None:
            self.memory_browser = MemoryBrowser(service, self, find_images=self.backend.find_images)
            self.memory_browser.open_source.connect(self._open_record_source)
            self.memory_browser.open_conversation.connect(self.open_conversation)
        browser = self.memory_browser
        for index in range(browser.tabs.count()):
            if browser.tabs.tabText(index) == tab:
                browser.tabs.setCurrentIndex(index)
        browser.show()
        browser.raise_()
        browser.activateWindow()
        return browser

    def open_citation(self, citation: object) -> None:
        """Show where a cited memory came from: the fact, the conversation, or the file."""
        if not isinstance(citation, dict):
            return
        kind = citation.get("kind")
        if kind == "turn" and citation.get("conversation_id"):
            self.open_conversation(str(citation["conversation_id"]))
        elif kind == "document":
            self.source_viewer = SourceViewer(
                str(citation.get("label", "")),
                str(citation.get("path", citation.get("source", ""))),
                str(citation.get("text", "")),
                self,
            )
            self.source_viewer.show()
        else:
            browser = self.open_memory()
            if browser is not None:
                wanted = str(citation.get("id", ""))

                def pick() -> None:
                    browser.select(wanted)
                    browser.loaded.disconnect(pick)

                browser.loaded.connect(pick)
                browser.search.clear()
                browser.refresh()

    def _open_record_source(self, record: object) -> None:
        if isinstance(record, MemoryRecord):
            # Shaped like a reply's citation, with the whole text rather than its excerpt.
            self.open_citation({**citation(0, MemoryHit(record, 0.0)), "text": record.text})

    def remember_text(self, text: str) -> None:
        """ "Remember this" on a message: keep it as a fact."""
        service = self.backend.memory_service
        if service is None or not text.strip():
            return
        job = service.remember(
            text.strip(),
            source=f"conversation:{self.conversation_id}" if self.conversation_id else "chat",
            conversation_id=self.conversation_id,
        )
        job.succeeded.connect(
            lambda _r: self.notifications.show_message(
                "Remembered. Hearth will recall it when it helps.", level="info", timeout_ms=4000
            )
        )

    def _add_image_model(self) -> ImageModelInfo | None:
        dialog = AddImageModelDialog(self.backend, self)
        return dialog.info if dialog.exec() else None

    def _apply_settings(self, settings: object) -> None:
        self.set_talk_shortcut(str(getattr(settings, "talk_shortcut", "Ctrl+Space")))
        app = QApplication.instance()
        theme = getattr(settings, "theme", "system")
        if isinstance(app, QApplication):
            apply_theme(app, theme)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.backend.remember(
            window_geometry=bytes(self.saveGeometry().toBase64().data()).decode("ascii"),
            last_conversation=self.conversation_id,
        )
        if self.voice is not None:
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self)
            self.voice.shutdown()
        self.backend.shutdown()
        super().closeEvent(event)
