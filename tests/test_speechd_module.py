"""The fasttts module's side of speech-dispatcher's module protocol, driven over real pipes as the server
drives it: replies, the order of events (BEGIN, audio, index marks, END/STOP/PAUSE), what STOP and PAUSE
do to a message being made, and how rate, pitch and volume reach the audio. The engine is the test
double (tones, one chunk per sentence); the real engine and server are in test_speechd_e2e.py.
"""

from __future__ import annotations

import os
import queue
import threading
import time

import numpy as np
import pytest

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.speechd.module import Module
from fasttts_desktop.speechd.protocol import escape_audio
from tests.fake_engine import FakeEngine


def _unescape(data: bytes) -> bytes:
    out = bytearray()
    it = iter(data)
    for b in it:
        out.append(next(it) ^ 0x20 if b == 0x7D else b)
    return bytes(out)


class Wire:
    """The server's end of the module's stdin and stdout."""

    def __init__(self, load_engine):
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        self.module = Module(os.fdopen(in_r, "rb"), os.fdopen(out_w, "wb"), load_engine=load_engine)
        self._to = os.fdopen(in_w, "wb")
        self._from = os.fdopen(out_r, "rb")
        self.messages: queue.Queue = queue.Queue()
        self.rc: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        threading.Thread(target=self._read, daemon=True).start()

    def _run(self) -> None:
        self.rc = self.module.run()

    def _read(self) -> None:
        audio: dict[str, str] = {}
        while line := self._from.readline():
            if line.startswith(b"705-AUDIO\0"):
                pcm = _unescape(line[len(b"705-AUDIO\0") : -1])
                samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32767
                assert len(samples) == int(audio["num_samples"])
                assert audio["sample_rate"] == str(SAMPLE_RATE)
                self.messages.put(("audio", samples))
            elif line.startswith(b"705-"):
                key, _, value = line[4:].decode().strip().partition("=")
                audio[key] = value
            elif line != b"705 AUDIO\n":
                self.messages.put(("line", line.decode().rstrip("\n")))

    def send(self, *lines: str) -> None:
        self._to.write("".join(f"{line}\n" for line in lines).encode())
        self._to.flush()

    def next(self, timeout: float = 10):
        return self.messages.get(timeout=timeout)

    def line(self, timeout: float = 10) -> str:
        kind, value = self.next(timeout)
        assert kind == "line", f"expected a line, got {kind}"
        return value

    def until(self, last: str, timeout: float = 20) -> list:
        """Messages up to and including the line `last` (audio as ("audio", samples))."""
        got = []
        while True:
            try:
                kind, value = self.next(timeout)
            except queue.Empty:
                seen = [g if isinstance(g, str) else "audio" for g in got]
                pytest.fail(f"no {last!r} within {timeout} s; got {seen}")
            got.append((kind, value) if kind == "audio" else value)
            if kind == "line" and value == last:
                return got

    def quiet(self, seconds: float) -> bool:
        try:
            extra = self.next(seconds)
        except queue.Empty:
            return True
        pytest.fail(f"unexpected message after the end: {extra[0]} {str(extra[1])[:60]}")

    def close(self) -> None:
        if self.thread.is_alive():
            self.send("QUIT")
            self.thread.join(10)


@pytest.fixture
def engine():
    return FakeEngine(chunk_s=0.4, synth_s=0.05)


@pytest.fixture
def wire(engine):
    w = Wire(lambda: engine)
    w.send("INIT")
    assert w.line().startswith("299-")
    assert w.line() == "299 OK LOADED SUCCESSFULLY"
    w.send("AUDIO", "audio_output_method=server", ".")
    assert w.line() == "207 OK RECEIVING AUDIO SETTINGS"
    assert w.line() == "203 OK AUDIO INITIALIZED"
    yield w
    w.close()


def _speak(w: Wire, *lines: str, command: str = "SPEAK") -> None:
    w.send(command)
    assert w.line() == "202 OK RECEIVING MESSAGE"
    w.send(*lines, ".")
    assert w.line() == "200 OK SPEAKING"


def test_escaping_round_trips_every_byte():
    data = bytes(range(256)) * 3
    escaped = escape_audio(data)
    assert b"\n" not in escaped
    assert _unescape(escaped) == data


def test_voices_settings_and_unknown_commands(wire):
    wire.send("LIST VOICES")
    voices = wire.until("200 OK VOICE LIST SENT")
    assert "200-jm_kumo\tja-JP\tmale" in voices
    assert all(v.count("\t") == 2 for v in voices[:-1])
    wire.send("LIST VOICES de")  # Kokoro has no German voice
    assert wire.line() == "304 CANT LIST VOICES"
    wire.send("SET", "rate=20", "pitch=-10", "punctuation_mode=all", "voice=female1", ".")
    assert wire.line() == "203 OK RECEIVING SETTINGS"
    assert wire.line() == "203 OK SETTINGS RECEIVED"
    wire.send("SET", "rate=fast", ".")
    assert wire.line() == "203 OK RECEIVING SETTINGS"
    assert wire.line() == "303 ERROR INVALID PARAMETER OR VALUE"
    wire.send("LOGLEVEL", "log_level=3", ".")
    assert wire.until("203 OK LOGLEVEL SET")[-1] == "203 OK LOGLEVEL SET"
    wire.send("FLY")
    assert wire.line() == "300 ERR UNKNOWN COMMAND"
    wire.send("AUDIO", "audio_output_method=pulse", ".")  # we play only through the server
    assert wire.until("303 ERROR INVALID PARAMETER OR VALUE")[0] == "207 OK RECEIVING AUDIO SETTINGS"


def test_ssml_marks_come_between_the_audio_they_separate(wire, engine):
    _speak(wire, '<speak>One &amp; two. <mark name="__spd_0"/>Three.<mark name="end"/></speak>')
    got = wire.until("702 END")
    kinds = [m if isinstance(m, str) else m[0] for m in got]
    assert kinds[0] == "701 BEGIN"
    first_mark, second_mark = kinds.index("700-__spd_0"), kinds.index("700-end")
    assert kinds[first_mark + 1] == kinds[second_mark + 1] == "700 INDEX MARK"
    before = sum(len(m[1]) for m in got[:first_mark] if not isinstance(m, str))
    between = sum(len(m[1]) for m in got[first_mark:second_mark] if not isinstance(m, str))
    assert before == between == round(0.4 * SAMPLE_RATE)  # one sentence each side
    assert [c[0] for c in engine.calls] == ["One & two. ", "Three."]  # entities decoded, tags gone
    wire.quiet(0.3)


def test_an_ssml_voice_we_have_reads_its_text_and_one_we_lack_is_ignored(wire, engine):
    wire.send("SET", "synthesis_voice=af_test", ".")
    wire.until("203 OK SETTINGS RECEIVED")
    _speak(
        wire,
        '<speak>Mine. <voice name="jm_kumo">His. </voice><voice name="zz_none">Still mine.</voice></speak>',
    )
    wire.until("702 END")
    assert [c[:2] for c in engine.calls] == [
        ("Mine. ", "af_test"),
        ("His. ", "jm_kumo"),
        ("Still mine.", "af_test"),
    ]


def test_rate_volume_and_pitch_reach_the_audio(wire, engine):
    wire.send("SET", "rate=100", "volume=0", ".")
    wire.until("203 OK SETTINGS RECEIVED")
    _speak(wire, "<speak>Fast and quiet.</speak>")
    audio = np.concatenate([m[1] for m in wire.until("702 END") if not isinstance(m, str)])
    assert engine.calls[-1][2] == pytest.approx(3.0)  # rate 100: our fastest
    assert np.abs(audio).max() == pytest.approx(0.15, abs=0.002)  # volume 0: half the tone's 0.3

    wire.send("SET", "rate=0", "volume=100", "pitch=100", ".")
    wire.until("203 OK SETTINGS RECEIVED")
    _speak(wire, "<speak>High.</speak>")
    high = np.concatenate([m[1] for m in wire.until("702 END") if not isinstance(m, str)])
    wire.send("SET", "pitch=0", ".")
    wire.until("203 OK SETTINGS RECEIVED")
    _speak(wire, "<speak>Plain.</speak>")
    plain = np.concatenate([m[1] for m in wire.until("702 END") if not isinstance(m, str)])

    def crossings_per_s(a):
        return np.count_nonzero(np.diff(np.signbit(a))) / (len(a) / SAMPLE_RATE)

    # pitch 100 is half an octave up, in the same time
    assert crossings_per_s(high) / crossings_per_s(plain) == pytest.approx(2**0.5, rel=0.03)
    assert len(high) == pytest.approx(len(plain), rel=0.02)


def test_stop_ends_the_message_at_once_and_nothing_of_it_follows(wire, engine):
    engine.synth_s = 0.3
    _speak(wire, "<speak>" + " ".join(f"Sentence {i}." for i in range(20)) + "</speak>")
    assert wire.line() == "701 BEGIN"
    assert wire.next()[0] == "audio"
    sent = time.perf_counter()
    wire.send("STOP")
    rest = wire.until("703 STOP")
    print(f"703 STOP {1000 * (time.perf_counter() - sent):.1f} ms after STOP (fake engine, pipes)")
    assert all(not isinstance(m, str) for m in rest[:-1])  # at most audio already in flight
    wire.quiet(1.0)  # the chunk being made when STOP came is dropped, and nothing else is made
    assert engine.made < 5
    _speak(wire, "<speak>Again.</speak>")  # the module takes the next message
    assert wire.until("702 END")[0] == "701 BEGIN"


def test_pause_is_answered_with_pause(wire, engine):
    engine.synth_s = 0.3
    _speak(wire, "<speak>One. <mark name='__spd_0'/>Two. Three. Four.</speak>")
    assert wire.line() == "701 BEGIN"
    wire.send("PAUSE")
    assert wire.until("704 PAUSE")[-1] == "704 PAUSE"
    wire.quiet(0.8)


def test_stop_while_the_model_is_still_loading(engine):
    ready = threading.Event()

    def slow_load():
        ready.wait(10)
        return engine

    w = Wire(slow_load)
    try:
        w.send("INIT")
        assert w.until("299 OK LOADED SUCCESSFULLY")  # INIT does not wait for the model
        _speak(w, "<speak>Early.</speak>")
        w.send("STOP")
        assert w.line() == "701 BEGIN"  # a STOP is always preceded by a BEGIN
        assert w.line() == "703 STOP"
        ready.set()
        w.quiet(0.5)
        assert engine.calls == []
    finally:
        ready.set()
        w.close()


def test_char_key_icon_and_empty_messages(wire, engine):
    _speak(wire, "a", command="CHAR")
    wire.until("702 END")
    _speak(wire, "shift_a", command="KEY")
    wire.until("702 END")
    assert [c[0] for c in engine.calls] == ["a", "shift a"]
    _speak(wire, "message", command="SOUND_ICON")
    assert wire.until("702 END") == ["701 BEGIN", "706-message", "706 ICON", "702 END"]
    wire.send("SPEAK")
    wire.line()
    wire.send("", ".")
    assert wire.line() == "301 ERROR CANT SPEAK"
    wire.send("CHAR")
    wire.line()
    wire.send("a", "b", ".")
    assert wire.line() == "305 DATA MORE THAN ONE LINE"


def test_nothing_speakable_still_begins_and_ends(wire):
    _speak(wire, "<speak><mark name='only'/></speak>")
    assert wire.until("702 END") == ["701 BEGIN", "700-only", "700 INDEX MARK", "702 END"]


def test_quit(wire):
    wire.send("QUIT")
    assert wire.line() == "210 OK QUIT"
    wire.thread.join(5)
    assert wire.rc == 0


def test_a_message_over_the_size_bound_is_cut_and_the_wire_stays_in_step(monkeypatch, engine):
    from fasttts_desktop.speechd import protocol

    monkeypatch.setattr(protocol, "MAX_BLOCK_CHARS", 40)
    w = Wire(lambda: engine)
    try:
        w.send("INIT")
        w.until("299 OK LOADED SUCCESSFULLY")
        w.send("AUDIO", "audio_output_method=server", ".")
        w.until("203 OK AUDIO INITIALIZED")
        # ten lines of 19 characters, then one far longer than anything kept: only the first two are said
        _speak(w, *(f"Line number {i:02d} ok." for i in range(10)), "x" * 1000)
        w.until("702 END")
        assert " ".join(c[0] for c in engine.calls).split() == [
            "Line",
            "number",
            "00",
            "ok.",
            "Line",
            "number",
            "01",
            "ok.",
        ]
        _speak(w, "Still in step.")  # the cut block was read to its end: the next command is read as one
        w.until("702 END")
        assert engine.calls[-1][0] == "Still in step."
    finally:
        w.close()


def test_a_line_longer_than_any_message_is_cut_without_reading_it_whole():
    import io

    from fasttts_desktop.speechd import protocol

    reader = protocol.Reader(io.BytesIO(b"a" * (4 * protocol.MAX_BLOCK_CHARS + 10) + b"\nnext\n"))
    assert len(reader.line() or "") == 4 * protocol.MAX_BLOCK_CHARS
    assert reader.line() == "next"
