"""Secrets in text Hearth would otherwise keep: passwords, PINs, keys and card numbers.

A photo of the router's label, a pasted screenshot of a sign-up page: what OCR reads from
them goes into the chat (the user asked about it) but is not kept in memory unless the user
asks for it ("remember that the Wi-Fi password is ..."). :func:`redact` leaves the words
around a secret and replaces the secret itself, so "the Wi-Fi label" can still be found.
"""

from __future__ import annotations

import re

SECRET = "[secret left out]"

_LABEL = (
    r"(?:wi-?fi\s+)?(?:password|passwort|passwd|pass\s*phrase|passphrase|passcode|pwd|pin"
    r"(?:\s+code)?|wpa2?(?:\s*-?\s*psk)?(?:\s+key)?|network\s+key|security\s+key|wi-?fi\s+key"
    r"|api[\s_-]*key|access[\s_-]*key|secret(?:[\s_-]*key)?|token|private\s+key|cvv|cvc)"
)
_LABELLED = re.compile(
    rf"(?i)\b(?P<label>{_LABEL})\b(?P<sep>\s*(?:[:=]|\bis\b|\bwas\b)\s*|\s+)"
    r"(?P<value>[\"'“]?[^\s\"'”]{3,}[\"'”]?)"
)
_KEY_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|xox[abpr]-[A-Za-z0-9-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)
_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_NOT_A_VALUE = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "for",
        "to",
        "and",
        "or",
        "is",
        "was",
        "be",
        "your",
        "my",
        "our",
        "their",
        "this",
        "that",
        "here",
        "there",
        "below",
        "above",
        "required",
        "optional",
        "incorrect",
        "wrong",
        "forgotten",
        "reset",
        "change",
        "changed",
        "field",
    ]
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def redact(text: str) -> tuple[str, int]:
    """``text`` with each secret replaced by :data:`SECRET`, and how many there were."""
    count = 0

    def labelled(match: re.Match[str]) -> str:
        nonlocal count
        value = match.group("value").strip("\"'“”")
        if value.lower().rstrip(".,;:") in _NOT_A_VALUE:
            return match.group(0)
        count += 1
        return f"{match.group('label')}{match.group('sep')}{SECRET}"

    def shaped(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return SECRET

    def card(match: re.Match[str]) -> str:
        nonlocal count
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and _luhn(digits):
            count += 1
            return SECRET
        return match.group(0)

    out = _LABELLED.sub(labelled, text)
    out = _KEY_SHAPES.sub(shaped, out)
    out = _CARD.sub(card, out)
    return out, count


def has_secret(text: str) -> bool:
    return redact(text)[1] > 0
