"""Screen reader announcements (Qt's accessibility events, spoken by Orca, NVDA, VoiceOver)."""

from __future__ import annotations

from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QWidget

ANNOUNCED: list[tuple[str, str]] = []
"""(text, "polite" or "assertive") of the announcements made, newest last (the last 50)."""


def announce(widget: QWidget, text: str, *, assertive: bool = False) -> None:
    """Have the screen reader say ``text`` when it is done speaking (polite), or at once."""
    ANNOUNCED.append((text, "assertive" if assertive else "polite"))
    del ANNOUNCED[:-50]
    event = QAccessibleAnnouncementEvent(widget, text)
    event.setPoliteness(
        QAccessible.AnnouncementPoliteness.Assertive
        if assertive
        else QAccessible.AnnouncementPoliteness.Polite
    )
    QAccessible.updateAccessibility(event)


def describe(widget: QWidget, name: str, description: str, *, tip: bool = True) -> None:
    """What a screen reader says a control is (``name``) and does (``description``); the
    description is also its tooltip unless it has one (``tip`` False: never)."""
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(description)
    if tip and not widget.toolTip():
        widget.setToolTip(description)
