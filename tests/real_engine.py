"""The real engine on CPU, loaded once per test run (conftest's `engine` fixture when it has one)."""

from __future__ import annotations

import pytest

_loaded = []  # fixtures imported into several modules are separate definitions: share one engine


@pytest.fixture(scope="session")
def real_engine(request):
    if not _loaded:
        try:
            _loaded.append(request.getfixturevalue("engine"))
        except pytest.FixtureLookupError:
            from fasttts_desktop.engine import Engine

            _loaded.append(Engine.load(device="cpu"))
    return _loaded[0]
