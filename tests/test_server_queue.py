"""The speech API's sharing of one engine, on a real uvicorn server in this process with the test engine
(tones, a fixed time per sentence): requests wait their turn up to the queue's size, the next one is
refused with 429 + Retry-After, and a client that leaves stops its request."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from fasttts_desktop.engine.types import SAMPLE_RATE
from tests.fake_engine import FakeEngine

openai = pytest.importorskip("openai")
uvicorn = pytest.importorskip("uvicorn")


@pytest.fixture
def served():
    from fasttts_desktop.server.app import create_app

    engine = FakeEngine(chunk_s=0.4, synth_s=0.25)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(engine, queue_size=1, hosts=["127.0.0.1", "localhost"]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    yield engine, openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
    server.should_exit = True
    thread.join(10)


SIX = " ".join(f"Sentence number {i}." for i in range(6))  # 1.5 s on the test engine


def _speak(client, text=SIX):
    try:
        return len(
            client.audio.speech.create(
                model="kokoro", voice="jm_kumo", input=text, response_format="pcm"
            ).content
        )
    except openai.RateLimitError as exc:
        return exc


def test_one_speaks_one_waits_the_next_is_refused(served):
    engine, client = served
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(_speak, client)
        while not engine.made:
            time.sleep(0.01)
        second = pool.submit(_speak, client)
        time.sleep(0.2)
        third = pool.submit(_speak, client)
        refused = third.result(30)
        results = [first.result(30), second.result(30)]
    full = 6 * round(0.4 * SAMPLE_RATE) * 2  # bytes of 16-bit audio for six sentences
    assert results == [full, full]  # the waiting one was served whole after the first
    assert isinstance(refused, openai.RateLimitError)
    assert int(refused.response.headers["retry-after"]) >= 1
    assert [c[0] for c in engine.calls] == [SIX, SIX]  # the refused one never reached the engine


def test_a_client_that_leaves_stops_its_request(served):
    engine, client = served
    long_text = " ".join(f"Sentence {i}." for i in range(40))  # 10 s on the test engine
    with client.audio.speech.with_streaming_response.create(
        model="kokoro", voice="jm_kumo", input=long_text, response_format="pcm"
    ) as response:
        next(response.iter_bytes())
    time.sleep(1.0)
    made = engine.made
    time.sleep(1.0)
    assert engine.made == made < 15  # stopped soon after the client left, not at the end of the text
    assert _speak(client, "Next.") == round(0.4 * SAMPLE_RATE) * 2  # and the engine is free


@pytest.mark.parametrize("fmt", ["pcm", "mp3", "opus"])
def test_audio_is_sent_as_each_chunk_is_made(served, fmt):
    """The engine is held after its first sentence: that sentence's audio still reaches the client."""
    engine, client = served
    gate, holding = threading.Event(), threading.Event()
    original = engine.stream

    def held(*args, **kwargs):
        for i, chunk in enumerate(original(*args, **kwargs)):
            if i == 1:
                holding.set()
                gate.wait(30)
                holding.clear()
            yield chunk

    engine.stream = held
    try:
        with client.audio.speech.with_streaming_response.create(
            model="kokoro", voice="jm_kumo", input="One. Two. Three.", response_format=fmt
        ) as response:
            pieces = response.iter_bytes()
            first = next(pieces)
            assert first
            assert holding.wait(10)  # sent before the second sentence was let out of the engine
            gate.set()
            rest = b"".join(pieces)
    finally:
        gate.set()
    if fmt == "pcm":
        assert len(first) + len(rest) == 3 * round(0.4 * SAMPLE_RATE) * 2


def test_only_json_is_taken(served):
    """A form post (what a web page can send to any address without asking) is refused before any work."""
    engine, client = served
    url = str(client.base_url).rstrip("/") + "/audio/speech"
    body = json.dumps({"model": "kokoro", "input": "Hello.", "voice": "jm_kumo"}).encode()
    for kind in ("text/plain", "application/x-www-form-urlencoded"):
        request = urllib.request.Request(url, data=body, headers={"Content-Type": kind})  # noqa: S310 - loopback
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 - http to our own server
        assert caught.value.code == 415
        assert "application/json" in json.loads(caught.value.read())["error"]["message"]
    assert engine.calls == []


def test_other_host_names_are_refused(served):
    """A page whose name was pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host."""
    engine, client = served
    url = str(client.base_url).rstrip("/") + "/audio/speech"
    body = json.dumps({"model": "kokoro", "input": "Hello.", "voice": "jm_kumo"}).encode()
    headers = {"Content-Type": "application/json", "Host": "attacker.example"}
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - loopback
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - http to our own server
    assert caught.value.code == 400
    assert engine.calls == []
