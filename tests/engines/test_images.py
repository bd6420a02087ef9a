"""Image intake against hostile files, OCR on drawn receipts, and a question about an image."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from app.core.cancel import CancelToken
from app.core.images import ImageIntakeError, IntakePolicy
from app.core.ports import Attachment
from app.engines.image_intake import prepare_bytes, prepare_file
from app.engines.rapid_ocr import RapidOcr
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import REPO, hearth_env, require

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int) -> bytes:
    """A tiny file that declares a gigantic RGB image (its data would inflate to gigabytes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + png_chunk(b"IEND", b"")
    )


def encoded(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


BOMB_SCRIPT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
from pathlib import Path
from app.core.images import ImageIntakeError
from app.engines.image_intake import prepare_file
try:
    prepare_file(Path(sys.argv[1]))
except ImageIntakeError as exc:
    print("REFUSED:", exc.message)
"""


def test_decompression_bomb_is_refused_from_the_header_with_bounded_memory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(50_000, 50_000))
    assert path.stat().st_size < 2000
    # Under a 1.5 GB address-space limit: decoding 50,000 x 50,000 RGB (7.5 GB) would die.
    done = subprocess.run(
        [sys.executable, "-c", BOMB_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert done.returncode == 0, done.stderr
    assert "REFUSED: bomb.png is" in done.stdout and "not decoded" in done.stdout


def test_truncated_jpeg_is_refused(tmp_path: Path) -> None:
    data = encoded(Image.effect_noise((400, 300), 60).convert("RGB"), "JPEG", quality=90)
    with pytest.raises(ImageIntakeError, match="damaged or incomplete"):
        prepare_bytes("photo.jpg", data[: len(data) // 2])


def test_text_file_renamed_png_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("Shopping list: eggs, milk\n", encoding="utf-8")
    with pytest.raises(ImageIntakeError, match=r"not an image Hearth can read \(PNG, JPEG"):
        prepare_file(path)


def test_empty_missing_and_oversized_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageIntakeError, match="is empty"):
        prepare_file(empty)
    with pytest.raises(ImageIntakeError, match="could not be read"):
        prepare_file(tmp_path / "missing.png")
    big = encoded(Image.new("RGB", (64, 64), "red"), "BMP")
    with pytest.raises(ImageIntakeError, match="Hearth takes images up to"):
        prepare_bytes("big.bmp", big, IntakePolicy(max_bytes=1000))


def test_animated_gif_keeps_the_first_frame() -> None:
    frames = [Image.new("RGB", (40, 30), color) for color in ("red", "green", "blue")]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    prepared = prepare_bytes("anim.gif", data)
    assert prepared.frames == 3 and prepared.original_format == "GIF"
    with Image.open(io.BytesIO(prepared.png)) as image:
        r, g, b = image.convert("RGB").getpixel((5, 5))  # type: ignore[misc]
    assert r > 200 and g < 50 and b < 50


def test_exif_rotation_is_applied() -> None:
    photo = Image.new("RGB", (200, 100), "white")
    ImageDraw.Draw(photo).rectangle((0, 0, 20, 100), fill="black")  # a bar on the left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    prepared = prepare_bytes("phone.jpg", encoded(photo, "JPEG", exif=exif.tobytes()))
    assert (prepared.width, prepared.height) == (100, 200)
    assert (prepared.original_width, prepared.original_height) == (200, 100)
    with Image.open(io.BytesIO(prepared.png)) as image:
        top = image.convert("L").getpixel((50, 5))
    assert top is not None and float(top) < 80  # type: ignore[arg-type]  # bar now on top


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF"])
def test_every_supported_format_opens_and_large_ones_are_scaled(fmt: str) -> None:
    prepared = prepare_bytes(
        f"x.{fmt.lower()}", encoded(Image.new("RGB", (3000, 1000), "navy"), fmt)
    )
    assert prepared.original_format == fmt
    assert (prepared.width, prepared.height) == (2048, 683)


def draw_receipt() -> bytes:
    require(FONT.is_file(), "the DejaVu font (Debian fonts-dejavu-core) is not installed")
    font = ImageFont.truetype(str(FONT), 28)
    image = Image.new("RGB", (620, 560), "white")
    draw = ImageDraw.Draw(image)
    rows = [
        ("CORNER BAKERY", ""),
        ("Sourdough loaf", "4.80"),
        ("Croissant x2", "5.20"),
        ("Flat white", "3.60"),
        ("TOTAL", "13.60"),
        ("Card ending 4421", ""),
    ]
    for i, (left, right) in enumerate(rows):
        draw.text((40, 30 + 75 * i), left, fill="black", font=font)
        if right:
            draw.text((460, 30 + 75 * i), right, fill="black", font=font)
    return encoded(image, "PNG")


def draw_screenshot() -> bytes:
    require(FONT.is_file(), "the DejaVu font (Debian fonts-dejavu-core) is not installed")
    font = ImageFont.truetype(str(FONT), 22)
    image = Image.new("RGB", (900, 300), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 900, 50), fill=(40, 60, 120))
    draw.text((20, 12), "Build failed", fill="white", font=font)
    draw.text((20, 90), "Error: disk quota exceeded on volume data2", fill="black", font=font)
    draw.text((20, 150), "Retry in 15 minutes or contact support", fill="black", font=font)
    return encoded(image, "PNG")


@pytest.fixture(scope="module")
def ocr() -> RapidOcr:
    engine = RapidOcr()
    engine.load()
    return engine


def test_ocr_reads_a_receipt_row_by_row(ocr: RapidOcr) -> None:
    found = ocr.read(prepare_bytes("receipt.png", draw_receipt()).png, cancel=CancelToken())
    rows = found.text.splitlines()
    assert any("TOTAL" in row and "13.60" in row for row in rows), rows
    assert any("Croissant" in row and "5.20" in row for row in rows), rows
    assert all(line.score > 0.5 for line in found.lines)


def test_ocr_reads_a_screenshot(ocr: RapidOcr) -> None:
    text = ocr.read(prepare_bytes("shot.png", draw_screenshot()).png, cancel=CancelToken()).text
    flat = text.replace(" ", "").lower()
    assert "buildfailed" in flat and "diskquotaexceeded" in flat and "15minutes" in flat, text


@pytest.mark.parametrize("size", [(20000, 1), (1, 20000), (3000, 4), (5, 5)])
def test_ocr_reads_images_of_extreme_aspect_ratio_without_failing(
    ocr: RapidOcr, size: tuple[int, int]
) -> None:
    """A valid 20000 x 1 PNG once made the detector's resize step fail the whole question."""
    blank = encoded(Image.new("RGB", size, "white"), "PNG")
    assert ocr.read(prepare_bytes("strip.png", blank).png, cancel=CancelToken()).text == ""


def test_ocr_reads_a_thin_strip_of_text(ocr: RapidOcr) -> None:
    require(FONT.is_file(), "the DejaVu font (Debian fonts-dejavu-core) is not installed")
    strip = Image.new("RGB", (2048, 24), "white")
    ImageDraw.Draw(strip).text(
        (4, 2),
        "TOTAL 13.60 thank you for shopping",
        fill="black",
        font=ImageFont.truetype(str(FONT), 18),
    )
    text = ocr.read(prepare_bytes("strip.png", encoded(strip, "PNG")).png, cancel=CancelToken())
    assert "13.60" in text.text, text


def test_attachment_context_says_what_was_found() -> None:
    assert "Text found in the image:\nTOTAL 13.60" in Attachment("r.png", "TOTAL 13.60").context()
    assert "No text was found" in Attachment("cat.jpg").context()


@pytest.mark.model
def test_the_local_model_answers_from_the_image_alone(hearth_exe: str, tmp_path: Path) -> None:
    receipt = tmp_path / "receipt.png"
    receipt.write_bytes(draw_receipt())
    env = hearth_env(tmp_path)
    done = subprocess.run(
        [hearth_exe, "ask", "--image", str(receipt), "What is the total on this receipt?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "13.60" in done.stdout, done.stdout
    bad = subprocess.run(
        [hearth_exe, "ask", "--image", str(tmp_path / "nope.png"), "hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1 and "could not be read" in bad.stderr
