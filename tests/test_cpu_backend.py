"""The CPU backend on the real weights: kokoro's durations exactly, kokoro's sound, Stop mid-chunk."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from audio_checks import log_mel_distance

from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend
from fasttts_desktop.engine.synthesis.protocol import Request
from fasttts_desktop.engine.types import Cancelled

# "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background." (misaki)
PHONEMES = "ðə bˈɜɹʧ kənˈu slˈɪd ˌɔn ðə smˈuð plˈæŋks. ɡlˈu ðə ʃˈit tə ðə dˈɑɹk blˈu bˈækɡɹˌWnd."


@pytest.fixture(scope="module", params=[torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def backend(request, weights):
    return CpuBackend(weights.state_dict, dtype=request.param)


def _request(weights, phonemes=PHONEMES):
    return Request.from_phonemes(phonemes, weights.voices["jm_kumo"], 1.0, _vocab())


def _vocab():
    from fasttts_desktop.engine.synthesis.config import kokoro_config

    return kokoro_config()["vocab"]


@pytest.mark.slow
def test_durations_are_kokoros_and_the_audio_sounds_like_kokoro(backend, weights, kmodel):
    req = _request(weights)
    ids = torch.tensor([req.input_ids])
    refs = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        audio, dur = kmodel.forward_with_tokens(ids, req.ref_s, 1.0)
        refs.append((audio.numpy(), dur.numpy()))
    torch.manual_seed(1)
    ours = backend.infer(req)
    np.testing.assert_array_equal(ours.durations, refs[0][1])  # the text side is float32: exact
    assert ours.audio.dtype == np.float32 and len(ours.audio) == len(refs[0][0])
    # as close to kokoro as kokoro is to itself under another noise seed
    seeds = log_mel_distance(refs[1][0], refs[0][0])
    assert log_mel_distance(ours.audio, refs[0][0]) <= 1.5 * seeds + 0.05


def test_cancel_stops_a_chunk_between_blocks(backend, weights):
    polls = []

    def cancel():
        polls.append(len(polls) >= 3)
        return polls[-1]

    with pytest.raises(Cancelled):
        backend.infer(_request(weights), cancel)
    assert len(polls) == 4  # stopped at the first poll that said so, well inside the chunk
    assert len(backend.infer(_request(weights, "hˈI.")).audio) > 0  # and works afterwards


def test_bf16_converts_the_vocoder_weights_once_in_place(weights):
    backend = CpuBackend(weights.state_dict, dtype=torch.bfloat16)
    gen = backend.model.decoder.generator
    assert gen.resblocks[0].convs1[0].weight.dtype == torch.bfloat16
    assert gen.noise_convs[0].weight.dtype == torch.float32  # reads phases: kept float32
    assert backend.model.bert.encoder.embedding_hidden_mapping_in.weight.dtype == torch.float32
    assert "bf16" in backend.description and "CPU" in backend.description
    # one copy of every weight: the bf16 convolutions replaced their float32 originals (measured 231 MB of
    # 327 MB in float32), and the AdaIN projections live only in the style tables, not beside them
    tensors = [*backend.model.parameters(), *backend.model.buffers()]
    held = sum(t.numel() * t.element_size() for t in tensors)
    assert held < 0.75 * sum(t.numel() * 4 for t in tensors)
    assert not [m for m in backend.model.modules() if type(m).__name__ == "AdaIN1d"]


def test_process_setup_makes_openmp_wait_passively():
    code = (
        "import os\n"
        "from fasttts_desktop.engine.synthesis.cpu.threads import (\n"
        "    configure_process, configure_torch_threads\n"
        ")\n"
        "configure_process()\n"
        "import torch\n"
        "n = configure_torch_threads()\n"
        "print(os.environ['OMP_WAIT_POLICY'], n == torch.get_num_threads(), "
        "torch.get_num_interop_threads())\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["PASSIVE", "True", "1"]


def test_the_engine_on_a_cpu_starts_with_a_short_chunk_cut_between_words(engine):
    text = (
        "When the rain finally stopped, the children ran outside, shouting and laughing, "
        "to splash in every puddle they could find on the way to school."
    )
    torch.manual_seed(0)
    chunks = []
    for chunk in engine.stream(text):
        chunks.append(chunk)
        if len(chunks) == 2:
            break
    first = chunks[0].chunk
    assert engine.backend.first_chunk_phonemes == 30
    assert 8 <= len(first.phonemes) <= 45, first  # budget 30, at most half as much again for a clause end
    assert first.text.endswith(","), first  # cut where a pause belongs
    assert len(chunks[1].chunk.phonemes) > len(first.phonemes)  # then longer chunks while it plays
    assert engine.estimate_chunks(text) >= 2
