"""App-level latency: Speak -> first samples handed to the audio output, and skip -> first samples of the
next sentence, through the app's own SpeechService, engine thread and Player (worker/), with a stand-in
output stream in place of PortAudio's (no sound card; it asks for blocks at a device's pace).

Speak: each Harvard sentence spoken alone from idle. Skip: the 30 sentences as one text, spoken from the
start; while it plays, `speak(text, start=<next sentence>)` (what Alt+Right does), one sentence after the
other. Each time is from the call on the GUI thread to the stream's first callback that hands over
samples (Playback's own `first_sound` clock: the block the device is then asked to play). `synth_ms` is the
engine's time for the utterance's first chunk (the rest is the front end, the thread hops, the player).
Where PortAudio or sounddevice is missing (the lent GPU machine), the few exception classes the app's
Playback takes from sounddevice stand in too (`portaudio_stand_in`); nothing else of it is used here.

    python -m fasttts_desktop.bench.app_latency --device cuda --out app.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np

from fasttts_desktop.bench.timing import pct, say
from fasttts_desktop.playback.sound_stream import BLOCK_FRAMES

DWELL_S = 0.25  # how long each sentence plays before the skip: the engine has made its look-ahead by then
WAIT_S = 120.0  # the longest any first sound may take (a loaded 2-core CPU) before the run gives up


def portaudio_stand_in() -> bool:
    """Make `import sounddevice` give the exceptions the app's Playback raises and catches (CallbackStop,
    CallbackAbort, PortAudioError) where the real module cannot load; True when they stand in. With
    StandInStream in place of PortAudio's stream nothing else of sounddevice is reached."""
    try:
        import sounddevice  # noqa: F401 - only whether it loads (it needs cffi and libportaudio)
    except (ImportError, OSError):
        stub = ModuleType("sounddevice", "stand-in: sounddevice's exception classes only (app_latency.py)")
        for name in ("CallbackStop", "CallbackAbort", "PortAudioError"):
            setattr(stub, name, type(name, (Exception,), {"__module__": "sounddevice"}))
        sys.modules["sounddevice"] = stub
        return True
    return getattr(sys.modules["sounddevice"], "__file__", None) is None


class StandInStream:
    """What Playback needs of a sounddevice.OutputStream: a callback asked for BLOCK_FRAMES samples at
    once on start (as PortAudio does) and then every block period, on its own thread."""

    def __init__(self, callback, finished_callback, sample_rate: int):
        self._callback, self._finished = callback, finished_callback
        self._period = BLOCK_FRAMES / sample_rate
        self._stop = threading.Event()
        self._t0 = time.perf_counter()
        self.first_sound: float | None = None  # perf_counter() of the first block with samples in it
        self.latency = 0.0
        self._thread = threading.Thread(target=self._run, name="stand-in-output", daemon=True)

    @property
    def time(self) -> float:
        return time.perf_counter()

    @property
    def active(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        if self._block():
            self._thread.start()

    def abort(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    def close(self) -> None:
        self.abort()

    def _block(self) -> bool:
        import sounddevice

        out = np.zeros((BLOCK_FRAMES, 1), np.float32)
        now = time.perf_counter()
        info = SimpleNamespace(currentTime=now, outputBufferDacTime=now)
        try:
            self._callback(out, BLOCK_FRAMES, info, SimpleNamespace(output_underflow=False))
        except (sounddevice.CallbackStop, sounddevice.CallbackAbort):
            return False
        if self.first_sound is None and np.any(out):
            self.first_sound = now
        return True

    def _run(self) -> None:
        next_at = time.perf_counter() + self._period
        while not self._stop.is_set():
            time.sleep(max(0.0, next_at - time.perf_counter()))
            next_at += self._period
            if self._stop.is_set() or not self._block():
                break
        if self._finished:
            self._finished()


@dataclass
class StandInOutput:
    """Opens StandInStreams in place of open_sounddevice_stream and keeps them in order."""

    streams: list[StandInStream] = field(default_factory=list)

    def __call__(self, callback, finished_callback, sample_rate, device=""):  # noqa: ARG002 - one output
        stream = StandInStream(callback, finished_callback, sample_rate)
        self.streams.append(stream)
        return stream


class Harness:
    """The app's speech service over `engine`, driven from this (the GUI) thread."""

    def __init__(self, engine, voice: str, speed: float = 1.0):
        from PySide6.QtCore import QCoreApplication

        from fasttts_desktop.playback.audio_output import Playback
        from fasttts_desktop.worker.player import Player
        from fasttts_desktop.worker.speech import SpeechService

        self.portaudio_stand_in = portaudio_stand_in()
        self.app = QCoreApplication.instance() or QCoreApplication([])
        self.output = StandInOutput()
        player = Player(lambda done: Playback(done, open_stream=self.output), warm_up=lambda: None)
        self.service = SpeechService(lambda _progress: engine, player=player)
        self.voice, self.speed = voice, speed
        self.first_synth: dict[int, float] = {}  # request -> the engine's seconds for its first chunk
        self.service.chunk_played.connect(self._on_chunk)
        self.service.start()
        self._until(lambda: self.service.is_ready, "the engine to load")

    def _on_chunk(self, request: int, chunk) -> None:
        self.first_synth.setdefault(request, chunk.synth_s)

    def _until(self, done, what: str, timeout: float = WAIT_S) -> None:
        from PySide6.QtCore import QEventLoop

        end = time.perf_counter() + timeout
        while not done():
            if time.perf_counter() > end:
                raise TimeoutError(f"app latency: gave up waiting for {what}")
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            time.sleep(0.0002)

    def settle(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        self._until(lambda: time.perf_counter() >= end, "a pause", seconds + 5)

    def speak(self, text: str, start: int = 0) -> tuple[float, float | None]:
        """Speak and wait for the first samples: (seconds to them, the engine's first-chunk seconds)."""
        streams = len(self.output.streams)
        t0 = time.perf_counter()
        request = self.service.speak(text, self.voice, self.speed, start)

        def sounding() -> bool:
            new = self.output.streams[streams:]
            return bool(new) and new[-1].first_sound is not None

        self._until(sounding, "the first sound")
        first = self.output.streams[-1].first_sound
        assert first is not None  # noqa: S101 - `sounding` waited for it
        self._until(lambda: request in self.first_synth, "the first chunk's report", 5)
        return first - t0, self.first_synth.get(request)

    def close(self) -> None:
        self.service.stop()
        self.service.shutdown()


def run(engine, sentences: list[str], voice: str, speed: float = 1.0, dwell_s: float = DWELL_S) -> dict:
    """Speak each sentence alone from idle, then skip through them as one text; times in ms."""
    h = Harness(engine, voice, speed)
    try:
        h.speak(sentences[0])  # warm-up: first use of the front end, the graphs, the stand-in thread
        h.service.stop()
        speak, speak_synth = [], []
        for s in sentences:
            lat, synth = h.speak(s)
            speak.append(lat)
            speak_synth.append(synth)
            h.service.stop()
            h.settle(0.05)  # idle again: the stopped playback fades out and closes
        text = " ".join(sentences)
        starts = [0]
        for s in sentences[:-1]:
            starts.append(starts[-1] + len(s) + 1)
        skip, skip_synth = [], []
        h.speak(text)
        for start in starts[1:]:
            h.settle(dwell_s)
            lat, synth = h.speak(text, start)
            skip.append(lat)
            skip_synth.append(synth)
        h.service.stop()
    finally:
        h.close()
    return {
        "speak": _summary(speak, speak_synth),
        "skip": _summary(skip, skip_synth),
        "sentences": len(sentences),
        "dwell_s": dwell_s,
        "block_frames": BLOCK_FRAMES,
        "sounddevice": "stand-in exceptions (no PortAudio)" if h.portaudio_stand_in else "sounddevice",
    }


def _summary(lat: list[float], synth: list[float | None]) -> dict:
    known = [s for s in synth if s is not None]
    # what is not the engine's model time: the front end, the thread hops, the player and the stream start
    rest = [t - s for t, s in zip(lat, synth, strict=True) if s is not None]
    return {
        "p50_ms": pct(lat, 50),
        "p95_ms": pct(lat, 95),
        "first_chunk_synth_p50_ms": pct(known, 50) if known else None,
        "besides_synth_p50_ms": pct(rest, 50) if rest else None,
        "besides_synth_p95_ms": pct(rest, 95) if rest else None,
        "ms": [round(x * 1000, 2) for x in lat],
        "first_chunk_synth_ms": [None if s is None else round(s * 1000, 2) for s in synth],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fasttts_desktop.bench.app_latency", description=__doc__)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--voice", help="default: the app's")
    p.add_argument("--sentences", type=int, default=30, help="how many Harvard sentences")
    p.add_argument("--voices", help="voice file(s) as the app's --voices takes them")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    from fasttts_desktop.bench.inputs import kokoro_without_g2p, phonemes
    from fasttts_desktop.engine.engine import Engine

    kokoro_without_g2p()  # only where espeak is missing (the device): the app imports no kokoro package
    engine = Engine.load(args.device, voices_path=args.voices)
    if hasattr(engine.backend, "wait_compiled"):
        engine.backend.wait_compiled()  # the steady state: the compiled decoder, as after the first minute
    voice = engine.voice(args.voice).name
    sentences = [item["text"] for item in phonemes()["harvard"][: args.sentences]]
    res = {
        "device": engine.description,
        "commit": os.environ.get("FASTTTS_COMMIT", ""),
        "voice": voice,
        **run(engine, sentences, voice),
    }
    for what in ("speak", "skip"):
        r = res[what]
        say(
            f"app       {what:5s} -> first samples p50 {r['p50_ms']:8.2f} ms  p95 {r['p95_ms']:8.2f} ms"
            f"  (engine's first chunk p50 {r['first_chunk_synth_p50_ms']} ms, the rest p50"
            f" {r['besides_synth_p50_ms']} ms)"
        )
    if args.out:
        args.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
