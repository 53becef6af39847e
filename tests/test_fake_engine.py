"""The fake engine the window and worker tests run on has the real Engine's interface.

The worker and the window call the engine only through its public methods and properties; a fake that
drifts from them (a parameter renamed, added or dropped) would let those tests pass against calls the real
engine refuses. Compared: every public name of Engine but `load` (the fake is built directly), and for
methods their parameters (names, kinds, defaults; annotations are the real engine's business).
"""

from __future__ import annotations

import inspect
import re

import pytest

from fasttts_desktop.engine.engine import Engine
from tests.fake_engine import FakeEngine

_BUILT_BY_ITSELF = {"load"}  # Engine.load resolves weights and builds the model; FakeEngine() is the fake's
_NO_MODEL = {"backend"}  # the model itself: the fake makes tones without one


def _public(cls: type) -> list[str]:
    return sorted(n for n in dir(cls) if not n.startswith("_") and n not in _BUILT_BY_ITSELF)


def _parameters(fn) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_fake_has_every_public_name_of_the_engine():
    fake = FakeEngine()
    missing = [n for n in _public(Engine) if not hasattr(fake, n)]
    assert not missing, f"FakeEngine lacks {missing}"


def test_fake_has_the_engines_public_attributes():
    # what Engine.__init__ sets on the instance (notice, default_voice, weights_source, ...)
    names = set(re.findall(r"\bself\.([a-z]\w*)(?:: [^=]+)? = ", inspect.getsource(Engine.__init__)))
    assert {"notice", "default_voice", "weights_source"} <= names  # the pattern still finds them
    missing = sorted(n for n in names - _NO_MODEL if not hasattr(FakeEngine(), n))
    assert not missing, f"FakeEngine lacks {missing}"


@pytest.mark.parametrize("name", [n for n in _public(Engine) if inspect.isfunction(getattr(Engine, n))])
def test_fake_method_takes_the_engines_parameters(name):
    real, fake = getattr(Engine, name), getattr(FakeEngine, name, None)
    assert callable(fake), f"FakeEngine.{name} is not a method"
    assert _parameters(fake) == _parameters(real), (
        f"FakeEngine.{name}{inspect.signature(fake)} != {inspect.signature(real)}"
    )


@pytest.mark.parametrize("name", [n for n in _public(Engine) if isinstance(getattr(Engine, n), property)])
def test_fake_property_is_not_a_method(name):
    # the engine's properties are read as values (engine.voices, engine.export_batch), never called
    assert not inspect.isfunction(getattr(FakeEngine, name))
