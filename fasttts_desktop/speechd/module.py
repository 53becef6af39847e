"""The `fasttts` output module: speech-dispatcher starts it, sends INIT, AUDIO, SET, SPEAK, STOP... on
stdin, and reads replies and events on stdout (protocol.py). The engine stays loaded for the module's
life.

Threads: the main thread reads commands and answers them at once; the speaking thread makes one message
at a time and sends its audio to the server as it is made. STOP and PAUSE are answered from the main
thread (the 703/704 event goes out as soon as the command is read, the server stops its playback), and the
message's `ended` flag, set under the writer's lock, keeps anything of that message from following.
The engine loads on its own thread after INIT, so speech-dispatcher (which waits for each module's INIT
reply before it serves clients) starts without waiting for the model; a message sent before the model is
ready waits for it.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from fasttts_desktop.engine.types import MAX_SPEED, MIN_SPEED, SAMPLE_RATE, EngineError, Voice
from fasttts_desktop.speechd import ssml
from fasttts_desktop.speechd import voices as sd_voices
from fasttts_desktop.speechd.protocol import MAX_BLOCK_CHARS, Reader, Writer, one_line

if TYPE_CHECKING:
    from fasttts_desktop.engine import Engine

log = logging.getLogger(__name__)

NAME = "fasttts"
AUDIO_PIECE = SAMPLE_RATE // 4  # samples per 705 event: a quarter second, so a STOP drops little in flight
_STRING_SETTINGS = ("voice", "synthesis_voice", "language", "punctuation_mode", "spelling_mode")


@dataclass
class Message:
    kind: str  # "text", "char", "key" or "icon"
    text: str
    settings: dict[str, str]
    cancel: threading.Event = field(default_factory=threading.Event)
    begun: bool = False  # these two only under the writer's lock
    ended: bool = False


class Module:
    def __init__(self, stdin: BinaryIO, stdout: BinaryIO, load_engine=None):
        self._in = Reader(stdin)
        self._out = Writer(stdout)
        self._load_engine = load_engine or _load_engine
        self._engine: Future[Engine] = Future()
        self._voices: list[Voice] = []
        self._settings: dict[str, str] = {"rate": "0", "pitch": "0", "volume": "100"}
        self._current: Message | None = None
        self._queue: queue.Queue[Message | None] = queue.Queue()
        self._speaker = threading.Thread(target=self._speak_loop, name="speechd-speaker", daemon=True)

    # -- the command loop (main thread)
    def run(self) -> int:
        if self._in.line() != "INIT":
            log.error("speech-dispatcher did not start with INIT")
            return 3
        try:
            self._voices = _voice_list()
        except Exception as exc:  # no voices, no module: speech-dispatcher reports the line
            log.exception("cannot list voices")
            self._out.send(f"399-{one_line(str(exc)) or type(exc).__name__}", "399 ERR CANT INIT MODULE")
            return 1
        threading.Thread(target=self._load, name="speechd-engine", daemon=True).start()
        self._speaker.start()
        self._out.send(f"299-{NAME}: Kokoro-82M, {len(self._voices)} voices", "299 OK LOADED SUCCESSFULLY")
        while (line := self._in.line()) is not None:
            command = line.strip()
            if command == "QUIT":
                self._stop("703 STOP")
                self._queue.put(None)
                self._out.send("210 OK QUIT")
                return 0
            self._dispatch(command)
        self._stop("703 STOP")
        self._queue.put(None)
        return 0

    def _dispatch(self, command: str) -> None:
        kinds = {"SPEAK": "text", "CHAR": "char", "KEY": "key", "SOUND_ICON": "icon"}
        if command in kinds:
            self._receive(kinds[command])
        elif command == "STOP":
            self._stop("703 STOP")
        elif command == "PAUSE":
            # Stopping now is a pause at the last index mark heard: speech-dispatcher resumes from there.
            self._stop("704 PAUSE")
        elif command.startswith("LIST VOICES"):
            self._list_voices(command.split()[2:])
        elif command == "SET":
            self._set()
        elif command == "AUDIO":
            self._audio()
        elif command == "LOGLEVEL":
            self._params("207 OK RECEIVING LOGLEVEL SETTINGS", "203 OK LOGLEVEL SET")
        elif command.startswith("DEBUG"):
            words = command.split()
            on = words[1] if len(words) > 1 else ""
            self._out.send(f"200 OK DEBUGGING {on}" if on in ("ON", "OFF") else "302 ERROR BAD SYNTAX")
        else:
            self._out.send("300 ERR UNKNOWN COMMAND")

    def _receive(self, kind: str) -> None:
        self._out.send("202 OK RECEIVING MESSAGE")
        lines = self._in.block()
        if lines is None:
            return
        if self._in.dropped:
            log.warning("message over %d characters: %d lines left out", MAX_BLOCK_CHARS, self._in.dropped)
        text = "\n".join(lines)
        if not text.strip():
            self._out.send("301 ERROR CANT SPEAK")
            return
        if kind != "text" and len(lines) > 1:
            self._out.send("305 DATA MORE THAN ONE LINE")
            return
        message = Message(kind, text, dict(self._settings))
        self._current = message
        self._out.send("200 OK SPEAKING")  # before the speaking thread can send this message's events
        self._queue.put(message)

    def _stop(self, event: str) -> None:
        message = self._current
        if message is None:
            return
        # The event goes out (and `ended` is set) before the speaking thread can see the cancel: the other
        # way round it could finish first and send 702 END where speech-dispatcher waits for 703/704.
        self._end(message, event)
        message.cancel.set()

    def _list_voices(self, wanted: list[str]) -> None:
        language = wanted[0].lower() if wanted else None
        lines = []
        for v in self._voices:
            tag = sd_voices.language_tag(v)
            if language and language not in (tag.lower(), tag.split("-")[0].lower()):
                continue
            lines.append(f"200-{v.name}\t{tag}\t{v.gender or 'none'}")
        self._out.send(*lines, "200 OK VOICE LIST SENT") if lines else self._out.send("304 CANT LIST VOICES")

    def _set(self) -> None:
        self._out.send("203 OK RECEIVING SETTINGS")
        lines = self._in.block()
        if lines is None:
            return
        ok = True
        for line in lines:
            name, sep, value = line.partition("=")
            if not sep:
                ok = False
            elif name in ("rate", "pitch", "volume", "pitch_range"):
                try:
                    int(value)
                except ValueError:
                    ok = False
                    continue
                self._settings[name] = value
            else:  # voice, synthesis_voice, language, punctuation and spelling modes...: kept as given
                self._settings[name] = value
        self._out.send("203 OK SETTINGS RECEIVED" if ok else "303 ERROR INVALID PARAMETER OR VALUE")

    def _audio(self) -> None:
        self._out.send("207 OK RECEIVING AUDIO SETTINGS")
        lines = self._in.block()
        if lines is None:
            return
        if "audio_output_method=server" in lines:
            self._out.send("203 OK AUDIO INITIALIZED")
        else:  # speech-dispatcher then offers its own audio settings, which we do not play through
            self._out.send("303 ERROR INVALID PARAMETER OR VALUE")

    def _params(self, ack: str, done: str) -> None:
        self._out.send(ack)
        if self._in.block() is not None:
            self._out.send(done)

    # -- events (either thread)
    def _event(self, message: Message, *lines: str) -> bool:
        """Send lines for `message` unless it has ended; BEGIN first if it was not sent yet."""
        with self._out.lock:
            if message.ended:
                return False
            if not message.begun:
                message.begun = True
                self._out.send("701 BEGIN")
            if lines:
                self._out.send(*lines)
            return True

    def _end(self, message: Message, event: str) -> None:
        with self._out.lock:
            if not message.ended:
                self._event(message)
                message.ended = True
                self._out.send(event)

    # -- the speaking thread
    def _load(self) -> None:
        try:
            self._engine.set_result(self._load_engine())
        except BaseException as exc:  # any failure is reported on each message
            log.exception("the engine did not load")
            self._engine.set_exception(exc)

    def _speak_loop(self) -> None:
        while (message := self._queue.get()) is not None:
            try:
                self._speak(message)
            except Exception:
                log.exception("speaking failed")
                self._end(message, "703 STOP")
            else:
                self._end(message, "702 END")

    def _speak(self, message: Message) -> None:
        if message.kind == "icon":
            self._event(message, f"706-{one_line(message.text)}", "706 ICON")
            return
        while not self._engine.done():  # the first message after start-up waits for the model
            if message.cancel.wait(0.05):
                return
        engine = self._engine.result()
        self._voices = engine.voices
        s = message.settings
        named = {v.name for v in self._voices}
        speed = sd_voices.speed(int(s["rate"]))
        pitch = sd_voices.pitch_factor(int(s["pitch"]))
        gain = sd_voices.gain(int(s["volume"]))
        for piece in _pieces(message):
            if message.cancel.is_set():
                return
            if isinstance(piece, ssml.Mark):
                self._event(message, f"700-{one_line(piece.name)}", "700 INDEX MARK")
            elif isinstance(piece, ssml.Break):
                self._send_audio(message, np.zeros(round(piece.seconds * SAMPLE_RATE), np.float32))
            else:
                # A higher pitch is made by reading slower and playing the result faster (resampling).
                rate = min(MAX_SPEED, max(MIN_SPEED, speed * piece.rate / pitch))
                choice = sd_voices.choose(  # an SSML <voice name> we have, else the message's voice
                    self._voices,
                    engine.default_voice,
                    piece.voice if piece.voice in named else s.get("synthesis_voice"),
                    s.get("language"),
                    s.get("voice"),
                )
                try:
                    for chunk in engine.stream(
                        piece.text, choice.voice, rate, cancel=message.cancel.is_set, lang=choice.lang
                    ):
                        self._send_audio(message, _repitch(chunk.audio, pitch) * gain)
                except EngineError as exc:  # nothing speakable in this piece ("...", an emoji): go on
                    log.info("%s", exc)
        self._event(message)  # a message with nothing to say still begins before it ends

    def _send_audio(self, message: Message, audio: np.ndarray) -> None:
        for at in range(0, len(audio), AUDIO_PIECE):
            with self._out.lock:
                if not self._event(message):
                    return
                self._out.audio(audio[at : at + AUDIO_PIECE], SAMPLE_RATE)


def _pieces(message: Message) -> list[ssml.Piece]:
    if message.kind == "text":
        return ssml.parse(message.text)
    if message.kind == "key":  # "shift_a", "kp-enter": speak the key's words
        return [ssml.Text(message.text.replace("_", " ").replace("-", " "))]
    return [ssml.Text(message.text)]


def _repitch(audio: np.ndarray, factor: float) -> np.ndarray:
    if factor == 1.0 or len(audio) < 2:
        return audio
    n = max(1, round(len(audio) / factor))
    return np.interp(np.arange(n) * factor, np.arange(len(audio)), audio).astype(np.float32)


def _voice_list() -> list[Voice]:
    """The voices before the model is loaded (voice packs are found without it)."""
    from fasttts_desktop.engine.weights import hub
    from fasttts_desktop.engine.weights.voices import voice_info, voice_names

    names = voice_names(os.environ.get("FASTTTS_VOICES") or None, hub=hub.hub_allowed(None))
    if not names:
        raise EngineError("no Kokoro voices found")
    return sorted((voice_info(n) for n in names), key=lambda v: v.name)


def _load_engine() -> Engine:
    from fasttts_desktop.engine import Engine

    return Engine.load(os.environ.get("FASTTTS_SPEECHD_DEVICE") or None)


def main(argv: list[str] | None = None) -> int:
    """The module's program: `fasttts-speechd [CONFIG]` (speech-dispatcher passes its config file, which
    this module does not need)."""
    from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

    configure_process()  # before torch is imported: OpenMP reads its settings once
    # stdout is the protocol: keep it for us alone and send anything a library prints there to stderr
    # (speech-dispatcher's log for this module).
    protocol_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    del argv
    return Module(sys.stdin.buffer, protocol_out).run()
