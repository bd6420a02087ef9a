"""The main window: conversations on the left, the chat on the right, status at the bottom.

It lays out the widgets and forwards the user's intents; a turn is shown by
:class:`app.ui.turn_presenter.TurnPresenter` and memory by :class:`app.ui.memory_actions.
MemoryActions`. Failures of background work arrive through the one default route
(app.workers.jobs.FAILURES) and show as notifications.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QStandardPaths, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AssistantError
from app.core.export import conversation_markdown, export_file_name, shown_text
from app.core.images import stored_images
from app.core.ports import StoredMessage
from app.fsutil import atomic_write_text
from app.ui import shortcuts
from app.ui.about import AboutDialog
from app.ui.agenda import AgendaWindow
from app.ui.alarm_alerts import AlarmAlerts
from app.ui.attachments import Attachments
from app.ui.chat_view import ChatView, MessageBubble
from app.ui.composer import Composer
from app.ui.conversation_list import ConversationList
from app.ui.image_model_dialog import AddImageModelDialog
from app.ui.memory_actions import MemoryActions
from app.ui.memory_browser import MemoryBrowser
from app.ui.notifications import NotificationArea
from app.ui.personalization_page import EditReplyDialog, PersonalizationDialog
from app.ui.settings_dialog import SettingsDialog
from app.ui.shortcuts import ShortcutsDialog
from app.ui.talk_keys import TalkKeys
from app.ui.theme import apply_theme
from app.ui.turn_presenter import TurnPresenter
from app.ui.welcome import WelcomeDialog
from app.workers.alarms import AlarmScheduler
from app.workers.backend import AssistantBackend, ImageModelInfo
from app.workers.desktop_notify import DesktopNotifier
from app.workers.jobs import FAILURES
from app.workers.voice import Recording, VoiceController

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    turn_finished = Signal()
    """Emitted after a turn's last event was rendered (used by tests and benchmarks)."""

    def __init__(
        self,
        backend: AssistantBackend,
        voice: VoiceController | None = None,
        alarms: AlarmScheduler | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.voice = voice
        self.alarms = alarms
        self.agenda: AgendaWindow | None = None
        if alarms is not None:
            alarms.setParent(self)  # it rings into this window: it ends with it
        if voice is not None:
            if backend.voice is None:
                backend.attach_voice(voice.pipeline)
            voice.hear_on(backend.runner)
        self._talk_by_key = False
        self.setWindowTitle("Hearth")
        self.resize(1000, 700)
        self.conversation_id = ""

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
        # Room for about 26 characters of a title: wider when the desktop's text is larger.
        side = max(240, self.fontMetrics().averageCharWidth() * 26)
        splitter.setSizes([side, max(400, 1000 - side)])
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

        self.turns = TurnPresenter(
            self, backend, self.chat, self.composer, self.notifications, voice=voice, parent=self
        )
        self.turns.finished.connect(self.turn_finished)
        self.memory = MemoryActions(self, backend, self.notifications, self.open_conversation)
        service = backend.memory_service
        if service is not None:
            self.turns.on_memory_changed = service.changed.emit
        FAILURES.failed.connect(self.show_error)
        self._routed = True
        self._build_menu()
        self.conversations.selected.connect(self.open_conversation)
        self.conversations.new_requested.connect(self.new_conversation)
        self.conversations.rename_requested.connect(self._rename)
        self.conversations.delete_requested.connect(self._delete)
        self.conversations.remember_changed.connect(self._set_remember)
        self.conversations.search_changed.connect(lambda _q: self.refresh_conversations())
        self.conversations.hit_chosen.connect(self.open_hit)
        self.conversations.pin_changed.connect(self._set_pinned)
        self.conversations.export_requested.connect(self.export_conversation)
        self.chat.regenerate_requested.connect(lambda _bubble: self.regenerate())
        self.chat.resend_requested.connect(lambda _bubble: self.edit_last_message())
        self.composer.input.edit_last.connect(self.edit_last_message)
        self._editing: int | None = None
        """The user's last message being edited in the message box (sent again on Enter)."""
        self.composer.send_requested.connect(self.send)
        self.chat.citation_clicked.connect(self.memory.open_citation)
        self.chat.answered.connect(self.send)
        self.chat.remember_requested.connect(
            lambda text: self.memory.remember_text(text, self.conversation_id)
        )
        self.memory.forgot_everything.connect(self._forgot_everything)
        self.chat.edit_requested.connect(self.edit_reply)
        self.chat.rate_requested.connect(self.rate_reply)
        self.personalization_page: PersonalizationDialog | None = None
        self.tray = Attachments(backend, self.composer)
        self._quitting = False
        self.in_background = False
        """The window was closed while alarms were pending: hidden, Hearth still running."""
        self.system_tray = self._make_system_tray() if alarms is not None else None
        self.alerts = (
            AlarmAlerts(
                alarms,
                self.notifications,
                tray=lambda: self.system_tray,
                chime=self._chime,
                speak=self._say,
                desktop=DesktopNotifier(self),
                parent=self,
            )
            if alarms is not None
            else None
        )
        if alarms is not None:
            alarms.rang.connect(self._alarm_rang)
        self.composer.remote_refused.connect(self._remote_refused)
        self.setAcceptDrops(True)
        self.composer.stop_requested.connect(self.stop)
        backend.status_changed.connect(self._status)
        backend.model_changed.connect(self.model_label.setText)
        backend.settings_changed.connect(self._apply_settings)

        self.talk_keys = TalkKeys(self, backend.settings.talk_shortcut)
        """The talk shortcut, from this window and the global hook (``talk_keys.attach``)."""
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
        voice.listening_changed.connect(self._listening_changed)
        voice.level.connect(self.composer.show_level)
        voice.elapsed.connect(self.composer.show_elapsed)
        voice.partial.connect(self._heard_so_far)
        voice.settled.connect(self._stopped_speaking)
        voice.not_heard.connect(self._not_heard)
        voice.notice.connect(
            lambda text: self.notifications.show_message(text, level="warning", timeout_ms=8000)
        )
        voice.error.connect(self.show_error)
        voice.interrupted.connect(self.stop)
        voice.recorded.connect(self._recorded)
        voice.transcribed.connect(self._review_transcript)
        self.talk_keys.pressed.connect(self._talk_key_pressed)
        self.talk_keys.released.connect(self._talk_key_released)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.talk_keys)

    def set_talk_shortcut(self, text: str) -> None:
        self.talk_keys.set_shortcut(text)
        self.composer.talk_button.setToolTip(self.talk_keys.tooltip)

    def _talk_key_pressed(self) -> None:
        """The shortcut went down (in this window or, through the global hook, anywhere)."""
        if self.voice is None or self.voice.listening:
            return  # already listening (the button is held): that hold decides
        self._talk_by_key = True
        self.voice.press()

    def _talk_key_released(self) -> None:
        if self.voice is not None and self._talk_by_key:
            self._talk_by_key = False
            self.voice.release()

    def _not_heard(self, text: str) -> None:
        self.composer.show_hint(text, lasts="typing")
        self._status("Nothing heard")

    def _listening_changed(self, listening: bool) -> None:
        if not listening:
            self.backend.stop_preparing()

    def _heard_so_far(self, text: str) -> None:
        self.composer.show_hint(f"Hearing: {text}")

    def _stopped_speaking(self, text: str) -> None:
        """Prepare the answer once the user has stopped speaking, not at every partial: on
        two cores, reading the prompt while they speak slows the transcripts, and the
        memories recalled for half a question are seldom those of the whole one."""
        if not self.backend.settings.review_transcript:
            self.backend.prepare(self.conversation_id, text)

    def _recorded(self, recording: object) -> None:
        if self.backend.settings.review_transcript and self.voice is not None:
            if isinstance(recording, Recording):
                self.voice.review(recording)
        else:
            self.turns.speak(recording)

    def _review_transcript(self, text: str) -> None:
        """Review-first mode: the words go to the composer, to check before sending."""
        self.composer.input.setPlainText(text)
        self.composer.input.setFocus()
        self.composer.show_hint("Check the words, then press Enter to send.", lasts="send")

    # -- menus and shortcuts ---------------------------------------------------------------------

    def _build_menu(self) -> None:
        """Menus and keys; every key comes from app.ui.shortcuts.KEYS (Help lists the same)."""
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action(file_menu, "&New conversation", self.new_conversation)
        file_menu.addSeparator()
        self._action(file_menu, "&Settings…", self.open_settings)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.quit)
        edit_menu = self.menuBar().addMenu("&Conversation")
        self._action(edit_menu, "&Find in conversations", self._focus_search)
        self._action(edit_menu, "&Rename", self.conversations.rename_current)
        self._action(edit_menu, "&Pin or unpin", self.conversations.pin_current)
        self._action(edit_menu, "&Export as Markdown…", self.export_conversation)
        self._action(edit_menu, "&Delete…", self.conversations.delete_current)
        edit_menu.addSeparator()
        self.regenerate_action = self._action(edit_menu, "Re&generate last reply", self.regenerate)
        self.edit_last_action = self._action(
            edit_menu, "&Edit last message", self.edit_last_message
        )
        self.stop_action = self._action(edit_menu, "S&top reply", self.stop)
        if self.backend.memory_service is not None:
            memory_menu = self.menuBar().addMenu("&Memory")
            self._action(memory_menu, "&Browse memory…", self.open_memory)
            self._action(memory_menu, "Add a &folder…", lambda: self.open_memory(tab="Folders"))
        if self.alarms is not None:
            agenda_menu = self.menuBar().addMenu("&Agenda")
            self._action(agenda_menu, "&Calendar…", self.open_agenda)
            self._action(
                agenda_menu, "&Timers and reminders…", lambda: self.open_agenda("Reminders")
            )
        if self.backend.personalization is not None:
            personal_menu = self.menuBar().addMenu("&Personalize")
            self._action(personal_menu, "&Personalization…", self.open_personalization)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts)
        self._action(help_menu, "&About Hearth", self._about)
        shortcuts.shortcut(self, "Go to the &message box", self.composer.input.setFocus)

    def _action(self, menu: QMenu, name: str, slot: Callable[[], object]) -> QAction:
        """A menu entry; its keys, if it has any, come from the shortcut table."""
        if name in shortcuts.KEYS:
            made = shortcuts.action(self, name, slot)
        else:
            made = QAction(name, self)
            made.triggered.connect(lambda _checked=False: slot())
        menu.addAction(made)
        return made

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(
            QKeySequence(self.backend.settings.talk_shortcut).toString(
                QKeySequence.SequenceFormat.NativeText
            ),
            self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _focus_search(self) -> None:
        self.conversations.search.setFocus()
        self.conversations.search.selectAll()

    def _about(self) -> AboutDialog:
        dialog = AboutDialog(
            self,
            chat_model=self.backend.model_name,
            data_dir=self.backend.data_dir,
            models=self.backend.installed_models(),
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_welcome_if_new(self) -> WelcomeDialog | None:
        """The first-run welcome, once per data folder: finished or skipped, it is done."""
        settings = self.backend.settings
        if settings.welcome_seen:
            return None
        dialog = WelcomeDialog(
            self,
            data_dir=self.backend.data_dir,
            talk_shortcut=settings.talk_shortcut,
            global_talk_key=settings.global_talk_key,
            has_voice=self.voice is not None,
            models=self.backend.installed_models(),
            input_device=settings.input_device,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._welcome_done)
        dialog.open()
        return dialog

    def _welcome_done(self, _result: int) -> None:
        self.backend.update_settings(self.backend.settings.replace(welcome_seen=True))
        self.composer.input.setFocus()

    # -- conversations -------------------------------------------------------------------------

    def refresh_conversations(self) -> None:
        query = self.conversations.search.text()
        try:
            items = self.backend.store.list_conversations()
            hits = self.backend.store.search(query) if query.strip() else []
        except AssistantError as exc:
            self.show_error(exc)
            return
        self.conversations.set_conversations(items, self.conversation_id)
        if query.strip():
            self.conversations.show_results(hits, query)
        current = next((c for c in items if c.id == self.conversation_id), None)
        self.setWindowTitle(f"{current.title} — Hearth" if current and current.title else "Hearth")

    def new_conversation(self) -> None:
        """Start an empty chat; it is saved once the first message is sent."""
        if self._editing is not None:
            self.cancel_edit()
        self.turns.leave()
        self.conversation_id = ""
        self.chat.clear()
        self.conversations.list.clearSelection()
        self.conversations.list.setCurrentRow(-1)
        self.composer.input.setFocus()

    def open_conversation(self, conversation_id: str, *, reload: bool = False) -> None:
        """Show a conversation (``reload``: again, though it is the one shown)."""
        if conversation_id == self.conversation_id and self.chat.bubbles() and not reload:
            return
        self.turns.leave()
        try:
            messages = self.backend.store.messages(conversation_id)
        except AssistantError as exc:
            self.show_error(exc)
            return
        self.conversation_id = conversation_id
        self.chat.clear()
        for m in messages:
            footer = "Stopped" if m.meta.get("cancelled") else ""
            edited = m.meta.get("edited") if m.role == "assistant" else None
            bubble = self.chat.add_message(m.role, shown_text(m), footer)
            bubble.message_id = m.id
            rating = m.meta.get("rating")
            if edited or rating in (1, -1):
                bubble.set_personal(
                    edited=bool(edited), rating=rating if isinstance(rating, int) else 0
                )
            citations = m.meta.get("citations")
            if isinstance(citations, list):
                bubble.set_citations([c for c in citations if isinstance(c, dict)])
            grounding = m.meta.get("grounding")
            if isinstance(grounding, dict):
                n = int(grounding.get("n", 0) or 0)
                listed = citations if isinstance(citations, list) else []
                cited = [c for c in listed if isinstance(c, dict) and c.get("n") == n]
                bubble.set_grounding(
                    str(grounding.get("quote", "")),
                    n,
                    str(cited[0].get("label", "")) if cited else "",
                    general=bool(grounding.get("general")),
                    trimmed=bool(grounding.get("trimmed")),
                )
            images = stored_images(m.meta)
            if images:
                bubble.add_images([(i.name, self.backend.load_image(i.file)) for i in images])
                bubble.set_image_texts(
                    [i.text for i in images], [list(i.looks_like) for i in images]
                )
        self.backend.remember(last_conversation=conversation_id)
        self.refresh_conversations()
        self._refresh_last_actions(messages)  # the messages just read, not read again

    def open_hit(self, conversation_id: str, message_id: int) -> None:
        """A search result: its conversation, scrolled to the message (-1: a title match)."""
        self.open_conversation(conversation_id)
        if conversation_id == self.conversation_id and message_id >= 0:
            self.chat.show_message(message_id)

    def _set_pinned(self, conversation_id: str, pinned: bool) -> None:
        try:
            self.backend.store.set_pinned(conversation_id, pinned)
        except AssistantError as exc:
            self.show_error(exc)
        self.refresh_conversations()

    def export_conversation(self, conversation_id: str = "") -> Path | None:
        """Save a conversation (the open one by default) as Markdown where the user chooses."""
        conversation_id = conversation_id or self.conversation_id
        if not conversation_id:
            self._status("Nothing to export yet: this conversation has no messages.")
            return None
        try:
            conversation = self.backend.store.get_conversation(conversation_id)
            messages = self.backend.store.messages(conversation_id)
        except AssistantError as exc:
            self.show_error(exc)
            return None
        if conversation is None:
            return None
        folder = Path(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
            or Path.home()
        )
        chosen = self.ask_save_path(
            "Export conversation as Markdown",
            folder / export_file_name(conversation),
            "Markdown (*.md);;Text (*.txt)",
        )
        if chosen is None:
            return None
        try:
            atomic_write_text(chosen, conversation_markdown(conversation, messages))
        except OSError as exc:
            self.notifications.show_message(
                f"The conversation could not be saved to {chosen}: {exc.strerror or exc}. "
                "Choose another folder, or free some space.",
                level="error",
            )
            return None
        self._status(f"Exported to {chosen}")
        return chosen

    def ask_save_path(self, title: str, suggested: Path, filters: str) -> Path | None:
        """The file dialog (tests replace this method)."""
        name, _ = QFileDialog.getSaveFileName(self, title, str(suggested), filters)
        return Path(name) if name else None

    def _rename(self, conversation_id: str, title: str) -> None:
        try:
            self.backend.store.rename_conversation(conversation_id, title)
        except AssistantError as exc:
            self.show_error(exc)
        self.refresh_conversations()

    def _delete(self, conversation_id: str) -> None:
        if conversation_id == self.turns.conversation:
            self.stop()
        try:
            self.backend.delete_conversation(conversation_id)
        except AssistantError as exc:
            self.show_error(exc)
            return
        if conversation_id == self.conversation_id:
            self.new_conversation()
        self.refresh_conversations()
        self._offer_retrain({conversation_id})

    def _forgot_everything(self) -> None:
        control = self.backend.personalization
        if control is not None:
            control.service.forget_all_examples()
        self._offer_retrain(None)

    def _offer_retrain(self, conversation_ids: set[str] | None) -> None:
        """After conversations were deleted: name the adapters that learned from them and
        offer to train a new one without them."""
        control = self.backend.personalization
        if control is None:
            return
        affected = control.service.forgotten(conversation_ids)
        if not affected:
            return
        names = ", ".join(v.name for v in affected)
        answer = QMessageBox.question(
            self,
            "Retrain your adapter?",
            f"Your adapter {names} learned from what was deleted. Train a new one without it "
            "now? (You can also switch the adapter off in Personalize → Personalization.)",
        )
        if answer == QMessageBox.StandardButton.Yes:
            page = self.open_personalization()
            if page is not None:
                page.train()

    # -- personalization -------------------------------------------------------------------------

    def open_personalization(self) -> PersonalizationDialog | None:
        control = self.backend.personalization
        if control is None:
            return None
        if self.personalization_page is None:
            self.personalization_page = PersonalizationDialog(control, self)
        page = self.personalization_page
        page.refresh()
        page.show()
        page.raise_()
        page.activateWindow()
        return page

    def _stored_id(self, bubble: MessageBubble) -> int | None:
        """The stored message of a reply bubble (a live reply learns its id on first use)."""
        if bubble.message_id is None and self.conversation_id:
            try:
                stored = self.backend.store.messages(self.conversation_id)
            except AssistantError as exc:
                self.show_error(exc)
                return None
            for message in reversed(stored):
                if message.role == "assistant" and message.content.strip() == bubble.text.strip():
                    bubble.message_id = message.id
                    break
        return bubble.message_id

    def edit_reply(self, bubble: MessageBubble) -> None:
        message_id = self._stored_id(bubble)
        if message_id is None:
            self.notifications.show_message(
                "This reply is not saved yet; try again when it has finished.",
                level="info",
                timeout_ms=6000,
            )
            return
        dialog = EditReplyDialog(bubble.text, self)
        if not dialog.exec():
            return
        text = dialog.text()
        try:
            self.backend.store.update_meta(message_id, {"edited": text or None})
        except AssistantError as exc:
            self.show_error(exc)
            return
        bubble.set_text(text)
        bubble.set_personal(edited=bool(text), rating=bubble.rating)

    def rate_reply(self, bubble: MessageBubble, rating: int) -> None:
        message_id = self._stored_id(bubble)
        if message_id is None:
            return
        try:
            self.backend.store.update_meta(message_id, {"rating": rating or None})
        except AssistantError as exc:
            self.show_error(exc)
            return
        bubble.set_personal(edited=bubble.edited, rating=rating)

    def _set_remember(self, conversation_id: str, remember: bool) -> None:
        job = self.backend.set_remember(conversation_id, remember)
        job.finished.connect(self.refresh_conversations)
        job.failed.connect(self.show_error)

    # -- turns ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.turns.busy

    def send(self, text: str) -> None:
        if self._editing is not None and not self.busy:
            from_id, self._editing = self._editing, None
            self.composer.show_hint("")
            if not self._truncate(from_id):
                return
        images = self.tray.take()
        self.chat.set_last_actions(regenerate=False, edit=False)
        if not self.turns.send(text, images):
            self.tray.put_back(images)

    def stop(self) -> None:
        if self._editing is not None and not self.busy:
            self.cancel_edit()
            return
        self.turns.stop()

    # -- regenerate and edit ---------------------------------------------------------------

    def _last_turn(
        self, messages: Sequence[StoredMessage] | None = None
    ) -> tuple[StoredMessage | None, StoredMessage | None]:
        """The user's last message and the reply after it (either may be missing), from the
        open conversation's ``messages`` (read from the history when not given)."""
        if not self.conversation_id:
            return None, None
        if messages is None:
            try:
                messages = self.backend.store.messages(self.conversation_id)
            except AssistantError as exc:
                self.show_error(exc)
                return None, None
        user = next((m for m in reversed(messages) if m.role == "user"), None)
        reply = messages[-1] if messages and messages[-1].role == "assistant" else None
        if user is not None and reply is not None and reply.id < user.id:
            reply = None
        return user, reply

    def _redo_offers(
        self, messages: Sequence[StoredMessage] | None = None
    ) -> tuple[StoredMessage | None, bool]:
        """The user's last message if it can be edited and sent again (typed words: images
        cannot be sent again yet), and whether its reply can be answered again (it came from
        the model: an action done by a command is not done twice)."""
        user, reply = (None, None) if self.busy else self._last_turn(messages)
        if user is None or stored_images(user.meta):
            return None, False
        return user, reply is not None and not reply.meta.get("handled")

    def _refresh_last_actions(self, messages: Sequence[StoredMessage] | None = None) -> None:
        user, regenerate = self._redo_offers(messages)
        self.regenerate_action.setEnabled(regenerate)
        self.edit_last_action.setEnabled(user is not None)
        self.chat.set_last_actions(regenerate=regenerate, edit=user is not None)

    def regenerate(self) -> None:
        """Answer the last message again: its reply leaves the conversation (and memory)."""
        user, regenerate = self._redo_offers()
        if user is None or not regenerate:
            self._status("There is no reply to answer again here.")
            return
        if self._truncate(user.id):
            self.send(user.content)

    def edit_last_message(self) -> None:
        """Put the last message back in the message box; Enter sends it again in its place,
        Esc leaves it as it was."""
        user, _regenerate = self._redo_offers()
        if user is None:
            return
        self._editing = user.id
        box = self.composer.input
        box.setPlainText(user.content)
        box.moveCursor(QTextCursor.MoveOperation.End)
        box.setFocus()
        self.composer.show_hint(
            "Editing your last message: Enter sends it again in its place (its reply is "
            "replaced), Esc leaves it as it was."
        )

    def cancel_edit(self) -> None:
        self._editing = None
        self.composer.input.clear()
        self.composer.show_hint("")

    def _truncate(self, from_message_id: int) -> bool:
        try:
            job = self.backend.truncate(self.conversation_id, from_message_id)
        except AssistantError as exc:
            self.show_error(exc)
            return False
        job.failed.connect(self.show_error)
        self.open_conversation(self.conversation_id, reload=True)
        return True

    def ensure_conversation(self) -> str:
        if not self.conversation_id:
            try:
                self.conversation_id = self.backend.store.create_conversation().id
            except AssistantError as exc:
                self.show_error(exc)
                return ""
            self.backend.remember(last_conversation=self.conversation_id)
        return self.conversation_id

    def show_status(self, text: str, *, working: bool = False) -> None:
        self.state_label.setText(text)
        self.busy_bar.setVisible(working or text.startswith("Loading"))

    def show_speed(self, text: str, model: str = "") -> None:
        """The answer's speed, and which model wrote it when that was not the chat model (a
        question about the user's files goes to the quality model)."""
        if text and model and model != self.model_label.text():
            text += f" · answered by {model}"
        self.speed_label.setText(text)

    def turn_over(self) -> None:
        self.busy_bar.hide()
        self.refresh_conversations()
        self._refresh_last_actions()

    # -- status, errors, settings ------------------------------------------------------------------

    def _status(self, text: str) -> None:
        self.show_status(text)

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

    # -- agenda -------------------------------------------------------------------------------

    def open_agenda(self, tab: str = "Calendar") -> AgendaWindow | None:
        """The calendar and the timers and reminders, in their own window (one at a time)."""
        if self.alarms is None:
            return None
        if self.agenda is None:
            self.agenda = AgendaWindow(self.alarms, self)
        self.agenda.open(tab)
        return self.agenda

    # -- memory -------------------------------------------------------------------------------

    @property
    def memory_browser(self) -> MemoryBrowser | None:
        return self.memory.browser

    def open_memory(self, *, tab: str = "Memories") -> MemoryBrowser | None:
        return self.memory.open(tab=tab)

    def _add_image_model(self) -> ImageModelInfo | None:
        dialog = AddImageModelDialog(self.backend, self)
        return dialog.info if dialog.exec() else None

    def _apply_settings(self, settings: object) -> None:
        self.set_talk_shortcut(str(getattr(settings, "talk_shortcut", "Ctrl+Space")))
        app = QApplication.instance()
        theme = getattr(settings, "theme", "system")
        if isinstance(app, QApplication):
            apply_theme(app, theme)

    def _alarm_rang(self, _fired: object) -> None:
        if self.in_background:
            self.bring_back()  # its notification, Snooze and Dismiss are in the window

    def _chime(self) -> None:
        """A timer or reminder's sound, through the voice's speaker (quiet when muted)."""
        if self.voice is not None and not self.voice.options.mute:
            from app.audio.chime import chime

            self.voice.output.play(chime(0.35 * self.voice.options.volume))

    def _say(self, text: str) -> None:
        if self.voice is not None and not self.voice.options.mute:
            self.voice.say(text)

    def quit(self) -> None:
        """Quit Hearth, even with timers or reminders still to ring (they ring at the next
        start, shown as missed when their time has passed)."""
        self._quitting = True
        self.close()

    def start_in_background(self) -> None:
        """Started at login: no window, the tray icon only; a reminder that rings, the tray
        icon or a second launch shows the window."""
        self.in_background = True
        if self.system_tray is not None:
            self.system_tray.show()
        log.info("started in the background")

    def bring_back(self) -> None:
        """Show the window again (a reminder rang, the tray icon or a second launch)."""
        self.in_background = False
        self.setWindowState(
            (self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
        )
        self.show()
        self.raise_()
        self.activateWindow()

    def _keep_running(self) -> bool:
        """Closing the window with a timer or reminder pending hides it instead: Hearth keeps
        running (in the tray where there is one) so that the alarm still rings."""
        if self._quitting or self.alarms is None or not self.alarms.pending():
            return False
        self.in_background = True
        self.hide()
        message = (
            "Hearth keeps running so your timers and reminders still ring. Open Hearth again "
            "to see them, or quit it from its menu."
        )
        log.info("window closed with alarms pending: running in the background")
        if self.system_tray is not None and QSystemTrayIcon.supportsMessages():
            self.system_tray.showMessage(
                "Hearth", message, QSystemTrayIcon.MessageIcon.Information, 8000
            )
        return True

    def _make_system_tray(self) -> QSystemTrayIcon | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        icon = QSystemTrayIcon(self.windowIcon(), self)
        icon.setToolTip("Hearth")
        menu = QMenu(self)
        menu.addAction("Open Hearth", self.bring_back)
        menu.addAction("Timers and reminders…", lambda: self.open_agenda("Reminders"))
        menu.addAction("Quit Hearth", self.quit)
        icon.setContextMenu(menu)
        icon.activated.connect(lambda _reason: self.bring_back())
        icon.show()
        return icon

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self._keep_running():
            event.ignore()
            return
        if self.system_tray is not None:
            self.system_tray.hide()
        if self.alerts is not None and self.alerts.desktop is not None:
            self.alerts.desktop.close()
        if self._routed:
            self._routed = False
            FAILURES.failed.disconnect(self.show_error)
        self.backend.remember(
            window_geometry=bytes(self.saveGeometry().toBase64().data()).decode("ascii"),
            last_conversation=self.conversation_id,
        )
        if self.voice is not None:
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self.talk_keys)
            self.voice.shutdown()
        if self.backend.personalization is not None:
            # Training stops with Hearth; its checkpoint lets the next start resume it.
            self.backend.personalization.shutdown()
        self.backend.shutdown()
        super().closeEvent(event)
