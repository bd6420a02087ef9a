"""How the user wants Hearth to answer: a name to call them, a tone, a language, a length, and
anything else in their own words, turned into one stable paragraph of the system prompt.

The paragraph depends on the settings only (never on the time or the conversation), so the
system prompt stays the same from turn to turn and the model's prefix cache keeps hitting.
"""

from __future__ import annotations

from dataclasses import dataclass

TONES = {
    "": "",
    "friendly": "Be warm and friendly.",
    "neutral": "Keep a neutral, matter-of-fact tone.",
    "formal": "Be formal and polite.",
    "playful": "Be light and playful where it fits.",
}
LENGTHS = {
    "": "",
    "short": "Keep answers short: a few sentences unless more is asked for.",
    "medium": "Give answers of moderate length.",
    "detailed": "Give detailed, thorough answers.",
}
LANGUAGES = ("", "English", "French", "German", "Spanish", "Italian", "Portuguese", "Dutch")
"""Offered in the settings; "" answers in the language the user writes in."""
MAX_INSTRUCTIONS = 1500
"""Characters of free text kept (a long essay would crowd the context window out)."""


@dataclass(frozen=True, slots=True)
class AnswerStyle:
    name: str = ""
    """What to call the user ("" = no name)."""
    tone: str = ""
    language: str = ""
    length: str = ""
    instructions: str = ""
    """Anything else, in the user's own words."""

    def is_empty(self) -> bool:
        return not any(
            (self.name.strip(), self.tone, self.language, self.length, self.instructions.strip())
        )

    def paragraph(self) -> str:
        """The system prompt's paragraph for this style ("" when nothing is set)."""
        if self.is_empty():
            return ""
        lines = []
        if self.name.strip():
            lines.append(f"The user's name is {_one_line(self.name)[:60]}; call them that.")
        if TONES.get(self.tone):
            lines.append(TONES[self.tone])
        if self.language.strip():
            lines.append(f"Answer in {_one_line(self.language)[:40]}.")
        if LENGTHS.get(self.length):
            lines.append(LENGTHS[self.length])
        if self.instructions.strip():
            lines.append(self.instructions.strip()[:MAX_INSTRUCTIONS])
        return (
            "How the user asked you to answer (their own settings; the rules above still "
            "come first):\n" + "\n".join(lines)
        )


def system_prompt_with(base: str, style: AnswerStyle) -> str:
    paragraph = style.paragraph()
    return f"{base}\n\n{paragraph}" if paragraph else base


def _one_line(text: str) -> str:
    return " ".join(text.split())
