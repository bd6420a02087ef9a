"""The evaluation of answers from the user's own documents, shared by the tests and the bench.

``tests/data/eval`` holds real public documents no one here wrote (PDFs of several producers,
HTML pages, plain text; see SOURCES.md there) and ``questions.json``: questions a user would
ask about them, each with its accepted answers, its source and the quote that holds the
answer, and questions whose answer is in none of them (checked by check_quotes.py there).

:class:`EvalRig` indexes the documents with Hearth's own parts (the real reader, MiniLM,
chroma, the indexer) in a private data folder and asks every question through the real
:class:`~app.core.assistant.Assistant`, each in a new conversation, as `hearth ask` would.
What is measured for each answer:

- right: one of the accepted answers is in the reply, and the reply does not decline;
- cited right: the supporting quote shown under the reply comes from the question's source;
- declined: Hearth said it could not find it (or the model said it does not know);
- invented: an unanswerable question got an answer instead of a decline.

And of retrieval: the rank of the passage holding the answer (a chunk of the source with
one of the answers and most of the quote's words) among the documents found for the question.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.bootstrap import Core, build_core, make_indexer
from app.core.cancel import CancelToken
from app.core.events import AssistantEvent, EventType
from app.core.grounding import NOT_FOUND, NOT_SUPPORTED
from app.core.memory import salient_words, why_not_kept
from app.core.ports import MemoryHit
from app.settings import Paths, Settings

EVAL_DIR = Path(__file__).resolve().parent / "data" / "eval"


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    answers: tuple[str, ...]
    answerable: bool
    source: str = ""
    quote: str = ""


def load_questions(path: Path = EVAL_DIR / "questions.json") -> list[Question]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        Question(
            q["id"],
            q["question"],
            tuple(q["answers"]),
            bool(q.get("answerable", True)),
            q.get("source", ""),
            q.get("quote", ""),
        )
        for q in data["questions"]
    ]


def document_files(path: Path = EVAL_DIR / "questions.json") -> list[str]:
    return [d["file"] for d in json.loads(path.read_text(encoding="utf-8"))["documents"]]


def _fold(text: str) -> str:
    return " ".join(text.replace("\u00ad", "").split()).lower()


def occurs(term: str, text: str) -> bool:
    """Case-insensitive; a term that begins or ends with a word character only as a whole
    word (so "94" is not found in "1994"), as check_quotes.py matches answers."""
    term, text = _fold(term), _fold(text)
    left = r"(?<!\w)" if re.match(r"\w", term) else ""
    right = r"(?!\w)" if re.search(r"\w$", term) else ""
    return re.search(left + re.escape(term) + right, text) is not None


def declines(reply: str) -> bool:
    """The reply says the answer was not found (Hearth's words, or the model's own)."""
    text = reply.strip()
    return (
        text.startswith((NOT_FOUND, NOT_SUPPORTED))
        or why_not_kept(text) == "not known"
        or bool(
            re.search(
                r"(?i)\b(?:not|no)\s+(?:mentioned|specified|stated|provided)\b"
                r"|\bnot\s+(?:in|found in)\s+(?:my|your|the)\s+(?:files|documents|sources)\b"
                r"|\bno\s+(?:information|mention)\b",
                text,
            )
        )
    )


@dataclass(slots=True)
class Outcome:
    question: Question
    model: str
    reply: str = ""
    draft: str = ""
    """What the model wrote, before Hearth replaced an unsupported answer."""
    quote: str = ""
    """The supporting quote shown under the reply ("" when none)."""
    quoted_file: str = ""
    """The file the quote comes from."""
    cited_files: tuple[str, ...] = ()
    general: bool = False
    replaced: bool = False
    first_token_s: float | None = None
    seconds: float = 0.0
    in_prompt: bool = False
    """One of the accepted answers was in the recalled passages the model was given."""
    error: str = ""
    hits: tuple[MemoryHit, ...] = ()
    """What recall gave the model for the question."""

    def row(self) -> dict[str, object]:
        """The question, the model's draft and its sources, to judge again offline."""
        q = self.question
        return {
            "id": q.id,
            "q": q.text,
            "answerable": q.answerable,
            "answers": list(q.answers),
            "source": q.source,
            "draft": self.draft,
            "reply": self.reply,
            "quote": self.quote,
            "quoted_file": self.quoted_file,
            "right": self.right,
            "cited_right": self.cited_right,
            "declined": self.declined,
            "invented": self.invented,
            "first_token_s": self.first_token_s,
            "seconds": self.seconds,
            "hits": [
                {
                    "kind": h.record.kind,
                    "text": h.record.text,
                    "path": str(h.record.extra.get("path", "")),
                    "score": h.score,
                }
                for h in self.hits
            ],
        }

    @property
    def declined(self) -> bool:
        return declines(self.reply)

    @property
    def right(self) -> bool:
        q = self.question
        return q.answerable and not self.declined and any(occurs(a, self.reply) for a in q.answers)

    @property
    def cited_right(self) -> bool:
        return self.right and self.quoted_file == self.question.source

    @property
    def invented(self) -> bool:
        return not self.question.answerable and not self.declined


@dataclass(frozen=True, slots=True)
class Scores:
    answerable: int
    unanswerable: int
    accuracy: float
    """Answerable questions answered right."""
    citation_accuracy: float
    """Answerable questions answered right with a quote from the right source."""
    declined: float
    """Answerable questions Hearth declined (said it could not find)."""
    invented: float
    """Unanswerable questions given an answer instead of a decline."""
    in_prompt: float
    """Answerable questions whose answer was in the passages given to the model."""
    first_token_s: float
    """Median time to the first token of the answers the model wrote."""
    seconds: float
    """Median time of a whole answer."""

    def line(self) -> str:
        return (
            f"accuracy {self.accuracy:.0%}, cited right {self.citation_accuracy:.0%}, "
            f"declined {self.declined:.0%} of {self.answerable} answerable; "
            f"invented {self.invented:.0%} of {self.unanswerable} unanswerable; "
            f"answer in the prompt {self.in_prompt:.0%}; "
            f"first token {self.first_token_s:.1f} s, whole answer {self.seconds:.1f} s (median)"
        )


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def score(outcomes: Sequence[Outcome]) -> Scores:
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]

    def share(part: Sequence[Outcome], whole: Sequence[Outcome]) -> float:
        return len(part) / len(whole) if whole else 0.0

    return Scores(
        len(answerable),
        len(unanswerable),
        share([o for o in answerable if o.right], answerable),
        share([o for o in answerable if o.cited_right], answerable),
        share([o for o in answerable if o.declined], answerable),
        share([o for o in unanswerable if o.invented], unanswerable),
        share([o for o in answerable if o.in_prompt], answerable),
        _median([o.first_token_s for o in outcomes if o.first_token_s is not None]),
        _median([o.seconds for o in outcomes]),
    )


def holds_answer(question: Question, text: str) -> bool:
    """A passage holds the answer: one of the answers, and most of the quote's words."""
    if not any(occurs(a, text) for a in question.answers):
        return False
    wanted = salient_words(question.quote)
    return not wanted or len(wanted & salient_words(text)) >= 0.6 * len(wanted)


@dataclass
class EvalRig:
    """Hearth with the evaluation documents indexed, in a data folder of its own."""

    root: Path
    cache_dir: Path
    model: str
    """The chat model, which answers every question; "app" for what a user gets by default
    (the default chat model, questions about files to the quality model when installed)."""
    core: Core = field(init=False)
    folder: Path = field(init=False)
    index_seconds: float = 0.0
    chunks: int = 0

    def __post_init__(self) -> None:
        self.folder = self.root / "documents"
        paths = Paths(data_dir=self.root / "data", cache_dir=self.cache_dir)
        settings = (
            Settings() if self.model == "app" else Settings(model=self.model, files_model="off")
        )
        self.core = build_core(paths, settings.validated())

    def index(self) -> None:
        """Copy the documents into the rig's folder and index them (kept between rigs that
        share a root: a second run finds them unchanged)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in document_files():
            target = self.folder / name
            if not target.exists():
                shutil.copy2(EVAL_DIR / name, target)
        indexer = make_indexer(self.core.paths, self.core.memory)
        indexer.state.add_folder(str(self.folder))
        started = time.monotonic()
        report = indexer.run(cancel=CancelToken())
        self.index_seconds = time.monotonic() - started
        assert not report.failed, report.failed
        self.chunks = len(self.core.memory.all_records(("document",)))

    def source_of(self, path: object) -> str:
        return Path(str(path)).name if path else ""

    def ask(self, question: Question) -> Outcome:
        core = self.core
        outcome = Outcome(question, self.model)
        recalled = core.memory.recall(
            question.text,
            count_tokens=core.assistant.llm.count_tokens,
            budget_tokens=core.assistant.config.memory_tokens,
        )
        outcome.hits = tuple(recalled.hits)
        outcome.in_prompt = any(
            occurs(a, hit.record.text) for hit in recalled.hits for a in question.answers
        )
        events: list[AssistantEvent] = []
        conversation = core.store.create_conversation().id
        started = time.monotonic()

        def on_event(event: AssistantEvent) -> None:
            if event.type is EventType.TOKEN and outcome.first_token_s is None:
                outcome.first_token_s = time.monotonic() - started
            events.append(event)

        result = core.assistant.turn(conversation, question.text, on_event)
        outcome.seconds = time.monotonic() - started
        outcome.reply = result.reply
        outcome.draft = "".join(str(e.data["text"]) for e in events if e.type is EventType.TOKEN)
        if result.error is not None:
            outcome.error = result.error.message
        citations: list[dict[str, object]] = []
        for event in events:
            if event.type is EventType.CITATIONS:
                citations = [c for c in event.data.get("citations", []) if isinstance(c, dict)]
        outcome.cited_files = tuple(self.source_of(c.get("path")) for c in citations)
        for event in events:
            if event.type is EventType.GROUNDED:
                outcome.quote = str(event.data.get("quote", ""))
                outcome.general = bool(event.data.get("general"))
                outcome.replaced = bool(event.data.get("replaced"))
                n = int(event.data.get("n", 0) or 0)
                for c in citations:
                    if c.get("n") == n:
                        outcome.quoted_file = self.source_of(c.get("path"))
        return outcome

    def rank(self, question: Question, hits: Sequence[MemoryHit]) -> int | None:
        """1-based rank of the first passage holding the answer (None: not among ``hits``)."""
        for i, hit in enumerate(hits, 1):
            if self.source_of(hit.record.extra.get("path")) == question.source and holds_answer(
                question, hit.record.text
            ):
                return i
        return None

    def ranks(
        self, questions: Sequence[Question], depth: int
    ) -> tuple[list[int | None], list[int | None]]:
        """For each answerable question, the rank of the passage holding its answer among the
        first ``depth`` documents found by meaning alone, and fused with keyword search."""
        memory = self.core.memory
        by_meaning: list[int | None] = []
        fused: list[int | None] = []
        for q in (q for q in questions if q.answerable):
            [vector] = memory.embedder.embed([q.text])
            by_meaning.append(self.rank(q, memory.store.search("document", vector, depth)))
            hits = [h for h, _ in memory._fused(q.text, vector, ("document",), depth)]
            fused.append(self.rank(q, hits))
        return by_meaning, fused

    def close(self) -> None:
        self.core.assistant.llm.close()
        if self.core.assistant.files_llm is not None:
            self.core.assistant.files_llm.close()


def every(questions: Sequence[Question], n: int) -> list[Question]:
    """Every n-th answerable and every n-th unanswerable question, in order."""
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    return answerable[::n] + unanswerable[::n]


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0
