"""The window with a fake engine and fake sound output (offscreen): widgets, shortcuts, status, settings,
errors."""

from __future__ import annotations

import logging
import re

import pytest
from fake_engine import FakeEngine
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from fasttts_desktop.engine.types import MAX_SPEED, MIN_SPEED, EngineError
from fasttts_desktop.ui.error_reporting import ErrorReporter, start_log_file

pytest_plugins = ["app_fixtures"]

TWO = "First sentence. Second sentence."


def test_window_has_its_controls_and_the_text_box_has_focus(qtbot, make_app):
    app = make_app()
    w = app.window
    assert "FastTTS" in w.windowTitle()
    assert not w.windowIcon().isNull()
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.text_edit)
    assert (
        (w.speed_box.minimum(), w.speed_box.maximum(), w.speed_box.value())
        == (MIN_SPEED, MAX_SPEED, 1.0)
        == (0.5, 3.0, 1.0)
    )
    assert [b.text() for b in (w.speak_button, w.stop_button, w.save_button)] == [
        "Speak",
        "Stop",
        "Export…",
    ]
    assert not w.stop_button.isEnabled()


def test_loading_shows_as_busy_before_the_engine_reports_anything(qtbot, settings_path):
    from fasttts_desktop.ui.main_window import MainWindow
    from fasttts_desktop.worker.speech import SpeechService

    w = MainWindow(SpeechService(lambda progress: None), QSettings(settings_path, QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    assert not w.progress.isHidden() and w.progress.maximum() == 0
    assert w.engine_label.text() == "Engine loading…"


def test_a_speak_pressed_while_loading_says_speaking_once_it_starts(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.5, synth_s=0.01), hold_load=True)
    w = app.window
    w.text_edit.setPlainText(TWO)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w.text_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert w.status_label.text() == "Will speak as soon as the engine has loaded…"
    app.release_load.set()
    qtbot.waitUntil(lambda: app.service.is_ready and bool(app.engine.calls), timeout=5000)
    assert app.service.busy
    assert w.status_label.text() == "Speaking…"
    w.stop()


def test_voices_are_labelled_with_language_and_gender_once_loaded(qtbot, make_app):
    app = make_app(hold_load=True)
    w = app.window
    assert not w.voice_box.isEnabled()
    qtbot.waitUntil(lambda: w.progress.isVisible() and "Loading" in w.engine_label.text())
    app.release_load.set()
    qtbot.waitUntil(w.voice_box.isEnabled)
    labels = [w.voice_box.itemText(i) for i in range(w.voice_box.count())]
    assert labels == [
        "Japanese",  # a heading per language, which cannot be chosen
        "jm_kumo (Japanese, male)",
        "jf_alpha (Japanese, female)",
        "American English",
        "af_test (American English, female)",
    ]
    headings = [i for i in range(w.voice_box.count()) if w.voice_box.itemData(i) is None]
    assert headings == [0, 3]
    assert not any(w.voice_box.model().item(i).isEnabled() for i in headings)
    assert w.voice() == "jm_kumo"  # the engine's default
    assert w.engine_label.text() == FakeEngine.description.split(" · ")[0]
    assert FakeEngine.description in w.engine_label.toolTip()
    assert w.status_label.text() == "Ready."


def test_ctrl_return_speaks_and_the_status_bar_reports_first_sound_rtf_and_underruns(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.05))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    qtbot.keyClicks(w.text_edit, TWO)
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        qtbot.keyClick(w.text_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert w.text_edit.toPlainText() == TWO  # the shortcut did not type a newline
    status = w.status_label.text()
    assert re.search(r"first sound after \d+\.\d\d s", status), status
    details = w.status_label.toolTip()  # the bar shows the short form; the whole summary is its tooltip
    assert re.search(r"RTF 0\.\d\d", details) and "no underruns" in details, details
    assert not w.progress.isVisible() and not w.stop_button.isEnabled()


def test_progress_shows_chunk_i_of_n_and_esc_stops(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=1.0, synth_s=0.3))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText("A. B. C. D.")
    w.speak_button.click()
    qtbot.waitUntil(lambda: w.progress.format() == "chunk 2 of 4", timeout=3000)
    assert w.progress.isVisible() and w.stop_button.isEnabled()
    qtbot.keyClick(w.text_edit, Qt.Key.Key_Escape)
    assert not app.service.busy and not app.service.player.playing
    assert w.status_label.text() == "Stopped."
    assert w.text_edit.toPlainText() == "A. B. C. D."


def test_ctrl_s_exports_through_the_export_dialog(qtbot, make_app, tmp_path):
    app = make_app()
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(TWO)
    qtbot.keyClick(w.text_edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    dialog = w.exporter.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("wav"))
    dialog.path_edit.setText(str(tmp_path / "speech"))  # no extension: the chosen format's is added
    with qtbot.waitSignal(app.service.exports.finished, timeout=5000):
        dialog.export_button.click()
    assert (tmp_path / "speech.wav").stat().st_size > 44
    assert w.status_label.text().startswith("Exported speech.wav (0:01 of audio")
    assert not w.save_progress.isVisible()


@pytest.mark.parametrize(
    ("text", "engine", "expected"),
    [
        pytest.param("   \n ", FakeEngine(), "There is no text to speak", id="blank"),
        pytest.param("Hi.", FakeEngine(), "Unknown voice", id="engine-error"),
    ],
)
def test_errors_are_shown_and_the_text_is_kept(qtbot, make_app, text, engine, expected):
    app = make_app(engine)
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    if expected == "Unknown voice":
        engine.voices = engine.voices[1:]  # the voice picked in the window is gone from the engine
    w.text_edit.setPlainText(text)
    w.speak()
    qtbot.waitUntil(w.error_label.isVisible, timeout=3000)
    assert expected in w.error_label.text()
    assert w.text_edit.toPlainText() == text
    assert not app.service.busy
    engine.voices = list(FakeEngine().voices)
    w.text_edit.setPlainText("Now it works.")
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        w.speak()
    assert not w.error_label.isVisible()


def test_a_failed_load_is_shown_and_speak_explains_it(qtbot, make_app):
    app = make_app(load_error=EngineError("The weights file is damaged."))
    w = app.window
    qtbot.waitUntil(w.banner.isVisible)
    assert "could not be loaded: The weights file is damaged." in w.banner.text()
    w.text_edit.setPlainText("Still here.")
    w.speak()
    qtbot.waitUntil(w.error_label.isVisible, timeout=3000)
    assert "damaged" in w.error_label.text()
    assert w.text_edit.toPlainText() == "Still here."


def test_no_output_device_message_is_shown_and_save_still_works(qtbot, make_app, tmp_path):
    from fasttts_desktop.playback.sound_stream import NoOutputDevice

    def no_device(*args, **kwargs):
        raise NoOutputDevice("No audio output device was found, so speech cannot be played.")

    app = make_app(output=no_device)
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(TWO)
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        w.speak()
    assert w.banner.isVisible() and "No audio output device" in w.banner.text()
    assert "not played" in w.status_label.text()
    with qtbot.waitSignal(app.service.exports.finished, timeout=5000):
        w.save_to(str(tmp_path / "x.wav"))
    assert (tmp_path / "x.wav").exists()


def test_typing_in_the_voice_picker_finds_voices_by_any_part_of_their_label(qtbot, make_app):
    app = make_app()
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    line, completer = w.voice_box.lineEdit(), w.voice_box.completer()
    line.selectAll()
    qtbot.keyClicks(line, "female")
    assert completer.completionCount() == 2  # jf_alpha and af_test; headings and male voices are not offered
    line.selectAll()
    qtbot.keyClicks(line, "american")
    qtbot.waitUntil(completer.popup().isVisible)
    qtbot.keyClick(completer.popup(), Qt.Key.Key_Down)
    qtbot.keyClick(completer.popup(), Qt.Key.Key_Return)
    assert w.voice() == "af_test" and line.text() == "af_test (American English, female)"
    line.selectAll()
    qtbot.keyClicks(line, "no such voice")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert w.voice() == "af_test" and line.text() == "af_test (American English, female)"  # nothing lost
    # and the search that found nothing says so (the popup alone just did not appear)
    assert w.status_label.text() == (
        "No voice matches “no such voice” (of 3); the voice is still af_test (American English, female)."
    )
    line.selectAll()
    qtbot.keyClicks(line, "jf_")  # a part that matches: no such line, the voice stays
    w.status_label.setText("")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert w.voice() == "af_test" and w.status_label.text() == ""


def test_the_voice_field_shows_the_voices_name_from_its_start(qtbot, make_app):
    """A label wider than the field (the window's default width, a long language name) shows its start, the
    voice's name, not its end (a line edit's cursor, left at the end, scrolled the name out of sight)."""
    app = make_app()
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    line = w.voice_box.lineEdit()
    assert line.text() == "jm_kumo (Japanese, male)" and line.cursorPosition() == 0
    line.selectAll()
    qtbot.keyClicks(line, "american")
    qtbot.waitUntil(w.voice_box.completer().popup().isVisible)
    qtbot.keyClick(w.voice_box.completer().popup(), Qt.Key.Key_Down)
    qtbot.keyClick(w.voice_box.completer().popup(), Qt.Key.Key_Return)
    assert line.text() == "af_test (American English, female)" and line.cursorPosition() == 0


def test_alt_keys_reach_the_pickers_and_no_two_controls_share_one(qtbot, make_app):
    """Alt+C and Alt+D reach the voice and speed pickers; with the find bar open every Alt+letter of the
    window (menus, labels, buttons) has one owner (two owners: Qt gives the key to neither)."""
    from PySide6.QtWidgets import QAbstractButton, QLabel

    app = make_app()
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w.text_edit, Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() in (w.voice_box, w.voice_box.lineEdit())
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() in (w.speed_box, w.speed_box.lineEdit())

    qtbot.keyClick(w.text_edit, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert w.find_bar.isVisible()
    owners: dict[str, list[str]] = {}
    texts = [a.text() for a in w.menuBar().actions()]
    controls = [*w.findChildren(QLabel), *w.findChildren(QAbstractButton)]
    texts += [c.text() for c in controls if c.isVisible()]
    for text in texts:
        mnemonic = re.search(r"&([^&])", text.replace("&&", ""))
        if mnemonic:
            owners.setdefault(mnemonic[1].lower(), []).append(text)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}
    assert set(owners) >= {"c", "d", "i", "n", "r", "p", "o", "v"}  # the pickers, the find bar, the menus


def test_voice_speed_and_geometry_persist(qtbot, make_app, settings_path):
    app = make_app()
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.voice_box.setCurrentIndex(w.voice_box.findData("jf_alpha"))
    w.speed_box.setValue(1.5)
    w.resize(700, 500)  # the offscreen screen is 800x600
    w.close()
    assert QSettings(settings_path, QSettings.Format.IniFormat).value("voice") == "jf_alpha"

    again = make_app(hold_load=True).window
    assert again.voice() == "jf_alpha"  # known before the engine is even loaded
    assert again.speed() == 1.5
    assert (again.width(), again.height()) == (700, 500)


def test_an_unexpected_exception_shows_a_dialog_naming_the_log_and_the_app_keeps_running(
    qtbot, make_app, tmp_path
):
    app = make_app()
    w = app.window
    log_path, handler = start_log_file(tmp_path / "logs")
    reporter = ErrorReporter(log_path, w)
    try:
        try:
            raise RuntimeError("something broke")
        except RuntimeError as exc:
            reporter.handle(type(exc), exc, exc.__traceback__)
        qtbot.waitUntil(lambda: bool(reporter.dialogs))
        box: QMessageBox = reporter.dialogs[0]
        assert box.isVisible() and str(log_path) in box.text() and "something broke" in box.text()
        handler.flush()
        assert "RuntimeError: something broke" in log_path.read_text()
        box.accept()
        qtbot.waitUntil(lambda: not reporter.dialogs)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText("Still works.")
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        w.speak()


def test_an_exception_in_a_slot_reaches_the_dialog(qtbot, make_app, tmp_path, monkeypatch):
    app = make_app()
    w = app.window
    log_path, handler = start_log_file(tmp_path / "logs")
    reporter = ErrorReporter(log_path, w)
    monkeypatch.setattr(w, "_on_progress", lambda *a: 1 / 0)
    app.service.progress.disconnect()
    app.service.progress.connect(w._on_progress)
    reporter.install()
    try:
        with qtbot.capture_exceptions() as caught:
            app.service.progress.emit(1, 2)
        for exc_type, exc, tb in caught:  # pytest-qt held the hook meanwhile; give the app's hook its turn
            reporter.handle(exc_type, exc, tb)
        qtbot.waitUntil(lambda: bool(reporter.dialogs))
        assert "ZeroDivisionError" in reporter.dialogs[0].text()
    finally:
        reporter.uninstall()
        logging.getLogger().removeHandler(handler)
        handler.close()
