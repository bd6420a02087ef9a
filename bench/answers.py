"""Answers from the user's own documents: prints figures, asserts nothing.

On the evaluation set of tests/data/eval (real public documents no one here wrote, questions
with their accepted answers and source, and questions answered in none of them; see
tests/answer_eval.py for how each answer is judged):

* indexing with the PDF reader (PDFium) and MiniLM: seconds, passages, passages/s;
* retrieval: the rank of the passage holding the answer, recall@1 and recall@4, by meaning
  alone and fused with keyword search (SQLite FTS5, BM25);
* per chat model: answer accuracy, citation accuracy (the quote shown under the reply comes
  from the right document), how often an answerable question was declined, how often an
  unanswerable one got an invented answer, how often the answer was in the passages the model
  was given, and the median time to the first token and to the whole answer, with recall.

    .venv/bin/python -m bench.answers [--models default quality] [--limit N] [--no-answers]

Each model runs alone in this process after the index is built; the index is kept in
``--root`` between runs (a second run finds the files unchanged).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app.settings import DEFAULT_MODEL, FAST_MODEL, QUALITY_MODEL

ALIASES = {"default": DEFAULT_MODEL, "fast": FAST_MODEL, "quality": QUALITY_MODEL, "app": "app"}
""""app": what a user gets by default (questions about files to the quality model)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Hearth answers benchmark")
    parser.add_argument("--models", nargs="+", default=["default", "quality"])
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    parser.add_argument("--no-answers", action="store_true", help="indexing and retrieval only")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(tempfile.gettempdir()) / "hearth-bench-answers",
        help="where the index is kept between runs",
    )
    parser.add_argument("--fresh", action="store_true", help="index from scratch")
    parser.add_argument(
        "--save", type=Path, help="write each model's answers, drafts and sources here (JSON)"
    )
    parser.add_argument("--every", type=int, default=1, help="ask every N-th question only")
    args = parser.parse_args(argv)

    import shutil

    import app  # noqa: F401  (the offline environment first)
    from tests.answer_eval import EvalRig, every, load_questions, recall_at, score

    cache = Path(os.environ.get("HEARTH_CACHE_DIR") or Path.cwd() / ".hearth-test-cache")
    if args.fresh and args.root.exists():
        shutil.rmtree(args.root)
    questions = load_questions()
    if args.limit:
        answerable = [q for q in questions if q.answerable][: args.limit]
        unanswerable = [q for q in questions if not q.answerable][: max(1, args.limit // 4)]
        questions = answerable + unanswerable
    questions = every(questions, args.every)
    print(
        f"{sum(q.answerable for q in questions)} answerable and "
        f"{sum(not q.answerable for q in questions)} unanswerable questions",
        flush=True,
    )

    rig = EvalRig(args.root, cache, ALIASES["default"])
    rig.index()
    print(
        f"indexing: {rig.index_seconds:.1f} s for {rig.chunks:,} passages "
        f"({rig.chunks / max(rig.index_seconds, 1e-9):.0f} passages/s; a second run finds the "
        "files unchanged)",
        flush=True,
    )

    by_meaning, fused = rig.ranks(questions, 20)
    print("retrieval of the passage holding the answer:")
    for label, ranks in (("by meaning", by_meaning), ("meaning + keywords", fused)):
        print(
            f"  {label:20s} recall@1 {recall_at(ranks, 1):.2f}  recall@4 "
            f"{recall_at(ranks, 4):.2f}  recall@10 {recall_at(ranks, 10):.2f}",
            flush=True,
        )
    rig.close()
    if args.no_answers:
        return 0

    for alias in args.models:
        model = ALIASES.get(alias, alias)
        rig = EvalRig(args.root, cache, model)
        rig.index()
        started = time.monotonic()
        outcomes = []
        for n, q in enumerate(questions, 1):
            outcome = rig.ask(q)
            outcomes.append(outcome)
            mark = "ok " if outcome.right or outcome.declined != q.answerable else "BAD"
            print(
                f"  [{n}/{len(questions)}] {mark} {q.id}: {outcome.reply[:110]!r}"
                + (f" (model wrote {outcome.draft[:160]!r})" if outcome.replaced else ""),
                file=sys.stderr,
                flush=True,
            )
        rig.close()
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            rows = [o.row() for o in outcomes]
            (args.save / f"answers-{alias}.json").write_text(json.dumps(rows, indent=1), "utf-8")
        scores = score(outcomes)
        print(f"{model}: {scores.line()}", flush=True)
        tokens = [o.seconds for o in outcomes]
        print(
            f"  {len(outcomes)} questions in {time.monotonic() - started:.0f} s "
            f"(mean {statistics.mean(tokens):.1f} s)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
