"""Seeded synthetic task families with disjoint train / validation / test splits.

Five families, one module each: `arithmetic`, `word_problems`, `facts` (facts in context),
`running_totals` and `yes_no`, each holding its templates and its generator. Each question
group has training phrasings and held-out ones (validation / test only), and an example's
content (operands, facts, made-up names) decides its split.

The shared pieces:

- `example`: the `Example` every family produces;
- `splits`: how keys, names and templates are split, and the seed prompts' reserve;
- `vocabulary`: word pools and the made-up names of each split;
- `templates`: the template type and the pools templates are drawn from;
- `english`: plurals, articles and capitals for filling templates;
- `family`: what a family module provides (`Family`) and what its generator gets (`Draw`);
- `registry`: the list of families (adding one = its module and one line there);
- `sampling`: the entry points (`sample_example`, `sample_mixture`, `make_examples`).
"""

from cognate.data.tasks.example import Example
from cognate.data.tasks.registry import (
    CONTEXT_TEXTS,
    FAMILIES,
    HELDOUT_TEMPLATES,
    TEMPLATE_GROUPS,
    TEMPLATE_ONLY_GROUPS,
    TEMPLATE_TEXTS,
    TEMPLATES,
)
from cognate.data.tasks.sampling import make_examples, sample_example, sample_mixture
from cognate.data.tasks.splits import (
    RESERVED_NUMBER_PAIRS,
    RESERVED_WORD_PAIRS,
    SPLITS,
    is_reserved,
    split_of_key,
)
from cognate.data.tasks.vocabulary import name_pool

__all__ = [
    "CONTEXT_TEXTS",
    "FAMILIES",
    "HELDOUT_TEMPLATES",
    "RESERVED_NUMBER_PAIRS",
    "RESERVED_WORD_PAIRS",
    "SPLITS",
    "TEMPLATES",
    "TEMPLATE_GROUPS",
    "TEMPLATE_ONLY_GROUPS",
    "TEMPLATE_TEXTS",
    "Example",
    "is_reserved",
    "make_examples",
    "name_pool",
    "sample_example",
    "sample_mixture",
    "split_of_key",
]
