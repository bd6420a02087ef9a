"""The foreground gate: background work waits while the user is being served.

A turn, a recording or a spoken reply holds the gate; indexing (and, later, training and
re-indexing) calls :meth:`ForegroundGate.wait_clear` between small steps and so gives the two
cores back to the voice turn at once. One gate is made in ``app.bootstrap`` and handed to
everything that holds it or waits on it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from app.core.cancel import CancelToken


class ForegroundGate:
    def __init__(self) -> None:
        self._holds: Counter[str] = Counter()
        self._changed = threading.Condition()

    def hold(self, reason: str) -> None:
        """``reason`` ("turn", "recording", "speaking") starts; holds of one reason nest."""
        with self._changed:
            self._holds[reason] += 1
            self._changed.notify_all()

    def release(self, reason: str) -> None:
        """``reason`` ended (a release without a hold is ignored)."""
        with self._changed:
            if self._holds[reason] <= 0:
                return
            self._holds[reason] -= 1
            if self._holds[reason] == 0:
                del self._holds[reason]
            self._changed.notify_all()

    @contextmanager
    def held(self, reason: str) -> Iterator[None]:
        self.hold(reason)
        try:
            yield
        finally:
            self.release(reason)

    @property
    def busy(self) -> bool:
        with self._changed:
            return bool(self._holds)

    def reasons(self) -> list[str]:
        with self._changed:
            return sorted(self._holds)

    def wait_clear(self, cancel: CancelToken | None = None, poll: float = 0.1) -> None:
        """Return once nothing holds the gate (or ``cancel`` is set)."""
        with self._changed:
            while self._holds and not (cancel is not None and cancel.is_cancelled()):
                self._changed.wait(poll)

    def wait_busy(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for something to hold the gate; True if it does."""
        with self._changed:
            if not self._holds:
                self._changed.wait(timeout)
            return bool(self._holds)

    def open_all(self) -> None:
        """Drop every hold (shutting down: nothing may wait on a gate no one will release)."""
        with self._changed:
            self._holds.clear()
            self._changed.notify_all()
