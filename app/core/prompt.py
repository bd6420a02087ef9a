"""Prompt assembly: a stable system prefix first, then as much recent history as fits.

llama.cpp reuses the longest token prefix shared with the previous call, so the system prompt
always comes first and never changes between turns. When the history outgrows the context
window, the oldest messages are dropped in blocks of ``drop_step`` messages rather than one
at a time: the kept history then starts at the same message for several turns in a row, and
those turns keep hitting the prefix cache instead of re-evaluating everything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.core.ports import ChatMessage

TokenCounter = Callable[[ChatMessage], int]
"""Tokens one message takes in the prompt, template overhead included."""

TRUNCATION_MARK = "\n\n[… {n} characters left out to fit the context window …]\n\n"


@dataclass(frozen=True, slots=True)
class PromptPlan:
    messages: tuple[ChatMessage, ...]
    dropped_messages: int
    """History messages left out because the context window is full."""
    prompt_tokens: int
    """Estimated tokens of ``messages``."""
    user_truncated: bool = False


def plan_prompt(
    system_prompt: str,
    history: Sequence[ChatMessage],
    user_text: str,
    *,
    budget: int,
    count: TokenCounter,
    drop_step: int = 6,
) -> PromptPlan:
    """Choose the messages of the next prompt so that they fit in ``budget`` tokens.

    Never raises for size: history is dropped oldest first, and a user message that alone
    exceeds the budget is shortened in the middle.
    """
    if budget <= 0:
        raise ValueError("budget must be positive")
    system = ChatMessage("system", system_prompt)
    user = ChatMessage("user", user_text)
    fixed = count(system) + count(user)
    truncated = False
    if fixed > budget:
        user = _shorten(user, budget - count(system), count)
        truncated = True
        fixed = count(system) + count(user)

    room = budget - fixed
    costs = [count(m) for m in history]
    # Smallest start index whose suffix fits in the room left.
    start = len(history)
    total = 0
    while start > 0 and total + costs[start - 1] <= room:
        start -= 1
        total += costs[start]
    if start > 0 and drop_step > 1:
        # Round up to a block boundary so the kept history (the prompt's prefix after the
        # system message) stays the same for several turns.
        rounded = -(-start // drop_step) * drop_step
        start = min(rounded, len(history))
    # Never begin the kept history with an orphan assistant reply.
    while start < len(history) and history[start].role != "user":
        start += 1
    kept = tuple(history[start:])
    tokens = fixed + sum(costs[start:])
    return PromptPlan(
        messages=(system, *kept, user),
        dropped_messages=start,
        prompt_tokens=tokens,
        user_truncated=truncated,
    )


def _shorten(message: ChatMessage, room: int, count: TokenCounter) -> ChatMessage:
    """Keep the head and the tail of an over-long message, as much as fits in ``room``."""
    text = message.content
    lo, hi = 0, len(text)
    best = ChatMessage(message.role, TRUNCATION_MARK.format(n=len(text)))
    while lo <= hi:
        keep = (lo + hi) // 2
        head, tail = text[: keep // 2], text[len(text) - (keep - keep // 2) :]
        candidate = ChatMessage(
            message.role, head + TRUNCATION_MARK.format(n=len(text) - keep) + tail
        )
        if count(candidate) <= room:
            best = candidate
            lo = keep + 1
        else:
            hi = keep - 1
    return best
