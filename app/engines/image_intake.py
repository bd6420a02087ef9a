"""Decode an image safely with Pillow, after app.core.images has vetted size and type.

Pillow reads only the header on open; the declared pixel count is checked before ``load()``
allocates anything. Truncated files are refused (never "best effort" decoded), the EXIF
orientation is applied, only the first frame of an animation is kept, and the result is
scaled down to the working size and stored as PNG.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from app.core.files import FileRefusedError, read_regular_file
from app.core.images import (
    FORMATS,
    ImageIntakeError,
    IntakePolicy,
    PreparedImage,
    check_bytes,
    check_pixels,
)

HEAD = 32


def prepare_file(path: Path, policy: IntakePolicy | None = None) -> PreparedImage:
    """A picked or named image file: a regular file only (a pipe or a device would block or
    never end), of at most ``policy.max_bytes``, refused before it is read whole."""
    policy = policy or IntakePolicy()
    try:
        data = read_regular_file(path, max_bytes=policy.max_bytes, what="an image")
    except FileRefusedError as exc:
        raise ImageIntakeError(exc.message) from exc
    except OSError as exc:
        raise ImageIntakeError(f"{path.name} could not be read: {exc.strerror or exc}") from exc
    return prepare_bytes(path.name, data, policy)


def prepare_bytes(name: str, data: bytes, policy: IntakePolicy | None = None) -> PreparedImage:
    policy = policy or IntakePolicy()
    fmt = check_bytes(name, len(data), data[:HEAD], policy)
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = policy.max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = image.size  # from the header only
            check_pixels(name, width, height, policy)
            frames = int(getattr(image, "n_frames", 1) or 1)
            image.seek(0)
            if fmt == "JPEG":  # decode at a reduced scale straight from the DCT: much faster
                image.draft("RGB", (policy.working_side, policy.working_side))
            image.load()
            upright = ImageOps.exif_transpose(image) or image
            rgb = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    except ImageIntakeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageIntakeError(
            f"{name} is larger than the {policy.max_pixels / 1e6:.0f} megapixels Hearth "
            "opens; it was not decoded."
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        kind = FORMATS.get(fmt, fmt)
        raise ImageIntakeError(
            f"{name} looks like a {kind} file but is damaged or incomplete, so it was not opened.",
            details=repr(exc),
        ) from exc
    rgb.thumbnail((policy.working_side, policy.working_side))
    out = io.BytesIO()
    rgb.save(out, format="PNG", optimize=False)
    return PreparedImage(
        name=name,
        png=out.getvalue(),
        width=rgb.width,
        height=rgb.height,
        original_format=fmt,
        original_width=width,
        original_height=height,
        frames=frames,
    )


class PillowIntake:
    """:class:`app.core.images.ImageIntake` with Pillow, under one policy."""

    def __init__(self, policy: IntakePolicy | None = None) -> None:
        self.policy = policy or IntakePolicy()

    def from_bytes(self, name: str, data: bytes) -> PreparedImage:
        return prepare_bytes(name, data, self.policy)

    def from_file(self, path: Path) -> PreparedImage:
        return prepare_file(path, self.policy)
