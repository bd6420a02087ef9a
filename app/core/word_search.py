"""Search by words: the records holding every word typed, in any order and any case.

One definition for every store (chroma in the app, a list in tests): a word matches when it
appears anywhere in the text ("birth" finds "birthday"), ignoring case; a possessive is its
noun ("sister's" finds "my sister"); punctuation around a word is not part of it.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w(?:[\w'’-]*\w)?")
_REGEX_META = set(r"\.+*?()|[]{}^$#&-~")


def query_words(query: str) -> tuple[str, ...]:
    """The words of a words search, lower case, without repeats, longest first (the longest
    word is usually the rarest, so a store can look for it first)."""
    words: list[str] = []
    for found in _WORD.findall(query):
        word = found.lower()
        for suffix in ("'s", "’s"):
            word = word.removesuffix(suffix)
        word = word.strip("'’-")
        if word and word not in words:
            words.append(word)
    return tuple(sorted(words, key=len, reverse=True))


def has_all_words(text: str, words: tuple[str, ...] | list[str]) -> bool:
    """Every word appears in ``text`` (ignoring case); no words: every text matches."""
    folded = text.lower()
    return all(word in folded for word in words)


def word_regex(word: str) -> str:
    """A case-insensitive regular expression that finds ``word`` anywhere (chroma's
    ``$regex``; its syntax escapes the same punctuation as Python's)."""
    return "(?i)" + "".join(f"\\{c}" if c in _REGEX_META else c for c in word)
