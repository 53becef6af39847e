"""Phoneme ids + style -> audio: the backend contract, kokoro's eager model, and the compiled CUDA path."""
