"""The real engine on CPU, loaded once per test run (conftest's `engine` fixture when it has one)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def real_engine(request):
    try:
        return request.getfixturevalue("engine")
    except pytest.FixtureLookupError:
        from fasttts_desktop.engine import Engine

        return Engine.load(device="cpu")
