"""The decode cache's rings: position p in slot p % window, growing until the window is full."""

import torch

from cognate.model.cache import DecodeState


def positions_kv(length, heads=2, head_dim=3):
    """Keys and values [1, H, length, head_dim] whose every entry is its position."""
    t = torch.arange(length, dtype=torch.float)[None, None, :, None]
    return t.expand(1, heads, length, head_dim).clone(), -t.expand(1, heads, length, head_dim)


def cached_positions(state):
    """The position held by each slot of the first layer's keys."""
    return state.layer_kv[0][0][0, 0, :, 0].tolist()


def test_a_state_starts_with_room_for_twice_the_prompt_and_grows_to_the_window():
    window = 8
    state = DecodeState.after_prompt(
        [positions_kv(3)], positions_kv(3), torch.zeros(1, 4), [], None, window, conv_width=1
    )
    assert state.position == 3
    assert cached_positions(state) == [0, 1, 2, 0, 0, 0]
    slots = []
    for position in range(3, 12):
        slot = state.make_room()
        slots.append(slot)
        for cache in [*state.layer_kv, state.cross_kv]:
            cache[0][:, :, slot] = position
        state.position += 1
    assert slots == [3, 4, 5, 6, 7, 0, 1, 2, 3]  # from position 8 on, the ring wraps
    assert cached_positions(state) == [8, 9, 10, 11, 4, 5, 6, 7]
    assert state.cross_kv[0].shape[2] == window


def prompt_state(length, padding, window=8, conv_width=4):
    valid = torch.arange(length)[None] >= padding  # [1, L]: left padding
    projected = torch.arange(length, dtype=torch.float)[None, :, None] + 1  # [1, L, 1]
    kv = positions_kv(length)
    memory = torch.zeros(1, 4)
    return DecodeState.after_prompt([kv], kv, memory, [projected], valid, window, conv_width)


def test_a_long_prompt_keeps_its_last_window_of_positions():
    state = prompt_state(length=11, padding=2)
    assert cached_positions(state) == [8, 9, 10, 3, 4, 5, 6, 7]
    assert state.key_valid[0].tolist() == [True] * 8  # the padding has left the window
    assert state.conv_history[0][0, :, 0].tolist() == [9.0, 10.0, 11.0]  # the last 3 positions


def test_padding_and_the_positions_before_the_start_are_marked_or_zero():
    state = prompt_state(length=2, padding=1)
    assert state.key_valid[0].tolist() == [False, True, False, False]  # 4 slots: twice 2
    assert state.conv_history[0][0, :, 0].tolist() == [0.0, 0.0, 2.0]
