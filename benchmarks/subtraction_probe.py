"""Subtraction probe: greedy exact-match of `Q: What is a - b? A:` by kind of difference.

    .venv/bin/python benchmarks/subtraction_probe.py runs/demo/speed/best runs/demo/speed/final

The held-out test split holds ~15 subtractions, too few to see where a model subtracts badly;
this asks every a - b with a below 20 and a quarter of those with a from 20 to 99 (b from 0 to
a, any split: it measures the skill, not generalisation). Kinds: both below ten; a teen minus
one digit crossing ten (15 - 7); other teens; two digits with a difference below ten
(47 - 43); other two-digit differences. Prints one line per checkpoint and its misses.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from cognate import load
from cognate.evaluate.suites import TestItem, run_items

KINDS = (
    "both below 10",
    "teen - digit, crossing ten",
    "other teens",
    "2 digits, difference < 10",
    "other 2 digits",
)


def kind_of(a: int, b: int) -> str:
    if a < 10:
        return KINDS[0]
    if a < 20:
        return KINDS[1] if a % 10 < b < 10 else KINDS[2]
    return KINDS[3] if a - b < 10 else KINDS[4]


def probe_pairs() -> list[tuple[int, int]]:
    return [(a, b) for a in range(100) for b in range(a + 1) if a < 20 or (a + b) % 4 == 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint paths without suffix")
    args = parser.parse_args()
    pairs = probe_pairs()
    items = [TestItem(f"Q: What is {a} - {b}? A:", str(a - b), "arithmetic") for a, b in pairs]
    for checkpoint in args.checkpoints:
        bundle = load(checkpoint)
        results = run_items(bundle.model, bundle.tokenizer, items)
        correct: dict[str, list[bool]] = defaultdict(list)
        misses = []
        for (a, b), result in zip(pairs, results, strict=True):
            correct[kind_of(a, b)].append(result.correct)
            if not result.correct:
                misses.append(f"{a}-{b}={result.output.strip()}")
        overall = sum(r.correct for r in results) / len(results)
        shares = " | ".join(
            f"{kind} {sum(correct[kind]) / len(correct[kind]):.1%}" for kind in KINDS
        )
        print(f"{checkpoint}: {overall:.1%} of {len(results)} | {shares}")
        print(f"  misses ({len(misses)}): {' '.join(misses[:40])}")


if __name__ == "__main__":
    main()
