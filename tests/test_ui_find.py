"""Edit > Find (Ctrl+F) in the window (offscreen, fake engine): matches counted and stepped through with
Enter, F3 and Shift+F3, Esc closes the bar (and does not stop the reading), and Read from Here starts the
reading at the sentence holding the match, all by keyboard, every control named."""

from __future__ import annotations

from fake_engine import FakeEngine
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLineEdit

pytest_plugins = ["app_fixtures"]

TEXT = "The birch canoe slid. Glue the sheet. The BIRCH grove is tall. Rice is served in bowls. Birches sway."
K, M = Qt.Key, Qt.KeyboardModifier


def test_find_step_and_read_from_a_match(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.5, synth_s=0.01))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(TEXT)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    bar = w.find_bar
    assert not bar.isVisible()
    qtbot.keyClick(w.text_edit, K.Key_F, M.ControlModifier)
    assert bar.isVisible() and bar.field.hasFocus()
    for control in [*bar.findChildren(QAbstractButton), *bar.findChildren(QLineEdit)]:
        if control.objectName():  # the line edit's own clear button is Qt's
            assert control.accessibleName() and control.toolTip(), control.objectName()
    qtbot.keyClicks(bar.field, "birch")
    assert bar.count_label.text() == "1 of 3"
    assert w.text_edit.textCursor().selectedText() == "birch"
    qtbot.keyClick(bar.field, K.Key_Return)
    assert bar.count_label.text() == "2 of 3" and w.text_edit.textCursor().selectedText() == "BIRCH"
    qtbot.keyClick(bar.field, K.Key_F3)
    assert bar.count_label.text() == "3 of 3"
    qtbot.keyClick(bar.field, K.Key_F3)
    assert bar.count_label.text() == "1 of 3"  # wraps around
    qtbot.keyClick(bar.field, K.Key_F3, M.ShiftModifier)
    assert bar.count_label.text() == "3 of 3"
    qtbot.keyClick(bar.field, K.Key_Return, M.ShiftModifier)
    assert bar.count_label.text() == "2 of 3"

    # Read from Here: the reading starts at the sentence holding "BIRCH"
    with qtbot.waitSignal(app.service.busy_changed, timeout=5000):
        bar.read_button.click()
    sentence = TEXT.index("The BIRCH")
    qtbot.waitUntil(lambda: bool(app.engine.starts))  # the engine thread takes the request
    assert app.engine.starts[-1] == sentence
    qtbot.keyClick(bar.field, K.Key_Escape)
    assert not bar.isVisible()
    assert app.service.busy  # Esc in the bar closed it; it did not stop the reading
    w.stop()


def test_nothing_found(qtbot, make_app):
    app = make_app()
    w = app.window
    w.text_edit.setPlainText(TEXT)
    w.find_bar.open()
    w.find_bar.field.setText("zebra")
    assert w.find_bar.count_label.text() == "Not found"
    assert not w.find_bar.read_button.isEnabled() and not w.find_bar.next_button.isEnabled()
    w.find_bar.field.setText("")
    assert w.find_bar.count_label.text() == ""


def test_astral_characters_keep_the_selection_right(qtbot, make_app):
    app = make_app()
    w = app.window
    w.text_edit.setPlainText("Faces 😀😀 then the word here. And here again.")
    w.find_bar.open()
    w.find_bar.field.setText("here")
    assert w.text_edit.textCursor().selectedText() == "here"
    w.find_bar.step(1)
    assert w.text_edit.textCursor().selectedText() == "here"


def test_alt_i_steps_back_while_alt_p_stays_the_playback_menus(qtbot, make_app):
    app = make_app()
    w = app.window
    w.text_edit.setPlainText(TEXT)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w.text_edit, K.Key_F, M.ControlModifier)
    qtbot.keyClicks(w.find_bar.field, "birch")
    assert w.find_bar.count_label.text() == "1 of 3"
    qtbot.keyClick(w.find_bar.field, K.Key_I, M.AltModifier)  # Previous, by its mnemonic (animated click)
    qtbot.waitUntil(lambda: w.find_bar.count_label.text() == "3 of 3")
    assert w.find_bar.previous_button.text() == "Prev&ious"
