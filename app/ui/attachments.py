"""The images waiting to go with the next message: each offered file or pasted image is
checked off the GUI thread (backend.prepare_image*), then shown in the composer's bar."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.core.images import PreparedImage
from app.ui.composer import Composer
from app.workers.backend import AssistantBackend
from app.workers.jobs import Job


class Attachments(QObject):
    checked = Signal()
    """An offered image was accepted or refused (a refusal reaches the user as a
    notification through the jobs' failure route)."""

    def __init__(self, backend: AssistantBackend, composer: Composer) -> None:
        super().__init__(composer)
        self.backend = backend
        self.composer = composer
        self.images: list[PreparedImage] = []
        self.reading = 0
        """Offered images still being checked."""
        composer.files_offered.connect(self.add_files)
        composer.images_offered.connect(self.add_images)
        composer.attachment_removed.connect(self.remove)

    def add_files(self, paths: list[str]) -> None:
        for path in paths:
            self._track(self.backend.prepare_image_file(path))

    def add_images(self, blobs: list[tuple[str, bytes]]) -> None:
        for name, data in blobs:
            self._track(self.backend.prepare_image(name, data))

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.images):
            del self.images[index]
            self._show()

    def take(self) -> list[PreparedImage]:
        """The images for the message being sent; the bar empties."""
        images, self.images = self.images, []
        self._show()
        return images

    def put_back(self, images: list[PreparedImage]) -> None:
        """The message was not sent: its images wait again."""
        self.images = list(images) + self.images
        self._show()

    def _track(self, job: Job) -> None:
        self.reading += 1
        self.composer.show_hint("Checking the image…")
        job.succeeded.connect(self._accepted)
        job.finished.connect(self._done)

    def _accepted(self, image: object) -> None:
        if isinstance(image, PreparedImage):
            self.images.append(image)
            self._show()

    def _done(self) -> None:
        self.reading -= 1
        if self.reading == 0:
            self.composer.show_hint("")
        self.checked.emit()

    def _show(self) -> None:
        self.composer.set_attachments([(a.name, a.png) for a in self.images])
