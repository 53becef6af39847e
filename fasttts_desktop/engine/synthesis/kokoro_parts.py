"""kokoro's vocoder modules (kokoro/istftnet.py) without running kokoro's package __init__.

`import kokoro.istftnet` first runs kokoro/__init__.py, which imports KModel (and with it transformers,
~4.7 s on a 2-core CPU) and KPipeline (misaki and spaCy, ~2 s). istftnet.py itself needs only torch and
kokoro/custom_stft.py. So the two files are loaded as the submodules they are, under their own names, and
registered in sys.modules: a later `import kokoro` (tests, the reference model) finds them there and uses
the very same classes. (Write `from kokoro.istftnet import X`: the package object, when it is imported later,
has no `istftnet` attribute, since the submodule was already loaded.)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

_lock = threading.Lock()


def istftnet() -> ModuleType:
    """kokoro.istftnet (Decoder, AdainResBlk1d, AdaIN1d, ...), importing no more of kokoro than it needs."""
    with _lock:
        if "kokoro.istftnet" in sys.modules:
            return sys.modules["kokoro.istftnet"]
        if "kokoro" in sys.modules:  # already paid for: the ordinary import
            return importlib.import_module("kokoro.istftnet")
        spec = importlib.util.find_spec("kokoro")  # finding a package does not run its __init__
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("kokoro is not installed: pip install kokoro==0.9.4")
        folder = Path(next(iter(spec.submodule_search_locations)))
        for name in ("custom_stft", "istftnet"):  # istftnet imports kokoro.custom_stft
            _load(f"kokoro.{name}", folder / f"{name}.py")
        return sys.modules["kokoro.istftnet"]


def _load(name: str, path: Path) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {name} from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
