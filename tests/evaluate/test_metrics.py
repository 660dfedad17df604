"""Exact-match scoring rules and the mode-collapse alarm."""

import pytest

from cognate.evaluate.metrics import is_correct, is_degenerate, output_health

SEED_OUTPUTS = [  # what the seed's models produced (its report, first line of each)
    "::::::::",
    "did did did",
    "If If If not / / / / / / / / / / distance customers was was was",
    "30101010101010101010101010101010 did did did meters 120] of",
    "order order together together together read around should",
    "chargesThey 27 27 27 27 27 27ate 27 27 27 27 kg66 litateate",
    "weekweek4444444444444444444444444444444 work work work workThere",
]
HEALTHY = ["42", "Paris", "30 miles per hour", "Yes", "111", "-3", "blue", "8 apples"]


@pytest.mark.parametrize(
    ("output", "expected", "correct"),
    [
        ("8 apples", "8", True),
        (" 8", "8", True),
        ("8.", "8", True),
        ("30 miles per hour", "30 miles per hour", True),
        ("30 miles", "30 miles per hour", False),
        ("Paris.", "Paris", True),
        (" Paris\nmore", "Paris", True),
        ("Parisian", "Paris", False),
        ("paris", "Paris", True),
        ("PARIS", "paris", True),
        ("Berlin", "Paris", False),
        ("420", "42", False),
        ("4 2", "42", False),
        ("42", "420", False),
        ("-3", "-3", True),
        ("3", "-3", False),
        ("-3", "3", False),
        ("No", "Yes", False),
        ("yes", "Yes", True),
        ("Yes, it is", "Yes", True),
        ("Yesterday", "Yes", False),
        ("", "Yes", False),
        ("\n42", "42", False),
    ],
)
def test_scoring_rules(output, expected, correct):
    assert is_correct(output, expected) is correct


@pytest.mark.parametrize("output", SEED_OUTPUTS)
def test_every_seed_output_is_degenerate_and_trips_the_alarm(output):
    assert is_degenerate(output)
    assert output_health([output]).collapse_alarm


@pytest.mark.parametrize("output", HEALTHY)
def test_healthy_answers_are_not_degenerate(output):
    assert not is_degenerate(output)


def test_healthy_outputs_do_not_trip_the_alarm():
    health = output_health(HEALTHY)
    assert not health.collapse_alarm
    assert health.degenerate_share == 0.0


def test_the_alarm_needs_a_share_of_degenerate_outputs():
    assert not output_health(HEALTHY + SEED_OUTPUTS[:1]).collapse_alarm
    assert output_health(HEALTHY[:4] + SEED_OUTPUTS[:2]).collapse_alarm
    health = output_health(["did did did did"])
    assert health.longest_run == 4
    assert health.top_unit_share == 1.0
    assert health.distinct_1 == 0.25
