"""SQLite history: durable, ordered, searchable; survives kill -9 of the writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from app.core.errors import StoreError
from app.store.history import SqliteConversationStore


def test_conversations_crud_and_search(tmp_path: Path) -> None:
    store = SqliteConversationStore(tmp_path / "h.sqlite3")
    a = store.create_conversation("Trip to Lisbon")
    b = store.create_conversation("Tax return 100%")
    store.add_message(a.id, "user", "hi")
    assert [c.id for c in store.list_conversations()] == [a.id, b.id]  # recent first
    assert [c.id for c in store.list_conversations("lisbon")] == [a.id]
    assert [c.id for c in store.list_conversations("100%")] == [b.id]
    assert [c.id for c in store.list_conversations("%")] == [b.id]  # literal, not a wildcard
    assert store.list_conversations("_") == []
    store.rename_conversation(b.id, "Taxes")
    assert store.get_conversation(b.id).title == "Taxes"  # type: ignore[union-attr]
    store.delete_conversation(a.id)
    assert store.get_conversation(a.id) is None
    assert store.messages(a.id) == []  # cascade
    with pytest.raises(StoreError):
        store.add_message(a.id, "user", "into a deleted conversation")


def test_messages_persist_with_meta_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = SqliteConversationStore(path)
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "question")
    store.add_message(conv.id, "assistant", "answer", {"cancelled": True, "model": "m"})
    store.close()
    again = SqliteConversationStore(path)
    msgs = again.messages(conv.id)
    assert [(m.role, m.content) for m in msgs] == [("user", "question"), ("assistant", "answer")]
    assert msgs[1].meta == {"cancelled": True, "model": "m"}
    mode = again._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_newer_schema_is_refused_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    SqliteConversationStore(path).close()
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(StoreError, match="newer Hearth"):
        SqliteConversationStore(path)


def test_garbage_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot be opened"):
        SqliteConversationStore(path)


WRITER = """
import sys
from pathlib import Path
from app.store.history import SqliteConversationStore
store = SqliteConversationStore(Path(sys.argv[1]))
conv = store.create_conversation("k")
i = 0
while True:
    store.add_message(conv.id, "user", f"message {i}")
    print(i, flush=True)
    i += 1
"""


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    for _round in range(3):
        with subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout is not None
            acknowledged = -1
            deadline = time.monotonic() + 30
            while acknowledged < 50 and time.monotonic() < deadline:
                acknowledged = int(proc.stdout.readline())
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        store = SqliteConversationStore(path)
        for conv in store.list_conversations():
            contents = [m.content for m in store.messages(conv.id)]
            assert contents == [f"message {i}" for i in range(len(contents))]
        newest = store.list_conversations()[0]
        assert len(store.messages(newest.id)) >= acknowledged + 1
        store.close()


def test_search_finds_words_inside_messages_best_first_and_keeps_in_step(tmp_path: Path) -> None:
    store = SqliteConversationStore(tmp_path / "h.sqlite3")
    trip = store.create_conversation("Weekend plans")
    other = store.create_conversation("Shopping")
    store.add_message(trip.id, "user", "What should I see in Paris in two days?")
    reply = store.add_message(trip.id, "assistant", "The Louvre, then a walk along the Seine.")
    store.add_message(other.id, "user", "Remind me to buy milk")
    store.add_message(other.id, "system", "paris is never found in a system message")

    hits = store.search("paris")
    assert [(h.conversation_id, h.role) for h in hits] == [(trip.id, "user")]
    assert "\x02Paris\x03" in hits[0].snippet and hits[0].title == "Weekend plans"
    assert [h.message_id for h in store.search("louv")] == [reply.id]  # typed so far: a prefix
    assert store.search("t") == []  # one letter is a word, not every word starting with it
    assert store.search("reminders milk")[0].conversation_id == other.id  # porter stems
    # Quotes, brackets and stars are not FTS5 syntax here (no error), and OR is a word.
    assert [h.message_id for h in store.search('"Seine")*')] == [reply.id]
    assert store.search("seine OR milk") == []
    assert store.search("zanzibar") == [] and store.search("  ") == []

    # A title match comes first, without a message.
    titled = store.search("shopping")
    assert titled[0].message_id is None and titled[0].conversation_id == other.id

    # An edited reply is found by what it now says; a deleted conversation not at all.
    store.update_meta(reply.id, {"edited": "The Orsay museum instead."})
    assert store.search("louvre") == [] and [h.message_id for h in store.search("orsay")] == [
        reply.id
    ]
    store.delete_conversation(trip.id)
    assert store.search("orsay") == [] and store.search("paris") == []


def test_pinned_conversations_come_first(tmp_path: Path) -> None:
    store = SqliteConversationStore(tmp_path / "h.sqlite3")
    old = store.create_conversation("Old but important")
    new = store.create_conversation("Recent")
    store.add_message(new.id, "user", "hello")
    assert [c.id for c in store.list_conversations()] == [new.id, old.id]
    store.set_pinned(old.id, True)
    listed = store.list_conversations()
    assert [c.id for c in listed] == [old.id, new.id] and listed[0].pinned
    store.set_pinned(old.id, False)
    assert [c.id for c in store.list_conversations()] == [new.id, old.id]


def test_a_schema_2_history_gains_search_over_what_it_already_holds(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE conversations (id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL, updated_at REAL NOT NULL,
            remember INTEGER NOT NULL DEFAULT 1);
        CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content TEXT NOT NULL, created_at REAL NOT NULL, meta TEXT NOT NULL DEFAULT '{}');
        INSERT INTO conversations VALUES ('c1', 'Old chat', 1.0, 2.0, 1);
        INSERT INTO messages (conversation_id, role, content, created_at, meta)
            VALUES ('c1', 'assistant', 'Kyoto in autumn', 1.5, '{"edited": "Kyoto in spring"}');
        INSERT INTO messages (conversation_id, role, content, created_at, meta)
            VALUES ('c1', 'user', 'And Osaka?', 1.6, '{not json');
        PRAGMA user_version = 2;
        """
    )
    db.close()
    store = SqliteConversationStore(path)
    assert [h.snippet for h in store.search("kyoto")] == ["\x02Kyoto\x03 in spring"]
    # A meta that is not JSON (read as none) neither stops the migration nor the search.
    assert [h.snippet for h in store.search("osaka")] == ["And \x02Osaka\x03?"]
    assert not store.get_conversation("c1").pinned  # type: ignore[union-attr]
