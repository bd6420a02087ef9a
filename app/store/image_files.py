"""Attached images kept in the data folder, named by their content (sha256).

A conversation stores only the key, so the chat shows its thumbnails again after a restart; the
same image attached twice is stored once. Files are written atomically; ``prune`` removes images
no message refers to any more (after a conversation is deleted).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterable
from pathlib import Path

from app.fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[0-9a-f]{64}$")


class ImageFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path | None:
        if not _KEY.match(key):
            return None
        return self.root / key[:2] / f"{key}.png"

    def save(self, png: bytes) -> str:
        key = hashlib.sha256(png).hexdigest()
        path = self._path(key)
        assert path is not None
        if not path.is_file() or path.stat().st_size != len(png):
            atomic_write_bytes(path, png)
        return key

    def load(self, key: str) -> bytes | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def keys(self) -> set[str]:
        if not self.root.is_dir():
            return set()
        return {p.stem for p in self.root.glob("??/*.png") if _KEY.match(p.stem)}

    def prune(self, keep: Iterable[str]) -> list[str]:
        """Delete every stored image whose key is not in ``keep``; returns the deleted keys."""
        unused = sorted(self.keys() - set(keep))
        for key in unused:
            path = self._path(key)
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
        if unused:
            log.info("removed %d image(s) no conversation uses", len(unused))
        return unused
