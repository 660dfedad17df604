"""Train / validation / test splits, disjoint by construction, and the seed prompts' reserve.

- every example has a *key* (family, operation and operands, or its full fact content); a
  stable hash sends each key to train / validation / test (about 80/10/10, `split_of_key`);
- made-up names (built from syllables) are split the same way, and an example that uses
  made-up names draws them only from its own split's pool (`vocabulary.name_pool`);
- each question group has templates used only in validation / test (`HELDOUT_SHARE` of those
  examples);
- tables to memorise are held out by template only, since no algorithm answers an unseen
  entry: multiplication facts (`arith.mul`, 1-12 x 1-12), equal sharing (`wp.shared`, the same
  table inverted) and world facts (`yn.world`). Training uses training templates with any
  entry; validation / test use held-out templates only, so their prompts stay disjoint;
- the seed report's prompts are reserved: their operand pairs (in any family, either order)
  and fact combinations (France with Germany, sky with grass) only ever occur in test, even in
  the groups held out by template only (`is_reserved`).
"""

from __future__ import annotations

import hashlib
import itertools

SPLITS: tuple[str, ...] = ("train", "validation", "test")
HELDOUT_SHARE = 0.5  # share of held-out templates in validation / test

# Operand pairs and fact combinations of the seed prompts (see seed_prompts.py).
RESERVED_NUMBER_PAIRS: tuple[tuple[int, int], ...] = (
    (15, 7),
    (25, 17),
    (60, 2),
    (5, 3),
    (2, 2),
    (7, 3),
    (10, 5),
)
RESERVED_WORD_PAIRS: tuple[tuple[str, str], ...] = (("France", "Germany"), ("sky", "grass"))
_RESERVED_PAIRS = frozenset(tuple(sorted(pair)) for pair in RESERVED_NUMBER_PAIRS)


def split_of_key(key: str) -> str:
    """The split of a key by a stable hash: ~80% train, ~10% validation, ~10% test."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    bucket = int.from_bytes(digest, "big") % 100
    if bucket < 80:
        return "train"
    return "validation" if bucket < 90 else "test"


def is_reserved(numbers: tuple[int, ...] = (), words: tuple[str, ...] = ()) -> bool:
    """Whether operands or fact keys contain a seed prompt's pair (such examples are test only)."""
    if any(pair in _RESERVED_PAIRS for pair in itertools.combinations(sorted(numbers), 2)):
        return True
    return any(a in words and b in words for a, b in RESERVED_WORD_PAIRS)
