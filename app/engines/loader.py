"""One lazy loader for every engine adapter: load once, under a lock, heavy import inside.

An adapter hands :class:`LazyModel` a ``build`` function that imports its library, reads the
model (inside ``verified_while_loading`` where there is a file to check) and returns the
loaded object. Whatever thread asks first loads it; the others wait for that load instead of
starting a second one. A failed load leaves nothing behind, so the next call tries again
(after the user repaired the file). ``close`` drops the object; the next use loads it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class LazyModel(Generic[T]):
    def __init__(
        self,
        what: str,
        build: Callable[[], T],
        release: Callable[[T], None] | None = None,
    ) -> None:
        self.what = what
        self._build = build
        self._release = release
        self._lock = threading.RLock()
        self._model: T | None = None
        self.load_seconds = 0.0

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def current(self) -> T | None:
        """The model if it is loaded (None otherwise); never loads."""
        return self._model

    @property
    def lock(self) -> threading.RLock:
        """Held while loading and closing; an adapter may hold it around a call the library
        does not allow concurrently (the same lock, so close never pulls the model away)."""
        return self._lock

    def get(self) -> T:
        """The loaded model (loading it now if needed)."""
        model = self._model
        if model is not None:
            return model
        with self._lock:
            if self._model is None:
                started = time.monotonic()
                self._model = self._build()
                self.load_seconds = time.monotonic() - started
                log.info("loaded %s in %.2f s", self.what, self.load_seconds)
            return self._model

    def close(self) -> None:
        with self._lock:
            model, self._model = self._model, None
        if model is not None and self._release is not None:
            self._release(model)
