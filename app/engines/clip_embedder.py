"""Image and text embeddings with open_clip, from a checkpoint file the user provides.

No CLIP weights ship on PyPI, so there is no default: Hearth works without an image model (OCR
only) and uses one once the user adds a checkpoint (architecture name + local file). Nothing is
ever downloaded: ``pretrained`` is always a path. Embeddings are L2-normalised, so a dot product
is a cosine similarity; zero-shot tags compare an image with "a photo of {label}" prompts.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.cancel import CancelToken
from app.core.errors import AssistantError, ImageModelError, ModelCorruptError
from app.engines.loader import LazyModel
from app.engines.torchvision_compat import import_torchvision
from app.fsutil import DiskFullError, fsync_directory

log = logging.getLogger(__name__)

DEFAULT_LABELS = (
    "a receipt",
    "a screenshot",
    "a whiteboard",
    "a document",
    "a handwritten note",
    "a chart",
    "a map",
    "a person",
    "a group of people",
    "a pet",
    "food",
    "a landscape",
    "a building",
    "a car",
    "a drawing",
    "text",
)


@dataclass(frozen=True, slots=True)
class _Loaded:
    model: Any
    preprocess: Any
    tokenizer: Any


class ClipEmbedder:
    def __init__(
        self,
        architecture: str,
        checkpoint: Path,
        *,
        threads: int = 2,
        config_file: Path | None = None,
        labels: Sequence[str] = DEFAULT_LABELS,
    ) -> None:
        self.architecture = architecture
        self.labels = tuple(labels)
        self._label_vectors: Any = None
        self.checkpoint = checkpoint
        self.config_file = config_file
        self._threads = threads
        self._model: LazyModel[_Loaded] = LazyModel(f"image model {architecture}", self._build)
        self.dimensions = 0

    @property
    def name(self) -> str:
        return f"{self.architecture}:{self.checkpoint.name}"

    @property
    def loaded(self) -> bool:
        return self._model.loaded

    @property
    def load_seconds(self) -> float:
        return self._model.load_seconds

    def load(self) -> None:
        self._model.get()

    def _build(self) -> _Loaded:
        if not self.checkpoint.is_file():
            raise ImageModelError(
                f"The image model file {self.checkpoint} is missing. Add it again in "
                "Settings → Image model."
            )
        import_torchvision()
        import open_clip
        import torch

        torch.set_num_threads(self._threads)
        if self.config_file is not None:
            open_clip.add_model_config(self.config_file)
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.architecture, pretrained=str(self.checkpoint), device="cpu"
            )
            tokenizer = open_clip.get_tokenizer(self.architecture)
        except Exception as exc:  # open_clip and the unpickler fail in many ways on junk
            # torch.load runs with weights_only=True: a file that is not plain weights is
            # refused instead of executed. open_clip asserts on mismatched shapes.
            raise ModelCorruptError(
                f"{self.checkpoint.name} is not a {self.architecture} checkpoint, or it is "
                "damaged.",
                details=repr(exc),
            ) from exc
        model.eval()
        self.dimensions = (
            int(model.text_projection.shape[1])
            if hasattr(model, "text_projection") and model.text_projection is not None
            else 0
        )
        return _Loaded(model, preprocess, tokenizer)

    def embed_image(self, png: bytes) -> list[float]:
        loaded = self._model.get()
        import torch
        from PIL import Image

        with Image.open(io.BytesIO(png)) as image:
            pixels = loaded.preprocess(image.convert("RGB")).unsqueeze(0)
        with self._model.lock, torch.inference_mode():
            features = loaded.model.encode_image(pixels)
            features = features / features.norm(dim=-1, keepdim=True)
        return [float(x) for x in features[0]]

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        loaded = self._model.get()
        import torch

        with self._model.lock, torch.inference_mode():
            features = loaded.model.encode_text(loaded.tokenizer(list(texts)))
            features = features / features.norm(dim=-1, keepdim=True)
        return [[float(x) for x in row] for row in features]

    def tags(self, png: bytes, top: int = 3) -> list[tuple[str, float]]:
        """The ``top`` labels the image is most like, with softmax probabilities."""
        return self.tags_for(self.embed_image(png), top)

    def tags_for(self, embedding: Sequence[float], top: int = 3) -> list[tuple[str, float]]:
        import torch

        if self._label_vectors is None:
            prompts = [f"a photo of {label}" for label in self.labels]
            self._label_vectors = torch.tensor(self.embed_texts(prompts))
        logit = getattr(self._model.get().model, "logit_scale", None)
        scale = float(logit.detach().exp()) if logit is not None else 100.0
        probs = (scale * self._label_vectors @ torch.tensor(list(embedding))).softmax(dim=0)
        best = torch.topk(probs, k=min(top, len(self.labels)))
        return [
            (self.labels[int(i)], float(p)) for p, i in zip(best.values, best.indices, strict=True)
        ]


@dataclass(frozen=True, slots=True)
class ImportedImageModel:
    architecture: str
    checkpoint: Path
    config_file: Path | None
    dimensions: int
    sha256: str
    load_seconds: float


def import_checkpoint(
    architecture: str,
    source: Path,
    models_dir: Path,
    *,
    config_file: Path | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: CancelToken | None = None,
) -> ImportedImageModel:
    """Copy a checkpoint into Hearth's folder and prove it works before anyone relies on it.

    The copy is hashed as it is written (temp file, fsync, rename), then loaded with
    weights-only unpickling and asked to embed an image and a text; a file that fails any step
    is removed again and the error says which step. ``progress(fraction, what)``.
    """
    report = progress or (lambda _f, _w: None)
    cancel = cancel or CancelToken()
    architecture = architecture.strip()
    if not architecture:
        raise ImageModelError("Choose the architecture of the image model (e.g. ViT-B-32).")
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise ImageModelError(f"{source} cannot be read: {exc.strerror or exc}") from exc
    if size == 0:
        raise ImageModelError(f"{source.name} is empty.")
    models_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    tmp = models_dir / f".{source.name}.importing"
    done = 0
    try:
        with source.open("rb") as src, tmp.open("wb") as dst:
            while chunk := src.read(4 * 1024 * 1024):
                if cancel.is_cancelled():
                    raise ImageModelError("Import cancelled.", code="cancelled")
                dst.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                report(0.8 * done / size, "Copying")
            dst.flush()
            os.fsync(dst.fileno())
        sha = digest.hexdigest()
        target = models_dir / f"{sha[:12]}-{source.name}"
        os.replace(tmp, target)
        fsync_directory(models_dir)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise DiskFullError(
                f"The disk is full: {source.name} ({size / 1e6:.0f} MB) could not be copied.",
                details=str(exc),
            ) from exc
        raise ImageModelError(f"{source.name} could not be copied: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    config_copy: Path | None = None
    if config_file is not None:
        config_copy = models_dir / f"{sha[:12]}-{config_file.name}"
        try:
            shutil.copyfile(config_file, config_copy)
        except OSError as exc:
            target.unlink(missing_ok=True)
            raise ImageModelError(f"{config_file.name} could not be copied: {exc}") from exc
    report(0.85, "Checking")
    embedder = ClipEmbedder(architecture, target, config_file=config_copy)
    try:
        embedder.load()
        from PIL import Image

        probe = io.BytesIO()
        Image.new("RGB", (64, 64), "white").save(probe, "PNG")
        image = embedder.embed_image(probe.getvalue())
        text = embedder.embed_texts(["a photo of a receipt"])[0]
        if len(image) != len(text) or not image:
            raise ImageModelError(
                f"{source.name} gives image and text embeddings of different sizes "
                f"({len(image)} and {len(text)}); it is not a CLIP model Hearth can use."
            )
    except (AssistantError, RuntimeError, ValueError, KeyError, AssertionError) as exc:
        target.unlink(missing_ok=True)
        if config_copy is not None:
            config_copy.unlink(missing_ok=True)
        if isinstance(exc, AssistantError):
            raise
        raise ImageModelError(
            f"{source.name} did not load as {architecture}: {exc}", details=repr(exc)
        ) from exc
    report(1.0, "Ready")
    return ImportedImageModel(
        architecture, target, config_copy, len(image), sha, embedder.load_seconds
    )
