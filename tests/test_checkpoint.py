import contextlib
import os
import warnings

import pytest
import torch

from cognate import checkpoint as ckpt_module
from cognate.checkpoint import (
    CheckpointError,
    flatten_state,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
    unflatten_state,
)
from cognate.model import CognateModel


def _save(stem, model, step, state=None):
    meta = {"step": step, "model_config": model.config.to_dict()}
    save_checkpoint(stem, model.state_dict(), meta, state)


def test_round_trip_restores_identical_weights(tmp_path, small_config):
    model = CognateModel(small_config)
    _save(tmp_path / "best", model, step=7)
    loaded = model_from_checkpoint(load_checkpoint(tmp_path / "best"))
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert load_checkpoint(tmp_path / "best.json").metadata["step"] == 7


def test_tampered_and_truncated_weights_are_refused(tmp_path, small_config):
    model = CognateModel(small_config)
    _save(tmp_path / "best", model, step=1)
    weights = tmp_path / "best.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256 does not match"):
        load_checkpoint(tmp_path / "best")
    weights.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(CheckpointError, match=r"best\.safetensors"):
        load_checkpoint(tmp_path / "best")


def test_missing_files_name_the_path(tmp_path, small_config):
    with pytest.raises(CheckpointError, match="no checkpoint here"):
        load_checkpoint(tmp_path / "nothing")
    _save(tmp_path / "best", CognateModel(small_config), step=1)
    (tmp_path / "best.safetensors").unlink()
    with pytest.raises(CheckpointError, match="weights file is missing"):
        load_checkpoint(tmp_path / "best")


def test_wrong_shape_names_key_and_shapes(tmp_path, small_config):
    model = CognateModel(small_config)
    weights = model.state_dict()
    weights["embed.weight"] = torch.zeros(3, small_config.d_model)
    save_checkpoint(tmp_path / "bad", weights, {"model_config": small_config.to_dict()})
    with pytest.raises(
        CheckpointError, match=r"embed\.weight has shape \(3, 32\).*expects \(61, 32\)"
    ):
        model_from_checkpoint(load_checkpoint(tmp_path / "bad"))


def test_legacy_memory_state_is_dropped_with_a_warning(tmp_path, small_config):
    model = CognateModel(small_config)
    weights = dict(model.state_dict())
    weights["memory.memory_state"] = torch.zeros(2, 1, small_config.d_mem)
    save_checkpoint(tmp_path / "legacy", weights, {"model_config": small_config.to_dict()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = model_from_checkpoint(load_checkpoint(tmp_path / "legacy"))
    assert any("memory_state" in str(w.message) for w in caught)
    assert torch.equal(loaded.embed.weight, model.embed.weight)


@pytest.mark.parametrize("crash_at", range(6))
def test_a_crash_during_a_save_leaves_a_loadable_checkpoint(
    tmp_path, small_config, monkeypatch, crash_at
):
    model = CognateModel(small_config)
    state = {"opt": torch.ones(4)}
    _save(tmp_path / "last", model, step=1, state=state)
    original = model.embed.weight.detach().clone()
    with torch.no_grad():
        model.embed.weight.add_(1.0)
    calls = {"n": 0}
    real_replace = os.replace

    def flaky_replace(src, dst):
        if calls["n"] == crash_at:
            raise OSError("simulated kill")
        calls["n"] += 1
        real_replace(src, dst)

    monkeypatch.setattr(ckpt_module.os, "replace", flaky_replace)
    with contextlib.suppress(OSError):
        _save(tmp_path / "last", model, step=2, state={"opt": torch.full((4,), 2.0)})
    monkeypatch.setattr(ckpt_module.os, "replace", real_replace)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = load_checkpoint(tmp_path / "last", with_state=True)
    step = loaded.metadata["step"]
    assert step in (1, 2)
    assert float(loaded.state["opt"][0]) == step
    expected = model.embed.weight.detach() if step == 2 else original
    assert torch.equal(loaded.weights["embed.weight"], expected)


def test_nested_state_round_trips_through_json_and_tensors():
    state = {
        "state": {0: {"step": torch.tensor(3.0), "m": torch.ones(2)}},
        "groups": [{"betas": (0.9, 0.95), "lr": 0.1}],
    }
    tensors: dict[str, torch.Tensor] = {}
    skeleton = flatten_state(state, "opt", tensors)
    restored = unflatten_state(skeleton, tensors)
    assert restored["groups"] == [{"betas": (0.9, 0.95), "lr": 0.1}]
    assert torch.equal(restored["state"][0]["m"], torch.ones(2))
    assert list(restored["state"]) == [0]
