"""A wheel built from the repo installs with `pipx install` and with `uv tool install` into a fresh
environment of its own, and `say` speaks from it (and install-desktop-entry names that environment).

Only the package index is used, as the README's set-up does: the sources pip is configured with (this
machine's pip.conf, PIP_* variables) are handed to uv too. torch is held to the build this venv has (the CPU
build scripts/setup picked), or kokoro's bare `torch` requirement would pull the multi-GB CUDA build; pip's
and uv's own caches make a second run take well under a minute with uv and a few with pipx (pip unpacks
about 2 GB either way).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fasttts_desktop.desktop import APP_ID

REPO = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the package's sources (a build in place leaves build/ behind)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(
        REPO / "fasttts_desktop", src / "fasttts_desktop", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("fasttts_desktop-*.whl")
    return built


def pip_sources() -> tuple[list[str], dict[str, str]]:
    """uv's options and environment for the package sources and certificates pip is configured with."""
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    ).stdout
    args: list[str] = []
    env: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for line in listing.splitlines():
        match = re.fullmatch(r"[^.]*\.([a-z-]+)='(.*)'", line.strip())
        if not match:
            continue
        key, value = match.groups()
        for item in value.split():
            if (key, item) in seen:
                continue
            seen.add((key, item))
            if key == "index-url":
                args += ["--default-index", item]
            elif key == "extra-index-url":
                args += ["--index", item]
            elif key == "find-links":
                args += ["--find-links", item]
            elif key == "constraint":
                args += ["--constraints", item]
            elif key == "cert":
                env["SSL_CERT_FILE"] = item
    return args, env


def install(tool: str, wheel: Path, root: Path) -> tuple[Path, Path, dict[str, str]]:
    """Install `wheel` with `tool` under `root`: (its launcher, its environment's folder, the env to run
    it with). The test's own PYTHONPATH is dropped, so the installed package is the one that runs."""
    constraints = root / "constraints.txt"
    constraints.write_text(f"torch=={version('torch')}\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HF_HUB_OFFLINE"] = "1"
    if tool == "pipx":
        env |= {
            "PIPX_HOME": str(root / "pipx"),
            "PIPX_BIN_DIR": str(root / "bin"),
            "PIPX_MAN_DIR": str(root / "man"),
        }
        cmd = [sys.executable, "-m", "pipx", "install", "--backend", "pip", "--python", sys.executable]
        cmd += [f"--pip-args=--constraint {constraints}", str(wheel)]
        venv = root / "pipx" / "venvs" / "fasttts-desktop"
    else:
        args, extra = pip_sources()
        env |= extra | {"UV_TOOL_DIR": str(root / "tools"), "UV_TOOL_BIN_DIR": str(root / "bin")}
        cmd = [sys.executable, "-m", "uv", "tool", "install", "--python", sys.executable]
        cmd += ["--constraints", str(constraints), *args, str(wheel)]
        venv = root / "tools" / "fasttts-desktop"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"{tool} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return root / "bin" / "fasttts-desktop", venv, env


@pytest.mark.parametrize("tool", ["pipx", "uv"])
def test_the_wheel_installs_as_a_tool_and_says_a_sentence(tool, wheel, tmp_path, weights):
    launcher, venv, env = install(tool, wheel, tmp_path)
    site = next(venv.glob("lib/python3*/site-packages"))
    assert (site / "fasttts_desktop" / "resources" / "icon.svg").is_file()
    assert not list(site.glob("nvidia_*")), "the CUDA build of torch came in"
    assert (site / f"torch-{version('torch')}.dist-info").is_dir()

    out = tmp_path / "said.wav"
    said = subprocess.run(
        [
            str(launcher),
            "say",
            "The birch canoe slid on the smooth planks.",
            "-o",
            str(out),
            "--device",
            "cpu",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert said.returncode == 0, said.stderr
    audio, rate = sf.read(out, dtype="float32")
    assert rate == 24_000 and 1.5 < len(audio) / rate < 6.0
    assert float(np.sqrt(np.mean(audio**2))) > 0.01  # speech, not silence

    # The menu entry made from the installed tool starts that tool's environment.
    env["XDG_DATA_HOME"] = str(tmp_path / "share")
    made = subprocess.run([str(launcher), "install-desktop-entry"], env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    entry = (tmp_path / "share" / "applications" / f"{APP_ID}.desktop").read_text()
    assert f"Exec={venv / 'bin' / 'fasttts-desktop'} %f\n" in entry
