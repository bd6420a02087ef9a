"""Notes and lists: "note that ...", "add milk to my shopping list", "what's on my shopping
list?", "read my notes about the boiler", "remove milk from my shopping list".

A note is also remembered as a memory fact (source "note"), so a question about it later
finds it through recall with its source quoted; removing the note forgets that fact too.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from app.core.tools.base import AsksNothing, Risk, ToolResult, object_schema, words


@dataclass(frozen=True, slots=True)
class Note:
    id: str
    list: str
    """"" for a plain note; "shopping", "to do", ... for an item of a list."""
    text: str
    created: float


class NoteStore(Protocol):
    def add_note(self, note: Note) -> None: ...

    def remove_note(self, note_id: str) -> None: ...

    def notes(self, list_name: str | None = None) -> list[Note]:
        """Oldest first; None: every note and item."""
        ...


class MemoryNoteStore:
    def __init__(self) -> None:
        self._notes: dict[str, Note] = {}
        self._lock = threading.Lock()

    def add_note(self, note: Note) -> None:
        with self._lock:
            self._notes[note.id] = note

    def remove_note(self, note_id: str) -> None:
        with self._lock:
            self._notes.pop(note_id, None)

    def notes(self, list_name: str | None = None) -> list[Note]:
        with self._lock:
            found = [n for n in self._notes.values() if list_name is None or n.list == list_name]
        return sorted(found, key=lambda n: n.created)


Remembers = Callable[[str], Callable[[], None] | None]
"""Keep a note's text in memory; returns how to forget it again (None: no memory)."""


def list_key(name: str) -> str:
    """ "Shopping", "shopping list", "to-do" -> "shopping", "to do"."""
    words = name.lower().replace("-", " ").replace("todo", "to do").split()
    if words and words[-1] == "list":
        words = words[:-1]
    return " ".join(words)


def split_items(text: str) -> list[str]:
    """ "eggs, bread and milk" -> ["eggs", "bread", "milk"]."""
    parts = [p.strip() for p in text.replace(" and ", ",").split(",")]
    return [p for p in parts if p]


class AddNote(AsksNothing):
    name = "add_note"
    description = "Keep a note, or add items to one of the user's lists (shopping, to do, ...)."
    schema = object_schema(
        {
            "text": {"type": "string", "minLength": 1, "maxLength": 500},
            "list": {"type": "string", "maxLength": 40},
        },
        ["text"],
    )
    risk = Risk.CREATE

    def __init__(self, store: NoteStore, remember: Remembers | None = None) -> None:
        self.store = store
        self.remember = remember

    @staticmethod
    def _reply(name: str, text: str, items: Sequence[str]) -> str:
        return f"Added {_join(items)} to your {name} list." if name else f"Noted: {text}."

    def preview(self, args: Mapping[str, Any]) -> str:
        """The reply :meth:`run` will give, without keeping anything."""
        name = list_key(str(args.get("list", "")))
        text = str(args["text"]).strip().rstrip(".")
        return self._reply(name, text, split_items(text) if name else [text])

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        name = list_key(str(args.get("list", "")))
        text = str(args["text"]).strip().rstrip(".")
        items = split_items(text) if name else [text]
        added: list[tuple[Note, Callable[[], None] | None]] = []
        for item in items:
            note = Note(uuid.uuid4().hex[:12], name, item, time.time())
            self.store.add_note(note)
            memory_text = f"On my {name} list: {item}" if name else item
            forget = self.remember(memory_text) if self.remember is not None else None
            added.append((note, forget))

        def undo() -> str:
            for note, forget in added:
                self.store.remove_note(note.id)
                if forget is not None:
                    forget()
            return "Undone: " + ("the note is gone." if not name else f"not on your {name} list.")

        reply = self._reply(name, text, [n.text for n, _ in added])
        return ToolResult(reply, "created", reply, tuple(n.id for n, _ in added), undo)


class ReadNotes(AsksNothing):
    name = "read_notes"
    description = "Read the user's notes (optionally those about a subject) or one of their lists."
    schema = object_schema(
        {
            "list": {"type": "string", "maxLength": 40},
            "about": {"type": "string", "maxLength": 100},
        },
        [],
    )
    risk = Risk.READ

    def __init__(self, store: NoteStore) -> None:
        self.store = store

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        name = list_key(str(args.get("list", "")))
        about = words(str(args.get("about", ""))) - {"the", "my", "a", "an"}
        notes = self.store.notes(name)
        if about:
            notes = [n for n in notes if about & words(n.text)]
        if name:
            if not notes:
                return ToolResult(f"Your {name} list is empty.")
            return ToolResult(
                f"On your {name} list: " + _join([n.text for n in notes]) + ".",
                card={"items": [n.text for n in notes]},
            )
        if not notes:
            subject = f" about {args.get('about')}" if about else ""
            return ToolResult(f"You have no notes{subject}.")
        lines = "\n".join(f"- {n.text}" for n in notes)
        return ToolResult(f"Your notes{' about ' + str(args['about']) if about else ''}:\n{lines}")


class RemoveNote:
    name = "remove_note"
    description = "Take items off one of the user's lists (asks first; can be undone)."
    schema = object_schema(
        {
            "text": {"type": "string", "minLength": 1, "maxLength": 500},
            "list": {"type": "string", "maxLength": 40},
        },
        ["text"],
    )
    risk = Risk.DESTRUCTIVE

    def __init__(self, store: NoteStore) -> None:
        self.store = store

    def _targets(self, args: Mapping[str, Any]) -> list[Note]:
        name = list_key(str(args.get("list", "")))
        wanted = [words(i) for i in split_items(str(args["text"]))]
        return [n for n in self.store.notes(name) if any(w and w <= words(n.text) for w in wanted)]

    def confirm(self, args: Mapping[str, Any]) -> str | None:
        targets = self._targets(args)
        if not targets:
            return None
        name = list_key(str(args.get("list", "")))
        where = f" from your {name} list" if name else ""
        return f"Remove {_join([n.text for n in targets])}{where}?"

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        targets = self._targets(args)
        name = list_key(str(args.get("list", "")))
        if not targets:
            where = f" on your {name} list" if name else " in your notes"
            return ToolResult(f"I found no {args['text']}{where}.")
        for note in targets:
            self.store.remove_note(note.id)

        def undo() -> str:
            for note in targets:
                self.store.add_note(note)
            return "Undone: it is back."

        what = _join([n.text for n in targets])
        reply = f"Removed {what}" + (f" from your {name} list." if name else ".")
        return ToolResult(reply, "removed", reply, tuple(n.id for n in targets), undo)


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def note_tools(store: NoteStore, remember: Remembers | None = None) -> list[Any]:
    return [AddNote(store, remember), ReadNotes(store), RemoveNote(store)]
