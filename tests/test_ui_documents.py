"""Documents in the window (offscreen, fake engine): File > Open, drops and the command line; the chapters
panel and jumping; broken files; the remembered position offered on reopen; recent files; About; every
control named for screen readers.
"""

from __future__ import annotations

import threading

import pytest
from book_files import CHAPTERS, write_broken_epub, write_epub, write_markdown
from fake_engine import FakeEngine
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QTreeWidget,
    QWidget,
)

from fasttts_desktop import __version__
from fasttts_desktop.ui import app as ui_app
from fasttts_desktop.ui.about import AboutDialog

pytest_plugins = ["app_fixtures"]

K, M = Qt.Key, Qt.KeyboardModifier


def activate(qtbot, w) -> None:
    """Keys go to the active window, as they do for a user."""
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)


def opened(qtbot, w, path, via="api"):
    with qtbot.waitSignal(w.documents.opened, timeout=10000):
        if via == "api":
            w.open_path(str(path))
        else:
            via()
    return w.documents.current


def test_ctrl_o_opens_an_epub_into_the_reader_with_its_chapters(qtbot, make_app, tmp_path, monkeypatch):
    book = write_epub(tmp_path / "harvard.epub")
    app = make_app()
    w = app.window
    asked = {}

    def dialog(parent, caption, folder, filters):
        asked["filters"] = filters
        return str(book), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", dialog)
    activate(qtbot, w)
    doc = opened(qtbot, w, book, via=lambda: qtbot.keyClick(w.text_edit, K.Key_O, M.ControlModifier))
    assert "*.epub" in asked["filters"] and "*.md" in asked["filters"]
    text = w.text_edit.toPlainText()
    assert text.startswith("Chapter One\n\nThe birch canoe") and text == doc.text
    assert w.windowTitle() == "Harvard Lines — FastTTS"
    assert w.status_label.text().startswith("Opened harvard.epub:") and "3 chapters" in w.status_label.text()
    assert w.chapters.isVisible()
    tree = w.chapters.tree
    assert [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())] == [c[0] for c in CHAPTERS]
    assert w.text_edit.isReadOnly()  # a document is read, not edited
    assert not w.open_progress.isVisible()


def test_choosing_a_chapter_jumps_there_and_reads_from_it(qtbot, make_app, tmp_path):
    app = make_app(FakeEngine(chunk_s=1.0, synth_s=0.01))
    w, engine = app.window, app.engine
    activate(qtbot, w)
    qtbot.waitUntil(lambda: app.service.is_ready)
    doc = opened(qtbot, w, write_markdown(tmp_path / "notes.md"))
    assert "https://" not in doc.text and "[the notes]" not in doc.text  # markup and link targets unsaid
    two = next(h for h in doc.document.headings if h.title == "Chapter Two")
    tree = w.chapters.tree
    item = tree.topLevelItem(1)
    tree.setCurrentItem(item)
    qtbot.keyClick(tree, K.Key_Return)  # not reading: the next Speak starts there
    assert w.reader.position == two.offset and not engine.starts
    assert doc.text[slice(*w.text_edit.highlighted_sentence)] == "Chapter Two"
    qtbot.keyClick(w.text_edit, K.Key_Return, M.ControlModifier)
    qtbot.waitUntil(lambda: engine.starts == [two.offset], timeout=2000)
    three = next(h for h in doc.document.headings if h.title == "Chapter Three")
    w.chapters.chosen.emit(three.offset)  # from Playback > Go to Chapter, while reading: at once
    qtbot.waitUntil(lambda: engine.starts[-1] == three.offset, timeout=2000)
    qtbot.waitUntil(lambda: w.chapters.tree.currentItem().text(0) == "Chapter Three", timeout=2000)
    menu = w.commands.chapters_menu
    menu.aboutToShow.emit()
    assert [a.text() for a in menu.actions()] == [c[0] for c in CHAPTERS]
    w.stop()


@pytest.mark.parametrize(
    ("make_file", "message"),
    [
        pytest.param(lambda p: write_broken_epub(p / "broken.epub"), "broken.epub", id="broken-epub"),
        pytest.param(lambda p: p / "missing.txt", "missing.txt", id="missing"),
        pytest.param(
            lambda p: (p / "blank.txt").write_text("   \n") and p / "blank.txt", "no text", id="empty"
        ),
    ],
)
def test_an_unreadable_document_gets_one_line_and_the_text_stays(
    qtbot, make_app, tmp_path, make_file, message
):
    app = make_app()
    w = app.window
    w.text_edit.setPlainText("My own words.")
    path = make_file(tmp_path)
    with qtbot.waitSignal(w.documents.failed, timeout=10000):
        w.open_path(str(path))
    assert w.error_label.isVisible() and message in w.error_label.text()
    assert "\n" not in w.error_label.text()
    assert w.text_edit.toPlainText() == "My own words." and not w.text_edit.isReadOnly()
    assert w.documents.current is None and w.windowTitle().startswith("FastTTS")
    assert str(path) not in w.documents.recent.paths()


def test_parsing_runs_off_the_gui_thread_and_the_window_keeps_working(qtbot, make_app, tmp_path, monkeypatch):
    from fasttts_desktop.engine.text import documents

    real = documents.load_document
    gui_turned = threading.Event()
    threads = []

    def slow_load(path):
        threads.append(threading.current_thread())
        # Finishes only once the GUI thread has run a timer meanwhile: a parse on the GUI thread would
        # wait for itself and fail here.
        if not gui_turned.wait(5):
            raise AssertionError("the GUI thread did not turn while the document was parsed")
        return real(path)

    monkeypatch.setattr(documents, "load_document", slow_load)
    app = make_app()
    w = app.window
    path = write_epub(tmp_path / "book.epub")
    with qtbot.waitSignal(w.documents.opened, timeout=10000):
        w.open_path(str(path))
        assert w.open_progress.isVisible() and w.status_label.text() == "Opening book.epub…"
        QTimer.singleShot(50, gui_turned.set)
    assert threads and threads[0] is not threading.main_thread()
    assert not w.open_progress.isVisible()


def test_a_file_dropped_on_the_window_or_the_text_opens(qtbot, make_app, tmp_path):
    app = make_app()
    w = app.window
    first = write_markdown(tmp_path / "first.md")
    second = write_epub(tmp_path / "second.epub")
    for target, path in ((w.text_edit.viewport(), first), (w.centralWidget(), second)):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        with qtbot.waitSignal(w.documents.opened, timeout=10000):
            enter = QDragEnterEvent(
                QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, M.NoModifier
            )
            QApplication.sendEvent(target, enter)
            assert enter.isAccepted()
            drop = QDropEvent(
                QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, M.NoModifier
            )
            QApplication.sendEvent(target, drop)
        assert w.documents.current.path == str(path)
    assert w.text_edit.toPlainText().startswith("Chapter One")


def test_reopening_offers_the_last_position_and_continue_reads_from_it(qtbot, make_app, tmp_path):
    book = write_epub(tmp_path / "book.epub")
    app = make_app(FakeEngine(chunk_s=1.0, synth_s=0.01))
    w = app.window
    activate(qtbot, w)
    qtbot.waitUntil(lambda: app.service.is_ready)
    doc = opened(qtbot, w, book)
    assert not w.resume_bar.isVisible()  # first time: nothing to offer
    two = next(h for h in doc.document.headings if h.title == "Chapter Two")
    w.chapters.chosen.emit(two.offset)
    w.speak()
    qtbot.keyClick(w.text_edit, K.Key_Right, M.AltModifier)
    second = doc.text.index("The juice of lemons")
    qtbot.waitUntil(lambda: w.reader.position == second, timeout=3000)
    w.stop()
    w.close()

    again = make_app(FakeEngine(chunk_s=1.0, synth_s=0.01))
    w2 = again.window
    qtbot.waitUntil(lambda: again.service.is_ready)
    opened(qtbot, w2, book)
    bar = w2.resume_bar
    assert bar.isVisible()
    assert bar.label.text().startswith("Continue from “Chapter Two”? (sentence 8 of 13, 51% in)")
    assert [b.text() for b in bar.buttons] == ["Continue", "Start over"]
    assert w2.text_edit.is_visible(second)  # the view is already there
    bar.button("Continue").click()
    qtbot.waitUntil(lambda: again.engine.starts == [second], timeout=2000)
    assert not bar.isVisible()
    w2.stop()

    # Start over forgets it; read to the end also would.
    opened(qtbot, w2, book)
    assert bar.isVisible()
    bar.button("Start over").click()
    assert w2.reader.position == 0
    opened(qtbot, w2, book)
    assert not bar.isVisible()


def test_an_edited_file_is_a_new_document_and_gets_no_offer(qtbot, make_app, tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("One sentence here. Another one there. A third one.\n")
    app = make_app()
    w = app.window
    doc = opened(qtbot, w, path)
    w.reader.go_to(doc.text.index("A third"))
    w.documents.save_position_now()
    path.write_text("One sentence here. A changed middle. A third one.\n")
    opened(qtbot, w, path)
    assert not w.resume_bar.isVisible()


def test_recent_files_newest_first_and_a_vanished_one_is_dropped(qtbot, make_app, tmp_path):
    one = write_markdown(tmp_path / "one.md")
    two = write_epub(tmp_path / "two.epub")
    app = make_app()
    w = app.window
    opened(qtbot, w, one)
    opened(qtbot, w, two)
    menu = w.commands.recent_menu
    menu.aboutToShow.emit()
    entries = [a for a in menu.actions() if a.text() and not a.isSeparator()]
    assert [a.text() for a in entries] == ["two.epub", "one.md", "&Clear Recent Files"]
    with qtbot.waitSignal(w.documents.opened, timeout=10000):
        entries[1].trigger()
    assert w.documents.current.path == str(one)
    one.unlink()
    with qtbot.waitSignal(w.documents.failed, timeout=10000):
        w.open_path(str(one))
    assert w.documents.recent.paths() == [str(two)]
    w.commands.clear_recent.trigger()
    assert w.documents.recent.paths() == []


def test_new_text_gives_an_empty_editable_box(qtbot, make_app, tmp_path):
    app = make_app()
    w = app.window
    activate(qtbot, w)
    opened(qtbot, w, write_epub(tmp_path / "b.epub"))
    qtbot.keyClick(w.text_edit, K.Key_N, M.ControlModifier)
    assert w.text_edit.toPlainText() == "" and not w.text_edit.isReadOnly()
    assert not w.chapters.isVisible() and w.windowTitle() == "FastTTS — text to speech"


def test_the_command_line_path_opens_the_document(qtbot, make_app, tmp_path, monkeypatch):
    book = write_epub(tmp_path / "book.epub")
    assert ui_app.parse_args(["--device", "cpu", str(book)]).path == str(book)
    from fasttts_desktop import cli

    got = {}
    monkeypatch.setattr(ui_app, "main", lambda argv: got.setdefault("argv", argv) and 0)
    assert cli.main(["--offline", str(book), "--device", "cpu"]) is not None
    assert got["argv"] == ["--device", "cpu", "--offline", "--", str(book)]
    assert cli._document_path(["--voices", "v.npz", "say", "hi", "-o", "x.wav"]) == (
        ["--voices", "v.npz", "say", "hi", "-o", "x.wav"],
        None,
    )
    assert cli._document_path(["--", "say"]) == ([], "say")  # a file named like a command

    app = make_app()
    with qtbot.waitSignal(app.window.documents.opened, timeout=10000):
        app.window.open_path(ui_app.parse_args(got["argv"]).path)
    assert app.window.text_edit.toPlainText().startswith("Chapter One")


def test_about_names_version_engine_weights_and_licences(qtbot, make_app):
    app = make_app()
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.commands.about.trigger()
    dialog = w.findChild(AboutDialog, "about")
    assert dialog is not None and dialog.isVisible()
    text = dialog.plain_text()
    assert f"FastTTS {__version__}" in text
    assert "Engine path: Fake · tones (tests)" in text and "Weights: Fake weights (tests)" in text
    for licence in ("Apache-2.0", "GPL-3.0-or-later", "LGPL-3.0-only", "MIT", "BSD-3-Clause"):
        assert licence in text
    assert "Kokoro-82M model weights" in text and "PySide6" in text


def test_every_control_has_an_accessible_name(qtbot, make_app, tmp_path):
    app = make_app()
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    opened(qtbot, w, write_epub(tmp_path / "b.epub"))  # chapters panel and its list shown
    w.resume_bar.show_message("x", [("Continue", lambda: None), ("Start over", lambda: None)])
    w.notice_bar.show_message("y")
    kinds = (QAbstractButton, QComboBox, QAbstractSpinBox, QPlainTextEdit, QTreeWidget, QProgressBar, QLabel)
    controls = [c for c in w.findChildren(QWidget) if isinstance(c, kinds) and c.isVisibleTo(w)]
    assert len(controls) > 20
    unnamed = [f"{type(c).__name__} {c.objectName()!r}" for c in controls if not c.accessibleName().strip()]
    assert not unnamed
    for action in w.commands.all():
        assert action.text().replace("&", "").strip()


def test_text_size_and_the_chapters_panel_choice_persist(qtbot, make_app, tmp_path, settings_path):
    book = write_epub(tmp_path / "b.epub")
    app = make_app()
    w = app.window
    activate(qtbot, w)
    size = w.text_edit.font().pointSizeF()
    qtbot.keyClick(w.text_edit, K.Key_Plus, M.ControlModifier)
    assert w.text_edit.font().pointSizeF() > size
    opened(qtbot, w, book)
    assert w.chapters.isVisible()
    w.chapters.toggleViewAction().trigger()  # the user closes the panel
    assert not w.chapters.isVisible()
    bigger = w.text_edit.font().pointSizeF()
    w.close()

    again = make_app().window
    assert again.text_edit.font().pointSizeF() == bigger
    opened(qtbot, again, book)
    assert not again.chapters.isVisible()  # a document with chapters, but the user did not want the panel
    assert again.chapters.headings  # still listed, for View > Chapters Panel and Playback > Go to Chapter
