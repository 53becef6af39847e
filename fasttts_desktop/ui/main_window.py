"""The window: a text box, voice and speed, Speak / Stop / Save WAV…, and a status bar. It only shows and asks;
SpeechService does the work."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtGui import QCloseEvent, QFont, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fasttts_desktop.engine.text.languages import lang_of_voice
from fasttts_desktop.engine.text.scripts import script_warning
from fasttts_desktop.engine.types import MAX_SPEED, MIN_SPEED
from fasttts_desktop.ui.stats_text import describe_utterance
from fasttts_desktop.worker.engine_worker import EngineInfo
from fasttts_desktop.worker.speech import SpeechService, UtteranceStats

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
_BANNER_STYLE = "QLabel { background: #fff4d6; color: #5c4400; border: 1px solid #e6c76a; padding: 6px; }"
_ERROR_STYLE = "QLabel { background: #fde8e8; color: #8a1c1c; border: 1px solid #e8a0a0; padding: 6px; }"


class MainWindow(QMainWindow):
    def __init__(self, service: SpeechService, settings: QSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self.settings = settings
        self._notices: dict[
            str, str
        ] = {}  # banner lines by source: engine notice, sound device, load failure
        self._saved_voice = str(settings.value("voice", "") or "")

        self.setWindowTitle("FastTTS — text to speech")
        self.setWindowIcon(QIcon(str(RESOURCES / "icon.svg")))

        self.banner = QLabel(objectName="banner", wordWrap=True, visible=False)
        self.banner.setStyleSheet(_BANNER_STYLE)
        self.error_label = QLabel(objectName="error", wordWrap=True, visible=False)
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.text_edit = QPlainTextEdit(objectName="text")
        self.text_edit.setPlaceholderText("Type or paste text here, then press Speak (Ctrl+Return).")
        font = QFont(self.text_edit.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.text_edit.setFont(font)

        self.voice_box = QComboBox(objectName="voice")
        self.voice_box.setMinimumContentsLength(24)
        self.voice_box.setToolTip("Voice (language, gender)")
        self.voice_box.addItem(self._saved_voice or "Loading voices…", self._saved_voice)
        self.voice_box.setEnabled(False)
        self.speed_box = QDoubleSpinBox(objectName="speed")
        self.speed_box.setRange(MIN_SPEED, MAX_SPEED)
        self.speed_box.setSingleStep(0.1)
        self.speed_box.setDecimals(2)
        self.speed_box.setSuffix("×")
        self.speed_box.setToolTip("Speaking rate: 1.00× is normal")
        self.speed_box.setValue(_float(settings.value("speed", 1.0), 1.0))

        self.speak_button = QPushButton("Speak", objectName="speak")
        self.speak_button.setToolTip("Speak the text (Ctrl+Return)")
        self.speak_button.setDefault(True)
        self.stop_button = QPushButton("Stop", objectName="stop", enabled=False)
        self.stop_button.setToolTip("Stop speaking or saving (Esc)")
        self.save_button = QPushButton("Save WAV…", objectName="save")
        self.save_button.setToolTip("Save the text's speech as a 24 kHz mono 16-bit WAV file (Ctrl+S)")

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Voice:", buddy=self.voice_box))
        controls.addWidget(self.voice_box)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Speed:", buddy=self.speed_box))
        controls.addWidget(self.speed_box)
        controls.addStretch(1)
        for button in (self.speak_button, self.stop_button, self.save_button):
            controls.addWidget(button)

        layout = QVBoxLayout()
        layout.addWidget(self.banner)
        layout.addWidget(self.error_label)
        layout.addWidget(self.text_edit, 1)
        layout.addLayout(controls)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.setTabOrder(self.text_edit, self.voice_box)

        self.status_label = QLabel("Loading the speech engine…", objectName="status")
        # Busy from the start: the engine's first progress report comes only after torch has imported.
        self.progress = QProgressBar(objectName="progress", maximumWidth=220, minimum=0, maximum=0)
        self.save_progress = QProgressBar(objectName="save-progress", visible=False, maximumWidth=160)
        self.engine_label = QLabel("Engine loading…", objectName="engine")
        bar = self.statusBar()
        bar.addWidget(self.status_label, 1)
        bar.addWidget(self.progress)
        bar.addWidget(self.save_progress)
        bar.addPermanentWidget(self.engine_label)

        self.speak_button.clicked.connect(self.speak)
        self.stop_button.clicked.connect(self.stop)
        self.save_button.clicked.connect(self.save_wav)
        self.voice_box.currentIndexChanged.connect(self._voice_chosen)
        self.speed_box.valueChanged.connect(lambda v: self.settings.setValue("speed", float(v)))
        # A window-wide shortcut: the text box would otherwise take Ctrl+Return as a newline.
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.speak, context=Qt.ShortcutContext.WindowShortcut)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.stop, context=Qt.ShortcutContext.WindowShortcut)
        QShortcut(
            QKeySequence.StandardKey.Save, self, self.save_wav, context=Qt.ShortcutContext.WindowShortcut
        )
        QShortcut(QKeySequence.StandardKey.Quit, self, self.close, context=Qt.ShortcutContext.WindowShortcut)

        s = service
        s.load_progress.connect(self._on_load_progress)
        s.ready.connect(self._on_ready)
        s.load_failed.connect(self._on_load_failed)
        s.busy_changed.connect(self._on_busy)
        s.progress.connect(self._on_progress)
        s.utterance_finished.connect(self._on_finished)
        s.speech_error.connect(self._on_speech_error)
        s.device_problem.connect(lambda message: self._set_notice("device", message))
        s.save_progress.connect(self._on_save_progress)
        s.saved.connect(self._on_saved)
        s.save_failed.connect(self._on_save_failed)

        geometry = settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(760, 440)
        self.text_edit.setFocus()

    # --- what the user asks for ---

    def voice(self) -> str:
        return str(self.voice_box.currentData() or "")

    def speed(self) -> float:
        return round(self.speed_box.value(), 2)

    @Slot()
    def speak(self) -> None:
        text = self.text_edit.toPlainText()
        self._show_error("")
        if not text.strip():
            self._show_error("There is no text to speak: type or paste some first.")
            return
        # Text in a script the front end cannot read would be spelled out: say so, but read it anyway.
        self._set_notice("script", script_warning(text, lang_of_voice(self.voice())) or "")
        self.service.speak(text, self.voice(), self.speed())
        if self.service.is_ready:
            self.status_label.setText("Speaking…")
        else:
            self.status_label.setText("Will speak as soon as the engine has loaded…")

    @Slot()
    def stop(self) -> None:
        was_busy = self.service.busy or self.service.saving
        self.service.stop()
        if was_busy:
            self.status_label.setText("Stopped.")

    @Slot()
    def save_wav(self) -> None:
        folder = str(self.settings.value("save/folder", "") or Path.home())
        path, _ = QFileDialog.getSaveFileName(
            self, "Save speech as WAV", str(Path(folder) / "speech.wav"), "WAV audio (*.wav)"
        )
        if path:
            if not path.lower().endswith(".wav"):
                path += ".wav"
            self.settings.setValue("save/folder", str(Path(path).parent))
            self.save_to(path)

    def save_to(self, path: str) -> None:
        text = self.text_edit.toPlainText()
        self._show_error("")
        if not text.strip():
            self._show_error("There is no text to save: type or paste some first.")
            return
        self.service.save(path, text, self.voice(), self.speed())
        self.save_progress.setRange(0, 0)
        self.save_progress.setFormat("Saving…")
        self.save_progress.show()
        self.stop_button.setEnabled(True)
        self.status_label.setText(f"Saving {Path(path).name}…")

    # --- what the service reports ---

    @Slot(str, float)
    def _on_load_progress(self, message: str, fraction: float) -> None:
        self.engine_label.setText(f"Loading: {message}…")
        if fraction < 0 or fraction > 1:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(round(fraction * 100))
            self.progress.setFormat("%p%")
        self.progress.show()

    @Slot(object)
    def _on_ready(self, info: EngineInfo) -> None:
        self.engine_label.setText(info.description)
        self.engine_label.setToolTip("The path the speech engine runs on")
        self._set_notice("engine", info.notice)
        wanted = (
            self._saved_voice if any(n == self._saved_voice for n, _ in info.voices) else info.default_voice
        )
        self.voice_box.blockSignals(True)
        self.voice_box.clear()
        for name, label in info.voices:
            self.voice_box.addItem(label, name)
        self.voice_box.setCurrentIndex(max(0, self.voice_box.findData(wanted)))
        self.voice_box.blockSignals(False)
        self.voice_box.setEnabled(True)
        if not self.service.busy:
            self.progress.hide()
            self.status_label.setText("Ready.")

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self.engine_label.setText("Engine not loaded")
        self.progress.hide()
        self._set_notice("load", f"The speech engine could not be loaded: {message}")
        self.status_label.setText("The speech engine could not be loaded.")

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.stop_button.setEnabled(busy or self.service.saving)
        if busy:
            if self.service.is_ready:
                self.progress.setRange(0, 0)
                self.progress.setFormat("")
                self.progress.show()
        elif self.service.is_ready:
            self.progress.hide()

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, done, 1))
        self.progress.setValue(done)
        self.progress.setFormat(
            f"chunk {min(done + 1, total)} of {total}" if done < total else f"{total} of {total}"
        )
        self.progress.show()

    @Slot(object)
    def _on_finished(self, stats: UtteranceStats) -> None:
        self.status_label.setText(describe_utterance(stats))

    @Slot(str)
    def _on_speech_error(self, message: str) -> None:
        self._show_error(message)
        self.status_label.setText("Could not speak.")

    @Slot(int, int)
    def _on_save_progress(self, done: int, total: int) -> None:
        self.save_progress.setRange(0, max(total, 1))
        self.save_progress.setValue(done)
        self.save_progress.setFormat(f"Saving {done}/{total}")

    @Slot(str)
    def _on_saved(self, path: str) -> None:
        self.save_progress.hide()
        self.stop_button.setEnabled(self.service.busy)
        self.status_label.setText(f"Saved {path}")

    @Slot(str)
    def _on_save_failed(self, message: str) -> None:
        self.save_progress.hide()
        self.stop_button.setEnabled(self.service.busy)
        if message:
            self._show_error(message)
            self.status_label.setText("Could not save.")
        else:
            self.status_label.setText("Save cancelled; no file was written.")

    # --- helpers ---

    @Slot(int)
    def _voice_chosen(self, index: int) -> None:
        name = self.voice_box.itemData(index)
        if name:
            self._saved_voice = name
            self.settings.setValue("voice", name)

    def _set_notice(self, source: str, message: str) -> None:
        if message:
            self._notices[source] = message
        else:
            self._notices.pop(source, None)
        self.banner.setText("\n".join(self._notices.values()))
        self.banner.setVisible(bool(self._notices))

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()
        self.hide()  # gone at once, even if the engine needs a moment to finish its chunk
        self.service.shutdown()
        super().closeEvent(event)


def _float(value, default: float) -> float:
    try:
        return min(MAX_SPEED, max(MIN_SPEED, float(value)))
    except (TypeError, ValueError):
        return default
