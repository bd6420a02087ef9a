"""Indexing the user's folders into memory: incremental, resumable, one bad file never fatal.

A file is acknowledged (marked indexed in the :class:`IndexState`) only after its chunks are
durable in the memory store, so a crash or kill at any point costs at most the batch in hand:
a file's progress is recorded after every batch, and the next run continues a file where it
stopped (its chunk ids are stable, path + number, so nothing stored is embedded again and
re-indexing replaces rather than duplicates). Unchanged files are recognised by size and mtime,
then by content hash (a touched but identical file is not re-embedded). Files that disappeared
drop out of memory.

Only regular files inside the chosen folder are read (app.core.files): pipes, devices, sockets
and links leading out of the folder are reported as skipped, as are subfolders that cannot be
opened. A file that could not be opened is tried again on the next run; one whose content could
not be read, when it changes or when the user asks. Long files are indexed in slices, so one
huge file cannot hold up the rest of the folder, and text past ``MAX_TEXT_CHARS`` is left out
with a note saying where."""

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
from app.core.files import FileRefusedError, check_regular_file, is_within, read_regular_file
from app.core.ports import MemoryRecord, MemoryStore, TextEmbedder

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx")
MAX_FILE_BYTES = 50 * 1024 * 1024


class DocumentError(AssistantError):
    """One file could not be read; the message says why (it is skipped, nothing else)."""

    code = "document"


PageProgress = Callable[[int, int], None]
"""Called with (pages done, pages in all) while a slow reading (OCR of a scan) goes on."""


class DocumentReader(Protocol):
    def version(self, name: str) -> int:
        """The version of the reading of files like ``name``: a file indexed by an older one
        is read again (once) even though it did not change."""
        ...

    def read(
        self,
        name: str,
        data: bytes,
        *,
        progress: PageProgress | None = None,
        cancel: CancelToken | None = None,
    ) -> str:
        """The text of a file called ``name`` (its suffix says the format) with content
        ``data``; raises DocumentError for a file that cannot be read. The indexer opens the
        file itself (regular files only, see app.core.files) and hands over its bytes."""
        ...


@dataclass(frozen=True, slots=True)
class FileState:
    path: str
    size: int
    mtime_ns: int
    sha256: str
    status: str
    """"indexed"; "pending" (started, not finished: continued on the next run); "failed" (its
    content cannot be read: tried again when the file changes, or on request); "unreadable"
    (it could not be opened, e.g. permission denied: tried again on every run)."""
    chunks: int = 0
    """How many chunks of this file may be in the store (its chunk ids are 0 .. chunks-1)."""
    error: str = ""
    """Why it failed, or (indexed) a note such as where a very long file was cut."""
    done: int = 0
    """Chunks 0 .. done-1 are stored (all of them once indexed); a resumed run starts here."""
    reader: int = 0
    """The version of the reading (DocumentReader.version) that made the stored chunks."""

    @property
    def stored_whole(self) -> bool:
        """Every chunk of the content with hash ``sha256`` is in the store."""
        return bool(self.sha256) and self.status != "failed" and self.done >= self.chunks > 0


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


MAX_TEXT_CHARS = 5_000_000
"""Text past this many characters of one file is not indexed (the user is told where it stops)."""
SLICE_CHUNKS = 256
"""A file with more chunks than this is indexed in slices: the first slice of every file, then
the rest of the long ones, so one huge file cannot keep the other files of a folder waiting."""


def cut_long_text(text: str, name: str, limit: int = MAX_TEXT_CHARS) -> tuple[str, str]:
    """``text`` cut to ``limit`` characters at a word boundary, and a note saying where (empty
    when nothing was cut)."""
    if len(text) <= limit:
        return text, ""
    space = text.rfind(" ", max(0, limit - 2000), limit)
    kept = text[: space if space > 0 else limit]
    line = kept.count("\n") + 1
    lines = line + text.count("\n", len(kept))
    last = " ".join(kept[-80:].split()[-6:])
    return kept, (
        f"{name} is very long: only its first {len(kept):,} characters are in memory (up to "
        f"line {line:,} of {lines:,}, ending “…{last}”); the rest is not indexed."
    )


@dataclass(slots=True)
class IndexProgress:
    files_total: int = 0
    files_done: int = 0
    chunks_done: int = 0
    """Chunks embedded in this run."""
    current: str = ""
    """Name of the file in hand."""
    current_done: int = 0
    current_total: int = 0
    """Chunks of the file in hand: stored so far (an earlier run's included), and in all."""
    pages_done: int = 0
    pages_total: int = 0
    """Scanned pages of the file in hand read by OCR so far, and in all (0: none)."""
    reread: int = 0
    """Files read again because a better reader came (not because they changed)."""
    started_at: float = field(default_factory=time.monotonic)

    @property
    def eta_seconds(self) -> float | None:
        if self.files_done == 0 or self.files_total == 0:
            return None
        elapsed = time.monotonic() - self.started_at
        return elapsed / self.files_done * (self.files_total - self.files_done)

    def describe(self) -> str:
        """One line of progress: 3 of 10 files, 1,200 passages · big.txt part 812 of 14,125."""
        text = f"{self.files_done} of {self.files_total} files, {self.chunks_done:,} passages"
        if self.reread:
            text += f" ({self.reread} read again with the new PDF reader)"
        if self.current:
            text += f" · {self.current}"
            if self.pages_total:
                page = min(self.pages_done + 1, self.pages_total)
                text += f" reading scanned page {page:,} of {self.pages_total:,}"
            elif self.current_total > SLICE_CHUNKS:
                text += f" part {self.current_done:,} of {self.current_total:,}"
        return text


@dataclass(slots=True)
class IndexReport:
    indexed: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(path, plain message) for each file or folder that was skipped."""
    notes: list[tuple[str, str]] = field(default_factory=list)
    """(path, plain message) for files indexed with a remark (cut because very long)."""
    chunks: int = 0
    """Chunks of the files indexed in this run."""
    embedded: int = 0
    """Chunks embedded in this run."""
    reused: int = 0
    """Chunks an interrupted run had already stored, which this run did not embed again."""
    reread: int = 0
    """Unchanged files read again by a newer reader (PDFs after the PDF reader improved)."""
    cancelled: bool = False

    def summary(self) -> str:
        counted = f"{self.chunks} chunks"
        if self.reused:
            counted += f", {self.reused} of them kept from an interrupted run"
        parts = [f"{len(self.indexed)} file(s) indexed ({counted})"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        if self.failed:
            parts.append(f"{len(self.failed)} skipped")
        if self.reread:
            parts.append(f"{self.reread} read again with the new PDF reader")
        if self.notes:
            parts.append(f"{len(self.notes)} cut short")
        text = ", ".join(parts)
        return f"Stopped: {text}" if self.cancelled else text


SkipCallback = Callable[[Path, str], None]


def scan_folder(folder: Path, on_skip: SkipCallback | None = None) -> Iterator[Path]:
    """Supported names under ``folder`` (hidden files and folders left out, links to folders
    not followed). ``on_skip(path, message)`` hears of each subfolder that cannot be opened and
    each link to a folder. The names still have to pass :func:`check_regular_file`."""
    skip = on_skip or (lambda _p, _m: None)

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else folder
        skip(
            where,
            f"The folder {where} cannot be opened ({exc.strerror or exc}); the files in it "
            "are not indexed.",
        )

    for root, dirs, files in os.walk(folder, onerror=unreadable, followlinks=False):
        keep = []
        for name in sorted(dirs):
            if name.startswith("."):
                continue
            if os.path.islink(os.path.join(root, name)):
                skip(
                    Path(root) / name,
                    f"{name} is a link to a folder; Hearth does not follow folder links "
                    "(add that folder itself to index it).",
                )
                continue
            keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(SUPPORTED_SUFFIXES):
                continue
            yield Path(root) / name


@dataclass(slots=True)
class _Todo:
    folder: str
    root: Path
    path: Path
    stat: os.stat_result
    before: FileState | None


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
        slice_chunks: int = SLICE_CHUNKS,
        max_text_chars: int = MAX_TEXT_CHARS,
    ) -> None:
        self.reader = reader
        self.embedder = embedder
        self.store = store
        self.state = state
        self.batch_size = batch_size
        self.max_chars = max_chars
        self.slice_chunks = slice_chunks
        self.max_text_chars = max_text_chars

    def run(
        self,
        folders: Iterable[str] | None = None,
        *,
        cancel: CancelToken | None = None,
        progress: Callable[[IndexProgress], None] | None = None,
        pause: Callable[[], None] | None = None,
        retry_failed: bool = False,
    ) -> IndexReport:
        """Index ``folders`` (default: every folder added). ``pause`` is called between
        batches; it may block (the app holds indexing while a voice turn runs).

        Files that could not be opened (permission denied, an I/O error) are tried again on
        every run; files whose content could not be read only when they change, or on every
        file when ``retry_failed`` (the user asked to retry)."""
        cancel = cancel or CancelToken()
        report = IndexReport()
        tick = progress or (lambda _p: None)
        wait = pause or (lambda: None)
        folders = list(folders) if folders is not None else self.state.folders()
        todo: list[_Todo] = []
        for folder in folders:
            todo += self._scan(folder, report, retry_failed)
        run = _Run(
            report, IndexProgress(files_total=len(todo), reread=report.reread), cancel, wait, tick
        )
        tick(run.progress)
        deferred: list[_Todo] = []
        for item in todo:
            if cancel.is_cancelled():
                break
            left = self._index_file(run, item, self.slice_chunks)
            if left is None:
                run.progress.files_done += 1
            else:
                item.before = left
                deferred.append(item)
            tick(run.progress)
        for item in deferred:  # the long files' remaining slices, once every file had its turn
            if cancel.is_cancelled():
                break
            if self._index_file(run, item, None) is None:
                run.progress.files_done += 1
            tick(run.progress)
        report.cancelled = cancel.is_cancelled()
        return report

    def _scan(self, folder: str, report: IndexReport, retry_failed: bool) -> list[_Todo]:
        """The files of ``folder`` that need reading; records what was skipped or removed."""
        root = Path(folder)
        if not root.is_dir():
            report.failed.append((folder, f"The folder {folder} is not there any more."))
            return []
        known = self.state.files(folder)
        present: set[str] = set()
        closed: list[Path] = []

        def skipped(where: Path, message: str) -> None:
            report.failed.append((str(where), message))
            if where.is_dir() and not where.is_symlink():
                closed.append(where)  # cannot be listed now: what it held stays in memory

        todo: list[_Todo] = []
        for path in scan_folder(root, skipped):
            key = str(path)
            try:
                checked = check_regular_file(path, inside=root)
            except FileRefusedError as exc:
                report.failed.append((key, exc.message))
                continue
            except OSError as exc:
                present.add(key)  # there, but cannot be looked at now: keep what is stored
                report.failed.append((key, _unreadable(path, exc)))
                continue
            present.add(key)
            before = known.get(key)
            st = checked.stat
            newer_reader = before is not None and before.reader < self.reader.version(key)
            if before is not None and (before.size, before.mtime_ns) == (
                st.st_size,
                st.st_mtime_ns,
            ):
                if before.status == "indexed" and newer_reader:
                    report.reread += 1  # read once more, by the better reader
                elif before.status == "indexed":
                    report.unchanged += 1
                    continue
                elif before.status == "failed" and not retry_failed and not newer_reader:
                    report.failed.append((key, before.error))  # still broken: not read again
                    continue
            todo.append(_Todo(folder, root, path, st, before))
        for gone in sorted(set(known) - present):
            if not any(is_within(Path(gone), c) for c in closed):
                self._drop(gone)
                report.removed.append(gone)
        return todo

    def _index_file(self, run: _Run, item: _Todo, limit: int | None) -> FileState | None:
        """Index one file, at most ``limit`` more chunks of it; returns its pending state when
        chunks are left for later, None when the file is done with (or failed)."""
        report, progress = run.report, run.progress
        path, before, st = item.path, item.before, item.stat
        key = str(path)
        version = self.reader.version(path.name)

        def record(
            sha: str,
            status: str,
            *,
            chunks: int = 0,
            error: str = "",
            done: int = 0,
            reader: int = version,
        ) -> FileState:
            state = FileState(
                key, st.st_size, st.st_mtime_ns, sha, status, chunks, error, done, reader
            )
            self.state.put(item.folder, state)
            return state

        def pages(done: int, total: int) -> None:
            progress.pages_done, progress.pages_total = done, total
            run.tick(progress)

        run.wait()
        progress.current, progress.current_done, progress.current_total = path.name, 0, 0
        run.tick(progress)
        try:
            data = read_regular_file(
                path, max_bytes=MAX_FILE_BYTES, inside=item.root, what="a document"
            )
            sha = hashlib.sha256(data).hexdigest()
            same = before is not None and before.sha256 == sha and before.reader == version
            if before is not None and before.stored_whole and same:
                # Touched (or readable again), not changed: new mtime, the same chunks.
                record(sha, "indexed", chunks=before.chunks, error=before.error, done=before.chunks)
                report.unchanged += 1
                return None
            try:
                text = self.reader.read(path.name, data, progress=pages, cancel=run.cancel)
            finally:
                progress.pages_done = progress.pages_total = 0
            if run.cancel.is_cancelled():
                return None  # as it was: the next run reads it again
            text, note = cut_long_text(text, path.name, self.max_text_chars)
            del data
            chunks = chunk_text(text, self.max_chars)
            start = 0
            if (
                before is not None
                and before.status != "failed"
                and same
                and before.chunks == len(chunks)
            ):
                start = min(before.done, len(chunks))  # an interrupted run stored these
            elif before is not None and before.chunks > len(chunks):
                stale = range(len(chunks), before.chunks)
                self.store.delete("document", [chunk_id(key, i) for i in stale])
            if start and limit is not None:
                report.reused += start
            state = record(sha, "pending", chunks=len(chunks), error=note, done=start)
            progress.current_done, progress.current_total = start, len(chunks)
            end = len(chunks) if limit is None else min(len(chunks), start + limit)
            now = time.time()
            for first in range(start, end, self.batch_size):
                if run.cancel.is_cancelled():
                    return None  # stays "pending": the next run continues from here
                run.wait()
                batch = chunks[first : min(first + self.batch_size, end)]
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
                            {
                                "path": key,
                                "chunk": c.index,
                                "start": c.start,
                                "folder": item.folder,
                            },
                        )
                        for c in batch
                    ],
                    vectors,
                )
                # Only once the batch is durable: a kill from here on does not redo it.
                state = record(
                    sha, "pending", chunks=len(chunks), error=note, done=first + len(batch)
                )
                progress.chunks_done += len(batch)
                progress.current_done = first + len(batch)
                report.embedded += len(batch)
                run.tick(progress)
            if end < len(chunks):
                return state
            record(sha, "indexed", chunks=len(chunks), error=note, done=len(chunks))
            report.indexed.append(key)
            report.chunks += len(chunks)
            if note:
                report.notes.append((key, note))
        except (DocumentError, FileRefusedError) as exc:
            if run.cancel.is_cancelled():
                return None  # stopped while reading, not broken: as it was
            log.info("skipped %s: %s", key, exc.message)  # the report tells the user
            report.failed.append((key, exc.message))
            self.store.delete_where("document", "path", key)
            record("", "failed", error=exc.message)
        except OSError as exc:
            message = _unreadable(path, exc)
            log.info("skipped %s: %s", key, message)  # the report tells the user
            report.failed.append((key, message))
            # What an earlier run stored stays: the file may well be readable again soon.
            if before is None:
                record("", "unreadable", error=message)
            else:
                record(
                    before.sha256,
                    "unreadable",
                    chunks=before.chunks,
                    error=message,
                    done=before.done,
                    reader=before.reader,
                )
        return None

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


def _unreadable(path: Path, exc: OSError) -> str:
    return f"{path.name} cannot be read: {exc.strerror or exc}. Hearth tries again on the next run."
