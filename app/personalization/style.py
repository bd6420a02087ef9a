"""How close a reply is to the reply the user wanted, in style and form (0..1).

Pure Python, used by the evaluation gate on held-out examples. Two parts, averaged:

* chrF (character n-gram F-score, n = 1..4, recall weighted twice): phrasing, wording,
  punctuation and format marks, without a tokenizer and fair to short replies;
* length agreement: ``min(a, b) / max(a, b)`` of the word counts, since "short and plain"
  versus "long and thorough" is the first thing a user's edits say.
"""

from __future__ import annotations

from collections import Counter

ORDER = 4
BETA = 2.0


def _grams(text: str, n: int) -> Counter[str]:
    compact = " ".join(text.split())
    return Counter(compact[i : i + n] for i in range(len(compact) - n + 1))


def chrf(candidate: str, reference: str) -> float:
    scores = []
    for n in range(1, ORDER + 1):
        got, want = _grams(candidate, n), _grams(reference, n)
        if not got or not want:
            continue
        overlap = sum((got & want).values())
        precision = overlap / sum(got.values())
        recall = overlap / sum(want.values())
        if precision + recall == 0:
            scores.append(0.0)
            continue
        b2 = BETA * BETA
        scores.append((1 + b2) * precision * recall / (b2 * precision + recall))
    return sum(scores) / len(scores) if scores else 0.0


def length_agreement(candidate: str, reference: str) -> float:
    a, b = len(candidate.split()), len(reference.split())
    if a == 0 or b == 0:
        return 1.0 if a == b else 0.0
    return min(a, b) / max(a, b)


def similarity(candidate: str, reference: str) -> float:
    return (chrf(candidate, reference) + length_agreement(candidate, reference)) / 2
