"""With the network really cut (not just an env var), the app still starts and speaks, promptly."""

from __future__ import annotations

import re
import time

from audio_checks import read_wav
from netcut import run_without_network

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
    assert " · voice af_heart · " in done.stdout  # kokoro's voices, installed once, need no network
    load_s = float(done.stdout.rsplit("engine load ", 1)[1].split(" s")[0])
    print(f"netcut={done.netcut} engine load {load_s:.1f} s, whole run {elapsed:.1f} s")


SAY_JA = """
import sys
from fasttts_desktop.cli import main
sys.exit(
    main(["say", "こんにちは、世界。", "-o", {out!r}, "--device", "cpu", "--voice", "jm_kumo:70,jf_alpha:30"])
)
"""


def test_say_reads_japanese_with_a_blend_and_the_network_cut(cli_env, tmp_path):
    out = tmp_path / "ja.wav"
    done = run_without_network(SAY_JA.format(out=str(out)), env=cli_env, timeout=600)
    assert done.returncode == 0, f"[{done.netcut}] {done.stderr[-3000:]}"
    assert "warning" not in done.stderr, done.stderr
    audio, rate = read_wav(out)
    # about 1.2 s for nine morae; the English front end would have spelt out "Japanese letter" nine times
    assert rate == 24_000 and 0.6 < len(audio) / rate < 3.0 and abs(audio).max() > 0.05


VOICES_AND_MIXED = """
import sys
from fasttts_desktop.cli import main
main(["phonemes", "今日はHello worldと言った。", "--lang", "ja"])
sys.exit(main(["voices", "--device", "cpu"]))
"""


def test_all_54_voices_and_mixed_sentences_with_the_network_cut(cli_env):
    done = run_without_network(VOICES_AND_MIXED, env=cli_env, timeout=600)
    assert done.returncode == 0, f"[{done.netcut}] {done.stderr[-3000:]}"
    assert "kʲoː βa həlˈO wˈɜɹld to iʔta." in done.stdout  # the English words read as English words
    listed = [line.split()[0] for line in done.stdout.splitlines() if re.match(r"  [a-z]{2}_", line)]
    assert len(listed) == 54 and "af_heart" in listed
