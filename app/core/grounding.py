"""Whether a reply rests on what was recalled, and the quote that shows it.

A small model asked about the user's own life or files, with nothing relevant recalled, invents
an answer ("Your sister's birthday is October 22nd"). Hearth does not let it: a question about
the user's documents or memories is answered from a recalled source, with the exact sentence
of the source that supports it quoted under the reply, or Hearth says it could not find it. A
general question may still be answered from the model's own knowledge, and is marked so.

Everything here is plain text logic: salient words shared between a reply's sentences and the
sources' sentences (words the question already had do not count: repeating the question is
not support).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.memory import describe_source, salient_words, split_sentences
from app.core.ports import MemoryHit

NOT_FOUND = "I couldn't find that in your files or memories."
NOT_SUPPORTED = "I couldn't find that in your files or memories, so I won't guess."
NEAREST = "The nearest passage I found says: “{quote}” [{n}]"

_WH = r"(?:what|when|where|who|whom|whose|which|how\s+(?:many|much|old|long|often|far))"
_MINE = r"(?:my|our|mine|ours)"
_PERSONAL_QUESTION = re.compile(
    rf"(?i)\b{_WH}\b[^?.!]*\b{_MINE}\b"
    rf"|\b{_WH}\b[^?.!]*\b(?:did|do|have|had|am|was)\s+(?:i|we)\b"
    rf"|\b(?:do|did)\s+(?:i|we)\s+(?:have|own|keep|know|pay|owe)\b"
    r"|\bwhat(?:'s| is| are| was)\s+(?:my|our)\b"
)
_DOC = (
    r"(?:files?|documents?|docs?|documentation|notes?|manuals?|guides?|handbooks?|faqs?|"
    r"papers?|man\s+pages?|pages?|references?|reports?|pdfs?|books?|articles?|specs?|"
    r"specifications?|memor(?:y|ies)|folders?|readmes?|protocols?)"
)
"""What a user calls something of theirs Hearth has read."""
_SAYS = (
    r"(?:says?|said|mentions?|suggests?|recommends?|gives?|lists?|names?|points?|tells?|"
    r"quotes?|thanks?|describes?|estimates?|states?|explains?|calls?|claims?)"
)
_NAMED = r"(?:[\w'’./+&-]+\s+){0,5}?"
"""Up to five words naming it: "the CVS client/server protocol doc", "Brian Berliner's paper"."""
_MY_DOCS = re.compile(
    rf"(?i)\b(?:my|our)\s+{_NAMED}{_DOC}\b"
    r"|\b(?:in|from|according\s+to|does|do)\s+(?:my|our|the|this|that)\s+"
    r"(?:files?|documents?|docs|notes?|manuals?|pdfs?|reports?|papers?|memor(?:y|ies)|folder)\b"
    r"|\b[\w-]+\.(?:pdf|txt|md|markdown|docx|html?)\b"
)
"""The question says outright it is about the user's own files ("in my notes", "my Gutenprint
manual", "report.pdf")."""
_A_DOC = re.compile(
    rf"(?i)\b(?:in|from|according\s+to|per|of)\s+(?:the|this|that|these|those)?\s*{_NAMED}{_DOC}\b"
    rf"|\b{_DOC}\s+{_SAYS}\b"
)
"""The question is about what a document says ("according to the zlib FAQ", "what does the
ReportLab guide say"), which may be one of the user's, or a book in general."""
_HOW_TO = re.compile(r"(?i)^\s*(?:how\s+(?:do|can|should|would|to)|help|can you|could you)\b")
_MARK = re.compile(r"\s*\[(?:\d{1,2}|n)\]")
"""A citation mark, or the "[n]" a small model copies from its instructions."""
MIN_SHARED = 1
"""A reply sentence is supported by a source sentence sharing this many new telling words."""


def about_user(question: str) -> bool:
    """The question asks about the user's own life, files or memories (not the world):
    "when is my sister's birthday?", "what's in report.pdf about the budget?"."""
    if _HOW_TO.match(question):
        return False  # "how do I back up my files?" asks for help, not for what they say
    return bool(_MY_DOCS.search(question) or _PERSONAL_QUESTION.search(question))


def about_a_document(question: str) -> bool:
    """The question asks what a document says ("according to the zlib FAQ, ...", "what does
    the manual say about descaling?"): when one of the user's documents was recalled for it,
    the answer must come from there, like a question about the user's own files."""
    return about_user(question) or bool(_A_DOC.search(question))


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_./][A-Za-z0-9]+)*")
MAX_NAMES = 24
"""A question's first this many names are looked up (one keyword-index query each): a long
pasted text is not a question whose every capitalised word needs checking."""
_OPENS = frozenset('.?!:;"“(')
"""What may stand before the first word of a sentence (and the whitespace after it)."""


def _starts_sentence(text: str, at: int) -> bool:
    """Whether the word at ``at`` begins the text or a sentence in it. Looks back over the
    whitespace only, so finding every name of a long pasted text stays linear."""
    i = at
    while i > 0 and text[i - 1].isspace():
        i -= 1
    return at == 0 or (i > 0 and text[i - 1] in _OPENS)


def names(question: str) -> list[str]:
    """The names a question gives: a word written with a capital inside the sentence
    ("Flatpak", "Brother"), in capitals or mixed case ("TLS", "OttoPDF", "ZLIB_VERNUM"),
    or joined by a hyphen with a capital ("Wi-Fi"). A name is not paraphrased: a file that
    answers a question about "Flatpak" says "Flatpak". Words that say where the answer
    comes from ("FAQ", "Manual") are not names."""
    found: dict[str, None] = {}  # in order, once each
    for match in _NAME.finditer(question):
        word = match.group(0).rstrip(".")
        if len(word) < 2:
            continue
        inner_capital = any(c.isupper() for c in word[1:])
        starts = _starts_sentence(question, match.start())
        if not (inner_capital or (word[0].isupper() and not starts)):
            continue
        if _stem(word.lower()) in SAYING or word.lower() in _STOP_NAMES:
            continue
        found[word] = None
    return list(found)


_STOP_NAMES = frozenset(["hearth", "english", "please", "ok"])
"""Capitalised words that name nothing in the user's files."""


def not_mentioned(unknown: Sequence[str]) -> str:
    """What Hearth adds when a question names what no file or memory holds."""
    listed = [f"“{name}”" for name in unknown]
    joined = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " or " + listed[-1]
    return f"None of them mentions {joined}."


@dataclass(frozen=True, slots=True)
class Support:
    """The span of a recalled source that supports the reply."""

    n: int
    """The source's number in the prompt ([n])."""
    quote: str
    """Copied from the source's text, exactly."""
    shared: frozenset[str]
    """The telling words the reply and the quote have in common."""


_NUMBER = re.compile(
    r"(?<![\w.])(?:0x[0-9a-f]+|\d+(?:[.,:/]\d+)*)(?:st|nd|rd|th)?(?![\w])", re.IGNORECASE
)


def numbers(text: str) -> set[str]:
    """The numbers written in digits in ``text``, as written ("1.2.3", "0x123f", "16"); an
    ordinal is its number ("3rd" is "3"), thousands separators aside ("1,000" is "1000")."""
    found = set()
    for match in _NUMBER.finditer(text):
        number = re.sub(r"(?i)(?:st|nd|rd|th)$", "", match.group(0)).lower()
        found.add(re.sub(r"(?<=\d),(?=\d{3}\b)", "", number))
    return found


MAX_QUOTE = 320
"""A sentence longer than this (a PDF list or table without full stops) is quoted by its lines."""
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n[ \t]*\n\s*")
_NOT_AN_END = re.compile(
    r"(?i)(?:^|[\s(])(?:\d{1,3}|[a-z]|e\.g|i\.e|etc|vs|al|fig|figs|no|dr|mr|mrs|ms|cf|sec|ch)"
    r"\.[\"'”’)\]]*$"
)
"""A full stop that ends no sentence: "1." of a list, "e.g.", "et al.", "Fig."."""
_NEW_LINE_ITEM = re.compile(r"\n(?=[ \t]*(?:[•●·▪◦‣∙*–-]|\d{1,3}[.)]|[a-z][.)])\s)")


_BULLET = re.compile(r"^[•●◦▪‣·∙]\s+")
"""A list bullet before an item: not part of what the item says."""


def quote_spans(text: str) -> list[str]:
    """The sentences of a source, each an exact span of ``text`` (so the viewer can find and
    highlight it): a sentence runs over the line breaks of a PDF page, and ends at a full
    stop, a blank line or a new list item; one too long to quote is taken line by line."""
    spans: list[str] = []
    start = 0
    cuts = sorted(
        {
            m.end()
            for m in _SENTENCE_END.finditer(text)
            if not _NOT_AN_END.search(text[max(0, m.start() - 8) : m.start()])
        }
        | {m.start() for m in _NEW_LINE_ITEM.finditer(text)}
        | {len(text)}
    )
    for end in cuts:
        piece = _BULLET.sub("", text[start:end].strip())  # "● -n Print ..." quotes "-n Print"
        start = end
        if len(piece) <= 1:
            continue
        if len(piece) <= MAX_QUOTE:
            spans.append(piece)
        else:
            spans += [line.strip() for line in piece.split("\n") if len(line.strip()) > 1]
    return spans


def find_support(question: str, reply: str, hits: Sequence[MemoryHit]) -> Support | None:
    """The source sentence that best supports the reply: the one sharing the most telling
    words with one of its sentences (words of the question, and where the reply says its
    answer comes from, aside). A reply sentence with a number no source holds is supported by
    none (numbers come from the sources, never from the model's guess). None: the reply says
    nothing the sources say."""
    asked = _terms(question)
    # What the user asked before is no evidence of an answer: past turns are never sources.
    sources = [hit for hit in hits if hit.record.kind != "turn"]
    known = numbers(question).union(*(numbers(hit.record.text) for hit in sources))
    claims = [_SOURCE_REF.sub("", _MARK.sub("", s)) for s in split_sentences(reply)]
    said = [_terms(c) - asked - SAYING for c in claims if c.strip() and numbers(c) <= known]
    cited = {int(n) for n in re.findall(r"\[(\d{1,2})\]", reply)}
    best: tuple[int, int, Support] | None = None
    for n, hit in enumerate(hits, 1):
        if hit.record.kind == "turn":
            continue
        for sentence in quote_spans(hit.record.text):
            words = _terms(sentence) - asked
            for reply_words in said:
                shared = words & reply_words
                if len(shared) < MIN_SHARED:
                    continue
                rank = (len(shared), int(n in cited))
                if best is None or rank > best[:2]:
                    best = (*rank, Support(n, sentence, frozenset(shared)))
    return best[2] if best else None


@dataclass(frozen=True, slots=True)
class Grounding:
    support: Support | None
    """The quote that supports the reply (None: nothing recalled supports it)."""
    about_user: bool
    general: bool
    """Answered from the model's own knowledge (a question about the world, nothing used)."""
    replacement: str = ""
    """What Hearth says instead of an unsupported answer about the user ("" : keep it)."""
    trimmed: bool = False
    """``replacement`` is the reply cut to what its sources support (the rest left out)."""


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


SAYING = frozenset(
    _stem(word)
    for word in [
        "according",
        "faq",
        "manual",
        "guide",
        "paper",
        "document",
        "documents",
        "doc",
        "docs",
        "source",
        "sources",
        "say",
        "says",
        "said",
        "states",
        "stated",
        "mentions",
        "mentioned",
        "user",
        "file",
        "files",
        "reference",
        "answer",
        "question",
        "provided",
        "information",
        "passage",
        "passages",
        "text",
        "part",
        "found",
    ]
)
"""Words a reply uses to say where its answer comes from, not what the answer is."""
MIN_COVERAGE = 0.5
"""Share of a sentence's new telling words (not the question's) its sources must hold."""
_DANGLING = re.compile(
    r"(?i)\b(?:is|are|was|were|at|the|a|an|of|to|for|in|on|by|with|from|as|and|or)\W*$"
)
"""A sentence that stops where its answer should be ("The image it recommends is [n].")."""


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in salient_words(text)}


_SOURCE_REF = re.compile(
    r"(?i)\(?\b(?:file\s+)?[\w.-]+\.(?:pdf|txt|md|markdown|html?|docx)\b(?:,?\s*part\s+\d+)?\)?"
    r"|\bpart\s+\d+\b"
)
"""Where a reply says its answer comes from ("(file cvsclient.pdf, part 15)"): not a claim."""
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")
"""A command-line option ("-n", "--gzip"): too short for a telling word, yet often the answer."""
NO_CLAIM = frozenset(["follow", "following", "step", "steps", "below", "here", "these"])
"""Words that announce an answer rather than give it ("follow these steps:")."""


def _terms(text: str) -> set[str]:
    """The telling words of ``text`` (stemmed) and its options as written."""
    return _stems(text) | {m.group(0).lower() for m in _OPTION.finditer(text)}


def _pieces(reply: str) -> list[tuple[str, int]]:
    """The reply's sentences and lines, each with where it ends in ``reply``."""
    out: list[tuple[str, int]] = []
    position = 0
    for piece in split_sentences(reply):
        found = reply.find(piece, position)
        if found < 0:
            continue
        position = found + len(piece)
        out.append((piece, position))
    return out


def supported_part(question: str, reply: str, hits: Sequence[MemoryHit]) -> str:
    """The part of a reply to a question about the user's files or life that its sources
    support, as far as words can tell: its sentences from the first on, as long as each one
    that claims something is backed ("" when the first is not). A sentence is backed when

    - it says something the question did not (a word or a number): a reply that only
      restates the question, or
      stops where the answer should be ("... is [n]."), or only announces an answer
      ("follow these steps:"), answers nothing;
    - at least MIN_COVERAGE of its new telling words, and every number it adds, are in the
      sources (an invented how-to or list brings words and numbers of its own);
    - one sentence of a source shares a new word with it, holds all of its new numbers, and
      is about the question (shares one of its words) or shares two new words; a sentence
      whose only new thing is a number needs a source sentence about the question holding it.

    What follows the last backed sentence (the model's own elaboration, a closing remark) is
    left out. Where the reply names its source ("(file cvsclient.pdf, part 15)", [2]), that
    is not a claim. Measured on the evaluation set (bench/answers.py)."""
    sources = [hit for hit in hits if hit.record.kind != "turn"]
    if not sources or "<<<" in reply:
        return ""  # no sources, or the prompt's quoted sources repeated back: no answer
    asked = _terms(question)
    labels = [f"[{n}] {describe_source(hit.record)}" for n, hit in enumerate(hits, 1)]
    held = set().union(*(_terms(hit.record.text) for hit in sources), *map(_terms, labels))
    known = numbers(question).union(*(numbers(hit.record.text) for hit in sources))
    spans = [
        (_terms(span), numbers(span)) for hit in sources for span in quote_spans(hit.record.text)
    ]
    kept_to = 0
    for piece, end in _pieces(reply):
        claim = _SOURCE_REF.sub("", _MARK.sub("", piece))
        said = _terms(claim) - asked - SAYING
        wanted = numbers(claim) - numbers(question)
        if not said and not wanted:
            continue  # an opening ("According to the manual,") or a code fence
        if not said:  # the question restated with its answer, a number ("... is 9.")
            backed = wanted <= known and any(
                wanted <= found and words & asked for words, found in spans
            )
        else:
            backed = (
                not (said <= NO_CLAIM)
                and not _DANGLING.search(claim.rstrip(". "))
                and len(said & held) >= MIN_COVERAGE * len(said)
                and wanted <= known
                and any(
                    words & said and wanted <= found and (words & asked or len(words & said) >= 2)
                    for words, found in spans
                )
            )
        if not backed:
            break
        kept_to = end
    part = reply[:kept_to].rstrip()
    if part.count("```") % 2:
        part = part[: part.rindex("```")].rstrip()  # a code block cut open is left out
    if part.endswith(":"):
        return ""  # only the introduction of what was left out
    return part


def answers_from_sources(question: str, reply: str, hits: Sequence[MemoryHit]) -> bool:
    """Whether the reply's first claim is backed by its sources (see supported_part)."""
    return bool(supported_part(question, reply, hits))


def must_rest_on_sources(question: str, hits: Sequence[MemoryHit]) -> bool:
    """The answer must come from the recalled sources: the question is about the user's own
    files or life, or about what a document says and one of the user's was recalled."""
    return about_user(question) or (
        about_a_document(question) and any(hit.record.kind == "document" for hit in hits)
    )


def ground(question: str, reply: str, hits: Sequence[MemoryHit]) -> Grounding:
    """Check a finished reply against the sources it had."""
    personal = must_rest_on_sources(question, hits)
    support = find_support(question, reply, hits)
    if not personal:
        if support is not None:
            return Grounding(support, False, general=False)
        return Grounding(None, False, general=asks_something(question))
    part = supported_part(question, reply, hits)
    support = find_support(question, part, hits) if part else None
    if support is not None:
        trimmed = part != reply.strip()
        return Grounding(
            support, True, general=False, replacement=part if trimmed else "", trimmed=trimmed
        )
    nearest = nearest_passage(question, hits)
    replacement = NOT_SUPPORTED
    if nearest is not None:
        replacement += " " + NEAREST.format(quote=" ".join(nearest.quote.split()), n=nearest.n)
    return Grounding(nearest, True, general=False, replacement=replacement)


def nearest_passage(question: str, hits: Sequence[MemoryHit]) -> Support | None:
    """The source sentence that shares the most telling words with the question itself."""
    asked = salient_words(question)
    best: tuple[int, Support] | None = None
    for n, hit in enumerate(hits, 1):
        if hit.record.kind == "turn":
            continue
        for sentence in quote_spans(hit.record.text):
            shared = salient_words(sentence) & asked
            if len(shared) >= 2 and (best is None or len(shared) > best[0]):
                best = (len(shared), Support(n, sentence, frozenset(shared)))
    return best[1] if best else None


def asks_something(text: str) -> bool:
    """A question or a request for information (not "thanks" or "hello")."""
    return "?" in text or bool(
        re.match(
            r"(?i)\s*(?:what|when|where|who|which|why|how|is|are|can|could|does|do|explain|"
            r"tell me|describe|define|list|give me|summari[sz]e)\b",
            text,
        )
    )
