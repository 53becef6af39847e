"""The bench runs from an ordinary install: its inputs are package data, its command parses."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

from fasttts_desktop.bench import cli, inputs


def test_bench_inputs_are_package_data():
    ph = inputs.phonemes()
    assert len(ph["harvard"]) == 30 and len(ph["long"]) == 7
    assert all(len(item["phonemes"]) <= 510 for item in ph["harvard"] + ph["long"])
    assert "lighthouse" in inputs.data_text("long_text.txt")
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    shipped = pyproject["tool"]["setuptools"]["package-data"]["fasttts_desktop"]
    assert {"bench/phonemes.json", "bench/long_text.txt"} <= set(shipped)


def test_bench_options_follow_the_flags():
    import torch

    args = cli._parser().parse_args(["--layout", "nhwc", "--lstm", "persistent", "--dtype", "bf16"])
    opts = cli.options_from(args)
    assert opts.channels_last and opts.lstm == "persistent" and opts.dtype == torch.bfloat16
    assert opts.compile == "inductor" and opts.fp32_parts == ("source", "post")
    # the warm-start child is started with the same build
    child = cli._parser().parse_args(["--warm-child", *cli._option_args(args)])
    assert cli.options_from(child) == opts


@pytest.fixture
def fresh_kokoro():
    """kokoro imported anew inside the test; the session's own kokoro modules are back afterwards (the
    engine's vocoder classes must stay the ones kokoro_parts loaded)."""
    saved = {m: sys.modules.pop(m) for m in list(sys.modules) if m == "kokoro" or m.startswith("kokoro.")}
    yield
    for m in [m for m in sys.modules if m == "kokoro" or m.startswith("kokoro.")]:
        del sys.modules[m]
    sys.modules.update(saved)


def test_kokoro_model_imports_where_espeak_is_missing(monkeypatch, fresh_kokoro):
    # the GPU machine with app_latency's carried front end: misaki and spaCy, no phonemizer/espeak-ng,
    # so kokoro/__init__ -> pipeline -> `from misaki import espeak` would fail without the placeholder
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n: None if n == "phonemizer" else find_spec(n))
    monkeypatch.setitem(sys.modules, "phonemizer", None)  # `import phonemizer` raises ImportError
    inputs.kokoro_without_g2p()
    assert sys.modules["kokoro.pipeline"].KPipeline is None
    from kokoro.model import KModel

    assert KModel.__module__ == "kokoro.model"


def test_kokoro_pipeline_left_alone_where_the_g2p_loads(monkeypatch):
    monkeypatch.delitem(sys.modules, "kokoro.pipeline", raising=False)
    inputs.kokoro_without_g2p()
    assert "kokoro.pipeline" not in sys.modules


def test_warm_start_import_profile_stops_at_the_first_audio():
    """The warm-start child's `-X importtime` lines are read up to its first-audio mark, top-level imports
    only (a nested one counts inside its parent)."""
    import subprocess

    from fasttts_desktop.bench import warm

    code = f"import colorsys, sys; print({warm.FIRST_AUDIO_MARK!r}, file=sys.stderr); import graphlib"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    before = warm.imports_before_mark(proc.stderr, top=1000)
    assert "colorsys" in before and "graphlib" not in before
    assert "encodings.aliases" not in before and all(ms >= 0 for ms in before.values())


def test_a_warm_child_that_aborts_at_exit_is_reported(monkeypatch):
    """A child that printed its figures and then died at exit (a thread left in C++: SIGABRT) keeps its
    figures and says how it ended."""
    import subprocess

    from fasttts_desktop.bench import warm

    def died_at_exit(cmd, **kwargs):
        out, err = 'WARM {"first_audio_s": 1.5}\n', "terminate called without an active exception\n"
        return subprocess.CompletedProcess(cmd, -6, stdout=out, stderr=err)

    monkeypatch.setattr(warm.subprocess, "run", died_at_exit)
    got = warm._child_run([], [], [], "af_heart", 1.0)
    assert got["first_audio_s"] == 1.5 and got["exit_code"] == -6
    assert "terminate called" in got["exit_stderr_tail"]
