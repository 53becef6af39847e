"""The window follows a dark colour scheme (ui/theme.py): offscreen, the palette and the reading highlight
are checked for contrast; under Xvfb the installed command is started in a dark and a light session and
its screenshot's text area measured."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fake_engine import FakeEngine
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPalette

pytest_plugins = ["app_fixtures", "display"]

ARTIFACTS = Path(__file__).parent / "artifacts"

_ROLES = QPalette.ColorRole


def _luminance(c: QColor) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture
def restore_palette(monkeypatch):
    yield
    monkeypatch.delenv("FASTTTS_COLOR_SCHEME", raising=False)
    monkeypatch.delenv("GTK_THEME", raising=False)
    from fasttts_desktop.ui.theme import ColourScheme

    ColourScheme().apply()  # the next tests get the light palette back


@pytest.mark.usefixtures("restore_palette")
@pytest.mark.parametrize(("name", "value"), [("FASTTTS_COLOR_SCHEME", "dark"), ("GTK_THEME", "Adwaita:dark")])
def test_a_dark_session_gets_a_dark_legible_window(qtbot, make_app, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    app = make_app(FakeEngine(chunk_s=1.0, synth_s=0.01))
    w = app.window
    assert w.colours.dark
    # the application's palette reaches the widgets through the event loop
    qtbot.waitUntil(lambda: w.text_edit.palette().color(_ROLES.Base).lightness() < 60)
    palette = w.text_edit.palette()
    assert palette.color(_ROLES.Base).lightness() < 60
    assert contrast(palette.color(_ROLES.Text), palette.color(_ROLES.Base)) >= 7
    assert contrast(palette.color(_ROLES.WindowText), palette.color(_ROLES.Window)) >= 7
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(
        "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."
    )
    w.speak()
    qtbot.waitUntil(lambda: len(w.text_edit.extraSelections()) >= 1, timeout=5000)
    for selection in w.text_edit.extraSelections():  # the lit sentence and word stay readable
        fmt = selection.format
        # a format without a foreground draws in the palette's text colour (light, in a dark palette)
        brush = fmt.foreground()
        text = brush.color() if brush.style() != Qt.BrushStyle.NoBrush else palette.color(_ROLES.Text)
        assert contrast(text, fmt.background().color()) >= 4.5
    w.stop()


@pytest.mark.usefixtures("restore_palette")
def test_light_when_the_system_says_nothing(qtbot, make_app, monkeypatch):
    monkeypatch.delenv("GTK_THEME", raising=False)
    monkeypatch.setenv("FASTTTS_COLOR_SCHEME", "light")
    w = make_app().window
    assert not w.colours.dark
    qtbot.wait(50)
    assert w.text_edit.palette().color(_ROLES.Base).lightness() > 200


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_the_real_window_under_xvfb(display, cli_env, tmp_path, scheme):
    env = {
        **cli_env,
        "DISPLAY": display.name,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "FASTTTS_LOG_DIR": str(tmp_path / "log"),
        "FASTTTS_COLOR_SCHEME": scheme,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "fasttts_desktop", "--device", "cpu", "--offline"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        window = display.find_window("FastTTS")
        level = 0.0
        for _ in range(20):  # until the window has painted (black before that)
            time.sleep(0.5)
            level = _text_area_level(display.screenshot(window, ARTIFACTS / f"window-{scheme}.png"))
            if level > 5:
                break
        # the dark palette's base is #1e1e1e (30), Fusion's light one white
        assert 15 < level < 60 if scheme == "dark" else level > 200, level
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _text_area_level(shot) -> float:
    """Mean brightness (0-255) of the middle of the window: inside the empty text box."""
    image = QImage(str(shot)).convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    rows = np.frombuffer(bytes(image.constBits()), np.uint8)[: height * stride].reshape(height, stride)
    pixels = rows[:, : width * 3].reshape(height, width, 3)
    return float(pixels[height // 4 : height // 2, width // 4 : 3 * width // 4].mean())
