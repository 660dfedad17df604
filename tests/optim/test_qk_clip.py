import torch
import torch.distributed as dist

from cognate.model import IGNORE_INDEX, CognateModel
from cognate.optim import MuGrokfastConfig, build_optimizer, enable_qk_clip, qk_clip

TAU = 1.0


def _batch(vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(0, vocab_size, (2, 12))
    labels = ids.roll(-1, dims=1)
    labels[:, -1] = IGNORE_INDEX
    return ids, labels


def _max_logits(model, attention, batch) -> list[torch.Tensor]:
    for module in attention:
        module.max_logits = None
    model(*batch)
    return [module.max_logits.clone() for module in attention]


def _model_with_a_hot_head(config):
    """A model whose last backbone block has head 0 far above TAU, every other head below."""
    model = CognateModel(config)
    attention = enable_qk_clip(model)
    head_dim = config.head_dim
    with torch.no_grad():
        model.blocks[-1].attn.q_proj.weight[:head_dim] *= 3000.0
    return model, attention


def test_qk_clip_bounds_the_clipped_head_at_tau(small_config):
    model, attention = _model_with_a_hot_head(small_config)
    hot = model.blocks[-1].attn
    batch = _batch(small_config.vocab_size)
    before = _max_logits(model, attention, batch)
    hot_index = attention.index(hot)
    assert before[hot_index][0] > 5 * TAU and before[hot_index][1] < TAU
    assert all(bool((m < TAU).all()) for i, m in enumerate(before) if i != hot_index)
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}

    assert qk_clip(attention, TAU) == 1
    assert all(module.max_logits is None for module in attention)  # records reset

    after = _max_logits(model, attention, batch)
    assert all(bool((m <= TAU * (1 + 1e-4)).all()) for m in after), after
    assert after[hot_index][0] > TAU * (1 - 1e-3)  # clipped to τ, not below
    d, hd = small_config.d_model, small_config.head_dim
    scale = (TAU / before[hot_index][0]).sqrt()
    prefix = f"blocks.{small_config.n_layers - 1}.attn."
    q, kv = weights[prefix + "q_proj.weight"], weights[prefix + "kv_proj.weight"]
    torch.testing.assert_close(hot.q_proj.weight[:hd], q[:hd] * scale)
    torch.testing.assert_close(hot.kv_proj.weight[:hd], kv[:hd] * scale)  # head 0's keys
    assert torch.equal(hot.q_proj.weight[hd:], q[hd:])  # head 1 unchanged
    assert torch.equal(hot.kv_proj.weight[hd:], kv[hd:])  # head 1's keys, all values unchanged
    assert d == hot.q_proj.weight.shape[0]
    for name, value in weights.items():
        if not name.startswith(prefix):
            assert torch.equal(dict(model.named_parameters())[name], value), name


def test_only_training_forwards_are_recorded(small_config):
    model = CognateModel(small_config)
    attention = enable_qk_clip(model)
    ids, labels = _batch(small_config.vocab_size)
    model(ids)  # inference: no_grad
    model.eval()
    model(ids, labels)
    assert all(module.max_logits is None for module in attention)
    model.train()
    model(ids, labels)
    assert all(module.max_logits is not None for module in attention)


def test_optimizer_clips_after_its_step_and_counts(small_config):
    model, _ = _model_with_a_hot_head(small_config)
    optimizer = build_optimizer(
        model, "mugrokfast", lr=0.0, weight_decay=0.0, config=MuGrokfastConfig(qk_clip_tau=TAU)
    )
    batch = _batch(small_config.vocab_size)
    for _ in range(2):
        optimizer.zero_grad()
        model(*batch).loss.backward()
        optimizer.step()
    assert (optimizer.last_qk_clip_count, optimizer.qk_clip_count) == (0, 1)
    assert optimizer.state_dict()["qk_clip_count"] == 1


def test_distributed_maximum_is_used(small_config, tmp_path):
    model, attention = _model_with_a_hot_head(small_config)
    model(*_batch(small_config.vocab_size))
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    try:
        assert qk_clip(attention, TAU) == 1
    finally:
        dist.destroy_process_group()
