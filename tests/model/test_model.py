import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from cognate.model import IGNORE_INDEX, CognateModel
from cognate.model.attention import recency_slopes, with_recency
from cognate.model.memory import LongTermMemory

pytestmark = pytest.mark.usefixtures("one_thread")


def _perturbed(ids: torch.Tensor, k: int, vocab: int) -> torch.Tensor:
    changed = ids.clone()
    changed[:, k] = (changed[:, k] + 1 + torch.randint(0, vocab - 1, (ids.shape[0],))) % vocab
    return changed


@pytest.mark.parametrize("d_mem", [12, 0])  # 0: no long-term memory
@pytest.mark.parametrize("recency_heads", [0, 2])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_changing_a_future_token_never_changes_earlier_logits(
    small_config, mode, recency_heads, d_mem, with_random_taps
):
    small_config = dataclasses.replace(small_config, recency_heads=recency_heads, d_mem=d_mem)
    model = with_random_taps(CognateModel(small_config)).train(mode == "train")
    length = 3 * small_config.window + 5
    ids = torch.randint(0, small_config.vocab_size, (3, length))
    before_steps, before_halted = model.step_logits(ids), model(ids)
    for k in (1, small_config.window, length // 2, length - 1):
        changed = _perturbed(ids, k, small_config.vocab_size)
        after_steps, after_halted = model.step_logits(changed), model(changed)
        torch.testing.assert_close(after_steps[:, :, :k], before_steps[:, :, :k], rtol=0, atol=0)
        torch.testing.assert_close(after_halted[:, :k], before_halted[:, :k], rtol=0, atol=0)
        assert not torch.equal(after_steps[:, :, k:], before_steps[:, :, k:])


def test_training_loss_gets_no_gradient_from_future_tokens(small_config, with_random_taps):
    config = dataclasses.replace(small_config, gate_entropy_weight=0.0)
    model = with_random_taps(CognateModel(config))
    length = 3 * config.window
    ids = torch.randint(0, config.vocab_size, (2, length))
    for target in (2, config.window + 3, length - 2):
        labels = torch.full_like(ids, IGNORE_INDEX)
        labels[:, target] = ids[:, target + 1]
        embeddings: list[torch.Tensor] = []

        def keep(_module, _inputs, out, store=embeddings):
            out.retain_grad()
            store.append(out)

        handle = model.embed.register_forward_hook(keep)
        model.zero_grad()
        model(ids, labels).loss.backward()
        handle.remove()
        grad = embeddings[0].grad.abs().sum(dim=-1)  # [B, L]
        assert torch.all(grad[:, target + 1 :] == 0)
        assert torch.all(grad[:, target] > 0)


def test_memory_parallel_form_equals_stepping_token_by_token():
    memory = LongTermMemory(d_model=16, d_mem=10, decay_init=0.9, learnable_decay=True)
    with torch.no_grad():
        memory.decay_logit.copy_(torch.linspace(-2.0, 5.0, 10))
    h = torch.randn(3, 139, 16)  # not a power of two
    parallel, final_state = memory(h)
    state = torch.zeros(3, 10)  # m_0 = 0
    for t in range(h.shape[1]):
        out, state = memory.step(h[:, t], state)
        torch.testing.assert_close(out, parallel[:, t], rtol=0, atol=1e-5)
    torch.testing.assert_close(state, final_state, rtol=0, atol=1e-5)


def test_memory_parallel_form_continues_a_given_state_and_restarts_at_segments():
    torch.manual_seed(0)
    memory = LongTermMemory(d_model=8, d_mem=6, decay_init=0.8, learnable_decay=True)
    h, state = torch.randn(2, 20, 8), torch.randn(2, 6)
    starts = torch.zeros(2, 20, dtype=torch.bool)
    starts[0, 7] = starts[1, 13] = True
    parallel, final = memory(h, state=state, segment_starts=starts)
    for row, start in ((0, 7), (1, 13)):
        stepped = state[row : row + 1]
        for t in range(20):
            if t == start:
                stepped = torch.zeros_like(stepped)
            out, stepped = memory.step(h[row : row + 1, t], stepped)
            torch.testing.assert_close(out[0], parallel[row, t], rtol=0, atol=1e-5)
        torch.testing.assert_close(stepped[0], final[row], rtol=0, atol=1e-5)


def test_memory_state_starts_at_zero_for_every_call():
    memory = LongTermMemory(d_model=8, d_mem=4, decay_init=0.99, learnable_decay=False)
    h = torch.randn(2, 5, 8)
    first, _ = memory(h)
    second, _ = memory(h)
    assert torch.equal(first, second)
    assert not memory.decay_logit.requires_grad


def test_same_input_twice_gives_identical_outputs_and_state_dict_is_batch_free(small_config):
    model = CognateModel(small_config).eval()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    values = {k: v.clone() for k, v in model.state_dict().items()}
    ids = torch.randint(0, small_config.vocab_size, (4, 20))
    first = model(ids)
    model(torch.randint(0, small_config.vocab_size, (7, 13)))
    assert torch.equal(model(ids), first)
    after = model.state_dict()
    assert {k: tuple(v.shape) for k, v in after.items()} == shapes
    assert all(torch.equal(after[k], values[k]) for k in values)
    assert not any("state" in key for key in after)
    assert all(name.endswith("inv_freq") for name, _ in model.named_buffers())


@pytest.mark.parametrize("d_mem", [12, 0])
def test_every_parameter_receives_a_gradient(small_config, d_mem):
    model = CognateModel(dataclasses.replace(small_config, d_mem=d_mem))
    ids = torch.randint(0, small_config.vocab_size, (4, 20))
    labels = torch.roll(ids, -1, dims=1)
    labels[:, :6] = IGNORE_INDEX
    model(ids, labels).loss.backward()
    missing = [
        name
        for name, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)
    ]
    assert missing == []
    assert model.halting.proj.weight.grad.abs().sum() > 0


def test_without_a_long_term_memory_the_gate_scales_h_alone_and_the_model_trains(small_config):
    model = CognateModel(dataclasses.replace(small_config, d_mem=0))
    assert model.memory is None
    assert not [name for name, _ in model.named_parameters() if name.startswith("memory.")]
    counts = model.parameter_counts()
    assert counts["long-term memory"] == 0
    with_memory = CognateModel(small_config).parameter_counts()
    assert counts["MAG gate"] == with_memory["MAG gate"] - small_config.d_model**2
    h = torch.randn(2, 5, small_config.d_model)
    with torch.no_grad():
        x, g = model.gate(h, None)
    torch.testing.assert_close(x, g * h)
    assert float(g.min()) > 0 and float(g.max()) < 1

    ids = torch.randint(0, small_config.vocab_size, (4, 16))
    labels = torch.roll(ids, -1, dims=1)
    labels[:, -1] = IGNORE_INDEX
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(20):
        out = model(ids, labels)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(float(out.lm_loss))
    assert losses[-1] < losses[0]


def test_attention_reaches_exactly_attention_reach_positions_back(small_config, with_random_taps):
    """Without the long-term memory, the last logits depend on the token `attention_reach`
    positions back and on none before it."""
    model = with_random_taps(CognateModel(dataclasses.replace(small_config, d_mem=0))).eval()
    reach = small_config.attention_reach
    ids = torch.randint(0, small_config.vocab_size, (2, reach + 6))
    last = model.step_logits(ids)[:, :, -1]
    farthest = ids.shape[1] - 1 - reach
    beyond = model.step_logits(_perturbed(ids, farthest - 1, small_config.vocab_size))[:, :, -1]
    within = model.step_logits(_perturbed(ids, farthest, small_config.vocab_size))[:, :, -1]
    assert torch.equal(beyond, last)
    assert not torch.equal(within, last)


def test_training_output_reports_the_halting_steps_and_the_gate_of_its_targets(small_config):
    model = CognateModel(small_config)
    ids = torch.randint(0, small_config.vocab_size, (3, 16))
    labels = torch.roll(ids, -1, dims=1)
    labels[:, :5] = IGNORE_INDEX
    is_target = labels != IGNORE_INDEX
    out = model(ids, labels)
    with torch.no_grad():
        steps = model.infer(ids).steps[is_target].float()  # where inference halts
        gate = model.encode(ids).gate
    assert out.n_targets == int(is_target.sum())
    assert steps.std() > 0, "the random model should halt at different steps"
    torch.testing.assert_close(out.halt_steps_mean, steps.mean())
    torch.testing.assert_close(out.halt_steps_std, steps.std(unbiased=False))
    torch.testing.assert_close(out.gate_mean, gate.mean())


def test_training_losses_are_those_of_every_steps_logits(small_config):
    torch.manual_seed(0)
    model = CognateModel(small_config)
    ids = torch.randint(0, small_config.vocab_size, (3, 16))
    labels = torch.roll(ids, -1, dims=1)
    labels[:, ::3] = IGNORE_INDEX  # targets at some positions only
    out = model(ids, labels)
    with torch.no_grad():
        step_logits = model.step_logits(ids)[:, labels != IGNORE_INDEX]  # [T, N, V]
    targets = labels[labels != IGNORE_INDEX]
    losses = torch.stack([F.cross_entropy(logits, targets) for logits in step_logits])
    weights = torch.tensor(small_config.step_weights())
    torch.testing.assert_close(out.step_losses, losses)
    torch.testing.assert_close(out.lm_loss, (weights / weights.sum() * losses).sum())
    accuracy = (step_logits.argmax(dim=-1) == targets).float().mean(dim=1)
    torch.testing.assert_close(out.step_accuracy, accuracy)


def test_a_tiny_model_overfits_one_batch(small_config):
    model = CognateModel(small_config)
    ids = torch.randint(0, small_config.vocab_size, (4, 16))
    labels = torch.roll(ids, -1, dims=1)
    labels[:, -1] = IGNORE_INDEX
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(300):
        out = model(ids, labels)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        first = first if first is not None else float(out.lm_loss)
    assert float(out.lm_loss) < 0.1 * first


@pytest.mark.parametrize("recency_heads", [0, 2])
def test_packed_rows_equal_each_sequence_run_alone(small_config, recency_heads, with_random_taps):
    small_config = dataclasses.replace(small_config, recency_heads=recency_heads)
    model = with_random_taps(CognateModel(small_config)).eval()
    lengths = [5, 11, 3, 13]  # one row of 32 tokens; 13 > window, so the window applies too
    pieces = [torch.randint(0, small_config.vocab_size, (1, n)) for n in lengths]
    packed = torch.cat(pieces, dim=1)
    segments = torch.cat([torch.full((1, n), i) for i, n in enumerate(lengths)], dim=1)
    together = model.step_logits(packed, segments)
    start = 0
    for piece in pieces:
        alone = model.step_logits(piece)
        end = start + piece.shape[1]
        torch.testing.assert_close(together[:, :, start:end], alone, rtol=0, atol=1e-5)
        start = end


def test_packed_training_loss_equals_the_losses_of_the_sequences(small_config, with_random_taps):
    model = with_random_taps(CognateModel(small_config))
    lengths = [7, 9, 6]
    pieces = [torch.randint(0, small_config.vocab_size, (1, n)) for n in lengths]
    labels = [torch.roll(p, -1, dims=1) for p in pieces]
    separate = [model(p, lab) for p, lab in zip(pieces, labels, strict=True)]
    segments = torch.cat([torch.full((1, n), i) for i, n in enumerate(lengths)], dim=1)
    packed = model(torch.cat(pieces, dim=1), torch.cat(labels, dim=1), segments=segments)
    expected = sum(out.step_losses * out.n_targets for out in separate) / sum(lengths)
    torch.testing.assert_close(packed.step_losses, expected, rtol=0, atol=1e-5)


def test_recency_heads_weigh_equal_keys_down_by_their_distance():
    slopes = recency_slopes(4, 2)
    assert slopes.tolist() == [0.0, 0.0, 0.5, 0.25]
    positions = torch.arange(5)
    distance = (positions[:, None] - positions[None, :]).float()
    mask = with_recency((distance >= 0)[None, None], slopes, distance.clamp(min=0))
    weights = torch.softmax(mask, dim=-1)[0]  # [H, 5, 5]: equal scores, the mask alone
    assert torch.all(weights.triu(1) == 0)  # causal
    torch.testing.assert_close(weights[0, -1], torch.full((5,), 0.2))  # no slope: uniform
    for head, slope in ((2, 0.5), (3, 0.25)):  # each position nearer gains a factor e^slope
        ratios = weights[head, -1, 1:] / weights[head, -1, :-1]
        torch.testing.assert_close(ratios, torch.full((4,), math.exp(slope)))
