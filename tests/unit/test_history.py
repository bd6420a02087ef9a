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
