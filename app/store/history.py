"""Conversation history in SQLite with write-ahead logging.

Every message is its own transaction, committed with synchronous=FULL: once ``add_message``
returns, a kill -9 or a power cut cannot take it back. One connection is shared by the
threads of the app behind a lock (SQLite serialises writers anyway).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from app.core.errors import StoreError
from app.core.ports import Conversation, Role, SearchHit, StoredMessage

SCHEMA_VERSION = 3
# The words of every user message and reply, kept in step with `messages` by triggers inside
# the same transactions, so a search never shows a message the history lost nor misses one it
# kept. An edited reply is found by what the chat shows: its edited text. A meta that is not
# JSON (which _message() tolerates) counts as no edit: it must fail neither a write nor the
# migration of an old history. porter + unicode61 without diacritics: "reminders" finds
# "reminder", "cafe" finds "café".
SEARCH_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5(
    text, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS message_search_add AFTER INSERT ON messages
WHEN new.role != 'system' BEGIN
    INSERT INTO message_search (rowid, text)
    VALUES (new.id, COALESCE(
        NULLIF(CASE WHEN json_valid(new.meta) THEN json_extract(new.meta, '$.edited') END, ''),
        new.content
    ));
END;
CREATE TRIGGER IF NOT EXISTS message_search_change AFTER UPDATE OF content, meta ON messages
WHEN new.role != 'system' BEGIN
    DELETE FROM message_search WHERE rowid = old.id;
    INSERT INTO message_search (rowid, text)
    VALUES (new.id, COALESCE(
        NULLIF(CASE WHEN json_valid(new.meta) THEN json_extract(new.meta, '$.edited') END, ''),
        new.content
    ));
END;
CREATE TRIGGER IF NOT EXISTS message_search_drop AFTER DELETE ON messages BEGIN
    DELETE FROM message_search WHERE rowid = old.id;
END;
"""
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    remember INTEGER NOT NULL DEFAULT 1,
    pinned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL,
    created_at REAL NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id);
CREATE INDEX IF NOT EXISTS conversations_by_update ON conversations(updated_at DESC);
"""
FILL_SEARCH = """
INSERT INTO message_search (rowid, text)
SELECT id, COALESCE(
        NULLIF(CASE WHEN json_valid(meta) THEN json_extract(meta, '$.edited') END, ''),
        content
    ) FROM messages
WHERE role != 'system';
"""
MIGRATIONS = {
    # 1 -> 2: a conversation can be kept out of memory ("don't remember this conversation").
    2: "ALTER TABLE conversations ADD COLUMN remember INTEGER NOT NULL DEFAULT 1;",
    # 2 -> 3: search inside messages (filled from the history once), pinned conversations.
    3: "ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;",
}
MIGRATED_SEARCH = 3
"""The migration after which the search table is created and filled."""
SEARCH_LIMIT = 100
SEARCH_CANDIDATES = 1000
"""Messages matching a search that are ranked: the newest this many (see ``search``)."""
MARK_START, MARK_END = "\x02", "\x03"
"""Around each matched word in a :class:`SearchHit` snippet (the UI turns them into bold)."""


class SqliteConversationStore:
    """:class:`app.core.ports.ConversationStore` in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"The conversation history at {path} cannot be opened: {exc}. "
                "If the file is damaged, move it away and Hearth will start a new one.",
                details=repr(exc),
            ) from exc

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The conversation history at {self.path} was written by a newer Hearth "
                f"(schema {version}); update Hearth to open it."
            )
        if version == 0:
            with self._lock:
                self._db.executescript(
                    f"BEGIN; {SCHEMA} {SEARCH_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
                )
        elif version < SCHEMA_VERSION:
            with self._lock:
                steps = "".join(MIGRATIONS[v] for v in range(version + 1, SCHEMA_VERSION + 1))
                if version < MIGRATED_SEARCH:
                    steps += SEARCH_SCHEMA + FILL_SEARCH
                self._db.executescript(
                    f"BEGIN; {steps} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
                )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if "full" in str(exc).lower():
                    raise StoreError(
                        "The disk is full: the conversation could not be saved. Free some "
                        "space; nothing already saved is lost.",
                        code="disk-full",
                        details=repr(exc),
                    ) from exc
                raise StoreError(
                    f"The conversation history could not be written: {exc}", details=repr(exc)
                ) from exc

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"The conversation history could not be read: {exc}", details=repr(exc)
                ) from exc

    # -- conversations ----------------------------------------------------------------------

    def create_conversation(self, title: str = "") -> Conversation:
        now = time.time()
        conv = Conversation(uuid.uuid4().hex, title.strip(), now, now)
        with self._tx() as db:
            db.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?,?,?,?)",
                (conv.id, conv.title, conv.created_at, conv.updated_at),
            )
        return conv

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        rows = self._query("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        return _conversation(rows[0]) if rows else None

    def list_conversations(self, query: str = "") -> list[Conversation]:
        """Pinned conversations first, then the most recently used."""
        query = query.strip()
        if query:
            rows = self._query(
                "SELECT * FROM conversations WHERE title LIKE ? ESCAPE '\\' "
                "ORDER BY pinned DESC, updated_at DESC",
                (_like_pattern(query),),
            )
        else:
            rows = self._query("SELECT * FROM conversations ORDER BY pinned DESC, updated_at DESC")
        return [_conversation(r) for r in rows]

    def search(self, query: str, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
        """Conversations whose title holds ``query`` (most recent first), then messages holding
        all its words (the last one as a prefix, as it is typed), best match first; an empty
        list when nothing matches.

        The messages are ranked (bm25) among the newest :data:`SEARCH_CANDIDATES` that match:
        ranking every match of a common word in a 100k-message history took up to 240 ms on
        the GUI thread (bench/history.py); a rare word is found however old its message."""
        words = search_words(query)
        if not words:
            return []
        titled = self._query(
            "SELECT id, title, updated_at FROM conversations WHERE title LIKE ? ESCAPE '\\' "
            "ORDER BY updated_at DESC LIMIT ?",
            (_like_pattern(query.strip()), limit // 4),  # room left for the messages found
        )
        hits = [
            SearchHit(r["id"], r["title"], None, "", _mark_title(r["title"], query), at)
            for r in titled
            for at in [r["updated_at"]]
        ]
        # The last word as a prefix, as it is being typed; from two letters on (every word
        # that starts with one letter is most of the index).
        last = f'"{words[-1]}"*' if len(words[-1]) >= 2 else f'"{words[-1]}"'
        match = " ".join([*(f'"{w}"' for w in words[:-1]), last])
        candidates = self._query(
            "SELECT rowid, bm25(message_search) AS score, "
            "snippet(message_search, 0, ?, ?, '…', 16) AS snippet "
            "FROM message_search WHERE message_search MATCH ? ORDER BY rowid DESC LIMIT ?",
            (MARK_START, MARK_END, match, SEARCH_CANDIDATES),
        )
        best = sorted(candidates, key=lambda r: (r["score"], -r["rowid"]))
        best = best[: max(0, limit - len(hits))]
        if not best:
            return hits
        found = {
            r["id"]: r
            for r in self._query(
                "SELECT m.id, m.conversation_id, m.role, m.created_at, c.title FROM messages m "
                "JOIN conversations c ON c.id = m.conversation_id "
                "WHERE m.id IN (SELECT value FROM json_each(?))",
                (json.dumps([r["rowid"] for r in best]),),
            )
        }
        for r in best:
            m = found.get(r["rowid"])
            if m is not None:
                hits.append(
                    SearchHit(
                        m["conversation_id"], m["title"], m["id"], m["role"], r["snippet"],
                        m["created_at"],
                    )
                )  # fmt: skip
        return hits

    def set_pinned(self, conversation_id: str, pinned: bool) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE conversations SET pinned = ? WHERE id = ?",
                (int(pinned), conversation_id),
            )

    def set_remember(self, conversation_id: str, remember: bool) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE conversations SET remember = ? WHERE id = ?",
                (int(remember), conversation_id),
            )

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", (title.strip(), conversation_id)
            )

    def delete_conversation(self, conversation_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def truncate(self, conversation_id: str, from_message_id: int) -> list[int]:
        """Delete a conversation's messages from ``from_message_id`` on (a reply regenerated,
        a message edited and sent again); the ids deleted, oldest first."""
        with self._tx() as db:
            rows = db.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND id >= ? RETURNING id",
                (conversation_id, from_message_id),
            ).fetchall()
        return sorted(int(r[0]) for r in rows)

    # -- messages -----------------------------------------------------------------------------

    def messages(self, conversation_id: str) -> list[StoredMessage]:
        rows = self._query(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        )
        return [_message(r) for r in rows]

    def add_message(
        self,
        conversation_id: str,
        role: Role,
        content: str,
        meta: dict[str, object] | None = None,
    ) -> StoredMessage:
        now = time.time()
        meta = dict(meta or {})
        with self._tx() as db:
            if (
                db.execute(
                    "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone()
                is None
            ):
                raise StoreError(
                    "This conversation was deleted; start a new one.", code="no-conversation"
                )
            cur = db.execute(
                "INSERT INTO messages (conversation_id, role, content, created_at, meta) "
                "VALUES (?,?,?,?,?)",
                (conversation_id, role, content, now, json.dumps(meta)),
            )
            db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id)
            )
            row_id = cur.lastrowid
        assert row_id is not None
        return StoredMessage(row_id, conversation_id, role, content, now, meta)

    def update_meta(self, message_id: int, changes: dict[str, object]) -> StoredMessage | None:
        with self._tx() as db:
            row = db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
            if row is None:
                return None
            message = _message(row)
            meta = dict(message.meta)
            for key, value in changes.items():
                if value is None:
                    meta.pop(key, None)
                else:
                    meta[key] = value
            db.execute("UPDATE messages SET meta = ? WHERE id = ?", (json.dumps(meta), message_id))
        return StoredMessage(
            message.id,
            message.conversation_id,
            message.role,
            message.content,
            message.created_at,
            meta,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def search_words(query: str) -> list[str]:
    """The words of a search as FTS5 sees them (letters and digits; quotes and operators are
    text, never syntax)."""
    return re.findall(r"\w+", query.lower())


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _mark_title(title: str, query: str) -> str:
    at = title.lower().find(query.strip().lower())
    if at < 0:
        return title
    end = at + len(query.strip())
    return f"{title[:at]}{MARK_START}{title[at:end]}{MARK_END}{title[end:]}"


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        row["id"],
        row["title"],
        row["created_at"],
        row["updated_at"],
        bool(row["remember"]),
        bool(row["pinned"]),
    )


def _message(row: sqlite3.Row) -> StoredMessage:
    try:
        meta = json.loads(row["meta"])
    except ValueError:
        meta = {}
    return StoredMessage(
        row["id"],
        row["conversation_id"],
        cast(Role, row["role"]),
        row["content"],
        row["created_at"],
        meta if isinstance(meta, dict) else {},
    )
