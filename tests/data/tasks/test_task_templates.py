from task_prompts import group_of, words

from cognate.data.tasks import (
    CONTEXT_TEXTS,
    HELDOUT_TEMPLATES,
    TEMPLATE_GROUPS,
    TEMPLATE_ONLY_GROUPS,
    TEMPLATE_TEXTS,
    TEMPLATES,
)


def test_every_group_has_varied_and_held_out_templates():
    assert {group_of(t) for ids in TEMPLATES.values() for t in ids} == set(TEMPLATE_GROUPS)
    for group, ids in TEMPLATE_GROUPS.items():
        assert all(group_of(t) == group for t in ids), group
        trained = [t for t in ids if t not in HELDOUT_TEMPLATES]
        held_out = [t for t in ids if t in HELDOUT_TEMPLATES]
        assert len(trained) >= 6, group
        # Validation / test of a table to memorise use its held-out templates only.
        assert len(held_out) >= (2 if group in TEMPLATE_ONLY_GROUPS else 1), group
        texts = [TEMPLATE_TEXTS[t] for t in ids]
        assert len(set(texts)) == len(texts), group
        assert all(text.startswith("Q: ") and text.endswith(" A:") for text in texts), group
    for family, texts in CONTEXT_TEXTS.items():
        assert len(set(texts)) == len(texts) >= 6, family


def test_held_out_templates_are_fair():
    """Held-out wordings use only words the family's training templates or sentences teach."""
    for family, ids in TEMPLATES.items():
        taught = set().union(*(words(TEMPLATE_TEXTS[t]) for t in ids if t not in HELDOUT_TEMPLATES))
        taught |= set().union(*(words(text) for text in CONTEXT_TEXTS.get(family, ())))
        for t in ids:
            if t in HELDOUT_TEMPLATES:
                assert words(TEMPLATE_TEXTS[t]) <= taught, (t, words(TEMPLATE_TEXTS[t]) - taught)
