"""Prompt planning: stable prefix, trimming in blocks, never too big."""

from __future__ import annotations

import itertools

from app.core.ports import ChatMessage
from app.core.prompt import plan_prompt


def count(m: ChatMessage) -> int:
    return len(m.content.split()) + 2


def history(turns: int, words: int = 10) -> list[ChatMessage]:
    out = []
    for i in range(turns):
        out.append(ChatMessage("user", f"q{i} " + "w " * words))
        out.append(ChatMessage("assistant", f"a{i} " + "w " * words))
    return out


def test_everything_fits_nothing_dropped() -> None:
    plan = plan_prompt("sys", history(3), "now", budget=1000, count=count)
    assert plan.dropped_messages == 0
    assert [m.role for m in plan.messages] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    assert plan.prompt_tokens == sum(count(m) for m in plan.messages)


def test_trimmed_prompt_fits_the_budget_and_keeps_the_newest() -> None:
    for budget in (40, 77, 150, 300):
        plan = plan_prompt("sys", history(30), "now", budget=budget, count=count)
        assert sum(count(m) for m in plan.messages) <= budget
        assert plan.messages[0].content == "sys"
        assert plan.messages[-1].content == "now"
        if len(plan.messages) > 2:
            assert plan.messages[1].role == "user"
            assert plan.messages[-2].content.startswith("a29")


def test_kept_history_start_is_stable_across_turns() -> None:
    """Dropping in blocks keeps the prefix (and so llama.cpp's cache) for several turns."""
    starts = []
    conv = history(20)
    for turn in range(8):
        conv_now = conv + history(turn)[: 2 * turn]
        plan = plan_prompt("sys", conv_now, "now", budget=200, count=count, drop_step=6)
        starts.append(plan.messages[1].content)
    changes = sum(1 for a, b in itertools.pairwise(starts) if a != b)
    assert changes <= 3  # one-at-a-time dropping would change it on every turn


def test_huge_user_message_is_shortened_in_the_middle() -> None:
    text = "start " + "filler " * 5000 + "end"
    plan = plan_prompt("sys", history(5), text, budget=300, count=count)
    user = plan.messages[-1].content
    assert plan.user_truncated
    assert user.startswith("start") and user.endswith("end")
    assert "left out" in user
    assert sum(count(m) for m in plan.messages) <= 300
