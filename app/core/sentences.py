"""Streaming sentence splitter: speak a reply while the model is still writing it.

Feed it the reply in pieces of any size; it returns each sentence as soon as the sentence is
certainly complete, cleaned up for speech. The result never depends on how the text was cut
into pieces: a decision is only taken once every character it depends on has arrived.

What counts as an end: ``.``, ``!``, ``?`` or ``…`` (possibly repeated, possibly followed by
closing quotes, brackets or emphasis marks) followed by white space, unless the word before is
an abbreviation ("e.g.", "Dr.", "etc.") or an initial ("J. Smith"); and every line end. So
decimals (3.14), versions (1.2.3), file names and URLs (example.com/a.b) are never split.

Markdown is made speakable: list markers, headings and quote marks are dropped, emphasis and
inline code marks are removed, links are read by their text and bare URLs as "a link". Code
blocks and tables are not read aloud: one short sentence says they are on screen instead.
"""

from __future__ import annotations

import re

CODE_SENTENCE = "The code is shown on screen."
TABLE_SENTENCE = "The table is shown on screen."

TERMINATORS = ".!?…"
CLOSERS = "\"')]}*_”’»"
FENCES = ("```", "~~~")
ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "eg",
        "ie",
        "no",
        "nos",
        "fig",
        "figs",
        "approx",
        "dept",
        "inc",
        "ltd",
        "co",
        "corp",
        "mt",
        "ave",
        "rd",
        "blvd",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "ca",
        "cf",
        "al",
        "esp",
        "est",
        "min",
        "max",
        "vol",
        "pp",
        "ed",
        "eds",
        "rev",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "gov",
        "sen",
        "rep",
        "pres",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
        "u.s",
        "u.k",
        "u.n",
        "w.r.t",
    ]
)
_LIST_MARKER = re.compile(r"[ \t]*(?:[-*+•]|\d{1,3}[.)]|#{1,6}|>)[ \t]+")
_MAYBE_MARKER = re.compile(r"[ \t]*(?:[-*+•]|\d{1,3}[.)]?|#{1,6}|>)?")
_LAST_WORD = re.compile(r"([^\s(\[{\"'“‘]+)\.$")
_DOTTED = re.compile(r"(?:[a-z]\.)+[a-z]")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(r"\b(?:https?://|www\.)\S+?(?=[.,;:!?)\]]*(?:\s|$))")
_STRONG = re.compile(r"(\*\*|__|~~)(.+?)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])")
_INLINE_CODE = re.compile(r"`+([^`]*)`+")
_SPACES = re.compile(r"\s+")


def speakable(text: str) -> str:
    """Markdown inline marks removed, links read by their text, white space folded."""
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub("a link", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\2", text)
    return _SPACES.sub(" ", text).strip()


def _is_abbreviation(prefix: str) -> bool:
    """Does ``prefix`` (ending with '.') end with an abbreviation or an initial?"""
    match = _LAST_WORD.search(prefix)
    if match is None:
        return False
    word = match.group(1).lower().rstrip(".")
    if word in ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "J. R. R. Tolkien"
    return bool(_DOTTED.fullmatch(word))


class SentenceSplitter:
    def __init__(self) -> None:
        self._buffer = ""
        self._line_start = True
        self._in_code = False
        self._skip_line = False
        self._last = ""

    def feed(self, text: str) -> list[str]:
        """Add streamed text; return the sentences it completed."""
        self._buffer += text
        return self._drain(final=False)

    def flush(self) -> list[str]:
        """The reply is over: return whatever is left as the last sentence."""
        out = self._drain(final=True)
        self._buffer = ""
        self._line_start = True
        self._in_code = self._skip_line = False
        return out

    def _emit(self, out: list[str], raw: str) -> None:
        sentence = speakable(raw)
        if not any(ch.isalnum() for ch in sentence):
            return
        if sentence in (CODE_SENTENCE, TABLE_SENTENCE) and sentence == self._last:
            return  # one notice per block, not per line
        self._last = sentence
        out.append(sentence)

    def _drain(self, *, final: bool) -> list[str]:
        out: list[str] = []
        while self._buffer:
            buf = self._buffer
            if self._skip_line or self._in_code:
                newline = buf.find("\n")
                if newline < 0:
                    if final:
                        self._buffer = ""
                    break
                line, self._buffer = buf[:newline], buf[newline + 1 :]
                if self._skip_line:
                    self._skip_line = False
                elif line.strip().startswith(FENCES):
                    self._in_code = False
                self._line_start = True
                continue
            if self._line_start:
                newline = buf.find("\n")
                head = buf if newline < 0 else buf[:newline]
                stripped = head.lstrip(" \t")
                complete = newline >= 0 or final
                if (
                    not complete
                    and len(stripped) < 3
                    and any(f.startswith(stripped) for f in FENCES)
                ):
                    break  # could still become a code fence
                if stripped.startswith(FENCES):
                    self._in_code = self._skip_line = True
                    self._emit(out, CODE_SENTENCE)
                    continue
                if stripped.startswith("|"):
                    self._skip_line = True
                    self._emit(out, TABLE_SENTENCE)
                    continue
                if not complete and _MAYBE_MARKER.fullmatch(head):
                    break  # "12" may become "12. " (a list marker) or "12 apples"
                marker = _LIST_MARKER.match(buf)
                if marker is not None:
                    buf = self._buffer = buf[marker.end() :]
                self._line_start = False
                self._last = "" if self._last in (CODE_SENTENCE, TABLE_SENTENCE) else self._last
                continue
            end = self._find_end(buf, final=final)
            if end is None:
                break
            sentence, rest = buf[:end], buf[end:]
            if rest.startswith("\n"):
                rest = rest[1:]
                self._line_start = True
            else:
                rest = rest.lstrip(" \t")
                if rest.startswith("\n"):
                    rest = rest[1:]
                    self._line_start = True
            self._buffer = rest
            self._emit(out, sentence)
        return out

    @staticmethod
    def _find_end(buf: str, *, final: bool) -> int | None:
        """Index just past the first certain sentence end, or None to wait for more text."""
        i = 0
        while i < len(buf):
            ch = buf[i]
            if ch == "\n":
                return i
            if ch in TERMINATORS:
                j = i + 1
                while j < len(buf) and buf[j] in TERMINATORS:
                    j += 1
                while j < len(buf) and buf[j] in CLOSERS:
                    j += 1
                if j >= len(buf):
                    return len(buf) if final else None
                if buf[j] in " \t\n" and not (ch == "." and _is_abbreviation(buf[: i + 1])):
                    return j
                i = j
                continue
            i += 1
        return len(buf) if final and buf else None
