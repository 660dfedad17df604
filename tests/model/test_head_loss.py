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
    row_weights = torch.rand(10, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda a, b: head_cross_entropy(a, b, targets, row_weights).loss, (x, weight)
    )


@pytest.mark.parametrize(
    ("rows_per_block", "buffered_rows"),
    [(3, 6), (3, 100), (256, 1)],  # chunks of 2 blocks; 1 chunk of 14 blocks; 1 block
)
def test_loss_gradients_and_correct_equal_the_plain_head(
    monkeypatch, rows_per_block, buffered_rows
):
    monkeypatch.setattr(head_loss, "ROWS_PER_BLOCK", rows_per_block)
    monkeypatch.setattr(head_loss, "GRADIENT_BUFFER_BYTES", buffered_rows * 50 * 4)
    x, weight, targets = _inputs(40, 50)
    targets[:5] = F.linear(x[:5], weight).argmax(dim=-1)  # some rows right
    row_weights = torch.linspace(0.0, 0.05, 40)
    loss, row_losses, correct = head_cross_entropy(x, weight, targets, row_weights)
    (2.0 * loss).backward()  # the backward pass scales by the incoming gradient
    found = loss.detach(), row_losses, x.grad.clone(), weight.grad.clone()

    x.grad = weight.grad = None
    logits = F.linear(x, weight)
    plain_rows = F.cross_entropy(logits, targets, reduction="none")
    plain = (row_weights * plain_rows).sum()
    (2.0 * plain).backward()
    torch.testing.assert_close(found, (plain.detach(), plain_rows.detach(), x.grad, weight.grad))
    assert torch.equal(correct, logits.argmax(dim=-1) == targets)
    assert correct[:5].all() and not correct.all()


def test_under_autocast_the_products_are_bf16_and_the_loss_close():
    x, weight, targets = _inputs(40, 50, dim=32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = head_cross_entropy(x, weight, targets).loss  # the mean by default
    loss.backward()
    assert loss.dtype == x.grad.dtype == weight.grad.dtype == torch.float32
    exact = F.cross_entropy(F.linear(x, weight), targets).detach()
    loss = loss.detach()
    assert abs(loss - exact) < 0.05 * exact and loss != exact


def test_no_rows_give_a_zero_loss_and_zero_gradients():
    x, weight, targets = _inputs(0, 50)
    loss, row_losses, correct = head_cross_entropy(x, weight, targets)
    loss.backward()
    assert loss.item() == 0 and row_losses.shape == correct.shape == (0,)
    assert not weight.grad.any()
