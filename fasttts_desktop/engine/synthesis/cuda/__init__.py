"""The compiled GPU path: kokoro's modules under our own graph-capturable forward functions.

text.py      ALBERT, duration LSTMs, text encoder on padded batches (float32: durations are exact)
lstm.py      bidirectional LSTM over padded rows without packing (capturable)
attention.py ALBERT attention: padded SDPA, or ragged FlashInfer for big batches
decoder.py   F0/N blocks and decoder with masked instance norm (fp16 convolutions, float32 edges)
source.py    frame alignment, harmonic source, iSTFT (float32)
pipeline.py  the two stages put together
aoti.py      the decoder as an AOTInductor package
cache.py     where compiled packages live and how they are keyed and checked
graphs.py    batch-1 CUDA graphs per token/frame bucket
backend.py   CompiledBackend, the engine's Backend
"""

from fasttts_desktop.engine.synthesis.cuda.backend import CompiledBackend, Options

__all__ = ["CompiledBackend", "Options"]
