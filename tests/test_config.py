import pytest

from cognate.config import PRESETS, TrainConfig, model_config
from cognate.errors import CognateError


def test_a_specialization_with_its_own_recursion_replaces_the_presets():
    memory = model_config("tiny", "memory")
    assert (memory.t_max, memory.micro_steps) == (2, 1)
    assert memory.act_threshold == 0.7


def test_memory_and_speed_convolve_their_queries_keys_and_values_and_reasoning_does_not():
    for spec in ("memory", "speed"):
        config = model_config("tiny", spec)
        assert (config.kv_conv_width, config.conv_queries) == (4, True)
    reasoning = model_config("tiny", "reasoning")
    assert (reasoning.kv_conv_width, reasoning.conv_queries) == (1, False)


def test_memory_and_speed_have_recency_heads_and_they_must_fit_the_heads():
    assert model_config("tiny", "memory").recency_heads == 2
    assert model_config("tiny", "speed").recency_heads == 2
    assert model_config("tiny", "reasoning").recency_heads == 0
    with pytest.raises(CognateError, match="recency_heads"):
        model_config("tiny", recency_heads=PRESETS["tiny"].n_heads + 1)


def test_a_specialization_without_its_own_recursion_keeps_the_presets():
    reasoning = model_config("tiny", "reasoning")
    preset = PRESETS["tiny"]
    assert (reasoning.t_max, reasoning.micro_steps) == (preset.t_max, preset.micro_steps)


def test_explicit_overrides_win_over_the_specialization():
    config = model_config("tiny", "speed", t_max=4, micro_steps=3)
    assert (config.t_max, config.micro_steps) == (4, 3)


def test_an_unknown_specialization_names_the_choices():
    with pytest.raises(CognateError, match="reasoning, memory, speed"):
        model_config("tiny", "poetry")


def test_a_train_config_saved_before_decay_start_existed_keeps_its_plain_cosine():
    saved = TrainConfig(decay_start=0.3).to_dict()
    assert TrainConfig.from_dict(saved).decay_start == 0.3
    del saved["decay_start"]
    assert TrainConfig.from_dict(saved).decay_start == 0.0
    assert TrainConfig().decay_start == 0.5
