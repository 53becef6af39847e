"""The window's commands as QActions with their keys, and the menu bar (File, Playback, Voice, View, Help)
built from them. Buttons elsewhere trigger these same actions, so a key, a menu item and a button never
differ.

Keys are window-wide: the text box would otherwise take Ctrl+Return as a newline. Alt+arrows move by
sentence and paragraph; the media keys work where the platform hands them to Qt (X11 does when the window
has the focus).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QStyle

_K = Qt.Key
_WINDOW = Qt.ShortcutContext.WindowShortcut


@dataclass
class Actions:
    open: QAction
    new_text: QAction
    export_audio: QAction
    clear_recent: QAction
    quit: QAction
    speak: QAction
    speak_clipboard: QAction
    pause: QAction
    pause_only: QAction  # the media Pause key: pauses, never resumes
    stop: QAction
    previous_sentence: QAction
    next_sentence: QAction
    previous_paragraph: QAction
    next_paragraph: QAction
    mix_voices: QAction  # Voice > Mix Voices…
    pronunciation: QAction  # Voice > Pronunciation…
    follow: QAction
    larger: QAction
    smaller: QAction
    about: QAction
    desktop_entry: QAction  # Help > Add to Applications Menu (or Remove…, as it stands)
    show_tray: QAction  # View > Show Tray Icon (checkable)
    show_window: QAction  # the tray's way back to the window
    recent_menu: QMenu
    output_menu: QMenu  # Playback > Output Device, filled when opened (devices come and go)
    chapters_menu: QMenu  # View > Chapters panel toggle lives in `view_menu`; this lists the chapters too
    view_menu: QMenu

    def all(self) -> list[QAction]:
        return [v for v in vars(self).values() if isinstance(v, QAction)]


def _action(
    window: QMainWindow, text: str, keys, tip: str, icon: QStyle.StandardPixmap | None = None
) -> QAction:
    action = QAction(text, window)
    sequences = [QKeySequence(k) for k in keys]
    action.setShortcuts(sequences)
    action.setShortcutContext(_WINDOW)
    shown = sequences[0].toString(QKeySequence.SequenceFormat.NativeText) if sequences else ""
    action.setToolTip(f"{tip} ({shown})" if shown else tip)
    action.setStatusTip(tip)
    if icon is not None:
        action.setIcon(window.style().standardIcon(icon))
    window.addAction(action)  # keys work even with the menu bar hidden
    return action


def build_actions(window: QMainWindow) -> Actions:
    px = QStyle.StandardPixmap
    a = Actions(
        open=_action(
            window,
            "&Open…",
            [QKeySequence.StandardKey.Open],
            "Open a document to read",
            px.SP_DialogOpenButton,
        ),
        new_text=_action(
            window, "&New Text", [QKeySequence.StandardKey.New], "Clear the box to type or paste text"
        ),
        export_audio=_action(
            window,
            "&Export Audio…",
            [QKeySequence.StandardKey.Save],
            "Save the text's speech as an audio file (WAV, FLAC, MP3, Ogg, Opus, M4B), with subtitles",
            px.SP_DialogSaveButton,
        ),
        clear_recent=QAction("&Clear Recent Files", window),
        quit=_action(window, "&Quit", [QKeySequence.StandardKey.Quit], "Quit FastTTS"),
        speak=_action(
            window,
            "&Speak",
            ["Ctrl+Return", "Ctrl+Enter"],
            "Read from the cursor or the last position",
            px.SP_MediaPlay,
        ),
        speak_clipboard=_action(
            window, "Speak &Clipboard", ["Ctrl+Shift+V"], "Read aloud the text on the clipboard"
        ),
        pause=_action(
            window,
            "&Pause",
            # X11 reports the usual Play/Pause key as MediaPlay, so that one toggles too.
            ["Ctrl+Space", _K.Key_MediaTogglePlayPause, _K.Key_MediaPlay],
            "Pause or resume reading",
            px.SP_MediaPause,
        ),
        pause_only=_action(window, "Pause", [_K.Key_MediaPause], "Pause reading"),
        stop=_action(window, "S&top", [_K.Key_Escape, _K.Key_MediaStop], "Stop reading", px.SP_MediaStop),
        previous_sentence=_action(
            window,
            "Previous Se&ntence",
            ["Alt+Left", _K.Key_MediaPrevious],
            "Go back one sentence",
            px.SP_MediaSeekBackward,
        ),
        next_sentence=_action(
            window,
            "Next S&entence",
            ["Alt+Right", _K.Key_MediaNext],
            "Skip to the next sentence",
            px.SP_MediaSeekForward,
        ),
        previous_paragraph=_action(
            window,
            "Previous P&aragraph",
            ["Alt+Up"],
            "Back to the start of the paragraph",
            px.SP_MediaSkipBackward,
        ),
        next_paragraph=_action(
            window, "Next Pa&ragraph", ["Alt+Down"], "Skip to the next paragraph", px.SP_MediaSkipForward
        ),
        mix_voices=_action(
            window, "&Mix Voices…", [], "Blend two or three voices, hear the mix, save it under a name"
        ),
        pronunciation=_action(
            window,
            "&Pronunciation…",
            [],
            "Say how words, names and abbreviations are read: respellings or phonemes",
        ),
        follow=_action(window, "&Follow Along", ["Ctrl+L"], "Keep the word being read in view"),
        larger=_action(
            window, "&Larger Text", [QKeySequence.StandardKey.ZoomIn, "Ctrl+="], "Make the text larger"
        ),
        smaller=_action(window, "S&maller Text", [QKeySequence.StandardKey.ZoomOut], "Make the text smaller"),
        about=_action(window, "&About FastTTS", [], "Version, engine, weights and licences"),
        desktop_entry=_action(
            window, "Add to &Applications Menu", [], "Put FastTTS in the desktop's menu, with its icon"
        ),
        show_tray=_action(
            window, "Show &Tray Icon", [], "Keep an icon in the system tray with the playback keys"
        ),
        show_window=QAction("&Show Window", window),
        recent_menu=QMenu("Open &Recent", window, objectName="recent-menu"),
        output_menu=QMenu("Output &Device", window, objectName="output-menu"),
        chapters_menu=QMenu("&Go to Chapter", window, objectName="chapters-menu"),
        view_menu=QMenu("&View", window),
    )
    a.show_tray.setCheckable(True)
    a.show_window.setToolTip("Bring the FastTTS window to the front")
    a.output_menu.setToolTipsVisible(True)
    a.follow.setCheckable(True)
    a.follow.setChecked(True)
    a.quit.setMenuRole(QAction.MenuRole.QuitRole)
    a.about.setMenuRole(QAction.MenuRole.AboutRole)

    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(a.open)
    file_menu.addMenu(a.recent_menu)
    file_menu.addAction(a.new_text)
    file_menu.addSeparator()
    file_menu.addAction(a.export_audio)
    file_menu.addSeparator()
    file_menu.addAction(a.quit)

    playback = bar.addMenu("&Playback")
    for action in (a.speak, a.speak_clipboard, a.pause, a.stop, None, a.previous_sentence, a.next_sentence):
        playback.addAction(action) if action else playback.addSeparator()
    for action in (a.previous_paragraph, a.next_paragraph, None):
        playback.addAction(action) if action else playback.addSeparator()
    playback.addMenu(a.chapters_menu)
    playback.addMenu(a.output_menu)

    voice_menu = bar.addMenu("V&oice")
    voice_menu.addAction(a.mix_voices)
    voice_menu.addAction(a.pronunciation)

    bar.addMenu(a.view_menu)
    for action in (a.follow, None, a.larger, a.smaller, None, a.show_tray):
        a.view_menu.addAction(action) if action else a.view_menu.addSeparator()

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(a.desktop_entry)
    help_menu.addAction(a.about)
    return a
