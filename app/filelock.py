"""Advisory file locks held by the operating system.

The kernel releases the lock when the holding process dies, however it dies (kill -9
included), so a lock file left on disk is never "stale": whoever can take the lock owns it.
The file also records who holds it (pid and what it is: the window, `hearth index`, ...), so
a message can say which process is in the way.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int, blocking: bool) -> bool:
        mode = msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, mode, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int, blocking: bool) -> bool:
        flags = fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


APP_HOLDER = "the Hearth window"


def command_holder(command: str) -> str:
    """How a command-line run is named in lock messages: "`hearth index`"."""
    return f"`hearth {command}`"


@dataclass(frozen=True, slots=True)
class LockOwner:
    pid: int
    holder: str
    """What holds the lock ("the Hearth window", "`hearth ask`"; empty if unknown)."""

    @property
    def is_app(self) -> bool:
        return self.holder == APP_HOLDER

    def describe(self) -> str:
        """Who holds the lock, for a message: the Hearth window (process 1234)."""
        process = f" (process {self.pid})" if self.pid else ""
        return f"{self.holder or 'another Hearth process'}{process}"


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, *, blocking: bool = False, holder: str = "") -> bool:
        """Take the lock; False if another process holds it (only when not blocking).
        ``holder`` says what takes it, for other processes' messages."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd, blocking):
            os.close(fd)
            return False
        self._fd = fd
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n{holder}\n".encode())
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            _unlock(fd)
        os.close(fd)

    def owner(self) -> LockOwner | None:
        """Who wrote the lock file last (the current holder, if the lock is held)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return None
        if not lines or not lines[0].strip().isdigit():
            return None
        return LockOwner(int(lines[0]), lines[1].strip() if len(lines) > 1 else "")

    def owner_pid(self) -> int | None:
        """The pid written by the current holder, if readable."""
        owner = self.owner()
        return owner.pid if owner else None

    def __enter__(self) -> FileLock:
        self.acquire(blocking=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
