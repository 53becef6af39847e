"""Opening a 1,000-page book in the window (offscreen): time until it is shown, and the longest the GUI
thread stood still meanwhile (what a user sees as a freeze).

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_reader_open.py [BOOK ...]

Books default to those scripts/bench_documents.py writes in /tmp/fasttts-books. One line per book: the
open time (File > Open to text and chapters shown, painted), the parse in the pool thread, and the longest
gap between 5 ms timer ticks on the GUI thread during the open. Not a CI test: timings never decide a pass.
"""

from __future__ import annotations

import itertools
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(paths: list[str]) -> None:
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from fasttts_desktop.ui.main_window import MainWindow
    from fasttts_desktop.ui.positions import PositionStore
    from fasttts_desktop.worker.speech import SpeechService

    books = [Path(p) for p in paths] or sorted(Path("/tmp/fasttts-books").glob("book.*"))
    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="reader-open-"))
    window = MainWindow(
        SpeechService(lambda _progress: None),
        QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat),
        positions=PositionStore(folder / "positions.json"),
    )
    window.show()
    print(
        f"# {platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
        f"load {os.getloadavg()[0]:.2f}"
    )
    for book in books:
        ticks: list[float] = []
        timer = QTimer(interval=5)
        timer.timeout.connect(lambda ticks=ticks: ticks.append(time.perf_counter()))
        loop = QEventLoop()
        window.documents.opened.connect(loop.quit)
        window.documents.failed.connect(loop.quit)
        timer.start()
        t0 = time.perf_counter()
        ticks.append(t0)
        window.open_path(str(book))
        loop.exec()
        window.repaint()  # painted, not only set
        shown = time.perf_counter() - t0
        app.processEvents()
        ticks.append(time.perf_counter())
        timer.stop()
        window.documents.opened.disconnect(loop.quit)
        window.documents.failed.disconnect(loop.quit)
        opened = window.documents.current
        stall = max(b - a for a, b in itertools.pairwise(ticks))
        size = len(opened.text) if opened else 0
        print(
            f"{book.name:<10} {book.stat().st_size / 1e6:5.1f} MB file, {size / 1e6:4.2f} M characters: "
            f"shown after {shown:.2f} s (parse+index+hash in the pool "
            f"{opened.seconds if opened else 0:.2f} s), longest GUI stall {stall * 1000:.0f} ms"
        )
    window.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
