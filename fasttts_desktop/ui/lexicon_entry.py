"""One pronunciation entry, added or changed: the word or phrase as written, how to say it (a respelling,
or phonemes between slashes), and the languages it is for (none ticked: all).

OK hands the three to a `submit` function (the pronunciation dialog's, which checks and saves through the
engine's Lexicon); its one-line message, if any, shows here and the dialog stays open with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from fasttts_desktop.engine.text.languages import LANGUAGES
from fasttts_desktop.engine.text.lexicon import LexiconEntry
from fasttts_desktop.ui.dialog_parts import message_label, named, show_message

# (text, replacement, languages) -> "" when saved, else the message to show
Submit = Callable[[str, str, tuple[str, ...]], str]

KINDS = {
    "respelling": "Read as the words written here.",
    "abbreviation": "An abbreviation: read as the words written here.",
    "phonemes": "Phonemes: spoken exactly as written between the slashes.",
}


class EntryDialog(QDialog):
    def __init__(self, submit: Submit, entry: LexiconEntry | None = None, parent: QWidget | None = None):
        super().__init__(parent, objectName="lexicon-entry")
        self._submit = submit
        self.setWindowTitle("Change Pronunciation" if entry else "Add Pronunciation")
        self.setAccessibleName(self.windowTitle())
        self.text_edit = named(
            QLineEdit(objectName="entry-text", placeholderText="e.g. Kokoro, approx., New York"),
            "Word or phrase",
            "As it is written in the text; in lower case it matches any case, with capitals only itself",
        )
        self.replacement_edit = named(
            QLineEdit(objectName="entry-replacement", placeholderText="koh-KOH-roh, or /kˈOkəɹO/"),
            "Say it as",
            "A respelling the reader reads instead, or phonemes between slashes (Kokoro's symbols)",
        )
        self.kind_label = named(QLabel(objectName="entry-kind"), "Kind of entry")
        self.language_boxes: dict[str, QCheckBox] = {}
        languages = QGroupBox("Only in these languages (none ticked: in all of them)")
        grid = QGridLayout(languages)
        for n, (code, name) in enumerate(LANGUAGES.items()):
            box = named(
                QCheckBox(name, objectName=f"entry-lang-{code}"), name, f"Use this entry when reading {name}"
            )
            self.language_boxes[code] = box
            grid.addWidget(box, n // 3, n % 3)
        self.message = message_label("entry-message", "Problem with the entry")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = named(buttons.button(QDialogButtonBox.StandardButton.Ok), "OK", "Save the entry")
        named(buttons.button(QDialogButtonBox.StandardButton.Cancel), "Cancel", "Leave the lexicon as it was")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("&Word or phrase:", self.text_edit)
        form.addRow("&Say it as:", self.replacement_edit)
        form.addRow("", self.kind_label)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(languages)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

        if entry is not None:
            self.text_edit.setText(entry.text)
            self.replacement_edit.setText(entry.replacement)
            for code in entry.languages:
                if code in self.language_boxes:
                    self.language_boxes[code].setChecked(True)
        self.text_edit.textChanged.connect(self._update)
        self.replacement_edit.textChanged.connect(self._update)
        self._update()

    def languages(self) -> tuple[str, ...]:
        return tuple(code for code, box in self.language_boxes.items() if box.isChecked())

    @Slot()
    def _update(self) -> None:
        text, replacement = self.text_edit.text().strip(), self.replacement_edit.text().strip()
        self.ok_button.setEnabled(bool(text and replacement))
        kind = LexiconEntry(text, replacement).kind if replacement else ""
        self.kind_label.setText(KINDS.get(kind, "A respelling, or phonemes between slashes: /…/"))

    def accept(self) -> None:
        message = self._submit(self.text_edit.text(), self.replacement_edit.text(), self.languages())
        show_message(self.message, message)
        if not message:
            super().accept()
