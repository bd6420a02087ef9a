"""Image benchmark: intake and OCR time per image kind, and attach -> first token of the reply.

Typical inputs are drawn at run time: a 12-megapixel "phone photo" (JPEG with EXIF rotation),
a 1920x1080 screenshot of text, and a tall receipt. Figures are printed, never asserted. CLIP
embeddings are not measured: no CLIP weights ship on PyPI (see issue #4's notes).

    .venv/bin/python -m bench.images [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def phone_photo() -> bytes:
    from PIL import Image

    image = Image.effect_noise((4000, 3000), 40).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


def screenshot() -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1920, 1080), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 24)
    draw.rectangle((0, 0, 1920, 60), fill=(30, 60, 120))
    draw.text((20, 15), "Deploy dashboard - production", fill="white", font=font)
    for i in range(14):
        draw.text(
            (40, 100 + 60 * i),
            f"Service {i:02d}   status OK   latency {20 + i} ms",
            fill="black",
            font=font,
        )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def receipt() -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (800, 1800), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 30)
    for i in range(20):
        draw.text((40, 40 + 80 * i), f"Item number {i + 1}", fill="black", font=font)
        draw.text((600, 40 + 80 * i), f"{(i + 1) * 1.25:.2f}", fill="black", font=font)
    draw.text((40, 1700), "TOTAL", fill="black", font=font)
    draw.text((600, 1700), "262.50", fill="black", font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Hearth image benchmark")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import app  # noqa: F401  (offline switches first)
    from app.bootstrap import make_language_model
    from app.core.assistant import Assistant
    from app.core.cancel import CancelToken
    from app.core.events import AssistantEvent, EventType
    from app.core.ports import Attachment
    from app.engines.image_intake import prepare_bytes
    from app.engines.models import ModelRegistry
    from app.engines.rapid_ocr import RapidOcr
    from app.settings import Paths, Settings
    from app.store.history import SqliteConversationStore

    ocr = RapidOcr()
    started = time.perf_counter()
    ocr.load()
    print(f"OCR load: {time.perf_counter() - started:.2f} s")
    kinds = {
        "phone photo 4000x3000 JPEG": phone_photo(),
        "screenshot 1920x1080 PNG": screenshot(),
        "receipt 800x1800 PNG": receipt(),
    }
    print(f"\n{'image':<30}{'size':>10}{'intake (s)':>12}{'OCR (s)':>10}{'lines':>7}")
    prepared = {}
    for name, data in kinds.items():

        def intake(n: str = name, d: bytes = data) -> object:
            return prepare_bytes(n, d)

        intake_s, image = timed(intake, args.repeat)
        prepared[name] = image
        png: bytes = image.png  # type: ignore[attr-defined]

        def read(p: bytes = png) -> object:
            return ocr.read(p, cancel=CancelToken())

        ocr_s, found = timed(read, args.repeat)
        lines = len(found.lines)  # type: ignore[attr-defined]
        print(f"{name:<30}{len(data) / 1e6:>8.1f}MB{intake_s:>12.3f}{ocr_s:>10.3f}{lines:>7}")

    registry = ModelRegistry(Paths.default().models_cache)
    settings = Settings(max_reply_tokens=48)
    llm = make_language_model(registry, settings.model, settings)
    llm.warm_up(settings.system_prompt)
    store = SqliteConversationStore(Path(":memory:"))
    assistant = Assistant(llm, store, settings.assistant_config())
    print("\nattach -> first token (intake + OCR + prompt + first token, default model, warm):")
    for name, data in kinds.items():
        conversation = store.create_conversation()
        first: list[float] = []
        started = time.perf_counter()
        image = prepare_bytes(name, data)
        found = ocr.read(image.png, cancel=CancelToken())

        def on_event(event: AssistantEvent, first: list[float] = first) -> None:
            if event.type is EventType.TOKEN and not first:
                first.append(time.perf_counter())

        assistant.turn(
            conversation.id,
            "What does this image say?",
            on_event,
            None,
            [Attachment(name, found.text)],
        )
        print(f"  {name:<30}{(first[0] - started) if first else float('nan'):>8.2f} s")
    llm.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
