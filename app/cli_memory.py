"""`hearth index FOLDER` and `hearth recall "query"`: the app's memory from a terminal.

Both take the data folder's single-instance lock, since the embedded store is one process's at
a time; when another process has it they say which (the window, another command) instead of
waiting. Everything printed from memory or from file names goes through app.terminal.safe.
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
from app.filelock import FileLock, LockOwner, command_holder
from app.settings import Paths, load_settings
from app.terminal import ProgressLine, ctrl_c_cancels, safe


def busy_message(owner: LockOwner | None) -> str:
    """Who is using the data folder, and what to do about it."""
    owner = owner or LockOwner(0, "")  # the lock file could not be read: nobody to name
    if owner.is_app:
        return (
            f"{owner.describe()} is using this data folder: use its Memory window (Ctrl+M), "
            "or close it first."
        )
    return f"{owner.describe()} is using this data folder; try again when it has finished."


def _locked(paths: Paths, command: str) -> FileLock | None:
    lock = FileLock(paths.lock_file)
    if lock.acquire(holder=command_holder(command)):
        return lock
    print(f"hearth: {busy_message(lock.owner())}", file=sys.stderr)
    return None


def _with_memory(paths: Paths, command: str, work: Callable[[Memory], int]) -> int:
    """Run ``work`` on the user's memory under the data folder's lock; errors become messages."""
    from app.bootstrap import build_memory

    lock = _locked(paths, command)
    if lock is None:
        return 1
    memory: Memory | None = None
    try:
        memory = build_memory(paths, load_settings(paths.settings_file))
        return work(memory)
    except AssistantError as exc:
        print(f"hearth: {safe(exc.message)}", file=sys.stderr)
        return 1
    finally:
        if memory is not None:
            memory.store.close()
        lock.release()


def index(
    paths: Paths, folders: Sequence[Path], *, remove: bool = False, retry: bool = False
) -> int:
    return _with_memory(
        paths, "index", lambda memory: _index(paths, memory, folders, remove, retry)
    )


def _index(paths: Paths, memory: Memory, folders: Sequence[Path], remove: bool, retry: bool) -> int:
    from app.bootstrap import make_indexer

    indexer = make_indexer(paths, memory)
    wanted = [str(f.expanduser().resolve()) for f in folders]
    if remove:
        for folder in wanted:
            gone = indexer.remove_folder(folder)
            print(f"{safe(folder)}: removed from memory ({gone} files)")
        return 0
    for folder in wanted:
        if not Path(folder).is_dir():
            print(f"hearth: {safe(folder)} is not a folder", file=sys.stderr)
            return 2
        indexer.state.add_folder(folder)

    with ProgressLine() as line:

        def progress(p: IndexProgress) -> None:
            eta = f", about {p.eta_seconds:.0f} s left" if p.eta_seconds is not None else ""
            line.update(
                f"{p.describe()}{eta}",
                now=time.monotonic(),
                force=p.files_done == p.files_total,
            )

        cancel = CancelToken()
        with ctrl_c_cancels(cancel):
            report = indexer.run(wanted, cancel=cancel, progress=progress, retry_failed=retry)
    if report.cancelled:
        print("hearth: stopped; run again to continue where it stopped", file=sys.stderr)
        return 130
    print(safe(report.summary()))
    for path, message in report.failed:
        print(safe(f"skipped {path}: {message}"))
    for path, message in report.notes:
        print(safe(f"note {path}: {message}"))
    return 0


def recall(paths: Paths, query: str, limit: int = 5) -> int:
    return _with_memory(paths, "recall", lambda memory: _recall(memory, query, limit))


def _recall(memory: Memory, query: str, limit: int) -> int:
    from app.core.memory import describe_source, worth_showing

    if not query.strip():
        print('hearth: say what to look for: hearth recall "the boiler code"', file=sys.stderr)
        return 2
    found = memory.search(query, limit=limit)
    hits = [h for h in found if worth_showing(h)]
    if not hits:
        if found:
            print("Nothing in Hearth's memory is about that.")
        else:
            print("Hearth's memory is empty: remember something in a chat, or index a folder.")
        return 0
    for n, hit in enumerate(hits, 1):
        text = " ".join(hit.record.text.split())
        where = hit.record.source if hit.record.kind == "document" else ""
        print(safe(f"[{n}] {describe_source(hit.record)} (score {hit.score:.2f}) {where}".rstrip()))
        print(safe(f"    {text[:700]}{'…' if len(text) > 700 else ''}"))
    return 0
