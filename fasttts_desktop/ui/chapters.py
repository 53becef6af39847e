"""The chapters (EPUB) or headings (Markdown, HTML) of the open document: a side panel to jump from, with
the chapter being read marked, and the same list's top level under Playback > Go to Chapter.
"""

from __future__ import annotations

from bisect import bisect_right

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QDockWidget, QMenu, QStyle, QTreeWidget, QTreeWidgetItem, QWidget

_OFFSET = Qt.ItemDataRole.UserRole
MENU_LIMIT = 40  # chapters listed in the menu; the panel lists them all


def heading_at(headings, offset: int):
    """The last heading at or before `offset`, or None."""
    starts = [h.offset for h in headings]
    i = bisect_right(starts, offset) - 1
    return headings[i] if i >= 0 else None


class ChaptersPanel(QDockWidget):
    chosen = Signal(int)  # the character offset of the chapter picked

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Chapters", parent, objectName="chapters")
        self.setAccessibleName("Chapters")
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetMovable
        )
        self.tree = QTreeWidget(objectName="chapters-list")
        self.tree.setHeaderHidden(True)
        self.tree.setAccessibleName("Chapters")
        self.tree.setAccessibleDescription(
            "Press Enter or double-click a chapter to read from it; its context menu (the Menu key) sets "
            "the voice it is read in"
        )
        # Enter or double-click; a single click too, where the style does not already make that activate.
        self.tree.itemActivated.connect(self._activated)
        if not self.tree.style().styleHint(QStyle.StyleHint.SH_ItemView_ActivateItemOnSingleClick):
            self.tree.itemClicked.connect(self._activated)
        self.setWidget(self.tree)
        self._headings: tuple = ()
        self._items: list[QTreeWidgetItem] = []

    @property
    def headings(self) -> tuple:
        return self._headings

    def set_headings(self, headings) -> None:
        self._headings = tuple(headings)
        self.tree.clear()
        self._items = []
        parents: list[tuple[int, QTreeWidgetItem]] = []  # (level, item) of the open branches
        for heading in self._headings:
            while parents and parents[-1][0] >= heading.level:
                parents.pop()
            item = QTreeWidgetItem([heading.title])
            item.setData(0, _OFFSET, heading.offset)
            item.setToolTip(0, heading.title)
            if parents:
                parents[-1][1].addChild(item)
            else:
                self.tree.addTopLevelItem(item)
            parents.append((heading.level, item))
            self._items.append(item)
        self.tree.setRootIsDecorated(any(item.childCount() for item in self._items))
        self.tree.expandAll()

    def mark(self, offset: int) -> None:
        """Select the chapter holding `offset` (where the reading is) without jumping to it."""
        heading = heading_at(self._headings, offset)
        if heading is None:
            self.tree.clearSelection()
            return
        item = self._items[self._headings.index(heading)]
        if self.tree.currentItem() is not item:
            self.tree.blockSignals(True)
            self.tree.setCurrentItem(item)
            self.tree.blockSignals(False)
            self.tree.scrollToItem(item)

    def fill_menu(self, menu: QMenu) -> None:
        menu.clear()
        if not self._headings:
            menu.addAction("(no chapters)").setEnabled(False)
            return
        top = min(h.level for h in self._headings)
        shown = [h for h in self._headings if h.level == top]
        for heading in shown[:MENU_LIMIT]:
            action = menu.addAction(heading.title)
            action.triggered.connect(lambda _=False, offset=heading.offset: self.chosen.emit(offset))
        if len(shown) > MENU_LIMIT:
            menu.addAction(f"… {len(shown) - MENU_LIMIT} more in the Chapters panel").setEnabled(False)

    @Slot(QTreeWidgetItem, int)
    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        self.chosen.emit(int(item.data(0, _OFFSET)))
