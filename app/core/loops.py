"""Replies that fall into a loop: a small model sometimes writes one line again and again
until the token limit (the fast model was seen repeating a line a dozen times). The guard
watches the streamed reply, and once a line or sentence of some length has come a third time
(or a short phrase runs on many times in a row), the reply is stopped and trimmed back to
where the repetition began, keeping one copy.

Lines inside code blocks are not counted: code repeats lines for good reasons.
"""

from __future__ import annotations

import re

REPEATS = 3
"""A line or sentence said this many times is a loop."""
MIN_CHARS = 12
"""Shorter units ("Yes.", "}") repeat legitimately."""
RUN_REPEATS = 10
"""A phrase of up to RUN_CHARS characters repeated this many times in a row is a loop too (a
reply may well repeat a phrase for effect a few times)."""
RUN_CHARS = 40

_UNITS = re.compile(r"[^\n.!?]+[.!?]*|\n")
_FENCE = re.compile(r"^\s*```")


def _norm(unit: str) -> str:
    return " ".join(unit.lower().split()).strip(" .!?")


class LoopGuard:
    def __init__(self) -> None:
        self.text = ""
        self.cut_at: int | None = None
        """Where the reply is trimmed to, once a loop was seen."""

    def feed(self, piece: str) -> bool:
        """Add a streamed piece; True once the reply has fallen into a loop."""
        if self.cut_at is not None:
            return True
        self.text += piece
        self.cut_at = _loop_start(self.text)
        return self.cut_at is not None

    def trimmed(self) -> str:
        return self.text if self.cut_at is None else self.text[: self.cut_at].rstrip()


def _loop_start(text: str) -> int | None:
    """Where the second copy of a unit said REPEATS times begins, or where a run of one short
    phrase repeated RUN_REPEATS times in a row begins its second copy; None: no loop."""
    seen: dict[str, list[int]] = {}
    in_code = False
    line_start = 0
    for match in _UNITS.finditer(text):
        unit = match.group(0)
        if unit == "\n":
            line_start = match.end()
            continue
        if match.start() == line_start and _FENCE.match(unit):
            in_code = not in_code
            continue
        if in_code or (
            not match.group(0).rstrip().endswith((".", "!", "?")) and (match.end() == len(text))
        ):
            continue  # inside code, or the unit is still being written
        key = _norm(unit)
        if len(key) < MIN_CHARS:
            continue
        places = seen.setdefault(key, [])
        places.append(match.start())
        if len(places) >= REPEATS:
            return places[1]
    return _run_start(text)


def _run_start(text: str) -> int | None:
    tail = text[-RUN_CHARS * RUN_REPEATS * 2 :]
    offset = len(text) - len(tail)
    for size in range(3, RUN_CHARS + 1):
        if len(tail) < size * RUN_REPEATS:
            break
        unit = tail[-size:]
        if not unit.strip():
            continue
        count = 1
        while tail[-size * (count + 1) : -size * count or None] == unit:
            count += 1
        if count >= RUN_REPEATS:
            first = len(tail) - size * count
            return offset + first + size  # keep one copy
    return None
