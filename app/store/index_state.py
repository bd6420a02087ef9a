"""Which files of the user's folders are in memory, in one SQLite file (WAL, synchronous=FULL).

Each ``put`` commits before returning: once a file is recorded as indexed, a crash cannot undo
it, and a file recorded as pending is continued by the next run from its last stored batch.
The schema is versioned (``PRAGMA user_version``) and migrated in one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from app.core.documents import FileState
from app.core.errors import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (path TEXT PRIMARY KEY, added_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    folder TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    chunks INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    reader INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS files_by_folder ON files(folder);
"""
VERSION = 2
MIGRATIONS = {
    # 0 -> 1: resumable files (how many chunks are stored); files that failed before the
    # failures were told apart (a permission error was never retried) get one more try.
    1: (
        "ALTER TABLE files ADD COLUMN done INTEGER NOT NULL DEFAULT 0",
        "UPDATE files SET done = chunks WHERE status = 'indexed'",
        "UPDATE files SET status = 'unreadable' WHERE status = 'failed'",
    ),
    # 1 -> 2: which reader made a file's chunks (0: the first; PDFs read by pypdf, which lost
    # the spaces of TeX-made PDFs, are read once more by the newer reader).
    2: ("ALTER TABLE files ADD COLUMN reader INTEGER NOT NULL DEFAULT 0",),
}


class SqliteIndexState:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"The index of your folders at {path} cannot be opened: {exc}. Move it away "
                "and Hearth will index the folders again.",
                details=repr(exc),
            ) from exc

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version >= VERSION:
            return
        fresh = not self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'files'"
        ).fetchone()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if fresh:
                for sql in filter(str.strip, SCHEMA.split(";")):
                    self._db.execute(sql)
            else:
                for step in range(int(version) + 1, VERSION + 1):
                    for sql in MIGRATIONS[step]:
                        self._db.execute(sql)
            self._db.execute(f"PRAGMA user_version = {VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return list(self._db.execute(sql, args))
            except sqlite3.OperationalError as exc:
                if "full" in str(exc).lower():
                    raise StoreError(
                        "The disk is full: Hearth could not record its indexing progress. "
                        "Free some space and index again.",
                        code="disk-full",
                        details=repr(exc),
                    ) from exc
                raise

    def folders(self) -> list[str]:
        return [str(r[0]) for r in self._run("SELECT path FROM folders ORDER BY added_at")]

    def add_folder(self, folder: str) -> None:
        self._run(
            "INSERT OR IGNORE INTO folders (path, added_at) VALUES (?, ?)", (folder, time.time())
        )

    def remove_folder(self, folder: str) -> None:
        self._run("DELETE FROM files WHERE folder = ?", (folder,))
        self._run("DELETE FROM folders WHERE path = ?", (folder,))

    def files(self, folder: str) -> dict[str, FileState]:
        rows = self._run(
            "SELECT path, size, mtime_ns, sha256, status, chunks, error, done, reader FROM files "
            "WHERE folder = ?",
            (folder,),
        )
        return {
            str(r[0]): FileState(
                str(r[0]),
                int(r[1]),
                int(r[2]),
                str(r[3]),
                str(r[4]),
                int(r[5]),
                str(r[6]),
                int(r[7]),
                int(r[8]),
            )
            for r in rows
        }

    def put(self, folder: str, state: FileState) -> None:
        self._run(
            "INSERT OR REPLACE INTO files "
            "(path, folder, size, mtime_ns, sha256, status, chunks, error, updated_at, done, "
            "reader) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                state.path,
                folder,
                state.size,
                state.mtime_ns,
                state.sha256,
                state.status,
                state.chunks,
                state.error,
                time.time(),
                state.done,
                state.reader,
            ),
        )

    def remove(self, path: str) -> None:
        self._run("DELETE FROM files WHERE path = ?", (path,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
