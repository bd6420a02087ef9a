"""Image benchmark: intake and OCR time per image kind, and attach -> first token of the reply.

Typical inputs are drawn at run time: a 12-megapixel "phone photo" (JPEG with EXIF rotation),
a 1920x1080 screenshot of text, and a tall receipt. Figures are printed, never asserted.

No CLIP weights ship on PyPI, so the embedding figures use a randomly initialised model of a real
architecture (ViT-B-32 unless --clip-arch says otherwise), saved and loaded through the same
weights-only path as an imported checkpoint: speed and memory do not depend on the weights'
values. A real checkpoint can be given with --clip-checkpoint.

    .venv/bin/python -m bench.images [--repeat 3] [--clip-arch ViT-B-32] [--no-clip]
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
from typing import Any

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
    parser.add_argument("--clip-arch", default="ViT-B-32")
    parser.add_argument("--clip-checkpoint", type=Path, help="a real checkpoint (optional)")
    parser.add_argument("--no-clip", action="store_true")
    args = parser.parse_args(argv)
    import app  # noqa: F401  (offline switches first)
    from app.bootstrap import make_language_model
    from app.core.assistant import Assistant
    from app.core.cancel import CancelToken
    from app.core.events import AssistantEvent, EventType
    from app.core.images import read_attachments
    from app.core.ports import ImageEmbedder
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

    embedder: ImageEmbedder | None = None
    if not args.no_clip:
        embedder = clip_figures(args, prepared)

    registry = ModelRegistry(Paths.default().models_cache)
    settings = Settings(max_reply_tokens=48)
    llm = make_language_model(registry, settings.model, settings)
    llm.warm_up(settings.system_prompt)
    store = SqliteConversationStore(Path(":memory:"))
    assistant = Assistant(llm, store, settings.assistant_config())
    runs: list[tuple[str, ImageEmbedder | None]] = [("OCR", None)]
    if embedder is not None:
        runs.append(("OCR + image model", embedder))
    for label, with_embedder in runs:
        print(f"\nattach -> first token ({label}, intake + prompt + first token, warm):")
        for name, data in kinds.items():
            conversation = store.create_conversation()
            first: list[float] = []
            started = time.perf_counter()
            image = prepare_bytes(name, data)
            attachments = read_attachments([image], ocr, CancelToken(), embedder=with_embedder)

            def on_event(event: AssistantEvent, first: list[float] = first) -> None:
                if event.type is EventType.TOKEN and not first:
                    first.append(time.perf_counter())

            assistant.turn(
                conversation.id, "What does this image say?", on_event, None, attachments
            )
            print(f"  {name:<30}{(first[0] - started) if first else float('nan'):>8.2f} s")
    llm.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS: {peak:.0f} MiB")
    return 0


def clip_figures(args: argparse.Namespace, prepared: dict[str, Any]) -> Any:
    """Load, image and text embedding times, and store + search in chromadb."""
    import tempfile

    from app.engines.clip_embedder import ClipEmbedder
    from app.engines.torchvision_compat import import_torchvision
    from app.store.chroma_memory import ChromaMemory

    folder = Path(tempfile.mkdtemp(prefix="hearth-bench-clip-"))
    checkpoint = args.clip_checkpoint
    note = "real weights"
    if checkpoint is None:
        import_torchvision()
        import open_clip
        import torch

        model = open_clip.create_model(args.clip_arch)  # random weights: timing only
        checkpoint = folder / "random.pt"
        torch.save(model.state_dict(), checkpoint)
        del model
        note = "random weights, same load path"
    embedder = ClipEmbedder(args.clip_arch, checkpoint, threads=2)
    started = time.perf_counter()
    embedder.load()
    size = checkpoint.stat().st_size / 1e6
    print(
        f"\nimage model {args.clip_arch} ({note}, {size:.0f} MB): load "
        f"{time.perf_counter() - started:.2f} s, {embedder.dimensions} dimensions"
    )
    print(f"{'image':<30}{'embed (s)':>12}{'embed + tags (s)':>18}")
    for name, image in prepared.items():
        png = image.png

        def embed(p: bytes = png) -> object:
            return embedder.embed_image(p)

        def tags(p: bytes = png) -> object:
            return embedder.tags(p)

        embed_s, _ = timed(embed, args.repeat)
        tags(png)  # label prompts embedded once, then cached
        tags_s, _ = timed(tags, args.repeat)
        print(f"{name:<30}{embed_s:>12.3f}{tags_s:>18.3f}")
    text_s, _ = timed(lambda: embedder.embed_texts(["the photo of the whiteboard"]), 5)
    print(f"text query embedding: {text_s * 1000:.0f} ms")

    memory = ChromaMemory.open(folder / "memory")
    vector = embedder.embed_image(next(iter(prepared.values())).png)
    started = time.perf_counter()
    for i in range(1000):  # a year of attached images, with the same vector nudged
        nudged = [x + (i % 7) * 1e-3 for x in vector]
        memory.add_image(
            embedder.name, f"{i:064x}", nudged, name=f"img{i}.png", conversation_id=f"c{i % 50}"
        )
    add_s = time.perf_counter() - started
    query = embedder.embed_texts(["a receipt"])[0]
    search_s, _ = timed(lambda: memory.search_images(embedder.name, query, 5), 20)
    print(
        f"image store: 1000 adds {add_s:.2f} s ({add_s:.3f} ms each), "
        f"text-to-image search over 1000: {search_s * 1000:.1f} ms (median of 20)"
    )
    return embedder


if __name__ == "__main__":
    sys.exit(main())
