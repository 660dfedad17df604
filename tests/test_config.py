import dataclasses

import pytest

from cognate.config import (
    PRESETS,
    SPECIALIZATIONS,
    ModelConfig,
    TrainConfig,
    get_specialization,
    model_config,
)
from cognate.errors import CognateError
from cognate.train.options import with_specialization_defaults

# ModelConfig fields a Specialization may set; model_config keeps every other from the preset
SET_BY_A_SPECIALIZATION = {"act_threshold", "d_mem", "t_max", "micro_steps", "kv_conv_width"}
SET_BY_A_SPECIALIZATION |= {"conv_queries", "recency_heads", "window"}


@pytest.mark.parametrize("spec", SPECIALIZATIONS)
def test_a_specialization_applies_what_it_sets_and_keeps_the_rest_of_the_preset(spec):
    preset, s = PRESETS["tiny"], get_specialization(spec)
    config = model_config("tiny", spec)
    assert config.act_threshold == s.act_threshold
    assert config.d_mem == max(1, round(preset.d_mem * s.d_mem_factor))
    recursion = s.recursion or (preset.t_max, preset.micro_steps)
    assert (config.t_max, config.micro_steps) == recursion
    short_conv = s.short_conv or (preset.kv_conv_width, preset.conv_queries)
    assert (config.kv_conv_width, config.conv_queries) == short_conv
    assert config.recency_heads == (s.recency_heads or preset.recency_heads)
    assert config.window == (s.window or preset.window)
    for field in dataclasses.fields(ModelConfig):
        if field.name not in SET_BY_A_SPECIALIZATION:
            assert getattr(config, field.name) == getattr(preset, field.name), field.name


def test_a_run_takes_the_specializations_training_defaults_unless_it_sets_its_own():
    memory = dataclasses.replace(get_specialization("memory"), lr=0.02, batch_size=8, max_len=64)
    config = with_specialization_defaults(TrainConfig(), memory)
    assert (config.lr, config.batch_size, config.max_len) == (0.02, 8, 64)
    own = TrainConfig(lr=0.001, batch_size=4, max_len=32)
    assert with_specialization_defaults(own, memory) == own


def test_explicit_overrides_win_over_the_specialization():
    config = model_config("tiny", "speed", t_max=4, micro_steps=3)
    assert (config.t_max, config.micro_steps) == (4, 3)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"recency_heads": PRESETS["tiny"].n_heads + 1}, "recency_heads must be in"),
        ({"n_heads": 3}, "d_model must be divisible by n_heads"),
        ({"conv_queries": True}, "conv_queries needs kv_conv_width > 1"),
        ({"t_max": 0}, "t_max must be >= 1"),
    ],
)
def test_an_impossible_model_shape_is_refused_with_the_reason(overrides, message):
    with pytest.raises(CognateError, match=f"invalid ModelConfig: {message}"):
        model_config("tiny", **overrides)


def test_unknown_names_list_the_choices():
    with pytest.raises(CognateError, match=", ".join(SPECIALIZATIONS)):
        model_config("tiny", "poetry")
    with pytest.raises(CognateError, match=", ".join(PRESETS)):
        model_config("huge")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"optimizer": "sgd"}, "unknown optimizer 'sgd'; choose one of: adamw"),
        ({"precision": "fp8"}, "unknown precision 'fp8'"),
        ({"batch_size": 0}, "batch-size must be >= 1"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"decay_start": 1.0}, r"decay-start must be in \[0, 1\)"),
    ],
)
def test_a_bad_training_option_is_one_error_naming_the_flag(options, message):
    with pytest.raises(CognateError, match=message):
        TrainConfig(**options)


def test_a_train_config_round_trips_and_one_saved_before_decay_start_keeps_its_cosine():
    saved = TrainConfig(decay_start=0.3, batch_size=16).to_dict()
    assert TrainConfig.from_dict(saved) == TrainConfig(decay_start=0.3, batch_size=16)
    del saved["decay_start"]
    assert TrainConfig.from_dict(saved).decay_start == 0.0
