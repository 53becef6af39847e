"""Our ALBERT forward must give exactly what kokoro's CustomAlbert (transformers' AlbertModel) gives."""

from __future__ import annotations

import subprocess
import sys

import torch

from fasttts_desktop.engine.synthesis.albert import Albert, AlbertConfig
from fasttts_desktop.engine.synthesis.config import kokoro_config


def _ours(state_dict) -> Albert:
    model = Albert(AlbertConfig.from_kokoro(kokoro_config()))
    model.load_state_dict({k[5:]: v for k, v in state_dict.items() if k.startswith("bert.")}, strict=True)
    return model.eval()


def test_equals_kokoro_custom_albert_on_the_real_weights(weights, kmodel):
    ours = _ours(weights.state_dict)
    torch.manual_seed(0)
    ids = torch.randint(1, 178, (1, 48))
    ids[0, 0] = ids[0, -1] = 0
    with torch.inference_mode():
        expected = kmodel.bert(ids, attention_mask=torch.ones_like(ids))
        assert torch.equal(ours(ids, torch.ones_like(ids, dtype=torch.bool)), expected)
        assert torch.equal(ours(ids), expected)  # no mask means every token counts


def test_padding_is_masked_as_transformers_masks_it(weights, kmodel):
    ours = _ours(weights.state_dict)
    torch.manual_seed(1)
    ids = torch.randint(1, 178, (2, 30))
    mask = torch.ones_like(ids)
    mask[0, 22:] = 0
    ids[0, 22:] = 0
    with torch.inference_mode():
        expected = kmodel.bert(ids, attention_mask=mask)
        got = ours(ids, mask.bool())
    torch.testing.assert_close(got[:, :22], expected[:, :22], rtol=0, atol=1e-6)
    torch.testing.assert_close(got[1], expected[1], rtol=0, atol=1e-6)
    # and the padding really changes nothing for the row it pads
    with torch.inference_mode():
        alone = ours(ids[:1, :22])
    torch.testing.assert_close(got[0, :22], alone[0], rtol=1e-5, atol=1e-5)


def test_config_follows_kokoro_config():
    c = AlbertConfig.from_kokoro(kokoro_config())
    assert (c.vocab_size, c.hidden_size, c.num_hidden_layers, c.num_attention_heads) == (178, 768, 12, 12)
    assert (c.intermediate_size, c.max_position_embeddings) == (2048, 512)


def test_importing_it_does_not_import_transformers():
    code = (
        "import sys, fasttts_desktop.engine.synthesis.albert as a; a.Albert(); "
        "print('transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
