"""`hearth ask "summarise ..."` on an indexed file, as a user runs it: the summary on stdout
citing its section, the progress on stderr; a file not in memory said plainly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_hearth as run

pytestmark = pytest.mark.model

NOTES = (
    "The garden plan for spring. The tomatoes go in the north bed, beside the beans. "
    "The roses by the gate need pruning in March, and the apple tree needs a new stake. "
    "Compost from the bins at the back is spread on every bed before planting."
)


def test_ask_summarises_an_indexed_file(hearth_exe: str, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "garden-plan.txt").write_text(NOTES, encoding="utf-8")
    indexed = run(hearth_exe, tmp_path, "index", str(folder))
    assert indexed.returncode == 0, indexed.stderr

    asked = run(hearth_exe, tmp_path, "ask", "summarise garden-plan.txt")
    assert asked.returncode == 0, asked.stderr
    assert "[Reading garden-plan.txt…]" in asked.stderr
    assert "[Summarising section 1 of 1 (part 1) …]" in asked.stderr
    assert asked.stdout.rstrip().endswith("[1]"), asked.stdout
    assert any(word in asked.stdout.lower() for word in ("garden", "tomato", "plant", "rose"))

    missing = run(hearth_exe, tmp_path, "ask", "give me a summary of holiday-plans.pdf")
    assert missing.returncode == 0, missing.stderr
    assert missing.stdout.startswith(
        "I couldn't find a document called “holiday-plans.pdf” in memory"
    )
    assert "Documents in memory now: garden-plan.txt." in missing.stdout
