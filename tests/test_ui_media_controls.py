"""MPRIS and the D-Bus actions, on a private session bus (dbus-run-session) with real clients: playerctl
(Debian's, the one panels' media keys scripts use) and gdbus. The real window runs offscreen with the real
worker and the tests' fake engine, which is all the state machine needs (sound: tests/test_sink_*.py)."""

from __future__ import annotations

import os
import shutil

import pytest
from book_files import write_epub
from dbus_session import Follower, client
from fake_engine import FakeEngine
from PySide6.QtCore import QUrl
from PySide6.QtDBus import QDBusConnection
from PySide6.QtGui import QGuiApplication

from fasttts_desktop.desktop import APP_ID
from fasttts_desktop.ui.media_controls import APP_PATH, MPRIS_NAME, PLAYER

pytest_plugins = ["app_fixtures", "dbus_session"]

pytestmark = pytest.mark.skipif(
    not shutil.which("playerctl") or not shutil.which("gdbus"),
    reason="playerctl and gdbus are needed: scripts/setup --test installs them",
)

PREFIX = "org.mpris.MediaPlayer2."
TEXT = "First of all. Second one here. Third comes next. Fourth and last."


def playerctl(qtbot, *args: str, ok: bool = True) -> str:
    return client(qtbot, "playerctl", "--player=fasttts", *args, ok=ok).strip()


def gdbus_action(qtbot, name: str) -> None:
    client(
        qtbot,
        "gdbus", "call", "--session", "--dest", APP_ID, "--object-path", APP_PATH,
        "--method", "org.freedesktop.Application.ActivateAction", name, "[]", "{}",
    )  # fmt: skip


def test_playerctl_finds_the_window_and_reads_its_state(qtbot, make_app, session_bus, tmp_path):
    app = make_app(FakeEngine(chunk_s=2.0, synth_s=0.01))
    w = app.window
    assert w.media_controls.mpris_name == MPRIS_NAME
    assert "fasttts" in client(qtbot, "playerctl", "--list-all").split()
    assert playerctl(qtbot, "status") == "Stopped"
    introspect = client(
        qtbot,
        "gdbus",
        "introspect",
        "--session",
        "--dest",
        MPRIS_NAME,
        "--object-path",
        "/org/mpris/MediaPlayer2",
    )
    declared = ["readonly x Position", "readonly a{sv} Metadata", "readonly s PlaybackStatus"]
    declared += ["readwrite d Rate", "PlayPause();", "SetPosition(", "readonly s DesktopEntry"]
    for name in declared:
        assert name in introspect
    assert APP_ID in client(
        qtbot, "gdbus", "call", "--session", "--dest", MPRIS_NAME, "--object-path", "/org/mpris/MediaPlayer2",
        "--method", "org.freedesktop.DBus.Properties.Get", "org.mpris.MediaPlayer2", "DesktopEntry",
    )  # fmt: skip

    book = write_epub(tmp_path / "b e.epub", title="Harvard Lines")
    qtbot.waitUntil(lambda: app.service.is_ready)
    playerctl(qtbot, "open", "https://example.com/b.epub")  # not a local file: ignored
    assert w.documents.current is None
    with qtbot.waitSignal(w.documents.opened, timeout=10_000):  # MPRIS OpenUri
        playerctl(
            qtbot, "open", QUrl.fromLocalFile(str(book)).toString(QUrl.ComponentFormattingOption.FullyEncoded)
        )
    assert w.documents.current.path == str(book)
    meta = playerctl(
        qtbot, "metadata", "--format", "{{mpris:trackid}}|{{xesam:title}}|{{xesam:album}}|{{artist}}"
    )
    first = w.reader.snapshot()[1].span(0)
    title = w.text_edit.toPlainText()[first[0] : first[1]].strip()
    assert meta == f"'{APP_PATH}/sentence/1'|{title}|Harvard Lines|Harvard Lines"  # playerctl quotes paths


def test_playerctl_plays_pauses_skips_and_stops_and_hears_of_each_change(
    qtbot, make_app, session_bus, tmp_path
):
    app = make_app(FakeEngine(chunk_s=3.0, synth_s=0.01))
    w, s, engine = app.window, app.service, app.engine
    qtbot.waitUntil(lambda: s.is_ready)
    w.text_edit.setPlainText(TEXT)
    follow = Follower(tmp_path / "follow.txt", "playerctl", "--player=fasttts", "--follow", "status")
    titles = Follower(
        tmp_path / "titles.txt",
        "playerctl",
        "--player=fasttts",
        "--follow",
        "metadata",
        "--format",
        "{{xesam:title}}",
    )
    try:
        qtbot.waitUntil(lambda: follow.lines() == ["Stopped"], timeout=10_000)  # it has subscribed
        qtbot.waitUntil(lambda: titles.lines() == ["First of all."], timeout=10_000)
        playerctl(qtbot, "play")
        qtbot.waitUntil(lambda: s.busy and len(engine.starts) == 1)
        assert engine.calls[-1][0] == TEXT
        qtbot.waitUntil(lambda: follow.lines()[-1:] == ["Playing"], timeout=5000)  # PropertiesChanged
        assert playerctl(qtbot, "status") == "Playing"

        playerctl(qtbot, "pause")
        qtbot.waitUntil(lambda: s.paused)
        qtbot.waitUntil(lambda: follow.lines()[-1:] == ["Paused"], timeout=5000)
        playerctl(qtbot, "play-pause")
        qtbot.waitUntil(lambda: not s.paused)
        qtbot.waitUntil(lambda: follow.lines()[-1:] == ["Playing"], timeout=5000)
        position = float(playerctl(qtbot, "position"))  # seconds heard, from the x (int64) property
        assert 0.0 <= position < 3.0

        playerctl(qtbot, "next")  # a track is a sentence
        qtbot.waitUntil(lambda: len(engine.starts) == 2)
        assert engine.starts[-1] == TEXT.index("Second")
        meta = playerctl(qtbot, "metadata", "--format", "{{mpris:trackid}} {{xesam:title}}")
        assert meta == f"'{APP_PATH}/sentence/2' Second one here."
        playerctl(qtbot, "next")
        qtbot.waitUntil(lambda: len(engine.starts) == 3)
        playerctl(qtbot, "previous")
        qtbot.waitUntil(lambda: len(engine.starts) == 4)
        assert engine.starts[-2:] == [TEXT.index("Third"), TEXT.index("Second")]

        playerctl(qtbot, "stop")
        qtbot.waitUntil(lambda: not s.busy)
        qtbot.waitUntil(lambda: follow.lines()[-1:] == ["Stopped"], timeout=5000)
        qtbot.waitUntil(lambda: titles.lines()[-1:] == ["Second one here."], timeout=5000)
    finally:
        follow.close()
        titles.close()
    assert follow.lines() == ["Stopped", "Playing", "Paused", "Playing", "Stopped"]
    seen = [t for i, t in enumerate(titles.lines()) if i == 0 or titles.lines()[i - 1] != t]
    assert seen == ["First of all.", "Second one here.", "Third comes next.", "Second one here."]


def test_rate_is_the_reading_speed(qtbot, make_app, session_bus):
    app = make_app()
    w = app.window
    w.speed_box.setValue(1.25)
    get = ("gdbus", "call", "--session", "--dest", MPRIS_NAME, "--object-path", "/org/mpris/MediaPlayer2",
           "--method", "org.freedesktop.DBus.Properties.Get", PLAYER, "Rate")  # fmt: skip
    assert client(qtbot, *get).strip() == "(<1.25>,)"
    set_rate = list(get)
    set_rate[-3:] = ["org.freedesktop.DBus.Properties.Set", PLAYER, "Rate"]
    client(qtbot, *set_rate, "<0.75>")
    assert w.speed() == 0.75
    client(qtbot, *set_rate, "<100.0>")  # outside Minimum/MaximumRate: ignored, as the spec says
    assert w.speed() == 0.75


def test_gdbus_actions_speak_the_clipboard_and_the_selection(qtbot, make_app, session_bus):
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01))
    w, engine = app.window, app.engine
    qtbot.waitUntil(lambda: app.service.is_ready)
    QGuiApplication.clipboard().setText("Copied for the bus.")
    gdbus_action(qtbot, "speak-clipboard")
    qtbot.waitUntil(lambda: bool(engine.calls) and engine.calls[-1][0] == "Copied for the bus.")
    assert w.text_edit.toPlainText() == "Copied for the bus."
    qtbot.waitUntil(lambda: not app.service.busy, timeout=5000)

    # Offscreen Qt has no primary selection: Speak Selection reads the clipboard instead.
    assert not QGuiApplication.clipboard().supportsSelection()
    QGuiApplication.clipboard().setText("Second copy.")
    gdbus_action(qtbot, "speak-selection")
    qtbot.waitUntil(lambda: engine.calls[-1][0] == "Second copy.")

    calls = len(engine.calls)
    QGuiApplication.clipboard().setText("")
    gdbus_action(qtbot, "speak-clipboard")  # nothing to read: the window says so, the text stays
    qtbot.waitUntil(lambda: "clipboard holds no text" in w.error_label.text())
    gdbus_action(qtbot, "no-such-action")  # a stranger's call is ignored
    assert len(engine.calls) == calls and w.text_edit.toPlainText() == "Second copy."


def test_a_second_instance_gets_its_own_name_and_the_names_go_with_the_window(qtbot, make_app, session_bus):
    # Another FastTTS (another process: its own connection) already holds both names.
    other = QDBusConnection.connectToBus(session_bus, "another instance")
    assert other.registerService(MPRIS_NAME) and other.registerService(APP_ID)
    w = make_app().window
    mine = w.media_controls.mpris_name
    assert mine == f"{MPRIS_NAME}.instance{os.getpid()}"
    assert w.media_controls.app_name == ""  # the first instance answers the actions
    assert sorted(client(qtbot, "playerctl", "--list-all").split()) == ["fasttts", mine.removeprefix(PREFIX)]
    w.close()
    assert client(qtbot, "playerctl", "--list-all").split() == ["fasttts"]
    other.unregisterService(MPRIS_NAME)
    other.unregisterService(APP_ID)
    QDBusConnection.disconnectFromBus("another instance")


def test_without_a_session_bus_the_window_works_as_before(qtbot, make_app, monkeypatch, tmp_path):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    app = make_app(FakeEngine(chunk_s=0.2, synth_s=0.01))
    assert app.window.media_controls.bus is None and app.window.media_controls.mpris_name == ""
    app.window.text_edit.setPlainText("Still speaks.")
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        app.window.speak()
