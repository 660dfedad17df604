import pytest
import torch
import torch.nn.functional as F

from cognate.model import head_loss
from cognate.model.head_loss import head_cross_entropy


def _inputs(n: int, vocab: int, dim: int = 8, dtype=torch.float32):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, dim, generator=generator, dtype=dtype, requires_grad=True)
    weight = torch.randn(vocab, dim, generator=generator, dtype=dtype, requires_grad=True)
    targets = torch.randint(0, vocab, (n,), generator=generator)
    return x, weight, targets


def test_gradients_are_those_of_the_loss(monkeypatch):
    monkeypatch.setattr(head_loss, "ROWS_PER_BLOCK", 4)  # 10 rows: blocks of 4, 4 and 2
    x, weight, targets = _inputs(10, 13, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a, b: head_cross_entropy(a, b, targets)[0], (x, weight))


@pytest.mark.parametrize("rows_per_block", [3, 256])
def test_loss_gradients_and_correct_equal_the_plain_head(monkeypatch, rows_per_block):
    monkeypatch.setattr(head_loss, "ROWS_PER_BLOCK", rows_per_block)
    x, weight, targets = _inputs(40, 50)
    targets[:5] = F.linear(x[:5], weight).argmax(dim=-1)  # some rows right
    loss, correct = head_cross_entropy(x, weight, targets)
    (2.0 * loss).backward()  # the backward pass scales by the incoming gradient
    found = loss.detach(), x.grad.clone(), weight.grad.clone()

    x.grad = weight.grad = None
    logits = F.linear(x, weight)
    plain = F.cross_entropy(logits, targets)
    (2.0 * plain).backward()
    torch.testing.assert_close(found, (plain.detach(), x.grad, weight.grad))
    assert torch.equal(correct, logits.argmax(dim=-1) == targets)
    assert correct[:5].all() and not correct.all()


def test_under_autocast_the_products_are_bf16_and_the_loss_close():
    x, weight, targets = _inputs(40, 50, dim=32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _ = head_cross_entropy(x, weight, targets)
    loss.backward()
    assert loss.dtype == x.grad.dtype == weight.grad.dtype == torch.float32
    exact = F.cross_entropy(F.linear(x, weight), targets).detach()
    loss = loss.detach()
    assert abs(loss - exact) < 0.05 * exact and loss != exact
