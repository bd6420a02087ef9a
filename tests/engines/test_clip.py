"""The real open_clip code path with a small randomly initialised checkpoint made here.

Quality cannot be judged with random weights; test_zero_shot_quality_with_real_weights runs
only when a real checkpoint is configured (HEARTH_CLIP_ARCH + HEARTH_CLIP_CHECKPOINT), and says
so plainly otherwise: no CLIP weights ship on PyPI.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from app.core.errors import ModelCorruptError
from app.engines.clip_embedder import DEFAULT_LABELS, ClipEmbedder, ImageModelError
from PIL import Image

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from app.engines.torchvision_compat import import_torchvision

    import_torchvision()
    import open_clip
    import torch

    folder = tmp_path_factory.mktemp("clip")
    config = folder / "hearth-tiny.json"
    config.write_text(json.dumps(TINY), encoding="utf-8")
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model("hearth-tiny")
    checkpoint = folder / "tiny.pt"
    torch.save(model.state_dict(), checkpoint)
    return checkpoint, config


def png(color: str, size: tuple[int, int] = (48, 40)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, color)
    image.paste(Image.new("RGB", (10, 10), "white"), (5, 5))
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def embedder(tiny_checkpoint: tuple[Path, Path]) -> ClipEmbedder:
    checkpoint, config = tiny_checkpoint
    return ClipEmbedder("hearth-tiny", checkpoint, config_file=config, threads=2)


def test_embedding_shape_norm_and_determinism(embedder: ClipEmbedder) -> None:
    first = embedder.embed_image(png("red"))
    again = embedder.embed_image(png("red"))
    assert len(first) == 32 == embedder.dimensions
    assert sum(x * x for x in first) == pytest.approx(1.0, abs=1e-4)
    assert first == again
    texts = embedder.embed_texts(["a receipt", "a cat"])
    assert len(texts) == 2 and all(len(t) == 32 for t in texts)


def test_tags_come_from_the_vocabulary(embedder: ClipEmbedder) -> None:
    tags = embedder.tags(png("blue"), top=3)
    assert len(tags) == 3
    assert all(label in DEFAULT_LABELS for label, _ in tags)
    probabilities = [p for _, p in tags]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0 < sum(probabilities) <= 1.0 + 1e-6


def test_the_same_image_is_found_again(embedder: ClipEmbedder) -> None:
    library = {
        name: embedder.embed_image(png(color, size))
        for name, color, size in [
            ("sunset", "orange", (64, 40)),
            ("forest", "green", (40, 64)),
            ("sea", "navy", (50, 50)),
            ("snow", "white", (80, 30)),
        ]
    }
    query = embedder.embed_image(png("green", (40, 64)))

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    best = max(library, key=lambda name: cosine(query, library[name]))
    assert best == "forest"
    assert cosine(query, library["forest"]) == pytest.approx(1.0, abs=1e-4)


def test_missing_or_wrong_checkpoint_is_a_clear_error(
    tiny_checkpoint: tuple[Path, Path], tmp_path: Path
) -> None:
    _, config = tiny_checkpoint
    with pytest.raises(ImageModelError, match="is missing"):
        ClipEmbedder("hearth-tiny", tmp_path / "gone.pt", config_file=config).load()
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises((ModelCorruptError, ImageModelError)):
        ClipEmbedder("hearth-tiny", junk, config_file=config).load()


def test_zero_shot_quality_with_real_weights() -> None:
    arch = os.environ.get("HEARTH_CLIP_ARCH")
    checkpoint = os.environ.get("HEARTH_CLIP_CHECKPOINT")
    if not (arch and checkpoint):
        pytest.skip(
            "NOT RUN: no real CLIP weights are configured (none ship on PyPI); set "
            "HEARTH_CLIP_ARCH and HEARTH_CLIP_CHECKPOINT to a local checkpoint to run it"
        )
    embedder = ClipEmbedder(
        arch, Path(checkpoint), labels=("a red square", "a green square", "a blue square")
    )
    red = embedder.tags(png("red", (224, 224)), top=1)
    assert red[0][0] == "a red square"
