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
    """A turn began; data: conversation_id, user_text, spoken (a voice turn: the words
    arrive later in TRANSCRIPT)."""
    TRANSCRIBING = "transcribing"
    """A voice turn's recording is being turned into words; data: seconds. Its timestamp is
    the moment push-to-talk was released, where the latency of a spoken answer starts."""
    TRANSCRIPT = "transcript"
    """What the user said; data: text, heard_nothing, from_partial."""
    IMAGES_READING = "images-reading"
    """An attached image is being read; data: index (from 0), total, name."""
    IMAGES_READ = "images-read"
    """Attached images were read (OCR) before the turn; data: names, texts, looks_like."""
    ACTION = "action"
    """A direct handler did something for the user; data: handler, action, summary, ids,
    texts, undo (an id for :meth:`app.core.assistant.Assistant.undo`, "" when it cannot be
    undone)."""
    CONFIRM = "confirm"
    """A handler asks before acting; data: handler, question, yes, no (button labels). The
    next message of the conversation answers it (a yes or a no, typed, spoken or clicked)."""
    RECALLED = "recalled"
    """Memories were placed in the prompt; data: count, labels."""
    CITATIONS = "citations"
    """The reply used memories; data: citations (see app.core.memory.citation)."""
    GROUNDED = "grounded"
    """What the reply rests on; data: quote (the supporting sentence of source [n], "" when
    none), n, label (that source), general (answered from the model's own knowledge),
    replaced (an answer about the user that nothing supported was replaced by saying so),
    trimmed (what the model added after the supported part was left out)."""
    KEPT = "kept"
    """Whether the turn was kept in memory; data: kept (bool), reason (why not: "off",
    "conversation", "refusal", "not known"), secrets (how many were left out)."""
    MODEL_LOADING = "model-loading"
    """The language model is being prepared (assembly, checksum, load); data: model."""
    SUMMARY_PROGRESS = "summary-progress"
    """A document is being summarised (app.core.summary); data: document (its file name),
    stage ("reading" its chunks, "section" being summarised, "writing" the summary), done
    (sections summarised so far), total (sections in all), section (the one in hand, from 1;
    0 outside "section"), label (its chunks: "parts 3–7")."""
    PROMPT_READY = "prompt-ready"
    """The prompt was assembled; data: messages, dropped_messages, prompt_tokens."""
    TOKEN = "token"
    """A piece of the reply; data: text."""
    SENTENCE = "sentence"
    """A whole sentence of the reply (or of something said), ready to speak; data: index,
    text."""
    SPEAKING = "speaking"
    """The first audio of a sentence went to the speaker; data: index, seconds."""
    SPOKEN = "spoken"
    """The voice finished (or was interrupted); data: sentences, interrupted."""
    NOTICE = "notice"
    """A problem that costs part of the turn, not the turn; data: code, message, details."""
    STATS = "stats"
    """Measured figures of the turn; data: the keys of ``TurnResult.stats``, and model (the
    name of the model that answered, when one did)."""
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
