"""What an image must be before anything decodes it, and what intake hands on.

The policy is pure data and byte sniffing; the decoding itself (Pillow) is in
app/engines/image_intake.py. The order of checks is the order of cost: file size, magic bytes,
then the pixel count read from the header, and only then the decode, so a hostile file is
refused before it can allocate anything large.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.core.cancel import CancelToken
from app.core.errors import AssistantError
from app.core.ports import Attachment, ImageEmbedder, ImageHit, ImageMemory, Ocr
from app.core.private_text import redact

FORMATS = {
    "PNG": "PNG",
    "JPEG": "JPEG",
    "WEBP": "WebP",
    "BMP": "BMP",
    "GIF": "GIF",
    "TIFF": "TIFF",
}
SUPPORTED = "PNG, JPEG, WebP, BMP, GIF or TIFF"

log = logging.getLogger(__name__)


class ImageIntakeError(AssistantError):
    """An image was refused; the message says why and loses nothing else."""

    code = "image"


@dataclass(frozen=True, slots=True)
class IntakePolicy:
    max_bytes: int = 40 * 1024 * 1024
    """Larger files are refused before they are read."""
    max_pixels: int = 50_000_000
    """Width x height declared by the header; a decompression bomb is refused here."""
    working_side: int = 2048
    """Images are scaled down to this longest side for OCR, embeddings and thumbnails."""


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """A validated image, upright, first frame only, as PNG of at most ``working_side``."""

    name: str
    png: bytes
    width: int
    height: int
    original_format: str
    original_width: int
    original_height: int
    frames: int = 1


def sniff_format(head: bytes) -> str | None:
    """The format by its magic bytes (None: not an image Hearth reads)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return None


def check_bytes(name: str, size: int, head: bytes, policy: IntakePolicy) -> str:
    """Size and magic-byte checks; returns the sniffed format or raises ImageIntakeError."""
    if size == 0:
        raise ImageIntakeError(f"{name} is empty.")
    if size > policy.max_bytes:
        raise ImageIntakeError(
            f"{name} is {size / 1e6:.0f} MB; Hearth takes images up to "
            f"{policy.max_bytes / 1e6:.0f} MB."
        )
    fmt = sniff_format(head)
    if fmt is None:
        raise ImageIntakeError(f"{name} is not an image Hearth can read ({SUPPORTED}).")
    return fmt


def check_pixels(name: str, width: int, height: int, policy: IntakePolicy) -> None:
    if width <= 0 or height <= 0:
        raise ImageIntakeError(f"{name} declares an impossible size ({width} x {height}).")
    if width * height > policy.max_pixels:
        raise ImageIntakeError(
            f"{name} is {width:,} x {height:,} pixels, more than the "
            f"{policy.max_pixels / 1e6:.0f} megapixels Hearth opens; it was not decoded."
        )


class ImageIntake(Protocol):
    """Checks and decodes images (app.engines.image_intake.PillowIntake)."""

    def from_bytes(self, name: str, data: bytes) -> PreparedImage: ...

    def from_file(self, path: Path) -> PreparedImage: ...


class ImageArchive(Protocol):
    """Where attached images are kept so a conversation shows them again after a restart."""

    def save(self, png: bytes) -> str:
        """Store the image; returns its key (stable: the same image gives the same key)."""
        ...

    def load(self, key: str) -> bytes | None:
        """The image, or None if it is gone."""
        ...

    def prune(self, keep: Iterable[str]) -> list[str]:
        """Delete the images whose keys are not in ``keep``; returns the deleted keys."""
        ...


TAG_MIN_PROBABILITY = 0.2
"""Zero-shot tags less likely than this are left out of the context rather than mislead."""


def read_attachments(
    images: Sequence[PreparedImage],
    ocr: Ocr | None,
    cancel: CancelToken,
    *,
    embedder: ImageEmbedder | None = None,
    archive: ImageArchive | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    on_problem: Callable[[AssistantError], None] | None = None,
) -> list[Attachment]:
    """What the turn learns from each attached image: its text (OCR) and, with an image model,
    what it looks like and its embedding. ``on_progress(index, total, name)`` before each.

    A failing image model costs only the tags: the problem goes to ``on_problem`` once and the
    images are still read. An image the OCR cannot read costs only its text: the attachment
    says the text is unknown (the question is still answered) and ``on_problem`` hears why."""
    attachments = []
    for index, image in enumerate(images):
        if cancel.is_cancelled():
            break
        if on_progress is not None:
            on_progress(index, len(images), image.name)
        key = archive.save(image.png) if archive is not None else ""
        text, unread = "", False
        if ocr is not None:
            try:
                text = ocr.read(image.png, cancel=cancel).text
            except AssistantError as exc:
                log.warning("OCR failed on %s: %s\n%s", image.name, exc.message, exc.details)
                unread = True
                if on_problem is not None:
                    on_problem(
                        AssistantError(
                            f"The text in {image.name} could not be read; Hearth answers "
                            "without it.",
                            code=exc.code,
                            details=f"{exc.message}\n{exc.details}",
                        )
                    )
        looks_like: tuple[str, ...] = ()
        embedding: tuple[float, ...] = ()
        if embedder is not None:
            try:
                vector = embedder.embed_image(image.png)
                tags = embedder.tags_for(vector, top=3)
            except AssistantError as exc:
                embedder = None
                if on_problem is not None:
                    on_problem(
                        AssistantError(
                            f"{exc.message} (images are read without the image model)",
                            code=exc.code,
                            details=exc.details,
                        )
                    )
            else:
                embedding = tuple(vector)
                looks_like = tuple(label for label, p in tags if p >= TAG_MIN_PROBABILITY)
        attachments.append(Attachment(image.name, text, looks_like, key, embedding, unread))
    return attachments


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An image as a stored message remembers it."""

    name: str
    file: str
    text: str = ""
    looks_like: tuple[str, ...] = ()


def images_meta(attachments: Sequence[Attachment]) -> list[dict[str, object]]:
    """How a user message's metadata keeps its images (read back by :func:`stored_images`)."""
    return [
        {"name": a.name, "file": a.file, "text": a.text, "looks_like": list(a.looks_like)}
        for a in attachments
    ]


def stored_images(meta: Mapping[str, object]) -> list[StoredImage]:
    """The images a stored user message carried (tolerant of older or damaged metadata)."""
    raw = meta.get("images")
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        tags = item.get("looks_like")
        found.append(
            StoredImage(
                str(item.get("name", "image")),
                str(item.get("file", "")),
                str(item.get("text", "")),
                tuple(str(t) for t in tags) if isinstance(tags, list) else (),
            )
        )
    return found


def remember_images(
    attachments: Sequence[Attachment],
    conversation_id: str,
    embedder: ImageEmbedder,
    memory: ImageMemory,
) -> int:
    """Keep the embeddings of a turn's images for text-to-image search; returns how many.
    The text read from them is kept with its secrets (passwords, keys) left out."""
    stored = 0
    for a in attachments:
        if a.embedding and a.file:
            memory.add_image(
                embedder.name,
                a.file,
                a.embedding,
                name=a.name,
                conversation_id=conversation_id,
                text=redact(a.text)[0],  # a password on a photographed label is not kept
                looks_like=a.looks_like,
            )
            stored += 1
    return stored


def find_images(
    query: str, embedder: ImageEmbedder, memory: ImageMemory, limit: int = 5
) -> list[ImageHit]:
    """Stored images that best match a description ("the photo of the whiteboard")."""
    vector = embedder.embed_texts([query])[0]
    return memory.search_images(embedder.name, vector, limit)


class ImageServices:
    """Everything a turn does with attached images: read them (OCR, tags, embedding), keep
    them for the chat and for search, and forget them with their conversation.

    ``embedder`` may be swapped between turns (Settings -> Image model); ``memory`` opens the
    image search store on first use (worker threads only)."""

    def __init__(
        self,
        ocr: Ocr | None,
        archive: ImageArchive | None = None,
        embedder: ImageEmbedder | None = None,
        memory: Callable[[], ImageMemory] | None = None,
    ) -> None:
        self.ocr = ocr
        self.archive = archive
        self.embedder = embedder
        self._open_memory = memory
        self._memory: ImageMemory | None = None

    def read(
        self,
        images: Sequence[PreparedImage],
        cancel: CancelToken,
        *,
        on_progress: Callable[[int, int, str], None] | None = None,
        on_problem: Callable[[AssistantError], None] | None = None,
    ) -> list[Attachment]:
        return read_attachments(
            images,
            self.ocr,
            cancel,
            embedder=self.embedder,
            archive=self.archive,
            on_progress=on_progress,
            on_problem=on_problem,
        )

    def memory(self) -> ImageMemory | None:
        if self._memory is None and self._open_memory is not None:
            self._memory = self._open_memory()
        return self._memory

    def remember(self, attachments: Sequence[Attachment], conversation_id: str) -> int:
        """Index the turn's images for text-to-image search (AssistantError on failure)."""
        embedder = self.embedder
        if embedder is None or not any(a.embedding for a in attachments):
            return 0
        memory = self.memory()
        return (
            0 if memory is None else remember_images(attachments, conversation_id, embedder, memory)
        )

    def find(self, query: str, limit: int = 5) -> list[ImageHit]:
        if self.embedder is None:
            raise AssistantError(
                "Searching images by description needs an image model: add one in "
                "Settings → Image model.",
                code="no-image-model",
            )
        memory = self.memory()
        return [] if memory is None else find_images(query, self.embedder, memory, limit)

    def forget_conversation(self, conversation_id: str, still_used: Iterable[str]) -> None:
        """A deleted conversation's images: files no other message shows, and search entries."""
        if self.archive is not None:
            self.archive.prune(set(still_used))
        if self._memory is not None or self.embedder is not None:
            memory = self.memory()
            if memory is not None:
                memory.forget_conversation(conversation_id)
