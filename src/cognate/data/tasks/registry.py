"""The task families, and the template tables that follow from them.

Adding a family = writing its module (templates, a generator and its `Family`) and adding one
line to `FAMILIES_BY_NAME`.
"""

from __future__ import annotations

from cognate.data.tasks import (
    arithmetic,
    facts,
    running_totals,
    schoolbook_problems,
    stories,
    word_problems,
    yes_no,
)
from cognate.data.tasks.family import Family

FAMILIES_BY_NAME: dict[str, Family] = {
    family.name: family
    for family in (
        arithmetic.FAMILY,
        word_problems.FAMILY,
        facts.FAMILY,
        running_totals.FAMILY,
        yes_no.FAMILY,
        stories.FAMILY,
        stories.YES_NO_FAMILY,
        schoolbook_problems.FAMILY,
    )
}
FAMILIES: tuple[str, ...] = tuple(FAMILIES_BY_NAME)

_QUESTIONS = [q for family in FAMILIES_BY_NAME.values() for q in family.questions]

# Question template ids by family, and by group (e.g. "arith.mul").
TEMPLATES: dict[str, tuple[str, ...]] = {
    name: tuple(t.id for q in family.questions for t in q.templates)
    for name, family in FAMILIES_BY_NAME.items()
}
TEMPLATE_GROUPS: dict[str, tuple[str, ...]] = {
    q.group: tuple(t.id for t in q.templates) for q in _QUESTIONS
}
HELDOUT_TEMPLATES: frozenset[str] = frozenset(
    t.id for q in _QUESTIONS for t in q.templates if t.heldout
)
# The wording of every question template, by id (for checks that held-out wordings are fair).
TEMPLATE_TEXTS: dict[str, str] = {t.id: t.text for q in _QUESTIONS for t in q.templates}
# Template groups held out by template only (validation / test always use held-out templates).
TEMPLATE_ONLY_GROUPS: frozenset[str] = frozenset(q.group for q in _QUESTIONS if q.template_only)
# The context sentence phrasings each family's prompts may contain (all used in every split).
CONTEXT_TEXTS: dict[str, tuple[str, ...]] = {
    name: tuple(t.text for pool in family.sentences for t in pool.templates)
    for name, family in FAMILIES_BY_NAME.items()
    if family.sentences
}
