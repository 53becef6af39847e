"""The compiled GPU path: kokoro's modules under our own graph-capturable forward functions.

text.py          ALBERT, duration LSTMs, text encoder on padded batches (float32: durations are exact)
lstm.py          bidirectional LSTM over padded rows without packing (capturable)
lstm_kernel.py   the same LSTM as one persistent Triton kernel per call (batch-1 graphs)
attention.py     ALBERT attention: padded SDPA with a key mask
decoder.py       the model's F0/N blocks and decoder wrapped: padded frames, fp16 weights, channels-last
source.py        frame alignment, harmonic source, iSTFT (float32)
pipeline.py      the two stages put together
graphs.py        batch-1 CUDA graphs per token/frame bucket (playback)
batched.py       many sentences in few padded passes (export)
compiler.py      the compiled decoder: from disk, or compiled in the background
precompiled.py   torch.compile's result saved and loaded (Dynamo aot_compile)
cache.py         where compiled artifacts live and how they are keyed and checked
backend.py       CompiledBackend, the engine's Backend: builds the parts, hands over the decoder
"""

from fasttts_desktop.engine.synthesis.cuda.backend import CompiledBackend, Options

__all__ = ["CompiledBackend", "Options"]
