"""The window under faults: Ctrl+C / SIGTERM in its terminal, no sound device, the device lost mid-play,
saving onto a full disk or into a read-only folder. The user's text stays; every message is one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from app_fixtures import utterance_done
from robust_helpers import REPO, assert_whole_wav_or_absent, full_disk, read_only_folder
from sound_sink import SoundSink, pulse_env, rescan_portaudio

pytest_plugins = ["app_fixtures", "sound_sink"]

TWO_SENTENCES = "The birch canoe slid on the smooth planks.\n\nGlue the sheet to the dark blue background."


def _start_app(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """The real app, offscreen, with weights that do not exist (so it is soon idle with nothing loaded)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "QT_QPA_PLATFORM": "offscreen",
        "FASTTTS_LOG_DIR": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "fasttts_desktop", "--weights", str(tmp_path / "none.pth"), "--device", "cpu"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return proc, tmp_path / "fasttts-desktop.log"


def _wait_for_log(proc, log: Path, words: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and words in log.read_text():
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"the log never said {words!r}")


@pytest.mark.parametrize(
    ("sig", "when"),
    [
        pytest.param(signal.SIGINT, "engine failed to load", id="ctrl-c-when-idle"),
        pytest.param(signal.SIGTERM, "starting", id="sigterm-while-loading"),
    ],
)
def test_the_window_quits_cleanly_on_a_signal(tmp_path, sig, when):
    # issue 9: Ctrl+C in the terminal that launched the window did nothing
    proc, log = _start_app(tmp_path)
    try:
        _wait_for_log(proc, log, when)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"still running 30 s after the signal: {err[-2000:]}")
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "exiting" in log.read_text()


@pytest.mark.slow
def test_without_a_sound_device_speech_is_one_line_and_the_text_stays(
    qtbot, make_app, engine, no_sound_server
):
    app = make_app(engine, output="real")
    w = app.window
    app.service.player.probe()
    qtbot.waitUntil(lambda: app.service.is_ready, timeout=120_000)
    w.text_edit.setPlainText("Hello there.")
    with utterance_done(qtbot, app.service, 120_000):
        w.speak()
    device_lines = [line for line in w.banner.text().splitlines() if "audio output" in line]
    assert len(device_lines) == 1
    assert w.text_edit.toPlainText() == "Hello there." and "\n" not in w.status_label.text()


@pytest.mark.slow
def test_losing_the_sound_device_mid_play_ends_the_utterance_quietly(
    qtbot, make_app, engine, tmp_path, monkeypatch
):
    sink = SoundSink(tmp_path / "pulse").start()
    for key, value in pulse_env(sink.root).items():
        monkeypatch.setenv(key, value)
    rescan_portaudio()
    try:
        app = make_app(engine, output="real")
        w, service = app.window, app.service
        crashes: list[str] = []
        service.crashed.connect(crashes.append)
        qtbot.waitUntil(lambda: service.is_ready, timeout=120_000)
        assert service.player.probe()
        w.text_edit.setPlainText(TWO_SENTENCES)
        w.speak()
        qtbot.waitUntil(lambda: service.player.playing, timeout=120_000)
        qtbot.wait(300)
        sink._proc.kill()  # the sound server dies under the playing stream
        sink._proc.wait()
        qtbot.waitUntil(lambda: not service.busy, timeout=120_000)
        assert not crashes
        assert w.text_edit.toPlainText() == TWO_SENTENCES
        assert "\n" not in w.status_label.text() and "\n" not in w.error_label.text()
    finally:
        sink.stop()
        rescan_portaudio()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "name", "disk_kb"),
    [
        pytest.param("full-disk", "speech.wav", 64, id="full-disk"),
        pytest.param("read-only", "speech.wav", 0, id="read-only"),
        # ~6 s of speech is ~48 kB of MP3 or AAC: a smaller disk (libsndfile and FFmpeg report it apart)
        pytest.param("full-disk", "speech.mp3", 16, id="full-disk-mp3"),
        pytest.param("full-disk", "speech.m4b", 16, id="full-disk-m4b"),
    ],
)
def test_saving_onto_a_bad_disk_is_one_line_and_leaves_no_file(
    qtbot, make_app, engine, tmp_path, fault, name, disk_kb
):
    app = make_app(engine)
    w, service = app.window, app.service
    qtbot.waitUntil(lambda: service.is_ready, timeout=120_000)
    w.text_edit.setPlainText(TWO_SENTENCES)
    folder_of = (
        full_disk(tmp_path / "disk", size_kb=disk_kb)
        if fault == "full-disk"
        else read_only_folder(tmp_path / "ro")
    )
    with folder_of as folder:
        target = folder / name
        with qtbot.waitSignal(service.exports.failed, timeout=300_000) as failed:
            w.save_to(str(target))
        message = failed.args[0]
        assert "\n" not in message and message.startswith(f"Cannot save to {target}"), message
        assert message.endswith(("no space left on device.", "file too large.", "read-only file system.",
                                 "permission denied."))  # fmt: skip
        assert w.error_label.text() == message
        assert w.text_edit.toPlainText() == TWO_SENTENCES
        assert_whole_wav_or_absent(target, expect=False)


def test_script_warning_shows_in_the_window(qtbot, make_app):
    # issue 9: text in a script the chosen front end cannot read was spelled out character by character
    # ("Japanese letter"), with no notice. The Japanese front end reads Japanese now; it cannot read Hangul.
    app = make_app()
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready, timeout=30_000)
    assert app.engine.voice(w.voice()).lang_code == "j"
    w.text_edit.setPlainText("こんにちは、世界。今日はいい天気ですね。")
    w.speak()
    assert "cannot read" not in w.banner.text()
    qtbot.waitUntil(lambda: not app.service.busy, timeout=30_000)
    w.text_edit.setPlainText("안녕하세요. 오늘 날씨가 좋네요.")
    w.speak()
    assert "Hangul" in w.banner.text() and "cannot read" in w.banner.text() and w.banner.isVisible()
    qtbot.waitUntil(lambda: not app.service.busy, timeout=30_000)
    w.text_edit.setPlainText("Back to English.")
    w.speak()
    assert "cannot read" not in w.banner.text()
