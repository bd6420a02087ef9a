"""Settings in sections (General, Chat, Voice, Images, Memory, Privacy): every change applies
when the dialog is accepted, except those marked "Applies after Hearth restarts"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from PySide6.QtCore import QSize, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QDesktopServices,
    QKeySequence,
    QResizeEvent,
    QShowEvent,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.answer_style import LANGUAGES
from app.core.errors import AssistantError
from app.settings import QUALITY_MODEL, SERVER_MODEL, STT_CHOICES, THEMES, Settings
from app.ui import a11y
from app.workers.backend import ImageModelInfo, ModelChoice
from app.workers.global_keys import unavailable_reason
from app.workers.voice import VoiceController

AFTER_RESTART = "Applies after Hearth restarts."
TONE_LABELS = {
    "": "As Hearth sees fit",
    "friendly": "Friendly",
    "neutral": "Neutral",
    "formal": "Formal",
    "playful": "Playful",
}
LENGTH_LABELS = {"": "As needed", "short": "Short", "medium": "Medium", "detailed": "Detailed"}


def plain_name(choice: ModelChoice) -> str:
    """What a person calls a chat model (models/manifest.toml), else its technical title."""
    return choice.name or choice.title


def privacy_text(settings: Settings) -> str:
    lines = [
        "Hearth runs entirely on this computer: the models, your conversations, your memory "
        "and your files never leave it, and no statistics are sent anywhere.",
    ]
    if settings.model == SERVER_MODEL and settings.model_server_url:
        lines.append(f"Your conversations go to {settings.model_server_url} to be answered.")
    if settings.memory_server:
        lines.append(f"Your memory is kept on {settings.memory_server}.")
    if len(lines) == 1:
        lines.append("Hearth opens no network connection at all.")
    lines.append(
        "To forget something: Memory -> Browse memory. To delete a conversation: select it "
        "and press Delete."
    )
    return "\n\n".join(lines)


def describe_model(choice: ModelChoice) -> str:
    """What a chat model is good at, its measured speed, then its technical name
    (models/manifest.toml)."""
    lines = [choice.notes] if choice.notes else []
    if choice.generation_tps > 0 and choice.prompt_tps > 0:
        lines.append(
            f"On 2 cores: answers at about {choice.generation_tps:.0f} tokens/s, reads "
            f"documents at about {choice.prompt_tps:.0f} tokens/s."
        )
    technical = [choice.title] if plain_name(choice) != choice.title else []
    if choice.size_bytes > 0:
        technical.append(_size(choice.size_bytes))
    if technical:
        lines.append(", ".join(technical))
    return "\n".join(lines)


def _size(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"


class WrappedLabel(QLabel):
    """A word-wrapped label that asks for the height its text needs at its width: a layout
    inside a dialog does not always give a wrapped label its height-for-width (the image
    model's text was cut to one line)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()
        QTimer.singleShot(0, self._fit)  # again once the layout has settled its width

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        QTimer.singleShot(0, self._fit)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        super().setText(text)
        if self.isVisible():  # before its first layout its width is no width it will have
            self._fit()

    def _fit(self) -> None:
        # QLabel's height-for-width never goes below its minimum height: measure without it.
        kept = self.minimumHeight()
        self.setMinimumHeight(0)
        needed = self.heightForWidth(self.width())
        self.setMinimumHeight(needed if needed > 0 else kept)


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        models: Sequence[ModelChoice],
        data_dir: str,
        parent: QWidget | None = None,
        *,
        voice: VoiceController | None = None,
        add_image_model: Callable[[], ImageModelInfo | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Hearth settings")
        self._add_image_model = add_image_model
        self._voice = voice
        self._settings = settings
        layout = QVBoxLayout(self)
        body = QHBoxLayout()
        layout.addLayout(body, 1)
        self.sections = QListWidget(self)
        self.sections.setObjectName("settingsSections")
        a11y.describe(
            self.sections,
            "Settings sections",
            "Choose a section; its settings show beside it.",
            tip=False,
        )
        self.sections.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body.addWidget(self.sections)
        self.pages = QStackedWidget(self)
        body.addWidget(self.pages, 1)
        self.sections.currentRowChanged.connect(self.pages.setCurrentIndex)

        # General
        form = self._page("General")
        self.theme = QComboBox(self)
        for theme in THEMES:
            self.theme.addItem(theme.capitalize(), theme)
        self.theme.setCurrentIndex(THEMES.index(settings.theme))
        self._row(form, "Theme", self.theme, "Light, dark, or as the desktop is set.")
        self.start_at_login = QCheckBox("Start Hearth when I log in, in the background", self)
        self.start_at_login.setChecked(settings.start_at_login)
        self.start_at_login.setToolTip(
            "Hearth waits in the tray so timers and reminders ring even if you never open it."
        )
        self._row(form, "Start", self.start_at_login)
        folder_row = QHBoxLayout()
        self.data_dir = WrappedLabel(data_dir, self)
        self.data_dir.setObjectName("dataDir")
        self.data_dir.setWordWrap(True)
        self.data_dir.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.data_dir.setAccessibleName("Data folder")
        folder_row.addWidget(self.data_dir, 1)
        open_button = QPushButton("Open", self)
        a11y.describe(
            open_button,
            "Open the data folder",
            "Show the folder with your conversations, settings and memory.",
        )
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(data_dir)))
        folder_row.addWidget(open_button)
        form.addRow("Data folder", folder_row)

        # Chat
        form = self._page("Chat")
        self.model = QComboBox(self)
        for choice in models:
            label = plain_name(choice)
            if not choice.available:
                label = f"{label} (not installed)"
            self.model.addItem(label, choice.id)
            index = self.model.count() - 1
            tip = describe_model(choice) if choice.available else choice.problem
            self.model.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
            if not choice.available:
                items = cast(QStandardItemModel, self.model.model())
                items.item(index).setEnabled(False)
            if choice.id == settings.model:
                self.model.setCurrentIndex(index)
        self.model_notes = WrappedLabel("", self)
        self.model_notes.setObjectName("modelNotes")
        self.model.currentIndexChanged.connect(self._show_notes)
        self._models = {m.id: m for m in models}
        self._show_notes()
        self._row(form, "Chat model", self.model, "The model that answers in the chat.")
        form.addRow("", self.model_notes)
        self._add_files_model(form, settings)
        self._add_server_section(form, settings)
        self._add_answer_style(form, settings)
        self.threads = QSpinBox(self)
        self.threads.setRange(1, 64)
        self.threads.setValue(settings.llm_threads)
        self.threads.setToolTip("CPU threads the chat model may use.")
        self._row(form, "Model threads", self.threads)
        self.context = QSpinBox(self)
        self.context.setRange(512, 32768)
        self.context.setSingleStep(512)
        self.context.setValue(settings.context_tokens)
        self.context.setToolTip("Longer context remembers more of the conversation but is slower.")
        self._row(form, "Context window (tokens)", self.context)
        self.reply_tokens = QSpinBox(self)
        self.reply_tokens.setRange(16, 4096)
        self.reply_tokens.setValue(settings.max_reply_tokens)
        self._row(form, "Longest reply (tokens)", self.reply_tokens, "The most one reply may say.")

        # Voice
        form = self._page("Voice")
        if voice is not None:
            self._add_voice_section(form, settings, voice)
        else:
            form.addRow(self._note("No microphone or speaker could be opened on this computer."))

        # Images
        form = self._page("Images")
        self._add_image_section(form, settings)

        # Memory
        form = self._page("Memory")
        self.memory_enabled = QCheckBox("Recall what I told Hearth and my files in answers", self)
        self.memory_enabled.setChecked(settings.memory_enabled)
        self._row(
            form,
            "Memory",
            self.memory_enabled,
            "Answers use what you told Hearth and your files; each turn is remembered.",
        )
        self.memory_server = QLineEdit(settings.memory_server, self)
        self.memory_server.setPlaceholderText("On this computer (default)")
        self.memory_server.setToolTip(
            "To share one memory in a household or team, the address of a Chroma server "
            "(chroma run), e.g. http://192.168.1.20:8000. Hearth connects to that address and "
            "to nothing else."
        )
        self._row(form, "Memory server", self.memory_server)
        form.addRow("", self._note(AFTER_RESTART))

        # Privacy
        form = self._page("Privacy")
        form.addRow(self._note(privacy_text(settings)))

        self.sections.setCurrentRow(0)
        self.sections.setFixedWidth(
            max(self.sections.sizeHintForColumn(0), 80) + 2 * self.sections.frameWidth() + 16
        )
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        a11y.describe(ok, "OK", "Save the settings and use them now.")
        a11y.describe(cancel, "Cancel", "Close without changing anything.")
        layout.addWidget(buttons)
        # As large as the sections need (large text needs more), within the screen.
        wanted = self.sizeHint().expandedTo(QSize(720, 560))
        screen = self.screen().availableGeometry().size() if self.screen() else wanted
        self.resize(wanted.boundedTo(screen * 0.9))

    def _page(self, title: str) -> QFormLayout:
        """A section: its name in the list, its settings in a page that scrolls when the text
        is large (nothing is cut off at 200%)."""
        self.sections.addItem(title)
        scroll = QScrollArea(self.pages)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setAccessibleName(f"{title} settings")
        inner = QWidget(scroll)
        form = QFormLayout(inner)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        scroll.setWidget(inner)
        self.pages.addWidget(scroll)
        return form

    def _row(self, form: QFormLayout, label: str, field: QWidget, description: str = "") -> None:
        """A labelled field; the label names it for screen readers, the description (or its
        tooltip) says what it does."""
        a11y.describe(field, label, description or field.toolTip())
        form.addRow(label, field)

    def _note(self, text: str) -> QLabel:
        note = WrappedLabel(text, self)
        note.setObjectName("settingsNote")
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return note

    def show_section(self, title: str) -> None:
        for row in range(self.sections.count()):
            if self.sections.item(row).text() == title:
                self.sections.setCurrentRow(row)

    # -- how Hearth should answer -------------------------------------------------------------

    def _add_answer_style(self, form: QFormLayout, settings: Settings) -> None:
        heading = QLabel("<b>How Hearth should answer</b>", self)
        heading.setAccessibleName("How Hearth should answer")
        form.addRow(heading)
        self.answer_name = QLineEdit(settings.answer_name, self)
        self.answer_name.setPlaceholderText("No name")
        self.answer_name.setMaxLength(60)
        self._row(form, "Call me", self.answer_name, "The name Hearth calls you by.")
        self.answer_tone = QComboBox(self)
        for key, label in TONE_LABELS.items():
            self.answer_tone.addItem(label, key)
        self.answer_tone.setCurrentIndex(max(0, self.answer_tone.findData(settings.answer_tone)))
        self._row(form, "Tone", self.answer_tone, "The tone of Hearth's answers.")
        self.answer_language = QComboBox(self)
        self.answer_language.setEditable(True)
        for language in LANGUAGES:
            self.answer_language.addItem(language or "The language I write in", language)
        found = self.answer_language.findData(settings.answer_language)
        if found >= 0:
            self.answer_language.setCurrentIndex(found)
        else:
            self.answer_language.setEditText(settings.answer_language)
        self._row(form, "Language", self.answer_language, "The language Hearth answers in.")
        self.answer_length = QComboBox(self)
        for key, label in LENGTH_LABELS.items():
            self.answer_length.addItem(label, key)
        self.answer_length.setCurrentIndex(
            max(0, self.answer_length.findData(settings.answer_length))
        )
        self._row(form, "Length", self.answer_length, "How long Hearth's answers are.")
        self.answer_instructions = QPlainTextEdit(settings.answer_instructions, self)
        self.answer_instructions.setPlaceholderText(
            "Anything else, in your words: “use metric units”, “explain like I'm new to it”…"
        )
        self.answer_instructions.setTabChangesFocus(True)
        self.answer_instructions.setMinimumHeight(64)
        self.answer_instructions.setMaximumHeight(120)
        self._row(
            form,
            "Also",
            self.answer_instructions,
            "Anything else about how to answer, in your words.",
        )
        self.temperature = QDoubleSpinBox(self)
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(1)
        self.temperature.setValue(settings.temperature)
        self.temperature.setToolTip(
            "0: the same words for the same question every time. Higher: more varied replies "
            "(above 1 they start to wander)."
        )
        self._row(form, "Variety", self.temperature)

    def _show_notes(self) -> None:
        choice = self._models.get(str(self.model.currentData()))
        self.model_notes.setText(describe_model(choice) if choice else "")

    def _add_files_model(self, form: QFormLayout, settings: Settings) -> None:
        """Whether typed questions about the user's files go to the larger model."""
        quality = self._models.get(QUALITY_MODEL)
        title = f"“{plain_name(quality)}”" if quality else "the larger model"
        self.files_model = QCheckBox(f"Use {title} for my files", self)
        self.files_model.setChecked(settings.files_model != "off")
        self.files_model.setEnabled(quality is not None and quality.available)
        self.files_model.setToolTip(
            f"Typed questions about your files go to {quality.title if quality else 'it'}. "
            "On Hearth's evaluation set (76 questions about real manuals and papers) it "
            "answered 70% right against 57% for the default model; its first word comes after "
            "about 10 s instead of 6 s. Spoken questions stay with the chat model, which is "
            "faster."
            if quality is None or quality.available
            else quality.problem
        )
        form.addRow("Your files", self.files_model)

    # -- a model served on the user's network ----------------------------------------------------

    def _add_server_section(self, form: QFormLayout, settings: Settings) -> None:
        self.use_server = QCheckBox("A model served on my network", self)
        self.use_server.setToolTip(
            "A chat model running on another computer of yours, with an OpenAI-compatible "
            "server (llama.cpp's llama-server, Ollama, vLLM), instead of one on this computer."
        )
        self.use_server.setChecked(settings.model == SERVER_MODEL)
        form.addRow("", self.use_server)
        self.server_box = QWidget(self)
        box = QFormLayout(self.server_box)
        box.setContentsMargins(0, 0, 0, 0)
        self.model_server_url = QLineEdit(settings.model_server_url, self.server_box)
        self.model_server_url.setPlaceholderText("http://192.168.1.20:8080")
        self.model_server_url.setToolTip(
            "The server's address. Hearth connects to that address and to nothing else."
        )
        box.addRow("Server address", self.model_server_url)
        self.model_server_model = QLineEdit(settings.model_server_model, self.server_box)
        self.model_server_model.setPlaceholderText("The server's first model")
        box.addRow("Model name", self.model_server_model)
        self.model_server_key = QLineEdit(settings.model_server_key, self.server_box)
        self.model_server_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.model_server_key.setPlaceholderText("None")
        box.addRow("Key", self.model_server_key)
        note = QLabel(
            "Your conversations go to that computer to be answered, and nowhere else.",
            self.server_box,
        )
        note.setWordWrap(True)
        box.addRow("", note)
        form.addRow("", self.server_box)
        self.use_server.toggled.connect(self._show_server_fields)
        self._show_server_fields()

    def _show_server_fields(self) -> None:
        served = self.use_server.isChecked()
        self.server_box.setVisible(served)
        self.model.setEnabled(not served)

    # -- image model --------------------------------------------------------------------------

    def _add_image_section(self, form: QFormLayout, settings: Settings) -> None:
        self._image_model = (
            settings.image_model,
            settings.image_model_file,
            settings.image_model_config,
        )
        self.image_model = WrappedLabel("", self)
        self.image_model.setObjectName("imageModel")
        row = QHBoxLayout()
        row.addWidget(self.image_model, 1)
        self.add_image_button = QPushButton("Add image model…", self)
        self.add_image_button.setEnabled(self._add_image_model is not None)
        self.add_image_button.clicked.connect(self._choose_image_model)
        self.remove_image_button = QPushButton("Remove", self)
        a11y.describe(
            self.add_image_button,
            "Add image model",
            "Choose a CLIP checkpoint so images can be described and found by description.",
        )
        a11y.describe(
            self.remove_image_button, "Remove image model", "Go back to reading text only."
        )
        self.remove_image_button.clicked.connect(self._remove_image_model)
        column = QVBoxLayout()
        column.addWidget(self.add_image_button)
        column.addWidget(self.remove_image_button)
        row.addLayout(column)
        form.addRow("Image model", row)
        self._show_image_model()

    def _show_image_model(self) -> None:
        architecture, checkpoint, _ = self._image_model
        if architecture and checkpoint:
            self.image_model.setText(
                f"{architecture} ({Path(checkpoint).name}): images are tagged and can be found "
                "later by description."
            )
        else:
            self.image_model.setText(
                "None. Hearth works fully without one: it reads the text in images (OCR). "
                "Add a CLIP checkpoint to also describe images and find them by description."
            )
        self.remove_image_button.setVisible(bool(architecture))

    def _choose_image_model(self) -> None:
        if self._add_image_model is None:
            return
        info = self._add_image_model()
        if info is not None:
            self._image_model = (info.architecture, info.checkpoint, info.config_file)
            self._show_image_model()

    def _remove_image_model(self) -> None:
        self._image_model = ("", "", "")
        self._show_image_model()

    # -- voice ----------------------------------------------------------------------------------

    def _add_voice_section(
        self, form: QFormLayout, settings: Settings, voice: VoiceController
    ) -> None:
        self.microphone = QComboBox(self)
        self.microphone.addItem("System default", "")
        for device in voice.recorder.input_devices():
            self.microphone.addItem(device.name, device.id)
        self.microphone.setCurrentIndex(max(0, self.microphone.findData(settings.input_device)))
        mic_row = QHBoxLayout()
        mic_row.addWidget(self.microphone, 1)
        self.test_button = QPushButton("Test microphone", self)
        self.test_button.setCheckable(True)
        self.test_button.toggled.connect(self._test_microphone)
        mic_row.addWidget(self.test_button)
        form.addRow("Microphone", mic_row)
        self.mic_meter = QProgressBar(self)
        self.mic_meter.setRange(0, 100)
        self.mic_meter.setTextVisible(False)
        self.mic_meter.setMaximumHeight(10)
        self.mic_status = QLabel("", self)
        form.addRow("", self.mic_meter)
        form.addRow("", self.mic_status)
        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(50)
        self._meter_timer.timeout.connect(
            lambda: self.mic_meter.setValue(round(voice.recorder.level() * 100))
        )

        self.speaker = QComboBox(self)
        self.speaker.addItem("System default", "")
        for device in voice.player.output_devices():
            self.speaker.addItem(device.name, device.id)
        self.speaker.setCurrentIndex(max(0, self.speaker.findData(settings.output_device)))
        form.addRow("Speaker", self.speaker)

        self.stt_model = QComboBox(self)
        for model_id, label in STT_CHOICES.items():
            self.stt_model.addItem(label, model_id)
        self.stt_model.setCurrentIndex(max(0, self.stt_model.findData(settings.stt_model)))
        form.addRow("Speech recognition", self.stt_model)

        self.talk_shortcut = QKeySequenceEdit(QKeySequence(settings.talk_shortcut), self)
        self.talk_shortcut.setMaximumSequenceLength(1)
        form.addRow("Hold to talk", self.talk_shortcut)
        self.global_talk = QCheckBox("Also while other windows have focus", self)
        self.global_talk.setChecked(settings.global_talk_key)
        reason = unavailable_reason()
        if reason:
            self.global_talk.setEnabled(False)
            self.global_talk.setToolTip(reason)
        form.addRow("", self.global_talk)
        form.addRow("", self._note(AFTER_RESTART))

        self.speak_replies = QCheckBox("Speak replies to spoken questions", self)
        self.speak_replies.setChecked(not settings.mute)
        form.addRow("", self.speak_replies)
        self.review = QCheckBox("Let me check what was heard before sending", self)
        self.review.setChecked(settings.review_transcript)
        form.addRow("", self.review)
        self.rate = QDoubleSpinBox(self)
        self.rate.setRange(0.5, 2.0)
        self.rate.setSingleStep(0.1)
        self.rate.setValue(settings.speech_rate)
        self.rate.setSuffix("×")
        form.addRow("Speaking rate", self.rate)
        self.volume = QSpinBox(self)
        self.volume.setRange(0, 200)
        self.volume.setSuffix(" %")
        self.volume.setValue(round(settings.speech_volume * 100))
        form.addRow("Voice volume", self.volume)

    def _test_microphone(self, on: bool) -> None:
        voice = self._voice
        if voice is None:
            return
        if on:
            try:
                voice.recorder.start(str(self.microphone.currentData()))
            except AssistantError as exc:
                self.mic_status.setText(exc.message)
                self.test_button.setChecked(False)
                return
            self.mic_status.setText("Speak: the bar should move.")
            self._meter_timer.start()
        else:
            self._meter_timer.stop()
            if voice.recorder.recording:
                voice.recorder.stop()
            self.mic_meter.setValue(0)

    def done(self, result: int) -> None:  # closing in any way stops the microphone test
        if self._voice is not None and self.test_button.isChecked():
            self.test_button.setChecked(False)
        super().done(result)

    def _chosen_language(self) -> str:
        text = self.answer_language.currentText().strip()
        index = self.answer_language.findText(text)
        if index >= 0:
            return str(self.answer_language.itemData(index) or "")
        return text

    def result_settings(self) -> Settings:
        chosen = self._settings.replace(
            model=SERVER_MODEL if self.use_server.isChecked() else str(self.model.currentData()),
            files_model=(
                ("auto" if self._settings.files_model == "off" else self._settings.files_model)
                if self.files_model.isChecked()
                else "off"
            ),
            theme=str(self.theme.currentData()),
            answer_name=self.answer_name.text().strip(),
            answer_tone=str(self.answer_tone.currentData() or ""),
            answer_language=self._chosen_language(),
            answer_length=str(self.answer_length.currentData() or ""),
            answer_instructions=self.answer_instructions.toPlainText().strip(),
            temperature=round(self.temperature.value(), 2),
            llm_threads=self.threads.value(),
            context_tokens=self.context.value(),
            max_reply_tokens=self.reply_tokens.value(),
            memory_enabled=self.memory_enabled.isChecked(),
            start_at_login=self.start_at_login.isChecked(),
            memory_server=self.memory_server.text().strip(),
            model_server_url=self.model_server_url.text().strip(),
            model_server_model=self.model_server_model.text().strip(),
            model_server_key=self.model_server_key.text().strip(),
            image_model=self._image_model[0],
            image_model_file=self._image_model[1],
            image_model_config=self._image_model[2],
        )
        if self._voice is not None:
            chosen = chosen.replace(
                input_device=str(self.microphone.currentData()),
                output_device=str(self.speaker.currentData()),
                stt_model=str(self.stt_model.currentData()),
                mute=not self.speak_replies.isChecked(),
                review_transcript=self.review.isChecked(),
                speech_rate=self.rate.value(),
                speech_volume=self.volume.value() / 100,
                talk_shortcut=self.talk_shortcut.keySequence().toString() or "Ctrl+Space",
                global_talk_key=self.global_talk.isChecked(),
            )
        return chosen.validated()
