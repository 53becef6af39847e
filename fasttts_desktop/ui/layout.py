"""The window's widgets and where they sit; every control gets an accessible name (what a screen reader
says) and a tooltip naming its key. Behaviour lives in main_window.py; this file only builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from fasttts_desktop.engine.types import MAX_SPEED, MIN_SPEED
from fasttts_desktop.ui.actions import Actions
from fasttts_desktop.ui.chapters import ChaptersPanel
from fasttts_desktop.ui.dialog_parts import named
from fasttts_desktop.ui.info_bar import InfoBar
from fasttts_desktop.ui.reader_view import ReaderEdit
from fasttts_desktop.ui.voice_picker import make_searchable

if TYPE_CHECKING:  # main_window.py imports this module
    from fasttts_desktop.ui.main_window import MainWindow

_BANNER_STYLE = "QLabel { background: #fff4d6; color: #5c4400; border: 1px solid #e6c76a; padding: 6px; }"
_ERROR_STYLE = "QLabel { background: #fde8e8; color: #8a1c1c; border: 1px solid #e8a0a0; padding: 6px; }"
PLACEHOLDER = (
    "Type or paste text here, or open a document (Ctrl+O, or drop a file here), then press Speak "
    "(Ctrl+Return).\nCtrl+Space pauses and resumes, Alt+Left/Right go back or on a sentence, Alt+Up/Down "
    "a paragraph, Esc stops. Put the cursor somewhere to read from there."
)


class WindowWidgets:
    """The widgets `build_widgets` makes, as the window's attributes (declared here, set there), and the
    export panel's bar (exporting.py)."""

    banner: QLabel
    error_label: QLabel
    resume_bar: InfoBar
    notice_bar: InfoBar
    text_edit: ReaderEdit
    voice_box: QComboBox
    mix_button: QToolButton
    speed_box: QDoubleSpinBox
    speak_button: QPushButton
    pause_button: QPushButton
    stop_button: QPushButton
    save_button: QPushButton
    nav_buttons: list[QToolButton]
    chapters: ChaptersPanel
    status_label: QLabel
    position_label: QLabel
    progress: QProgressBar
    open_progress: QProgressBar
    engine_label: QLabel
    save_progress: QProgressBar


def _tool_button(action: QAction, name: str) -> QToolButton:
    button = QToolButton(objectName=name, autoRaise=True)
    button.setDefaultAction(action)  # icon, tooltip with its key, and enabled state follow the action
    button.setAccessibleName(action.text().replace("&", ""))
    button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    return button


def build_widgets(w: MainWindow, a: Actions, voice: str, speed: float) -> None:
    """Create the window's widgets as attributes of `w` and lay them out."""
    w.banner = named(QLabel(objectName="banner", wordWrap=True, visible=False), "Notice")
    w.banner.setStyleSheet(_BANNER_STYLE)
    w.error_label = named(QLabel(objectName="error", wordWrap=True, visible=False), "Error")
    w.error_label.setStyleSheet(_ERROR_STYLE)
    w.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    w.resume_bar = InfoBar("resume-bar", "Reading position")
    w.notice_bar = InfoBar("notice-bar", "Characters not spoken")

    w.text_edit = named(ReaderEdit(objectName="text"), "Text to read")
    w.text_edit.setAccessibleDescription("The text being read; the word being heard is highlighted")
    w.text_edit.setPlaceholderText(PLACEHOLDER)
    font = QFont(w.text_edit.font())
    font.setPointSizeF(font.pointSizeF() * 1.25)
    w.text_edit.setFont(font)

    w.voice_box = named(
        QComboBox(objectName="voice"), "Voice", "Voice (language, gender, grade); type to search"
    )
    w.voice_box.setMinimumContentsLength(28)
    w.voice_box.addItem(voice or "Loading voices…", voice)
    w.voice_box.setEnabled(False)
    w.mix_button = QToolButton(objectName="mix-voices")
    w.mix_button.setDefaultAction(a.mix_voices)  # its text, tooltip and enabled state follow the action
    w.mix_button.setAccessibleName("Mix voices")
    w.speed_box = named(QDoubleSpinBox(objectName="speed"), "Speed", "Speaking rate: 1.00× is normal")
    w.speed_box.setRange(MIN_SPEED, MAX_SPEED)
    w.speed_box.setSingleStep(0.1)
    w.speed_box.setDecimals(2)
    w.speed_box.setSuffix("×")
    w.speed_box.setValue(speed)

    w.speak_button = named(QPushButton("Speak", objectName="speak"), "Speak", a.speak.toolTip())
    w.speak_button.setDefault(True)
    w.pause_button = named(QPushButton("Pause", objectName="pause", enabled=False), "Pause or resume")
    w.pause_button.setToolTip(a.pause.toolTip())
    w.stop_button = named(QPushButton("Stop", objectName="stop", enabled=False), "Stop", a.stop.toolTip())
    w.save_button = named(QPushButton("Export…", objectName="save"), "Export audio", a.export_audio.toolTip())
    nav = [
        _tool_button(a.previous_paragraph, "previous-paragraph"),
        _tool_button(a.previous_sentence, "previous-sentence"),
        _tool_button(a.next_sentence, "next-sentence"),
        _tool_button(a.next_paragraph, "next-paragraph"),
    ]
    w.nav_buttons = nav

    transport = QHBoxLayout()  # the playback keys, centred under the text
    for item in (None, *nav[:2], w.speak_button, w.pause_button, w.stop_button, *nav[2:], None):
        _add(transport, item)
    choices = QHBoxLayout()
    # Alt+C and Alt+D reach the pickers from anywhere (V, O, E and P belong to the menus)
    voice_label = named(QLabel("Voi&ce:", buddy=w.voice_box), "Voice")
    speed_label = named(QLabel("Spee&d:", buddy=w.speed_box), "Speed")
    for part in (voice_label, w.voice_box, w.mix_button, 12, speed_label, w.speed_box, None, w.save_button):
        _add(choices, part)

    layout = QVBoxLayout()
    for widget in (w.banner, w.error_label, w.resume_bar, w.notice_bar):
        layout.addWidget(widget)
    layout.addWidget(w.text_edit, 1)
    layout.addLayout(transport)
    layout.addLayout(choices)
    central = QWidget(objectName="central")
    central.setLayout(layout)
    w.setCentralWidget(central)
    w.setTabOrder(w.text_edit, w.voice_box)

    w.chapters = ChaptersPanel(w)
    w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, w.chapters)
    toggle = w.chapters.toggleViewAction()
    toggle.setText("&Chapters Panel")
    toggle.setShortcut("Ctrl+Shift+C")
    a.view_menu.insertAction(a.view_menu.actions()[0], toggle)

    w.status_label = named(QLabel("Loading the speech engine…", objectName="status"), "Status")
    make_searchable(w.voice_box, w.status_label.setText)  # a search that finds nothing says so there
    # Messages give way (cut at the right) before the reading position does.
    w.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    w.status_label.setMinimumWidth(80)
    w.position_label = named(QLabel(objectName="position"), "Reading position")
    # Busy from the start: the engine's first progress report comes only after torch has imported.
    w.progress = named(
        QProgressBar(objectName="progress", maximumWidth=200, minimum=0, maximum=0), "Progress"
    )
    w.progress.setMinimumWidth(140)  # room for "chunk 12 of 12" or "20 s made ahead"
    w.open_progress = named(
        QProgressBar(objectName="open-progress", visible=False, maximumWidth=120, minimum=0, maximum=0),
        "Opening the document",
    )
    w.open_progress.setFormat("Opening…")
    w.engine_label = named(QLabel("Engine loading…", objectName="engine"), "Engine")
    w.menuBar().setAccessibleName("Menu bar")
    bar = w.statusBar()
    bar.setAccessibleName("Status bar")
    bar.addWidget(w.status_label, 1)
    bar.addWidget(w.position_label)
    for busy in (w.progress, w.open_progress):
        bar.addWidget(busy)
    bar.addPermanentWidget(w.engine_label)


def _add(layout: QHBoxLayout, item: QWidget | int | None) -> None:
    if item is None:
        layout.addStretch(1)
    elif isinstance(item, int):
        layout.addSpacing(item)
    else:
        layout.addWidget(item)
