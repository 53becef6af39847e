"""How the window's text is read beyond voice and speed: File > Preferences (pauses, markup, dialogue voice),
a voice per chapter from the Chapters panel's context menu, and the Reading the engine gets for each text
(the service asks `reading_for` on every Speak and Export). Markup that will not be followed is named in the
window's banner when reading starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QTreeWidgetItem

from fasttts_desktop.engine.text.segments import Reading, plan
from fasttts_desktop.ui.preferences import PreferencesDialog, ReadingPrefs, load_prefs, save_prefs

if TYPE_CHECKING:
    from fasttts_desktop.ui.main_window import MainWindow

_OFFSET = Qt.ItemDataRole.UserRole
_VOICE = Qt.ItemDataRole.UserRole + 1


class ReadingOptions(QObject):
    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.prefs: ReadingPrefs = load_prefs(window.settings)
        self.chapter_voices: dict[int, str] = {}  # heading offset -> voice, for the open document
        self.dialog: PreferencesDialog | None = None
        self.action = QAction("&Preferences…", window)
        self.action.setObjectName("preferences-action")
        self.action.setShortcut(QKeySequence.StandardKey.Preferences)
        if self.action.shortcut().isEmpty():
            self.action.setShortcut(QKeySequence("Ctrl+,"))
        self.action.setStatusTip("Pauses after commas, sentences, paragraphs, headings and chapters; markup")
        self.action.triggered.connect(self.ask)
        window.addAction(self.action)
        file_menu = window.menuBar().actions()[0].menu()  # File (actions.py)
        if isinstance(file_menu, QMenu):
            file_menu.insertAction(window.commands.quit, self.action)
            file_menu.insertSeparator(window.commands.quit)
        tree = window.chapters.tree
        tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        tree.customContextMenuRequested.connect(self._chapter_menu)
        window.documents.opened.connect(lambda _opened: self._forget_chapter_voices())
        window.documents.closed.connect(self._forget_chapter_voices)
        window.service.busy_changed.connect(self._on_busy)
        window.service.reading_for = self.reading_for

    # --- preferences ---

    @Slot()
    def ask(self) -> PreferencesDialog:
        box = self.window.voice_box
        voices = [(box.itemText(i), str(box.itemData(i))) for i in range(box.count()) if box.itemData(i)]
        self.dialog = dialog = PreferencesDialog(self.prefs, voices, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.use(dialog.prefs))
        dialog.finished.connect(lambda _result: setattr(self, "dialog", None))
        dialog.open()
        return dialog

    def use(self, prefs: ReadingPrefs) -> None:
        """Keep `prefs` (from the next Speak or Export on)."""
        self.prefs = prefs
        save_prefs(self.window.settings, prefs)

    # --- voices per chapter ---

    @Slot(QPoint)
    def _chapter_menu(self, pos: QPoint) -> QMenu | None:
        tree = self.window.chapters.tree
        item = tree.itemAt(pos) or tree.currentItem()
        if item is None:
            return None
        menu = self.voice_menu(item)
        menu.popup(tree.viewport().mapToGlobal(pos))
        return menu

    def voice_menu(self, item: QTreeWidgetItem) -> QMenu:
        """The voices the chapter `item` (and its sections) can be read in: the window's, or any other."""
        menu = QMenu("Read This Chapter In", self.window.chapters.tree)
        menu.setObjectName("chapter-voice-menu")
        menu.setAccessibleName("Read this chapter in")
        current = self.chapter_voices.get(int(item.data(0, _OFFSET)), "")
        box = self.window.voice_box
        choices = [("The window's voice", "")]
        choices += [(box.itemText(i), str(box.itemData(i))) for i in range(box.count()) if box.itemData(i)]
        for label, voice in choices:
            action = menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(voice == current)
            action.triggered.connect(lambda _=False, v=voice, it=item: self.set_chapter_voice(it, v))
        return menu

    def set_chapter_voice(self, item: QTreeWidgetItem, voice: str) -> None:
        offset = int(item.data(0, _OFFSET))
        if voice:
            self.chapter_voices[offset] = voice
        else:
            self.chapter_voices.pop(offset, None)
        title = str(item.toolTip(0))
        item.setText(0, f"{title} — {voice}" if voice else title)
        item.setData(0, _VOICE, voice)
        item.setData(0, Qt.ItemDataRole.AccessibleDescriptionRole, f"Read in {voice}" if voice else "")

    def _forget_chapter_voices(self) -> None:
        self.chapter_voices.clear()

    # --- what the engine gets ---

    def reading_for(self, text: str) -> Reading:
        """The Reading for `text`: the preferences, and the open document's chapters when it is that text."""
        p = self.prefs
        opened = self.window.documents.current
        if opened is None or opened.text != text or not opened.document.headings:
            return Reading(p.markup, p.pauses, dialogue_voice=p.dialogue_voice)
        headings = opened.document.headings
        top = min(h.level for h in headings)
        voices = []
        for n, h in enumerate(headings):
            voice = self.chapter_voices.get(h.offset)
            if voice:
                later = [x.offset for x in headings[n + 1 :] if x.level <= h.level]
                voices.append((h.offset, later[0] if later else len(text), voice))
        # a section inside a chapter with its own voice keeps it: the later, narrower range wins
        voices.sort(key=lambda r: (r[0], -r[1]))
        return Reading(
            p.markup,
            p.pauses,
            chapters=tuple(h.offset for h in headings if h.level == top),
            headings=tuple(h.offset for h in headings if h.level != top),
            voices=tuple(voices),
            dialogue_voice=p.dialogue_voice,
        )

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        if not busy:
            return
        text = self.window.reader.snapshot()[0]
        if not text.strip():
            return
        planned = plan(text, self.reading_for(text))
        box = self.window.voice_box
        known = {str(box.itemData(i)) for i in range(box.count())}
        # blend specs ("a:60,b:40") are checked by the engine; a plain name not offered here is unknown
        unknown = sorted(
            {s.voice for s in planned.segments if s.voice and not set(s.voice) & set(":,+")} - known
        )
        notices = planned.notices + [
            f"Unknown voice {name!r}: read in {self.window.voice()}." for name in unknown
        ]
        more = f" (and {len(notices) - 1} more)" if len(notices) > 1 else ""
        self.window.set_notice("markup", notices[0] + more if notices else "")
