"""The app icon (resources/icon.svg) drawn at the hicolor theme's bitmap sizes, with QtSvg.

Menus and docks that pick a PNG by size (and icon caches that ignore SVG) get a sharp one at each size;
desktops that read SVG get the file itself under hicolor/scalable.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

SVG = Path(__file__).resolve().parent.parent / "resources" / "icon.svg"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def render_png(size: int, svg: Path = SVG) -> bytes:
    """The icon as a `size`x`size` PNG with a transparent background."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not an SVG image Qt can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(b"png"))
    if not writer.write(image):
        raise ValueError(f"Qt could not encode the icon as PNG: {writer.errorString()}")
    return bytes(data.data())
