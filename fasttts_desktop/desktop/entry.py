"""`fasttts-desktop install-desktop-entry`: the app in the desktop's menu, with its icon, as the opener of
the documents it reads; `--remove` takes all of it away again.

pipx and uv install no desktop files (pypa/pipx#717), so the app writes its own, under the XDG data home
(~/.local/share): applications/APP_ID.desktop and icons/hicolor/*/apps/APP_ID.{png,svg}. The entry's
MimeType key is the association: file managers then offer FastTTS under "Open With" for those types; the
default application for a type stays the user's choice (mimeapps.list is not touched). Exec names the
launcher of the environment this runs from, and TryExec hides the entry if that environment goes away.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from fasttts_desktop.desktop import APP_ID
from fasttts_desktop.desktop.icons import SIZES, SVG, render_png
from fasttts_desktop.engine.storage.files import write_bytes_atomic, write_text_atomic
from fasttts_desktop.engine.types import EngineError

# What the window opens (engine/text/documents/load.py's suffixes), by MIME type; text/x-markdown is what
# shared-mime-info called Markdown before 2.2.
MIME_TYPES = (
    "text/plain",
    "text/markdown",
    "text/x-markdown",
    "text/html",
    "application/xhtml+xml",
    "application/epub+zip",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
    "application/rtf",
    "application/x-fictionbook+xml",
)
# Characters the Exec key reserves: an argument holding one is quoted (Desktop Entry spec, "The Exec key").
_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
_QUOTE_ESCAPED = frozenset('"`$\\')


def data_home() -> Path:
    """$XDG_DATA_HOME when it is an absolute path (the spec ignores a relative one), else ~/.local/share."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if Path(value).is_absolute() else Path.home() / ".local" / "share"


def desktop_file(home: Path) -> Path:
    return home / "applications" / f"{APP_ID}.desktop"


def icon_files(home: Path) -> list[Path]:
    hicolor = home / "icons" / "hicolor"
    pngs = [hicolor / f"{n}x{n}" / "apps" / f"{APP_ID}.png" for n in SIZES]
    return [*pngs, hicolor / "scalable" / "apps" / f"{APP_ID}.svg"]


def launcher() -> list[str]:
    """The command that starts this installation's window: its console script beside the interpreter (a
    venv's, pipx's or uv's bin folder), else the interpreter running the package."""
    bin_dir = Path(sys.executable).absolute().parent  # not resolved: a venv's python is a symlink
    script = bin_dir / "fasttts-desktop"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [str(Path(sys.executable).absolute()), "-m", "fasttts_desktop"]


def exec_argument(arg: str) -> str:
    """One argument as the Exec key wants it (quoted if needed, % doubled), before string escaping."""
    if "\n" in arg or "\r" in arg:
        raise EngineError(f"cannot write a desktop entry for a path with a line break in it: {arg!r}")
    if arg and not _RESERVED.intersection(arg):
        quoted = arg
    else:
        quoted = '"' + "".join(f"\\{c}" if c in _QUOTE_ESCAPED else c for c in arg) + '"'
    return quoted.replace("%", "%%")


def entry_text(command: list[str]) -> str:
    """The .desktop file for `command` (the launcher's words)."""
    # A string value's own escape rule (\\ for a backslash) applies on top of the Exec quoting.
    exec_line = " ".join(exec_argument(word) for word in command).replace("\\", "\\\\")
    # TryExec takes a plain path (no quoting), so only when the launcher is a script of its own.
    try_exec = f"TryExec={command[0].replace(chr(92), chr(92) * 2)}\n" if len(command) == 1 else ""
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.4\n"
        "Name=FastTTS\n"
        "GenericName=Text to Speech Reader\n"
        "Comment=Read text and documents aloud with the Kokoro voice model\n"
        f"Icon={APP_ID}\n"
        f"{try_exec}"
        f"Exec={exec_line} %f\n"
        "Terminal=false\n"
        "StartupNotify=true\n"
        "StartupWMClass=fasttts-desktop\n"  # X11 WM_CLASS: Qt sets the application name there
        "Categories=Utility;Accessibility;\n"
        "Keywords=speech;text to speech;TTS;read aloud;audiobook;Kokoro;\n"
        f"MimeType={';'.join(MIME_TYPES)};\n"
    )


def install(home: Path | None = None, command: list[str] | None = None) -> list[Path]:
    """Write the icons, then the entry (so it never shows without its icon); returns the files written.
    Running it again rewrites them (a moved installation gets its new Exec)."""
    home = home or data_home()
    written = []
    svg = SVG.read_bytes()
    for path in icon_files(home):
        path.parent.mkdir(parents=True, exist_ok=True)
        size = path.parent.parent.name.split("x")[0]
        written.append(write_bytes_atomic(path, svg if path.suffix == ".svg" else render_png(int(size))))
    entry = desktop_file(home)
    entry.parent.mkdir(parents=True, exist_ok=True)
    written.append(write_text_atomic(entry, entry_text(command or launcher())))
    _refresh(home)
    return written


def remove(home: Path | None = None) -> list[Path]:
    """Delete the entry and the icons install() writes (nothing else); returns what was there."""
    home = home or data_home()
    removed = []
    for path in [desktop_file(home), *icon_files(home)]:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    if removed:
        _refresh(home)
    return removed


def _refresh(home: Path) -> None:
    """Tell running desktops. GLib and others read a folder's mimeinfo.cache instead of its entries once
    one exists, so it is rebuilt where desktop-file-utils is installed; the hicolor folder's time is bumped
    for icon themes (an icon cache is not created: a stale one would hide other apps' icons)."""
    apps = home / "applications"
    tool = shutil.which("update-desktop-database")
    if tool and apps.is_dir():
        subprocess.run([tool, "-q", str(apps)], check=False, capture_output=True, timeout=60)  # noqa: S603 - our own folder
    hicolor = home / "icons" / "hicolor"
    if hicolor.is_dir():
        os.utime(hicolor)
