"""Edit > Preferences: the silence at each kind of join, how markup in the text is read, a voice for quoted
speech. Kept in QSettings under "reading/"; the engine gets them as a Reading (ui/reading_options.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from fasttts_desktop.engine.text.pauses import KINDS, MAX_PAUSE_S, Pauses
from fasttts_desktop.engine.text.segments import MARKUP_MODES
from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.ui.dialog_parts import named

_LABELS = {
    "comma": "After a &comma",
    "sentence": "After a &sentence",
    "paragraph": "Between &paragraphs",
    "heading": "Around a &heading",
    "chapter": "Before a c&hapter",
}
_MARKUP_LABELS = {
    "auto": "SSML when the text starts with <speak>, else [pause:…] [voice:…] [rate:…] tags",
    "ssml": "Always SSML",
    "tags": "Only [pause:…] [voice:…] [rate:…] tags",
    "off": "Off: read every character as written",
}
# The spin boxes' lowest value stands for "as the voice says it" (None).
_NATURAL = -0.05
_NATURAL_TEXT = "Voice's own"


@dataclass(frozen=True)
class ReadingPrefs:
    pauses: Pauses = field(default_factory=Pauses)
    markup: str = "auto"
    dialogue_voice: str = ""


def load_prefs(settings: QSettings) -> ReadingPrefs:
    """The saved preferences; a value that does not make sense is the default."""
    default = Pauses()
    values = {}
    for kind in KINDS:
        raw = settings.value(f"reading/pause_{kind}")
        values[kind] = default.of(kind) if raw is None else _seconds(raw, default.of(kind))
    try:
        pauses = Pauses(**values)
    except EngineError:
        pauses = default
    markup = str(settings.value("reading/markup", "auto") or "auto")
    dialogue = str(settings.value("reading/dialogue_voice", "") or "")
    return ReadingPrefs(pauses, markup if markup in MARKUP_MODES else "auto", dialogue)


def save_prefs(settings: QSettings, prefs: ReadingPrefs) -> None:
    for kind in KINDS:
        value = prefs.pauses.of(kind)
        settings.setValue(f"reading/pause_{kind}", "natural" if value is None else value)
    settings.setValue("reading/markup", prefs.markup)
    settings.setValue("reading/dialogue_voice", prefs.dialogue_voice)


def _seconds(raw: object, default: float | None) -> float | None:
    if str(raw) == "natural":
        return None
    try:
        return float(str(raw))
    except ValueError:
        return default


class PreferencesDialog(QDialog):
    """Pauses, markup and the dialogue voice; OK keeps them (`prefs`), Cancel or Escape does not."""

    def __init__(self, prefs: ReadingPrefs, voices: list[tuple[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("preferences")
        self.setWindowTitle("Preferences")
        self.setAccessibleName("Preferences")
        form = QFormLayout()
        self.pause_boxes: dict[str, QDoubleSpinBox] = {}
        for kind in KINDS:
            box = QDoubleSpinBox(decimals=2, singleStep=0.05, suffix=" s")
            box.setObjectName(f"pause-{kind}")
            box.setRange(_NATURAL, MAX_PAUSE_S)
            box.setSpecialValueText(_NATURAL_TEXT)
            value = prefs.pauses.of(kind)
            box.setValue(_NATURAL if value is None else value)
            plain_label = _LABELS[kind].replace("&", "")
            named(
                box, f"Pause {plain_label.lower()}", f"Silence {plain_label.lower()}; lowest: the voice's own"
            )
            label = QLabel(_LABELS[kind])
            label.setBuddy(box)
            form.addRow(label, box)
            self.pause_boxes[kind] = box
        self.markup_box = named(QComboBox(), "Markup", "How markup in the text is read")
        self.markup_box.setObjectName("markup")
        for mode in MARKUP_MODES:
            self.markup_box.addItem(_MARKUP_LABELS[mode], mode)
        self.markup_box.setCurrentIndex(max(0, self.markup_box.findData(prefs.markup)))
        markup_label = QLabel("&Markup")
        markup_label.setBuddy(self.markup_box)
        form.addRow(markup_label, self.markup_box)
        self.dialogue_box = named(QComboBox(), "Voice for dialogue", "Read text in quotation marks in")
        self.dialogue_box.setObjectName("dialogue-voice")
        self.dialogue_box.addItem("The same voice as the text", "")
        for shown, name in voices:
            self.dialogue_box.addItem(shown, name)
        found = self.dialogue_box.findData(prefs.dialogue_voice)
        if found < 0 and prefs.dialogue_voice:  # a voice not loaded now stays chosen
            self.dialogue_box.addItem(prefs.dialogue_voice, prefs.dialogue_voice)
            found = self.dialogue_box.count() - 1
        self.dialogue_box.setCurrentIndex(max(0, found))
        dialogue_label = QLabel("&Dialogue in")
        dialogue_label.setBuddy(self.dialogue_box)
        form.addRow(dialogue_label, self.dialogue_box)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.restore_defaults)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def restore_defaults(self) -> None:
        default = Pauses()
        for kind, box in self.pause_boxes.items():
            value = default.of(kind)
            box.setValue(_NATURAL if value is None else value)
        self.markup_box.setCurrentIndex(self.markup_box.findData("auto"))
        self.dialogue_box.setCurrentIndex(0)

    @property
    def prefs(self) -> ReadingPrefs:
        values = {k: (None if b.value() < 0 else round(b.value(), 2)) for k, b in self.pause_boxes.items()}
        return ReadingPrefs(
            Pauses(**values), str(self.markup_box.currentData()), str(self.dialogue_box.currentData() or "")
        )
