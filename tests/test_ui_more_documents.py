"""The new document kinds in the window (offscreen, fake engine): a DOCX opened with its chapters, and
File > Open Web Page… (Ctrl+Shift+O) fetching an article from a real HTTP server on 127.0.0.1, with a bad
address refused in one line; `say -f URL` from the command line reads the same article."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
from office_files import write_docx
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QInputDialog
from web_server import serving

pytest_plugins = ["app_fixtures"]


def test_a_docx_opens_with_its_chapters(qtbot, make_app, tmp_path):
    app = make_app()
    w = app.window
    with qtbot.waitSignal(w.documents.opened, timeout=10_000):
        w.open_path(str(write_docx(tmp_path / "lines.docx")))
    tree = w.chapters.tree
    assert w.chapters.isVisible()
    assert tree.topLevelItem(0).text(0) == "The First Chapter"
    assert w.text_edit.toPlainText().startswith("The First Chapter\n\nThe birch canoe")


def test_open_web_page_reads_the_article(qtbot, make_app):
    app = make_app()
    w = app.window
    action = w.web_pages.action
    assert action.shortcut().toString() == "Ctrl+Shift+O"
    assert action in w.menuBar().actions()[0].menu().actions()  # in File, after Open…
    with serving() as site:
        w.activateWindow()
        qtbot.waitUntil(w.isActiveWindow)
        qtbot.keyClick(
            w.text_edit, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        )
        dialog = w.web_pages.dialog
        assert isinstance(dialog, QInputDialog) and dialog.isVisible()
        assert dialog.accessibleName() == "Open web page"
        with qtbot.waitSignal(w.documents.opened, timeout=10_000):
            dialog.setTextValue(f"{site}/article")
            dialog.accept()
        assert w.text_edit.toPlainText().startswith("Boats of Birch\n\nThe birch canoe")
        assert "Shop Now" not in w.text_edit.toPlainText()
        assert w.documents.current.path == f"{site}/article"
        assert w.windowTitle().startswith("Boats of Birch")
        # a page the server does not have: one line, the text stays
        with qtbot.waitSignal(w.documents.failed, timeout=10_000) as failed:
            w.web_pages.open(f"{site}/missing")
        assert "the server answered 404" in failed.args[0]
        assert "\n" not in failed.args[0]
        assert w.text_edit.toPlainText().startswith("Boats of Birch")
    w.web_pages.open("not an address")
    assert "not a web address" in w.error_label.text()
    QApplication.processEvents()


@pytest.mark.slow
def test_say_reads_a_web_page(tmp_path, cli_env):
    out = tmp_path / "page.wav"
    with serving() as site:
        done = subprocess.run(
            [sys.executable, "-m", "fasttts_desktop", "say", "-f", f"{site}/short", "-o", str(out),
             "--device", "cpu"],
            env=cli_env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    audio, sr = soundfile.read(str(out))
    assert len(audio) / sr > 1.5  # "Short Page" and a sentence, nothing of the menu


def test_say_names_a_missing_page_in_one_line(tmp_path):
    with serving() as site:
        done = subprocess.run(
            [sys.executable, "-m", "fasttts_desktop", "say", "-f", f"{site}/missing", "-o",
             str(tmp_path / "x.wav"), "--offline"],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "PYTHONPATH": str(Path.cwd())},
        )  # fmt: skip
    assert done.returncode == 2
    assert "404" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
