"""The compiled GPU path: the model's modules (engine/synthesis) captured in CUDA graphs and compiled.

The text side is the model's own forward over a padded batch (model.text_side with a Padding, float32:
durations are exact); what this package adds around the modules:

lstm_kernel.py   the model's BiLSTMs as one persistent Triton kernel per call (batch-1 graphs)
decoder.py       the model's F0/N blocks and decoder wrapped: padded frames, fp16 weights, channels-last
source.py        frame alignment, harmonic source, iSTFT (float32)
pipeline.py      the two stages put together
build.py         the model on the GPU: from its stored form (engine/synthesis/stored.py), or built
graphs.py        batch-1 CUDA graphs per token/frame bucket (playback)
batched.py       many sentences in few padded passes (export)
compiler.py      the compiled decoder: from disk, or compiled in the background
precompiled.py   torch.compile's result saved and loaded (Dynamo aot_compile)
cache.py         where compiled artifacts live and how they are keyed and checked
backend.py       CompiledBackend, the engine's Backend: builds the parts, hands over the decoder
"""

from fasttts_desktop.engine.synthesis.cuda.backend import CompiledBackend, Options

__all__ = ["CompiledBackend", "Options"]
