"""The real open_clip code path with a small randomly initialised checkpoint made here.

Quality cannot be judged with random weights; test_zero_shot_quality_with_real_weights runs
only when a real checkpoint is configured (HEARTH_CLIP_ARCH + HEARTH_CLIP_CHECKPOINT), and says
so plainly otherwise: no CLIP weights ship on PyPI.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest
from app.core.errors import ImageModelError, ModelCorruptError
from app.engines.clip_embedder import DEFAULT_LABELS, ClipEmbedder
from PIL import Image

from tests.tiny_clip import make_tiny_checkpoint


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("clip"))


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


def test_images_are_stored_in_chromadb_and_found_again(
    embedder: ClipEmbedder, tmp_path: Path
) -> None:
    """Real chromadb, real (tiny) CLIP: the same image comes back first, and only its model's
    space is searched; forgetting a conversation removes its images."""
    from app.core.cancel import CancelToken
    from app.core.images import PreparedImage, read_attachments, remember_images
    from app.store.chroma_memory import ChromaMemory
    from app.store.image_files import ImageFiles

    memory = ChromaMemory.open(tmp_path / "memory")
    images = [
        PreparedImage(f"{color}.png", png(color, size), *size, "PNG", *size)
        for color, size in [("orange", (64, 40)), ("green", (40, 64)), ("navy", (50, 50))]
    ]
    attachments = read_attachments(
        images, None, CancelToken(), embedder=embedder, archive=ImageFiles(tmp_path / "img")
    )
    assert remember_images(attachments, "conv-1", embedder, memory) == 3
    query = embedder.embed_image(png("green", (40, 64)))
    hits = memory.search_images(embedder.name, query, limit=2)
    assert hits[0].name == "green.png" and hits[0].key == attachments[1].file
    assert hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert hits[0].conversation_id == "conv-1"
    assert memory.search_images("another-model", query) == []

    reopened = ChromaMemory.open(tmp_path / "memory")  # persisted, not just in memory
    assert reopened.search_images(embedder.name, query, limit=1)[0].name == "green.png"
    reopened.forget_conversation("conv-1")
    assert reopened.search_images(embedder.name, query) == []


def test_import_copies_and_verifies_a_checkpoint(
    tiny_checkpoint: tuple[Path, Path], tmp_path: Path
) -> None:
    from app.engines.clip_embedder import import_checkpoint

    checkpoint, config = tiny_checkpoint
    steps: list[str] = []
    imported = import_checkpoint(
        "hearth-tiny",
        checkpoint,
        tmp_path / "models",
        config_file=config,
        progress=lambda _f, step: steps.append(step),
    )
    assert imported.checkpoint.parent == tmp_path / "models"
    assert imported.checkpoint.read_bytes() == checkpoint.read_bytes()
    assert imported.config_file is not None and imported.config_file.is_file()
    assert imported.dimensions == 32
    assert steps[0] == "Copying" and steps[-1] == "Ready" and "Checking" in steps
    again = ClipEmbedder("hearth-tiny", imported.checkpoint, config_file=imported.config_file)
    assert len(again.embed_image(png("red"))) == 32


def test_import_refuses_a_file_that_is_not_that_model(
    tiny_checkpoint: tuple[Path, Path], tmp_path: Path
) -> None:
    from app.core.cancel import CancelToken
    from app.engines.clip_embedder import import_checkpoint

    checkpoint, config = tiny_checkpoint
    models = tmp_path / "models"
    for n in range(6):  # random bytes break the unpickler in a different way each time
        junk = tmp_path / f"holiday{n}.pt"
        junk.write_bytes(random.Random(n).randbytes(10_000))
        with pytest.raises((ModelCorruptError, ImageModelError)):
            import_checkpoint("hearth-tiny", junk, models, config_file=config)
        assert list(models.iterdir()) == []  # nothing half-imported is left behind
    with pytest.raises((ModelCorruptError, ImageModelError), match=r"not a ViT-B-32|as ViT-B-32"):
        import_checkpoint("ViT-B-32", checkpoint, models)  # right file, wrong architecture
    assert list(models.iterdir()) == []
    with pytest.raises(ImageModelError, match="architecture"):
        import_checkpoint(" ", checkpoint, models)
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(ImageModelError, match="cancelled"):
        import_checkpoint("hearth-tiny", checkpoint, models, config_file=config, cancel=cancel)
    assert list(models.iterdir()) == []
