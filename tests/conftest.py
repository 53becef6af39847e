"""Shared fixtures: the real Kokoro weights, converted once per test run, and a KModel holding them.

The run gets its own app cache (FASTTTS_CACHE_DIR, also inherited by CLI subprocesses), so tests neither
touch nor depend on the user's ~/.cache, and everything that loads the offline weights after the first
conversion reads them back from there in seconds. Set FASTTTS_TEST_CACHE=/some/dir to keep that cache
between runs (a developer's loop); it is then never deleted.
FASTTTS_CONFIG_DIR points at an empty folder of the run's (no user blends or lexicon leak in).
FASTTTS_OFFLINE=1 keeps the app off the network; tests of the hub pass use_hub=True explicitly.
FASTTTS_CPU_COMPILE=0 keeps CPU backends eager; tests of the compiled blocks ask for them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_session_dirs: list[Path] = []


def pytest_configure(config):
    base = Path(tempfile.mkdtemp(prefix="fasttts-tests-"))
    _session_dirs.append(base)
    cache = os.environ.get("FASTTTS_TEST_CACHE") or str(base / "cache")
    os.environ["FASTTTS_CACHE_DIR"] = cache
    os.environ["FASTTTS_LOG_DIR"] = str(base / "log")
    os.environ["FASTTTS_CONFIG_DIR"] = str(base / "config")  # saved blends, the lexicon: never the user's
    os.environ["FASTTTS_OFFLINE"] = "1"
    # No CPU backend compiles its vocoder blocks in the background (minutes of both cores) unless a test
    # asks for it (tests/test_cpu_compiled.py)
    os.environ["FASTTTS_CPU_COMPILE"] = "0"
    # The window puts itself on the session bus (ui/media_controls.py): never on the user's; a test that
    # wants a bus gets its own (tests/dbus_session.py).
    os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)


def pytest_unconfigure(config):
    for path in _session_dirs:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def weights_cache_dir() -> Path:
    """The app cache this run uses (holds weights/<converted>.safetensors once `weights` has run)."""
    return Path(os.environ["FASTTTS_CACHE_DIR"])


@pytest.fixture(scope="session")
def weights(weights_cache_dir):
    """The offline default Weights (int8 ONNX converted to float32), as the app loads them. Do not mutate."""
    from fasttts_desktop.engine.weights.store import load_weights

    return load_weights(use_hub=False, cache_dir=weights_cache_dir)


@pytest.fixture(scope="session")
def kmodel(weights):
    """kokoro's own KModel (float32, CPU, eval, weight norm kept) with `weights`. Leave it as you found it."""
    from fasttts_desktop.engine.synthesis.model_build import build_kmodel

    return build_kmodel(weights.state_dict)


@pytest.fixture(scope="session")
def engine(weights):
    """The real Engine on CPU, offline, reading the run's already converted weights."""
    from fasttts_desktop.engine import Engine

    return Engine.load(device="cpu", use_hub=False)


@pytest.fixture(scope="session")
def cli_env(weights) -> dict[str, str]:
    """Environment for `python -m fasttts_desktop` subprocesses: this run's filled cache, offline."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env
