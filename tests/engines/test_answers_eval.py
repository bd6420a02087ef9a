"""Answers from real documents, judged on the evaluation set (tests/data/eval), with the real
models, MiniLM, chroma and the PDF reader: the figures Hearth commits to.

Each question is asked in a new conversation, as `hearth ask` would. The floors below are a
little under what was measured here (bench/answers.py prints the same figures); a change that
makes answers less right, less well quoted, or more often invented fails. The figures of each
run are written to ``answers-<model>.json`` in the test's folder and printed at the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import pytest
from app.core.errors import ModelError
from app.engines.models import ModelRegistry
from app.settings import DEFAULT_MODEL, QUALITY_MODEL

from tests.answer_eval import (
    EvalRig,
    Outcome,
    Question,
    every,
    load_questions,
    recall_at,
    score,
)
from tests.conftest import require, shared_cache_dir

pytestmark = [pytest.mark.model, pytest.mark.slow]

EVERY = {DEFAULT_MODEL: 2, QUALITY_MODEL: 3}
"""Which questions each model is asked in CI: every second answerable and every second
unanswerable one for the default model, every third for the quality model (which takes twice
as long): about 12 minutes on two cores. bench/answers.py asks both models the whole set."""
FLOORS = {
    # model: (accuracy, citation accuracy, most invented share), on the questions it is asked.
    # Measured 2026-12-06 on a 2-core x86-64 VM: the default model 19/38 right and cited, 0/8
    # invented (bench/answers.py --save; 18/38 in this test's own fresh index); the quality
    # model 21/26 right, 19/26 cited, 0/5 invented. The floors leave about three questions.
    DEFAULT_MODEL: (0.39, 0.39, 0.13),
    QUALITY_MODEL: (0.69, 0.62, 0.20),
}
RECALL_AT_4 = 0.80
"""The passage holding the answer among the first four found (meaning + keywords)."""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index of the documents for the whole module (the models share it)."""
    return tmp_path_factory.mktemp("answers")


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    found = load_questions()
    assert sum(q.answerable for q in found) >= 40 and sum(not q.answerable for q in found) >= 10
    return found


@contextmanager
def rig_for(root: Path, model: str) -> Iterator[EvalRig]:
    try:
        ModelRegistry(shared_cache_dir()).resolve(model)
    except ModelError as exc:
        require(False, f"model {model} unavailable: {exc.message}")
    rig = EvalRig(root, shared_cache_dir(), model)
    rig.index()
    try:
        yield rig
    finally:
        rig.close()


def report(root: Path, model: str, outcomes: list[Outcome]) -> str:
    scores = score(outcomes)
    rows = [o.row() for o in outcomes]
    path = root / f"answers-{model}.json"
    path.write_text(json.dumps({"scores": asdict(scores), "answers": rows}, indent=1), "utf-8")
    line = f"{model}: {scores.line()}"
    print(line)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as out:
            out.write(line + "\n")
    return line


def test_the_passage_holding_the_answer_is_found(root: Path, questions: list[Question]) -> None:
    with rig_for(root, DEFAULT_MODEL) as rig:
        by_meaning, fused = rig.ranks(questions, 10)
    print(
        f"recall@1 {recall_at(by_meaning, 1):.2f} -> {recall_at(fused, 1):.2f}, "
        f"recall@4 {recall_at(by_meaning, 4):.2f} -> {recall_at(fused, 4):.2f}"
    )
    assert recall_at(fused, 4) >= RECALL_AT_4
    assert recall_at(fused, 1) >= recall_at(by_meaning, 1)


@pytest.mark.timeout(2400)
@pytest.mark.parametrize("model", [DEFAULT_MODEL, QUALITY_MODEL])
def test_answers_are_right_quoted_and_not_invented(
    root: Path, questions: list[Question], model: str
) -> None:
    with rig_for(root, model) as rig:
        outcomes = [rig.ask(q) for q in every(questions, EVERY[model])]
        line = report(root, model, outcomes)
        scores = score(outcomes)
        accuracy, cited, invented = FLOORS[model]
        assert scores.accuracy >= accuracy, line
        assert scores.citation_accuracy >= cited, line
        assert scores.invented <= invented, line
        assert not [o.error for o in outcomes if o.error], line
