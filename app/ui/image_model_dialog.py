"""Add image model: pick an open_clip checkpoint on this computer, copy it in, prove it works."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AssistantError
from app.workers.backend import AssistantBackend, ImageModelInfo
from app.workers.jobs import Job

COMMON_ARCHITECTURES = (
    "ViT-B-32",
    "ViT-B-16",
    "ViT-L-14",
    "RN50",
    "MobileCLIP-S1",
    "MobileCLIP-S2",
    "ViT-B-32-quickgelu",
    "convnext_base",
)

EXPLANATION = (
    "Hearth never downloads models. Choose an open_clip (CLIP) checkpoint that is already on "
    "this computer and the architecture it was trained as. Hearth copies it into its data "
    "folder and checks that it loads and embeds images before using it. For an architecture "
    "open_clip does not know, also choose its model config (JSON)."
)


class AddImageModelDialog(QDialog):
    def __init__(self, backend: AssistantBackend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add image model")
        self.setMinimumWidth(520)
        self.backend = backend
        self.info: ImageModelInfo | None = None
        self._job: Job | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(EXPLANATION, self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        layout.addLayout(form)

        self.architecture = QComboBox(self)
        self.architecture.setEditable(True)
        self.architecture.addItems(COMMON_ARCHITECTURES)
        form.addRow("Architecture", self.architecture)
        self.checkpoint = QLineEdit(self)
        self.checkpoint.setPlaceholderText("open_clip_model.safetensors or .pt / .bin")
        form.addRow("Checkpoint", self._with_browse(self.checkpoint, self._pick_checkpoint))
        self.config = QLineEdit(self)
        self.config.setPlaceholderText("optional")
        form.addRow("Model config", self._with_browse(self.config, self._pick_config))

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.message = QLabel("", self)
        self.message.setObjectName("imageModelMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)

        self.buttons = QDialogButtonBox(self)
        self.add_button = self.buttons.addButton("Add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.buttons)

    def _with_browse(self, field: QLineEdit, pick: object) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(field, 1)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(pick)
        row.addWidget(browse)
        return row

    def _pick_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose an image model checkpoint",
            "",
            "Checkpoints (*.safetensors *.pt *.pth *.bin);;All files (*)",
        )
        if path:
            self.checkpoint.setText(path)

    def _pick_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose the model config", "", "JSON (*.json)")
        if path:
            self.config.setText(path)

    def start(self) -> None:
        if self._job is not None:
            return
        architecture = self.architecture.currentText().strip()
        checkpoint = self.checkpoint.text().strip()
        if not checkpoint:
            self._fail("Choose the checkpoint file first.")
            return
        self.message.setText("")
        self.progress.setValue(0)
        self.progress.show()
        self.add_button.setEnabled(False)
        try:
            job = self.backend.import_image_model(architecture, checkpoint, self.config.text())
        except AssistantError as exc:
            self._fail(exc.message)
            return
        self._job = job
        job.progress.connect(self._progress)
        job.succeeded.connect(self._imported)
        job.failed.connect(lambda exc: self._fail(getattr(exc, "message", str(exc))))
        job.finished.connect(self._finished)

    def _progress(self, update: object) -> None:
        if isinstance(update, tuple) and len(update) == 2:
            fraction, step = update
            self.progress.setValue(round(float(fraction) * 100))
            self.message.setText(f"{step}…")

    def _imported(self, info: object) -> None:
        if isinstance(info, ImageModelInfo):
            self.info = info
            self.accept()

    def _fail(self, message: str) -> None:
        self.message.setText(message)
        self.progress.hide()
        self.add_button.setEnabled(True)

    def _finished(self) -> None:
        job, self._job = self._job, None
        self.add_button.setEnabled(True)
        if job is not None and job.cancel_token.is_cancelled() and self.info is None:
            self.progress.hide()
            self.message.setText("Import cancelled: nothing was added.")

    def cancel(self) -> None:
        """Stop an import in progress (the partial copy is removed), or close."""
        if self._job is not None:
            self._job.cancel()
            self.message.setText("Cancelling…")
            return
        self.reject()

    def reject(self) -> None:  # Esc or the close button cancel a running import first
        if self._job is not None:
            self.cancel()
            return
        super().reject()
