"""Picking the next token from a step's logits: argmax, top-k / top-p, penalties, settings."""

import math

import pytest
import torch

from cognate.errors import CognateError
from cognate.infer.sampling import (
    Sampling,
    apply_repetition_penalty,
    first_argmax,
    keep_top_k,
    keep_top_p,
    pick_next,
    top_indices,
)


@pytest.mark.parametrize(("vocab", "k"), [(50_257, 32), (4096, 32), (1000, 32), (61, 32)])
def test_top_indices_are_the_topk_set(vocab, k):
    torch.manual_seed(0)
    logits = torch.randn(3, vocab)
    logits[1, -1] = 100.0  # the partial last block holds the best
    logits[2, :k] = 50.0 + torch.arange(k)  # all of the top k in the first blocks
    found = top_indices(logits, k).sort(dim=-1).values
    expected = logits.topk(min(k, vocab), dim=-1).indices.sort(dim=-1).values
    assert torch.equal(found, expected)


@pytest.mark.parametrize("vocab", [50_257, 16_400, 4096, 61])
def test_first_argmax_is_argmax_with_its_ties(vocab):
    torch.manual_seed(0)
    logits = torch.randn(5, vocab)
    logits[1, -1] = 100.0  # the partial last block holds the best
    logits[2, 3] = logits[2, vocab - 2] = 100.0  # tied: the first one wins
    logits[3, 70:72] = 100.0  # tied inside one block
    logits[4] = 7.0  # all equal
    assert torch.equal(first_argmax(logits), logits.argmax(dim=-1))


def test_repetition_penalty_changes_the_logits_of_seen_tokens_only():
    logits = torch.tensor([[2.0, -2.0, 2.0, -2.0, 0.5]])
    seen = torch.tensor([[True, True, False, False, True]])
    penalized = apply_repetition_penalty(logits, seen, 2.0)
    assert penalized.tolist() == [[1.0, -4.0, 2.0, -2.0, 0.25]]
    assert torch.equal(apply_repetition_penalty(logits, seen, 1.0), logits)


def test_top_k_keeps_the_k_largest_and_their_ties():
    logits = torch.tensor([[0.1, 3.0, -1.0, 2.0, 2.0, 0.5], [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]])
    kept = keep_top_k(logits, 2)
    assert torch.isfinite(kept).tolist() == [
        [False, True, False, True, True, False],  # 2.0 twice: tied with the 2nd largest
        [True, True, False, False, False, False],
    ]
    assert torch.equal(kept[torch.isfinite(kept)], logits[torch.isfinite(kept)])
    assert torch.equal(keep_top_k(logits, 100), logits)  # k above the vocabulary: all


@pytest.mark.parametrize(
    ("p", "kept"),
    [(0.5, [False, True, False, False]), (0.7, [False, True, False, True]), (1.0, [True] * 4)],
)
def test_top_p_keeps_the_fewest_likeliest_tokens_covering_p(p, kept):
    logits = torch.tensor([[0.05, 0.5, 0.15, 0.3]]).log()  # probabilities, out of order
    found = keep_top_p(logits, p)
    assert torch.isfinite(found)[0].tolist() == kept
    assert torch.equal(found[torch.isfinite(found)], logits[torch.isfinite(found)])


def test_greedy_picks_the_argmax_after_the_repetition_penalty():
    logits = torch.tensor([[3.0, 2.9, 0.0], [3.0, 2.9, 0.0]])
    seen = torch.tensor([[True, False, False], [False, False, True]])
    sampling = Sampling(greedy=True, repetition_penalty=2.0)
    assert pick_next(logits, seen, sampling, None).tolist() == [1, 0]


def test_samples_stay_in_the_top_k_and_repeat_with_the_seed():
    logits = torch.tensor([[1.0, 0.9, 0.8, -5.0, 0.7]]).expand(500, -1)
    seen = torch.zeros_like(logits, dtype=torch.bool)
    sampling = Sampling(temperature=1.0, top_k=3)

    def draw(seed):
        return pick_next(logits, seen, sampling, torch.Generator().manual_seed(seed))

    picks = draw(0)
    assert set(picks.tolist()) == {0, 1, 2}
    assert torch.equal(draw(0), picks)
    assert not torch.equal(draw(1), picks)


def test_a_tiny_temperature_samples_the_argmax():
    logits = torch.tensor([[1e10, 1e10 + 2e3, -2.0], [1e4, 0.0, 1e4 - 1]])  # / 1e-30: beyond fp32
    seen = torch.zeros_like(logits, dtype=torch.bool)
    sampling = Sampling(temperature=1e-30)
    assert pick_next(logits, seen, sampling, torch.Generator().manual_seed(0)).tolist() == [1, 0]


@pytest.mark.parametrize(
    "bad",
    [
        {"temperature": -0.5},
        {"temperature": math.nan},
        {"top_k": 0},
        {"top_p": 0.0},
        {"top_p": 1.5},
        {"max_new_tokens": 0},
        {"repetition_penalty": 0.0},
        {"stop": ("",)},
        {"quantize": "int2"},
    ],
)
def test_bad_sampling_values_are_refused(bad):
    with pytest.raises(CognateError, match="sampling: "):
        Sampling(**bad)


def test_one_stop_string_is_one_stop_string():
    assert Sampling(stop="\n\n").stop == ("\n\n",)
