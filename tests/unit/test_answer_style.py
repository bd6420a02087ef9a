"""How the user wants answers: one stable paragraph of the system prompt, or nothing."""

from __future__ import annotations

from app.core.answer_style import AnswerStyle, system_prompt_with
from app.settings import Settings


def test_no_style_leaves_the_system_prompt_as_it_was() -> None:
    assert AnswerStyle().paragraph() == ""
    assert Settings().chat_system_prompt() == Settings().system_prompt
    assert Settings().assistant_config().system_prompt == Settings().system_prompt


def test_a_style_is_one_stable_paragraph_after_hearths_rules() -> None:
    style = AnswerStyle("  Ada  Lovelace ", "friendly", "French", "short", "Use metric units.\n")
    prompt = system_prompt_with("RULES", style)
    assert prompt.startswith("RULES\n\nHow the user asked you to answer")
    assert "The user's name is Ada Lovelace; call them that." in prompt
    assert "Answer in French." in prompt and "Keep answers short" in prompt
    assert "warm and friendly" in prompt and prompt.endswith("Use metric units.")
    assert system_prompt_with("RULES", style) == prompt  # the same every time: the cache hits


def test_settings_carry_the_style_into_every_turn_and_drop_unknown_choices() -> None:
    settings = Settings(answer_name="Sam", answer_tone="grumpy", answer_length="epic").validated()
    assert settings.answer_tone == "" and settings.answer_length == ""
    assert "call them that" in settings.assistant_config().system_prompt
