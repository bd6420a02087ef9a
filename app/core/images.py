"""What an image must be before anything decodes it, and what intake hands on.

The policy is pure data and byte sniffing; the decoding itself (Pillow) is in
app/engines/image_intake.py. The order of checks is the order of cost: file size, magic bytes,
then the pixel count read from the header, and only then the decode, so a hostile file is
refused before it can allocate anything large.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.core.cancel import CancelToken
from app.core.errors import AssistantError
from app.core.ports import Attachment, Ocr

FORMATS = {
    "PNG": "PNG",
    "JPEG": "JPEG",
    "WEBP": "WebP",
    "BMP": "BMP",
    "GIF": "GIF",
    "TIFF": "TIFF",
}
SUPPORTED = "PNG, JPEG, WebP, BMP, GIF or TIFF"


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


def read_attachments(
    images: Sequence[PreparedImage], ocr: Ocr | None, cancel: CancelToken
) -> list[Attachment]:
    """What the turn learns from each attached image (its text, when OCR is available)."""
    return [
        Attachment(image.name, ocr.read(image.png, cancel=cancel).text if ocr else "")
        for image in images
    ]
