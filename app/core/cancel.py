"""Cooperative cancellation shared between the GUI thread and worker threads."""

from __future__ import annotations

import threading


class CancelToken:
    """Set from any thread; checked by the stages at every yield (token, sentence, segment)."""

    __slots__ = ("_event", "reason")

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def is_cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; return True as soon as the token is cancelled."""
        return self._event.wait(timeout)
