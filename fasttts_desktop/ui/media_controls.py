"""The window on the session bus: MPRIS media controls and the app's D-Bus actions.

- org.mpris.MediaPlayer2(.Player) at /org/mpris/MediaPlayer2, as org.mpris.MediaPlayer2.fasttts (plus
  `.instance<pid>` for a second window): panels, lock screens, headset buttons and `playerctl` drive the
  reading. Play/Pause/PlayPause/Stop are the window's own; a track is a sentence, so Next/Previous skip one;
  Metadata holds the sentence being read (xesam:title) and the document's title (xesam:album and artist);
  Rate is the reading speed; Position is the audio heard since Play (there is no track length, so no seek).
- org.freedesktop.Application at /io/github/fasttts_desktop/FastTTS, as the app id: ActivateAction
  "speak-clipboard" or "speak-selection" (the primary selection where the platform has one: X11, Wayland),
  which a desktop's keyboard-shortcut settings can call with gdbus; Activate raises the window, Open opens
  a file.

QtDBus (part of PySide6-Essentials) rather than jeepney or dbus-fast: the calls arrive as slots on the GUI
thread, from Qt's own event loop, so they touch the window like a menu item does, with no second loop or
thread to bridge; and the adaptors' typed Qt properties give the exact D-Bus types MPRIS asks for (x for
Position, o for the track id). QtDBus does not announce property changes itself: PropertiesChanged is sent
here whenever what a client shows (status, metadata, rate) differs from what it was last told.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import ClassInfo, QEvent, QMetaType, QObject, QUrl, Signal, Slot
from PySide6.QtCore import Property as QtProperty
from PySide6.QtDBus import QDBusAbstractAdaptor, QDBusArgument, QDBusConnection, QDBusMessage, QDBusObjectPath

from fasttts_desktop.desktop import APP_ID
from fasttts_desktop.desktop.entry import MIME_TYPES
from fasttts_desktop.engine.types import MAX_SPEED, MIN_SPEED

if TYPE_CHECKING:  # main_window.py imports this module
    from fasttts_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

MPRIS_NAME = "org.mpris.MediaPlayer2.fasttts"
MPRIS_PATH = "/org/mpris/MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
APP_PATH = "/" + APP_ID.replace(".", "/")
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"
ACTIONS = ("speak-clipboard", "speak-selection")
_TITLE_CHARS = 300  # of a sentence shown as the track title; a panel shows far less


def session_bus() -> QDBusConnection | None:
    """A connection to the session bus named after its address (so a test's private bus is not confused
    with an earlier one); None where there is no session bus to connect to."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if not address and runtime and Path(runtime, "bus").exists():
        address = f"unix:path={Path(runtime, 'bus')}"  # where systemd's user bus is when none is named
    if not address:
        return None  # also keeps libdbus from autolaunching a bus of its own
    # By address, not BusType.SessionBus: libdbus reads the session address once per process.
    bus = QDBusConnection.connectToBus(address, f"fasttts-session {address}")
    return bus if bus.isConnected() else None


@ClassInfo({"D-Bus Interface": "org.mpris.MediaPlayer2"})
class _Root(QDBusAbstractAdaptor):
    def __init__(self, parent: QObject, controls: MediaControls):
        super().__init__(parent)
        self._c = controls

    @Slot()
    def Raise(self) -> None:
        self._c.window.clipboard_tray.show_window()

    @Slot()
    def Quit(self) -> None:
        self._c.window.close()

    CanQuit = QtProperty(bool, lambda _self: True)
    CanRaise = QtProperty(bool, lambda _self: True)
    HasTrackList = QtProperty(bool, lambda _self: False)
    Identity = QtProperty(str, lambda _self: "FastTTS")
    DesktopEntry = QtProperty(str, lambda _self: APP_ID)
    SupportedUriSchemes = QtProperty("QStringList", lambda _self: ["file"])
    SupportedMimeTypes = QtProperty("QStringList", lambda _self: list(MIME_TYPES))


@ClassInfo({"D-Bus Interface": PLAYER})
class _Player(QDBusAbstractAdaptor):
    Seeked = Signal("qlonglong")

    def __init__(self, parent: QObject, controls: MediaControls):
        super().__init__(parent)
        self._c = controls

    @Slot()
    def Play(self) -> None:
        self._c.play()

    @Slot()
    def Pause(self) -> None:
        self._c.window.service.pause()

    @Slot()
    def PlayPause(self) -> None:
        self._c.window.toggle_pause()

    @Slot()
    def Stop(self) -> None:
        self._c.window.stop()

    @Slot()
    def Next(self) -> None:
        self._c.window.reader.skip_sentences(1)

    @Slot()
    def Previous(self) -> None:
        self._c.window.reader.skip_sentences(-1)

    @Slot("qlonglong")
    def Seek(self, _offset_us: int) -> None:
        pass  # CanSeek is false: the spec says to ignore it

    @Slot(QDBusObjectPath, "qlonglong")
    def SetPosition(self, _track: QDBusObjectPath, _position_us: int) -> None:
        pass

    @Slot(str)
    def OpenUri(self, uri: str) -> None:
        self._c.open_uri(uri)

    def _rate(self) -> float:
        return self._c.window.speed()

    def _set_rate(self, rate: float) -> None:
        self._c.set_rate(rate)

    def _volume(self) -> float:
        return 1.0

    def _set_volume(self, _volume: float) -> None:
        pass  # the system's volume is the one to change

    PlaybackStatus = QtProperty(str, lambda self: self._c.status())
    Metadata = QtProperty("QVariantMap", lambda self: self._c.metadata())
    Position = QtProperty("qlonglong", lambda self: self._c.position_us())
    Rate = QtProperty(float, _rate, _set_rate)
    Volume = QtProperty(float, _volume, _set_volume)
    MinimumRate = QtProperty(float, lambda _self: MIN_SPEED)
    MaximumRate = QtProperty(float, lambda _self: MAX_SPEED)
    CanGoNext = QtProperty(bool, lambda _self: True)
    CanGoPrevious = QtProperty(bool, lambda _self: True)
    CanPlay = QtProperty(bool, lambda _self: True)
    CanPause = QtProperty(bool, lambda _self: True)
    CanSeek = QtProperty(bool, lambda _self: False)
    CanControl = QtProperty(bool, lambda _self: True)


@ClassInfo({"D-Bus Interface": "org.freedesktop.Application"})
class _Application(QDBusAbstractAdaptor):
    def __init__(self, parent: QObject, controls: MediaControls):
        super().__init__(parent)
        self._c = controls

    @Slot("QVariantMap")
    def Activate(self, _platform_data: dict) -> None:
        self._c.window.clipboard_tray.show_window()

    @Slot("QStringList", "QVariantMap")
    def Open(self, uris: list[str], _platform_data: dict) -> None:
        if uris:
            self._c.open_uri(uris[0])

    @Slot(str, "QVariantList", "QVariantMap")
    def ActivateAction(self, name: str, _parameter: list, _platform_data: dict) -> None:
        self._c.activate_action(name)


class MediaControls(QObject):
    """Registers the window on the session bus (if there is one) and keeps clients told of changes."""

    def __init__(self, window: MainWindow, bus: QDBusConnection | None = None):
        super().__init__(window)
        self.window = w = window
        self.bus = bus if bus is not None else session_bus()
        self.mpris_name = ""  # the bus names held; "" when not held
        self.app_name = ""
        self._sent: dict[str, Any] = {}
        if self.bus is None:
            log.info("no session bus: no media controls")
            return
        self._mpris = QObject(self)
        _Root(self._mpris, self)
        _Player(self._mpris, self)
        self._app = QObject(self)
        _Application(self._app, self)
        export = QDBusConnection.RegisterOption.ExportAdaptors
        if self.bus.registerObject(MPRIS_PATH, self._mpris, export):
            for name in (MPRIS_NAME, f"{MPRIS_NAME}.instance{os.getpid()}"):
                if self.bus.registerService(name):
                    self.mpris_name = name
                    break
        if self.bus.registerObject(APP_PATH, self._app, export) and self.bus.registerService(APP_ID):
            self.app_name = APP_ID  # else another FastTTS window answers the actions
        log.info("on the session bus as %s and %s", self.mpris_name or "-", self.app_name or "-")
        self._sent = self._shown()
        r, s = w.reader, w.service
        for signal in (r.position_changed, s.busy_changed, s.paused_changed, w.speed_box.valueChanged):
            signal.connect(self._announce)
        w.documents.opened.connect(self._announce)
        w.documents.closed.connect(self._announce)
        w.installEventFilter(self)

    # --- what clients read ---

    def status(self) -> str:
        s = self.window.service
        return "Stopped" if not s.busy else "Paused" if s.paused else "Playing"

    def metadata(self) -> dict[str, Any]:
        w = self.window
        text, index = w.reader.snapshot()
        if not len(index):
            return {"mpris:trackid": QDBusObjectPath(NO_TRACK)}
        number = index.at(w.reader.position)
        start, end = index.span(number)
        sentence = re.sub(r"\s+", " ", text[start:end]).strip()
        data: dict[str, Any] = {
            "mpris:trackid": QDBusObjectPath(f"{APP_PATH}/sentence/{number + 1}"),
            "xesam:title": sentence[:_TITLE_CHARS],
            "xesam:trackNumber": number + 1,
        }
        opened = w.documents.current
        if opened is not None:
            title = opened.document.title or Path(opened.path).name
            data["xesam:album"] = title
            data["xesam:artist"] = [title]
        return data

    def position_us(self) -> int:
        heard = self.window.service.heard()
        return round(heard.seconds * 1_000_000) if heard is not None else 0

    # --- what clients ask for ---

    def play(self) -> None:
        w = self.window
        if not w.service.busy or w.service.paused:  # Play never pauses: the window's one pause path otherwise
            w.toggle_pause()

    def set_rate(self, rate: float) -> None:
        if MIN_SPEED <= rate <= MAX_SPEED:  # the spec: a rate outside the range is ignored
            self.window.speed_box.setValue(rate)

    def open_uri(self, uri: str) -> None:
        url = QUrl(uri)
        if url.isLocalFile():
            self.window.open_path(url.toLocalFile())
        else:
            log.warning("D-Bus asked to open %r, which is not a local file: ignored", uri[:200])

    def activate_action(self, name: str) -> None:
        tray = self.window.clipboard_tray
        if name == "speak-clipboard":
            tray.speak_clipboard()
        elif name == "speak-selection":
            tray.speak_selection()
        else:
            log.warning("D-Bus asked for an unknown action %r (known: %s)", name[:100], ", ".join(ACTIONS))

    # --- telling clients ---

    def _shown(self) -> dict[str, Any]:
        return {"PlaybackStatus": self.status(), "Metadata": self.metadata(), "Rate": self.window.speed()}

    @Slot()
    def _announce(self) -> None:
        if self.bus is None or not self.mpris_name:
            return
        now = self._shown()
        changed = {k: v for k, v in now.items() if _comparable(v) != _comparable(self._sent.get(k))}
        if not changed:
            return
        self._sent = now
        message = QDBusMessage.createSignal(
            MPRIS_PATH, "org.freedesktop.DBus.Properties", "PropertiesChanged"
        )
        invalidated = QDBusArgument()  # an empty list must still be typed `as`, or GDBus clients drop it
        invalidated.beginArray(QMetaType(QMetaType.Type.QString))
        invalidated.endArray()
        message.setArguments([PLAYER, changed, invalidated])
        self.bus.send(message)

    def unregister(self) -> None:
        if self.bus is None:
            return
        for name in (self.mpris_name, self.app_name):
            if name:
                self.bus.unregisterService(name)
        self.bus.unregisterObject(MPRIS_PATH)
        self.bus.unregisterObject(APP_PATH)
        self.mpris_name = self.app_name = ""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.unregister()  # the names go with the window, not with the process
        return False


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, QDBusObjectPath):
        return value.path()
    return value
