import dataclasses

import pytest
import torch
from torch import nn

from cognate.errors import CognateError
from cognate.model import IGNORE_INDEX, CognateModel
from cognate.optim import MuGrokfast, build_optimizer, mugrokfast_config, param_groups_for


def test_routing_of_the_real_model(small_config):
    model = CognateModel(small_config)
    groups = param_groups_for(model)
    muon = set(groups["muon"])
    adamw = set(groups["adamw_decay"]) | set(groups["adamw_no_decay"])
    names = [name for name, _ in model.named_parameters()]
    assert sum(len(g) for g in groups.values()) == len(names)
    assert muon | adamw == set(names) and not muon & adamw

    assert "embed.weight" in groups["adamw_no_decay"]  # also the tied LM head
    assert "memory.decay_logit" in groups["adamw_no_decay"]
    assert "halting.proj.weight" in groups["adamw_decay"]
    for name in names:
        if "norm" in name or name.endswith(".bias") or name.startswith("halting."):
            assert name in adamw, name
    hidden_linear = {
        f"{module_name}.weight"
        for module_name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        and module_name.startswith(("blocks.", "memory.", "gate.", "recursion."))
    }
    assert muon == hidden_linear
    for name in (
        "blocks.1.attn.kv_proj.weight",
        "blocks.0.mlp.down_proj.weight",
        "memory.down.weight",
        "gate.combine.weight",
        "recursion.cross_attn.q_proj.weight",
        "recursion.y_mlp.up_proj.weight",
    ):
        assert name in muon, name


def test_frozen_parameters_are_in_no_group(small_config):
    model = CognateModel(dataclasses.replace(small_config, ltm_learnable_decay=False))
    assert all("memory.decay_logit" not in g for g in param_groups_for(model).values())
    for name in ("adamw", "mugrokfast", "muon"):
        optimizer = build_optimizer(model, name, lr=1e-3, weight_decay=0.1)
        params = [p for g in optimizer.param_groups for p in g["params"]]
        assert all(p is not model.memory.decay_logit for p in params)


def test_adamw_decays_matrices_only(small_config):
    model = CognateModel(dataclasses.replace(small_config, kv_conv_width=3))
    optimizer = build_optimizer(model, "adamw", lr=2e-3, weight_decay=0.1)
    assert isinstance(optimizer, torch.optim.AdamW)
    decayed = {n for g in optimizer.param_groups if g["weight_decay"] > 0 for n in g["param_names"]}
    matrices = {n for n, p in model.named_parameters() if p.ndim == 2 and n != "embed.weight"}
    taps = {n for n in matrices if n.endswith("conv.taps")}
    # each block's keys/values and queries, and the recursion's keys/values
    assert len(taps) == 2 * small_config.n_layers + 1
    assert decayed == matrices - taps
    assert all(g["lr"] == 2e-3 for g in optimizer.param_groups)


def test_mugrokfast_and_muon_builders(small_config):
    model = CognateModel(small_config)
    optimizer = build_optimizer(model, "mugrokfast", lr=5e-3, weight_decay=0.05)
    assert isinstance(optimizer, MuGrokfast)
    by_name = {g["name"]: g for g in optimizer.param_groups}
    assert [by_name[k]["weight_decay"] for k in ("muon", "adamw_decay", "adamw_no_decay")] == [
        0.05,
        0.05,
        0.0,
    ]
    assert all(g["lr"] == 5e-3 for g in optimizer.param_groups)
    assert optimizer.config.lamb == mugrokfast_config("tiny").lamb > 0

    muon = build_optimizer(model, "muon", lr=5e-3, weight_decay=0.05)
    assert muon.config.lamb == 0.0
    ids = torch.randint(0, small_config.vocab_size, (2, 10))
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[:, :-1] = ids[:, 1:]
    model(ids, labels).loss.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    muon.step()
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads, strict=True))
    assert not muon.state  # no Grokfast EMAs kept


def test_unknown_names_are_refused(small_config):
    with pytest.raises(CognateError, match="unknown optimizer 'sgd'"):
        build_optimizer(CognateModel(small_config), "sgd", lr=1e-3, weight_decay=0.0)
    with pytest.raises(CognateError, match="unknown preset"):
        mugrokfast_config("huge")
