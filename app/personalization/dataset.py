"""What an adapter learns from: the user's own replies, edits, ratings and example files.

An :class:`Example` is a conversation so far (``messages``, ending with the user's words) and
the reply the user wants (``target``). Sources, in the order a target is chosen:

* ``edited``: the user rewrote an answer with *Edit reply*; the rewritten text is the target.
* ``good``: an answer the user marked good.
* ``kept``: an answer the user neither edited nor marked bad. Answers marked bad, cancelled
  answers, answers quoting the user's files or memories (facts belong in memory, not in the
  adapter) and replies written by code (timers, notes, calendar, sums) are never targets.
* ``file``: a JSONL file of the user's own writing, one ``{"messages": [...]}`` per line (the
  common chat format); every assistant message in a line is a target, the messages before it
  its context. A bad line is reported with its number and skipped; it never stops the rest.
* ``anchor``: the base model's own answers to general questions, mixed in so the adapter
  learns a style without forgetting how to answer everything else.

The user can exclude any example (:class:`Exclusions`, kept in the data folder). Held-out
examples for the evaluation gate are the newest ones (:func:`split_by_time`), never a random
sample: the adapter is judged on what the user wrote after what it learned from.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from app.core.ports import Conversation, StoredMessage
from app.fsutil import atomic_write_text

SOURCES = ("edited", "good", "kept", "file", "anchor")
CONTEXT_MESSAGES = 4
"""Messages before the user's last words kept as an example's context."""
MAX_TARGET_CHARS = 4000
"""A longer reply is not a style example (it is a document); it is left out."""
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILE_LINES = 20_000
HELD_OUT_FRACTION = 0.2
MIN_HELD_OUT = 2
MIN_TRAINING = 4
"""Fewer user examples than this after the split: there is nothing to learn from yet."""


@dataclass(frozen=True)
class Example:
    id: str
    source: str
    messages: tuple[tuple[str, str], ...]
    """(role, content) pairs; the last one is the user's."""
    target: str
    created_at: float
    conversation_id: str = ""
    title: str = ""

    @property
    def question(self) -> str:
        return self.messages[-1][1] if self.messages else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "messages": [{"role": r, "content": c} for r, c in self.messages],
            "target": self.target,
            "created_at": self.created_at,
            "conversation_id": self.conversation_id,
            "title": self.title,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Example:
        return cls(
            id=str(data["id"]),
            source=str(data["source"]),
            messages=tuple((str(m["role"]), str(m["content"])) for m in data["messages"]),
            target=str(data["target"]),
            created_at=float(data.get("created_at", 0.0)),
            conversation_id=str(data.get("conversation_id", "")),
            title=str(data.get("title", "")),
        )


@dataclass(frozen=True)
class LineProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class History(Protocol):
    """The part of :class:`app.core.ports.ConversationStore` the dataset reads."""

    def list_conversations(self, query: str = "") -> list[Conversation]: ...

    def messages(self, conversation_id: str) -> list[StoredMessage]: ...


def target_of(message: StoredMessage) -> tuple[str, str] | None:
    """(source, target) when this assistant message teaches a style, else None."""
    meta = message.meta
    if message.role != "assistant":
        return None
    edited = meta.get("edited")
    if isinstance(edited, str) and edited.strip():
        return "edited", edited.strip()
    if meta.get("rating") == -1 or meta.get("cancelled"):
        return None
    if meta.get("handled") or meta.get("citations") or meta.get("grounding") or meta.get("summary"):
        return None
    if "model" not in meta or not message.content.strip():
        return None
    return ("good" if meta.get("rating") == 1 else "kept"), message.content.strip()


def from_history(history: History) -> list[Example]:
    """Every example the user's conversations hold, oldest first."""
    examples: list[Example] = []
    for conversation in history.list_conversations():
        messages = history.messages(conversation.id)
        for index, message in enumerate(messages):
            chosen = target_of(message)
            if chosen is None or index == 0 or messages[index - 1].role != "user":
                continue
            source, target = chosen
            if len(target) > MAX_TARGET_CHARS:
                continue
            context = [
                (m.role, _context_text(m))
                for m in messages[max(0, index - 1 - CONTEXT_MESSAGES) : index]
                if m.role in ("user", "assistant")
            ]
            examples.append(
                Example(
                    id=f"message:{message.id}",
                    source=source,
                    messages=tuple(context),
                    target=target,
                    created_at=message.created_at,
                    conversation_id=conversation.id,
                    title=conversation.title,
                )
            )
    examples.sort(key=lambda e: (e.created_at, e.id))
    return examples


def _context_text(message: StoredMessage) -> str:
    edited = message.meta.get("edited") if message.role == "assistant" else None
    return edited.strip() if isinstance(edited, str) and edited.strip() else message.content


def read_jsonl(path: Path) -> tuple[list[Example], list[LineProblem]]:
    """Examples from a chat-format JSONL file, and the lines that could not be used."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return [], [LineProblem(0, f"the file is {size // 2**20} MB; at most 20 MB is read")]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    created = path.stat().st_mtime
    examples: list[Example] = []
    problems: list[LineProblem] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if number > MAX_FILE_LINES:
                problems.append(
                    LineProblem(number, f"only the first {MAX_FILE_LINES} lines are read")
                )
                break
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError:
                problems.append(LineProblem(number, "not valid JSON"))
                continue
            try:
                found = _examples_of_line(
                    data, number, digest, created, f"{_shown_name(path)}, line {number}"
                )
            except ValueError as exc:
                problems.append(LineProblem(number, str(exc) or "not valid JSON"))
                continue
            examples.extend(found)
    return examples, problems


def _shown_name(path: Path) -> str:
    """An imported file's name as the user gave it (the kept copy adds ``-<digest>``)."""
    stem, _, tail = path.stem.rpartition("-")
    return f"{stem}.jsonl" if stem and len(tail) == 12 else path.name


def _examples_of_line(
    data: object, number: int, digest: str, created: float, title: str
) -> list[Example]:
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ValueError('expected an object with a "messages" list')
    messages: list[tuple[str, str]] = []
    for item in data["messages"]:
        if not isinstance(item, dict):
            raise ValueError("a message is not an object")
        role, content = item.get("role"), item.get("content")
        if role not in ("system", "user", "assistant"):
            raise ValueError(f"unknown role {role!r}")
        if not isinstance(content, str):
            raise ValueError("a message's content is not text")
        messages.append((str(role), content))
    found = []
    for index, (role, content) in enumerate(messages):
        if role != "assistant" or index == 0 or messages[index - 1][0] != "user":
            continue
        if not content.strip() or len(content) > MAX_TARGET_CHARS:
            continue
        context = [
            m for m in messages[max(0, index - 1 - CONTEXT_MESSAGES) : index] if m[0] != "system"
        ]
        found.append(
            Example(
                id=f"file:{digest}:{number}:{index}",
                source="file",
                messages=tuple(context),
                target=content.strip(),
                created_at=created + number * 1e-3 + index * 1e-6,
                title=title,
            )
        )
    if not found:
        raise ValueError("no assistant reply that follows a user message")
    return found


class Exclusions:
    """The ids of examples the user left out, kept in the data folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids: set[str] = set()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self._ids = {str(i) for i in data.get("excluded", [])}
        except (OSError, ValueError, AttributeError):
            self._ids = set()

    def __contains__(self, example_id: object) -> bool:
        return example_id in self._ids

    def set(self, example_id: str, excluded: bool) -> None:
        self.set_many([example_id], excluded)

    def set_many(self, example_ids: Iterable[str], excluded: bool) -> None:
        for example_id in example_ids:
            if excluded:
                self._ids.add(example_id)
            else:
                self._ids.discard(example_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps({"excluded": sorted(self._ids)}, indent=1))

    def apply(self, examples: Iterable[Example]) -> list[Example]:
        return [e for e in examples if e.id not in self._ids]


@dataclass
class Dataset:
    """The user examples split by time, ready for a training job (the worker adds anchors)."""

    train: list[Example]
    held_out: list[Example]

    def shortfall(self) -> str:
        """Why this is too little to train and test an adapter ('' when it is enough)."""
        if self.held_out:
            return ""
        found = len(self.train)
        return (
            f"{found} example{'' if found == 1 else 's'} {'is' if found == 1 else 'are'} too "
            f"few to train and test an adapter (at least {MIN_TRAINING + MIN_HELD_OUT} are "
            "needed)."
        )

    @property
    def fingerprint(self) -> str:
        """Changes whenever anything that would be learned changes."""
        digest = hashlib.sha256()
        for group in (self.train, self.held_out):
            for example in group:
                digest.update(json.dumps(example.to_json(), sort_keys=True).encode("utf-8"))
            digest.update(b"|")
        return digest.hexdigest()

    def counts(self) -> dict[str, int]:
        counts = {source: 0 for source in SOURCES}
        for example in [*self.train, *self.held_out]:
            counts[example.source] = counts.get(example.source, 0) + 1
        return counts


def split_by_time(
    examples: Sequence[Example], fraction: float = HELD_OUT_FRACTION
) -> tuple[list[Example], list[Example]]:
    """(older examples to learn from, the newest ones held out to judge the adapter)."""
    ordered = sorted(examples, key=lambda e: (e.created_at, e.id))
    if len(ordered) < MIN_TRAINING + MIN_HELD_OUT:
        return ordered, []
    held = max(MIN_HELD_OUT, math.ceil(len(ordered) * fraction))
    return ordered[:-held], ordered[-held:]


def write_jsonl(path: Path, examples: Iterable[Example]) -> None:
    atomic_write_text(path, "".join(json.dumps(e.to_json()) + "\n" for e in examples))


def load_jsonl(path: Path) -> list[Example]:
    return [
        Example.from_json(json.loads(line))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
