"""What a client may ask for, checked before any work: one clear line for each mistake (a 400 with
OpenAI's error shape), so nothing fails half-way through a stream for a reason known up front."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fasttts_desktop.engine.types import MAX_SPEED, MIN_SPEED
from fasttts_desktop.server.encode import FORMATS

MODELS = ("kokoro", "tts-1", "tts-1-hd", "gpt-4o-mini-tts")
MAX_INPUT_CHARS = 100_000  # a long article; a book goes through `fasttts-desktop say`
# OpenAI's own speed range; ours is narrower (Kokoro's prosody breaks up beyond it), so within this range
# a speed is brought into ours rather than refused, and clients written for OpenAI keep working.
OPENAI_SPEEDS = (0.25, 4.0)
# OpenAI's voice names, read by Kokoro's namesakes when those are installed (the default voice otherwise)
OPENAI_VOICES = {
    "alloy": "af_alloy", "ash": "am_adam", "ballad": "bm_fable", "coral": "af_heart", "echo": "am_echo",
    "fable": "bm_fable", "nova": "af_nova", "onyx": "am_onyx", "sage": "af_sarah", "shimmer": "af_sky",
    "verse": "am_michael",
}  # fmt: skip


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.param = param
        self.status = status


@dataclass(frozen=True)
class Speech:
    text: str
    voice: str | None  # None: the engine's default
    format: str
    speed: float


def speech_request(body: object, known_voice) -> Speech:
    """A checked request from the decoded JSON body. `known_voice(name)` raises EngineError for a voice
    (or blend) the engine cannot speak."""
    from fasttts_desktop.engine.types import EngineError

    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or model not in MODELS:
        raise BadRequest(f"Unknown model {model!r}; use one of: {', '.join(MODELS)}.", "model")
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("'input' must be a non-empty string: the text to speak.", "input")
    if len(text) > MAX_INPUT_CHARS:
        raise BadRequest(f"'input' is {len(text):,} characters; the most is {MAX_INPUT_CHARS:,}.", "input")
    fmt = body.get("response_format", "mp3")
    if fmt not in FORMATS:
        raise BadRequest(
            f"Unknown response_format {fmt!r}; use one of: {', '.join(FORMATS)}.", "response_format"
        )
    if body.get("stream_format", "audio") != "audio":  # OpenAI's server-sent events are not offered
        raise BadRequest("Only stream_format 'audio' is offered: the audio, streamed.", "stream_format")
    speed = body.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not math.isfinite(speed):
        raise BadRequest("'speed' must be a number.", "speed")
    if not OPENAI_SPEEDS[0] <= speed <= OPENAI_SPEEDS[1]:
        raise BadRequest(
            f"'speed' must be from {OPENAI_SPEEDS[0]} to {OPENAI_SPEEDS[1]}, not {speed}.", "speed"
        )
    voice = body.get("voice")
    if voice is not None and not isinstance(voice, str):
        raise BadRequest(
            "'voice' must be a string: a voice name or a blend such as 'af_bella+af_sky'.", "voice"
        )
    voice = (voice or "").strip() or None
    if voice is not None:
        voice = _openai_voice(voice, known_voice)
        try:
            known_voice(voice)
        except EngineError as exc:
            raise BadRequest(str(exc), "voice") from exc
    return Speech(text, voice, fmt, float(min(MAX_SPEED, max(MIN_SPEED, speed))))


def _openai_voice(voice: str, known_voice) -> str | None:
    if voice.lower() not in OPENAI_VOICES:
        return voice
    from fasttts_desktop.engine.types import EngineError

    try:  # the user may have a voice or blend saved under OpenAI's name
        known_voice(voice)
    except EngineError:
        pass
    else:
        return voice
    namesake = OPENAI_VOICES[voice.lower()]
    try:
        known_voice(namesake)
    except EngineError:
        return None
    return namesake
