import warnings

import pytest
import torch
from torch import nn

from cognate.model import IGNORE_INDEX, CognateModel
from cognate.model.layers import RMSNorm

pytestmark = pytest.mark.usefixtures("one_thread")


def test_rms_norm_equals_torch_rms_norm_in_fp32():
    torch.manual_seed(0)
    ours, reference = RMSNorm(16, eps=1e-6), nn.RMSNorm(16, eps=1e-6)
    with torch.no_grad():
        ours.weight.normal_()
    reference.load_state_dict(ours.state_dict())
    x = torch.randn(3, 5, 16)
    torch.testing.assert_close(ours(x), reference(x), rtol=0, atol=0)


def test_rms_norm_of_a_bf16_input_is_bf16_and_its_fp32_gain_gets_the_gradient():
    norm = RMSNorm(16, eps=1e-6)
    x = torch.randn(4, 16, dtype=torch.bfloat16)
    out = norm(x)
    assert out.dtype == torch.bfloat16
    out.float().sum().backward()
    assert norm.weight.dtype == torch.float32 and norm.weight.grad is not None


def test_bf16_autocast_training_forward_warns_of_no_dtype_mismatch(small_config):
    torch.manual_seed(0)
    model = CognateModel(small_config)
    ids = torch.randint(0, small_config.vocab_size, (2, 12))
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[:, -4:] = ids[:, -4:]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(ids, labels)
        out.loss.backward()
    assert torch.isfinite(out.loss)
    assert not [w for w in caught if "Mismatch dtype" in str(w.message)]
