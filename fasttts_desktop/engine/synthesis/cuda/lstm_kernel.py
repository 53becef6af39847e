"""A persistent bidirectional LSTM for the batch-1 graphs: one kernel runs every time step.

cuDNN's LSTM launches work per time step (a GEMM and a pointwise kernel per direction), and at batch 1
each step is a few microseconds of launch and memory latency with almost no arithmetic: the five text
LSTMs and the F0/N LSTM are most of a sentence's GPU time (docs/benchmarks/NOTES.md). Here each
direction of each row is a group of `blocks` programs that stay resident for the whole sequence. Each
program keeps its slice of the recurrent weights (all four gates of `H / blocks` hidden units) in
registers; per step it reads the previous hidden state from L2, updates its units and then waits for the
other programs of its group at a flag barrier before the next step. The input projections of all steps are
one GEMM beforehand (cuBLAS, float32), as cuDNN does too.

Everything stays float32 (the durations come from this recurrence and must match kokoro's). Rows are
right-padded: the forward direction runs over a row's first `length` steps, the backward direction from
`length - 1` down to 0, so neither sees padding, and padded outputs stay zero (as pad_packed_sequence).

The barrier needs every program of a group resident at once: `fits()` checks the grid against the GPU.
"""

from __future__ import annotations

import functools
import os

import torch

from fasttts_desktop.engine.synthesis.lstm import BiLSTM

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only installs: the graphs then use cuDNN's LSTM (lstm.BiLSTM.run)
    triton = None

# hidden units per program: 16 units x 4 gates x 256 inputs = 64 float32 registers per thread at 8 warps
UNITS = 16
# a barrier that has not opened after this many polls gives up (sets the error flag) instead of hanging
SPIN_LIMIT = 20_000_000


def available() -> bool:
    return triton is not None


if triton is not None:

    @triton.jit
    def _tanh(x):
        return 2 * tl.sigmoid(2 * x) - 1  # within ~1e-7 of tanh; runs in Triton's interpreter too

    @triton.jit
    def _bilstm_kernel(
        xw_ptr,  # [B, T, 2, 4, H] input projections (+ both biases), float32
        whh_ptr,  # [2, 4, H, H] recurrent weights, float32
        len_ptr,  # [B] valid steps per row
        y_ptr,  # [B, T, 2, H] output, zero beforehand
        h_ptr,  # [2, B, 2, H] hidden-state ping-pong per direction and row, zero beforehand
        flag_ptr,  # [2, B, NB] steps finished per program, zero beforehand
        err_ptr,  # [1] set when a barrier gave up
        B,
        T,
        H: tl.constexpr,
        UNITS: tl.constexpr,
        NB: tl.constexpr,
        SPIN_LIMIT: tl.constexpr,
    ):
        blk = tl.program_id(0)
        d = tl.program_id(1)
        b = tl.program_id(2)
        rows = blk * UNITS + tl.arange(0, UNITS)
        cols = tl.arange(0, H)
        w = whh_ptr + d * 4 * H * H + rows[:, None] * H + cols[None, :]
        w_i = tl.load(w)
        w_f = tl.load(w + H * H)
        w_g = tl.load(w + 2 * H * H)
        w_o = tl.load(w + 3 * H * H)
        length = tl.load(len_ptr + b).to(tl.int32)
        c = tl.zeros([UNITS], dtype=tl.float32)
        h_base = h_ptr + (d * B + b) * 2 * H
        flags = flag_ptr + (d * B + b) * NB
        failed = tl.load(err_ptr)
        for s in range(T):  # T, not the row's length: a uniform loop bound for every program
            if s < length:
                t = tl.where(d == 0, s, length - 1 - s)
                h_prev = tl.load(h_base + (s % 2) * H + cols, cache_modifier=".cg")
                x = xw_ptr + ((b * T + t) * 2 + d) * 4 * H + rows
                hp = h_prev[None, :]
                gi = tl.sum(w_i * hp, 1) + tl.load(x)
                gf = tl.sum(w_f * hp, 1) + tl.load(x + H)
                gg = tl.sum(w_g * hp, 1) + tl.load(x + 2 * H)
                go = tl.sum(w_o * hp, 1) + tl.load(x + 3 * H)
                c = tl.sigmoid(gf) * c + tl.sigmoid(gi) * _tanh(gg)
                h = tl.sigmoid(go) * _tanh(c)
                tl.store(h_base + ((s + 1) % 2) * H + rows, h)
                tl.store(y_ptr + ((b * T + t) * 2 + d) * H + rows, h)
                # barrier over the NB programs of this direction and row: publish, then wait for all
                tl.debug_barrier()
                tl.atomic_xchg(flags + blk, s + 1, sem="release", scope="gpu")
                seen = tl.atomic_add(flags + tl.arange(0, NB), 0, sem="acquire", scope="gpu")
                spins = 0
                while (tl.min(seen, 0) < s + 1) & (spins < SPIN_LIMIT) & (failed == 0):
                    seen = tl.atomic_add(flags + tl.arange(0, NB), 0, sem="acquire", scope="gpu")
                    spins += 1
                if spins >= SPIN_LIMIT:
                    tl.atomic_xchg(err_ptr, 1)
                    failed = tl.full([], 1, tl.int32)
                tl.debug_barrier()


@functools.cache
def _sm_count(index: int) -> int:
    return torch.cuda.get_device_properties(index).multi_processor_count


def blocks_for(hidden: int) -> int:
    return hidden // UNITS


def fits(batch: int, hidden: int, device: torch.device) -> bool:
    """Every program of the grid resident at once (one per multiprocessor, to be safe)."""
    if device.type != "cuda":  # Triton's interpreter (tests) runs programs one after another
        return os.environ.get("TRITON_INTERPRET") == "1"
    return 2 * batch * blocks_for(hidden) <= _sm_count(device.index or 0)


class PersistentBiLSTM:
    """Wraps a bidirectional, single-layer, batch_first nn.LSTM: same weights, same results on valid steps."""

    def __init__(self, lstm: torch.nn.LSTM, blocks: int | None = None):
        if not (lstm.bidirectional and lstm.num_layers == 1 and lstm.batch_first and lstm.proj_size == 0):
            raise ValueError("PersistentBiLSTM wraps single-layer bidirectional batch_first LSTMs")
        self.hidden = lstm.hidden_size
        if self.hidden % UNITS or self.hidden & (self.hidden - 1):
            raise ValueError(f"hidden size {self.hidden}: a power of two, a multiple of {UNITS}")
        self.blocks = blocks or blocks_for(self.hidden)
        self.units = self.hidden // self.blocks
        p = lstm.get_parameter  # nn.LSTM's per-layer weights are set by name, unknown to its type stubs
        with torch.no_grad():
            self.w_ih = torch.cat([p("weight_ih_l0"), p("weight_ih_l0_reverse")]).detach()  # [8H, C]
            self.b = torch.cat(
                [
                    p("bias_ih_l0") + p("bias_hh_l0"),
                    p("bias_ih_l0_reverse") + p("bias_hh_l0_reverse"),
                ]
            ).detach()
            self.w_hh = torch.stack([p("weight_hh_l0"), p("weight_hh_l0_reverse")]).detach().contiguous()

    def fits(self, x: torch.Tensor) -> bool:
        return x.dtype == torch.float32 and fits(x.shape[0], self.hidden, x.device)

    def to(self, device: torch.device) -> PersistentBiLSTM:
        self.w_ih, self.b, self.w_hh = (t.to(device) for t in (self.w_ih, self.b, self.w_hh))
        return self

    def __call__(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x [B, T, C] float32, lengths [B] (device) -> [B, T, 2H], zero past each row's length."""
        batch, steps, _ = x.shape
        h = self.hidden
        xw = torch.addmm(self.b, x.reshape(batch * steps, -1), self.w_ih.t()).view(batch, steps, 2, 4, h)
        y = x.new_zeros(batch, steps, 2, h)
        state = x.new_zeros(2, batch, 2, h)
        flags = torch.zeros(2, batch, self.blocks, dtype=torch.int32, device=x.device)
        err = torch.zeros(1, dtype=torch.int32, device=x.device)
        _bilstm_kernel[(self.blocks, 2, batch)](
            xw,
            self.w_hh,
            lengths,
            y,
            state,
            flags,
            err,
            batch,
            steps,
            H=h,
            UNITS=self.units,
            NB=self.blocks,
            SPIN_LIMIT=SPIN_LIMIT,
            num_warps=8,
        )
        self.last_error = err  # device flag: non-zero if a barrier gave up (checked by the tests and bench)
        return y.view(batch, steps, 2 * h)


def use_persistent(model: torch.nn.Module) -> int:
    """Give each of the model's BiLSTMs this kernel for its capturable form (graphs); returns how many.
    Without Triton nothing changes."""
    if not available():
        return 0
    count = 0
    for module in model.modules():
        if isinstance(module, BiLSTM):
            device = module.get_parameter("weight_hh_l0").device  # by name: not in nn.LSTM's stubs
            module.kernel = PersistentBiLSTM(module).to(device)
            count += 1
    return count
