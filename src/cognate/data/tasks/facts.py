"""Facts in context: capitals, colours and pet owners stated in the prompt, then asked about.

The answer is copied from the context. Entries are real (`REAL_SHARE`: countries, objects,
people) or made up from the split's own names. Easy: one or two facts; hard: two to five.
"""

from __future__ import annotations

import random

from cognate.data.tasks.english import capitalized, with_article
from cognate.data.tasks.example import Example
from cognate.data.tasks.family import Draw, Family
from cognate.data.tasks.templates import Pool, Questions
from cognate.data.tasks.templates import Template as T
from cognate.data.tasks.vocabulary import ANIMALS, CAPITALS, COLORS, OBJECTS, PEOPLE

NAME = "facts"
REAL_SHARE = 0.4  # share of real (world) entries in a context; the rest are made up

CAPITAL = Questions(
    "facts.capital",
    T("facts.capital.what_is", "Q: What is the capital of {key}? A:", 6),
    T("facts.capital.name", "Q: Name the capital of {key}. A:"),
    T("facts.capital.which_city_is", "Q: Which city is the capital of {key}? A:"),
    T("facts.capital.what_city", "Q: What city is the capital of {key}? A:"),
    T("facts.capital.is_which_city", "Q: The capital of {key} is which city? A:"),
    T("facts.capital.possessive", "Q: What is {key}'s capital? A:"),
    T("facts.capital.please_name", "Q: Please name the capital of {key}. A:"),
    T("facts.capital.tell_me", "Q: Tell me the capital of {key}. A:"),
    T("facts.capital.which_possessive", "Q: Which city is {key}'s capital? A:"),
    T("facts.capital.capital_city", "Q: What is the capital city of {key}? A:", heldout=True),
    T("facts.capital.tell_me_possessive", "Q: Tell me {key}'s capital. A:", heldout=True),
)

COLOR = Questions(
    "facts.color",
    T("facts.color.what_color", "Q: What color is {key}? A:", 6),
    T("facts.color.color_of", "Q: What is the color of {key}? A:"),
    T("facts.color.which_color_is", "Q: Which color is {key}? A:"),
    T("facts.color.does_have", "Q: What color does {key} have? A:"),
    T("facts.color.tell_me", "Q: Tell me the color of {key}. A:"),
    T("facts.color.name", "Q: Name the color of {key}. A:"),
    T("facts.color.is_what_color", "Q: {Key} is what color? A:"),
    T("facts.color.please_say", "Q: Please say what color {key} is. A:"),
    T("facts.color.which_does_have", "Q: Which color does {key} have? A:", heldout=True),
    T("facts.color.please_name", "Q: Please name the color of {key}. A:", heldout=True),
)

OWNER_WHO = Questions(
    "facts.owner_who",
    T("facts.owner_who.who_owns", "Q: Who owns the {key}? A:", 4),
    T("facts.owner_who.who_has", "Q: Who has the {key}? A:"),
    T("facts.owner_who.owner_of_the", "Q: Who is the owner of the {key}? A:"),
    T("facts.owner_who.whose_pet", "Q: Whose pet is the {key}? A:"),
    T("facts.owner_who.belong_to", "Q: Who does the {key} belong to? A:"),
    T("facts.owner_who.which_person", "Q: Which person owns the {key}? A:"),
    T("facts.owner_who.name_owner", "Q: Name the owner of the {key}. A:"),
    T("facts.owner_who.who_keeps", "Q: Who keeps the {key} as a pet? A:"),
    T("facts.owner_who.which_person_has", "Q: Which person has the {key}? A:", heldout=True),
    T("facts.owner_who.tell_me", "Q: Tell me who owns the {key}. A:", heldout=True),
)

OWNER_WHAT = Questions(
    "facts.owner_what",
    T("facts.owner_what.what_animal", "Q: What animal does {key} own? A:", 4),
    T("facts.owner_what.which_pet", "Q: Which pet does {key} have? A:"),
    T("facts.owner_what.which_belongs", "Q: Which animal belongs to {key}? A:"),
    T("facts.owner_what.what_pet", "Q: What pet does {key} have? A:"),
    T("facts.owner_what.possessive", "Q: What is {key}'s pet? A:"),
    T("facts.owner_what.kind", "Q: What kind of animal does {key} own? A:"),
    T("facts.owner_what.name_animal", "Q: Name the animal that {key} owns. A:"),
    T("facts.owner_what.owns_which", "Q: {key} owns which animal? A:"),
    T("facts.owner_what.what_belongs", "Q: What animal belongs to {key}? A:", heldout=True),
    T("facts.owner_what.which_kind", "Q: Which kind of pet does {key} have? A:", heldout=True),
)

# Context sentences, fields from `fact_fields` (training phrasings only; every split draws
# from them). The first one of each is the seed prompts' wording, with a high weight.
CAPITAL_SENTENCES = Pool(
    T("capital.of_is", "The capital of {k} is {v}.", 8),
    T("capital.is_the_capital", "{v} is the capital of {k}."),
    T("capital.has_as", "{k} has {v} as its capital."),
    T("capital.city_of_is", "The capital city of {k} is {v}."),
    T("capital.possessive", "{k}'s capital is {v}."),
    T("capital.is_the_capital_city", "{v} is the capital city of {k}."),
    T("capital.city_of_v", "The city of {v} is the capital of {k}."),
)

COLOR_SENTENCES = Pool(
    T("color.of_is", "The color of {k} is {v}.", 8),
    T("color.is", "{K} is {v}."),
    T("color.has_the_color", "{K} has the color {v}."),
    T("color.colored", "{K} is colored {v}."),
    T("color.looks", "{K} looks {v}."),
    T("color.in_color", "{K} is {v} in color."),
)

OWNER_SENTENCES = Pool(
    T("owner.owns", "{k} owns {an_v}.", 8),
    T("owner.has", "{k} has {an_v}."),
    T("owner.belongs", "The {v} belongs to {k}."),
    T("owner.is_owner", "{k} is the owner of {an_v}."),
    T("owner.keeps", "{k} keeps {an_v} as a pet."),
    T("owner.possessive", "{k}'s pet is {an_v}."),
    T("owner.lives_with", "{An_v} lives with {k}."),
)


def fact_fields(key: str, value: str) -> dict[str, str]:
    """The fields of a context sentence stating that `key` has `value`."""
    return {
        "k": key,
        "K": capitalized(key),
        "v": value,
        "an_v": with_article(value),
        "An_v": capitalized(with_article(value)),
    }


def _fact_count(rng: random.Random, hard: bool) -> int:
    if hard:
        return rng.randint(2, 5)
    return 1 if rng.random() < 0.6 else 2


def _entries(draw: Draw, kind: str, n: int) -> tuple[list[tuple[str, str]], list[str]]:
    """`n` (key, value) facts of one kind with distinct keys and values, and the made-up names."""
    rng = draw.rng
    taken: set[str] = set()
    names: list[str] = []
    entries: list[tuple[str, str]] = []
    while len(entries) < n:
        real = rng.random() < REAL_SHARE
        if kind == "capital":
            key, value = rng.choice(CAPITALS) if real else ("", "")
        elif kind == "color":
            key, value = (rng.choice(OBJECTS) if real else ""), rng.choice(COLORS)
        else:
            key, value = (rng.choice(PEOPLE) if real else ""), rng.choice(ANIMALS)
        if key in taken or value in taken:
            continue
        if not key:  # a made-up key (and, for capitals, a made-up value)
            key = draw.new_name(taken)
            names.append(key)
            if kind == "color":
                key = ("the " if rng.random() < 0.8 else "") + key.lower()
            if kind == "capital":
                value = draw.new_name(taken)
                names.append(value)
        taken.update((key, value))
        entries.append((key, value))
    return entries, names


def generate(draw: Draw) -> Example | None:
    rng = draw.rng
    kind = rng.choice(("capital", "color", "owner"))
    entries, names = _entries(draw, kind, _fact_count(rng, draw.hard))
    query_key, answer = rng.choice(entries)
    questions = {"capital": CAPITAL, "color": COLOR, "owner": OWNER_WHAT}[kind]
    if kind == "owner" and rng.random() < 0.5:  # ask who owns the animal instead
        questions, query_key, answer = OWNER_WHO, answer, query_key
    content = ";".join(sorted(f"{k}={v}" for k, v in entries))
    key = f"facts|{questions.group}|{content}|q={query_key}"
    words = tuple(k.removeprefix("the ") for k, _ in entries)
    if not draw.admits(key, words=words, split_free=bool(names)):
        return None
    context = {"capital": CAPITAL_SENTENCES, "color": COLOR_SENTENCES, "owner": OWNER_SENTENCES}
    sentences = draw.context(context[kind], [fact_fields(k, v) for k, v in entries])
    template = draw.question(questions)
    question = template.text.format(key=query_key, Key=capitalized(query_key))
    return Example(
        prompt=" ".join([*sentences, question]),
        answer=answer,
        family=NAME,
        template=template.id,
        key=key,
        names=tuple(names),
    )


FAMILY = Family(
    NAME,
    generate,
    questions=(CAPITAL, COLOR, OWNER_WHO, OWNER_WHAT),
    sentences=(CAPITAL_SENTENCES, COLOR_SENTENCES, OWNER_SENTENCES),
    reads_context=True,
)
