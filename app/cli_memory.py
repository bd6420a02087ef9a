"""`hearth index FOLDER` and `hearth recall "query"`: the app's memory from a terminal.

Both take the data folder's single-instance lock, since the embedded store is one process's at
a time; when the app is running they say so instead of waiting.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from app.core.cancel import CancelToken
from app.core.documents import IndexProgress
from app.core.errors import AssistantError
from app.core.memory import Memory
from app.filelock import FileLock
from app.settings import Paths, load_settings


def _locked(paths: Paths) -> FileLock | None:
    lock = FileLock(paths.lock_file)
    if lock.acquire():
        return lock
    pid = lock.owner_pid()
    print(
        f"hearth: Hearth is running{f' (process {pid})' if pid else ''} with this data folder; "
        "use its Memory window, or close it first.",
        file=sys.stderr,
    )
    return None


def _with_memory(paths: Paths, work: Callable[[Memory], int]) -> int:
    """Run ``work`` on the user's memory under the data folder's lock; errors become messages."""
    from app.bootstrap import build_memory

    lock = _locked(paths)
    if lock is None:
        return 1
    memory: Memory | None = None
    try:
        memory = build_memory(paths, load_settings(paths.settings_file))
        return work(memory)
    except AssistantError as exc:
        print(f"hearth: {exc.message}", file=sys.stderr)
        return 1
    finally:
        if memory is not None:
            memory.store.close()
        lock.release()


def index(paths: Paths, folders: Sequence[Path], *, remove: bool = False) -> int:
    return _with_memory(paths, lambda memory: _index(paths, memory, folders, remove))


def _index(paths: Paths, memory: Memory, folders: Sequence[Path], remove: bool) -> int:
    from app.bootstrap import make_indexer

    indexer = make_indexer(paths, memory)
    wanted = [str(f.expanduser().resolve()) for f in folders]
    if remove:
        for folder in wanted:
            gone = indexer.remove_folder(folder)
            print(f"{folder}: removed from memory ({gone} files)")
        return 0
    for folder in wanted:
        if not Path(folder).is_dir():
            print(f"hearth: {folder} is not a folder", file=sys.stderr)
            return 2
        indexer.state.add_folder(folder)
    last = [0.0]

    def progress(p: IndexProgress) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and p.files_done < p.files_total:
            return
        last[0] = now
        eta = f", about {p.eta_seconds:.0f} s left" if p.eta_seconds is not None else ""
        print(
            f"\r{p.files_done}/{p.files_total} files, {p.chunks_done} chunks{eta}   ",
            end="",
            file=sys.stderr,
            flush=True,
        )

    cancel = CancelToken()
    try:
        report = indexer.run(wanted, cancel=cancel, progress=progress)
    except KeyboardInterrupt:
        print("\nhearth: stopped; run again to continue where it stopped", file=sys.stderr)
        return 130
    print(file=sys.stderr)
    print(report.summary())
    for path, message in report.failed:
        print(f"skipped {path}: {message}")
    return 0


def recall(paths: Paths, query: str, limit: int = 5) -> int:
    return _with_memory(paths, lambda memory: _recall(memory, query, limit))


def _recall(memory: Memory, query: str, limit: int) -> int:
    hits = memory.search(query, limit=limit)
    if not hits:
        print("Hearth's memory is empty: remember something in a chat, or index a folder.")
        return 0
    from app.core.memory import describe_source

    for n, hit in enumerate(hits, 1):
        text = " ".join(hit.record.text.split())
        where = hit.record.source if hit.record.kind == "document" else ""
        print(f"[{n}] {describe_source(hit.record)} (score {hit.score:.2f}) {where}".rstrip())
        print(f"    {text[:700]}{'…' if len(text) > 700 else ''}")
    return 0
