"""Several real processes changing the lexicon or the saved blends at the same moment: no change is lost.

Each writer is its own interpreter running the CLI's `main`; all of them import first and then wait for
one start signal (a file appearing), so their read-modify-write cycles overlap rather than queue behind
interpreter start-up. At 251d4a0 (atomic writes, no lock) the file stayed valid JSON but lost entries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from robust_helpers import REPO

WRITERS = 4
EACH = 15

_WRITER = """
import os, sys, time
from fasttts_desktop import cli
from fasttts_desktop.engine.storage import blends
from fasttts_desktop.engine.text import lexicon
go, who, each, command = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
for i in range(each):
    if command == "lexicon":
        argv = ["lexicon", "add", f"{who}word{i}", f"said {who} {i}"]
    else:
        argv = ["blend", "save", f"{who}mix{i}", f"jm_kumo:{i + 1},jf_alpha:40"]
    code = cli.main(argv)
    if code:
        sys.exit(code)
"""


def run_writers(tmp_path, command: str) -> list[subprocess.CompletedProcess]:
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO), "FASTTTS_CONFIG_DIR": str(tmp_path / "config")}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(go), f"w{n}", str(EACH), command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for n in range(WRITERS)
    ]
    for writer in writers:  # every writer has imported everything and waits
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready", writer.communicate()[1]
    go.touch()
    done = []
    deadline = time.monotonic() + 240
    for writer in writers:
        out, err = writer.communicate(timeout=max(1.0, deadline - time.monotonic()))
        done.append(subprocess.CompletedProcess(writer.args, writer.returncode, out, err))
    return done


@pytest.mark.parametrize("command", ["lexicon", "blend"])
def test_concurrent_writers_keep_every_change(tmp_path, command):
    results = run_writers(tmp_path, command)
    for result in results:
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    config = tmp_path / "config"
    if command == "lexicon":
        saved = json.loads((config / "lexicon.json").read_text(encoding="utf-8"))
        keys = {entry["text"] for entry in saved["entries"]}
        expected = {f"w{n}word{i}" for n in range(WRITERS) for i in range(EACH)}
    else:
        keys = set(json.loads((config / "blends.json").read_text(encoding="utf-8")))
        expected = {f"w{n}mix{i}" for n in range(WRITERS) for i in range(EACH)}
    assert keys == expected, f"lost: {sorted(expected - keys)}"
    assert not [p.name for p in config.iterdir() if p.name.endswith(".part")]
