"""The export dialog's loudness and cover rows: normalise to N LUFS (on by default, remembered), and a
picture for an M4B or read-along book (left empty: an EPUB's own cover, if it has one)."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from fasttts_desktop.export.loudness import DEFAULT_LUFS, LOUDNESS_RANGE
from fasttts_desktop.export.tags import load_cover
from fasttts_desktop.ui.dialog_parts import named


def remembered_loudness(settings: QSettings) -> float | None:
    """The loudness target last chosen in the export dialog (None: off); -18 LUFS until one is chosen."""
    try:
        return float(str(settings.value("export/loudness", DEFAULT_LUFS)))
    except ValueError:
        return None


class LoudnessRow(QWidget):
    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__(parent, objectName="export-loudness-row")
        self.settings = settings
        self.box = named(
            QCheckBox("Normalise to", objectName="export-loudness"),
            "Normalise loudness",
            "Bring the file to a steady loudness (EBU R128), peaks kept under -1 dBTP; playback is unchanged",
        )
        self.level = named(
            QDoubleSpinBox(objectName="export-loudness-level"), "Loudness target in LUFS", "-18 suits speech"
        )
        self.level.setRange(*LOUDNESS_RANGE)
        self.level.setDecimals(1)
        self.level.setSingleStep(1.0)
        self.level.setSuffix(" LUFS")
        inner = self.level.findChild(QLineEdit)  # the spin box's own editor, which screen readers meet too
        if inner is not None:
            named(inner, "Loudness target in LUFS", "-18 suits speech")
        level = remembered_loudness(settings)
        self.box.setChecked(level is not None)
        self.level.setValue(level if level is not None else DEFAULT_LUFS)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.box)
        row.addWidget(self.level)
        row.addStretch(1)
        self.box.toggled.connect(self.level.setEnabled)
        self.level.setEnabled(self.box.isChecked())

    def value(self) -> float | None:
        return self.level.value() if self.box.isChecked() else None

    def remember(self) -> None:
        value = self.value()
        self.settings.setValue("export/loudness", "off" if value is None else value)


class CoverRow(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="export-cover-row")
        self.path_edit = named(
            QLineEdit(objectName="export-cover"),
            "Cover picture",
            "A JPEG or PNG for an M4B or read-along book; empty: the EPUB's own cover, if any",
        )
        self.path_edit.setPlaceholderText("the book's own cover, if any")
        self.choose_button = named(
            QPushButton("Choose…", objectName="export-cover-choose"), "Choose cover", "Pick a cover picture"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.choose_button)
        self.choose_button.clicked.connect(self._choose)

    def path(self) -> str | None:
        return self.path_edit.text().strip() or None

    def check(self) -> None:
        """ExportError (one line) for a cover that is missing or not a picture; nothing when empty or off."""
        if self.isEnabled() and self.path():
            load_cover(self.path() or "")

    @Slot()
    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Cover picture", self.path_edit.text(), "Pictures (*.jpg *.jpeg *.png)"
        )
        if path:
            self.path_edit.setText(path)
