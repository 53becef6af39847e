"""`fasttts-desktop serve` with the real model, spoken to by the real `openai` client over HTTP on 127.0.0.1:
streamed speech in every format (decoded back with PyAV), voice blends, the voice list, word timestamps,
a busy server's 429 with Retry-After, bad requests as JSON 4xx errors, and the API-key rule.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np
import pytest

pytestmark = pytest.mark.slow

openai = pytest.importorskip("openai")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, key: str | None = None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})  # noqa: S310 - http to our own server
    try:
        with urllib.request.urlopen(request, timeout=5) as r:  # noqa: S310 - http to our own server
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _start(cli_env, *args: str, env: dict | None = None):
    port = _free_port()
    # the server's log: a file never fills up and blocks the server as an unread pipe can; closed in _stop
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "fasttts_desktop", "serve", "--port", str(port), "--device", "cpu", *args],
        env={**cli_env, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    proc.log = log  # type: ignore[attr-defined]
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, _log_of(proc)
        assert time.monotonic() < deadline, "the server did not come up"
        try:
            _get(f"http://127.0.0.1:{port}/v1/models", (env or {}).get("FASTTTS_API_KEY"))
        except OSError:
            time.sleep(0.2)
        else:
            return proc, f"http://127.0.0.1:{port}/v1"


def _log_of(proc) -> str:
    proc.log.seek(0)
    return proc.log.read()


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log.close()


@pytest.fixture(scope="module")
def server(cli_env):
    """One engine, no waiting room: a second request while one speaks is refused (429)."""
    proc, base = _start(cli_env, "--queue", "0")
    _SERVERS[base] = proc
    yield base
    _stop(proc)


_SERVERS: dict[str, subprocess.Popen] = {}


def _client(base: str, **kw):
    return openai.OpenAI(base_url=base, api_key="unused-on-loopback", **kw)


def _decode(data: bytes) -> tuple[np.ndarray, int]:
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray().reshape(-1) for f in container.decode(stream)]
        return np.concatenate(frames), stream.rate


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac", "wav", "pcm"])
def test_speech_in_each_format(server, fmt):
    client = _client(server)
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="jm_kumo", input="Rice is often served in round bowls.", response_format=fmt
    ) as response:
        assert response.status_code == 200
        pieces = list(response.iter_bytes(4096))
    data = b"".join(pieces)
    if fmt == "pcm":  # OpenAI's pcm: 24 kHz 16-bit little-endian mono
        audio, rate = np.frombuffer(data, "<i2").astype(np.float32) / 32767, 24_000
    else:
        audio, rate = _decode(data)
    seconds = len(audio) / rate
    print(f"{fmt}: {len(data):,} bytes, {seconds:.2f} s")
    assert 1.0 < seconds < 6.0
    assert np.abs(audio).max() > 0.05  # speech, not silence


def test_speech_is_streamed_as_it_is_made(server):
    """Two sentences come as more than one piece (that each leaves as it is made is proven with the test
    engine in test_server_queue.py)."""
    client = _client(server)
    text = "It is easy to tell the depth of a well. Four hours of steady work faced us."
    arrivals = []
    with client.audio.speech.with_streaming_response.create(
        model="kokoro", voice="jm_kumo", input=text, response_format="pcm"
    ) as response:
        arrivals.extend((time.perf_counter(), len(piece)) for piece in response.iter_bytes())
    first, last = arrivals[0][0], arrivals[-1][0]
    total_s = sum(n for _, n in arrivals) / 2 / 24_000
    print(f"stream: {len(arrivals)} pieces over {last - first:.2f} s, {total_s:.1f} s of audio")
    assert len(arrivals) > 1  # more than one piece, spread over the making


def test_blend_and_speed(server):
    client = _client(server)
    normal = client.audio.speech.create(
        model="tts-1", voice="jm_kumo+jf_alpha", input="Rice is often served.", response_format="wav"
    ).content
    faster = client.audio.speech.create(
        model="tts-1", voice="jm_kumo(2)+jf_alpha(1)", input="Rice is often served.", response_format="wav",
        speed=2.0,
    ).content  # fmt: skip
    assert len(faster) < 0.7 * len(normal)


def test_voices_listed(server):
    status, body = _get(f"{server}/audio/voices")
    assert status == 200
    assert "jm_kumo" in body["voices"]
    assert {"name": "jm_kumo", "language": "Japanese", "lang_code": "j", "gender": "male"} in body["details"]


def test_word_timestamps(server):
    request = urllib.request.Request(  # noqa: S310 - http to our own server
        f"{server}/audio/speech/captioned",
        data=json.dumps(
            {"model": "kokoro", "input": "Hello there. Rice is good.", "response_format": "wav"}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as r:  # noqa: S310 - our own server on loopback
        lines = [json.loads(line) for line in r.read().splitlines()]
    words = [w for line in lines for w in line["timestamps"]]
    assert [w["word"] for w in words] == ["Hello", "there", "Rice", "is", "good"]
    starts = [w["start_time"] for w in words]
    assert starts == sorted(starts)
    assert all(w["end_time"] > w["start_time"] for w in words)


def test_busy_server_says_429_with_retry_after(server):
    client = _client(server, max_retries=0)
    # ~8 min of audio, more than the socket buffers hold (~24 MB of PCM): the server makes only a few chunks
    # ahead of what the client reads, so this request holds the engine until it is abandoned below
    long_text = "Glue the sheet to the dark blue background. " * 200
    started, refused = threading.Event(), threading.Event()
    outcome = {}

    def first():
        with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="jm_kumo", input=long_text, response_format="pcm"
        ) as response:
            outcome["first"] = response.status_code
            # the iterator is kept: dropping it would close the stream, and the server would rightly
            # cancel a request whose client went away
            pieces = response.iter_bytes()
            outcome["head"] = next(pieces)[:200]
            started.set()
            refused.wait(120)
            outcome["still_streaming"] = len(next(pieces)) > 0
        # leaving the block closes the connection half-way: the server drops the rest of that request

    t = threading.Thread(target=first)
    t.start()
    assert started.wait(120)
    try:
        client.audio.speech.create(model="tts-1", voice="jm_kumo", input="Me too.", response_format="pcm")
    except openai.RateLimitError as exc:
        caught = exc
    else:
        log = _log_of(_SERVERS[server])
        pytest.fail(f"a second request was served while the first spoke ({outcome}); its log:\n{log}")
    finally:
        refused.set()
        t.join(120)
    assert outcome["first"] == 200
    assert outcome["still_streaming"]  # the first request was still being served when the second was refused
    response = caught.response
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "busy" in caught.body["message"]
    # the engine is free again for the next one (the abandoned request was cancelled, not finished)
    deadline = time.monotonic() + 120
    while True:
        try:
            answer = client.audio.speech.create(
                model="tts-1", voice="jm_kumo", input="Yes.", response_format="pcm"
            )
            break
        except openai.RateLimitError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert len(answer.content) > 24_000  # half a second of 16-bit audio at least


@pytest.mark.parametrize(
    ("kwargs", "param", "words"),
    [
        pytest.param({"input": ""}, "input", "non-empty", id="empty-input"),
        pytest.param({"voice": "nobody"}, "voice", "Unknown voice 'nobody'", id="unknown-voice"),
        pytest.param({"response_format": "ogg"}, "response_format", "Unknown response_format", id="format"),
        pytest.param({"speed": 9.0}, "speed", "'speed' must be from", id="speed"),
        pytest.param({"model": "whisper-1"}, "model", "Unknown model", id="model"),
        pytest.param({"input": "!!! ..."}, "input", "nothing speakable", id="unspeakable"),
        pytest.param({"stream_format": "sse"}, "stream_format", "Only stream_format", id="sse"),
    ],
)
def test_bad_requests_get_a_clear_json_error(server, kwargs, param, words):
    client = _client(server, max_retries=0)
    args = {"model": "tts-1", "voice": "jm_kumo", "input": "Hello.", **kwargs}
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(**args)
    assert caught.value.status_code == 400
    assert caught.value.body["param"] == param
    assert words in caught.value.body["message"]


def test_malformed_json_is_a_400(server):
    request = urllib.request.Request(  # noqa: S310 - http to our own server
        f"{server}/audio/speech", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - our own server on loopback
    assert caught.value.code == 400
    assert "not valid JSON" in json.loads(caught.value.read())["error"]["message"]


def test_beyond_loopback_needs_a_key(cli_env):
    done = subprocess.run(
        [sys.executable, "-m", "fasttts_desktop", "serve", "--host", "0.0.0.0"],  # noqa: S104 - refused
        env={k: v for k, v in cli_env.items() if k != "FASTTTS_API_KEY"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "API key" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_key_is_checked(cli_env):
    proc, base = _start(cli_env, env={"FASTTTS_API_KEY": "s3cret-key"})
    try:
        wrong = openai.OpenAI(base_url=base, api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.audio.speech.create(model="tts-1", voice="jm_kumo", input="Hello.", response_format="pcm")
        right = openai.OpenAI(base_url=base, api_key="s3cret-key", max_retries=0)
        assert right.audio.speech.create(
            model="tts-1", voice="jm_kumo", input="Hello.", response_format="pcm"
        ).content
    finally:
        _stop(proc)
