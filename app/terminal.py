"""What the command line prints: foreign text made harmless, and one progress line.

Text from documents, memories, file names, transcripts and the model can hold control
characters: an escape sequence can retitle the terminal, move the cursor over what was printed
or hide text, and bidirectional overrides reorder what is shown. :func:`safe` makes every such
character visible instead of obeying it. :class:`ProgressLine` keeps one status line at the
bottom of the terminal; log messages printed meanwhile clear it first and it is drawn again
after them, so a warning never lands in the middle of "12/40 files".
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import unicodedata
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar, TextIO

if TYPE_CHECKING:
    from app.core.cancel import CancelToken

_BIDI = {
    "\u061c",
    "\u200e",
    "\u200f",
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
}


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control pictures: ␛ for ESC, ␇ for BEL
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"\\u{code:04x}"


def safe(text: str, *, keep_lines: bool = True) -> str:
    """``text`` with every control character shown rather than obeyed (newlines and tabs
    kept when ``keep_lines``)."""
    kept = "\n\t" if keep_lines else ""
    out = []
    for char in text:
        if char in kept:
            out.append(char)
        elif char in _BIDI or unicodedata.category(char) == "Cc":
            out.append(_visible(char))
        else:
            out.append(char)
    return "".join(out)


class ProgressLine:
    """A status line rewritten in place on a terminal (plain lines, throttled, elsewhere)."""

    active: ClassVar[ProgressLine | None] = None

    def __init__(self, stream: TextIO | None = None, *, every: float = 0.5) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every
        self._text = ""
        self._shown = False
        self._last = float("-inf")  # the first update always shows
        self._lock = threading.RLock()

    def __enter__(self) -> ProgressLine:
        ProgressLine.active = self
        return self

    def __exit__(self, *_exc: object) -> None:
        self.finish()

    def update(self, text: str, *, now: float, force: bool = False) -> None:
        with self._lock:
            if not force and now - self._last < self.every:
                return
            self._last = now
            self._text = safe(text, keep_lines=False)
            if self.tty:
                self.stream.write(f"\r\x1b[K{self._text}")
            else:
                self.stream.write(self._text + "\n")
            self.stream.flush()
            self._shown = self.tty

    def clear(self) -> None:
        with self._lock:
            if self._shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()

    def redraw(self) -> None:
        with self._lock:
            if self._shown and self._text:
                self.stream.write(self._text)
                self.stream.flush()

    def finish(self) -> None:
        with self._lock:
            if self._shown:
                self.stream.write("\n")
                self.stream.flush()
            self._shown = False
            if ProgressLine.active is self:
                ProgressLine.active = None


class ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Log messages for the terminal, made safe, around the progress line if one is shown."""

    def emit(self, record: logging.LogRecord) -> None:
        line = ProgressLine.active
        if line is not None:
            line.clear()
        super().emit(record)
        if line is not None:
            line.redraw()

    def format(self, record: logging.LogRecord) -> str:
        return safe(super().format(record))


@contextlib.contextmanager
def ctrl_c_cancels(cancel: CancelToken) -> Iterator[None]:
    """Ctrl+C cancels ``cancel`` instead of raising KeyboardInterrupt, for the commands whose
    work checks a token. A KeyboardInterrupt can be lost: raised inside a ``__del__`` (a
    progress bar of a library being collected), Python prints "Exception ignored" and the
    work runs on to its end. A handler that only sets the token cannot be lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_sig: int, _frame: object) -> None:
        cancel.cancel("interrupted")

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
