"""build_kmodel's fast path (meta device + assign) must give exactly the model the ordinary build gives."""

from __future__ import annotations

import torch

from fasttts_desktop.engine.weights import model_build as model_mod


def test_meta_build_equals_ordinary_build(weights, kmodel):
    ordinary = model_mod.build_kmodel()
    ordinary.load_state_dict(weights.state_dict, strict=True)
    assert not list(model_mod._meta_attributes(kmodel))
    for (name, a), (_, b) in zip(
        [*ordinary.named_parameters(), *ordinary.named_buffers()],
        [*kmodel.named_parameters(), *kmodel.named_buffers()],
        strict=True,
    ):
        assert torch.equal(a, b), name
    torch.testing.assert_close(ordinary.decoder.generator.stft.window, kmodel.decoder.generator.stft.window)
    # Same function: durations and (fixed-noise) audio of a short input.
    ids = torch.tensor([[0, 50, 83, 156, 54, 57, 16, 44, 102, 0]])
    style = weights.voices["jm_kumo"][7]
    outs = []
    for m in (ordinary, kmodel):
        torch.manual_seed(3)
        outs.append(m.forward_with_tokens(ids, style, 1.0))
    torch.testing.assert_close(outs[0][0], outs[1][0])
    assert torch.equal(outs[0][1], outs[1][1])
