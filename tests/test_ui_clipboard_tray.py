"""Speak Clipboard (Ctrl+Shift+V) and the tray's menu, offscreen with the fake engine: typed text is
replaced (undoably) and read with the highlight; a document stays as it is, the clipboard read aside
without touching its remembered place; the tray menu's actions are the window's. The tray icon itself is
tested only where a system tray exists (offscreen and bare Xvfb have none)."""

from __future__ import annotations

import pytest
from book_files import write_epub
from fake_engine import FakeEngine
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QSystemTrayIcon

pytest_plugins = ["app_fixtures"]

K, M = Qt.Key, Qt.KeyboardModifier


def activate(qtbot, w) -> None:
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)


def test_ctrl_shift_v_reads_the_clipboard_in_place_of_typed_text(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText("My own notes.")
    QGuiApplication.clipboard().setText("Copied first. Copied second.")
    activate(qtbot, w)
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        qtbot.keyClick(w.text_edit, K.Key_V, M.ControlModifier | M.ShiftModifier)
        assert w.text_edit.toPlainText() == "Copied first. Copied second."
        assert w.status_label.text() == "Speaking…"
        qtbot.waitUntil(lambda: bool(w.text_edit.extraSelections()), timeout=3000)  # highlighted as read
    assert app.engine.calls[-1][0] == "Copied first. Copied second."
    w.text_edit.setFocus()
    qtbot.keyClick(w.text_edit, K.Key_Z, M.ControlModifier)  # like a paste: undo brings the notes back
    assert w.text_edit.toPlainText() == "My own notes."


def test_with_a_document_open_the_clipboard_is_read_aside_and_the_place_is_kept(qtbot, make_app, tmp_path):
    book = write_epub(tmp_path / "b.epub")
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    with qtbot.waitSignal(w.documents.opened, timeout=10_000):
        w.open_path(str(book))
    text = w.text_edit.toPlainText()
    place = text.index("Rice is often")
    w.reader.go_to(place)
    w.documents.save_position_now()
    QGuiApplication.clipboard().setText("Something else entirely.")
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        w.commands.speak_clipboard.trigger()
        assert "the document keeps its place" in w.status_label.text()
    assert app.engine.calls[-1][0] == "Something else entirely."
    assert w.text_edit.toPlainText() == text and w.documents.current is not None
    assert w.reader.position == place  # finishing the clipboard is not finishing the book
    opened = w.documents.current
    assert w.documents.positions.get(opened.path, opened.digest) == place
    w.speak()  # Speak goes on with the book where it was
    qtbot.waitUntil(lambda: len(app.engine.starts) == 2, timeout=3000)
    assert app.engine.starts[-1] == place
    w.stop()


def test_an_empty_clipboard_says_so_and_keeps_the_text(qtbot, make_app):
    app = make_app()
    w = app.window
    w.text_edit.setPlainText("Keep me.")
    QGuiApplication.clipboard().setText("  \n ")
    assert not w.clipboard_tray.speak_clipboard()
    assert "clipboard holds no text" in w.error_label.text()
    assert w.text_edit.toPlainText() == "Keep me." and not app.service.busy


def test_the_tray_menu_is_the_windows_own_actions(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=1.0, synth_s=0.01))
    w = app.window
    menu = w.clipboard_tray.menu
    a = w.commands
    assert [x for x in menu.actions() if not x.isSeparator()] == [
        a.speak_clipboard,
        a.pause,
        a.stop,
        a.show_window,
    ]
    qtbot.waitUntil(lambda: app.service.is_ready)
    QGuiApplication.clipboard().setText("From the tray. And more. And more still.")
    menu.actions()[0].trigger()  # Speak Clipboard
    qtbot.waitUntil(lambda: bool(app.output.streams), timeout=3000)
    menu.actions()[1].trigger()  # Pause
    assert app.service.paused
    menu.actions()[2].trigger()  # Stop
    assert not app.service.busy
    w.showMinimized()
    a.show_window.trigger()
    qtbot.waitUntil(lambda: not w.isMinimized(), timeout=2000)
    assert w.isVisible()


def test_show_tray_icon_is_offered_only_where_there_is_a_tray(qtbot, make_app, settings_path):
    app = make_app()
    w = app.window
    toggle = w.commands.show_tray
    assert toggle in w.commands.view_menu.actions() and toggle.isCheckable()
    if not QSystemTrayIcon.isSystemTrayAvailable():
        assert not toggle.isEnabled() and toggle.toolTip() == "This desktop has no system tray"
        assert w.clipboard_tray.tray is None
        pytest.skip("no system tray here (offscreen, or X without a tray host): the icon is not shown")
    toggle.trigger()
    assert w.clipboard_tray.tray.isVisible() and w.clipboard_tray.tray.contextMenu() is w.clipboard_tray.menu
    w.close()
    again = make_app().window
    assert again.commands.show_tray.isChecked() and again.clipboard_tray.tray.isVisible()
