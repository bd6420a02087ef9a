"""Keyword search over the memory's texts: SQLite FTS5, ranked by BM25.

Meaning search (MiniLM vectors in chroma) finds a passage that says the same thing in other
words, but it is weak on the exact, rare words a question about a manual turns on: an option
("-sa"), a constant ("ZLIB_VERNUM"), a name ("OttoPDF"). Measured on Hearth's evaluation set
(tests/data/eval, 76 questions over 8 real documents, 2,489 passages): the passage holding the
answer was first for 45% of the questions by meaning alone, 58% by BM25 alone and 57% fused
(reciprocal rank fusion), and among the first ten for 89%, 86% and 95% (bench/answers.py).

The index lives in one SQLite file beside the embedded chroma store and mirrors its text
records (facts, turns, document passages): the store writes both. The two are not one
transaction, so :meth:`KeywordIndex.sync` compares counts when the store opens and rebuilds a
kind that differs (after a kill between the two writes, or for a store made before this
index existed).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from app.core.memory import salient_words

log = logging.getLogger(__name__)

SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS passages USING fts5(
    id UNINDEXED,
    kind UNINDEXED,
    text,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
"""
_TOKEN = re.compile(r"[^\W_]+(?:[._/+-][^\W_]+)*")
MAX_TERMS = 24
"""A question longer than this many telling words is searched by its first ones."""


def match_expression(query: str) -> str:
    """An FTS5 query for ``query``: each telling word (or dotted/slashed term such as
    "java.util.zip" or "contrib/puff", as a phrase) quoted, any of them may match (OR), so
    BM25 ranks the passages holding the most and rarest of them first. "" when the query
    has nothing worth looking for."""
    telling = salient_words(query)
    terms: list[str] = []
    for token in _TOKEN.findall(query):
        parts = re.split(r"[._/+-]", token)
        if token.lower() in telling or len(parts) > 1 or any(p.isdigit() for p in parts):
            phrase = '"' + " ".join(parts) + '"'
            if phrase not in terms:
                terms.append(phrase)
                if len(terms) == MAX_TERMS:
                    break  # the rest would be left out: no need to look at them
    return " OR ".join(terms)


class KeywordIndex:
    """Passages by id and kind, searchable by words."""

    def __init__(self, path: Path | None) -> None:
        """``path`` None: in memory (for a store that is not on this computer's disk)."""
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                str(self.path) if self.path else ":memory:",
                check_same_thread=False,
                isolation_level=None,
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            self._db = db
        return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def upsert(self, kind: str, items: Iterable[tuple[str, str]]) -> None:
        """Add or replace (id, text) passages of one kind."""
        rows = list(items)
        if not rows:
            return
        with self._lock:
            db = self._open()
            db.execute("BEGIN")
            try:
                db.executemany(
                    "DELETE FROM passages WHERE id = ? AND kind = ?", [(i, kind) for i, _ in rows]
                )
                db.executemany(
                    "INSERT INTO passages (id, kind, text) VALUES (?, ?, ?)",
                    [(i, kind, text) for i, text in rows],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def delete(self, kind: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._lock:
            db = self._open()
            db.execute("BEGIN")
            db.executemany(
                "DELETE FROM passages WHERE id = ? AND kind = ?", [(i, kind) for i in ids]
            )
            db.execute("COMMIT")

    def clear(self, kind: str | None = None) -> None:
        with self._lock:
            db = self._open()
            if kind is None:
                db.execute("DELETE FROM passages")
            else:
                db.execute("DELETE FROM passages WHERE kind = ?", (kind,))

    def count(self, kind: str) -> int:
        with self._lock:
            row = (
                self._open()
                .execute("SELECT count(*) FROM passages WHERE kind = ?", (kind,))
                .fetchone()
            )
        return int(row[0])

    def mentioning(self, word: str, limit: int) -> list[tuple[str, str, str]] | None:
        """Up to ``limit`` (id, kind, text) of the passages holding ``word`` (a name: "Flatpak",
        "Wi-Fi") as a word, stemmed as the index stems words, of any kind; None when FTS5
        cannot look for it."""
        parts = [p for p in re.split(r"[^\w]+|_", word) if p]
        if not parts:
            return None
        phrase = '"' + " ".join(parts) + '"'
        with self._lock:
            try:
                rows = (
                    self._open()
                    .execute(
                        "SELECT id, kind, text FROM passages WHERE passages MATCH ? LIMIT ?",
                        (phrase, limit),
                    )
                    .fetchall()
                )
            except sqlite3.OperationalError as exc:
                log.warning("keyword lookup failed for %r: %s", phrase, exc)
                return None
        return [(str(id_), str(kind), str(text)) for id_, kind, text in rows]

    def search(self, kind: str, query: str, limit: int) -> list[tuple[str, float]]:
        """The ``limit`` passages of ``kind`` matching ``query`` best: (id, BM25 score, higher
        is better), best first."""
        expression = match_expression(query)
        if not expression or limit <= 0:
            return []
        with self._lock:
            try:
                rows = (
                    self._open()
                    .execute(
                        "SELECT id, bm25(passages) FROM passages "
                        "WHERE passages MATCH ? AND kind = ? ORDER BY bm25(passages) LIMIT ?",
                        (expression, kind, limit),
                    )
                    .fetchall()
                )
            except sqlite3.OperationalError as exc:  # a query FTS5 cannot parse: no matches
                log.warning("keyword search failed for %r: %s", expression, exc)
                return []
        return [(str(id_), -float(score)) for id_, score in rows]

    def sync(
        self, kind: str, expected: int, texts: Callable[[], Iterable[tuple[str, str]]]
    ) -> bool:
        """Rebuild ``kind`` from ``texts()`` (all (id, text) of the store) when it does not
        hold ``expected`` passages; True when it did."""
        if self.count(kind) == expected:
            return False
        log.info("rebuilding the keyword index of %s (%d passages)", kind, expected)
        self.clear(kind)
        batch: list[tuple[str, str]] = []
        for item in texts():
            batch.append(item)
            if len(batch) >= 500:
                self.upsert(kind, batch)
                batch = []
        self.upsert(kind, batch)
        return True
