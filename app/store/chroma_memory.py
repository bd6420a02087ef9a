"""The personal store: chromadb, embedded (PersistentClient) or a shared server (HttpClient).

Chroma never embeds anything itself here: its default embedding function would download a model,
so every vector comes from Hearth's own engines and is passed in. Images live in one collection
per image model ("space"), because embeddings of different models cannot be compared.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core.errors import AssistantError
from app.core.ports import ImageHit

log = logging.getLogger(__name__)


class MemoryStoreError(AssistantError):
    code = "memory"


def image_collection_name(space: str) -> str:
    """A valid chroma collection name for an image model (names allow only [a-zA-Z0-9._-])."""
    return "images-" + hashlib.sha256(space.encode("utf-8")).hexdigest()[:16]


class ChromaMemory:
    """:class:`app.core.ports.ImageMemory` on chromadb (more kinds of memory build on it)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._collections: dict[str, Any] = {}

    @classmethod
    def open(cls, folder: Path) -> ChromaMemory:
        """The embedded store in ``folder`` (one process per folder: the caller holds the lock)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        try:
            folder.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(folder),
                settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
            )
        except Exception as exc:  # chromadb raises many kinds; all mean "cannot open"
            raise MemoryStoreError(
                f"Hearth's memory at {folder} cannot be opened: {exc}", details=repr(exc)
            ) from exc
        return cls(client)

    def _collection(self, name: str, **metadata: str) -> Any:
        with self._lock:
            found = self._collections.get(name)
            if found is None:
                found = self._client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata=metadata or None,
                )
                self._collections[name] = found
            return found

    # -- images -----------------------------------------------------------------------------

    def add_image(
        self,
        space: str,
        key: str,
        embedding: Sequence[float],
        *,
        name: str,
        conversation_id: str,
        text: str = "",
        looks_like: Sequence[str] = (),
    ) -> None:
        collection = self._collection(image_collection_name(space), model=space)
        collection.upsert(
            ids=[f"{conversation_id}:{key}"],
            embeddings=[list(embedding)],
            documents=[text[:2000]],
            metadatas=[
                {
                    "kind": "image",
                    "key": key,
                    "name": name,
                    "conversation_id": conversation_id,
                    "looks_like": ", ".join(looks_like),
                    "created_at": time.time(),
                    "source": f"conversation:{conversation_id}",
                }
            ],
        )

    def search_images(
        self, space: str, embedding: Sequence[float], limit: int = 5
    ) -> list[ImageHit]:
        collection = self._collection(image_collection_name(space), model=space)
        count = collection.count()
        if count == 0:
            return []
        found = collection.query(
            query_embeddings=[list(embedding)],
            n_results=min(limit, count),
            include=["metadatas", "documents", "distances"],
        )
        hits = []
        for meta, document, distance in zip(
            found["metadatas"][0], found["documents"][0], found["distances"][0], strict=True
        ):
            hits.append(
                ImageHit(
                    key=str(meta.get("key", "")),
                    name=str(meta.get("name", "")),
                    conversation_id=str(meta.get("conversation_id", "")),
                    created_at=float(meta.get("created_at", 0.0)),
                    score=1.0 - float(distance),
                    text=document or "",
                )
            )
        return hits

    def forget_conversation(self, conversation_id: str) -> None:
        for collection in self._client.list_collections():
            name = collection.name if hasattr(collection, "name") else str(collection)
            self._collection(name).delete(where={"conversation_id": conversation_id})
