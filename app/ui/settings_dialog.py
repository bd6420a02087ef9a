"""Settings: model (switches without restart), theme, performance, and where data lives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from PySide6.QtCore import Qt, QTimer, QUrl
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
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AssistantError
from app.settings import QUALITY_MODEL, SERVER_MODEL, STT_CHOICES, THEMES, Settings
from app.workers.backend import ImageModelInfo, ModelChoice
from app.workers.global_keys import unavailable_reason
from app.workers.voice import VoiceController


def describe_model(choice: ModelChoice) -> str:
    """What a chat model is good at, then its measured speed (models/manifest.toml)."""
    if choice.generation_tps <= 0 or choice.prompt_tps <= 0:
        return choice.notes
    speed = (
        f"On 2 cores: answers at about {choice.generation_tps:.0f} tokens/s, reads "
        f"documents at about {choice.prompt_tps:.0f} tokens/s."
    )
    return f"{choice.notes}\n{speed}" if choice.notes else speed


def _reserve_height(label: QLabel, texts: Sequence[str]) -> None:
    """Give ``label`` the height the tallest of ``texts`` needs at its width (measured by
    the label itself, so the wrapping is exactly the one shown)."""
    shown = label.text()
    width = label.width()
    needed = 0
    for text in texts:
        label.setText(text)
        needed = max(needed, label.heightForWidth(width))
    label.setText(shown)
    if needed > 0 and label.minimumHeight() != needed:
        label.setMinimumHeight(needed)


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
        form = QFormLayout()
        layout.addLayout(form)

        self.model = QComboBox(self)
        for choice in models:
            label = choice.title if choice.available else f"{choice.title} (not installed)"
            self.model.addItem(label, choice.id)
            index = self.model.count() - 1
            tip = describe_model(choice) if choice.available else choice.problem
            self.model.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
            if not choice.available:
                items = cast(QStandardItemModel, self.model.model())
                items.item(index).setEnabled(False)
            if choice.id == settings.model:
                self.model.setCurrentIndex(index)
        self.model_notes = QLabel(self)
        self.model_notes.setWordWrap(True)
        self.model.currentIndexChanged.connect(self._show_notes)
        self._models = {m.id: m for m in models}
        self._show_notes()
        form.addRow("Chat model", self.model)
        form.addRow("", self.model_notes)
        self._add_files_model(form, settings)
        self._add_server_section(form, settings)

        self.theme = QComboBox(self)
        for theme in THEMES:
            self.theme.addItem(theme.capitalize(), theme)
        self.theme.setCurrentIndex(THEMES.index(settings.theme))
        form.addRow("Theme", self.theme)

        self.threads = QSpinBox(self)
        self.threads.setRange(1, 64)
        self.threads.setValue(settings.llm_threads)
        self.threads.setToolTip("CPU threads the chat model may use.")
        form.addRow("Model threads", self.threads)

        self.context = QSpinBox(self)
        self.context.setRange(512, 32768)
        self.context.setSingleStep(512)
        self.context.setValue(settings.context_tokens)
        self.context.setToolTip("Longer context remembers more of the conversation but is slower.")
        form.addRow("Context window (tokens)", self.context)

        self.reply_tokens = QSpinBox(self)
        self.reply_tokens.setRange(16, 4096)
        self.reply_tokens.setValue(settings.max_reply_tokens)
        form.addRow("Longest reply (tokens)", self.reply_tokens)

        self._add_image_section(form, settings)

        self.start_at_login = QCheckBox("Start Hearth when I log in, in the background", self)
        self.start_at_login.setChecked(settings.start_at_login)
        self.start_at_login.setToolTip(
            "Hearth waits in the tray so timers and reminders ring even if you never open it."
        )
        form.addRow("Start", self.start_at_login)

        self.memory_enabled = QCheckBox("Recall what I told Hearth and my files in answers", self)
        self.memory_enabled.setChecked(settings.memory_enabled)
        form.addRow("Memory", self.memory_enabled)
        self.memory_server = QLineEdit(settings.memory_server, self)
        self.memory_server.setPlaceholderText("On this computer (default)")
        self.memory_server.setToolTip(
            "To share one memory in a household or team, the address of a Chroma server "
            "(chroma run), e.g. http://192.168.1.20:8000. Hearth connects to that address and "
            "to nothing else. Takes effect after a restart."
        )
        form.addRow("Memory server", self.memory_server)

        if voice is not None:
            self._add_voice_section(form, settings, voice)

        folder_row = QHBoxLayout()
        self.data_dir = QLabel(data_dir, self)
        self.data_dir.setObjectName("dataDir")
        self.data_dir.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        folder_row.addWidget(self.data_dir, 1)
        open_button = QPushButton("Open", self)
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(data_dir)))
        folder_row.addWidget(open_button)
        form.addRow("Data folder", folder_row)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _show_notes(self) -> None:
        choice = self._models.get(str(self.model.currentData()))
        self.model_notes.setText(describe_model(choice) if choice else "")

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._fit_labels()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_labels()

    def _fit_labels(self) -> None:
        """Make the wrapped labels tall enough for their text at their current width.

        Qt does not grow a top-level window for a word-wrapped label's height-for-width, so
        the chat model's description and the image model's text were cut off at the
        dialog's natural width. The description gets room for the longest one of any model,
        so the dialog does not jump when another model is chosen."""
        texts = [describe_model(m) for m in self._models.values()]
        _reserve_height(self.model_notes, texts)
        _reserve_height(self.image_model, [self.image_model.text()])

    def _add_files_model(self, form: QFormLayout, settings: Settings) -> None:
        """Whether typed questions about the user's files go to the larger model."""
        quality = self._models.get(QUALITY_MODEL)
        title = quality.title if quality else "the larger model"
        self.files_model = QCheckBox(f"Answer questions about my files with {title}", self)
        self.files_model.setChecked(settings.files_model != "off")
        self.files_model.setEnabled(quality is not None and quality.available)
        self.files_model.setToolTip(
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
        self.image_model = QLabel(self)
        self.image_model.setObjectName("imageModel")
        self.image_model.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.image_model, 1)
        self.add_image_button = QPushButton("Add image model…", self)
        self.add_image_button.setEnabled(self._add_image_model is not None)
        self.add_image_button.clicked.connect(self._choose_image_model)
        self.remove_image_button = QPushButton("Remove", self)
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
        if self.isVisible():
            self._fit_labels()

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

    def result_settings(self) -> Settings:
        chosen = self._settings.replace(
            model=SERVER_MODEL if self.use_server.isChecked() else str(self.model.currentData()),
            files_model=(
                ("auto" if self._settings.files_model == "off" else self._settings.files_model)
                if self.files_model.isChecked()
                else "off"
            ),
            theme=str(self.theme.currentData()),
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
