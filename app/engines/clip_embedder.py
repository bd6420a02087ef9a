"""Image and text embeddings with open_clip, from a checkpoint file the user provides.

No CLIP weights ship on PyPI, so there is no default: Hearth works without an image model (OCR
only) and uses one once the user adds a checkpoint (architecture name + local file). Nothing is
ever downloaded: ``pretrained`` is always a path. Embeddings are L2-normalised, so a dot product
is a cosine similarity; zero-shot tags compare an image with "a photo of {label}" prompts.
"""

from __future__ import annotations

import io
import logging
import pickle
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core.errors import AssistantError, ModelCorruptError
from app.engines.torchvision_compat import import_torchvision

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


class ImageModelError(AssistantError):
    code = "image-model"


class ClipEmbedder:
    def __init__(
        self,
        architecture: str,
        checkpoint: Path,
        *,
        threads: int = 2,
        config_file: Path | None = None,
    ) -> None:
        self.architecture = architecture
        self.checkpoint = checkpoint
        self.config_file = config_file
        self._threads = threads
        self._model: Any = None
        self._preprocess: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self.dimensions = 0
        self.load_seconds = 0.0

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            if not self.checkpoint.is_file():
                raise ImageModelError(
                    f"The image model file {self.checkpoint} is missing. Add it again in "
                    "Settings → Image model."
                )
            started = time.monotonic()
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
            except (RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
                # torch.load runs with weights_only=True: a file that is not plain weights is
                # refused instead of executed.
                raise ModelCorruptError(
                    f"{self.checkpoint.name} is not a {self.architecture} checkpoint, or it is "
                    "damaged.",
                    details=repr(exc),
                ) from exc
            model.eval()
            self._model, self._preprocess, self._tokenizer = model, preprocess, tokenizer
            self.dimensions = (
                int(model.text_projection.shape[1])
                if hasattr(model, "text_projection") and model.text_projection is not None
                else 0
            )
            self.load_seconds = time.monotonic() - started
            log.info("loaded image model %s in %.2f s", self.architecture, self.load_seconds)

    def embed_image(self, png: bytes) -> list[float]:
        self.load()
        import torch
        from PIL import Image

        with Image.open(io.BytesIO(png)) as image:
            pixels = self._preprocess(image.convert("RGB")).unsqueeze(0)
        with self._lock, torch.inference_mode():
            features = self._model.encode_image(pixels)
            features = features / features.norm(dim=-1, keepdim=True)
        return [float(x) for x in features[0]]

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        self.load()
        import torch

        with self._lock, torch.inference_mode():
            features = self._model.encode_text(self._tokenizer(list(texts)))
            features = features / features.norm(dim=-1, keepdim=True)
        return [[float(x) for x in row] for row in features]

    def tags(
        self, png: bytes, labels: Sequence[str] = DEFAULT_LABELS, top: int = 3
    ) -> list[tuple[str, float]]:
        """The ``top`` labels the image is most like, with softmax probabilities."""
        import torch

        image = torch.tensor(self.embed_image(png))
        texts = torch.tensor(self.embed_texts([f"a photo of {label}" for label in labels]))
        logit = getattr(self._model, "logit_scale", None)
        scale = float(logit.detach().exp()) if logit is not None else 100.0
        probs = (scale * texts @ image).softmax(dim=0)
        best = torch.topk(probs, k=min(top, len(labels)))
        return [(labels[int(i)], float(p)) for p, i in zip(best.values, best.indices, strict=True)]
