"""Fakes that implement the real Protocols and record what they received."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.core.cancel import CancelToken
from app.core.errors import AssistantError, ModelCorruptError
from app.core.ports import (
    AudioClip,
    ChatMessage,
    Conversation,
    GenerationStats,
    MemoryHit,
    MemoryKind,
    MemoryRecord,
    OcrLine,
    OcrResult,
    Role,
    Scalar,
    SearchHit,
    StoredMessage,
    Transcript,
)
from app.core.word_search import has_all_words, query_words


@dataclass(frozen=True, slots=True)
class StructuredCall:
    """One call of :meth:`FakeLanguageModel.structured`, as received."""

    messages: tuple[ChatMessage, ...]
    schema: Mapping[str, Any] | None
    grammar: str | None
    max_tokens: int


class FakeLanguageModel:
    """Streams a fixed reply word by word; counts one token per word.

    ``structured()`` answers with ``structured_replies`` in turn (then
    ``structured_reply``), cut to ``max_tokens`` words like a real reply that runs out of
    tokens, and records every call in ``structured_calls``. ``set_threads`` records the
    counts in ``thread_changes``.
    """

    def __init__(
        self,
        reply: str = "The capital of France is Paris.",
        *,
        name: str = "Fake model",
        context_size: int = 4096,
        token_delay: float = 0.0,
        fail_on_load: AssistantError | None = None,
        fail_after_tokens: int | None = None,
        gate_after_tokens: int | None = None,
        structured_reply: str = "{}",
        structured_replies: Sequence[str] = (),
        threads: int = 2,
    ) -> None:
        self.reply = reply
        self.structured_reply = structured_reply
        self.structured_replies = list(structured_replies)
        self.structured_calls: list[StructuredCall] = []
        self.threads = threads
        self.thread_changes: list[int] = []
        self._name = name
        self._context_size = context_size
        self.token_delay = token_delay
        self.fail_on_load = fail_on_load
        self.fail_after_tokens = fail_after_tokens
        self.gate_after_tokens = gate_after_tokens
        self.gate = threading.Event()
        """Set it to let a stream held at ``gate_after_tokens`` go on."""
        self.prompts: list[list[ChatMessage]] = []
        self.loads = 0
        self.warmups: list[str] = []
        self.closed = False
        self.tokens_yielded_after_cancel = 0
        self._loaded = False
        self._stats = GenerationStats()

    @property
    def name(self) -> str:
        return self._name

    @property
    def context_size(self) -> int:
        return self._context_size

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def last_stats(self) -> GenerationStats:
        return self._stats

    def load(self) -> None:
        self.loads += 1
        if self.fail_on_load is not None:
            raise self.fail_on_load
        self._loaded = True

    def warm_up(self, system_prompt: str) -> None:
        self.load()
        self.warmups.append(system_prompt)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def message_overhead(self) -> int:
        return 2

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        cancel: CancelToken,
    ) -> Iterator[str]:
        self.load()
        self.prompts.append(list(messages))
        words = self.reply.split(" ")
        prompt_tokens = sum(self.count_tokens(m.content) for m in messages)
        self._stats = GenerationStats(
            prompt_tokens=prompt_tokens, prompt_tokens_evaluated=prompt_tokens
        )
        started = time.monotonic()
        for i, word in enumerate(words[:max_tokens]):
            if cancel.is_cancelled():
                return
            if self.fail_after_tokens is not None and i == self.fail_after_tokens:
                raise RuntimeError("fake engine failure")
            if self.gate_after_tokens is not None and i == self.gate_after_tokens:
                while not self.gate.wait(0.01):
                    if cancel.is_cancelled():
                        return
            if self.token_delay and cancel.wait(self.token_delay):
                return
            self._stats.generated_tokens = i + 1
            self._stats.generation_seconds = time.monotonic() - started
            yield word if i == len(words) - 1 else word + " "

    def structured(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: Mapping[str, Any] | None = None,
        grammar: str | None = None,
        max_tokens: int,
        cancel: CancelToken,
    ) -> str:
        if (schema is None) == (grammar is None):
            raise ValueError("give exactly one of schema= or grammar=")
        self.load()
        self.structured_calls.append(StructuredCall(tuple(messages), schema, grammar, max_tokens))
        reply = self.structured_replies.pop(0) if self.structured_replies else self.structured_reply
        prompt_tokens = sum(self.count_tokens(m.content) for m in messages)
        self._stats = GenerationStats(
            prompt_tokens=prompt_tokens, prompt_tokens_evaluated=prompt_tokens
        )
        if cancel.is_cancelled():
            return ""
        words = reply.split(" ")[:max_tokens]
        self._stats.generated_tokens = len(words)
        return " ".join(words)

    def set_threads(self, n_threads: int) -> None:
        self.threads = max(1, n_threads)
        self.thread_changes.append(self.threads)

    def close(self) -> None:
        self.closed = True
        self._loaded = False


class MemoryConversationStore:
    """ConversationStore in a dict; records every call by name."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self.stored: list[StoredMessage] = []
        self.calls: list[str] = []
        self.fail_add: AssistantError | None = None

    def create_conversation(self, title: str = "") -> Conversation:
        self.calls.append("create_conversation")
        now = time.time()
        conv = Conversation(uuid.uuid4().hex, title, now, now)
        self.conversations[conv.id] = conv
        return conv

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        return self.conversations.get(conversation_id)

    def list_conversations(self, query: str = "") -> list[Conversation]:
        return [c for c in self.conversations.values() if query.lower() in c.title.lower()]

    def search(self, query: str, limit: int = 100) -> list[SearchHit]:
        """Substring matches, titles first (the real store ranks words with SQLite FTS5)."""
        q = query.strip().lower()
        if not q:
            return []
        hits = [
            SearchHit(c.id, c.title, None, "", c.title, c.updated_at)
            for c in self.conversations.values()
            if q in c.title.lower()
        ]
        hits += [
            SearchHit(
                m.conversation_id,
                self.conversations[m.conversation_id].title,
                m.id,
                m.role,
                m.content,
                m.created_at,
            )
            for m in self.stored
            if q in m.content.lower() and m.role != "system"
        ]
        return hits[:limit]

    def truncate(self, conversation_id: str, from_message_id: int) -> list[int]:
        gone = [
            m.id
            for m in self.stored
            if m.conversation_id == conversation_id and m.id >= from_message_id
        ]
        self.stored = [m for m in self.stored if m.id not in gone]
        return gone

    def set_pinned(self, conversation_id: str, pinned: bool) -> None:
        c = self.conversations[conversation_id]
        self.conversations[conversation_id] = dataclasses.replace(c, pinned=pinned)

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        self.calls.append("rename_conversation")
        c = self.conversations[conversation_id]
        self.conversations[conversation_id] = dataclasses.replace(
            c, title=title, updated_at=time.time()
        )

    def set_remember(self, conversation_id: str, remember: bool) -> None:
        c = self.conversations[conversation_id]
        self.conversations[conversation_id] = dataclasses.replace(c, remember=remember)

    def delete_conversation(self, conversation_id: str) -> None:
        self.conversations.pop(conversation_id, None)
        self.stored = [m for m in self.stored if m.conversation_id != conversation_id]

    def messages(self, conversation_id: str) -> list[StoredMessage]:
        return [m for m in self.stored if m.conversation_id == conversation_id]

    def add_message(
        self,
        conversation_id: str,
        role: Role,
        content: str,
        meta: dict[str, object] | None = None,
    ) -> StoredMessage:
        self.calls.append(f"add_message:{role}")
        if self.fail_add is not None:
            raise self.fail_add
        msg = StoredMessage(
            len(self.stored) + 1, conversation_id, role, content, time.time(), dict(meta or {})
        )
        self.stored.append(msg)
        return msg

    def update_meta(self, message_id: int, changes: dict[str, object]) -> StoredMessage | None:
        for index, message in enumerate(self.stored):
            if message.id == message_id:
                meta = {**message.meta, **changes}
                meta = {k: v for k, v in meta.items() if v is not None}
                self.stored[index] = dataclasses.replace(message, meta=meta)
                return self.stored[index]
        return None


class FakeTextToSpeech:
    """One clip per sentence; the clip's length follows the text, so tests can tell them apart."""

    def __init__(self, *, delay: float = 0.0, sample_rate: int = 16000) -> None:
        self.delay = delay
        self._rate = sample_rate
        self.requests: list[str] = []
        self._loaded = False

    @property
    def name(self) -> str:
        return "Fake voice"

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        self._loaded = True

    def synthesize(
        self, text: str, *, cancel: CancelToken, rate: float = 1.0, volume: float = 1.0
    ) -> Iterator[AudioClip]:
        self.load()
        self.requests.append(text)
        if self.delay and cancel.wait(self.delay):
            return
        yield AudioClip(b"\x10\x00" * (len(text) * 100), self._rate)

    def close(self) -> None:
        self._loaded = False


class FakeSpeechToText:
    """Hears whatever ``heard`` says (or nothing for clips shorter than ``min_seconds``)."""

    def __init__(
        self,
        heard: str = "What is the capital of France?",
        *,
        min_seconds: float = 0.3,
        delay: float = 0.0,
    ) -> None:
        self.heard = heard
        self.min_seconds = min_seconds
        self.delay = delay
        self.clips: list[AudioClip] = []
        self._loaded = False

    @property
    def name(self) -> str:
        return "Fake ears"

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        self._loaded = True

    def transcribe(
        self,
        clip: AudioClip,
        *,
        cancel: CancelToken,
        on_progress: Callable[[float, float], None] | None = None,
    ) -> Transcript:
        self.load()
        self.clips.append(clip)
        if self.delay:
            cancel.wait(self.delay)
        text = self.heard if clip.duration >= self.min_seconds else ""
        return Transcript(text, "en", clip.duration, clip.duration if text else 0.0)

    def close(self) -> None:
        self._loaded = False


class FakeOcr:
    """Finds ``text`` in every image and records the PNGs it was given."""

    def __init__(self, text: str = "CORNER BAKERY\nTOTAL  13.60") -> None:
        self.text = text
        self.images: list[bytes] = []
        self._loaded = False

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        self._loaded = True

    def read(self, png: bytes, *, cancel: CancelToken) -> OcrResult:
        self.images.append(png)
        lines = tuple(
            OcrLine(t, 0.99, ((0.0, 0.0),), row=i) for i, t in enumerate(self.text.splitlines())
        )
        return OcrResult(lines)


class FakeImageEmbedder:
    """Embeds an image as its byte length and first bytes; tags come from a fixed list."""

    def __init__(
        self,
        tags: Sequence[tuple[str, float]] = (("a receipt", 0.7), ("text", 0.25), ("a map", 0.05)),
        *,
        broken: bool = False,
    ) -> None:
        self._tags = list(tags)
        self.broken = broken
        self.images: list[bytes] = []
        self._loaded = False

    @property
    def name(self) -> str:
        return "fake-clip"

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        if self.broken:
            raise ModelCorruptError("fake.pt is not a fake-clip checkpoint, or it is damaged.")
        self._loaded = True

    def embed_image(self, png: bytes) -> list[float]:
        self.load()
        self.images.append(png)
        return _unit([float(len(png) % 97), float(png[-1]), 1.0])

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        self.load()
        return [_unit([float(len(t) % 97), float(ord(t[-1])), 1.0]) for t in texts]

    def tags_for(self, embedding: Sequence[float], top: int = 3) -> list[tuple[str, float]]:
        return self._tags[:top]


def _unit(vector: list[float]) -> list[float]:
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector]


class FakeTextEmbedder:
    """Bag of words hashed into 64 dimensions: texts sharing words are similar."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @property
    def name(self) -> str:
        return "fake-words"

    @property
    def loaded(self) -> bool:
        return True

    def load(self) -> None:
        pass

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        import zlib

        from app.core.memory import salient_words

        self.calls.append(list(texts))
        out = []
        for text in texts:
            vector = [0.0] * 64
            for word in salient_words(text):
                vector[zlib.crc32(word.encode()) % 64] += 1.0
            vector[63] += 0.01  # never the zero vector
            out.append(_unit(vector))
        return out


class ListMemoryStore:
    """:class:`app.core.ports.MemoryStore` in a dict, cosine by dot product."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[MemoryRecord, list[float]]] = {}
        self.closed = False

    def upsert(
        self, records: Sequence[MemoryRecord], embeddings: Sequence[Sequence[float]]
    ) -> None:
        for record, vector in zip(records, embeddings, strict=True):
            self.records[record.id] = (record, list(vector))

    def search(
        self,
        kind: MemoryKind,
        embedding: Sequence[float],
        limit: int,
        *,
        exclude_conversation: str = "",
    ) -> list[MemoryHit]:
        skip = exclude_conversation
        hits = [
            MemoryHit(r, sum(a * b for a, b in zip(v, embedding, strict=True)))
            for r, v in self.records.values()
            if r.kind == kind and not (skip and r.extra.get("conversation_id") == skip)
        ]
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]

    def mentioning(self, word: str, limit: int) -> list[MemoryRecord] | None:
        """Records holding ``word`` as a word (case folded)."""
        pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
        return [r for r, _ in self.records.values() if pattern.search(r.text)][:limit]

    def keyword_search(
        self,
        kind: MemoryKind,
        query: str,
        embedding: Sequence[float],
        limit: int,
        *,
        exclude_conversation: str = "",
    ) -> list[MemoryHit]:
        """Records sharing the most telling words with ``query`` first (a stand-in for BM25),
        scored by cosine like :meth:`search`."""
        from app.core.memory import salient_words

        wanted = salient_words(query)
        skip = exclude_conversation
        ranked = sorted(
            (
                (len(wanted & salient_words(r.text)), r, v)
                for r, v in self.records.values()
                if r.kind == kind and not (skip and r.extra.get("conversation_id") == skip)
            ),
            key=lambda t: t[0],
            reverse=True,
        )
        return [
            MemoryHit(r, sum(a * b for a, b in zip(v, embedding, strict=True)))
            for shared, r, v in ranked[:limit]
            if shared
        ]

    def get(self, kind: MemoryKind, ids: Sequence[str]) -> list[MemoryRecord]:
        return [self.records[i][0] for i in ids if i in self.records]

    def delete(self, kind: MemoryKind, ids: Sequence[str]) -> None:
        for i in ids:
            self.records.pop(i, None)

    def delete_where(self, kind: MemoryKind, key: str, value: Scalar) -> None:
        for id_, (record, _) in list(self.records.items()):
            if record.kind == kind and record.extra.get(key) == value:
                del self.records[id_]

    def browse(
        self,
        kind: MemoryKind,
        *,
        contains: str = "",
        source: str = "",
        limit: int = 200,
        offset: int = 0,
    ) -> list[MemoryRecord]:
        words = query_words(contains)  # every word, any order and case, as in chroma
        found = [
            r
            for r, _ in self.records.values()
            if r.kind == kind
            and has_all_words(r.text, words)
            and (not source or r.source == source)
        ]
        return found[offset : offset + limit]

    def count(self, kind: MemoryKind) -> int:
        return sum(1 for r, _ in self.records.values() if r.kind == kind)

    def clear(self) -> None:
        self.records.clear()

    def close(self) -> None:
        self.closed = True


class SectionModel(FakeLanguageModel):
    """Answers a section prompt with a note naming the section, an overview prompt with an
    overview citing the first section; records every prompt (``prompts``)."""

    overview = "This manual explains how to print with Gutenprint [1]."

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        cancel: CancelToken,
    ) -> Iterator[str]:
        found = re.search(r"Section (\d+) of (\d+)", messages[-1].content)
        if found:
            self.reply = f"Section {found.group(1)} explains printing topic {found.group(1)}."
        else:
            self.reply = self.overview
        yield from super().stream(
            messages, max_tokens=max_tokens, temperature=temperature, cancel=cancel
        )
