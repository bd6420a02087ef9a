"""The interfaces the core needs; engines and stores implement them, fakes too."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from app.core.cancel import CancelToken
from app.core.errors import AssistantError

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(slots=True)
class GenerationStats:
    """What the language model measured about its last generation."""

    prompt_tokens: int = 0
    """Tokens in the whole prompt."""
    prompt_tokens_evaluated: int = 0
    """Tokens it actually had to process (the rest came from the prefix cache)."""
    generated_tokens: int = 0
    prompt_seconds: float = 0.0
    generation_seconds: float = 0.0


@runtime_checkable
class LanguageModel(Protocol):
    """A local chat model that streams its reply and can be cancelled between tokens."""

    @property
    def name(self) -> str:
        """Short human name, shown in the status bar."""
        ...

    @property
    def context_size(self) -> int:
        """Tokens the model can attend to: prompt plus reply."""
        ...

    @property
    def loaded(self) -> bool: ...

    def load(self) -> None:
        """Load the weights (idempotent, thread-safe). Raises ModelError/LanguageModelError."""
        ...

    def warm_up(self, system_prompt: str) -> None:
        """Run a tiny generation so the first real turn is fast and the system prefix is cached."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's vocabulary (model must be loaded)."""
        ...

    def message_overhead(self) -> int:
        """Tokens the chat template adds around one message."""
        ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        cancel: CancelToken,
    ) -> Iterator[str]:
        """Yield reply text pieces; stop promptly once ``cancel`` is set."""
        ...

    def structured(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: Mapping[str, Any] | None = None,
        grammar: str | None = None,
        max_tokens: int,
        cancel: CancelToken,
    ) -> str:
        """A short reply constrained to a JSON ``schema`` or a GBNF ``grammar`` (exactly one).

        For a tool call, a yes/no, a date: decoding is greedy, so the same prompt gives the
        same text. The text is returned whole (nothing streams). It follows the constraint
        only if generation ran to its end: a reply cut off by ``max_tokens`` or by ``cancel``
        (which stops it as promptly as ``stream``) comes back incomplete, so read a schema
        reply with :func:`app.core.structured.parse_structured`, which raises
        ``StructuredOutputError`` when it does not hold. Raises ``ValueError`` when both or
        neither constraint is given or the schema is invalid, ``LanguageModelError`` (code
        ``grammar-invalid``) when the grammar cannot be compiled.
        """
        ...

    def set_threads(self, n_threads: int) -> None:
        """Use ``n_threads`` CPU threads from the next batch or token on (also mid-reply).

        The app lowers it while other work needs a core (speech being spoken or
        transcribed) and raises it again after; see the adapter for the measured policy.
        """
        ...

    @property
    def last_stats(self) -> GenerationStats: ...

    def close(self) -> None:
        """Free the weights."""
        ...


@dataclass(frozen=True, slots=True)
class AudioClip:
    """Mono 16-bit little-endian PCM: the one audio format that crosses the interfaces."""

    pcm: bytes
    sample_rate: int

    @property
    def frames(self) -> int:
        return len(self.pcm) // 2

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


@runtime_checkable
class AudioOutput(Protocol):
    """The speaker, as the voice pipeline sees it; every method may be called from any thread."""

    def play(self, clip: AudioClip) -> None:
        """Queue a clip; clips play back to back, in order."""
        ...

    @property
    def playing(self) -> bool:
        """True while queued audio is still being played."""
        ...

    def stop(self) -> None:
        """Silence at once and drop everything queued (barge-in)."""
        ...

    def take_failure(self) -> AssistantError | None:
        """The playback failure since the last call (the device went away), reported once."""
        ...


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str
    audio_seconds: float
    """Length of the audio that was transcribed."""
    speech_seconds: float
    """Speech left after voice-activity detection removed silence (0: nothing heard)."""

    @property
    def heard_nothing(self) -> bool:
        return not self.text.strip()


@runtime_checkable
class SpeechToText(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def loaded(self) -> bool: ...

    def load(self) -> None: ...

    def transcribe(
        self,
        clip: AudioClip,
        *,
        cancel: CancelToken,
        on_progress: Callable[[float, float], None] | None = None,
    ) -> Transcript:
        """Whole-clip transcription, every word of it however long the clip; stops between
        segments once ``cancel`` is set. ``on_progress(seconds done, seconds in all)`` is
        called as a long clip advances."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class TextToSpeech(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def sample_rate(self) -> int: ...

    @property
    def loaded(self) -> bool: ...

    def load(self) -> None: ...

    def synthesize(
        self, text: str, *, cancel: CancelToken, rate: float = 1.0, volume: float = 1.0
    ) -> Iterator[AudioClip]:
        """One clip per sentence of ``text``; stops between sentences once cancelled."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class OcrLine:
    text: str
    score: float
    box: tuple[tuple[float, float], ...]
    """Corner points in the prepared image's pixels."""
    row: int = 0
    """Lines on the same visual row share a row number (reading order)."""


@dataclass(frozen=True, slots=True)
class OcrResult:
    lines: tuple[OcrLine, ...]

    @property
    def text(self) -> str:
        """One line per visual row, the pieces of a row separated by two spaces."""
        rows: dict[int, list[str]] = {}
        for line in self.lines:
            rows.setdefault(line.row, []).append(line.text)
        return "\n".join("  ".join(parts) for _, parts in sorted(rows.items()))


@dataclass(frozen=True, slots=True)
class Attachment:
    """What the assistant knows about an image the user attached."""

    name: str
    text: str = ""
    """Text found in it (OCR)."""
    looks_like: tuple[str, ...] = ()
    """Zero-shot tags from the image model, when one is configured."""
    file: str = ""
    """Key of the image in the app's image folder (kept so the chat shows it after a restart)."""
    embedding: tuple[float, ...] = field(default=(), repr=False)
    """The image model's embedding (empty without an image model); for text-to-image search."""
    unread: bool = False
    """The text in it could not be read (OCR failed on it): unknown, not absent."""

    def context(self) -> str:
        parts = [f"[Image attached: {self.name}]"]
        if self.looks_like:
            parts.append("The image looks like: " + ", ".join(self.looks_like) + ".")
        if self.unread:
            parts.append("The text in this image could not be read, so what it says is unknown.")
        elif self.text.strip():
            parts.append("Text found in the image:\n" + self.text.strip())
        else:
            parts.append("No text was found in the image.")
        return "\n".join(parts)


@runtime_checkable
class Ocr(Protocol):
    @property
    def loaded(self) -> bool: ...

    def load(self) -> None: ...

    def read(self, png: bytes, *, cancel: CancelToken) -> OcrResult:
        """The text in an image (PNG bytes from intake), top to bottom, left to right."""
        ...


@runtime_checkable
class ImageEmbedder(Protocol):
    """Images and texts in one embedding space (app.engines.clip_embedder.ClipEmbedder)."""

    @property
    def name(self) -> str:
        """Identifies the embedding space: vectors of different names never mix."""
        ...

    @property
    def loaded(self) -> bool: ...

    def load(self) -> None: ...

    def embed_image(self, png: bytes) -> list[float]:
        """L2-normalised embedding of an image (PNG bytes from intake)."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]: ...

    def tags_for(self, embedding: Sequence[float], top: int = 3) -> list[tuple[str, float]]:
        """The labels of the vocabulary the embedded image is most like, with probabilities."""
        ...


@dataclass(frozen=True, slots=True)
class ImageHit:
    """A stored image found by a search, with its cosine similarity to the query."""

    key: str
    name: str
    conversation_id: str
    created_at: float
    score: float
    text: str = ""


class ImageMemory(Protocol):
    """Image embeddings kept for text-to-image search (app.store.chroma_memory)."""

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
        """Store (or replace) one image's embedding; ``space`` names the image model."""
        ...

    def search_images(
        self, space: str, embedding: Sequence[float], limit: int = 5
    ) -> list[ImageHit]: ...

    def forget_conversation(self, conversation_id: str) -> None:
        """Drop the images that came from one conversation."""
        ...


@runtime_checkable
class TextEmbedder(Protocol):
    """Sentences to vectors for the personal memory (app.engines.text_embedder)."""

    @property
    def name(self) -> str: ...

    @property
    def loaded(self) -> bool: ...

    def load(self) -> None: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """L2-normalised vectors, one per text."""
        ...


MemoryKind = Literal["fact", "turn", "document"]
MEMORY_KINDS: tuple[MemoryKind, ...] = ("fact", "turn", "document")
Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """One thing Hearth remembers, with where it came from."""

    id: str
    """Stable: the same fact, turn or chunk always gets the same id."""
    kind: MemoryKind
    text: str
    source: str
    """Where it came from: "chat", "conversation:<id>", or a file path."""
    title: str = ""
    """Short label for lists and citations (a file name, a conversation title)."""
    created_at: float = 0.0
    updated_at: float = 0.0
    extra: dict[str, Scalar] = field(default_factory=dict)
    """Kind-specific details: conversation_id, path, chunk, start, sha256..."""


@dataclass(frozen=True, slots=True)
class MemoryHit:
    record: MemoryRecord
    score: float
    """Cosine similarity to the query (1 is identical)."""


class MemoryStore(Protocol):
    """Durable, searchable memory records with their embeddings (app.store.chroma_memory)."""

    def upsert(
        self, records: Sequence[MemoryRecord], embeddings: Sequence[Sequence[float]]
    ) -> None:
        """Add or replace records (all of one kind); returns once they are durable."""
        ...

    def search(
        self,
        kind: MemoryKind,
        embedding: Sequence[float],
        limit: int,
        *,
        exclude_conversation: str = "",
    ) -> list[MemoryHit]: ...

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
        its similarity to ``embedding`` as :meth:`search` scores; [] where the store has no
        keyword index."""
        ...

    def mentioning(self, word: str, limit: int) -> list[MemoryRecord] | None:
        """Up to ``limit`` records of any kind holding ``word`` as a word (their id, kind and
        text); None where the store cannot tell (no keyword index)."""
        ...

    def get(self, kind: MemoryKind, ids: Sequence[str]) -> list[MemoryRecord]: ...

    def delete(self, kind: MemoryKind, ids: Sequence[str]) -> None: ...

    def delete_where(self, kind: MemoryKind, key: str, value: Scalar) -> None:
        """Delete the records whose ``extra[key]`` equals ``value``."""
        ...

    def browse(
        self,
        kind: MemoryKind,
        *,
        contains: str = "",
        source: str = "",
        limit: int = 200,
        offset: int = 0,
    ) -> list[MemoryRecord]:
        """Records in insertion order, optionally filtered by text and by source."""
        ...

    def count(self, kind: MemoryKind) -> int: ...

    def clear(self) -> None:
        """Forget everything (all kinds, images too)."""
        ...

    def close(self) -> None:
        """Release files and connections (the store reopens on next use)."""
        ...


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    title: str
    created_at: float
    updated_at: float
    remember: bool = True
    """Its turns may be kept in memory (the user can say "don't remember this conversation")."""
    pinned: bool = False
    """Kept at the top of the list."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A conversation found by its title (``message_id`` None) or one of its messages."""

    conversation_id: str
    title: str
    message_id: int | None
    role: str
    snippet: str
    """The matching text around the words found, each between \\x02 and \\x03."""
    at: float


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    conversation_id: str
    role: Role
    content: str
    created_at: float
    meta: dict[str, object] = field(default_factory=dict)


class ConversationStore(Protocol):
    """Durable history of conversations (SQLite in the app, a dict in unit tests)."""

    def create_conversation(self, title: str = "") -> Conversation: ...

    def get_conversation(self, conversation_id: str) -> Conversation | None: ...

    def list_conversations(self, query: str = "") -> list[Conversation]: ...

    def rename_conversation(self, conversation_id: str, title: str) -> None: ...

    def search(self, query: str, limit: int = 100) -> list[SearchHit]:
        """Titles and message text holding ``query``; best first."""
        ...

    def set_pinned(self, conversation_id: str, pinned: bool) -> None: ...

    def truncate(self, conversation_id: str, from_message_id: int) -> list[int]:
        """Delete the messages from ``from_message_id`` on; the ids deleted."""
        ...

    def set_remember(self, conversation_id: str, remember: bool) -> None: ...

    def delete_conversation(self, conversation_id: str) -> None: ...

    def messages(self, conversation_id: str) -> list[StoredMessage]: ...

    def add_message(
        self,
        conversation_id: str,
        role: Role,
        content: str,
        meta: dict[str, object] | None = None,
    ) -> StoredMessage: ...

    def update_meta(self, message_id: int, changes: dict[str, object]) -> StoredMessage | None:
        """Merge ``changes`` into a message's meta (a None value removes the key): an edited
        reply (``edited``), a rating (``rating``: 1 or -1). None: no such message."""
        ...
