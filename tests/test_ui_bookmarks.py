"""Named bookmarks in the window (offscreen): added with Ctrl+B at the sentence being read, kept with the
document's text across windows (the settings file), listed in the Bookmarks menu to jump to, renamed and
deleted in Edit Bookmarks…, every control named for screen readers."""

from __future__ import annotations

from book_files import write_epub
from fake_engine import FakeEngine
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QListWidget

pytest_plugins = ["app_fixtures"]


def _open(qtbot, app, path):
    w = app.window
    with qtbot.waitSignal(w.documents.opened, timeout=10_000):
        w.open_path(str(path))
    return w


def test_add_jump_rename_delete_and_keep(qtbot, make_app, tmp_path):
    book = write_epub(tmp_path / "book.epub")
    app = make_app(FakeEngine())
    w = _open(qtbot, app, book)
    text = w.documents.current.text
    second = w.documents.current.document.headings[1].offset
    w.reader.go_to(second)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w.text_edit, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    dialog = w.bookmarks.name_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.textValue() == "Chapter Two"  # the sentence's first words
    dialog.setTextValue("Where the rice is")
    dialog.accept()
    assert w.bookmarks.entries() == [("Where the rice is", second)]
    w.bookmarks.add("Start", 0)
    w.reader.go_to(0)

    # the menu lists them in text order and jumps
    w.bookmarks.menu.aboutToShow.emit()
    jumps = [a for a in w.bookmarks.menu.actions() if a.text() in ("Start", "Where the rice is")]
    assert [a.text() for a in jumps] == ["Start", "Where the rice is"]
    jumps[1].trigger()
    assert w.reader.position == second and text[second:].startswith("Chapter Two")

    # kept with the text: a new window on the same settings sees them
    w.close()
    again = make_app(FakeEngine())
    w2 = _open(qtbot, again, book)
    assert [n for n, _ in w2.bookmarks.entries()] == ["Start", "Where the rice is"]

    # Edit Bookmarks…: rename, delete, go to
    qtbot.keyClick(
        w2.text_edit, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    edit = w2.bookmarks.dialog
    assert edit is not None and edit.isVisible()
    for control in [*edit.findChildren(QAbstractButton), *edit.findChildren(QListWidget)]:
        assert control.accessibleName() and control.toolTip(), control.objectName()
    edit.list.setCurrentRow(1)
    edit.ask_rename()
    edit.rename_dialog.setTextValue("Rice")
    edit.rename_dialog.accept()
    assert [n for n, _ in w2.bookmarks.entries()] == ["Start", "Rice"]
    edit.list.setCurrentRow(0)
    edit.delete_button.click()
    assert w2.bookmarks.entries() == [("Rice", second)]
    edit.list.setCurrentRow(0)
    edit.go_button.click()
    assert w2.reader.position == second and not edit.isVisible()


def test_typed_text_has_no_bookmarks(qtbot, make_app):
    app = make_app()
    w = app.window
    w.text_edit.setPlainText("Just typed.")
    w.bookmarks.ask_name()
    assert w.bookmarks.name_dialog is None
    assert "Open a document" in w.status_label.text()
    assert w.bookmarks.entries() == []


def test_a_damaged_entry_is_no_bookmark(qtbot, make_app, tmp_path):
    app = make_app()
    w = _open(qtbot, app, write_epub(tmp_path / "b.epub"))
    w.settings.setValue(f"bookmarks/{w.documents.current.digest}", "{not json")
    assert w.bookmarks.entries() == []
    w.bookmarks.add("Fine", 5)
    assert w.bookmarks.entries() == [("Fine", 5)]
