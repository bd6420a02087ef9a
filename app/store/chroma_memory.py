"""The personal store: chromadb, embedded (PersistentClient) or a shared server (HttpClient).

Chroma never embeds anything itself here: its default embedding function would download a model,
so every vector comes from Hearth's own engines and is passed in. Images live in one collection
per image model ("space"), because embeddings of different models cannot be compared.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.core.errors import AssistantError, MemoryStoreError
from app.core.ports import ImageHit, MemoryHit, MemoryKind, MemoryRecord, Scalar
from app.core.word_search import query_words, word_regex
from app.fsutil import DiskFullError
from app.store.keyword_index import KeywordIndex

log = logging.getLogger(__name__)


def image_collection_name(space: str) -> str:
    """A valid chroma collection name for an image model (names allow only [a-zA-Z0-9._-])."""
    return "images-" + hashlib.sha256(space.encode("utf-8")).hexdigest()[:16]


TEXT_COLLECTIONS: dict[MemoryKind, str] = {
    "fact": "facts",
    "turn": "turns",
    "document": "documents",
}
_BASE_KEYS = ("kind", "source", "title", "created_at", "updated_at")


class ChromaMemory:
    """:class:`app.core.ports.MemoryStore` and :class:`ImageMemory` on chromadb."""

    def __init__(self, connect: Callable[[], Any], where: str, host: str = "") -> None:
        """``connect`` makes the chroma client; it runs on first use (on a worker thread, since
        importing chromadb takes a second)."""
        self._connect = connect
        self.where = where
        """The folder or server, for messages."""
        self.host = host
        """The server's host name ("" for the embedded store)."""
        self.folder: Path | None = None
        """The embedded store's folder (None for a server)."""
        self._client: Any = None
        self._lock = threading.RLock()
        self._collections: dict[str, Any] = {}
        self.keywords: KeywordIndex | None = None
        """Keyword (BM25) search of the text records; only for the embedded store (a shared
        server's records change under other computers' hands, so no local index can follow)."""
        self._synced: set[MemoryKind] = set()

    @classmethod
    def open(cls, folder: Path) -> ChromaMemory:
        """The embedded store in ``folder`` (one process per folder: the caller holds the lock)."""

        def connect() -> Any:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            folder.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(
                path=str(folder),
                settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
            )

        store = cls(connect, str(folder))
        store.folder = folder
        store.keywords = KeywordIndex(folder / "keywords.sqlite3")
        return store

    @classmethod
    def server(cls, url: str) -> ChromaMemory:
        """A Chroma server (``chroma run``) shared by several computers, e.g. a household's."""
        parts = urlsplit(url if "://" in url else f"http://{url}")
        try:
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            parts = urlsplit("invalid://")
        if parts.scheme not in ("http", "https") or not parts.hostname:

            def refuse() -> Any:
                raise MemoryStoreError(
                    f"“{url}” is not a Chroma server address; use e.g. http://127.0.0.1:8000 "
                    "in Settings → Memory server."
                )

            return cls(refuse, url)
        host, ssl = parts.hostname, parts.scheme == "https"
        port = parts.port or (443 if ssl else 8000)

        def connect() -> Any:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            client = chromadb.HttpClient(
                host=host,
                port=port,
                ssl=ssl,
                settings=ChromaSettings(anonymized_telemetry=False),
            )
            client.heartbeat()
            return client

        return cls(connect, f"{parts.scheme}://{host}:{port}", host)

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    self._client = self._connect()
                except AssistantError:
                    raise
                except Exception as exc:  # chromadb raises many kinds; all mean "cannot open"
                    raise MemoryStoreError(
                        f"Hearth's memory at {self.where} cannot be opened: {exc}",
                        details=repr(exc),
                    ) from exc
            return self._client

    def close(self) -> None:
        """Release the client (files, connections); the next use opens it again."""
        with self._lock:
            client, self._client = self._client, None
            self._collections.clear()
            self._synced.clear()
        if self.keywords is not None:
            self.keywords.close()
        if client is not None:
            try:
                # chromadb 1.5 leaves an HttpClient's connection pools (its own and its admin
                # client's) open on close(); take them first, then close them.
                sessions = [
                    getattr(getattr(owner, "_server", None), "_session", None)
                    for owner in (client, getattr(client, "_admin_client", None))
                ]
                client.close()
                for session in sessions:
                    if session is not None:
                        session.close()
            except Exception as exc:  # closing must never fail a shutdown
                log.warning("closing the memory store: %s", exc)

    def _collection(self, name: str, **metadata: str) -> Any:
        with self._lock:
            found = self._collections.get(name)
            if found is None:
                found = self.client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata=metadata or None,
                )
                self._collections[name] = found
            return found

    # -- text memories -----------------------------------------------------------------------

    def _text(self, kind: MemoryKind) -> Any:
        return self._collection(TEXT_COLLECTIONS[kind], kind=kind)

    def upsert(
        self, records: Sequence[MemoryRecord], embeddings: Sequence[Sequence[float]]
    ) -> None:
        if not records:
            return
        kinds = {r.kind for r in records}
        if len(kinds) != 1:
            raise ValueError("upsert takes records of one kind at a time")
        self._guard(
            lambda: self._text(records[0].kind).upsert(
                ids=[r.id for r in records],
                embeddings=[list(e) for e in embeddings],
                documents=[r.text for r in records],
                metadatas=[_metadata(r) for r in records],
            )
        )
        if self.keywords is not None:
            keywords = self.keywords
            self._guard(lambda: keywords.upsert(records[0].kind, [(r.id, r.text) for r in records]))

    def search(
        self,
        kind: MemoryKind,
        embedding: Sequence[float],
        limit: int,
        *,
        exclude_conversation: str = "",
    ) -> list[MemoryHit]:
        where = {"conversation_id": {"$ne": exclude_conversation}} if exclude_conversation else None
        return [
            MemoryHit(_record(kind, id_, document, meta), score)
            for id_, document, meta, score in self._nearest(
                self._text(kind), embedding, limit, where
            )
        ]

    def _nearest(
        self,
        collection: Any,
        embedding: Sequence[float],
        limit: int,
        where: dict[str, Any] | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[tuple[str, str, dict[str, Any], float]]:
        """The ``limit`` records nearest ``embedding`` (of ``ids`` only, when given): (id,
        document, metadata, cosine)."""
        count = collection.count()
        if count == 0 or limit <= 0:
            return []
        found = collection.query(
            query_embeddings=[list(embedding)],
            n_results=min(limit, count),
            where=where,
            include=["metadatas", "documents", "distances"],
            **({"ids": list(ids)} if ids is not None else {}),
        )
        return [
            (id_, document or "", dict(meta or {}), 1.0 - float(distance))
            for id_, document, meta, distance in zip(
                found["ids"][0],
                found["documents"][0],
                found["metadatas"][0],
                found["distances"][0],
                strict=True,
            )
        ]

    def get(self, kind: MemoryKind, ids: Sequence[str]) -> list[MemoryRecord]:
        if not ids:
            return []
        found = self._text(kind).get(ids=list(ids), include=["metadatas", "documents"])
        return _records(kind, found)

    def delete(self, kind: MemoryKind, ids: Sequence[str]) -> None:
        if ids:
            self._guard(lambda: self._text(kind).delete(ids=list(ids)))
            if self.keywords is not None:
                keywords = self.keywords
                self._guard(lambda: keywords.delete(kind, ids))

    def delete_where(self, kind: MemoryKind, key: str, value: Scalar) -> None:
        if self.keywords is None:
            self._guard(lambda: self._text(kind).delete(where={key: value}))
            return
        ids = self._text(kind).get(where={key: value}, include=[])["ids"]
        self.delete(kind, ids)

    def keyword_search(
        self,
        kind: MemoryKind,
        query: str,
        embedding: Sequence[float],
        limit: int,
        *,
        exclude_conversation: str = "",
    ) -> list[MemoryHit]:
        """The records whose words match ``query`` best (BM25), best first, each scored by
        its similarity to ``embedding`` like :meth:`search`; [] for a server's store."""
        if self.keywords is None or limit <= 0:
            return []
        keywords, collection = self.keywords, self._text(kind)
        self._sync_keywords(keywords, kind)
        ranked = [id_ for id_, _ in keywords.search(kind, query, limit * 2)]
        if not ranked:
            return []
        where = {"conversation_id": {"$ne": exclude_conversation}} if exclude_conversation else None
        hits = {
            id_: MemoryHit(_record(kind, id_, document, meta), score)
            for id_, document, meta, score in self._nearest(
                collection, embedding, len(ranked), where, ids=ranked
            )
        }
        return [hits[id_] for id_ in ranked if id_ in hits][:limit]

    def mentioning(self, word: str, limit: int) -> list[MemoryRecord] | None:
        """Records holding ``word``, by the keyword index (their text only); None for a
        server's store (it has none)."""
        if self.keywords is None:
            return None
        for kind in TEXT_COLLECTIONS:
            self._sync_keywords(self.keywords, kind)
        found = self.keywords.mentioning(word, limit)
        if found is None:
            return None
        kinds = {kind: kind for kind in TEXT_COLLECTIONS}
        return [_record(kinds[kind], id_, text, {}) for id_, kind, text in found if kind in kinds]

    def _sync_keywords(self, keywords: KeywordIndex, kind: MemoryKind) -> None:
        """Once per open store: rebuild the keyword index of ``kind`` if it lost step."""
        if kind not in self._synced:
            keywords.sync(kind, int(self._text(kind).count()), partial(self._all_texts, kind))
            self._synced.add(kind)

    def _all_texts(self, kind: MemoryKind) -> Iterator[tuple[str, str]]:
        collection, offset = self._text(kind), 0
        while True:
            page = collection.get(limit=1000, offset=offset, include=["documents"])
            yield from zip(page["ids"], (d or "" for d in page["documents"]), strict=True)
            if len(page["ids"]) < 1000:
                return
            offset += 1000

    def browse(
        self,
        kind: MemoryKind,
        *,
        contains: str = "",
        source: str = "",
        limit: int = 200,
        offset: int = 0,
    ) -> list[MemoryRecord]:
        """Records, optionally only those from ``source`` and those holding every word of
        ``contains`` (in any order and case, see app.core.word_search); ``limit`` and
        ``offset`` count the records that match."""
        found = self._text(kind).get(
            where={"source": source} if source else None,
            where_document=_all_words(query_words(contains)),
            limit=limit,
            offset=offset,
            include=["metadatas", "documents"],
        )
        return _records(kind, found)

    def count(self, kind: MemoryKind) -> int:
        return int(self._text(kind).count())

    def clear(self) -> None:
        with self._lock:
            for name in self._collection_names():
                self.client.delete_collection(name)
            self._collections.clear()
            if self.keywords is not None:
                self.keywords.clear()

    def _guard(self, write: Any) -> None:
        """Writes: a full disk becomes a plain message (nothing acknowledged is lost)."""
        try:
            write()
        except AssistantError:
            raise
        except Exception as exc:
            # Chroma does not say "no space" (it reports a failed compaction), so ask the disk.
            if self._disk_nearly_full():
                raise DiskFullError(
                    "The disk is full: Hearth could not save to its memory. Free some space "
                    "and try again; what was saved before is kept.",
                    details=repr(exc),
                ) from exc
            raise MemoryStoreError(
                f"Hearth could not save to its memory at {self.where}: {exc}", details=repr(exc)
            ) from exc

    def _disk_nearly_full(self) -> bool:
        if not self.folder:
            return False
        # SQLite rewrites pages through a journal, and a failed transaction gives its space back
        # before we look, so "full" means: too little room to rewrite the store's largest file.
        try:
            usage = shutil.disk_usage(self.folder)
            largest = max(
                (f.stat().st_size for f in self.folder.rglob("*") if f.is_file()), default=0
            )
        except OSError:
            return False
        return usage.free < min(64 * 1024 * 1024, max(usage.total // 10, largest))

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
        self._guard(
            lambda: collection.upsert(
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
        )

    def search_images(
        self, space: str, embedding: Sequence[float], limit: int = 5
    ) -> list[ImageHit]:
        collection = self._collection(image_collection_name(space), model=space)
        return [
            ImageHit(
                key=str(meta.get("key", "")),
                name=str(meta.get("name", "")),
                conversation_id=str(meta.get("conversation_id", "")),
                created_at=float(meta.get("created_at", 0.0)),
                score=score,
                text=document,
            )
            for _id, document, meta, score in self._nearest(collection, embedding, limit)
        ]

    def forget_conversation(self, conversation_id: str) -> None:
        """The conversation's images, in every image model's collection (its remembered turns
        go through :meth:`delete_where`, see Memory.forget_conversation)."""
        for name in self._collection_names():
            if name.startswith("images-"):
                collection = self._collection(name)
                self._guard(
                    lambda c=collection: c.delete(where={"conversation_id": conversation_id})
                )

    def _collection_names(self) -> list[str]:
        # chromadb has returned both Collection objects and bare names from list_collections.
        return [c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()]


def _all_words(words: Sequence[str]) -> dict[str, Any] | None:
    """Chroma's document filter for "holds every one of these words, ignoring case" (its
    ``$contains`` is a case-sensitive substring of the whole query, so it is not used)."""
    clauses: list[dict[str, Any]] = [{"$regex": word_regex(w)} for w in words]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _metadata(record: MemoryRecord) -> dict[str, Scalar]:
    meta: dict[str, Scalar] = {"conversation_id": ""}
    meta.update(record.extra)
    meta.update(
        kind=record.kind,
        source=record.source,
        title=record.title,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )
    return meta


def _record(kind: MemoryKind, id_: str, document: str | None, meta: Any) -> MemoryRecord:
    meta = dict(meta or {})
    extra = {k: v for k, v in meta.items() if k not in _BASE_KEYS}
    if extra.get("conversation_id") == "":
        extra.pop("conversation_id")
    return MemoryRecord(
        id_,
        kind,
        document or "",
        str(meta.get("source", "")),
        str(meta.get("title", "")),
        float(meta.get("created_at", 0.0)),
        float(meta.get("updated_at", 0.0)),
        extra,
    )


def _records(kind: MemoryKind, found: Any) -> list[MemoryRecord]:
    records = [
        _record(kind, i, d, m)
        for i, d, m in zip(found["ids"], found["documents"], found["metadatas"], strict=True)
    ]
    records.sort(key=lambda r: r.created_at)
    return records
