"""Choosing the output: the Player moving a playing utterance to another device at the sample being heard,
falling back to the system default when the chosen one cannot be opened, and Playback > Output Device
(listed on opening, remembered by name). Fake streams here; tests/test_sink_outputs.py plays into two
real PulseAudio sinks."""

from __future__ import annotations

import numpy as np
from fake_engine import FakeEngine
from fake_stream import FakeOutput
from pause_checks import ramp, split_at_pause
from PySide6.QtCore import QSettings

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.playback import output_devices
from fasttts_desktop.playback.audio_output import Playback
from fasttts_desktop.playback.output_devices import OutputDevice
from fasttts_desktop.playback.sound_stream import NoOutputDevice
from fasttts_desktop.worker.player import Player

pytest_plugins = ["app_fixtures"]


def fake_player(output) -> Player:
    return Player(lambda on_finished: Playback(on_finished, open_stream=output), warm_up=lambda: None)


def test_switching_output_while_playing_moves_on_from_the_sample_being_heard(qtbot):
    output = FakeOutput(pace=1.0, latency=0.05)  # the "device" holds 50 ms, as a real one holds some
    player = fake_player(output)
    finished = []
    player.finished.connect(lambda request, stats: finished.append(stats))
    sent = ramp(int(1.2 * SAMPLE_RATE))
    assert player.play(1, sent)
    player.end(1)
    qtbot.waitUntil(lambda: player.heard_sample() > 0.4 * SAMPLE_RATE, timeout=2000)
    player.set_output("portaudio:Fake:Second")
    assert player.output == "portaudio:Fake:Second"
    qtbot.waitUntil(lambda: len(output.streams) == 2, timeout=1000)
    qtbot.waitUntil(lambda: bool(finished), timeout=3000)
    first, second = output.streams
    assert output.devices == ["", "portaudio:Fake:Second"]
    assert first.closed
    # The old stream faded out, the new one faded in from the next sample: not one lost or repeated.
    _, stopped, _ = split_at_pause(np.concatenate([first.played, second.played]), sent)
    assert 0.4 * SAMPLE_RATE < stopped < 1.0 * SAMPLE_RATE
    assert finished[0].played_s == len(sent) / SAMPLE_RATE
    player.shutdown()


def test_a_switch_while_paused_stays_paused_and_resumes_on_the_new_output(qtbot):
    output = FakeOutput()
    player = fake_player(output)
    sent = ramp(SAMPLE_RATE)
    player.play(1, sent)
    player.end(1)
    qtbot.wait(200)
    player.pause()
    qtbot.wait(50)
    player.set_output("pulse:elsewhere")
    qtbot.waitUntil(lambda: len(output.streams) == 2, timeout=1000)
    qtbot.wait(100)
    assert player.paused and not output.streams[1].played.any()  # opened, but silent while paused
    done = []
    player.finished.connect(lambda *args: done.append(args))
    assert player.resume()
    qtbot.waitUntil(lambda: bool(done), timeout=3000)
    split_at_pause(np.concatenate([s.played for s in output.streams]), sent)
    assert output.devices[-1] == "pulse:elsewhere"
    player.shutdown()


def test_an_output_that_cannot_be_opened_falls_back_to_the_default_and_says_so(qtbot):
    fake = FakeOutput()

    def opener(callback, finished_callback, rate, device=""):
        if device:
            raise NoOutputDevice("The output “Headset” could not be opened (it is not connected).")
        return fake(callback, finished_callback, rate, device)

    player = fake_player(opener)
    problems = []
    player.device_problem.connect(problems.append)
    player.set_output("portaudio:ALSA:Headset")
    done = []
    player.finished.connect(lambda *args: done.append(args))
    assert player.play(1, ramp(SAMPLE_RATE // 4))
    player.end(1)
    qtbot.waitUntil(lambda: bool(done), timeout=3000)
    assert fake.devices == [""]  # played on the default
    assert problems == [
        (
            "The output “Headset” could not be opened (it is not connected). "
            "Playing on the system default output instead."
        )
    ]
    assert player.output == "portaudio:ALSA:Headset"  # still the choice: used again once it is back
    player.shutdown()


def test_the_menu_lists_outputs_marks_the_choice_and_remembers_it(
    qtbot, make_app, settings_path, monkeypatch
):
    listed = [
        output_devices.SYSTEM_DEFAULT,
        OutputDevice("pulse:vsink2", "Second Output (PulseAudio)"),
        OutputDevice("portaudio:ALSA:pulse", "pulse (ALSA)"),
    ]
    scans = []

    def outputs(rescan=False):
        scans.append(rescan)
        return list(listed)

    monkeypatch.setattr("fasttts_desktop.worker.player.list_outputs", outputs)
    app = make_app(FakeEngine(chunk_s=0.5))
    w = app.window
    menu = w.commands.output_menu
    playback = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Playback")
    assert menu.menuAction() in playback.actions()  # under Playback
    menu.aboutToShow.emit()
    assert scans == [True]  # nothing playing: PortAudio may look for new devices
    labels = [a.text() for a in menu.actions()]
    assert labels == ["System default", "Second Output (PulseAudio)", "pulse (ALSA)"]
    assert [a.isChecked() for a in menu.actions()] == [True, False, False]
    assert all(a.toolTip() for a in menu.actions())
    menu.actions()[1].trigger()
    assert app.service.player.output == "pulse:vsink2"
    assert w.status_label.text() == "Speech plays on Second Output (PulseAudio)."

    # Speech goes to the chosen output; opening the menu while it plays does not make PortAudio look
    # again (that would close the stream).
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText("One. Two. Three.")
    w.speak()
    qtbot.waitUntil(lambda: bool(app.output.streams), timeout=3000)
    menu.aboutToShow.emit()
    assert scans == [True, False]
    assert app.output.devices == ["pulse:vsink2"]
    assert [a.isChecked() for a in menu.actions()] == [False, True, False]
    w.stop()
    w.close()

    settings = QSettings(settings_path, QSettings.Format.IniFormat)
    assert settings.value("playback/output") == "pulse:vsink2"
    listed.pop(1)  # the sink went away meanwhile
    again = make_app(FakeEngine())
    assert again.service.player.output == "pulse:vsink2"
    menu = again.window.commands.output_menu
    menu.aboutToShow.emit()
    gone = [a for a in menu.actions() if a.data() == "pulse:vsink2"]
    assert [a.text() for a in gone] == ["vsink2 (not connected)"] and gone[0].isChecked()
    menu.actions()[0].trigger()
    assert again.service.player.output == ""
