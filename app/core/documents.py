"""Indexing the user's folders into memory: incremental, resumable, one bad file never fatal.

A file is acknowledged (marked indexed in the :class:`IndexState`) only after its chunks are
durable in the memory store, so a crash or kill at any point costs at most the file in hand,
which the next run picks up again. Unchanged files are recognised by size and mtime, then by
content hash (a touched but identical file is not re-embedded). Files that disappeared drop out
of memory. Chunk ids are stable (path + number), so re-indexing replaces rather than duplicates.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from app.core.cancel import CancelToken
from app.core.errors import AssistantError
from app.core.ports import MemoryRecord, MemoryStore, TextEmbedder

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx")
MAX_FILE_BYTES = 50 * 1024 * 1024


class DocumentError(AssistantError):
    """One file could not be read; the message says why (it is skipped, nothing else)."""

    code = "document"


class DocumentReader(Protocol):
    def read(self, path: Path) -> str:
        """The file's text; raises DocumentError for a file that cannot be read."""
        ...


@dataclass(frozen=True, slots=True)
class FileState:
    path: str
    size: int
    mtime_ns: int
    sha256: str
    status: str
    """"indexed", "failed" or "pending" (started, not finished: redone on the next run)."""
    chunks: int = 0
    error: str = ""


class IndexState(Protocol):
    """What has been indexed (app.store.index_state, SQLite)."""

    def folders(self) -> list[str]: ...

    def add_folder(self, folder: str) -> None: ...

    def remove_folder(self, folder: str) -> None: ...

    def files(self, folder: str) -> dict[str, FileState]: ...

    def put(self, folder: str, state: FileState) -> None:
        """Record a file's state durably (committed before returning)."""
        ...

    def remove(self, path: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    start: int
    """Character offset in the file's text."""
    text: str


def chunk_text(text: str, max_chars: int = 600, overlap: int = 100) -> list[Chunk]:
    """Paragraph-aware chunks of at most ``max_chars``; a long paragraph is cut at sentence or
    word boundaries, with ``overlap`` characters repeated so no sentence is lost between.

    600 characters stay within the 256 word pieces all-MiniLM-L6-v2 reads, even for text full
    of numbers: words past that limit would be silently ignored by the embedding."""
    chunks: list[Chunk] = []
    start = 0
    length = len(text)
    while start < length:
        while start < length and text[start].isspace():
            start += 1
        if start >= length:
            break
        end = min(length, start + max_chars)
        if end < length:
            window = text[start:end]
            cut = -1
            for mark in ("\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " "):
                cut = window.rfind(mark, max_chars // 3)
                if cut != -1:
                    cut += len(mark)
                    break
            if cut > 0:
                end = start + cut
        piece = text[start:end].strip()
        if piece:
            chunks.append(Chunk(len(chunks), start, piece))
        if end >= length:
            break
        next_start = end - overlap if end - overlap > start else end
        # Begin the overlap at a word boundary.
        space = text.find(" ", next_start, end)
        start = space + 1 if space != -1 else next_start
    return chunks


def chunk_id(path: str, index: int) -> str:
    return f"doc-{hashlib.sha256(path.encode('utf-8')).hexdigest()[:20]}-{index}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


@dataclass(slots=True)
class IndexProgress:
    files_total: int = 0
    files_done: int = 0
    chunks_done: int = 0
    current: str = ""
    started_at: float = field(default_factory=time.monotonic)

    @property
    def eta_seconds(self) -> float | None:
        if self.files_done == 0 or self.files_total == 0:
            return None
        elapsed = time.monotonic() - self.started_at
        return elapsed / self.files_done * (self.files_total - self.files_done)


@dataclass(slots=True)
class IndexReport:
    indexed: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(path, plain message) for each file that was skipped."""
    chunks: int = 0
    cancelled: bool = False

    def summary(self) -> str:
        parts = [f"{len(self.indexed)} file(s) indexed ({self.chunks} chunks)"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        if self.failed:
            parts.append(f"{len(self.failed)} skipped")
        text = ", ".join(parts)
        return f"Stopped: {text}" if self.cancelled else text


def scan_folder(folder: Path) -> Iterator[Path]:
    """Supported files under ``folder`` (hidden files and folders skipped, links not followed)."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(SUPPORTED_SUFFIXES):
                continue
            yield Path(root) / name


@dataclass(frozen=True, slots=True)
class _Run:
    report: IndexReport
    progress: IndexProgress
    cancel: CancelToken
    wait: Callable[[], None]
    tick: Callable[[IndexProgress], None]


class Indexer:
    """Brings the memory's document chunks in line with the user's folders."""

    def __init__(
        self,
        reader: DocumentReader,
        embedder: TextEmbedder,
        store: MemoryStore,
        state: IndexState,
        *,
        batch_size: int = 16,
        max_chars: int = 600,
    ) -> None:
        self.reader = reader
        self.embedder = embedder
        self.store = store
        self.state = state
        self.batch_size = batch_size
        self.max_chars = max_chars

    def run(
        self,
        folders: Iterable[str] | None = None,
        *,
        cancel: CancelToken | None = None,
        progress: Callable[[IndexProgress], None] | None = None,
        pause: Callable[[], None] | None = None,
    ) -> IndexReport:
        """Index ``folders`` (default: every folder added). ``pause`` is called between
        batches; it may block (the app holds indexing while a voice turn runs)."""
        cancel = cancel or CancelToken()
        report = IndexReport()
        tick = progress or (lambda _p: None)
        wait = pause or (lambda: None)
        folders = list(folders) if folders is not None else self.state.folders()
        todo: list[tuple[str, Path, os.stat_result, FileState | None]] = []
        for folder in folders:
            known = self.state.files(folder)
            present: set[str] = set()
            root = Path(folder)
            if not root.is_dir():
                report.failed.append((folder, f"The folder {folder} is not there any more."))
                continue
            for path in scan_folder(root):
                key = str(path)
                try:
                    stat = path.stat()
                except OSError as exc:
                    report.failed.append((key, f"{path.name} cannot be read: {exc.strerror}"))
                    continue
                present.add(key)
                before = known.get(key)
                if (
                    before is not None
                    and before.size == stat.st_size
                    and before.mtime_ns == stat.st_mtime_ns
                ):
                    if before.status == "indexed":
                        report.unchanged += 1
                        continue
                    if before.status == "failed":
                        report.failed.append((key, before.error))  # still broken: not read again
                        continue
                todo.append((folder, path, stat, before))
            for gone in sorted(set(known) - present):
                self._drop(gone)
                report.removed.append(gone)
        run = _Run(report, IndexProgress(files_total=len(todo)), cancel, wait, tick)
        tick(run.progress)
        for folder, path, stat, before in todo:
            if cancel.is_cancelled():
                report.cancelled = True
                break
            wait()
            run.progress.current = path.name
            tick(run.progress)
            self._index_file(run, folder, path, stat, before)
            run.progress.files_done += 1
            tick(run.progress)
        return report

    def _index_file(
        self, run: _Run, folder: str, path: Path, stat: os.stat_result, before: FileState | None
    ) -> None:
        report, progress = run.report, run.progress
        key = str(path)

        def state(sha: str, status: str, chunks: int = 0, error: str = "") -> FileState:
            return FileState(key, stat.st_size, stat.st_mtime_ns, sha, status, chunks, error)

        try:
            if stat.st_size > MAX_FILE_BYTES:
                raise DocumentError(
                    f"{path.name} is {stat.st_size / 1e6:.0f} MB; Hearth indexes files up to "
                    f"{MAX_FILE_BYTES / 1e6:.0f} MB."
                )
            sha = file_sha256(path)
            if before is not None and before.status == "indexed" and before.sha256 == sha:
                # Touched, not changed: remember the new mtime, keep the chunks.
                self.state.put(folder, state(sha, "indexed", before.chunks))
                report.unchanged += 1
                return
            self.state.put(folder, state(sha, "pending"))
            text = self.reader.read(path)
            chunks = chunk_text(text, self.max_chars)
            now = time.time()
            for first in range(0, len(chunks), self.batch_size):
                if run.cancel.is_cancelled():
                    return  # stays "pending": the next run redoes this file
                run.wait()
                batch = chunks[first : first + self.batch_size]
                vectors = self.embedder.embed([c.text for c in batch])
                self.store.upsert(
                    [
                        MemoryRecord(
                            chunk_id(key, c.index),
                            "document",
                            c.text,
                            key,
                            path.name,
                            now,
                            now,
                            {"path": key, "chunk": c.index, "start": c.start, "folder": folder},
                        )
                        for c in batch
                    ],
                    vectors,
                )
                progress.chunks_done += len(batch)
                run.tick(progress)
            stale = range(len(chunks), before.chunks if before is not None else 0)
            if stale:
                self.store.delete("document", [chunk_id(key, i) for i in stale])
            self.state.put(folder, state(sha, "indexed", len(chunks)))
            report.indexed.append(key)
            report.chunks += len(chunks)
        except (DocumentError, OSError) as exc:
            message = (
                exc.message
                if isinstance(exc, DocumentError)
                else f"{path.name} cannot be read: {exc.strerror}"
            )
            log.warning("skipped %s: %s", key, message)
            report.failed.append((key, message))
            self.store.delete_where("document", "path", key)
            self.state.put(folder, state("", "failed", error=message))

    def _drop(self, path: str) -> None:
        self.store.delete_where("document", "path", path)
        self.state.remove(path)

    def remove_folder(self, folder: str) -> int:
        """Stop indexing a folder and forget its chunks; returns how many files went."""
        files = self.state.files(folder)
        for path in files:
            self._drop(path)
        self.state.remove_folder(folder)
        return len(files)
