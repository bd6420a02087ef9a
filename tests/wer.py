"""Word error rate: how far what speech recognition heard is from what was said."""

from __future__ import annotations

import re


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation; small numbers as digits (Whisper writes both)."""
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()
    numbers = {"six": "6", "ten": "10", "one": "1", "two": "2", "three": "3"}
    return [numbers.get(w, w) for w in words]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1], len(ref)
