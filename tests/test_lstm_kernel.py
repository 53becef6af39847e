"""The persistent LSTM kernel (engine/synthesis/cuda/lstm_kernel.py) in Triton's CPU interpreter.

The interpreter runs a kernel's programs one after another, so each direction and row is one program
here (`blocks=1`): this checks the arithmetic, the reversal of the backward direction per row and the
zeros past each row's end. The barrier between programs is exercised on the GPU (scripts/device).
Triton reads TRITON_INTERPRET when it is imported, so the checks run in a child interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

pytest.importorskip("triton", reason="the kernel is written in Triton (the `test` extra installs it)")

CHILD = textwrap.dedent(
    """
    import torch
    import triton.runtime.interpreter as interp

    # Triton 3.6's interpreter turns 1-element arrays into loop bounds with int(), which NumPy 2 refuses
    original = interp._patch_lang_tensor

    def patched(tensor, scope):
        original(tensor, scope)
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]))

    interp._patch_lang_tensor = patched

    from fasttts_desktop.engine.synthesis.cuda.lstm_kernel import PersistentBiLSTM, use_persistent
    from fasttts_desktop.engine.synthesis.lstm import BiLSTM, Padding


    def padded(lengths, features, seed):
        g = torch.Generator().manual_seed(seed)
        steps = max(lengths)
        x = torch.randn(len(lengths), steps, features, generator=g)
        pad = Padding(torch.tensor(lengths), steps)
        return pad.steps_first(x), pad


    with torch.inference_mode():
        torch.manual_seed(0)
        lstm = BiLSTM(24, 64)
        x, pad = padded([7, 3, 5], 24, 1)
        lengths = pad.lengths
        ref = lstm.run(x, Padding(lengths, 7, host_lengths=lengths))  # kokoro's packed form
        kernel = PersistentBiLSTM(lstm, blocks=1)
        out = kernel(x, lengths)
        assert int(kernel.last_error) == 0
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
        assert (out[1, 3:] == 0).all() and (out[2, 5:] == 0).all()

        # a BiLSTM runs the kernel once use_persistent gave it one, with the same result
        model = torch.nn.Sequential(BiLSTM(16, 32))
        assert use_persistent(model) == 1
        wrapped = model[0]
        assert wrapped.kernel.blocks == 1  # 16 hidden units: one program per direction and row
        x, pad = padded([4, 6], 16, 2)
        via_kernel = wrapped.run(x, pad)
        wrapped.kernel = None
        torch.testing.assert_close(via_kernel, wrapped.run(x, pad), atol=1e-5, rtol=1e-5)
    print("KERNEL OK")
    """
)


def test_persistent_lstm_equals_the_cudnn_forms_in_the_interpreter():
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert proc.returncode == 0 and "KERNEL OK" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-3000:]


def test_kernel_refuses_lstms_it_cannot_run():
    from fasttts_desktop.engine.synthesis.cuda import lstm_kernel

    with pytest.raises(ValueError, match="bidirectional"):
        lstm_kernel.PersistentBiLSTM(torch.nn.LSTM(8, 16, batch_first=True))
    with pytest.raises(ValueError, match="power of two"):
        lstm_kernel.PersistentBiLSTM(torch.nn.LSTM(8, 24, batch_first=True, bidirectional=True))
