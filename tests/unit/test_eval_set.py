"""The evaluation set is sound: every quote is in its document as Hearth reads it and holds an
accepted answer; no unanswerable question's answer is in any document (check_quotes.py)."""

from __future__ import annotations

import importlib.util
import sys

from tests.answer_eval import EVAL_DIR, load_questions


def test_the_evaluation_set_checks_out() -> None:
    spec = importlib.util.spec_from_file_location("check_quotes", EVAL_DIR / "check_quotes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_quotes"] = module
    spec.loader.exec_module(module)
    assert module.main([]) == 0
    questions = load_questions()
    assert sum(q.answerable for q in questions) >= 40
    assert sum(not q.answerable for q in questions) >= 10
    assert len({q.source for q in questions if q.answerable}) >= 6
