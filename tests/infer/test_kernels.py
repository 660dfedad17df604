"""The decoder's matrix-vector products compute x @ W^T (+ b), exactly or within their rounding."""

import pytest
import torch
from torch import nn

from cognate.infer.kernels import INT4_GROUP, Dense, Int4, Int8, RescoredHead, matvec
from cognate.infer.sampling import first_argmax

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("batch", [1, 3])  # 3 rows: oneDNN's product of the packed weight
@pytest.mark.parametrize("out_features", [61, 20])  # 61: the last part padded; 20 < inputs
def test_split_dense_products_equal_the_linear_layer(
    split_products, packed_products, batch, with_bias, out_features
):
    weight, bias = torch.randn(out_features, 32), torch.randn(out_features) if with_bias else None
    x = torch.randn(batch, 32)
    dense = Dense(weight, bias, torch.float32)
    assert dense.parts == 2
    torch.testing.assert_close(dense(x), nn.functional.linear(x, weight, bias), rtol=0, atol=1e-5)
    torch.testing.assert_close(dense(x[:1]), dense(x)[:1], rtol=0, atol=1e-5)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("out_features", [61, 20])
def test_dense_products_equal_the_linear_layer(packed_products, batch, out_features):
    weight, bias = torch.randn(out_features, 32), torch.randn(out_features)
    x = torch.randn(batch, 32)
    dense = Dense(weight, bias, torch.float32)
    assert dense.parts == 1
    assert dense.packs == torch.backends.mkldnn.is_available()
    torch.testing.assert_close(dense(x), nn.functional.linear(x, weight, bias), rtol=0, atol=1e-5)
    assert dense.nbytes == (out_features * 32 + out_features) * 4


def _rounding_bound(x, step):
    """The largest error of x [B, in] @ W^T when every weight lies within half a step of a
    level, step [out, in]: -> [B, out]."""
    return 0.5 * x.abs() @ step.t()


def _bf16_rounding(x, weight):
    """What rounding x, the scales and the output to bf16 may add: [B, out]."""
    return 0.01 * (x.abs() @ weight.abs().t())


def test_int8_products_are_those_of_the_rounded_weights():
    weight, bias, x = torch.randn(40, 64), torch.randn(40), torch.randn(3, 64)
    product = Int8(weight, bias)(x.to(torch.bfloat16)).float()
    step = (weight.abs().amax(dim=1, keepdim=True) / 127).expand_as(weight)  # one per row
    error = (product - (x @ weight.t() + bias)).abs()
    assert product.shape == (3, 40)
    assert (error <= _rounding_bound(x, step) + _bf16_rounding(x, weight) + 0.01).all()
    assert error.mean() > 0.01 * _rounding_bound(x, step).mean()  # rounded, not exact


@pytest.mark.parametrize("out_features", [48, 61])  # 61: the kernel's rows padded to 64
def test_int4_products_are_those_of_the_rounded_weights(out_features):
    weight, x = torch.randn(out_features, 64), torch.randn(3, 64)
    product = Int4(weight, None)(x.to(torch.bfloat16)).float()
    groups = weight.view(out_features, -1, INT4_GROUP)
    step = (groups.amax(-1, keepdim=True) - groups.amin(-1, keepdim=True)) / 15  # 16 levels
    bound = _rounding_bound(x, step.expand_as(groups).reshape_as(weight))
    error = (product - x @ weight.t()).abs()
    assert product.shape == (3, out_features)
    assert (error <= bound + _bf16_rounding(x, weight)).all()
    assert error.mean() > 0.01 * bound.mean()  # rounded, not exact


def _normalized_without_gain(x, eps):
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


def test_a_fused_product_equals_its_layers_after_the_norm():
    first, second = nn.Linear(16, 5), nn.Linear(16, 7)
    norm = nn.RMSNorm(16, eps=1e-6)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
    x = torch.randn(2, 16)
    fused = matvec([first, second], None, norm)(_normalized_without_gain(x, 1e-6))
    expected = torch.cat([first(norm(x)), second(norm(x))], dim=-1)
    torch.testing.assert_close(fused, expected, rtol=0, atol=1e-5)


# int8 needs input widths in multiples of 8, int4 of 32; others fall back to int8, then bf16
@pytest.mark.parametrize("in_features", [12, 16, 32])
@pytest.mark.parametrize("quantize", ["int8", "int4"])
def test_quantized_products_of_any_input_width_stay_close(in_features, quantize):
    linear = nn.Linear(in_features, 24)
    x = torch.randn(3, in_features)
    product = matvec([linear], quantize)(x.to(torch.bfloat16))
    assert product.dtype == torch.bfloat16
    exact = linear(x).detach()
    scale = float(exact.abs().max())
    torch.testing.assert_close(product.float(), exact, rtol=0, atol=0.1 * scale)


def test_the_rescored_head_ranks_near_equal_logits_as_fp32():
    torch.manual_seed(0)
    weight = torch.randn(300, 64)
    weight[1:12] = weight[0] + 1e-3 * torch.randn(11, 64)  # rows int8 cannot tell apart
    y = weight[0] + 0.1 * torch.randn(64, 64)  # [64, D]: queries closest to those rows
    exact = y @ weight.t()
    approximate = matvec([weight], "int8")
    rescored = RescoredHead(weight, approximate)(y)
    best = first_argmax(exact)
    rows = torch.arange(len(y))
    assert not torch.equal(first_argmax(approximate(y.to(torch.bfloat16)).float()), best)
    assert torch.equal(first_argmax(rescored), best)
    torch.testing.assert_close(rescored[rows, best], exact[rows, best], rtol=0, atol=1e-4)
