"""Text -> phonemes -> audio. Never imports Qt: the worker and UI depend on this, not the reverse."""

from fasttts_desktop.engine.types import (
    MAX_PHONEMES,
    SAMPLE_RATE,
    AudioChunk,
    Cancelled,
    EngineError,
    TextChunk,
    Voice,
    WordTiming,
)

__all__ = [
    "MAX_PHONEMES",
    "SAMPLE_RATE",
    "AudioChunk",
    "Cancelled",
    "Engine",
    "EngineError",
    "TextChunk",
    "Voice",
    "WordTiming",
]


def __getattr__(name):
    # Engine pulls in torch; keep `import fasttts_desktop.engine` cheap for the CLI's --help and the UI.
    if name == "Engine":
        from fasttts_desktop.engine.engine import Engine

        return Engine
    raise AttributeError(name)
