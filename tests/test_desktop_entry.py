"""`install-desktop-entry` and Help > Add to Applications Menu: the entry passes desktop-file-validate
(Debian's desktop-file-utils), GLib launches it with a document, its MIME types land in the MIME cache, the
icons are drawn at each size, and --remove takes away exactly what was written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtGui import QImage

from fasttts_desktop.desktop import APP_ID
from fasttts_desktop.desktop.entry import MIME_TYPES, entry_text, icon_files
from fasttts_desktop.desktop.icons import SIZES
from fasttts_desktop.engine.text.documents.load import SUPPORTED_SUFFIXES

REPO = Path(__file__).resolve().parent.parent
pytest_plugins = ["app_fixtures"]


def need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise RuntimeError(f"{tool} is needed: scripts/setup --test installs it")
    return path


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_DATA_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "fasttts_desktop", "install-desktop-entry", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_install_writes_a_valid_entry_icons_and_mime_types_and_remove_takes_them_away(tmp_path):
    home = tmp_path / "share"
    # Another app's files in the same folders, which neither command may touch.
    other_entry = home / "applications" / "org.example.Other.desktop"
    other_icon = home / "icons" / "hicolor" / "48x48" / "apps" / "org.example.Other.png"
    for path in (other_entry, other_icon):
        path.parent.mkdir(parents=True)
        path.write_text("someone else's")

    done = run_cli(home)
    assert done.returncode == 0, done.stderr
    entry = home / "applications" / f"{APP_ID}.desktop"
    assert str(entry) in done.stdout
    check = subprocess.run([need("desktop-file-validate"), str(entry)], capture_output=True, text=True)
    assert check.returncode == 0 and not check.stdout.strip(), check.stdout  # not even a hint
    text = entry.read_text()
    assert f"Icon={APP_ID}\n" in text
    exec_word = next(line for line in text.splitlines() if line.startswith("Exec=")).split()[0][5:]
    assert os.access(exec_word, os.X_OK)  # this environment's launcher, by absolute path

    # The MIME cache update-desktop-database keeps: FastTTS is offered for each document type.
    cache = (home / "applications" / "mimeinfo.cache").read_text()
    for mime in MIME_TYPES:
        assert f"{mime}={APP_ID}.desktop;" in cache

    for size in SIZES:
        image = QImage(str(home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(0, 0).alpha() == 0  # the rounded corner is transparent
        assert image.pixelColor(size // 2, size // 8).name() == "#2b6cb0"  # the icon's blue
    svg = home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert svg.read_bytes() == (REPO / "fasttts_desktop" / "resources" / "icon.svg").read_bytes()

    again = run_cli(home)  # idempotent: the same files, rewritten
    assert again.returncode == 0 and entry.read_text() == text

    gone = run_cli(home, "--remove")
    assert gone.returncode == 0, gone.stderr
    assert "Removed 11 files" in gone.stdout
    assert not entry.exists() and not any(p.exists() for p in icon_files(home))
    assert other_entry.read_text() == other_icon.read_text() == "someone else's"
    assert APP_ID not in (home / "applications" / "mimeinfo.cache").read_text()
    assert "Nothing to remove" in run_cli(home, "--remove").stdout


def test_glib_launches_the_entry_with_a_document_through_an_awkward_path(tmp_path):
    # Spaces, quotes, a dollar and a backslash in the launcher's path, spaces in an argument and the
    # document: the Exec quoting and the string escaping on top of it, read back by GLib's own parser.
    # (No % in the path: GLib looks the program up before collapsing %%, though the spec asks for %%.)
    folder = tmp_path / 'odd dir $HOME "q" back\\slash'
    folder.mkdir()
    record = tmp_path / "argv.txt"
    launcher = folder / "fast tts"
    launcher.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > "{record}"\n')
    launcher.chmod(0o755)
    entry = tmp_path / "t.desktop"
    entry.write_text(entry_text([str(launcher), "--weights", "/w/a b.pth"]))
    assert subprocess.run([need("desktop-file-validate"), str(entry)]).returncode == 0
    document = tmp_path / "my book.epub"
    subprocess.run([need("gio"), "launch", str(entry), str(document)], check=True, timeout=30)
    deadline = time.monotonic() + 30  # gio returns once the program is started, not when it ends
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)  # the script writes its lines after creating the file
    assert record.read_text().splitlines() == ["--weights", "/w/a b.pth", str(document)]


# shared-mime-info's types for the suffixes (Python 3.11's mimetypes lacks .md and .text)
SUFFIX_TYPES = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
    ".epub": "application/epub+zip",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".rtf": "application/rtf",
    ".fb2": "application/x-fictionbook+xml",
}


def test_every_document_type_the_window_opens_is_in_the_entry():
    assert set(SUPPORTED_SUFFIXES) == set(SUFFIX_TYPES)  # a new importer needs its type here and there
    assert set(SUFFIX_TYPES.values()) <= set(MIME_TYPES)


def test_help_menu_adds_and_removes_the_entry(qtbot, make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    w = make_app().window
    action = w.commands.desktop_entry
    assert action.text() == "Add to &Applications Menu"
    help_menu = next(m for m in action.associatedObjects() if getattr(m, "title", lambda: "")() == "&Help")
    assert action in help_menu.actions()
    action.trigger()
    entry = tmp_path / "share" / "applications" / f"{APP_ID}.desktop"
    assert entry.is_file() and all(p.is_file() for p in icon_files(tmp_path / "share"))
    assert "in the applications menu" in w.status_label.text()
    assert action.text() == "Remove from &Applications Menu"
    action.trigger()
    assert not entry.exists()
    assert action.text() == "Add to &Applications Menu"


def test_help_menu_says_in_one_line_when_the_entry_cannot_be_written(qtbot, make_app, tmp_path, monkeypatch):
    blocked = tmp_path / "share"
    blocked.write_text("a file where the data folder should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocked))
    w = make_app().window
    w.commands.desktop_entry.trigger()
    message = w.error_label.text()
    assert message.startswith("Could not change the applications menu:") and "\n" not in message
    assert blocked.read_text() == "a file where the data folder should be"
