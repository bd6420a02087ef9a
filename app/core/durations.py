"""A time left or taken, as a person reads it in a progress line ("40 s", "12 min")."""

from __future__ import annotations


def rough_duration(seconds: float) -> str:
    """Seconds below a minute and a half, whole minutes above."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"
