"""Kokoro-82M v1.0 from the Hugging Face hub, without ever making an offline start slow.

huggingface_hub retries for ~28 s before giving up on an unreachable hub, so we never let it find that out:
files already in the HF cache are used with no network at all, and a download is attempted only after a
bounded probe saw the hub answer. The opt-outs are `use_hub=False`, FASTTTS_OFFLINE=1 and HF_HUB_OFFLINE=1.
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from fasttts_desktop.engine.types import Progress
from fasttts_desktop.engine.weights.voices import KOKORO_VOICES

log = logging.getLogger(__name__)

REPO_ID = "hexgrad/Kokoro-82M"
MODEL_FILE = "kokoro-v1_0.pth"
DEFAULT_ENDPOINT = "https://huggingface.co"


@dataclass
class HubFiles:
    model: Path
    voices: dict[str, Path] = field(default_factory=dict)  # name -> voices/<name>.pt in the HF cache


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def hub_allowed(use_hub: bool | None) -> bool:
    """`use_hub` wins when given; else the hub is used unless FASTTTS_OFFLINE or HF_HUB_OFFLINE is set."""
    if use_hub is not None:
        return use_hub
    return not (_truthy(os.environ.get("FASTTTS_OFFLINE")) or _truthy(os.environ.get("HF_HUB_OFFLINE")))


def endpoint() -> str:
    # Read at call time (huggingface_hub reads HF_ENDPOINT once, at import).
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def _hf_cache() -> str | None:
    # Same precedence as huggingface_hub, but read at call time so a changed HF_HOME is honoured.
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None  # huggingface_hub's own default


def cached_files() -> HubFiles | None:
    """Kokoro v1.0 files already in the local HF cache (model and whichever voices); no network."""
    from huggingface_hub import try_to_load_from_cache

    def lookup(filename: str) -> Path | None:
        found = try_to_load_from_cache(REPO_ID, filename, cache_dir=_hf_cache())
        return Path(found) if isinstance(found, str) and Path(found).is_file() else None

    model = lookup(MODEL_FILE)
    if model is None:
        return None
    voices = {name: path for name in KOKORO_VOICES if (path := lookup(f"voices/{name}.pt")) is not None}
    return HubFiles(model, voices)


def reachable(timeout_s: float) -> bool:
    """Whether the hub answers an HTTP request within `timeout_s`, all of it (DNS included) bounded."""
    url = f"{endpoint()}/api/models/{REPO_ID}"
    answer: list[bool] = []

    def probe() -> None:
        # S310: the hub's own endpoint (https, or the HF_ENDPOINT the user set, as huggingface_hub reads it)
        try:
            request = urllib.request.Request(url, method="HEAD")  # noqa: S310
            with urllib.request.urlopen(request, timeout=timeout_s):  # noqa: S310
                answer.append(True)
        except urllib.error.HTTPError as e:  # it answered, even if not with 200
            answer.append(e.code < 500)
        except (OSError, ValueError):
            answer.append(False)

    # getaddrinfo has no timeout of its own, so the probe runs where it may be abandoned.
    thread = threading.Thread(target=probe, name="hub-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    ok = bool(answer and answer[0])
    if not ok:
        host = urllib.parse.urlsplit(url).netloc
        log.info("Hugging Face hub at %s did not answer within %.1f s; staying offline", host, timeout_s)
    return ok


def fetch(timeout_s: float = 5.0, progress: Progress | None = None) -> HubFiles | None:
    """Kokoro v1.0's model and voices: from the HF cache, else downloaded if the hub answers."""
    cached = cached_files()
    if cached is not None and len(cached.voices) == len(KOKORO_VOICES):
        return cached
    if not reachable(timeout_s):
        return cached
    from huggingface_hub import hf_hub_download

    report = progress or (lambda _message, _fraction: None)
    wanted = [MODEL_FILE] + [f"voices/{name}.pt" for name in KOKORO_VOICES]
    paths: dict[str, Path] = {}
    try:
        for i, filename in enumerate(wanted):
            report(f"Downloading {filename} from Hugging Face", i / len(wanted))
            paths[filename] = Path(
                hf_hub_download(
                    REPO_ID, filename, cache_dir=_hf_cache(), endpoint=endpoint(), etag_timeout=timeout_s
                )
            )
    except Exception as e:  # noqa: BLE001 - any failure here means "use what we have", never "fail the start"
        log.warning("Download from the Hugging Face hub failed (%s); using what is available offline", e)
        return cached_files()
    report("Downloaded Kokoro-82M v1.0", 1.0)
    voices = {name: paths[f"voices/{name}.pt"] for name in KOKORO_VOICES}
    return HubFiles(paths[MODEL_FILE], voices)
