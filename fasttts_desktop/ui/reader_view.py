"""The text box that doubles as the reader: highlights what is heard, keeps it in view, takes dropped files.

Highlights are ExtraSelections (they never touch the user's cursor or the undo history). Following
scrolls only when the heard word leaves the view; any scrolling or cursor move by the user stops it until
the window turns it back on (Speak, Resume, View > Follow along). The box also notes whether the user put
the cursor somewhere (a click or a key, not typing), which is what "read from here" starts from.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, Qt, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QMenu, QPlainTextEdit, QTextEdit, QWidget

from fasttts_desktop.ui.navigation import QtPositions

SENTENCE_COLOUR = QColor("#fff3c4")  # soft: where the reading is
WORD_COLOUR = QColor("#ffc94d")  # strong: the word at the speaker
_WORD_TEXT = QColor("#1a1a1a")  # the word stays dark on its highlight whatever the theme's text colour
# When the heard word leaves the view it is brought back this far down, so the next lines show below it.
_FOLLOW_FROM_TOP = 1 / 3


def local_files(mime: QMimeData) -> list[str]:
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []


class ReaderEdit(QPlainTextEdit):
    files_dropped = Signal(list)  # local paths dropped onto the box
    following_changed = Signal(bool)  # False also when the user scrolled or moved the cursor away
    read_here = Signal(int)  # "Read from Here" chosen in the context menu, at this code-point offset

    def __init__(self, parent: QWidget | None = None, **kwargs):
        super().__init__(parent, **kwargs)
        self._positions = QtPositions("")
        self._following = False
        self._scrolling = False  # a scroll of our own is under way: not the user's
        self._moving_cursor = False
        self._revision = self.document().revision()
        self.cursor_placed = False  # the user put the cursor somewhere since `forget_cursor`
        self._sentence: tuple[int, int] | None = None
        self._word: tuple[int, int] | None = None
        self.cursorPositionChanged.connect(self._cursor_moved)
        self.verticalScrollBar().actionTriggered.connect(self._user_scrolled)

    # --- text and positions ---

    def set_text(self, text: str, headings=()) -> None:
        """Replace the text (a new document), its headings' lines set in bold; highlights and the placed
        cursor go with the old text.
        """
        self.clear_reading()
        self._moving_cursor = True
        try:
            self.setPlainText(text)
            self.use_positions(text)
            self._embolden(headings)
        finally:
            self._moving_cursor = False
        self.forget_cursor()

    def _embolden(self, headings) -> None:
        if not headings:
            return
        document = self.document()
        document.setUndoRedoEnabled(False)  # formatting is not an edit the user could undo
        fmt = QTextCharFormat()
        fmt.setFontWeight(QFont.Weight.Bold)
        for heading in headings:
            block = document.findBlock(self._qt(heading.offset))
            cursor = QTextCursor(block)
            cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeCharFormat(fmt)
        document.setUndoRedoEnabled(True)

    def use_positions(self, text: str) -> None:
        """Offsets given to this box from now on are code-point offsets into `text`."""
        self._positions = QtPositions(text)

    def cursor_offset(self) -> int:
        """Where "read from here" starts: the selection's start, else the cursor (code points)."""
        return self._positions.from_qt(self.textCursor().selectionStart())

    def forget_cursor(self) -> None:
        self.cursor_placed = False

    def move_cursor_to(self, offset: int) -> None:
        """Put the caret at `offset` without it counting as placed by the user."""
        cursor = self.textCursor()
        cursor.setPosition(self._qt(offset))
        self._moving_cursor = True
        try:
            self.setTextCursor(cursor)
        finally:
            self._moving_cursor = False

    @Slot()
    def _cursor_moved(self) -> None:
        revision = self.document().revision()
        typed = revision != self._revision  # the text changed: the cursor moved because of typing
        self._revision = revision
        if self._moving_cursor or typed:
            return
        self.cursor_placed = True
        self.set_following(False)

    # --- what is being read ---

    def show_reading(self, sentence: tuple[int, int] | None, word: tuple[int, int] | None) -> None:
        """Highlight the sentence softly and the word strongly (code-point spans); None leaves it out."""
        if (sentence, word) == (self._sentence, self._word):
            return
        self._sentence, self._word = sentence, word
        selections = []
        if sentence is not None:
            # dark text on the light highlight whatever the theme's text colour (light in a dark theme)
            selections.append(self._selection(sentence, SENTENCE_COLOUR, _WORD_TEXT))
        if word is not None:
            selections.append(self._selection(word, WORD_COLOUR, _WORD_TEXT))
        self.setExtraSelections(selections)

    def clear_reading(self) -> None:
        self.show_reading(None, None)

    @property
    def highlighted_word(self) -> tuple[int, int] | None:
        return self._word

    @property
    def highlighted_sentence(self) -> tuple[int, int] | None:
        return self._sentence

    def _selection(self, span: tuple[int, int], background: QColor, foreground: QColor | None):
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._qt(span[0]))
        cursor.setPosition(self._qt(span[1]), QTextCursor.MoveMode.KeepAnchor)
        fmt = QTextCharFormat()
        fmt.setBackground(background)
        if foreground is not None:
            fmt.setForeground(foreground)
        selection.cursor, selection.format = cursor, fmt
        return selection

    # --- following ---

    @property
    def following(self) -> bool:
        return self._following

    def set_following(self, on: bool) -> None:
        if on != self._following:
            self._following = on
            self.following_changed.emit(on)

    def is_visible(self, offset: int) -> bool:
        line = self._line_of(offset)
        top = self.verticalScrollBar().value()
        return top <= line < top + self._visible_lines()

    def keep_visible(self, offset: int, from_top: float = _FOLLOW_FROM_TOP) -> None:
        """Scroll (only if needed) so that `offset` shows, `from_top` of the way down the view."""
        if self.is_visible(offset):
            return
        self.scroll_to(offset, from_top)

    def scroll_to(self, offset: int, from_top: float = 0.0) -> None:
        bar = self.verticalScrollBar()
        self._scrolling = True
        try:
            bar.setValue(max(0, self._line_of(offset) - int(self._visible_lines() * from_top)))
        finally:
            self._scrolling = False

    def _line_of(self, offset: int) -> int:
        """The line `offset` is on, in the units of the vertical scroll bar (QPlainTextEdit scrolls by
        lines; a block not yet laid out counts as one line until it is).
        """
        position = self._qt(offset)
        block = self.document().findBlock(position)
        if not block.isValid():
            block = self.document().lastBlock()
        # blockBoundingRect lays the block out if it was not yet, so its wrapped lines are known.
        self.document().documentLayout().blockBoundingRect(block)
        line = block.layout().lineForTextPosition(position - block.position())
        return block.firstLineNumber() + (line.lineNumber() if line.isValid() else 0)

    def _visible_lines(self) -> int:
        return max(1, self.viewport().height() // max(1, self.fontMetrics().lineSpacing()))

    @Slot(int)
    def _user_scrolled(self, _action: int) -> None:
        # actionTriggered comes from the user only (wheel, scroll bar, drag), never from setValue.
        if not self._scrolling:
            self.set_following(False)

    # --- the context menu ---

    def context_menu(self, point: QPoint) -> QMenu:
        """The standard menu with "Read from Here" (the sentence under `point`, in viewport coordinates)
        first."""
        menu = self.createStandardContextMenu(point)
        offset = self._positions.from_qt(self.cursorForPosition(point).position())
        action = QAction("Read from &Here", menu)
        action.triggered.connect(lambda: self.read_here.emit(offset))
        if menu.actions():
            menu.insertAction(menu.actions()[0], action)
        else:
            menu.addAction(action)
        menu.insertSeparator(menu.actions()[1])
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu(event.pos())
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(event.globalPos())

    # --- dropped files ---

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        files = local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.files_dropped.emit(files)
        else:
            super().dropEvent(event)

    def set_reading_only(self, read_only: bool) -> None:
        """Read-only, but keeping a caret and keyboard selection, so "read from here" can still be chosen."""
        self.setReadOnly(read_only)
        if read_only:
            flags = Qt.TextInteractionFlag
            self.setTextInteractionFlags(flags.TextSelectableByMouse | flags.TextSelectableByKeyboard)

    def _qt(self, offset: int) -> int:
        return min(self._positions.to_qt(offset), max(0, self.document().characterCount() - 1))
