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
from bisect import bisect_left

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
_WORD_BREAKS = "([{\"'“‘"  # with white space: what ends the word before a "."
_DOTTED = re.compile(r"(?:[a-z]\.)+[a-z]")
# A failed image/link attempt consumes what it scanned (every later start inside it would fail
# the same way), so no character is scanned twice; _keep_text puts unmatched text back as it was.
_IMAGE = re.compile(r"!\[([^\]]*+)(?:\]\([^)]*+(\))?)?")
_LINK = re.compile(r"\[([^\]]++)(?:\]\([^)]*+(\))?)?")
# The URL runs to the last character of its \S run that is not closing punctuation (one
# character if there is none); the trailing punctuation is never rescanned.
_URL = re.compile(r"\b(?:https?://|www\.)(?:(?:[.,;:!?)\]]*+[^\s.,;:!?)\]])++|\S)")
_STRONG = re.compile(r"(\*\*|__|~~)(.+?)\1")
_EMPHASIS_OPEN = re.compile(r"(?<![\w*])[*_](?!\s)")
_EMPHASIS_CLOSE = re.compile(r"(?<!\s)[*_](?![\w*])")
_INLINE_CODE = re.compile(r"`+([^`]*)`+")
_SPACES = re.compile(r"\s+")


def _keep_text(match: re.Match[str]) -> str:
    return match.group(1) if match.group(2) else match.group(0)


def _unemphasise(line: str) -> str:
    """``*text*`` and ``_text_`` read as ``text``, on one line, in linear time.

    Exactly what ``.sub(r"\\2", line)`` with the old regex
    ``(?<![\\w*])([*_])(?!\\s)(.+?)(?<!\\s)\\1(?![\\w*])`` did: an opener is closed by the first
    closer of its kind at least two characters on. That regex rescanned the rest of the line
    from every opener that had no closer (quadratic)."""
    closers: dict[str, list[int]] = {"*": [], "_": []}
    for m in _EMPHASIS_CLOSE.finditer(line):
        closers[m.group()].append(m.start())
    out: list[str] = []
    pos = 0
    for m in _EMPHASIS_OPEN.finditer(line):
        start = m.start()
        if start < pos:
            continue
        ends = closers[m.group()]
        k = bisect_left(ends, start + 2)
        if k < len(ends):
            out += (line[pos:start], line[start + 1 : ends[k]])
            pos = ends[k] + 1
    out.append(line[pos:])
    return "".join(out)


def speakable(text: str) -> str:
    """Markdown inline marks removed, links read by their text, white space folded."""
    text = _IMAGE.sub(_keep_text, text)
    text = _LINK.sub(_keep_text, text)
    text = _URL.sub("a link", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    if "*" in text or "_" in text:
        text = "\n".join(_unemphasise(line) for line in text.split("\n"))
    return _SPACES.sub(" ", text).strip()


def _is_abbreviation(text: str, dot: int) -> bool:
    """Is the word ending with the '.' at ``text[dot]`` an abbreviation or an initial?"""
    start = dot
    while start and not (text[start - 1].isspace() or text[start - 1] in _WORD_BREAKS):
        start -= 1  # only the word itself is looked at (the old regex searched all of text)
    if start == dot:
        return False
    word = text[start:dot].lower().rstrip(".")
    if word in ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "J. R. R. Tolkien"
    return bool(_DOTTED.fullmatch(word))


CLAUSE_MARKS = ",;:"


class SentenceSplitter:
    def __init__(self, *, first_clause_words: int = 0) -> None:
        """``first_clause_words`` > 0: the first piece may end at a comma, semicolon or colon
        once it has that many words, so a long first sentence starts being spoken sooner."""
        self._clause_words = first_clause_words
        self._emitted = False
        self._buffer = ""
        self._line_start = True
        self._in_code = False
        self._skip_line = False
        self._last = ""
        self._scan = (0, 0, False)  # where _find_end resumes in the buffer (see there)

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
        self._scan = (0, 0, False)
        return out

    def _emit(self, out: list[str], raw: str) -> None:
        sentence = speakable(raw)
        if not any(ch.isalnum() for ch in sentence):
            return
        if sentence in (CODE_SENTENCE, TABLE_SENTENCE) and sentence == self._last:
            return  # one notice per block, not per line
        self._last = sentence
        self._emitted = True
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
                if buf[:1] in (" ", "\t"):
                    # leading blanks change nothing below (every test allows them) and
                    # would be rescanned by each feed while the line's start is uncertain
                    buf = self._buffer = buf.lstrip(" \t")
                    continue
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
                self._scan = (0, 0, False)
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
            self._scan = (0, 0, False)
            self._emit(out, sentence)
        return out

    def _find_end(self, buf: str, *, final: bool) -> int | None:
        """Index just past the first certain sentence end, or None to wait for more text.

        Resumes where the previous call on this buffer stopped (``self._scan``: the position,
        and inside a run of terminators and closers how far the run was read and whether it
        was at the closers yet), so streamed text is scanned once, not once per piece."""
        i, j, closing = self._scan
        n = len(buf)
        clause = self._clause_words if not self._emitted else 0
        while i < n:
            ch = buf[i]
            if ch == "\n":
                return i
            if clause and ch in CLAUSE_MARKS:
                if i + 1 >= n:
                    if final:
                        return n
                    self._scan = (i, i, False)
                    return None
                if buf[i + 1] in " \t" and len(buf[:i].split()) >= clause:
                    return i + 1
            if ch in TERMINATORS:
                j = max(j, i + 1)
                if not closing:
                    while j < n and buf[j] in TERMINATORS:
                        j += 1
                while j < n and buf[j] in CLOSERS:
                    j += 1
                    closing = True
                if j >= n:
                    if final:
                        return n
                    self._scan = (i, j, closing)
                    return None
                closing = False
                if buf[j] in " \t\n" and not (ch == "." and _is_abbreviation(buf, i)):
                    return j
                i = j
                continue
            i += 1
        self._scan = (i, i, False)
        return n if final and buf else None
