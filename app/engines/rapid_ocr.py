"""Text in images with RapidOCR (PP-OCRv4 ONNX models shipped inside its wheel).

Lines are returned in reading order (top to bottom, then left to right within a row), which is
what a receipt or a screenshot needs for "what is the total?" to work. Strips of extreme aspect
ratio are padded first (the detector cannot resize a 2048 x 1 image).
"""

from __future__ import annotations

import io
import logging
from typing import Any

from app.core.cancel import CancelToken
from app.core.errors import OcrError
from app.core.ports import OcrLine, OcrResult
from app.engines.loader import LazyModel

log = logging.getLogger(__name__)


class RapidOcr:
    """:class:`app.core.ports.Ocr` backed by rapidocr-onnxruntime."""

    def __init__(self, *, threads: int = 2, min_score: float = 0.5) -> None:
        self._threads = threads
        self._min_score = min_score
        self._engine: LazyModel[Any] = LazyModel("OCR", self._build)

    @property
    def loaded(self) -> bool:
        return self._engine.loaded

    @property
    def load_seconds(self) -> float:
        return self._engine.load_seconds

    def load(self) -> None:
        self._engine.get()

    def _build(self) -> Any:
        from rapidocr_onnxruntime import RapidOCR

        threads = {
            f"{prefix}{name}": value
            for prefix in ("", "det_", "cls_", "rec_")
            for name, value in (
                ("intra_op_num_threads", self._threads),
                ("inter_op_num_threads", 1),
            )
        }
        return RapidOCR(text_score=self._min_score, **threads)

    def read(self, png: bytes, *, cancel: CancelToken) -> OcrResult:
        engine = self._engine.get()
        if cancel.is_cancelled():
            return OcrResult(())
        import numpy as np
        from PIL import Image

        with Image.open(io.BytesIO(png)) as image:
            array = _padded(np.asarray(image.convert("RGB"))[:, :, ::-1])  # BGR, as OpenCV
        try:
            with self._engine.lock:
                found, _elapsed = engine(array, use_cls=False)
        except Exception as exc:  # onnxruntime and OpenCV raise many types
            raise OcrError("Reading the text in the image failed.", details=repr(exc)) from exc
        lines = [
            OcrLine(str(text), float(score), tuple((float(x), float(y)) for x, y in box))
            for box, text, score in (found or [])
            if str(text).strip()
        ]
        return OcrResult(tuple(_reading_order(lines)))


MIN_SIDE = 32
MAX_RATIO = 16


def _padded(array: Any) -> Any:
    """The image on a white canvas whose short side is at least ``MIN_SIDE`` pixels and at
    least 1/``MAX_RATIO`` of the long one: RapidOCR's detector resizes to a multiple of 32 and
    fails on a 2048 x 1 strip. Padding goes right and below, so boxes keep their coordinates."""
    import numpy as np

    height, width = array.shape[:2]
    tall = max(height, MIN_SIDE, width // MAX_RATIO)
    wide = max(width, MIN_SIDE, height // MAX_RATIO)
    if (tall, wide) == (height, width):
        return np.ascontiguousarray(array)
    canvas = np.full((tall, wide, 3), 255, dtype=np.uint8)
    canvas[:height, :width] = array
    return canvas


def _reading_order(lines: list[OcrLine]) -> list[OcrLine]:
    """Group boxes into rows by vertical overlap, then sort each row left to right."""

    def top(line: OcrLine) -> float:
        return min(y for _, y in line.box)

    def bottom(line: OcrLine) -> float:
        return max(y for _, y in line.box)

    def left(line: OcrLine) -> float:
        return min(x for x, _ in line.box)

    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=top):
        if rows:
            row = rows[-1]
            row_top, row_bottom = min(map(top, row)), max(map(bottom, row))
            middle = (top(line) + bottom(line)) / 2
            if row_top <= middle <= row_bottom:
                row.append(line)
                continue
        rows.append([line])
    return [
        OcrLine(line.text, line.score, line.box, number)
        for number, row in enumerate(rows)
        for line in sorted(row, key=left)
    ]
