"""Typed events: the only way a turn reports progress to whoever runs it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class EventType(StrEnum):
    TURN_START = "turn-start"
    """A turn began; data: conversation_id, user_text."""
    IMAGES_READING = "images-reading"
    """An attached image is being read; data: index (from 0), total, name."""
    IMAGES_READ = "images-read"
    """Attached images were read (OCR) before the turn; data: names, texts."""
    MEMORY = "memory"
    """A memory was changed from the chat; data: action ("remembered", "confirm-forget",
    "forgotten", "kept"), ids, texts. A "confirm-forget" waits for a yes or no."""
    RECALLED = "recalled"
    """Memories were placed in the prompt; data: count, labels."""
    CITATIONS = "citations"
    """The reply used memories; data: citations (see app.core.memory.citation)."""
    MODEL_LOADING = "model-loading"
    """The language model is being prepared (assembly, checksum, load); data: model."""
    PROMPT_READY = "prompt-ready"
    """The prompt was assembled; data: messages, dropped_messages, prompt_tokens."""
    TOKEN = "token"
    """A piece of the reply; data: text."""
    STATS = "stats"
    """Measured figures of the turn; data: see :class:`TurnStats`."""
    ERROR = "error"
    """The turn failed; data: code, message, details."""
    TURN_END = "turn-end"
    """Always the last event; data: reply, cancelled, failed."""


@dataclass(frozen=True, slots=True)
class AssistantEvent:
    type: EventType
    data: Mapping[str, Any] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))


EventCallback = Callable[[AssistantEvent], None]
