"""The CPU backend's vocoder blocks compiled by Inductor (cpu/compiled.py), on the real weights: the same
durations and near-identical audio as eager, loaded from the cache by a fresh process, eager where no C++
compiler exists. Compiling the eight blocks takes minutes of both cores once per test cache
(FASTTTS_TEST_CACHE keeps it between runs)."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from audio_checks import log_mel_distance

from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend, bf16_is_fast
from fasttts_desktop.engine.synthesis.cpu.compiled import (
    ARTIFACT,
    MAX_UNFINISHED,
    BlockCompiler,
    CompiledBlock,
)
from fasttts_desktop.engine.synthesis.protocol import Request
from fasttts_desktop.engine.types import Cancelled

# "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background." (misaki)
PHONEMES = "ðə bˈɜɹʧ kənˈu slˈɪd ˌɔn ðə smˈuð plˈæŋks. ɡlˈu ðə ʃˈit tə ðə dˈɑɹk blˈu bˈækɡɹˌWnd."
SHORT = "hˈɛloʊ."

pytestmark = pytest.mark.skipif(
    not bf16_is_fast(), reason="the blocks are compiled where the vocoder runs bf16"
)


def _request(weights, phonemes=PHONEMES):
    from fasttts_desktop.engine.synthesis.config import kokoro_config

    return Request.from_phonemes(phonemes, weights.voices["jm_kumo"], 1.0, kokoro_config()["vocab"])


def _blocks(backend):
    gen = backend.model.decoder.generator
    return [*gen.resblocks, *gen.noise_res]


@pytest.fixture(scope="module")
def compiled_and_eager(weights):
    """One backend's output for two chunks, eager, then again with every block compiled (same seed)."""
    backend = CpuBackend(weights.state_dict, dtype=torch.bfloat16, compile_blocks=True)
    requests = [_request(weights), _request(weights, SHORT)]
    eager = []
    for req in requests:
        torch.manual_seed(0)
        eager.append(backend.infer(req))
    assert backend.wait_compiled(), backend.compiler.failure if backend.compiler else ""
    compiled = []
    for req in requests:
        torch.manual_seed(0)
        compiled.append(backend.infer(req))
    return backend, eager, compiled


@pytest.mark.slow
def test_compiled_blocks_keep_the_durations_and_the_sound(compiled_and_eager, weights):
    backend, eager, compiled = compiled_and_eager
    assert backend.compiled in ("compiled", "loaded")
    assert "(compiled)" in backend.description
    blocks = _blocks(backend)
    assert all(isinstance(b.forward, CompiledBlock) for b in blocks)
    assert sum(b.forward.misses for b in blocks) == 0  # both chunk lengths ran the compiled code
    for e, c in zip(eager, compiled, strict=True):
        np.testing.assert_array_equal(c.durations, e.durations)  # the text side is not compiled
        assert len(c.audio) == len(e.audio)
        assert not np.array_equal(c.audio, e.audio)  # the compiled code really ran (it rounds differently)
        # bf16 rounding of fused loops: measured ~0.027, where another noise seed moves eager by ~0.09
        assert log_mel_distance(c.audio, e.audio) < 0.05
    # another noise seed moves the compiled path as far as it moves eager: no systematic change
    torch.manual_seed(1)
    other_seed = backend.infer(_request(weights))
    assert log_mel_distance(other_seed.audio, compiled[0].audio) > 2 * log_mel_distance(
        compiled[0].audio, eager[0].audio
    )


@pytest.mark.slow
def test_stop_is_still_polled_inside_the_compiled_vocoder(compiled_and_eager, weights):
    backend = compiled_and_eager[0]
    stop_at = 12  # past the decoder's blocks: a poll after a compiled vocoder block
    polls = []

    def cancel():
        polls.append(len(polls) >= stop_at)
        return polls[-1]

    with pytest.raises(Cancelled):
        backend.infer(_request(weights), cancel)
    assert len(polls) == stop_at + 1  # the blocks' cancel hooks run around the compiled code


@pytest.mark.slow
def test_a_fresh_process_loads_the_saved_blocks(compiled_and_eager):
    child = textwrap.dedent(
        """
        import torch
        from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend
        from fasttts_desktop.engine.weights.store import load_weights

        backend = CpuBackend(weights=load_weights(use_hub=False, defer=True), compile_blocks=True)
        print(backend.wait_compiled(), backend.compiled, backend.compiler.failure)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=600, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[:2] == ["True", "loaded"], out.stdout + out.stderr[-2000:]


def test_without_a_compiler_the_blocks_stay_eager_with_one_line(weights, monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no g++ / c++ here
    monkeypatch.setenv("CXX", "no-such-compiler")
    backend = CpuBackend(weights.state_dict, dtype=torch.bfloat16, compile_blocks=True)
    with caplog.at_level(logging.INFO, logger="fasttts_desktop.engine.synthesis.cpu.compiled"):
        assert backend.wait_compiled() is False
    assert backend.compiled == "eager"
    assert "no C++ compiler" in backend.compiler.failure
    lines = [r for r in caplog.records if r.name.endswith("cpu.compiled")]
    assert len(lines) == 1 and "stays eager" in lines[0].getMessage()
    result = backend.infer(_request(weights, SHORT))
    assert len(result.audio) > 0 and not any(isinstance(b.forward, CompiledBlock) for b in _blocks(backend))


@pytest.fixture(scope="module")
def plain_backend(weights):
    return CpuBackend(weights.state_dict, dtype=torch.bfloat16, compile_blocks=False)


def test_a_load_that_never_finished_is_not_tried_again(plain_backend, monkeypatch, tmp_path):
    from fasttts_desktop.engine.synthesis.cuda.cache import CompileCache

    monkeypatch.setenv("FASTTTS_COMPILE_CACHE", str(tmp_path))
    compiler = BlockCompiler(plain_backend.model, torch.bfloat16)
    key = compiler._key(0, compiler.blocks[0])  # the entry a crashed launch left
    cache = CompileCache(tmp_path)
    cache.store(key, ARTIFACT, lambda path: path.write_bytes(b"not a compiled function"))
    cache.mark(key, "loading")  # marked before the load, never marked done: the process died in it
    assert compiler.wait() is False
    assert "did not finish" in compiler.failure and compiler.kind == "eager"
    assert not any(isinstance(b.forward, CompiledBlock) for b in compiler.blocks)


def test_an_ordinary_exit_during_a_load_is_not_taken_for_a_crash(plain_backend, monkeypatch, tmp_path):
    from fasttts_desktop.engine.synthesis.cpu import compiled
    from fasttts_desktop.engine.synthesis.cuda.cache import CompileCache

    monkeypatch.setenv("FASTTTS_COMPILE_CACHE", str(tmp_path))
    compiler = BlockCompiler(plain_backend.model, torch.bfloat16)
    key = compiler._key(0, compiler.blocks[0])
    cache = CompileCache(tmp_path)
    cache.store(key, ARTIFACT, lambda path: path.write_bytes(b"not a compiled function"))
    at_exit = []
    monkeypatch.setattr(compiled.atexit, "register", lambda fn, *args: at_exit.append((fn, args)))
    assert compiler._load(cache, key) is None  # unusable: removed, to be compiled again
    assert at_exit == [(compiled._interrupted_load, (cache, key))]  # what a normal exit runs
    cache.store(key, ARTIFACT, lambda path: path.write_bytes(b"x"))
    cache.mark(key, "loading")  # the app closed while the load ran
    compiled._interrupted_load(cache, key)
    assert cache.loads(key) == "interrupted"  # tried again on the next launch, not given up on


def test_compiles_that_ended_the_process_twice_are_not_tried_again(plain_backend, monkeypatch, tmp_path):
    monkeypatch.setenv("FASTTTS_COMPILE_CACHE", str(tmp_path))
    (tmp_path / "cpu-compile-unfinished").write_text(str(MAX_UNFINISHED))  # two launches died compiling
    compiler = BlockCompiler(plain_backend.model, torch.bfloat16)
    assert compiler.wait() is False
    assert "ended the process" in compiler.failure and compiler.ready == 0
    assert not list(tmp_path.glob("cpu-block*"))  # nothing compiled, nothing stored
    assert (tmp_path / "cpu-compile-unfinished").read_text() == str(MAX_UNFINISHED)


def test_backends_compile_only_when_asked_and_where_the_vocoder_is_bf16(weights, monkeypatch):
    monkeypatch.delenv("FASTTTS_CPU_COMPILE")  # as in the app (the test run sets it to 0: conftest)
    off = CpuBackend(weights.state_dict, dtype=torch.bfloat16)
    assert off.compiler is None and off.wait_compiled() is False and off.compiled == "eager"
    monkeypatch.setenv("FASTTTS_CPU_COMPILE", "1")
    on = CpuBackend(weights.state_dict, dtype=torch.bfloat16)
    assert on.compiler is not None and not on.compiler.running  # nothing starts before the first chunk
    assert CpuBackend(weights.state_dict, dtype=torch.float32).compiler is None  # measured on bf16 only
