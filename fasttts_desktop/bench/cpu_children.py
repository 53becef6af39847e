"""The fresh processes of `bench --cpu`: start-up, window and memory (each prints one JSON line of marks),
and the hogs that load the machine for the contention figures.

cpu_probes.py runs them as `python -m fasttts_desktop.bench.cpu_children startup | window |
memory LONG_TEXT | hog busy|torch`: a fresh interpreter is the point, so that imports, weight loading and
peak memory are the app's own.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

_T0 = time.time()  # as soon as this module runs: the interpreter's own start-up is before it


def _engine():
    from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

    configure_process()
    from fasttts_desktop.engine import Engine

    return Engine.load(device="cpu", use_hub=False)


def startup() -> dict:
    marks: dict = {"python": _T0}
    engine = _engine()
    marks["ready"] = time.time()
    next(iter(engine.stream("Hello there.")))
    marks["first_audio"] = time.time()
    marks["description"] = engine.description
    return marks


def window() -> dict:
    marks: dict = {"python": _T0}
    from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

    configure_process()
    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    from fasttts_desktop.ui.app import create_window, engine_loader, parse_args

    app = QApplication([sys.argv[0]])
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "bench.ini"), QSettings.Format.IniFormat)  # noqa: PTH118
    window = create_window(engine_loader(parse_args(["--device", "cpu", "--offline"])), settings)
    window.show()
    app.processEvents()
    marks["shown"] = time.time()
    marks["torch_before_shown"] = "torch" in sys.modules
    # On a real display (xcb) the window is on screen once the X server exposes it: wait for that
    deadline = time.time() + 30
    while not (window.windowHandle() and window.windowHandle().isExposed()) and time.time() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    marks["exposed"] = time.time()

    def ready(info) -> None:
        marks["ready"] = time.time()
        marks["status"] = info.description
        app.quit()

    def failed(message: str) -> None:
        marks["failed"] = message
        app.quit()

    window.service.ready.connect(ready)
    window.service.load_failed.connect(failed)
    app.exec()
    window.service.shutdown()
    return marks


def _status_mb(field: str) -> float:
    with Path("/proc/self/status").open() as f:
        return int(next(line for line in f if line.startswith(field)).split()[1]) / 1024


def memory(long_text: str) -> dict:
    engine = _engine()
    # VmHWM, not getrusage's ru_maxrss: that one keeps the high-water mark of the parent (the bench itself)
    out = {"loaded_rss_mb": _status_mb("VmRSS:")}
    for _ in engine.stream("The birch canoe slid on the smooth planks."):
        pass
    out["short_peak_mb"] = _status_mb("VmHWM:")
    text = Path(long_text).read_text(encoding="utf-8")
    for n in (1, 2):
        for _ in engine.stream(text):
            pass
        out[f"after_long_{n}_rss_mb"] = _status_mb("VmRSS:")
        out[f"after_long_{n}_peak_mb"] = _status_mb("VmHWM:")
    return out


def hog(kind: str) -> None:
    """Other work on the machine until killed: a busy loop, or PyTorch matrix work on every core."""
    if kind == "busy":
        while True:
            pass
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    a = torch.randn(768, 768)
    while True:
        a = torch.tanh(a @ a)


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "hog":
        hog(sys.argv[2])
    result = {"startup": startup, "window": window}[what]() if what != "memory" else memory(sys.argv[2])
    print(json.dumps(result), flush=True)
    os._exit(0)  # the window's threads (engine, audio) need not wind down for a measurement
