"""The voice picker: the engine's voices under a heading per language (best grade first, as the engine orders
them), saved blends last, and a search field that finds a voice by any part of its label (name, language,
gender, grade).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QCompleter

BLENDS_GROUP = "Saved blends"


def make_searchable(box: QComboBox, say: Callable[[str], None] | None = None) -> None:
    """Typing in the picker lists the voices whose label contains the text; picking one selects it. A search
    that finds no voice is told to `say` in a line (the popup alone just does not appear)."""
    box.setEditable(True)
    box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    line = box.lineEdit()
    if line is None:  # an editable combo box always has one
        return
    line.setPlaceholderText("Search voices")
    completer = QCompleter(QStringListModel(box), box)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    completer.activated.connect(lambda label: _select_label(box, label))
    box.setCompleter(completer)
    # A search that picked nothing shows the chosen voice again rather than leaving the typed words there.
    line.editingFinished.connect(lambda: _select_label(box, line.text(), say))


def _select_label(box: QComboBox, label: str, say: Callable[[str], None] | None = None) -> None:
    index = box.findText(label, Qt.MatchFlag.MatchFixedString)
    if index >= 0 and box.itemData(index):
        box.setCurrentIndex(index)
    elif say is not None and label.strip() and not _matches(box, label.strip()):
        voices = sum(1 for i in range(box.count()) if box.itemData(i))
        still = box.itemText(box.currentIndex())
        say(f"No voice matches “{label.strip()}” (of {voices}); the voice is still {still}.")
    _show(box, box.itemText(box.currentIndex()))


def _show(box: QComboBox, label: str) -> None:
    """`label` in the search field from its start: a line edit leaves its cursor at the end, and where the
    label is wider than the field that hides the voice's name and shows only its language and grade."""
    box.setEditText(label)
    line = box.lineEdit()
    if line is not None:
        line.setCursorPosition(0)


def _matches(box: QComboBox, text: str) -> bool:
    wanted = text.casefold()
    return any(box.itemData(i) and wanted in box.itemText(i).casefold() for i in range(box.count()))


def fill_voice_box(
    box: QComboBox, voices: Sequence[tuple[str, str]], groups: Mapping[str, str], wanted: str
) -> None:
    """Voices ((name, label), in display order) under their group's heading; a heading cannot be chosen."""
    by_group: dict[str, list[tuple[str, str]]] = {}
    for name, label in voices:
        by_group.setdefault(groups.get(name, BLENDS_GROUP), []).append((name, label))
    model = QStandardItemModel(box)
    heading_font = QFont(box.font())
    heading_font.setBold(True)
    for group, members in by_group.items():
        heading = QStandardItem(group)
        heading.setFlags(Qt.ItemFlag.NoItemFlags)
        heading.setFont(heading_font)
        model.appendRow(heading)
        for name, label in members:
            item = QStandardItem(label)
            item.setData(name, Qt.ItemDataRole.UserRole)
            model.appendRow(item)
    box.setModel(model)
    completer = box.completer()
    labels = completer.model() if completer is not None else None
    if isinstance(labels, QStringListModel):
        labels.setStringList([label for _, label in voices])
    index = box.findData(wanted)
    if index < 0:
        index = next((i for i in range(box.count()) if box.itemData(i)), 0)
    box.setCurrentIndex(index)
    _show(box, box.itemText(index))
