"""The window's reading options (offscreen, fake engine): File > Preferences by keyboard with accessible
names, kept in the settings and sent with each Speak; a voice per chapter from the Chapters panel's context
menu; bad markup named in the banner while the text is still read."""

from __future__ import annotations

import pytest
from book_files import write_markdown
from fake_engine import FakeEngine
from PySide6.QtCore import Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QDoubleSpinBox

from fasttts_desktop.engine.text.pauses import Pauses
from fasttts_desktop.ui.preferences import ReadingPrefs, load_prefs

pytest_plugins = ["app_fixtures"]

K, M = Qt.Key, Qt.KeyboardModifier


def ready(qtbot, app):
    w = app.window
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.waitUntil(lambda: app.service.is_ready)
    return w


def test_preferences_by_keyboard_are_kept_and_sent_with_speak(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01))
    w = ready(qtbot, app)
    options = w.reading_options
    qtbot.keyClick(w.text_edit, K.Key_Comma, M.ControlModifier)
    qtbot.waitUntil(lambda: options.dialog is not None and options.dialog.isVisible())
    dialog = options.dialog
    for widget in [*dialog.pause_boxes.values(), dialog.markup_box, dialog.dialogue_box]:
        assert widget.accessibleName(), widget.objectName()
        assert widget.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert dialog.pause_boxes["comma"].text() == "Voice's own"  # the default: as the voice says it
    assert dialog.pause_boxes["chapter"].value() == Pauses().chapter
    # Alt+C (the label's mnemonic) to the comma box, a value typed, Alt+D to the dialogue voice, Return
    qtbot.keyClick(dialog, K.Key_C, M.AltModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QDoubleSpinBox))
    box = dialog.pause_boxes["comma"]
    assert QApplication.focusWidget() is box
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "0.4")
    qtbot.keyClick(dialog, K.Key_D, M.AltModifier)
    assert QApplication.focusWidget() is dialog.dialogue_box
    qtbot.keyClick(dialog.dialogue_box, K.Key_Down)
    chosen = dialog.dialogue_box.currentData()
    assert chosen
    qtbot.keyClick(dialog.dialogue_box, K.Key_Return)
    qtbot.waitUntil(lambda: options.dialog is None)
    assert options.prefs.pauses.comma == pytest.approx(0.4)
    assert load_prefs(w.settings) == options.prefs  # kept for the next run
    w.text_edit.setPlainText('She said, "Hello there." Then left.')
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w.text_edit, K.Key_Return, M.ControlModifier)
    qtbot.waitUntil(lambda: bool(app.engine.readings), timeout=3000)
    sent = app.engine.readings[-1]
    assert sent.pauses.comma == pytest.approx(0.4)
    assert sent.dialogue_voice == chosen
    assert sent.markup == "auto"
    w.stop()


def test_escape_keeps_the_preferences(qtbot, make_app):
    app = make_app()
    w = ready(qtbot, app)
    dialog = w.reading_options.ask()
    qtbot.waitUntil(dialog.isVisible)
    dialog.pause_boxes["sentence"].setValue(2.0)
    qtbot.keyClick(dialog, K.Key_Escape)
    qtbot.waitUntil(lambda: w.reading_options.dialog is None)
    assert w.reading_options.prefs.pauses.sentence is None


def test_a_chapter_read_in_its_own_voice_from_the_panel(qtbot, make_app, tmp_path):
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01))
    w = ready(qtbot, app)
    with qtbot.waitSignal(w.documents.opened, timeout=10000):
        w.open_path(str(write_markdown(tmp_path / "notes.md")))
    doc = w.documents.current
    tree = w.chapters.tree
    item = tree.topLevelItem(1)
    tree.setCurrentItem(item)
    tree.setFocus()
    # the Menu key's context menu event (what Qt sends for it), then Down, Down, Return: the first voice
    rect = tree.visualItemRect(item)
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Keyboard, rect.center(), tree.mapToGlobal(rect.center())
    )
    QApplication.sendEvent(tree.viewport(), event)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None)
    menu = QApplication.activePopupWidget()
    assert menu.accessibleName() == "Read this chapter in"
    assert menu.actions()[0].isChecked()  # the window's voice until one is picked
    picked = str(w.voice_box.itemData(0))  # listed second, after "The window's voice"
    assert menu.actions()[1].text() == w.voice_box.itemText(0)
    qtbot.keyClick(menu, K.Key_Down)
    qtbot.keyClick(menu, K.Key_Down)
    qtbot.keyClick(menu, K.Key_Return)
    qtbot.waitUntil(lambda: item.text(0).endswith(f" — {picked}"))
    heading = next(h for h in doc.document.headings if h.title == item.toolTip(0))
    after = [
        h.offset for h in doc.document.headings if h.offset > heading.offset and h.level <= heading.level
    ]
    reading = w.reading_options.reading_for(doc.text)
    assert reading.voices == ((heading.offset, after[0] if after else len(doc.text), picked),)
    assert heading.offset in reading.chapters + reading.headings
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w.text_edit, K.Key_Return, M.ControlModifier)
    qtbot.waitUntil(lambda: bool(app.engine.readings), timeout=3000)
    assert app.engine.readings[-1] == reading  # what the engine was asked to read with
    w.stop()
    # another text (the clipboard read aside) gets no chapters of the document
    assert w.reading_options.reading_for("Something else.").voices == ()
    # the window's voice again
    w.reading_options.set_chapter_voice(item, "")
    assert item.text(0) == item.toolTip(0)
    assert w.reading_options.reading_for(doc.text).voices == ()


def test_bad_markup_is_one_line_in_the_banner_and_the_text_is_read(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01))
    w = ready(qtbot, app)
    w.text_edit.setPlainText("<speak>Hello <b>there</speak>")
    qtbot.keyClick(w.text_edit, K.Key_Return, M.ControlModifier)
    qtbot.waitUntil(lambda: "SSML could not be read" in w.banner.text(), timeout=3000)
    assert "\n" not in w.banner.text()
    qtbot.waitUntil(lambda: bool(app.engine.calls), timeout=3000)
    assert app.engine.calls[-1][0] == "<speak>Hello <b>there</speak>"
    w.stop()


def test_export_reads_with_the_preferences_too(qtbot, make_app, tmp_path):
    app = make_app(FakeEngine(chunk_s=0.2, synth_s=0.01))
    w = ready(qtbot, app)
    w.reading_options.use(ReadingPrefs(Pauses(sentence=0.6), "off", ""))
    w.text_edit.setPlainText("One. [pause:2s] Two.")
    with qtbot.waitSignal(app.service.exports.finished, timeout=10000):
        w.exporter.export_to(str(tmp_path / "out.wav"))
    sent = app.engine.readings[-1]
    assert (sent.markup, sent.pauses.sentence) == ("off", 0.6)


def test_an_unknown_voice_in_a_tag_is_named_and_the_text_read(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01))
    w = ready(qtbot, app)
    w.text_edit.setPlainText("Hello [voice:nobody_here] there.")
    qtbot.keyClick(w.text_edit, K.Key_Return, M.ControlModifier)
    qtbot.waitUntil(lambda: "Unknown voice 'nobody_here'" in w.banner.text(), timeout=3000)
    qtbot.waitUntil(lambda: bool(app.engine.calls), timeout=3000)
    w.stop()
