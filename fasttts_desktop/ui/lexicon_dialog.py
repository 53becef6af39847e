"""Voice > Pronunciation…: the user's lexicon as a table (word or phrase, how it is said, kind, languages),
with Add, Edit and Remove, and a line to try it: "Hear it" speaks the text with the window's voice, "Show
phonemes" shows what the engine will say (its front end only, no audio).

Every change is checked by the engine's Lexicon (a bad phoneme is its one-line message, shown in the entry
dialog) and saved at once, whole (Lexicon.save); then `lexicon_saved` tells the window, which hands the
file to the engine for the next chunk it reads. A lexicon file that cannot be read is shown, not touched:
the dialog edits nothing until it is fixed, so nothing the user wrote is lost.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fasttts_desktop.engine.storage.files import cannot_save, describe_os_error
from fasttts_desktop.engine.text.languages import LANGUAGES
from fasttts_desktop.engine.text.lexicon import Lexicon, LexiconEntry
from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.ui.dialog_parts import RememberedDialog, message_label, named, show_message
from fasttts_desktop.ui.lexicon_entry import EntryDialog
from fasttts_desktop.worker.engine_tools import PhonemesResult

KEY = "dialogs/pronunciation"
COLUMNS = ("Word or phrase", "Said as", "Kind", "Languages")


class LexiconDialog(RememberedDialog):
    hear_requested = Signal(str)  # text to speak with the window's voice
    phonemes_requested = Signal(str)  # text whose phonemes to show (`show_phonemes` gets the answer)
    lexicon_saved = Signal(str)  # the file just written: the engine should read with it now

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__(settings, KEY, parent)
        self.setWindowTitle("Pronunciation")
        self.setAccessibleName("Pronunciation lexicon")
        self.lexicon: Lexicon | None = None  # None: the file could not be read
        self.table = named(
            QTableWidget(0, len(COLUMNS), objectName="lexicon-table"),
            "Pronunciations",
            "Your pronunciations; double-click one to change it",
        )
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.add_button = named(
            QPushButton("&Add…", objectName="lexicon-add"), "Add", "Add a word, phrase or abbreviation"
        )
        self.edit_button = named(
            QPushButton("&Edit…", objectName="lexicon-edit"), "Edit", "Change the chosen entry"
        )
        self.remove_button = named(
            QPushButton("&Remove", objectName="lexicon-remove"), "Remove", "Forget the chosen entry"
        )
        self.try_edit = named(
            QLineEdit(objectName="lexicon-try", placeholderText="a word or sentence to try"),
            "Text to try",
            "The chosen entry's word, or any text: hear it or see its phonemes",
        )
        self.hear_button = named(
            QPushButton("&Hear it", objectName="lexicon-hear"),
            "Hear it",
            "Speak the text with the current voice",
        )
        self.phonemes_button = named(
            QPushButton("Show &phonemes", objectName="lexicon-phonemes"),
            "Show phonemes",
            "Show the phonemes the engine will speak for the text (with your pronunciations)",
        )
        self.phonemes_view = named(
            QLineEdit(objectName="lexicon-phonemes-view", readOnly=True),
            "Phonemes",
            "What the engine will say",
        )
        self.message = message_label("lexicon-message", "Message")
        self.path_label = named(QLabel(objectName="lexicon-path", wordWrap=True), "Lexicon file")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        named(buttons.button(QDialogButtonBox.StandardButton.Close), "Close", "Close (changes are saved)")

        edit_row = QHBoxLayout()
        for widget in (self.add_button, self.edit_button, self.remove_button):
            edit_row.addWidget(widget)
        edit_row.addStretch(1)
        try_row = QHBoxLayout()
        try_row.addWidget(QLabel("&Try:", buddy=self.try_edit))
        for widget in (self.try_edit, self.hear_button, self.phonemes_button):
            try_row.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(edit_row)
        layout.addLayout(try_row)
        layout.addWidget(self.phonemes_view)
        for widget in (self.message, self.path_label):
            layout.addWidget(widget)
        layout.addWidget(buttons)

        self.add_button.clicked.connect(self.add_entry)
        self.edit_button.clicked.connect(self.edit_entry)
        self.remove_button.clicked.connect(self.remove_entry)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.cellDoubleClicked.connect(lambda *_: self.edit_entry())
        self.hear_button.clicked.connect(self.hear)
        self.phonemes_button.clicked.connect(self.ask_phonemes)
        self.try_edit.returnPressed.connect(self.ask_phonemes)
        self.restore_geometry(620, 420)
        self.no_default_button()
        self.reload()

    # --- the entries ---

    def reload(self) -> None:
        """Read the saved lexicon again (another window or the CLI may have changed it)."""
        path = Lexicon.default_path()
        try:
            self.lexicon = Lexicon.load(path)
        except (EngineError, OSError) as exc:
            self.lexicon = None
            show_message(self.message, f"{exc} Nothing can be changed here until then.")
        else:
            show_message(self.message, "")
        self.path_label.setText(f"Saved in {path}")
        self._fill()

    def entries(self) -> list[LexiconEntry]:
        return self.lexicon.entries() if self.lexicon is not None else []

    def selected(self) -> LexiconEntry | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        entries = self.entries()
        return entries[min(rows)] if rows and min(rows) < len(entries) else None

    def _fill(self, chosen: LexiconEntry | None = None) -> None:
        entries = self.entries()
        self.table.setRowCount(len(entries))
        for r, e in enumerate(entries):
            languages = ", ".join(LANGUAGES.get(c, c) for c in e.languages) or "all"
            for c, text in enumerate((e.text, e.replacement, e.kind, languages)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        if chosen is not None and chosen in entries:
            self.table.selectRow(entries.index(chosen))
        self.add_button.setEnabled(self.lexicon is not None)
        self._selection_changed()

    @Slot()
    def _selection_changed(self) -> None:
        entry = self.selected()
        self.edit_button.setEnabled(entry is not None)
        self.remove_button.setEnabled(entry is not None)
        if entry is not None:
            self.try_edit.setText(entry.text)
            self.phonemes_view.clear()

    def _change(self, change: Callable[[Lexicon], LexiconEntry | None]) -> str:
        """Apply `change` to the saved lexicon as it is now (read again under the file's lock, so an entry
        the CLI added meanwhile is kept), save it whole, then use it; "" or the one line saying why not."""
        if self.lexicon is None:
            return "The lexicon file could not be read, so it is left as it is."
        try:
            with Lexicon.editing(self.lexicon.path) as trial:
                chosen = change(trial)
            path = trial.path
        except EngineError as exc:
            return str(exc)
        except OSError as exc:
            return str(cannot_save(self.lexicon.path, describe_os_error(exc)))
        self.lexicon = trial
        self._fill(chosen)
        show_message(self.message, "")
        self.lexicon_saved.emit(str(path))
        return ""

    @Slot()
    def add_entry(self) -> EntryDialog:
        """Open the entry dialog for a new entry (not blocking); OK saves it."""
        dialog = EntryDialog(lambda t, r, langs: self._change(lambda lex: lex.add(t, r, langs)), None, self)
        return _opened(dialog)

    @Slot()
    def edit_entry(self) -> EntryDialog | None:
        old = self.selected()
        if old is None:
            return None

        def replace(lex: Lexicon, text: str, replacement: str, languages) -> LexiconEntry:
            lex.remove(old.text, old.languages)
            return lex.add(text, replacement, languages)

        dialog = EntryDialog(
            lambda t, r, langs: self._change(lambda lex: replace(lex, t, r, langs)), old, self
        )
        return _opened(dialog)

    @Slot()
    def remove_entry(self) -> bool:
        old = self.selected()
        if old is None:
            return False

        def drop(lex: Lexicon) -> None:
            lex.remove(old.text, old.languages)

        message = self._change(drop)
        show_message(self.message, message or f"Removed “{old.text}”.", bool(message))
        return not message

    # --- trying it ---

    def _try_text(self) -> str:
        return self.try_edit.text().strip()

    @Slot()
    def hear(self) -> bool:
        text = self._try_text()
        if not text:
            show_message(self.message, "Type a word or sentence to hear, or choose an entry.")
            return False
        self.hear_requested.emit(text)
        return True

    @Slot()
    def ask_phonemes(self) -> bool:
        text = self._try_text()
        if not text:
            show_message(self.message, "Type a word or sentence, or choose an entry, to see its phonemes.")
            return False
        self.phonemes_view.setPlaceholderText("asking the engine…")
        self.phonemes_view.clear()
        self.phonemes_requested.emit(text)
        return True

    def show_error(self, message: str) -> None:
        show_message(self.message, message)

    def show_phonemes(self, result: PhonemesResult) -> None:
        self.phonemes_view.setPlaceholderText("")
        if result.error:
            self.phonemes_view.clear()
            self.show_error(result.error)
            return
        language = LANGUAGES.get(result.lang_code, result.lang_code)
        self.phonemes_view.setText(result.phonemes)
        self.phonemes_view.setToolTip(f"What the engine will say, read as {language}")
        self.phonemes_view.setCursorPosition(0)
        # English words with a Japanese voice are read by the English front end: name who really reads
        read_by = [LANGUAGES.get(code, code) for code in result.readers] or [language]
        note = f"Read as {' and '.join(read_by)}."
        if language not in read_by:
            note = f"{note[:-1]} (the voice's language is {language})."
        note += f" {result.unspoken}" if result.unspoken else ""
        show_message(self.message, note, False)


def _opened(dialog: EntryDialog) -> EntryDialog:
    dialog.finished.connect(dialog.deleteLater)  # one per Add or Edit: not kept once answered
    dialog.open()
    return dialog
