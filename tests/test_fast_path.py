"""CPU checks of the compiled GPU path's building blocks (engine/cuda): same function as kokoro's forward,
padded batches equal single sentences, and the compile cache's keying and corruption handling.

Random weights where the weights do not matter (they are faster to build than converting the real ones);
speed 20 keeps random-weight durations short so the decoder runs on few frames.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from fasttts_desktop.engine.synthesis.cuda.cache import CacheKey, CompileCache
from fasttts_desktop.engine.synthesis.lstm import BiLSTM, Padding

SPEED = 20.0


@pytest.fixture(scope="module")
def rand_kmodel():
    from fasttts_desktop.engine.synthesis.model_build import build_kmodel, remove_weight_norm

    torch.manual_seed(0)
    return remove_weight_norm(build_kmodel())


@pytest.fixture(scope="module")
def fast(rand_kmodel):
    """Our fast model built by the GPU backend's own builder (our KokoroModel, no transformers, weight norm
    folded as the weights are placed) on the same weights as kokoro's KModel above, the reference."""
    from fasttts_desktop.engine.synthesis.cuda.backend import Options
    from fasttts_desktop.engine.synthesis.cuda.build import build_fast_model

    state = {k: v.clone() for k, v in _weight_normed(rand_kmodel).items()}
    options = Options(dtype=torch.float32, fp32_parts=(), channels_last=False, lstm="cudnn")
    return build_fast_model(state, torch.device("cpu"), options)


@pytest.fixture(scope="module")
def our_decoder(rand_kmodel):
    """The model's own decoder (decoder.py) on the reference's weights: what DecoderCore wraps."""
    from fasttts_desktop.engine.synthesis.model_build import build_folded_model

    return build_folded_model({k: v.clone() for k, v in _weight_normed(rand_kmodel).items()}).decoder


def _weight_normed(kmodel) -> dict[str, torch.Tensor]:
    """The state dict in the weight store's form (weight_g / weight_v) from a model with weight norm
    removed."""
    from fasttts_desktop.engine.synthesis.model_build import build_kmodel

    skeleton = build_kmodel().state_dict()
    folded = kmodel.state_dict()
    out = {}
    for key in skeleton:
        if key.endswith((".weight_g", ".weight_v")):
            base = key[: -len("_g")]
            w = folded[base]
            if key.endswith("_v"):
                out[key] = w.clone()
            else:
                out[key] = torch.linalg.vector_norm(w, dim=tuple(range(1, w.dim())), keepdim=True)
        else:
            out[key] = folded[key]
    return out


def _ids(n: int, seed: int) -> list[int]:
    g = torch.Generator().manual_seed(seed)
    return [0, *torch.randint(1, 170, (n - 2,), generator=g).tolist(), 0]


def _batch(seqs: list[list[int]]):
    ids = torch.zeros(len(seqs), max(map(len, seqs)), dtype=torch.long)
    for row, s in enumerate(seqs):
        ids[row, : len(s)] = torch.tensor(s)
    return ids, torch.tensor([len(s) for s in seqs])


def _style(seed: int) -> torch.Tensor:
    return torch.randn(1, 256, generator=torch.Generator().manual_seed(seed)) * 0.3


def test_bilstm_matches_packed_sequences():
    torch.manual_seed(1)
    lstm = BiLSTM(8, 10)
    pad = Padding(torch.tensor([7, 3, 5]), 7)
    x = pad.steps_first(torch.randn(3, 7, 8))
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, pad.lengths, batch_first=True, enforce_sorted=False)
    ref, _ = torch.nn.utils.rnn.pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=7)
    torch.testing.assert_close(lstm.run(x, pad), ref, atol=1e-6, rtol=1e-5)
    # one row alone, unpadded, is the LSTM as kokoro runs it
    torch.testing.assert_close(lstm.run(x[1:2, :3]), ref[1:2, :3], atol=1e-6, rtol=1e-5)


def test_bilstm_packed_with_host_lengths_equals_the_capturable_form():
    torch.manual_seed(3)
    lstm = BiLSTM(6, 8)
    lengths = torch.tensor([2, 6, 4])
    x = Padding(lengths, 6).steps_first(torch.randn(3, 6, 6))
    packed = lstm.run(x, Padding(lengths, 6, host_lengths=lengths.clone()))
    torch.testing.assert_close(packed, lstm.run(x, Padding(lengths, 6)), atol=1e-6, rtol=1e-5)
    assert (packed[0, 2:] == 0).all()  # padding stays zero, as pad_packed_sequence leaves it


def test_joined_qkv_gives_the_separate_projections():
    from fasttts_desktop.engine.synthesis.albert import Albert

    torch.manual_seed(2)
    albert = Albert().eval()
    ids = torch.randint(1, 178, (2, 9))
    mask = torch.arange(9)[None] < torch.tensor([9, 5])[:, None]
    with torch.inference_mode():
        apart = albert(ids, mask)
        albert.join_qkv()
        joined = albert(ids, mask)
    assert "encoder.albert_layer_groups.0.albert_layers.0.attention.qkv_weight" not in albert.state_dict()
    torch.testing.assert_close(joined, apart, atol=1e-5, rtol=1e-5)


def _kokoro_text_side(kmodel, ids, ref_s, speed):
    """kokoro's own modules called as its forward_with_tokens does, up to the durations."""
    n = ids.shape[1]
    lengths = torch.tensor([n])
    mask = torch.zeros(1, n, dtype=torch.bool)
    bert = kmodel.bert(ids, attention_mask=(~mask).int())
    d = kmodel.predictor.text_encoder(
        kmodel.bert_encoder(bert).transpose(-1, -2), ref_s[:, 128:], lengths, mask
    )
    x, _ = kmodel.predictor.lstm(d)
    dur = torch.round(torch.sigmoid(kmodel.predictor.duration_proj(x)).sum(-1) / speed).clamp(min=1).long()
    return dur[0], d[0], kmodel.text_encoder(ids, lengths, mask)[0]


@torch.inference_mode()
def test_text_stage_matches_kokoro_and_batches(rand_kmodel, fast):
    seqs = [_ids(23, 1), _ids(9, 2), _ids(16, 3)]
    styles = torch.cat([_style(i) for i in range(3)])
    ids, lengths = _batch(seqs)
    dur, d, t_en = fast.text_stage(ids, lengths, styles, torch.full((3,), SPEED))
    for row, s in enumerate(seqs):
        n = len(s)
        ref_dur, ref_d, ref_t = _kokoro_text_side(
            rand_kmodel, torch.tensor([s]), styles[row : row + 1], SPEED
        )
        assert torch.equal(dur[row, :n], ref_dur)
        assert (dur[row, n:] == 0).all()
        torch.testing.assert_close(d[row, :n], ref_d, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(t_en[row, :, :n], ref_t, atol=1e-4, rtol=1e-4)
        assert (t_en[row, :, n:] == 0).all()


@torch.inference_mode()
def test_whole_forward_matches_kokoro(rand_kmodel, fast):
    ids = torch.tensor([_ids(8, 7)])
    ref_s = _style(7)
    torch.manual_seed(11)
    ref_audio, ref_dur = rand_kmodel.forward_with_tokens(ids, ref_s, SPEED)
    torch.manual_seed(11)  # same draws from the generator: kokoro's noise is reproduced too
    audio, dur, frames = fast(ids, torch.tensor([8]), ref_s, torch.tensor([SPEED]))
    assert torch.equal(dur[0], ref_dur)
    assert audio.shape[-1] == ref_audio.shape[-1] == 600 * int(frames[0])
    rel = (audio[0] - ref_audio).norm() / ref_audio.norm()
    assert rel < 1e-3, rel


@torch.inference_mode()
def test_acoustic_batch_and_padding_equal_single(fast):
    fast.source.noise = 0.0
    try:
        seqs = [_ids(9, 8), _ids(5, 9)]
        ids, lengths = _batch(seqs)
        styles = torch.cat([_style(8), _style(9)])
        dur, d, t_en = fast.text_stage(ids, lengths, styles, torch.full((2,), SPEED))
        frames = dur.sum(1)
        longest = int(frames.max())
        batched, _ = fast.acoustic_stage(dur, d, t_en, styles, longest + 13)  # padded past the longest row
        for row, n in enumerate(lengths.tolist()):
            single, _ = fast.acoustic_stage(
                dur[row : row + 1, :n],
                d[row : row + 1, :n],
                t_en[row : row + 1, :, :n],
                styles[row : row + 1],
                int(frames[row]),
            )
            valid = 600 * int(frames[row])
            # float32 rounding only (different GEMM shapes), amplified a little by a random-weight decoder
            assert (batched[row, :valid] - single[0]).norm() / single[0].norm() < 2e-3
            assert (batched[row, valid:] == 0).all()
    finally:
        fast.source.noise = 1.0


@torch.inference_mode()
def test_bf16_decoder_stays_close(our_decoder, fast):
    from fasttts_desktop.engine.synthesis.cuda.decoder import DecoderCore, example_inputs

    args = example_inputs(torch.device("cpu"), batch=1, frames=8)
    ref = fast.decoder(*args)
    low = DecoderCore(our_decoder, torch.bfloat16)(*args)
    assert low.dtype == torch.float32 and torch.isfinite(low).all()
    assert (low - ref).norm() / ref.norm() < 5e-2


@torch.inference_mode()
def test_decoder_parts_kept_in_float32(our_decoder, fast):
    from fasttts_desktop.engine.synthesis.cuda.decoder import DecoderCore, example_inputs

    args = example_inputs(torch.device("cpu"), batch=1, frames=8)
    ref = fast.decoder(*args)
    plain = DecoderCore(our_decoder, torch.bfloat16)
    mixed = DecoderCore(our_decoder, torch.bfloat16, fp32_parts=("source", "post"))
    gen = mixed.dec.generator
    assert gen.conv_post.weight.dtype == torch.float32
    assert all(c.weight.dtype == torch.float32 for c in gen.noise_convs)
    assert gen.ups[0].weight.dtype == torch.bfloat16 and mixed.dec.encode.conv1.weight.dtype == torch.bfloat16
    # the float32 copies are the original weights, not bf16 values widened again
    assert torch.equal(gen.conv_post.weight, our_decoder.generator.conv_post.weight)
    err = [(m(*args) - ref).norm() / ref.norm() for m in (plain, mixed)]
    assert err[1] < err[0], err
    with pytest.raises(ValueError, match="unknown decoder parts"):
        DecoderCore(our_decoder, torch.bfloat16, fp32_parts=("everything",))


@torch.inference_mode()
def test_channels_last_decoder_equals_the_1d_one(our_decoder, fast):
    from fasttts_desktop.engine.synthesis.cuda.decoder import DecoderCore, example_inputs

    args = example_inputs(torch.device("cpu"), batch=2, frames=8)
    nhwc = DecoderCore(our_decoder, torch.float32, channels_last=True)
    convs = [m for m in nhwc.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert convs and not any(
        isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)) for m in nhwc.modules()
    )
    assert all(
        m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs if m.kernel_size[1] > 1
    )
    out = nhwc(*args)
    assert out.is_contiguous()  # handed to the iSTFT as [B, 22, L]
    torch.testing.assert_close(out, fast.decoder(*args), atol=1e-4, rtol=1e-4)
    # at batch 1 the convolutions listed in B1_AS_1D run as 1-D ones on the same weights: same result
    from fasttts_desktop.engine.synthesis.cuda.decoder import B1_AS_1D, BatchOneAs1d

    marked = [m for m in convs if isinstance(m, BatchOneAs1d)]
    assert marked and all((m.in_channels, m.kernel_size[1]) in B1_AS_1D for m in marked)
    # a contiguous weight of its own: a view of the channels-last one would put cuDNN back on NHWC kernels
    assert all(m.weight_1d.is_contiguous() and m.weight_1d.dim() == 3 for m in marked)
    torch.testing.assert_close(marked[0].weight_1d, marked[0].weight.squeeze(2))
    one = [t[:1] for t in args]
    torch.testing.assert_close(nhwc(*one), fast.decoder(*one), atol=1e-4, rtol=1e-4)


def test_batched_pass_planning_respects_budgets():
    from fasttts_desktop.engine.synthesis.cuda.batched import frame_passes, token_parts

    frames = [120, 30, 800, 95, 400, 33, 2000]
    passes = frame_passes(frames, 1000)
    assert sorted(i for p in passes for i in p) == list(range(len(frames)))
    for p in passes:
        longest = max(frames[i] for i in p)
        assert len(p) == 1 or len(p) * longest <= 1000  # a row over the budget still gets a pass alone
    assert [frames[p[0]] for p in passes] == sorted(frames[p[0]] for p in passes)
    lengths = [10, 12, 40, 41, 300]
    parts = token_parts([0, 1, 2, 3, 4], lengths, 100)
    assert parts == [[0, 1], [2, 3], [4]]


def _flags() -> tuple[bool, bool]:
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark


def test_batched_flags_hold_only_while_their_passes_are_queued(fast):
    """Options.text_tf32 and cudnn_benchmark set torch's process-wide flags for the text passes and the
    whole call only, and put them back afterwards, also when a pass fails (the flags are global: a later
    graph capture or compile must not inherit them). On a CPU they change nothing."""
    from fasttts_desktop.engine.synthesis.cuda.backend import Options
    from fasttts_desktop.engine.synthesis.cuda.batched import BatchedPasses
    from fasttts_desktop.engine.synthesis.protocol import Request

    cpu = torch.device("cpu")
    reqs = [Request(_ids(n, seed), _style(seed), SPEED) for seed, n in enumerate((12, 7, 20))]
    plain = Options(dtype=torch.float32, channels_last=False, lstm="cudnn", batch_sentences=2)
    switched = dataclasses.replace(plain, text_tf32=True, cudnn_benchmark=True)
    seen: list[tuple[str, tuple[bool, bool]]] = []
    fail = []
    text_stage, before = fast.text_stage, _flags()

    def spy_text(*args, **kwargs):
        seen.append(("text", _flags()))
        if fail:
            raise RuntimeError("a failing text pass")
        return text_stage(*args, **kwargs)

    def spy_decoder(*args):
        seen.append(("decoder", _flags()))
        return fast.decoder(*args)

    fast.text_stage = spy_text
    try:
        with torch.inference_mode():
            torch.manual_seed(0)
            got = BatchedPasses(fast, cpu, switched).run(reqs, spy_decoder)
            assert _flags() == before
            assert [where for where, _ in seen].count("text") == 2  # 3 sentences, 2 per text pass
            assert {flags for where, flags in seen if where == "text"} == {(True, True)}
            assert {flags for where, flags in seen if where == "decoder"} == {(before[0], True)}
            torch.manual_seed(0)
            ref = BatchedPasses(fast, cpu, plain).run(reqs, fast.decoder)
            fail.append(True)
            with pytest.raises(RuntimeError, match="failing"):
                BatchedPasses(fast, cpu, switched).run(reqs, fast.decoder)
            assert _flags() == before
    finally:
        del fast.text_stage
    for a, b in zip(got, ref, strict=True):
        assert (a.durations == b.durations).all()
        assert (a.audio == b.audio).all()


# -- compile cache


def _key(**changes) -> CacheKey:
    fields = {
        "name": "decoder",
        "weights": "abc",
        "torch": "2.11",
        "cuda": "13.0",
        "gpu": "H100 sm_90",
        "dtype": "bfloat16",
        "options": "fp32=post+source,layout=ncl",
        "project": "0.1.0",
    }
    fields.update(changes)
    return CacheKey(**fields)


@pytest.mark.parametrize("field", ["weights", "torch", "cuda", "gpu", "dtype", "options", "project"])
def test_cache_key_changes_with_each_field(field):
    assert _key().digest() != _key(**{field: "other"}).digest()


def _store(cache: CompileCache, key: CacheKey, payload: bytes = b"x" * 1000):
    return cache.store(key, "a.bin", lambda p: p.write_bytes(payload))


def test_cache_roundtrip_and_default_location(tmp_path, monkeypatch):
    cache = CompileCache(tmp_path)
    path = _store(cache, _key())
    assert cache.lookup(_key(), "a.bin") == path and path.read_bytes() == b"x" * 1000
    assert cache.lookup(_key(torch="2.12"), "a.bin") is None
    monkeypatch.delenv("FASTTTS_COMPILE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert CompileCache().root == tmp_path / "xdg" / "fasttts-desktop" / "compile"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda f: (f / "a.bin").write_bytes(b"y" * 1000), id="corrupt"),
        pytest.param(lambda f: (f / "a.bin").write_bytes(b"x" * 10), id="truncated"),
        pytest.param(lambda f: (f / "a.bin").unlink(), id="missing"),
        pytest.param(lambda f: (f / "meta.json").write_text("{"), id="bad-meta"),
        pytest.param(
            lambda f: (f / "meta.json").write_text(
                json.dumps({**json.loads((f / "meta.json").read_text()), "key": {"name": "other"}})
            ),
            id="foreign",
        ),
    ],
)
def test_cache_detects_bad_entries_and_removes_them(tmp_path, damage):
    cache = CompileCache(tmp_path)
    _store(cache, _key())
    damage(_key().folder(tmp_path))
    assert cache.lookup(_key(), "a.bin") is None
    assert not _key().folder(tmp_path).exists()
    _store(cache, _key())  # and it rebuilds
    assert cache.lookup(_key(), "a.bin") is not None


def test_cache_remembers_a_package_that_failed_to_load(tmp_path):
    cache = CompileCache(tmp_path)
    _store(cache, _key())
    assert cache.loads(_key()) is None
    cache.mark(_key(), True)
    assert cache.lookup(_key(), "a.bin") is not None
    cache.mark(_key(), False)
    assert cache.lookup(_key(), "a.bin") is None
    assert cache.loads(_key()) is False  # kept as a tombstone, so the app does not rebuild and crash again


def test_failed_build_leaves_nothing(tmp_path):
    cache = CompileCache(tmp_path)

    def boom(path):
        path.write_bytes(b"partial")
        raise RuntimeError("compiler died")

    with pytest.raises(RuntimeError):
        cache.store(_key(), "a.bin", boom)
    assert list(tmp_path.iterdir()) == []


def test_model_built_without_init_equals_the_ordinary_build(rand_kmodel):
    from fasttts_desktop.engine.synthesis.model_build import _construct, build_kmodel, remove_weight_norm

    state = build_kmodel().state_dict()  # weight_g / weight_v form, as the weight store gives it
    fast = remove_weight_norm(build_kmodel(state))  # on the meta device, handed the tensors
    ref = _construct(None).eval()  # the ordinary way: random init, then the weights loaded over it
    ref.load_state_dict(state)
    ref = remove_weight_norm(ref)
    a, b = fast.state_dict(), ref.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not any(t.is_meta for t in [*fast.parameters(), *fast.buffers()])
    assert torch.equal(fast.bert.embeddings.position_ids, ref.bert.embeddings.position_ids)


def test_a_module_imported_beside_is_imported_once(tmp_path, monkeypatch):
    """backend._import_beside: an import started on its own thread is waited for, not repeated, by the
    import that needs the module (Triton's, for the LSTM kernel, beside the CUDA context's start)."""
    import importlib
    import sys
    import time

    from fasttts_desktop.engine.synthesis.cuda import backend

    runs = tmp_path / "runs"
    (tmp_path / "slow_import_probe.py").write_text(
        "import threading, time\ntime.sleep(0.5)\n"
        f"with open({str(runs)!r}, 'a') as f:\n    f.write(threading.current_thread().name + ';')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_import_probe", raising=False)
    backend._import_beside("slow_import_probe")
    time.sleep(0.1)  # the thread is inside the module's body now
    module = importlib.import_module("slow_import_probe")
    # run once, on the import thread, and whole by the time the main thread has it
    assert runs.read_text() == "fasttts-import;" and sys.modules["slow_import_probe"] is module
    del sys.modules["slow_import_probe"]
