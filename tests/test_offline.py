"""With the network really cut (not just an env var), the app still starts and speaks, promptly."""

from __future__ import annotations

import time

from netcut import run_without_network

from fasttts_desktop.wavfile import read_wav

SAY = """
import sys
from fasttts_desktop.cli import main
sys.exit(main(["say", "Glue the sheet to the dark blue background.", "-o", {out!r}, "--device", "cpu"]))
"""


def test_say_works_with_the_network_cut_and_hub_allowed(cli_env, tmp_path):
    out = tmp_path / "offline.wav"
    env = dict(cli_env)
    # Let the app try the hub, as it does for a user: it must notice quickly that it cannot reach it.
    for var in ("FASTTTS_OFFLINE", "HF_HUB_OFFLINE"):
        env[var] = None
    env["HF_HOME"] = str(tmp_path / "hf")  # an empty HF cache: nothing to fall back on there
    t0 = time.perf_counter()
    done = run_without_network(SAY.format(out=str(out)), env=env, timeout=600)
    elapsed = time.perf_counter() - t0
    assert done.returncode == 0, f"[{done.netcut}] {done.stderr[-3000:]}"
    audio, rate = read_wav(out)
    assert rate == 24_000 and len(audio) / rate > 1.5 and abs(audio).max() > 0.05
    load_s = float(done.stdout.rsplit("engine load ", 1)[1].split(" s")[0])
    print(f"netcut={done.netcut} engine load {load_s:.1f} s, whole run {elapsed:.1f} s")
