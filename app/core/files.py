"""Reading a file the user pointed at, without being led somewhere else.

Every file Hearth reads on the user's behalf (documents of an indexed folder, an attached
image, an audio file to transcribe) goes through :func:`read_regular_file`:

* only regular files are read. A named pipe (FIFO) would block ``open`` for ever, a link to
  ``/dev/zero`` would never end; both are refused with the reason, and the check is made on
  the opened descriptor (``fstat``), so a file swapped for a pipe after it was listed cannot
  slip through;
* ``O_NONBLOCK`` on open: opening a FIFO returns at once instead of waiting for a writer;
* with ``inside``, a link whose target lies outside that folder is refused: a file linked
  into an indexed folder must not carry a secret from elsewhere into memory;
* at most ``max_bytes`` are read, and a larger file is refused before it is read whole.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import AssistantError

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_BLOCK = 1024 * 1024


class FileRefusedError(AssistantError):
    """A path that is not a regular file Hearth may read; the message says what it is."""

    code = "not-a-file"


class FileTooLargeError(FileRefusedError):
    code = "file-too-large"


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words ("a named pipe (FIFO)", "a device", ...)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a link"
    return "not a regular file"


@dataclass(frozen=True, slots=True)
class Checked:
    """A path that is (or, when listed, was) a regular file Hearth may read."""

    target: Path
    """The file actually read: ``path`` itself, or a link's resolved target."""
    stat: os.stat_result
    """Of ``target``."""


def is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _regular_only(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise FileRefusedError(f"{path.name} is {kind_of(info.st_mode)}, not a file Hearth reads.")


def check_regular_file(path: Path, *, inside: Path | None = None) -> Checked:
    """Without opening anything: is ``path`` a regular file (through links that stay inside
    ``inside``)? Raises :class:`FileRefusedError` with a plain reason, or OSError if it cannot
    even be looked at (a permission error is worth trying again later)."""
    info = os.lstat(path)
    target = path
    if stat.S_ISLNK(info.st_mode):
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError) as exc:  # RuntimeError: a loop of links
            raise FileRefusedError(f"{path.name} is a link to nothing that can be opened.") from exc
        if inside is not None and not is_within(target, inside.resolve()):
            raise FileRefusedError(
                f"{path.name} is a link to {target}, outside the folder; Hearth only reads "
                "files inside the folders you chose."
            )
        info = os.stat(target)
    elif inside is not None and not is_within(path.resolve(), inside.resolve()):
        # A link among the folders above the file (the folder itself may be reached
        # through one; that is the user's choice, checked against ``inside`` resolved).
        raise FileRefusedError(f"{path.name} lies outside the folder; it is not read.")
    _regular_only(path, info)
    return Checked(target, info)


def read_regular_file(
    path: Path, *, max_bytes: int, inside: Path | None = None, what: str = "a file"
) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` (see the module doc).

    Raises :class:`FileRefusedError` (not a regular file, a link outside ``inside``),
    :class:`FileTooLargeError`, or OSError (permission denied, I/O error: possibly passing)."""
    checked = check_regular_file(path, inside=inside)
    try:
        fd = os.open(checked.target, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the target became a link after the check
            raise FileRefusedError(f"{path.name} changed into a link while it was read.") from exc
        raise
    try:
        info = os.fstat(fd)
        _regular_only(path, info)  # again, on what was opened
        if info.st_size > max_bytes:
            raise FileTooLargeError(
                f"{path.name} is {info.st_size / 1e6:,.0f} MB; Hearth reads {what} of up to "
                f"{max_bytes / 1e6:,.0f} MB."
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        blocks: list[bytes] = []
        size = 0
        while block := os.read(fd, _BLOCK):
            blocks.append(block)
            size += len(block)
            if size > max_bytes:  # it grew while being read
                raise FileTooLargeError(
                    f"{path.name} is larger than the {max_bytes / 1e6:,.0f} MB Hearth reads."
                )
        return b"".join(blocks)
    finally:
        os.close(fd)
