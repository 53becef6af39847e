"""Voice blends on the real offline voice packs: parsing, the weighted sum, saving, and the engine speaking
one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from audio_checks import pitch_track

from fasttts_desktop.engine.storage.blends import (
    Blend,
    blend_of,
    blend_pack,
    delete_blend,
    parse_blend,
    save_blend,
    saved_blends,
)
from fasttts_desktop.engine.types import SAMPLE_RATE, EngineError
from fasttts_desktop.engine.weights.voices import offline_voices


@pytest.fixture(scope="module")
def packs():
    return offline_voices()


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTTTS_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


@pytest.mark.parametrize(
    ("spec", "parts"),
    [
        pytest.param("jm_kumo:60,jf_alpha:40", [("jm_kumo", 0.6), ("jf_alpha", 0.4)], id="percent"),
        pytest.param("jm_kumo(2)+jf_alpha(1)", [("jm_kumo", 2 / 3), ("jf_alpha", 1 / 3)], id="fastapi-form"),
        pytest.param(" jf_alpha : 3 + jm_kumo:1 ", [("jf_alpha", 0.75), ("jm_kumo", 0.25)], id="spaces"),
        pytest.param("jf_alpha,jm_kumo", [("jf_alpha", 0.5), ("jm_kumo", 0.5)], id="bare-names"),
        pytest.param("jf_alpha:1,jf_alpha:1,jm_kumo:2", [("jf_alpha", 0.5), ("jm_kumo", 0.5)], id="repeated"),
    ],
)
def test_specs_are_read_and_weights_normalised(spec, parts):
    blend = parse_blend(spec)
    assert [n for n, _ in blend.parts] == [n for n, _ in parts]
    assert [w for _, w in blend.parts] == pytest.approx([w for _, w in parts])
    assert sum(w for _, w in blend.parts) == pytest.approx(1.0)
    assert parse_blend(blend.spec) == blend or parse_blend(blend.spec).spec == blend.spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("", "Cannot read", id="empty"),
        pytest.param("jm_kumo:abc", "Cannot read", id="word-weight"),
        pytest.param("jm_kumo:-1,jf_alpha:2", "Cannot read", id="negative"),
        pytest.param("jm_kumo:0,jf_alpha:0", "add up to nothing", id="all-zero"),
        pytest.param("a:1,b:1,c:1,d:1", "at most 3", id="four-voices"),
    ],
)
def test_bad_specs_are_one_clear_line(spec, message):
    with pytest.raises(EngineError, match=message):
        parse_blend(spec)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        pytest.param([("jm_kumo", float("nan"))], "is not a number (NaN)", id="nan"),
        pytest.param([("jm_kumo", float("inf")), ("jf_alpha", 1)], "is infinite", id="infinity"),
        pytest.param([("jm_kumo", -1), ("jf_alpha", 1)], "is negative (-1)", id="negative"),
        pytest.param([("jm_kumo", 0)], "add up to nothing", id="zero"),
        pytest.param([("jm_kumo", "60")], "is not a number", id="text"),
        pytest.param([("jm_kumo", True)], "is not a number", id="boolean"),
    ],
)
def test_weights_are_checked_with_the_reason_named(parts, message):
    with pytest.raises(EngineError) as err:
        blend_of(parts, "the saved blend 'duo'")
    assert message in str(err.value) and "the saved blend 'duo'" in str(err.value)


def test_weights_near_the_float_limit_still_mix_and_400_nines_are_named_not_echoed():
    assert blend_of([("jm_kumo", 1e308), ("jf_alpha", 1e308)], "x").parts == (
        ("jm_kumo", 0.5),
        ("jf_alpha", 0.5),
    )
    with pytest.raises(EngineError, match=r"is too large") as err:
        parse_blend("jm_kumo:" + "9" * 400 + ",jf_alpha:1")
    assert "nan" not in str(err.value) and len(str(err.value)) < 150


def test_a_100_to_0_blend_is_the_voice_exactly(packs):
    pack = blend_pack(parse_blend("jm_kumo:100,jf_alpha:0"), packs)
    assert torch.equal(pack, packs["jm_kumo"])


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("jm_kumo", "jf_alpha", id="japanese"),
        pytest.param("af_heart", "ff_siwis", id="across-languages"),  # kokoro's installed voices
    ],
)
def test_blend_rows_are_the_weighted_sum(packs, first, second):
    a, b = packs[first], packs[second]
    pack = blend_pack(parse_blend(f"{first}:60,{second}:40"), packs)
    assert pack.shape == a.shape
    torch.testing.assert_close(pack, 0.6 * a + 0.4 * b)
    # every style row lies between the two voices'
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    assert bool(((pack >= lo - 1e-6) & (pack <= hi + 1e-6)).all())
    assert not torch.equal(pack, a) and not torch.equal(pack, b)
    with pytest.raises(EngineError, match="Unknown voice 'xx_nope'"):
        blend_pack(parse_blend("jm_kumo:1,xx_nope:1"), packs)


def test_blends_are_saved_in_order_and_deleted(config):
    assert saved_blends() == {}
    save_blend("warm", "jm_kumo:70,jf_alpha:30")
    save_blend("bright", parse_blend("jf_alpha:1,jm_kumo:1"))
    blends = saved_blends()
    assert (
        blends["warm"].spec == "jm_kumo:70,jf_alpha:30"
    )  # the first voice stays first: it sets the language
    assert blends["bright"] == Blend((("jf_alpha", 0.5), ("jm_kumo", 0.5)))
    assert (config / "blends.json").exists() and not list(config.glob("*.part"))
    # the window and the CLI learn a blend's language without loading any weights
    from fasttts_desktop.engine.text.languages import lang_of_voice

    assert lang_of_voice("warm") == lang_of_voice("jf_alpha:40,am_adam:60") == "j"
    assert lang_of_voice("am_adam:60,jf_alpha:40") == "a" and lang_of_voice("unknown") == "a"
    assert delete_blend("warm") and not delete_blend("warm")
    assert list(saved_blends()) == ["bright"]
    for bad in ["", "a:b", "jf_mine"]:
        with pytest.raises(EngineError):
            save_blend(bad, "jm_kumo:1")


def test_engine_resolves_specs_and_saved_blends(engine):
    save_blend("test-mix", "jf_alpha:40,jm_kumo:60")
    try:
        listed = {v.name: v for v in engine.voices}
        assert listed["test-mix"].language == "Japanese" and listed["test-mix"].lang_code == "j"
        assert torch.equal(engine.voice_pack("test-mix"), engine.voice_pack("jf_alpha:40,jm_kumo:60"))
        assert torch.equal(engine.voice_pack("jm_kumo:100,jf_alpha:0"), engine.voice_pack("jm_kumo"))
        assert engine.voice("jm_kumo(3)+jf_alpha(1)").name == "jm_kumo:75,jf_alpha:25"
    finally:
        delete_blend("test-mix")
    assert "test-mix" not in {v.name for v in engine.voices}
    with pytest.raises(EngineError, match="Unknown voice 'zz_x' in the blend"):
        engine.voice("jm_kumo:50,zz_x:50")


@pytest.mark.slow
def test_a_blends_voice_lies_between_its_voices(engine):
    """jf_alpha speaks higher than jm_kumo; their even blend speaks in between."""
    text = "こんにちは、今日はいい天気ですね。"

    def median_pitch(voice):
        torch.manual_seed(0)
        audio = np.concatenate([c.audio for c in engine.stream(text, voice=voice)])
        pitch = pitch_track(audio, SAMPLE_RATE)
        assert (pitch > 0).mean() > 0.2 and len(audio) / SAMPLE_RATE > 1.0
        return float(np.median(pitch[pitch > 0]))

    low, high = median_pitch("jm_kumo"), median_pitch("jf_alpha")
    mid = median_pitch("jm_kumo:50,jf_alpha:50")
    assert low * 1.2 < high, (low, high)
    assert low < mid < high, (low, mid, high)
