"""Import spaCy without its command-line package until something asks for one of its commands.

`import spacy` runs `from .cli.info import info`, which imports the whole of `spacy.cli`: every command
(download, train, init, project...), typer, weasel, httpx, requests, rich, jinja2, and a YAML file parsed
by pure-Python ruamel. That is ~0.27 s and ~18 MB of the English front end's load on a 2-core CPU, on the
path to the engine being ready, for code the reader never runs: misaki only calls `spacy.cli.download`
when the model package is missing, which `spacy_model.ensure_english_model` rules out first.

So `spacy.cli` and `spacy.cli.info` start as stand-ins in `sys.modules`. The first use of any name in
either (`spacy.cli.download`, `from spacy.cli import train`, `spacy.info()`) imports spaCy's real package
through the ordinary import system, puts it back in place of the stand-ins and answers from it: nothing
is lost, it only comes later. Submodules (`import spacy.cli.download`) import normally meanwhile.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
from pathlib import Path

_CLI, _INFO = "spacy.cli", "spacy.cli.info"
_lock = threading.RLock()


class _DeferredModule(types.ModuleType):
    """A stand-in for one of spaCy's CLI modules: unknown names come from the real one, imported then."""

    def __getattr__(self, name: str):
        if name.startswith("__"):  # import machinery probing (__file__, __loader__...): not a use
            raise AttributeError(name)
        return getattr(_real(self.__name__), name)


def _real(name: str) -> types.ModuleType:
    """The real module `name` (spacy.cli or spacy.cli.info), importing spaCy's CLI the first time."""
    with _lock:
        for stand_in in (_CLI, _INFO):
            if isinstance(sys.modules.get(stand_in), _DeferredModule):
                del sys.modules[stand_in]
        real_cli = importlib.import_module(_CLI)  # sets spacy.cli to the real package, imports .info
        spacy = sys.modules["spacy"]
        spacy.cli = real_cli  # type: ignore[attr-defined]
        return sys.modules[name]


def _info(*args, **kwargs):
    """spaCy's `spacy.info`, imported when first called."""
    return _real(_INFO).info(*args, **kwargs)


def import_spacy() -> types.ModuleType:
    """`import spacy`, with `spacy.cli` deferred as the docstring says when spaCy is not imported yet.

    Where spaCy's layout is not the one expected (no `cli/info.py`), it is imported as it is.
    """
    with _lock:
        if "spacy" not in sys.modules:
            _install_stand_ins()
        import spacy

        if isinstance(sys.modules.get(_CLI), _DeferredModule) and not hasattr(spacy, "cli"):
            # found in sys.modules, the stand-in was never "loaded", so the import system did not set it
            spacy.cli = sys.modules[_CLI]  # type: ignore[attr-defined]
        return spacy


def _install_stand_ins() -> None:
    spec = importlib.util.find_spec("spacy")  # finds the package without running its __init__
    locations = spec.submodule_search_locations if spec else None
    if not locations:
        return
    cli_dir = Path(next(iter(locations))) / "cli"
    if not (cli_dir / "info.py").is_file() or not (cli_dir / "__init__.py").is_file():
        return
    cli = _DeferredModule(_CLI, "spaCy's command-line package, imported on first use.")
    cli.__spec__ = importlib.machinery.ModuleSpec(_CLI, None, is_package=True)
    cli.__spec__.submodule_search_locations = [str(cli_dir)]
    cli.__path__ = [str(cli_dir)]
    cli.__package__ = _CLI
    info = _DeferredModule(_INFO, "spaCy's `info` command, imported on first use.")
    info.__spec__ = importlib.machinery.ModuleSpec(_INFO, None)
    info.__package__ = _CLI
    info.info = _info  # type: ignore[attr-defined]  # what `from .cli.info import info` binds as spacy.info
    sys.modules[_CLI], sys.modules[_INFO] = cli, info
