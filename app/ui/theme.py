"""Light, dark or follow-the-system, on the Fusion style so it looks the same everywhere."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def _dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 48), QColor(222, 224, 227)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor(50, 53, 58))
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, window)
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.ToolTipBase, window)
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(140, 143, 148))
    p.setColor(QPalette.ColorRole.Highlight, QColor(214, 120, 60))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, QColor(240, 160, 100))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 122, 126))
    return p


def _light_palette() -> QPalette:
    p = QPalette(QColor(246, 244, 241))
    p.setColor(QPalette.ColorRole.Base, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.AlternateBase, QColor(240, 236, 230))
    p.setColor(QPalette.ColorRole.Highlight, QColor(196, 98, 40))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, QColor(168, 80, 30))
    return p


def resolve_theme(theme: str) -> str:
    if theme in ("light", "dark"):
        return theme
    hints = QGuiApplication.styleHints()
    return "dark" if hints.colorScheme() == Qt.ColorScheme.Dark else "light"


def apply_theme(app: QApplication, theme: str) -> str:
    """Apply ``theme`` ("system", "light" or "dark"); returns the one in effect."""
    effective = resolve_theme(theme)
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if effective == "dark" else _light_palette())
    qss = ASSETS / "themes" / "hearth.qss"
    try:
        app.setStyleSheet(qss.read_text(encoding="utf-8"))
    except OSError:
        app.setStyleSheet("")
    app.setProperty("hearthTheme", effective)
    return effective
