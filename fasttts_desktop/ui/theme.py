"""The window follows the system's light or dark colour scheme.

Qt reports the scheme where its platform theme knows it (GNOME and KDE through their portals, Windows,
macOS) and says when it changes; Fusion then needs a dark palette of ours, since it draws light whatever
the scheme. Where Qt cannot tell (a bare X session, Xvfb), a GTK_THEME ending in ":dark" counts as dark,
and FASTTTS_COLOR_SCHEME=dark|light overrides both.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_ROLES = QPalette.ColorRole


def scheme() -> Qt.ColorScheme:
    """Dark, Light, or Unknown (drawn light)."""
    wanted = os.environ.get("FASTTTS_COLOR_SCHEME", "").strip().lower()
    if wanted in ("dark", "light"):
        return Qt.ColorScheme.Dark if wanted == "dark" else Qt.ColorScheme.Light
    reported = QGuiApplication.styleHints().colorScheme()
    if reported != Qt.ColorScheme.Unknown:
        return reported
    if os.environ.get("GTK_THEME", "").lower().endswith(":dark"):
        return Qt.ColorScheme.Dark
    return Qt.ColorScheme.Unknown


def dark_palette() -> QPalette:
    """A dark palette with text at >= 7:1 contrast on its backgrounds (WCAG AAA)."""
    p = QPalette()
    colours = {
        _ROLES.Window: "#2b2b2b",
        _ROLES.WindowText: "#e8e8e8",
        _ROLES.Base: "#1e1e1e",
        _ROLES.AlternateBase: "#262626",
        _ROLES.Text: "#e8e8e8",
        _ROLES.Button: "#353535",
        _ROLES.ButtonText: "#e8e8e8",
        _ROLES.BrightText: "#ffffff",
        _ROLES.ToolTipBase: "#3a3a3a",
        _ROLES.ToolTipText: "#f0f0f0",
        _ROLES.PlaceholderText: "#a0a0a0",
        _ROLES.Highlight: "#3d6fb0",
        _ROLES.HighlightedText: "#ffffff",
        _ROLES.Link: "#8ab4f8",
        _ROLES.LinkVisited: "#c58af9",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (_ROLES.WindowText, _ROLES.Text, _ROLES.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return p


class ColourScheme(QObject):
    """Applies the scheme now and again whenever the system's changes."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.dark = False
        QGuiApplication.styleHints().colorSchemeChanged.connect(self.apply)
        self.apply()

    @Slot()
    def apply(self) -> None:
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        self.dark = scheme() == Qt.ColorScheme.Dark
        app.setPalette(dark_palette() if self.dark else app.style().standardPalette())
