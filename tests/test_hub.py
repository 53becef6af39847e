"""The Hugging Face hub step: the HF cache first, a download only when the hub answers, never a slow start.

No test here reaches the real hub: "the hub" is a closed port, a port that accepts connections and never
answers, or a small local server speaking enough of the hub's protocol for huggingface_hub to download.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from timing_budget import within_budget

from fasttts_desktop.engine.weights import hub
from fasttts_desktop.engine.weights.store import HUB_SOURCE, OFFLINE_SOURCE, load_weights
from fasttts_desktop.engine.weights.voices import KOKORO_VOICES

JAPANESE = {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"}
COMMIT = "f3ba6a5a1e8e1ad3a5e5cbbd6a3e5b0f0c2a1d4e"


@pytest.fixture(scope="module")
def kokoro_files(weights, tmp_path_factory) -> dict[str, Path]:
    """What hexgrad/Kokoro-82M holds, by repo path: kokoro-v1_0.pth in kokoro's layout, its 54 voices."""
    root = tmp_path_factory.mktemp("kokoro-repo")
    nested: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in weights.state_dict.items():
        if not re.search(r"\.norm\.(weight|bias)$|^bert\.pooler\.", key):  # absent from kokoro's checkpoint
            top, rest = key.split(".", 1)
            nested.setdefault(top, {})["module." + rest] = value
    files = {hub.MODEL_FILE: root / hub.MODEL_FILE}
    torch.save(nested, files[hub.MODEL_FILE])
    (root / "voices").mkdir()
    for i, name in enumerate(KOKORO_VOICES):
        files[f"voices/{name}.pt"] = root / "voices" / f"{name}.pt"
        torch.save(
            torch.randn(510, 1, 256, generator=torch.Generator().manual_seed(i)), files[f"voices/{name}.pt"]
        )
    return files


@pytest.fixture(autouse=True)
def no_installed_voices(tmp_path, monkeypatch):
    """The hub as the only source of kokoro's voices beyond the five Japanese ones."""
    monkeypatch.setenv("FASTTTS_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def hf_home(tmp_path, monkeypatch) -> Path:
    """An empty HF cache of our own; the user's is never read."""
    home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return home


def fill_hf_cache(home: Path, files: dict[str, Path]) -> None:
    """The HF cache layout that huggingface_hub.try_to_load_from_cache reads."""
    repo = home / "hub" / "models--hexgrad--Kokoro-82M"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    for name, src in files.items():
        dst = repo / "snapshots" / COMMIT / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(src)


@pytest.fixture
def closed_port(monkeypatch) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    return port


@pytest.fixture
def blackhole(monkeypatch):
    """A port that completes the TCP handshake and then never says a word."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{s.getsockname()[1]}")
    yield
    s.close()


@pytest.fixture
def no_probe(monkeypatch):
    def fail(timeout_s):
        raise AssertionError("the hub was probed")

    monkeypatch.setattr(hub, "reachable", fail)


class _FakeHub(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, Path]] = {}  # each fake_hub gets a subclass with its own
    requests: ClassVar[list[str]] = []

    def do_HEAD(self):
        self._answer(body=False)

    def do_GET(self):
        self._answer(body=True)

    def _answer(self, body: bool):
        path = self.path.split("?")[0]
        self.requests.append(f"{self.command} {path}")
        prefix = f"/{hub.REPO_ID}/resolve/main/"
        if path == f"/api/models/{hub.REPO_ID}":
            data = b"{}"
            self.send_response(200)
        elif path.startswith(prefix) and path[len(prefix) :] in self.files:
            data = self.files[path[len(prefix) :]].read_bytes()
            self.send_response(200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{hashlib.sha1(data, usedforsecurity=False).hexdigest()}"')
        else:
            data = b"not found"
            self.send_response(404)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_hub(monkeypatch):
    """A local hub; set `.files` (repo path -> local file) before use."""
    handler = type("Hub", (_FakeHub,), {"files": {}, "requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    yield handler
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("env", "use_hub", "allowed"),
    [
        pytest.param({}, None, True, id="default"),
        pytest.param({"FASTTTS_OFFLINE": "1"}, None, False, id="FASTTTS_OFFLINE"),
        pytest.param({"HF_HUB_OFFLINE": "1"}, None, False, id="HF_HUB_OFFLINE"),
        pytest.param({"HF_HUB_OFFLINE": "0"}, None, True, id="HF_HUB_OFFLINE=0"),
        pytest.param({}, False, False, id="use_hub=False"),
        pytest.param({"FASTTTS_OFFLINE": "1"}, True, True, id="use_hub=True-wins"),
    ],
)
def test_hub_allowed(monkeypatch, env, use_hub, allowed):
    for name in ("FASTTTS_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert hub.hub_allowed(use_hub) is allowed


@pytest.mark.parametrize("unreachable", ["closed_port", "blackhole"])
def test_unreachable_hub_costs_seconds_and_falls_back_offline(
    weights, weights_cache_dir, hf_home, request, unreachable
):
    request.getfixturevalue(unreachable)
    timeout = 3.0
    t0 = time.perf_counter()
    assert hub.fetch(timeout) is None
    within_budget("a hub fetch that cannot connect", time.perf_counter() - t0, timeout + 0.5)
    t0 = time.perf_counter()
    w = load_weights(use_hub=True, hub_timeout_s=timeout, cache_dir=weights_cache_dir)
    elapsed = time.perf_counter() - t0
    assert w.source == OFFLINE_SOURCE and w.fingerprint == weights.fingerprint
    assert set(w.voices) == JAPANESE
    within_budget("offline fallback after the hub timed out", elapsed, 6.0)


def test_hf_cache_is_used_first_even_when_the_hub_is_down(
    weights, weights_cache_dir, hf_home, blackhole, kokoro_files
):
    fill_hf_cache(
        hf_home, {k: v for k, v in kokoro_files.items() if k in (hub.MODEL_FILE, "voices/af_heart.pt")}
    )
    t0 = time.perf_counter()
    w = load_weights(use_hub=True, hub_timeout_s=1.0, cache_dir=weights_cache_dir)
    within_budget("loading through the hub", time.perf_counter() - t0, 6.0)
    assert w.source == HUB_SOURCE
    assert w.fingerprint == weights.fingerprint  # the same Kokoro v1.0 values, read from kokoro's .pth layout
    assert set(w.voices) == JAPANESE | {"af_heart"}


def test_complete_hf_cache_needs_no_network(weights_cache_dir, hf_home, no_probe, kokoro_files):
    fill_hf_cache(hf_home, kokoro_files)
    w = load_weights(use_hub=True, cache_dir=weights_cache_dir)
    assert w.source == HUB_SOURCE
    assert set(w.voices) == set(KOKORO_VOICES)


@pytest.mark.parametrize(
    ("env", "use_hub"),
    [
        pytest.param({"FASTTTS_OFFLINE": "1"}, None, id="FASTTTS_OFFLINE"),
        pytest.param({"HF_HUB_OFFLINE": "1"}, None, id="HF_HUB_OFFLINE"),
        pytest.param({}, False, id="use_hub=False"),
    ],
)
def test_opting_out_ignores_even_the_hf_cache(
    weights_cache_dir, hf_home, no_probe, kokoro_files, monkeypatch, env, use_hub
):
    fill_hf_cache(hf_home, kokoro_files)
    for name in ("FASTTTS_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    w = load_weights(use_hub=use_hub, cache_dir=weights_cache_dir)
    assert w.source == OFFLINE_SOURCE and set(w.voices) == JAPANESE


@pytest.mark.skipif(
    os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"),
    reason="huggingface_hub refuses every download when HF_HUB_OFFLINE is set at import",
)
def test_answering_hub_is_downloaded_from_then_cached(
    weights, weights_cache_dir, hf_home, fake_hub, kokoro_files
):
    fake_hub.files = kokoro_files
    progress = []
    w = load_weights(use_hub=True, cache_dir=weights_cache_dir, progress=lambda m, f: progress.append((m, f)))
    assert w.source == HUB_SOURCE and w.fingerprint == weights.fingerprint
    assert set(w.voices) == set(KOKORO_VOICES)
    assert any("Downloading" in m for m, _ in progress)
    cached = hub.cached_files()
    assert cached is not None and len(cached.voices) == len(KOKORO_VOICES)
    fake_hub.requests.clear()
    load_weights(use_hub=True, cache_dir=weights_cache_dir)
    assert fake_hub.requests == []  # everything came from the HF cache


def test_failed_download_falls_back_offline(weights_cache_dir, hf_home, fake_hub):
    fake_hub.files = {}  # the hub answers, but 404s every file
    w = load_weights(use_hub=True, cache_dir=weights_cache_dir)
    assert w.source == OFFLINE_SOURCE and set(w.voices) == JAPANESE
