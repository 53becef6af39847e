"""The CPU model stored in the form it runs (engine/synthesis/stored.py): built and written once from the
float32 weights, then memory-mapped on later starts without the float32 weights ever being read; the same
model either way; a stale, damaged or unwritable file costs a rebuild, never a wrong model."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import numpy as np
import pytest
import safetensors
import safetensors.torch
import torch

from fasttts_desktop.engine.storage.files import current_umask
from fasttts_desktop.engine.synthesis.cpu.backend import STORED_FORMAT, CpuBackend, low_precision, stored_form
from fasttts_desktop.engine.synthesis.protocol import Request
from fasttts_desktop.engine.weights import store
from fasttts_desktop.engine.weights.store import OFFLINE_SOURCE, Weights, load_weights

PHONEMES = "ðə bˈɜɹʧ kənˈu slˈɪd ˌɔn ðə smˈuð plˈæŋks."

pytestmark = pytest.mark.slow  # the real model, built and run on the CPU


class _Deferred:
    """A deferred Weights over the session's float32 weights, whose state-dict reads are counted."""

    def __init__(self, weights, folder: Path):
        self.reads = 0
        self.source = weights

        def loader():
            self.reads += 1
            return dict(weights.state_dict), weights.fingerprint, ""  # a copy: the backend consumes it

        self.weights = Weights(
            None, weights.voices, OFFLINE_SOURCE, None, loader=loader, derived_stem=folder / "kokoro"
        )


def _path(folder: Path) -> Path:
    return folder / f"kokoro-{stored_form(torch.bfloat16).name}.safetensors"


def _speak(backend: CpuBackend, weights):
    from fasttts_desktop.engine.synthesis.config import kokoro_config

    req = Request.from_phonemes(PHONEMES, weights.voices["jm_kumo"], 1.0, kokoro_config()["vocab"])
    torch.manual_seed(3)
    return backend.infer(req)


def _file_backed(tensor: torch.Tensor, path: Path) -> bool:
    ptr = tensor.data_ptr()
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith(str(path)):
            lo, hi = (int(v, 16) for v in line.split()[0].split("-"))
            if lo <= ptr < hi:
                return True
    return False


def test_built_once_then_mapped_without_reading_the_float32_weights(weights, tmp_path):
    first = _Deferred(weights, tmp_path)
    built = CpuBackend(weights=first.weights, dtype=torch.bfloat16)
    assert first.reads == 1 and _path(tmp_path).is_file()
    assert stat.S_IMODE(_path(tmp_path).stat().st_mode) == 0o666 & ~current_umask()  # as other caches
    again = _Deferred(weights, tmp_path)
    mapped = CpuBackend(weights=again.weights, dtype=torch.bfloat16)
    assert again.reads == 0  # the float32 state dict was never read, nor converted
    # the model's tensors are views of the file's mapping, not copies
    conv = mapped.model.decoder.generator.resblocks[0].convs1[0].weight
    text = mapped.model.bert.embeddings.word_embeddings.weight
    assert conv.dtype == torch.bfloat16 and text.dtype == torch.float32
    assert _file_backed(conv, _path(tmp_path)) and _file_backed(text, _path(tmp_path))
    # the first start also runs from the file once it is written (its built copy released)
    assert _file_backed(built.model.bert.embeddings.word_embeddings.weight, _path(tmp_path))
    # every tensor stored in the dtype it runs in: the text side float32, the big convolutions bf16
    with safetensors.safe_open(_path(tmp_path), framework="pt") as f:
        dtypes = {key: f.get_slice(key).get_dtype() for key in f.keys()}  # noqa: SIM118 - no mapping
    assert dtypes == {key: "BF16" if low_precision(key) else "F32" for key in dtypes}
    assert sum(v == "BF16" for v in dtypes.values()) > 100
    # the same model: the same durations and samples as one built from the float32 weights in memory
    reference = CpuBackend(weights.state_dict, dtype=torch.bfloat16)
    a, b = _speak(mapped, weights), _speak(reference, weights)
    np.testing.assert_array_equal(a.durations, b.durations)
    np.testing.assert_array_equal(a.audio, b.audio)


def _stale_format(path: Path) -> None:
    tensors = safetensors.torch.load_file(path)
    safetensors.torch.save_file(
        dict(tensors), path, metadata={"format": str(STORED_FORMAT - 1), "dtype": "bfloat16"}
    )


def _truncate(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)


def _wrong_dtype(path: Path) -> None:
    tensors = {k: v.float() for k, v in safetensors.torch.load_file(path).items()}
    safetensors.torch.save_file(tensors, path, metadata={"format": str(STORED_FORMAT), "dtype": "bfloat16"})


def _missing_tensor(path: Path) -> None:
    tensors = dict(safetensors.torch.load_file(path))
    tensors.pop(next(iter(tensors)))
    safetensors.torch.save_file(tensors, path, metadata={"format": str(STORED_FORMAT), "dtype": "bfloat16"})


def _garbage(path: Path) -> None:
    path.write_bytes(b"\xff" * 64)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(_stale_format, id="older-format"),
        pytest.param(_truncate, id="truncated"),
        pytest.param(_wrong_dtype, id="float32-convolutions"),
        pytest.param(_missing_tensor, id="tensor-missing"),
        pytest.param(_garbage, id="not-safetensors"),
    ],
)
def test_a_file_that_does_not_fit_is_rebuilt_once(weights, tmp_path, caplog, damage):
    CpuBackend(weights=_Deferred(weights, tmp_path).weights, dtype=torch.bfloat16)
    damage(_path(tmp_path))
    redo = _Deferred(weights, tmp_path)
    with caplog.at_level(logging.WARNING):
        backend = CpuBackend(weights=redo.weights, dtype=torch.bfloat16)
    assert redo.reads == 1 and "rebuilding it" in caplog.text
    assert backend.model.decoder.generator.resblocks[0].convs1[0].weight.dtype == torch.bfloat16
    after = _Deferred(weights, tmp_path)
    CpuBackend(weights=after.weights, dtype=torch.bfloat16)
    assert after.reads == 0  # rebuilt whole: the next start maps it
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_an_older_format_file_is_removed_when_the_new_one_is_written(weights, tmp_path):
    old = tmp_path / f"kokoro-cpu-bfloat16-f{STORED_FORMAT - 1}.safetensors"
    old.write_bytes(b"an older format")
    other_dtype = tmp_path / f"kokoro-{stored_form(torch.float32).name}.safetensors"
    other_dtype.write_bytes(b"kept: another form")
    CpuBackend(weights=_Deferred(weights, tmp_path).weights, dtype=torch.bfloat16)
    assert not old.exists() and other_dtype.exists() and _path(tmp_path).is_file()


def test_an_unwritable_cache_runs_from_memory(weights, tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    deferred = _Deferred(weights, blocker)
    backend = CpuBackend(weights=deferred.weights, dtype=torch.bfloat16)
    assert deferred.reads == 1
    assert len(_speak(backend, weights).audio) > 0


def test_deferred_offline_weights_read_nothing_until_asked(weights, weights_cache_dir, monkeypatch):
    reads = []
    real = store._read_tensors

    def counting(path):
        reads.append(path)
        return real(path)

    monkeypatch.setattr(store, "_read_tensors", counting)
    deferred = load_weights(use_hub=False, cache_dir=weights_cache_dir, defer=True)
    assert reads == [] and deferred.fingerprint == weights.fingerprint  # from the sidecar
    beside = store.offline_cache_path(weights_cache_dir).with_suffix("")
    assert deferred.derived_path("cpu-x") == beside.with_name(beside.name + "-cpu-x.safetensors")
    assert list(deferred.state_dict) == list(weights.state_dict) and len(reads) == 1
    assert torch.equal(deferred.state_dict["bert_encoder.weight"], weights.state_dict["bert_encoder.weight"])
