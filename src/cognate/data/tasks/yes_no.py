"""Yes/no questions: world facts, comparisons of two numbers, and pet ownership in context.

World facts are a table to memorise, held out by template only and balanced between Yes and
No; comparisons are 0-9 when easy and 0-99 when hard; ownership contexts name one made-up
owner when easy and two or three when hard, in the sentences of the facts family.
"""

from __future__ import annotations

from cognate.data.tasks.english import capitalized, with_article
from cognate.data.tasks.example import Example
from cognate.data.tasks.facts import OWNER_SENTENCES, fact_fields
from cognate.data.tasks.family import Draw, Family
from cognate.data.tasks.templates import Questions
from cognate.data.tasks.templates import Template as T
from cognate.data.tasks.vocabulary import ANIMALS

NAME = "yes_no"
# Training only: ownership questions are half of yes_no (a third elsewhere), and a "No" with
# several owners asks about another owner's animal 80% of the time (else half), so that "is the
# animal in the context?" does not answer them (benchmarks/RESULTS.md).
OWNERSHIP_BOOST = 0.25
NEAR_MISS_TRAIN = 0.8

WORLD = Questions(
    "yn.world",
    T("yn.world.direct", "Q: {question} A:", 4),
    T("yn.world.yes_or_no", "Q: Answer yes or no. {question} A:"),
    T("yn.world.true_that", "Q: Is it true that {statement}? A:"),
    T("yn.world.yes_or_no_colon", "Q: Yes or no: {question} A:"),
    T("yn.world.answer_after", "Q: {question} Answer yes or no. A:"),
    T("yn.world.please_answer", "Q: Please answer yes or no: {question} A:"),
    T("yn.world.is_this_true", "Q: Is this true: {statement}? A:"),
    T("yn.world.would_you_say", "Q: Would you say that {statement}? A:"),
    T("yn.world.is_that_true", "Q: {Statement}. Is that true? A:"),
    T(
        "yn.world.yes_or_no_true_that",
        "Q: Yes or no: is it true that {statement}? A:",
        heldout=True,
    ),
    T(
        "yn.world.true_that_answer",
        "Q: Is it true that {statement}? Answer yes or no. A:",
        heldout=True,
    ),
    template_only=True,
)

COMPARE = Questions(
    "yn.compare",
    T("yn.compare.greater", "Q: Is {a} greater than {b}? A:", 4),
    T("yn.compare.bigger", "Q: Is {a} bigger than {b}? A:"),
    T("yn.compare.larger", "Q: Is {a} larger than {b}? A:"),
    T("yn.compare.more", "Q: Is {a} more than {b}? A:"),
    T("yn.compare.number_bigger", "Q: Is the number {a} bigger than the number {b}? A:"),
    T("yn.compare.yes_no_greater", "Q: Yes or no: is {a} greater than {b}? A:"),
    T("yn.compare.less", "Q: Is {a} less than {b}? A:", 2),
    T("yn.compare.smaller", "Q: Is {a} smaller than {b}? A:", 2),
    T("yn.compare.number_less_than", "Q: Is the number {a} less than {b}? A:"),
    T("yn.compare.answer_smaller", "Q: Answer yes or no. Is {a} smaller than {b}? A:"),
    T("yn.compare.number_larger", "Q: Is the number {a} larger than {b}? A:", heldout=True),
    T("yn.compare.smaller_number", "Q: Is {a} smaller than the number {b}? A:", heldout=True),
)

OWNER = Questions(
    "yn.owner",
    T("yn.owner.does_own", "Q: Does {name} own {an_animal}? A:", 4),
    T("yn.owner.does_have", "Q: Does {name} have {an_animal}? A:"),
    T("yn.owner.owned_by_the", "Q: Is the {animal} owned by {name}? A:"),
    T("yn.owner.belong_to", "Q: Does the {animal} belong to {name}? A:"),
    T("yn.owner.is_owner", "Q: Is {name} the owner of the {animal}? A:"),
    T("yn.owner.possessive_pet", "Q: Is {name}'s pet {an_animal}? A:"),
    T("yn.owner.yes_no_own", "Q: Yes or no: does {name} own {an_animal}? A:"),
    T("yn.owner.keep_pet", "Q: Does {name} keep {an_animal} as a pet? A:"),
    T("yn.owner.pet_of", "Q: Is the {animal} the pet of {name}? A:", heldout=True),
    T(
        "yn.owner.yes_no_owner",
        "Q: Yes or no: is {name} the owner of the {animal}? A:",
        heldout=True,
    ),
)

# Comparison templates whose answer is Yes when {a} > {b} (the others: when {a} < {b}).
GREATER = frozenset(
    {
        "yn.compare.greater",
        "yn.compare.bigger",
        "yn.compare.larger",
        "yn.compare.more",
        "yn.compare.number_bigger",
        "yn.compare.yes_no_greater",
        "yn.compare.number_larger",
    }
)

# (question, statement, answer); balanced between Yes and No.
WORLD_FACTS: tuple[tuple[str, str, str], ...] = (
    ("Is the sun hot?", "the sun is hot", "Yes"),
    ("Is ice cold?", "ice is cold", "Yes"),
    ("Can birds fly?", "birds can fly", "Yes"),
    ("Can fish swim?", "fish can swim", "Yes"),
    ("Is water wet?", "water is wet", "Yes"),
    ("Do dogs bark?", "dogs bark", "Yes"),
    ("Is snow white?", "snow is white", "Yes"),
    ("Do cows give milk?", "cows give milk", "Yes"),
    ("Is a mouse smaller than an elephant?", "a mouse is smaller than an elephant", "Yes"),
    ("Do plants need water?", "plants need water", "Yes"),
    ("Is fire hot?", "fire is hot", "Yes"),
    ("Can people walk?", "people can walk", "Yes"),
    ("Do cats have tails?", "cats have tails", "Yes"),
    ("Is a year longer than a day?", "a year is longer than a day", "Yes"),
    ("Do bees make honey?", "bees make honey", "Yes"),
    ("Is sugar sweet?", "sugar is sweet", "Yes"),
    ("Do spiders have eight legs?", "spiders have eight legs", "Yes"),
    ("Is a circle round?", "a circle is round", "Yes"),
    ("Can horses run?", "horses can run", "Yes"),
    ("Does a week have seven days?", "a week has seven days", "Yes"),
    ("Can fish fly?", "fish can fly", "No"),
    ("Is ice hot?", "ice is hot", "No"),
    ("Can dogs talk?", "dogs can talk", "No"),
    ("Is the sun cold?", "the sun is cold", "No"),
    ("Do cows lay eggs?", "cows lay eggs", "No"),
    ("Is a mouse bigger than an elephant?", "a mouse is bigger than an elephant", "No"),
    ("Can a rock swim?", "a rock can swim", "No"),
    ("Is snow black?", "snow is black", "No"),
    ("Do fish have legs?", "fish have legs", "No"),
    ("Is sugar salty?", "sugar is salty", "No"),
    ("Can cats fly?", "cats can fly", "No"),
    ("Is a day longer than a year?", "a day is longer than a year", "No"),
    ("Do trees walk?", "trees walk", "No"),
    ("Is fire cold?", "fire is cold", "No"),
    ("Does a week have ten days?", "a week has ten days", "No"),
    ("Can a baby drive a car?", "a baby can drive a car", "No"),
    ("Is the moon made of cheese?", "the moon is made of cheese", "No"),
    ("Do birds have four legs?", "birds have four legs", "No"),
    ("Is water dry?", "water is dry", "No"),
    ("Is a triangle round?", "a triangle is round", "No"),
)


def _world_fact(draw: Draw) -> Example:
    question, statement, answer = draw.rng.choice(WORLD_FACTS)
    template = draw.question(WORLD)
    return Example(
        prompt=template.text.format(
            question=question, statement=statement, Statement=capitalized(statement)
        ),
        answer=answer,
        family=NAME,
        template=template.id,
        key=f"yes_no|world|{statement}",
    )


def _comparison(draw: Draw, yes: bool) -> Example | None:
    lo, hi = sorted(draw.rng.sample(range(100 if draw.hard else 10), 2))
    key = f"yes_no|compare|{lo}|{hi}"
    if not draw.admits(key, numbers=(lo, hi)):
        return None
    template = draw.question(COMPARE)
    a, b = (hi, lo) if (template.id in GREATER) == yes else (lo, hi)
    return Example(
        prompt=template.text.format(a=a, b=b),
        answer="Yes" if yes else "No",
        family=NAME,
        template=template.id,
        key=key,
    )


def _ownership(draw: Draw, yes: bool) -> Example:
    rng = draw.rng
    taken: set[str] = set()
    people = [draw.new_name(taken) for _ in range(rng.randint(2, 3) if draw.hard else 1)]
    animals = rng.sample(ANIMALS, len(people))
    index = rng.randrange(len(people))
    near_miss = NEAR_MISS_TRAIN if draw.split == "train" else 0.5
    if yes:
        asked = animals[index]
    elif len(people) > 1 and rng.random() < near_miss:  # another owner's animal: a near miss
        asked = rng.choice([a for i, a in enumerate(animals) if i != index])
    else:
        asked = rng.choice([a for a in ANIMALS if a != animals[index]])
    template = draw.question(OWNER)
    sentences = draw.context(
        OWNER_SENTENCES, [fact_fields(p, a) for p, a in zip(people, animals, strict=True)]
    )
    question = template.text.format(name=people[index], animal=asked, an_animal=with_article(asked))
    content = ";".join(sorted(f"{p}={a}" for p, a in zip(people, animals, strict=True)))
    return Example(
        prompt=" ".join([*sentences, question]),
        answer="Yes" if yes else "No",
        family=NAME,
        template=template.id,
        key=f"yes_no|owner|{content}|q={people[index]}={asked}",
        names=tuple(people),
    )


def generate(draw: Draw) -> Example | None:
    boost = OWNERSHIP_BOOST if draw.split == "train" else 0.0  # owner gets the others' share
    kind = draw.kind(("world", "compare", "owner"), weights=(1 - boost, 1 - boost, 1 + 2 * boost))
    if kind == "world":
        return _world_fact(draw)  # the table is balanced between Yes and No
    yes = draw.rng.random() < 0.5
    return _comparison(draw, yes) if kind == "compare" else _ownership(draw, yes)


FAMILY = Family(
    NAME,
    generate,
    questions=(WORLD, COMPARE, OWNER),
    sentences=(OWNER_SENTENCES,),
    reads_context=True,
)
