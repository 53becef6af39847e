"""Voice > Mix Voices…: two or three of the engine's voices with weights, heard before saving, saved under a
name, and saved blends deleted.

The sliders set weights (0-100 each) and the engine normalises them, so each voice's share of the mix is
shown beside its slider and the sum below. The blend speaks its first voice's language, and Preview says a
sentence in that language. The dialog only asks: Preview goes to the window, which speaks through the
SpeechService; saving and deleting go through engine/storage/blends.py (a small JSON file in the config
dir, checked and written whole there), after which the window has the engine read its voice list again.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from fasttts_desktop.engine.storage.blends import (
    MAX_VOICES,
    Blend,
    delete_blend,
    parse_blend,
    save_blend,
    saved_blends,
)
from fasttts_desktop.engine.text.languages import lang_of_voice
from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.ui.dialog_parts import RememberedDialog, message_label, named, show_message

KEY = "dialogs/voice-mixer"
# What Preview says, by the language of the blend's first voice (kokoro's codes).
SAMPLES = {
    "a": "Hello! This is how the blended voice sounds when it reads to you.",
    "b": "Hello! This is how the blended voice sounds when it reads to you.",
    "e": "¡Hola! Así suena la voz mezclada cuando te lee.",
    "f": "Bonjour ! Voici comment sonne la voix mélangée quand elle vous lit un texte.",
    "h": "नमस्ते! जब यह मिली-जुली आवाज़ पढ़ती है तो ऐसी सुनाई देती है।",
    "i": "Ciao! Ecco come suona la voce mista quando ti legge.",
    "j": "こんにちは。これは、混ぜ合わせた声で読み上げたサンプルです。",
    "p": "Olá! É assim que a voz misturada soa quando lê para você.",
    "z": "你好！这就是混合声音朗读时的样子。",
}
_DEFAULT_WEIGHTS = (50, 50, 0)


def sample_for(voice: str) -> str:
    return SAMPLES.get(lang_of_voice(voice), SAMPLES["a"])


class _Row:
    """One voice of the mix: which, how much, and its share of the whole."""

    def __init__(self, number: int, optional: bool):
        self.box = named(
            QComboBox(objectName=f"mix-voice-{number}"),
            f"Voice {number}",
            f"Voice {number} of the mix" + (" (optional)" if optional else ""),
        )
        self.box.setMinimumContentsLength(18)
        if optional:
            self.box.addItem("(none)", "")
        self.slider = named(
            QSlider(Qt.Orientation.Horizontal, objectName=f"mix-weight-{number}"),
            f"Weight of voice {number}",
            "How much of this voice is in the mix (weights are normalised: only their ratio counts)",
        )
        self.slider.setRange(0, 100)
        self.slider.setSingleStep(5)
        self.slider.setPageStep(10)
        self.weight = named(QLabel(objectName=f"mix-weight-label-{number}"), f"Weight {number}")
        self.weight.setMinimumWidth(28)
        self.share = named(
            QLabel(objectName=f"mix-share-{number}"),
            f"Share of voice {number}",
            "This voice's share of the mix",
        )
        self.share.setMinimumWidth(40)

    @property
    def voice(self) -> str:
        return str(self.box.currentData() or "")


class VoiceMixer(RememberedDialog):
    preview_requested = Signal(str, str)  # sample text, blend spec: the window speaks it
    blends_changed = Signal(str)  # the name saved or deleted: the voice list must be read again

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__(settings, KEY, parent)
        self.setWindowTitle("Mix Voices")
        self.setAccessibleName("Mix voices")
        self.rows = [_Row(n + 1, optional=n >= 2) for n in range(MAX_VOICES)]
        grid = QGridLayout()
        for r, row in enumerate(self.rows):
            label = QLabel(f"Voice &{r + 1}:", buddy=row.box)
            for c, widget in enumerate((label, row.box, row.slider, row.weight, row.share)):
                grid.addWidget(widget, r, c)
            row.slider.setValue(_DEFAULT_WEIGHTS[r])
            row.box.currentIndexChanged.connect(self._update)
            row.slider.valueChanged.connect(self._update)
        grid.setColumnStretch(2, 1)
        self.sum_label = named(QLabel(objectName="mix-sum"), "Sum of the weights")
        self.spec_label = named(
            QLabel(objectName="mix-spec"), "The blend as written", "The blend as the command line writes it"
        )
        self.spec_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_button = named(
            QPushButton("&Preview", objectName="mix-preview"), "Preview", "Hear a sentence with this mix"
        )
        self.name_edit = named(
            QLineEdit(objectName="mix-name", placeholderText="a name for this mix"),
            "Blend name",
            "The name the blend is listed under in the voice picker (not a voice's name such as jf_alpha)",
        )
        self.save_button = named(
            QPushButton("&Save as", objectName="mix-save"), "Save as", "Save this mix under the name given"
        )
        self.saved_box = named(
            QComboBox(objectName="mix-saved"), "Saved blends", "Your saved blends: choose one to edit it"
        )
        self.delete_button = named(
            QPushButton("&Delete", objectName="mix-delete"), "Delete blend", "Forget the chosen saved blend"
        )
        self.message = message_label("mix-message", "Message")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        named(buttons.button(QDialogButtonBox.StandardButton.Close), "Close", "Close the mixer")

        save_row = QHBoxLayout()
        for widget in (self.preview_button, QLabel("&Name:", buddy=self.name_edit), self.name_edit):
            save_row.addWidget(widget)
        save_row.addWidget(self.save_button)
        saved_row = QHBoxLayout()
        saved_row.addWidget(QLabel("Sa&ved:", buddy=self.saved_box))
        saved_row.addWidget(self.saved_box, 1)
        saved_row.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        for widget in (self.sum_label, self.spec_label):
            layout.addWidget(widget)
        layout.addLayout(save_row)
        layout.addLayout(saved_row)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self.preview_button.clicked.connect(self.preview)
        self.save_button.clicked.connect(self.save)
        self.name_edit.returnPressed.connect(self.save)
        self.delete_button.clicked.connect(self.delete)
        self.saved_box.activated.connect(self._saved_chosen)
        self.restore_geometry(560, 300)
        self.no_default_button()
        self.fill_saved()
        self._update()

    # --- what it shows ---

    def set_voices(self, voices: list[tuple[str, str]], first: str = "") -> None:
        """Offer `voices` ((name, label), the engine's own, not blends) in every row; keep each row's choice,
        or start with `first` and the next voice of its language."""
        for n, row in enumerate(self.rows):
            kept = row.voice or (self._first_pair(voices, first)[n] if n < 2 else "")
            row.box.blockSignals(True)
            row.box.clear()
            if n >= 2:
                row.box.addItem("(none)", "")
            for name, label in voices:
                row.box.addItem(label, name)
            row.box.setCurrentIndex(max(0, row.box.findData(kept)))
            row.box.blockSignals(False)
        self._update()

    @staticmethod
    def _first_pair(voices: list[tuple[str, str]], first: str) -> tuple[str, str]:
        names = [name for name, _ in voices]
        if not names:
            return "", ""
        first = first if first in names else names[0]
        same = [n for n in names if n != first and lang_of_voice(n) == lang_of_voice(first)]
        others = [n for n in names if n != first]
        return first, (same or others or [first])[0]

    def fill_saved(self, chosen: str = "") -> dict[str, Blend]:
        """List the saved blends (read from disk again); a damaged file is one line here."""
        try:
            blends = saved_blends()
        except EngineError as exc:
            blends = {}
            show_message(self.message, str(exc))
        self.saved_box.clear()
        for name, blend in sorted(blends.items()):
            self.saved_box.addItem(f"{name} — {blend.spec}", name)
        if not blends:
            self.saved_box.addItem("(none saved yet)", "")
        self.saved_box.setCurrentIndex(max(0, self.saved_box.findData(chosen)))
        self.saved_box.setEnabled(bool(blends))
        self.delete_button.setEnabled(bool(blends))
        return blends

    def parts(self) -> list[tuple[str, int]]:
        """(voice, weight) of each row with a voice, in order."""
        return [(row.voice, row.slider.value()) for row in self.rows if row.voice]

    def spec(self) -> str:
        return ",".join(f"{voice}:{weight}" for voice, weight in self.parts())

    def blend(self) -> Blend:
        """The mix as the engine reads it (weights normalised); EngineError when there is none."""
        return parse_blend(self.spec())

    @Slot()
    def _update(self) -> None:
        total = sum(weight for _, weight in self.parts())
        for row in self.rows:
            row.slider.setEnabled(bool(row.voice))
            row.weight.setText(str(row.slider.value()) if row.voice else "")
            share = row.slider.value() / total if row.voice and total else 0.0
            row.share.setText(f"{share:.0%}" if row.voice else "")
        try:
            blend = self.blend()
        except EngineError as exc:
            self.sum_label.setText(f"Weights add up to {total}.")
            self.spec_label.setText(str(exc))
            ok = False
        else:
            self.sum_label.setText(f"Weights add up to {total}; the shares beside them add up to 100%.")
            self.spec_label.setText(f"Blend: {blend.spec}")
            ok = True
        self.preview_button.setEnabled(ok)
        self.save_button.setEnabled(ok)

    # --- what the user asks for ---

    @Slot()
    def preview(self) -> bool:
        """Ask the window to say the sample sentence of the first voice's language with this mix."""
        try:
            blend = self.blend()
        except EngineError as exc:
            show_message(self.message, str(exc))
            return False
        show_message(self.message, "")
        self.preview_requested.emit(sample_for(blend.voices[0]), blend.spec)
        return True

    @Slot()
    def save(self) -> bool:
        """Save the mix under the name given; the engine's message when it cannot be."""
        name = self.name_edit.text().strip()
        try:
            if not name:
                raise EngineError("Give the blend a name first.")
            blend = save_blend(name, self.blend())
        except (EngineError, OSError) as exc:
            show_message(self.message, str(exc))
            return False
        self.fill_saved(name)
        show_message(self.message, f"Saved “{name}” ({blend.spec}): it is in the voice list now.", False)
        self.blends_changed.emit(name)
        return True

    @Slot()
    def delete(self) -> bool:
        name = str(self.saved_box.currentData() or "")
        if not name:
            return False
        try:
            deleted = delete_blend(name)
        except (EngineError, OSError) as exc:
            show_message(self.message, str(exc))
            return False
        self.fill_saved()
        show_message(self.message, f"Deleted “{name}”." if deleted else f"“{name}” was already gone.", False)
        self.blends_changed.emit(name)
        return deleted

    @Slot(int)
    def _saved_chosen(self, index: int) -> None:
        """Put a saved blend's voices and weights in the rows, and its name in the box, to change it."""
        name = str(self.saved_box.itemData(index) or "")
        try:
            blend = saved_blends().get(name)
        except EngineError as exc:
            show_message(self.message, str(exc))
            return
        if blend is None:
            return
        for n, row in enumerate(self.rows):
            voice, weight = blend.parts[n] if n < len(blend.parts) else ("", 0.0)
            row.box.setCurrentIndex(max(0, row.box.findData(voice)))
            row.slider.setValue(round(weight * 100))
        self.name_edit.setText(name)
        show_message(self.message, "")
