"""The compiled decoder saved by one process and loaded by another (cuda/precompiled.py), on CPU.

A small module with kokoro's AdaIN1d (loaded as the app loads it, without kokoro's package) stands in for
the decoder: compiled and saved in one fresh interpreter, loaded and run in another, where it must give the
eager result, serve other lengths than the one it was compiled for, and leave transformers unimported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from fasttts_desktop.engine.synthesis.cuda import precompiled

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not precompiled.supported(), reason="this torch cannot save compiled functions"),
    pytest.mark.skipif(shutil.which("g++") is None, reason="Inductor on CPU needs a C++ compiler"),
]

MODEL = textwrap.dedent(
    """
    import sys, torch
    from fasttts_desktop.engine.synthesis.kokoro_parts import istftnet
    from fasttts_desktop.engine.synthesis.cuda import precompiled

    class Tiny(torch.nn.Module):  # the decoder's signature, one AdaIN1d of kokoro's inside
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(8, 16, 3, padding=1)
            self.norm = istftnet().AdaIN1d(128, 16)
            self.out = torch.nn.Conv1d(16, 22, 1)

        def forward(self, asr, f0, n, style, har, frames):
            mask = (torch.arange(asr.shape[-1]) < frames[:, None]).unsqueeze(1).float()
            h = self.norm(self.conv(asr * mask), style)
            return self.out(torch.sin(h)) + har[:, :, : asr.shape[-1]] + (f0 + n)[:, None, : asr.shape[-1]]

    def example(batch, frames):
        g = torch.Generator().manual_seed(frames)
        r = lambda *s: torch.randn(*s, generator=g)
        return (r(batch, 8, frames), r(batch, 2 * frames), r(batch, 2 * frames), r(batch, 128),
                r(batch, 22, 120 * frames + 1), torch.full((batch,), frames - 1))

    torch.manual_seed(0)
    core = Tiny().eval()
    folder = sys.argv[1]
    """
)

SAVE = MODEL + textwrap.dedent(
    """
    with torch.inference_mode():
        fn = precompiled.compile_one(core, example(2, 16), 2)
        precompiled.save(fn, f"{folder}/fn.bin")
        torch.save(core.state_dict(), f"{folder}/weights.pt")
    print("SAVED")
    """
)

LOAD = MODEL + textwrap.dedent(
    """
    core.load_state_dict(torch.load(f"{folder}/weights.pt"))
    fn = precompiled.load(f"{folder}/fn.bin")
    dispatch = precompiled.Dispatch(core, {2: [fn]})
    with torch.inference_mode():
        for frames in (16, 23, 40):  # compiled at 16: a dynamic length serves the others
            args = example(3, frames)
            assert dispatch.find(*args) is fn, frames
            torch.testing.assert_close(dispatch(*args), core(*args), atol=1e-5, rtol=1e-5)
        assert dispatch.misses == 0
        dispatch(*example(1, 16))  # batch 1 was not compiled here: the eager module answers
        assert dispatch.misses == 1
    assert "transformers" not in sys.modules, "loading imported transformers"
    assert "kokoro" not in sys.modules  # the stand-in package object is gone again
    print("LOADED")
    """
)


def _run(code: str, folder) -> str:
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(folder / "inductor")}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


def test_compiled_decoder_loads_in_a_fresh_process(tmp_path):
    assert "SAVED" in _run(SAVE, tmp_path)
    assert "LOADED" in _run(LOAD, tmp_path)
