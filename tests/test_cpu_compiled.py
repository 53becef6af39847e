"""The CPU backend's vocoder blocks compiled ahead of time (cpu/compiled.py, cpu_compile_child.py), on the
real weights: the same durations and near-identical audio as eager, built by a child process at the lowest
priority that dies with the app, loaded by a fresh process without torch's Python compiler stack, eager
where no C++ compiler exists or the child fails. Compiling the eight blocks takes a few minutes of one core
once per test cache (FASTTTS_TEST_CACHE keeps it between runs)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from audio_checks import log_mel_distance

from fasttts_desktop.engine.cpu_compile_child import hold_lock
from fasttts_desktop.engine.synthesis.cpu import compiled
from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend, bf16_is_fast
from fasttts_desktop.engine.synthesis.cpu.compiled import BlockCompiler, CompiledBlock
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
    compiled_out = []
    for req in requests:
        torch.manual_seed(0)
        compiled_out.append(backend.infer(req))
    return backend, eager, compiled_out


@pytest.mark.slow
def test_compiled_blocks_keep_the_durations_and_the_sound(compiled_and_eager, weights):
    backend, eager, compiled_out = compiled_and_eager
    assert backend.compiled in ("compiled", "loaded")
    assert "(compiled)" in backend.description
    blocks = _blocks(backend)
    assert all(isinstance(b.forward, CompiledBlock) for b in blocks)
    assert sum(b.forward.misses for b in blocks) == 0  # both chunk lengths ran the compiled code
    for e, c in zip(eager, compiled_out, strict=True):
        np.testing.assert_array_equal(c.durations, e.durations)  # the text side is not compiled
        assert len(c.audio) == len(e.audio)
        assert not np.array_equal(c.audio, e.audio)  # the compiled code really ran (it rounds differently)
        # bf16 rounding of fused loops: measured ~0.027, where another noise seed moves eager by ~0.09
        assert log_mel_distance(c.audio, e.audio) < 0.05
    # another noise seed moves the compiled path as far as it moves eager: no systematic change
    torch.manual_seed(1)
    other_seed = backend.infer(_request(weights))
    assert log_mel_distance(other_seed.audio, compiled_out[0].audio) > 2 * log_mel_distance(
        compiled_out[0].audio, eager[0].audio
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
def test_inputs_the_packages_were_not_built_for_run_eager(compiled_and_eager):
    block = _blocks(compiled_and_eager[0])[0]
    forward = block.forward
    assert isinstance(forward, CompiledBlock)
    # shorter than the exported range
    x, table = compiled.example(block, compiled.MIN_FRAMES - 1, forward.width)
    misses = forward.misses
    with torch.inference_mode():
        out = block(x, table)
    assert forward.misses == misses + 1 and out.shape == x.shape


@pytest.mark.slow
def test_a_fresh_process_loads_the_packages_without_the_compiler_stack(compiled_and_eager):
    child = textwrap.dedent(
        """
        import sys
        from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend
        from fasttts_desktop.engine.weights.store import load_weights

        backend = CpuBackend(weights=load_weights(use_hub=False, defer=True), compile_blocks=True)
        ok = backend.wait_compiled()
        print(ok, backend.compiled, "torch._dynamo" in sys.modules, "torch._inductor" in sys.modules)
        print(backend.compiler.failure)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=600, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[:4] == ["True", "loaded", "False", "False"], out.stdout + out.stderr[-2000:]


@pytest.mark.slow
def test_say_exits_cleanly_while_the_packages_are_loading(compiled_and_eager, tmp_path):
    # `say` of one short chunk ends while the loader thread is inside torch's C++ package loader; a daemon
    # thread there when the interpreter finalizes took the process down with SIGABRT after the file was
    # written (every run on a bf16 CPU until BlockCompiler._close joined it at exit)
    env = dict(os.environ, FASTTTS_CPU_COMPILE="1")
    for n in range(3):
        wav = tmp_path / f"hello{n}.wav"
        out = subprocess.run(
            [sys.executable, "-m", "fasttts_desktop", "say", "Hello.", "-o", str(wav), "--device", "cpu"],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            check=False,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert "terminate called" not in out.stderr and wav.stat().st_size > 10_000


def test_without_a_compiler_the_blocks_stay_eager_with_one_line(weights, monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no g++ / c++ here
    monkeypatch.setenv("CXX", "no-such-compiler")
    monkeypatch.setenv("FASTTTS_COMPILE_CACHE", str(tmp_path))
    backend = CpuBackend(weights.state_dict, dtype=torch.bfloat16, compile_blocks=True)
    with caplog.at_level(logging.INFO, logger="fasttts_desktop.engine.synthesis.cpu.compiled"):
        assert backend.wait_compiled() is False
    assert backend.compiled == "eager" and backend.compiler.child is None
    assert "no C++ compiler" in backend.compiler.failure
    lines = [r for r in caplog.records if r.name.endswith("cpu.compiled")]
    assert len(lines) == 1 and "stays eager" in lines[0].getMessage()
    result = backend.infer(_request(weights, SHORT))
    assert len(result.audio) > 0 and not any(isinstance(b.forward, CompiledBlock) for b in _blocks(backend))


@pytest.fixture(scope="module")
def plain_backend(weights):
    return CpuBackend(weights.state_dict, dtype=torch.bfloat16, compile_blocks=False)


def test_a_load_that_never_finished_is_not_tried_again(plain_backend, monkeypatch, tmp_path):
    monkeypatch.setenv("FASTTTS_COMPILE_CACHE", str(tmp_path))
    compiler = BlockCompiler(plain_backend.model, torch.bfloat16)
    folder = compiler.folder
    folder.mkdir()
    (folder / compiled.package_name(0)).write_bytes(b"not a package")
    folder.with_name(folder.name + ".loading").touch()  # marked before the load, never cleared: a crash
    assert compiler.wait() is False
    assert "did not finish" in compiler.failure and compiler.kind == "eager"
    assert compiler.child is None  # nothing rebuilt either
    assert not any(isinstance(b.forward, CompiledBlock) for b in compiler.blocks)


def test_a_broken_package_is_removed_for_the_next_launch_to_rebuild(plain_backend, monkeypatch, tmp_path):
    monkeypatch.setenv("FASTTTS_COMPILE_CACHE", str(tmp_path))
    compiler = BlockCompiler(plain_backend.model, torch.bfloat16)
    folder = compiler.folder
    folder.mkdir()
    (folder / compiled.package_name(0)).write_bytes(b"not a package")
    assert compiler.wait() is False
    assert compiler.kind == "eager" and compiler.failure
    assert not folder.exists()  # never trusted again
    assert not folder.with_name(folder.name + ".loading").exists()  # a failed load is no crash


def test_a_failed_compile_is_one_line_and_not_started_again(plain_backend, monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("FASTTTS_COMPILE_CACHE", str(tmp_path))
    # the child checks the app's digest against its own model's: a wrong one fails it in seconds
    monkeypatch.setattr(compiled, "digest", lambda *_args: "0" * 20)
    compiler = BlockCompiler(plain_backend.model, torch.bfloat16)
    with caplog.at_level(logging.INFO, logger="fasttts_desktop.engine.synthesis.cpu.compiled"):
        assert compiler.wait() is False
    assert compiler.child is not None and compiler.child.returncode == 2
    assert "not the app's" in compiler.failure and compiler.kind == "eager"
    lines = [r.getMessage() for r in caplog.records if r.name.endswith("cpu.compiled")]
    assert len(lines) == 1 and "stays eager" in lines[0]
    assert (tmp_path / f"cpu-aoti-{'0' * 20}.failed").is_file()
    again = BlockCompiler(plain_backend.model, torch.bfloat16)
    assert again.wait() is False
    assert again.child is None and "earlier compile failed" in again.failure


def test_a_second_compile_does_not_start_while_one_runs(plain_backend, monkeypatch, tmp_path):
    monkeypatch.setenv("FASTTTS_COMPILE_CACHE", str(tmp_path))
    lock = hold_lock(compiled.lock_path(tmp_path))  # what a running child holds
    assert lock is not None
    try:
        compiler = BlockCompiler(plain_backend.model, torch.bfloat16)
        assert compiler.wait() is False
    finally:
        lock.close()
    assert "another launch is compiling" in compiler.failure
    assert not list(tmp_path.glob("*.failed"))  # a busy lock is no failure: a later launch compiles


def _app_that_compiles(tmp_path: Path, then: str = "") -> subprocess.Popen:
    """An app process whose first chunk starts the compile child; it prints the child's pid, then runs
    `then` (code) and waits."""
    app = textwrap.dedent(
        """
        import time
        import torch
        from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend
        from fasttts_desktop.engine.weights.store import load_weights

        backend = CpuBackend(weights=load_weights(use_hub=False, defer=True), compile_blocks=True)
        backend.compiler.start()
        while backend.compiler.child is None and backend.compiler.running:
            time.sleep(0.05)
        print(backend.compiler.child.pid if backend.compiler.child else backend.compiler.failure, flush=True)
        THEN
        time.sleep(600)
        """
    ).replace("THEN", then)
    env = {**os.environ, "FASTTTS_COMPILE_CACHE": str(tmp_path)}
    return subprocess.Popen(
        [sys.executable, "-c", app],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _tell(app: subprocess.Popen, text: str) -> None:
    assert app.stdin is not None
    app.stdin.write(text)
    app.stdin.flush()


def _state(pid: int) -> str:
    """The process's state letter (R, S, T stopped, Z...), "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def _settles(pid: int, wanted, within_s: float = 10) -> bool:
    """Whether the process's state comes to satisfy `wanted` (a signal is delivered asynchronously)."""
    end = time.monotonic() + within_s
    while not wanted(_state(pid)):
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def _kill_and_see_the_child_go(app: subprocess.Popen, pid: int) -> None:
    app.send_signal(signal.SIGKILL)
    app.wait()
    assert _gone(pid, within_s=30)


def _end_app(app: subprocess.Popen) -> None:
    if app.poll() is None:
        app.kill()
        app.wait()


def _gone(pid: int, within_s: float) -> bool:
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # ended, not yet reaped
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and SCHED_IDLE")
def test_the_compile_child_runs_at_idle_priority_and_dies_with_the_app(plain_backend, tmp_path):
    app = _app_that_compiles(tmp_path)
    try:
        line = app.stdout.readline().strip() if app.stdout else ""
        assert line.isdigit(), line + (app.stderr.read() if app.stderr and app.poll() is not None else "")
        pid = int(line)
        for _ in range(300):  # it lowers itself first thing; its compilers inherit the setting
            if os.sched_getscheduler(pid) == os.SCHED_IDLE:
                break
            time.sleep(0.05)
        assert os.sched_getscheduler(pid) == os.SCHED_IDLE
        assert os.getpriority(os.PRIO_PROCESS, pid) == 19
        _kill_and_see_the_child_go(app, pid)  # no atexit: only the kernel's parent-death signal tells it
    finally:
        _end_app(app)
    assert not list(tmp_path.glob("cpu-aoti-*.failed"))  # killed with the app: tried again next launch


def test_backends_compile_by_default_where_the_vocoder_is_bf16_unless_turned_off(weights, monkeypatch):
    monkeypatch.delenv("FASTTTS_CPU_COMPILE")  # as in the app (the test run sets it to 0: conftest)
    on = CpuBackend(weights.state_dict, dtype=torch.bfloat16)
    assert on.compiler is not None and not on.compiler.running  # nothing starts before the first chunk
    assert CpuBackend(weights.state_dict, dtype=torch.float32).compiler is None  # measured on bf16 only
    monkeypatch.setenv("FASTTTS_CPU_COMPILE", "0")
    off = CpuBackend(weights.state_dict, dtype=torch.bfloat16)
    assert off.compiler is None and off.wait_compiled() is False and off.compiled == "eager"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_chunk_freezes_the_compile_child_and_a_frozen_one_still_dies_with_the_app(plain_backend, tmp_path):
    """`pause` (at a chunk's start) stops the child's group, `resume` lets it go on; and a child frozen when
    the app is killed does not stay behind stopped (the kernel wakes and hangs up the orphaned group)."""
    then = "backend.compiler.pause(); print('paused', flush=True); input(); backend.compiler.resume(); "
    then += "print('resumed', flush=True); input(); backend.compiler.pause(); print('paused', flush=True)"
    app = _app_that_compiles(tmp_path, then)
    try:
        assert app.stdout is not None
        line = app.stdout.readline().strip()
        assert line.isdigit(), line + (app.stderr.read() if app.stderr and app.poll() is not None else "")
        pid = int(line)
        assert app.stdout.readline().strip() == "paused"
        assert _settles(pid, lambda state: state == "T"), _state(pid)
        _tell(app, "\n")
        assert app.stdout.readline().strip() == "resumed"
        assert _settles(pid, lambda state: state not in ("T", "")), _state(pid)
        _tell(app, "\n")
        assert app.stdout.readline().strip() == "paused"
        assert _settles(pid, lambda state: state == "T"), _state(pid)
        _kill_and_see_the_child_go(app, pid)
    finally:
        _end_app(app)
