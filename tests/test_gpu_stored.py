"""The GPU model stored in the form it runs (engine/cuda/build.py over engine/synthesis/stored.py), checked on
the CPU with the GPU's layout (fp16 decoder with its float32 parts, channels-last weights, q/k/v joined):
built once from the float32 weights and written off the start-up path, then loaded into a frame of the
model's modules without the float32 weights ever being read; the same model either way; a stale, damaged
or unloadable file, or any failure while loading, costs a logged line and the ordinary build, never a
wrong model; a write that fails leaves no file.

The generic machinery (aliases, layouts, buffers outside the state dict) is checked on a small module
first (fast); the rest on the real model (slow).
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import pytest
import safetensors
import safetensors.torch
import torch
from torch import nn

from fasttts_desktop.bench.inputs import BenchWeights
from fasttts_desktop.engine.synthesis import stored
from fasttts_desktop.engine.synthesis.config import kokoro_config
from fasttts_desktop.engine.synthesis.cuda import build
from fasttts_desktop.engine.synthesis.cuda.backend import Options
from fasttts_desktop.engine.synthesis.protocol import Request
from fasttts_desktop.engine.weights.store import OFFLINE_SOURCE, Weights

CPU = torch.device("cpu")
OPTIONS = Options(lstm="cudnn")  # the GPU's defaults: fp16, channels-last, source and post in float32
PHONEMES = "ðə bˈɜɹʧ kənˈu slˈɪd."
QKV = "model.bert.encoder.albert_layer_groups.0.albert_layers.0.attention.qkv_weight"

# -- the machinery on a small module (fast)


class _Small(nn.Module):
    """A shared child (two parents hold it), a channels-last 1x1 convolution (whose strides are ambiguous),
    a buffer outside the state dict, and a float16 weight."""

    joined: torch.Tensor

    def __init__(self, channels_last: bool = True):
        super().__init__()
        self.shared = nn.Linear(4, 4)
        self.also = nn.Sequential(self.shared)
        conv = nn.Conv2d(8, 6, 1)
        self.conv = conv.to(memory_format=torch.channels_last) if channels_last else conv
        self.half = nn.Linear(3, 2).half()
        self.register_buffer("joined", torch.cat([self.shared.weight, self.shared.weight]).detach(), False)


def _small_form(version: int = 1) -> stored.Form:
    return stored.Form("cuda", torch.float16, version, "test")


def test_the_machinery_keeps_sharing_layout_and_buffers(tmp_path):
    torch.manual_seed(0)
    model = _Small()
    assert model.conv.weight.stride() == (8, 1, 8, 8)  # channels-last, yet "contiguous" both ways
    path = tmp_path / "small.safetensors"
    stored.save_model(path, stored.model_tensors(model), _small_form(), "fp")
    with safetensors.safe_open(path, framework="pt") as f:
        assert "also.0.weight" not in set(f.keys())  # stored once, named as an alias
    loaded = stored.load_model(path, _small_form(), _Small)
    assert loaded is not None
    want, got = stored.model_tensors(model), stored.model_tensors(loaded)
    assert want.keys() == got.keys() and "joined" in got
    for key, t in want.items():
        assert torch.equal(t, got[key]) and t.dtype == got[key].dtype and t.stride() == got[key].stride(), key
    assert loaded.also[0].weight.data_ptr() == loaded.shared.weight.data_ptr()


def test_the_machinery_refuses_a_file_that_does_not_fit(tmp_path, caplog):
    path = tmp_path / "small.safetensors"
    stored.save_model(path, stored.model_tensors(_Small()), _small_form(), "fp")
    with caplog.at_level(logging.WARNING):
        assert stored.load_model(path, _small_form(), lambda: _Small(channels_last=False)) is None  # layout
        assert stored.load_model(path, _small_form(2), _Small) is None  # format version
        assert stored.load_model(tmp_path / "absent.safetensors", _small_form(), _Small) is None
    assert caplog.text.count("rebuilding it") == 2  # a missing file is no problem: it is made


def test_an_edit_to_the_code_that_makes_the_tensors_changes_the_form(tmp_path, monkeypatch):
    maker = tmp_path / "stored_form_maker.py"
    maker.write_text("SCALE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(build, "_MAKERS", ("stored_form_maker",))
    build.code_digest.cache_clear()
    try:
        before = build.stored_form(OPTIONS)
        maker.write_text("SCALE = 2\n")
        build.code_digest.cache_clear()
        after = build.stored_form(OPTIONS)
    finally:
        build.code_digest.cache_clear()
    assert before.name == after.name  # the same file, replaced
    assert before.metadata()["code"] != after.metadata()["code"]


# -- the real model (slow)


@pytest.fixture(scope="module")
def built(weights):
    """The GPU model built on the CPU from the float32 weights, as a start without a stored form does."""
    return build.build_fast_model(weights.state_dict, CPU, OPTIONS)


class _Deferred:
    """The offline Weights as the engine loads them (deferred), whose state-dict reads are counted."""

    def __init__(self, weights, folder: Path):
        self.reads = 0

        def loader():
            self.reads += 1
            return dict(weights.state_dict), weights.fingerprint, ""

        self.weights = Weights(
            None,
            weights.voices,
            OFFLINE_SOURCE,
            weights.fingerprint,  # the sidecar's
            loader=loader,
            derived_stem=folder / "kokoro",
        )


def _path(folder: Path) -> Path:
    return folder / f"kokoro-{build.stored_form(OPTIONS).name}.safetensors"


@pytest.fixture
def quick_build(monkeypatch, built):
    """The ordinary build replaced by the one already made (the same tensors; tests of what is chosen and
    written need not build the real model again)."""
    calls = []

    def fake(state_dict, device, options, progress=None):
        calls.append(len(state_dict))
        return built

    monkeypatch.setattr(build, "build_fast_model", fake)
    return calls


def _run(model, weights):
    """The text stage on one short sentence and the decoder on a few frames (the fp16 decoder is slow on a
    CPU: ~9 s a call on this project's 2 cores, whatever the length)."""
    from fasttts_desktop.engine.synthesis.cuda.decoder import example_inputs

    req = Request.from_phonemes(PHONEMES, weights.voices["jm_kumo"], 1.0, kokoro_config()["vocab"])
    ids = torch.tensor([req.input_ids])
    style = req.ref_s.reshape(1, -1).float()
    with torch.inference_mode():
        text = model.text_stage(ids, torch.tensor([ids.shape[1]]), style, torch.ones(1))
        return (*text, model.decoder(*example_inputs(CPU, batch=1, frames=4)))


@pytest.mark.slow
def test_built_once_then_loaded_without_reading_the_float32_weights(weights, quick_build, tmp_path):
    first = _Deferred(weights, tmp_path)
    model, info = build.fast_model(first.weights, CPU, OPTIONS)
    assert info.status == "built" and first.reads == 1 and quick_build
    assert not _path(tmp_path).exists()  # written off the start-up path
    info.write()
    assert _path(tmp_path).is_file() and info.write_s is not None
    info.write()  # once
    again = _Deferred(weights, tmp_path)
    loaded, info = build.fast_model(again.weights, CPU, OPTIONS)
    assert info.status == "loaded" and info.load_s is not None
    assert again.reads == 0  # the float32 state dict was never read, nor converted
    # every tensor as the build made it: values, dtypes and strides (channels-last weights stay so)
    want, got = stored.model_tensors(model), stored.model_tensors(loaded)
    assert want.keys() == got.keys()
    for key, t in want.items():
        same = t.dtype == got[key].dtype and t.stride() == got[key].stride() and torch.equal(t, got[key])
        assert same, key
    attention = loaded.model.bert.encoder.albert_layer_groups[0].albert_layers[0].attention
    q, k, v = attention.query.weight, attention.key.weight, attention.value.weight
    assert attention.qkv_weight is not None and torch.equal(attention.qkv_weight, torch.cat([q, k, v]))
    # stored in the dtypes the GPU runs: the decoder fp16, its source and post parts and the text side float32
    with safetensors.safe_open(_path(tmp_path), framework="pt") as f:
        dtypes = {key: f.get_slice(key).get_dtype() for key in f.keys()}  # noqa: SIM118 - no mapping
    assert dtypes["decoder.dec.generator.resblocks.0.convs1.0.weight"] == "F16"
    assert dtypes["decoder.dec.generator.conv_post.weight"] == "F32"
    assert dtypes["decoder.dec.generator.noise_convs.0.weight"] == "F32"
    assert dtypes["model.bert.embeddings.word_embeddings.weight"] == "F32"
    assert sum(v == "F16" for v in dtypes.values()) > 100
    # the same model: the same durations, text encodings and decoder output. On a GPU each tensor is
    # loaded into an allocation of its own; here they are views of the file's mapping, at offsets the
    # CPU's fp16 kernels round differently at (measured: ~2% of the peak apart; equal again once copied),
    # so copies run here too
    ours, theirs = _run(model, weights), _run(copy.deepcopy(loaded), weights)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))


def _older_format(path: Path) -> None:
    with safetensors.safe_open(path, framework="pt") as f:
        meta = f.metadata()
    tensors = safetensors.torch.load_file(path)
    safetensors.torch.save_file(tensors, path, metadata={**meta, "format": str(build.STORED_FORMAT - 1)})


def _other_variant(path: Path) -> None:
    with safetensors.safe_open(path, framework="pt") as f:
        meta = f.metadata()
    tensors = safetensors.torch.load_file(path)
    safetensors.torch.save_file(tensors, path, metadata={**meta, "variant": "ncl-fp32-none"})


def _other_code(path: Path) -> None:
    with safetensors.safe_open(path, framework="pt") as f:
        meta = f.metadata()
    tensors = safetensors.torch.load_file(path)
    safetensors.torch.save_file(tensors, path, metadata={**meta, "code": "made-by-other-code"})


def _truncate(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)


def _float32_convolutions(path: Path) -> None:
    with safetensors.safe_open(path, framework="pt") as f:
        meta = f.metadata()
    tensors = {k: v.float() for k, v in safetensors.torch.load_file(path).items()}
    safetensors.torch.save_file(tensors, path, metadata=meta)


def _plain_layout(path: Path) -> None:
    with safetensors.safe_open(path, framework="pt") as f:
        meta = f.metadata()
    tensors = safetensors.torch.load_file(path)
    for key in meta.pop("channels_last").split(","):  # the same shapes would not come back channels-last
        tensors[key] = tensors[key].permute(0, 3, 1, 2).contiguous()
    safetensors.torch.save_file(tensors, path, metadata=meta)


def _missing_tensor(path: Path) -> None:
    with safetensors.safe_open(path, framework="pt") as f:
        meta = f.metadata()
    tensors = dict(safetensors.torch.load_file(path))
    tensors.pop(QKV)  # a buffer outside the state dict
    safetensors.torch.save_file(tensors, path, metadata=meta)


def _garbage(path: Path) -> None:
    path.write_bytes(b"\xff" * 64)


def _assert_same_file(path: Path, like: Path) -> None:
    """The same metadata and tensors (the header's order is not fixed)."""
    with safetensors.safe_open(path, framework="pt") as f, safetensors.safe_open(like, framework="pt") as g:
        assert f.metadata() == g.metadata()
    a, b = safetensors.torch.load_file(path), safetensors.torch.load_file(like)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def good_file(built, weights, tmp_path_factory) -> Path:
    path = _path(tmp_path_factory.mktemp("stored"))
    stored.save_model(path, stored.model_tensors(built), build.stored_form(OPTIONS), weights.fingerprint)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(_older_format, id="older-format"),
        pytest.param(_other_variant, id="other-variant"),
        pytest.param(_other_code, id="other-code"),
        pytest.param(_truncate, id="truncated"),
        pytest.param(_float32_convolutions, id="float32-convolutions"),
        pytest.param(_plain_layout, id="plain-layout"),
        pytest.param(_missing_tensor, id="joined-qkv-missing"),
        pytest.param(_garbage, id="not-safetensors"),
    ],
)
def test_a_file_that_does_not_fit_is_rebuilt_and_rewritten_whole(
    weights, good_file, quick_build, tmp_path, caplog, damage
):
    path = _path(tmp_path)
    path.write_bytes(good_file.read_bytes())
    damage(path)
    redo = _Deferred(weights, tmp_path)
    with caplog.at_level(logging.WARNING):
        _, info = build.fast_model(redo.weights, CPU, OPTIONS)
    assert info.status == "built" and redo.reads == 1 and quick_build
    assert caplog.text.count("rebuilding it") == 1
    info.write()
    _assert_same_file(path, good_file)  # rewritten whole, as a first start writes it
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


@pytest.mark.slow
def test_any_failure_while_loading_falls_back_to_the_build(
    weights, good_file, quick_build, tmp_path, monkeypatch, caplog
):
    _path(tmp_path).write_bytes(good_file.read_bytes())

    def broken_frame(device, options):
        raise AttributeError("a device that cannot hold the frame")  # not an error the loader expects

    monkeypatch.setattr(build, "frame", broken_frame)
    redo = _Deferred(weights, tmp_path)
    with caplog.at_level(logging.WARNING):
        _, info = build.fast_model(redo.weights, CPU, OPTIONS)
    assert info.status == "built" and redo.reads == 1
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "could not be used" in lines[0] and "cannot hold the frame" in lines[0]


@pytest.mark.slow
def test_a_failed_write_leaves_no_file(weights, quick_build, tmp_path, monkeypatch, caplog):
    def half_then_full_disk(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\x00" * 1000)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", half_then_full_disk)
    _, info = build.fast_model(_Deferred(weights, tmp_path).weights, CPU, OPTIONS)
    with caplog.at_level(logging.INFO):
        info.write()
    assert "Could not store the GPU model" in caplog.text
    assert list(tmp_path.iterdir()) == []  # nothing half-written, no temporary file


@pytest.mark.slow
def test_weights_with_no_stored_form_are_built_as_before(quick_build, tmp_path):
    random = BenchWeights({"x": torch.zeros(1)}, {}, "random-seed0")  # the bench's random or file weights
    assert random.derived_path(build.stored_form(OPTIONS).name) is None
    _, info = build.fast_model(random, CPU, OPTIONS)
    assert info.status == "none" and info.pending is None and quick_build == [1]
