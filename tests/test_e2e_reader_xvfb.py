"""`fasttts-desktop book.epub` on a real X server (Xvfb) with the real engine on CPU and a real sound server:
it reads the book from its first chapter, Ctrl+Space pauses (silence at the sink) and resumes, Alt+Right
skips a sentence, the heard word is lit on screen, and a second launch offers the last position back.
Screenshots of the reader go to tests/artifacts/.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from book_files import write_epub
from sound_sink import pulse_env

from fasttts_desktop.engine.text.documents import load_document
from fasttts_desktop.ui.navigation import SentenceIndex
from fasttts_desktop.ui.reader_view import WORD_COLOUR

pytest_plugins = ["display", "sound_sink"]

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).parent / "artifacts"


def log_lines(path: Path) -> list[str]:
    return path.read_text(errors="replace").splitlines() if path.exists() else []


def wait_for(path: Path, pattern: str, proc: subprocess.Popen, timeout: float, after: int = 0) -> re.Match:
    """The first log line from line `after` on that matches `pattern`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log_lines(path)[after:]:
            found = re.search(pattern, line)
            if found:
                return found
        if proc.poll() is not None:
            raise AssertionError(f"the app exited early ({proc.returncode}):\n{proc.stdout.read()}")
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} never appeared in the log:\n" + "\n".join(log_lines(path)[-30:]))


def word_pixels(png: Path) -> int:
    """Pixels painted in the heard word's highlight colour."""
    from PySide6.QtGui import QImage

    image = QImage(str(png)).convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    rgb = pixels[:, : image.width() * 3].reshape(image.height(), image.width(), 3)
    want = np.array([WORD_COLOUR.red(), WORD_COLOUR.green(), WORD_COLOUR.blue()], np.uint8)
    return int((rgb == want).all(axis=2).sum())


def screenshot_with_word(display, window: str, path: Path, tries: int = 30) -> int:
    """A screenshot in which a word is lit (between words only the sentence is): retried until one is."""
    for _ in range(tries):
        display.screenshot(window, path)
        lit = word_pixels(path)
        if lit > 150:
            return lit
        time.sleep(0.1)
    raise AssertionError(f"no highlighted word in {tries} screenshots ({path})")


def sound_between(capture, t0: float, t1: float) -> float:
    audio = capture.audio()
    a, b = capture.samples_by(t0), capture.samples_by(t1)
    return float(np.abs(audio[a:b]).max()) if b > a else 0.0


def wait_for_sound(capture, since: float, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sound_between(capture, since, time.perf_counter()) > 0.05:
            return time.perf_counter()
        time.sleep(0.05)
    raise AssertionError("the sink heard nothing")


def test_a_book_from_the_command_line_is_read_paused_skipped_highlighted_and_remembered(
    display, sound_sink, cli_env, tmp_path
):
    book = write_epub(tmp_path / "harvard.epub")
    text = load_document(book).text
    index = SentenceIndex(text)
    log_dir = tmp_path / "log"
    log = log_dir / "fasttts-desktop.log"
    env = {
        **cli_env,  # this run's converted weights, offline, the checkout importable
        **pulse_env(sound_sink.root),
        "DISPLAY": display.name,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # QSettings and the positions: a fresh user
        "FASTTTS_LOG_DIR": str(log_dir),
    }

    def launch() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "fasttts_desktop", "--device", "cpu", "--offline", str(book)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def key(window: str, keys: str) -> float:
        display.run("xdotool", "windowfocus", "--sync", window)
        t = time.perf_counter()
        display.run("xdotool", "key", keys)
        return t

    capture = sound_sink.capture()
    proc = launch()
    try:
        window = display.find_window("Harvard Lines — FastTTS")
        wait_for(log, r"opened .*harvard\.epub: \d+ characters", proc, timeout=60)
        wait_for(log, "engine ready", proc, timeout=240)
        start = len(log_lines(log))
        key(window, "ctrl+Return")
        # From its first chapter: the whole text, from character 0.
        wait_for(log, rf"speak #1: {len(text)} characters from 0,", proc, timeout=10, after=start)
        heard_at = wait_for_sound(capture, time.perf_counter() - 1, timeout=120)
        screenshot_with_word(display, window, ARTIFACTS / "reader-reading.png")

        paused_at = key(window, "ctrl+space")
        wait_for(log, r"pause #1", proc, timeout=5, after=start)
        time.sleep(1.0)
        assert sound_between(capture, paused_at + 0.3, paused_at + 1.0) < 0.01, "still sounding while paused"
        screenshot_with_word(display, window, ARTIFACTS / "reader-paused.png", tries=3)  # the word stays lit
        resumed_at = key(window, "ctrl+space")
        wait_for(log, r"resume #1", proc, timeout=5, after=start)
        wait_for_sound(capture, resumed_at, timeout=30)
        assert resumed_at > heard_at

        skip_from = len(log_lines(log))
        key(window, "alt+Right")
        skip = wait_for(
            log, r"skip to sentence (\d+) of (\d+) \(character (\d+)\)", proc, timeout=5, after=skip_from
        )
        number, total, offset = (int(g) for g in skip.groups())
        assert total == len(index) and number >= 2 and offset == index.starts[number - 1]
        wait_for(log, rf"speak #2: {len(text)} characters from {offset},", proc, timeout=5, after=skip_from)
        wait_for_sound(capture, time.perf_counter(), timeout=120)
        screenshot_with_word(display, window, ARTIFACTS / "reader-after-skip.png")
        time.sleep(1.0)  # a word or two into the new sentence before leaving

        key(window, "ctrl+q")
        assert proc.wait(20) == 0
    finally:
        capture.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    first_output = proc.stdout.read()

    again_from = len(log_lines(log))
    proc = launch()
    try:
        window = display.find_window("Harvard Lines — FastTTS")
        offer = wait_for(
            log, r"offering to continue .*harvard\.epub from character (\d+)", proc, 60, again_from
        )
        assert int(offer.group(1)) >= offset  # where the last run left off, at or after the skip
        time.sleep(0.5)  # let the bar paint
        display.screenshot(window, ARTIFACTS / "reader-reopened.png")
        key(window, "ctrl+q")
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = first_output + proc.stdout.read()
    logged = log.read_text()
    assert "Traceback" not in output and "Traceback" not in logged, output + logged
    assert " ERROR " not in logged
