"""Seeded synthetic task families with disjoint train / validation / test splits.

Five families (arithmetic, word problems, facts in context, running totals, yes/no). Each
question group (e.g. `arith.add`, `wp.speed`, `facts.capital`) has 8-10 training phrasings, so
a model learns to read the operands and the operation rather than one wording, and 2 held-out
phrasings built only from words and orders the family's training phrasings teach. The context
sentences of facts, ownership and running-total prompts vary too (training phrasings only).
The seed prompts' shapes are among the training templates, with a high weight.

Splits are disjoint by construction:

- every example has a *key* (family, operation and operands, or its full fact content); a
  stable hash sends each key to train / validation / test (about 80/10/10, `split_of_key`);
- made-up names (built from syllables) are split the same way, and an example that uses
  made-up names draws them only from its own split's pool;
- each group has templates used only in validation / test (half of those examples);
- tables to memorise are held out by template only, since no algorithm answers an unseen
  entry: multiplication facts (`arith.mul`, 1-12 x 1-12), equal sharing (`wp.shared`, the same
  table inverted) and world facts (`yn.world`). Training uses training templates with any
  entry; validation / test use held-out templates only, so their prompts stay disjoint;
- the seed report's prompts are reserved: their operand pairs (in any family, either order)
  and fact combinations (France with Germany, sky with grass) only ever occur in test, even in
  the groups held out by template only.

`difficulty` in [0, 1] drives a curriculum: an example is "hard" with probability
0.8 * difficulty, so easy examples never disappear. Speed problems, for instance, take 1-2
hours at 2-9 per hour when easy and 1-5 hours at 2-60 per hour (at most 300) when hard.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

from cognate.data.seed_prompts import SEED_PROMPTS

FAMILIES: tuple[str, ...] = ("arithmetic", "word_problems", "facts", "running_totals", "yes_no")
SPLITS: tuple[str, ...] = ("train", "validation", "test")

HARD_SHARE = 0.8  # probability of a hard example at difficulty 1
# Share of differences drawn below ten: 10 - 5 or 47 - 43 (same or neighbouring tens) are a
# step of their own that a uniform subtrahend makes rare for large numbers.
SMALL_DIFFERENCE_SHARE = 0.3
HELDOUT_SHARE = 0.5  # share of held-out templates in validation / test
SAME_PHRASING_SHARE = 0.5  # share of fact contexts written in one phrasing throughout
REAL_SHARE = 0.4  # share of real (world) entries in facts contexts; the rest are made up
_MAX_TRIES = 10_000

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


@dataclass(frozen=True)
class Example:
    """One question with its answer. `key` and `names` decide its split."""

    prompt: str  # ends with " A:"
    answer: str  # no leading space
    family: str
    template: str  # id of the surface template, e.g. "arith.add.symbol"
    key: str = ""  # family, operation and operands (or fact content)
    names: tuple[str, ...] = ()  # made-up names used

    @property
    def text(self) -> str:
        return f"{self.prompt} {self.answer}"


def split_of_key(key: str) -> str:
    """The split of a key by a stable hash: ~80% train, ~10% validation, ~10% test."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    bucket = int.from_bytes(digest, "big") % 100
    if bucket < 80:
        return "train"
    return "validation" if bucket < 90 else "test"


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class _Template:
    id: str
    text: str
    weight: float = 1.0
    heldout: bool = False  # used only in validation / test
    items: str = ""  # word problems: the item pool the wording suits (see `_ITEM_POOLS`)


_Pool = tuple[tuple[_Template, ...], tuple[float, ...]]  # templates and cumulative weights


def _pool(templates: tuple[_Template, ...]) -> _Pool:
    return templates, tuple(itertools.accumulate(t.weight for t in templates))


def _weighted(pool: _Pool, rng: random.Random) -> _Template:
    return rng.choices(pool[0], cum_weights=pool[1])[0]


def _pick(
    pools: Mapping[bool, _Pool],
    split: str,
    rng: random.Random,
    heldout_share: float = HELDOUT_SHARE,
) -> _Template:
    """A template for `split` from its group's training (False) and held-out (True) pools:
    train templates only in train, a mix elsewhere."""
    heldout = split != "train" and rng.random() < heldout_share
    return _weighted(pools[heldout], rng)


# Question templates by group. The first template of a group is the seed prompt's shape (where
# there is one) and carries a high weight. Held-out templates are new phrasings built only from
# words the family's training templates and context sentences teach.
_T = _Template
_TEMPLATES: dict[str, tuple[_Template, ...]] = {
    "arith.add": (
        _T("arith.add.symbol", "Q: What is {a} + {b}? A:", 5),
        _T("arith.add.plus", "Q: What is {a} plus {b}? A:", 2),
        _T("arith.add.sum_of", "Q: What is the sum of {a} and {b}? A:", 2),
        _T("arith.add.add_and", "Q: Add {a} and {b}. A:"),
        _T("arith.add.add_to", "Q: Add {a} to {b}. A:"),
        _T("arith.add.number_when", "Q: What number do you get when you add {a} and {b}? A:"),
        _T("arith.add.how_much", "Q: How much is {a} plus {b}? A:"),
        _T("arith.add.find_sum", "Q: Find the sum of {a} and {b}. A:"),
        _T("arith.add.please_compute", "Q: Please compute {a} + {b}. A:"),
        _T("arith.add.equals", "Q: {a} + {b} = ? A:"),
        _T("arith.add.calculate", "Q: Calculate {a} + {b}. A:", heldout=True),
        _T("arith.add.how_much_sum", "Q: How much is the sum of {a} and {b}? A:", heldout=True),
    ),
    "arith.sub": (
        _T("arith.sub.symbol", "Q: What is {a} - {b}? A:", 5),
        _T("arith.sub.minus", "Q: What is {a} minus {b}? A:", 2),
        _T("arith.sub.subtract_from", "Q: Subtract {b} from {a}. A:", 2),
        _T("arith.sub.compute", "Q: Compute {a} - {b}. A:"),
        _T(
            "arith.sub.number_when",
            "Q: What number do you get when you subtract {b} from {a}? A:",
        ),
        _T("arith.sub.how_much", "Q: How much is {a} minus {b}? A:"),
        _T("arith.sub.difference", "Q: What is the difference between {a} and {b}? A:"),
        _T("arith.sub.please_calculate", "Q: Please calculate {a} - {b}. A:"),
        _T("arith.sub.equals", "Q: {a} - {b} = ? A:"),
        _T("arith.sub.take_away", "Q: Take {b} away from {a}. A:"),
        _T("arith.sub.find_minus", "Q: Find {a} minus {b}. A:", heldout=True),
        _T("arith.sub.how_much_symbol", "Q: How much is {a} - {b}? A:", heldout=True),
    ),
    "arith.mul": (
        _T("arith.mul.symbol", "Q: What is {a} * {b}? A:", 4),
        _T("arith.mul.times", "Q: What is {a} times {b}? A:", 3),
        _T("arith.mul.multiplied_by", "Q: What is {a} multiplied by {b}? A:"),
        _T("arith.mul.product_of", "Q: What is the product of {a} and {b}? A:"),
        _T("arith.mul.multiply_by", "Q: Multiply {a} by {b}. A:"),
        _T("arith.mul.calculate_symbol", "Q: Calculate {a} * {b}. A:"),
        _T("arith.mul.how_much", "Q: How much is {a} times {b}? A:"),
        _T(
            "arith.mul.number_when",
            "Q: What number do you get when you multiply {a} by {b}? A:",
        ),
        _T("arith.mul.equals", "Q: {a} * {b} = ? A:"),
        _T("arith.mul.please_find", "Q: Please find the product of {a} and {b}. A:"),
        _T("arith.mul.find_times", "Q: Find {a} times {b}. A:", heldout=True),
        _T(
            "arith.mul.how_much_multiplied",
            "Q: How much is {a} multiplied by {b}? A:",
            heldout=True,
        ),
    ),
    "wp.sold": (
        _T(
            "wp.sold.store",
            "Q: If a store has {a_items} and sells {b}, how many are left? A:",
            4,
            items="store",
        ),
        _T(
            "wp.sold.baker",
            "Q: A baker made {a_items} and sold {b}. How many {items} are left? A:",
            items="baked",
        ),
        _T(
            "wp.sold.shop_it_sells",
            "Q: A shop has {a_items}. It sells {b} of them. How many {items} does it have left? A:",
            items="store",
        ),
        _T(
            "wp.sold.person",
            "Q: {name} had {a_items} and sold {b}. How many {items} does {he} have left? A:",
            items="countable",
        ),
        _T(
            "wp.sold.there_are",
            "Q: There are {a_items} in a store. The store sells {b} of them. "
            "How many {items} remain? A:",
            items="store",
        ),
        _T(
            "wp.sold.farmer",
            "Q: A farmer picked {a_items} and sold {b} of them at the market. "
            "How many {items} are left? A:",
            items="market",
        ),
        _T(
            "wp.sold.left_if",
            "Q: How many {items} are left if a baker has {a_items} and sells {b}? A:",
            items="baked",
        ),
        _T(
            "wp.sold.stall_of_its",
            "Q: A market stall sells {b} of its {a_items}. How many {items} remain? A:",
            items="market",
        ),
        _T(
            "wp.sold.after_selling",
            "Q: A store started with {a_items}. After selling {b}, "
            "how many {items} does the store have? A:",
            items="store",
        ),
        _T(
            "wp.sold.market",
            "Q: A market stall had {a_items} and sold {b} of them. How many {items} remain? A:",
            heldout=True,
            items="market",
        ),
        _T(
            "wp.sold.baker_remain",
            "Q: If a baker has {a_items} and sells {b} of them, how many {items} remain? A:",
            heldout=True,
            items="baked",
        ),
    ),
    "wp.bought": (
        _T(
            "wp.bought.buys",
            "Q: {name} has {a_items} and buys {b} more. How many {items} does {he} have now? A:",
            3,
        ),
        _T(
            "wp.bought.gets",
            "Q: {name} had {a_items}. {He} got {b} more. How many {items} does {he} have now? A:",
        ),
        _T(
            "wp.bought.shop_received",
            "Q: A shop had {a_items} and received {b} more. "
            "How many {items} does the shop have now? A:",
        ),
        _T(
            "wp.bought.in_all",
            "Q: If {name} has {a_items} and gets {b} more, how many {items} are there in all? A:",
        ),
        _T(
            "wp.bought.box",
            "Q: There are {a_items} in a box. {name} puts in {b} more. "
            "How many {items} are in the box now? A:",
        ),
        _T(
            "wp.bought.found",
            "Q: How many {items} does {name} have if {he} had {a_items} and found {b} more? A:",
        ),
        _T(
            "wp.bought.friend_gave",
            "Q: {name} had {a_items}. A friend gave {him} {b} more. "
            "How many {items} does {he} have now? A:",
        ),
        _T(
            "wp.bought.total",
            "Q: {name} has {a_items}. {He} buys {b} more. "
            "How many {items} does {he} have in total? A:",
        ),
        _T(
            "wp.bought.store_gets",
            "Q: A store has {a_items}. It gets {b} more. How many {items} are there now? A:",
        ),
        _T(
            "wp.bought.shop_buys",
            "Q: If a shop has {a_items} and buys {b} more, how many {items} does it have now? A:",
            heldout=True,
        ),
        _T(
            "wp.bought.found_in_all",
            "Q: {name} had {a_items} and found {b} more. How many {items} are there in all? A:",
            heldout=True,
        ),
    ),
    "wp.shared": (
        _T(
            "wp.shared.friends",
            "Q: {name} shares {a_items} equally among {b} friends. "
            "How many {items} does each friend get? A:",
            3,
        ),
        _T(
            "wp.shared.boxes",
            "Q: {a_items} are packed equally into {b} boxes. How many {items} are in each box? A:",
        ),
        _T(
            "wp.shared.children_divided",
            "Q: If {a_items} are divided equally among {b} children, "
            "how many {items} does each child get? A:",
        ),
        _T(
            "wp.shared.bags",
            "Q: {name} has {a_items} and splits them equally between {b} bags. "
            "How many {items} go in each bag? A:",
        ),
        _T(
            "wp.shared.teacher",
            "Q: A teacher gives out {a_items} equally to {b} students. "
            "How many {items} does each student get? A:",
        ),
        _T(
            "wp.shared.there_are",
            "Q: There are {a_items} and {b} children. If the {items} are shared equally, "
            "how many does each child get? A:",
        ),
        _T(
            "wp.shared.each_friend_if",
            "Q: How many {items} does each friend get if {name} shares {a_items} "
            "equally among {b} friends? A:",
        ),
        _T(
            "wp.shared.friends_first",
            "Q: {b} friends share {a_items} equally. How many {items} does each friend get? A:",
        ),
        _T(
            "wp.shared.children_share",
            "Q: If {b} children share {a_items} equally, how many {items} does each child get? A:",
            heldout=True,
        ),
        _T(
            "wp.shared.divided_bags",
            "Q: {a_items} are divided equally into {b} bags. How many {items} are in each bag? A:",
            heldout=True,
        ),
    ),
    "wp.speed": (
        _T(
            "wp.speed.travels",
            "Q: A {vehicle} travels {d} {unit} in {t_hours}. What is its speed? A:",
            4,
        ),
        _T(
            "wp.speed.covers",
            "Q: A {vehicle} covers {d} {unit} in {t_hours}. How fast is it going? A:",
        ),
        _T(
            "wp.speed.speed_of_travels",
            "Q: What is the speed of a {vehicle} that travels {d} {unit} in {t_hours}? A:",
        ),
        _T(
            "wp.speed.hours_first",
            "Q: In {t_hours}, a {vehicle} goes {d} {unit}. What is its average speed? A:",
        ),
        _T(
            "wp.speed.if_goes",
            "Q: If a {vehicle} goes {d} {unit} in {t_hours}, how fast does it travel? A:",
        ),
        _T(
            "wp.speed.takes",
            "Q: A {vehicle} takes {t_hours} to travel {d} {unit}. What is its speed? A:",
        ),
        _T(
            "wp.speed.how_fast_if",
            "Q: How fast is a {vehicle} moving if it covers {d} {unit} in {t_hours}? A:",
        ),
        _T(
            "wp.speed.steady",
            "Q: A {vehicle} went {d} {unit} in {t_hours} at a steady speed. What was its speed? A:",
        ),
        _T(
            "wp.speed.speed_of",
            "Q: What is the speed of a {vehicle} that goes {d} {unit} in {t_hours}? A:",
            heldout=True,
        ),
        _T(
            "wp.speed.if_covers",
            "Q: If a {vehicle} covers {d} {unit} in {t_hours}, what is its speed? A:",
            heldout=True,
        ),
    ),
    "facts.capital": (
        _T("facts.capital.what_is", "Q: What is the capital of {key}? A:", 6),
        _T("facts.capital.name", "Q: Name the capital of {key}. A:"),
        _T("facts.capital.which_city_is", "Q: Which city is the capital of {key}? A:"),
        _T("facts.capital.what_city", "Q: What city is the capital of {key}? A:"),
        _T("facts.capital.is_which_city", "Q: The capital of {key} is which city? A:"),
        _T("facts.capital.possessive", "Q: What is {key}'s capital? A:"),
        _T("facts.capital.please_name", "Q: Please name the capital of {key}. A:"),
        _T("facts.capital.tell_me", "Q: Tell me the capital of {key}. A:"),
        _T("facts.capital.which_possessive", "Q: Which city is {key}'s capital? A:"),
        _T("facts.capital.capital_city", "Q: What is the capital city of {key}? A:", heldout=True),
        _T("facts.capital.tell_me_possessive", "Q: Tell me {key}'s capital. A:", heldout=True),
    ),
    "facts.color": (
        _T("facts.color.what_color", "Q: What color is {key}? A:", 6),
        _T("facts.color.color_of", "Q: What is the color of {key}? A:"),
        _T("facts.color.which_color_is", "Q: Which color is {key}? A:"),
        _T("facts.color.does_have", "Q: What color does {key} have? A:"),
        _T("facts.color.tell_me", "Q: Tell me the color of {key}. A:"),
        _T("facts.color.name", "Q: Name the color of {key}. A:"),
        _T("facts.color.is_what_color", "Q: {Key} is what color? A:"),
        _T("facts.color.please_say", "Q: Please say what color {key} is. A:"),
        _T("facts.color.which_does_have", "Q: Which color does {key} have? A:", heldout=True),
        _T("facts.color.please_name", "Q: Please name the color of {key}. A:", heldout=True),
    ),
    "facts.owner_who": (
        _T("facts.owner_who.who_owns", "Q: Who owns the {key}? A:", 4),
        _T("facts.owner_who.who_has", "Q: Who has the {key}? A:"),
        _T("facts.owner_who.owner_of_the", "Q: Who is the owner of the {key}? A:"),
        _T("facts.owner_who.whose_pet", "Q: Whose pet is the {key}? A:"),
        _T("facts.owner_who.belong_to", "Q: Who does the {key} belong to? A:"),
        _T("facts.owner_who.which_person", "Q: Which person owns the {key}? A:"),
        _T("facts.owner_who.name_owner", "Q: Name the owner of the {key}. A:"),
        _T("facts.owner_who.who_keeps", "Q: Who keeps the {key} as a pet? A:"),
        _T("facts.owner_who.which_person_has", "Q: Which person has the {key}? A:", heldout=True),
        _T("facts.owner_who.tell_me", "Q: Tell me who owns the {key}. A:", heldout=True),
    ),
    "facts.owner_what": (
        _T("facts.owner_what.what_animal", "Q: What animal does {key} own? A:", 4),
        _T("facts.owner_what.which_pet", "Q: Which pet does {key} have? A:"),
        _T("facts.owner_what.which_belongs", "Q: Which animal belongs to {key}? A:"),
        _T("facts.owner_what.what_pet", "Q: What pet does {key} have? A:"),
        _T("facts.owner_what.possessive", "Q: What is {key}'s pet? A:"),
        _T("facts.owner_what.kind", "Q: What kind of animal does {key} own? A:"),
        _T("facts.owner_what.name_animal", "Q: Name the animal that {key} owns. A:"),
        _T("facts.owner_what.owns_which", "Q: {key} owns which animal? A:"),
        _T("facts.owner_what.what_belongs", "Q: What animal belongs to {key}? A:", heldout=True),
        _T("facts.owner_what.which_kind", "Q: Which kind of pet does {key} have? A:", heldout=True),
    ),
    "rt": (
        _T("rt.have_now", "Q: How many {items} does {name} have now? A:", 6),
        _T("rt.in_the_end", "Q: How many {items} does {name} have in the end? A:"),
        _T("rt.end_up_with", "Q: How many {items} does {name} end up with? A:"),
        _T("rt.number_of", "Q: What is the number of {items} {name} has now? A:"),
        _T("rt.now_how_many", "Q: Now how many {items} does {name} have? A:"),
        _T("rt.count", "Q: Count the {items} {name} has now. A:"),
        _T("rt.in_the_end_first", "Q: In the end, how many {items} does {name} have? A:"),
        _T("rt.after_all", "Q: After all that, how many {items} does {name} have? A:"),
        # Questions that end on the name or on "has" without "now": the model must read the
        # count from the context, not from the question's last words (benchmarks/RESULTS.md,
        # "Question endings").
        _T("rt.do_you_know", "Q: Do you know how many {items} {name} has? A:"),
        _T("rt.tell_number", "Q: Tell me the number of {items} that {name} has. A:"),
        _T("rt.left_for", "Q: How many {items} are left for {name}? A:"),
        _T(
            "rt.after_all_last",
            "Q: How many {items} does {name} have after all that? A:",
            heldout=True,
        ),
        _T(
            "rt.number_in_the_end",
            "Q: In the end, what is the number of {items} {name} has? A:",
            heldout=True,
        ),
    ),
    "yn.world": (
        _T("yn.world.direct", "Q: {question} A:", 4),
        _T("yn.world.yes_or_no", "Q: Answer yes or no. {question} A:"),
        _T("yn.world.true_that", "Q: Is it true that {statement}? A:"),
        _T("yn.world.yes_or_no_colon", "Q: Yes or no: {question} A:"),
        _T("yn.world.answer_after", "Q: {question} Answer yes or no. A:"),
        _T("yn.world.please_answer", "Q: Please answer yes or no: {question} A:"),
        _T("yn.world.is_this_true", "Q: Is this true: {statement}? A:"),
        _T("yn.world.would_you_say", "Q: Would you say that {statement}? A:"),
        _T("yn.world.is_that_true", "Q: {Statement}. Is that true? A:"),
        _T(
            "yn.world.yes_or_no_true_that",
            "Q: Yes or no: is it true that {statement}? A:",
            heldout=True,
        ),
        _T(
            "yn.world.true_that_answer",
            "Q: Is it true that {statement}? Answer yes or no. A:",
            heldout=True,
        ),
    ),
    "yn.compare": (
        _T("yn.compare.greater", "Q: Is {a} greater than {b}? A:", 4),
        _T("yn.compare.bigger", "Q: Is {a} bigger than {b}? A:"),
        _T("yn.compare.larger", "Q: Is {a} larger than {b}? A:"),
        _T("yn.compare.more", "Q: Is {a} more than {b}? A:"),
        _T("yn.compare.number_bigger", "Q: Is the number {a} bigger than the number {b}? A:"),
        _T("yn.compare.yes_no_greater", "Q: Yes or no: is {a} greater than {b}? A:"),
        _T("yn.compare.less", "Q: Is {a} less than {b}? A:", 2),
        _T("yn.compare.smaller", "Q: Is {a} smaller than {b}? A:", 2),
        _T("yn.compare.number_less_than", "Q: Is the number {a} less than {b}? A:"),
        _T("yn.compare.answer_smaller", "Q: Answer yes or no. Is {a} smaller than {b}? A:"),
        _T("yn.compare.number_larger", "Q: Is the number {a} larger than {b}? A:", heldout=True),
        _T("yn.compare.smaller_number", "Q: Is {a} smaller than the number {b}? A:", heldout=True),
    ),
    "yn.owner": (
        _T("yn.owner.does_own", "Q: Does {name} own {an_animal}? A:", 4),
        _T("yn.owner.does_have", "Q: Does {name} have {an_animal}? A:"),
        _T("yn.owner.owned_by_the", "Q: Is the {animal} owned by {name}? A:"),
        _T("yn.owner.belong_to", "Q: Does the {animal} belong to {name}? A:"),
        _T("yn.owner.is_owner", "Q: Is {name} the owner of the {animal}? A:"),
        _T("yn.owner.possessive_pet", "Q: Is {name}'s pet {an_animal}? A:"),
        _T("yn.owner.yes_no_own", "Q: Yes or no: does {name} own {an_animal}? A:"),
        _T("yn.owner.keep_pet", "Q: Does {name} keep {an_animal} as a pet? A:"),
        _T("yn.owner.pet_of", "Q: Is the {animal} the pet of {name}? A:", heldout=True),
        _T(
            "yn.owner.yes_no_owner",
            "Q: Yes or no: is {name} the owner of the {animal}? A:",
            heldout=True,
        ),
    ),
}
# Comparison templates whose answer is Yes when {a} > {b} (the others: when {a} < {b}).
_GREATER = frozenset(
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
# Groups held out by template only: validation / test use held-out templates exclusively.
_TEMPLATE_ONLY_GROUPS = frozenset({"arith.mul", "wp.shared", "yn.world"})

# Context sentences (training phrasings only; every split draws from them). The first one of
# each group is the seed prompts' wording, with a high weight.
_SENTENCES: dict[str, tuple[_Template, ...]] = {
    "capital": (
        _T("capital.of_is", "The capital of {k} is {v}.", 8),
        _T("capital.is_the_capital", "{v} is the capital of {k}."),
        _T("capital.has_as", "{k} has {v} as its capital."),
        _T("capital.city_of_is", "The capital city of {k} is {v}."),
        _T("capital.possessive", "{k}'s capital is {v}."),
        _T("capital.is_the_capital_city", "{v} is the capital city of {k}."),
        _T("capital.city_of_v", "The city of {v} is the capital of {k}."),
    ),
    "color": (
        _T("color.of_is", "The color of {k} is {v}.", 8),
        _T("color.is", "{K} is {v}."),
        _T("color.has_the_color", "{K} has the color {v}."),
        _T("color.colored", "{K} is colored {v}."),
        _T("color.looks", "{K} looks {v}."),
        _T("color.in_color", "{K} is {v} in color."),
    ),
    "owner": (
        _T("owner.owns", "{k} owns {an_v}.", 8),
        _T("owner.has", "{k} has {an_v}."),
        _T("owner.belongs", "The {v} belongs to {k}."),
        _T("owner.is_owner", "{k} is the owner of {an_v}."),
        _T("owner.keeps", "{k} keeps {an_v} as a pet."),
        _T("owner.possessive", "{k}'s pet is {an_v}."),
        _T("owner.lives_with", "{An_v} lives with {k}."),
    ),
    "rt.start": (
        _T("rt.start.has", "{name} has {count}.", 8),
        _T("rt.start.starts_with", "{name} starts with {count}."),
        _T("rt.start.at_first", "At first, {name} has {count}."),
        _T("rt.start.begins_with", "{name} begins with {count}."),
        _T("rt.start.owns", "{name} owns {count}."),
        _T("rt.start.keeps", "{name} keeps {count} in a box."),
    ),
    "rt.gain": (
        _T("rt.gain.gives_more", "{other} gives {him} {k} more {noun}.", 5),
        _T("rt.gain.buys_more", "{He} buys {k} more {noun}.", 2),
        _T("rt.gain.finds_more", "{He} finds {k} more {noun}."),
        _T("rt.gain.gets_from", "{He} gets {count} from {other}."),
        _T("rt.gain.hands", "{other} hands {him} {count}."),
        _T("rt.gain.receives", "{He} receives {count} from {other}."),
        _T("rt.gain.gives_to_him", "{other} gives {count} to {him}."),
        _T("rt.gain.wins", "{He} wins {count}."),
    ),
    "rt.loss": (
        _T("rt.loss.gives_to", "{He} gives {count} to {other}.", 3),
        _T("rt.loss.eats_or_loses", "{He} {eats_or_loses} {count}.", 3),
        _T("rt.loss.gives_other", "{He} gives {other} {count}."),
        _T("rt.loss.sells", "{He} sells {count}."),
        _T("rt.loss.takes_from", "{other} takes {count} from {him}."),
        _T("rt.loss.throws_away", "{He} throws away {count}."),
        _T("rt.loss.uses_up", "{He} uses up {count}."),
    ),
}
_QUESTION_POOLS: dict[str, dict[bool, _Pool]] = {
    group: {held: _pool(tuple(t for t in ts if t.heldout == held)) for held in (False, True)}
    for group, ts in _TEMPLATES.items()
}
_SENTENCE_POOLS: dict[str, _Pool] = {group: _pool(ts) for group, ts in _SENTENCES.items()}
_FAMILY_OF_GROUP = {
    "arith": "arithmetic",
    "wp": "word_problems",
    "facts": "facts",
    "rt": "running_totals",
    "yn": "yes_no",
}

TEMPLATES: dict[str, tuple[str, ...]] = {
    family: tuple(
        t.id
        for group, templates in _TEMPLATES.items()
        if _FAMILY_OF_GROUP[group.split(".")[0]] == family
        for t in templates
    )
    for family in FAMILIES
}
HELDOUT_TEMPLATES: frozenset[str] = frozenset(
    t.id for templates in _TEMPLATES.values() for t in templates if t.heldout
)
# The wording of every question template, by id (for checks that held-out wordings are fair).
TEMPLATE_TEXTS: dict[str, str] = {t.id: t.text for ts in _TEMPLATES.values() for t in ts}
# Question template groups (e.g. "arith.mul") -> template ids.
TEMPLATE_GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(t.id for t in templates) for group, templates in _TEMPLATES.items()
}
# Template groups held out by template only (validation / test always use held-out templates).
TEMPLATE_ONLY_GROUPS: frozenset[str] = _TEMPLATE_ONLY_GROUPS
# The context sentence phrasings each family's prompts may contain (all used in every split).
CONTEXT_TEXTS: dict[str, tuple[str, ...]] = {
    family: tuple(t.text for group in groups for t in _SENTENCES[group])
    for family, groups in {
        "facts": ("capital", "color", "owner"),
        "running_totals": ("rt.start", "rt.gain", "rt.loss"),
        "yes_no": ("owner",),
    }.items()
}

# --------------------------------------------------------------------------- vocabulary

_CAPITALS: tuple[tuple[str, str], ...] = (
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Portugal", "Lisbon"), ("Japan", "Tokyo"), ("China", "Beijing"), ("Egypt", "Cairo"),
    ("Kenya", "Nairobi"), ("Canada", "Ottawa"), ("Brazil", "Brasilia"), ("Peru", "Lima"),
    ("Chile", "Santiago"), ("Russia", "Moscow"), ("Poland", "Warsaw"), ("Greece", "Athens"),
    ("Austria", "Vienna"), ("Norway", "Oslo"), ("Sweden", "Stockholm"), ("Finland", "Helsinki"),
    ("Denmark", "Copenhagen"), ("Ireland", "Dublin"), ("Belgium", "Brussels"),
    ("Hungary", "Budapest"), ("Turkey", "Ankara"), ("Iran", "Tehran"), ("Iraq", "Baghdad"),
    ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"), ("Indonesia", "Jakarta"),
    ("Australia", "Canberra"), ("Cuba", "Havana"), ("Colombia", "Bogota"),
    ("Venezuela", "Caracas"), ("Nigeria", "Abuja"), ("Ghana", "Accra"), ("Morocco", "Rabat"),
    ("Czechia", "Prague"), ("Romania", "Bucharest"), ("Bulgaria", "Sofia"), ("Ukraine", "Kyiv"),
    ("Serbia", "Belgrade"), ("Croatia", "Zagreb"),
)  # fmt: skip
_COLORS = (
    "red", "blue", "green", "yellow", "orange", "purple", "pink", "brown", "black", "white",
    "gray", "gold",
)  # fmt: skip
# Real objects as they appear in a sentence: with an article or, for mass nouns, without.
_OBJECTS = (
    "the sky", "grass", "the car", "the ball", "the house", "the door", "the hat", "the shirt",
    "the cup", "the book", "the kite", "the bike", "the box", "the chair", "the lamp",
    "the flower", "the leaf", "snow", "sand", "the boat", "the bag", "the pen", "the fence",
    "the wall",
)  # fmt: skip
_ANIMALS = (
    "dog", "cat", "horse", "parrot", "rabbit", "goat", "hamster", "turtle", "owl", "pony",
    "snake", "lizard", "duck", "pig", "cow", "sheep", "fox", "frog", "mouse", "eagle",
    "goldfish", "donkey",
)  # fmt: skip
_MALE = (
    "John", "Tom", "Sam", "Ben", "Jack", "Leo", "Max", "Paul", "Mark", "Omar", "Ravi", "Ivan",
    "Carlos", "Noah", "Luke",
)  # fmt: skip
_FEMALE = (
    "Mary", "Sara", "Anna", "Emma", "Lily", "Mia", "Zoe", "Lucy", "Nina", "Rosa", "Aisha",
    "Grace", "Chloe", "Julia", "Eva",
)  # fmt: skip
_PEOPLE = _MALE + _FEMALE
# (singular, plural) item names.
_STORE_ITEMS = (
    ("apple", "apples"), ("orange", "oranges"), ("pear", "pears"), ("banana", "bananas"),
    ("lemon", "lemons"), ("book", "books"), ("pen", "pens"), ("toy", "toys"),
    ("shirt", "shirts"), ("hat", "hats"), ("cup", "cups"), ("ball", "balls"),
)  # fmt: skip
_BAKED_ITEMS = (
    ("cookie", "cookies"), ("cake", "cakes"), ("muffin", "muffins"), ("pie", "pies"),
    ("cupcake", "cupcakes"), ("bagel", "bagels"), ("roll", "rolls"),
)  # fmt: skip
_MARKET_ITEMS = (
    ("melon", "melons"), ("peach", "peaches"), ("potato", "potatoes"), ("tomato", "tomatoes"),
    ("onion", "onions"), ("plum", "plums"),
)  # fmt: skip
_COUNTABLE_ITEMS = (
    ("pencil", "pencils"), ("candy", "candies"), ("sticker", "stickers"), ("marble", "marbles"),
    ("card", "cards"), ("crayon", "crayons"), ("shell", "shells"), ("stamp", "stamps"),
    ("cookie", "cookies"), ("grape", "grapes"),
)  # fmt: skip
_EDIBLE = (
    ("apple", "apples"), ("orange", "oranges"), ("cookie", "cookies"), ("candy", "candies"),
    ("plum", "plums"), ("carrot", "carrots"),
)  # fmt: skip
_INEDIBLE = (
    ("book", "books"), ("coin", "coins"), ("marble", "marbles"), ("pencil", "pencils"),
    ("sticker", "stickers"), ("card", "cards"), ("shell", "shells"), ("toy", "toys"),
)  # fmt: skip
_ITEM_POOLS: dict[str, tuple[tuple[str, str], ...]] = {
    "store": _STORE_ITEMS,
    "baked": _BAKED_ITEMS,
    "market": _MARKET_ITEMS,
    "countable": _COUNTABLE_ITEMS,
}
_VEHICLES = ("train", "car", "bus", "cyclist", "truck", "boat", "runner", "horse rider")
_UNITS = ("miles", "kilometers")

# (question, statement, answer); balanced between Yes and No.
_WORLD_FACTS: tuple[tuple[str, str, str], ...] = (
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

# Made-up names: 2-3 of these syllables, capitalised ("Vorbelka"): ~65,000 names.
SYLLABLES: tuple[str, ...] = (
    "ka", "vor", "bel", "tis", "mun", "ra", "lo", "mi", "den", "sa", "tor", "ne", "vi", "gar",
    "lu", "pem", "zo", "rin", "fa", "kel", "do", "mar", "shi", "ten", "bo", "lis", "qua", "nar",
    "el", "ul", "fen", "dri", "so", "pa", "jun", "hal", "ve", "tu", "ris", "go",
)  # fmt: skip


@cache
def _name_pools() -> dict[str, tuple[str, ...]]:
    real = {w.lower() for pair in _CAPITALS for w in pair}
    real |= {w.lower() for w in _PEOPLE + _COLORS + _ANIMALS}
    real |= {o.removeprefix("the ") for o in _OBJECTS}
    names = {
        "".join(parts) for n in (2, 3) for parts in itertools.product(SYLLABLES, repeat=n)
    } - real
    pools: dict[str, list[str]] = {split: [] for split in SPLITS}
    for name in sorted(names):
        pools[split_of_key(f"name|{name}")].append(name.capitalize())
    return {split: tuple(pool) for split, pool in pools.items()}


def name_pool(split: str) -> tuple[str, ...]:
    """The made-up names of one split (capitalised); the pools of the splits are disjoint."""
    return _name_pools()[split]


# --------------------------------------------------------------------------- generators

_RESERVED_PAIRS = frozenset(tuple(sorted(pair)) for pair in RESERVED_NUMBER_PAIRS)


def is_reserved(numbers: tuple[int, ...] = (), words: tuple[str, ...] = ()) -> bool:
    """Whether operands or fact keys contain a seed prompt's pair (such examples are test only)."""
    if any(pair in _RESERVED_PAIRS for pair in itertools.combinations(sorted(numbers), 2)):
        return True
    return any(a in words and b in words for a, b in RESERVED_WORD_PAIRS)


@dataclass(frozen=True)
class _Draw:
    """What a generator needs: the random source, the split wanted and the variant."""

    rng: random.Random
    split: str
    hard: bool

    def admits(
        self,
        key: str,
        numbers: tuple[int, ...] = (),
        words: tuple[str, ...] = (),
        split_free: bool = False,
    ) -> bool:
        """Whether an example with this content belongs to the split wanted.

        `split_free` marks content that is not split by key: made-up names drawn from the
        split's own pool, or world facts (held out by template only).
        """
        if is_reserved(numbers, words):
            return self.split == "test"
        return split_free or split_of_key(key) == self.split

    def template(self, group: str) -> _Template:
        """A question template of `group` for this split.

        Groups held out by template only use held-out templates in validation / test.
        """
        share = 1.0 if group in _TEMPLATE_ONLY_GROUPS else HELDOUT_SHARE
        return _pick(_QUESTION_POOLS[group], self.split, self.rng, share)

    def sentence(self, group: str, **fields: str) -> str:
        """A context sentence of `group` in one of its phrasings."""
        return _weighted(_SENTENCE_POOLS[group], self.rng).text.format(**fields)

    def context(self, group: str, facts: list[dict[str, str]]) -> list[str]:
        """Context sentences of `group`, one per fact: half the time all in one phrasing."""
        if self.rng.random() < SAME_PHRASING_SHARE:
            template = _weighted(_SENTENCE_POOLS[group], self.rng)
            return [template.text.format(**fields) for fields in facts]
        return [self.sentence(group, **fields) for fields in facts]

    def new_name(self, taken: set[str]) -> str:
        """A made-up name of this split not in `taken` (which it is added to)."""
        pool = name_pool(self.split)
        while True:
            name = self.rng.choice(pool)
            if name not in taken:
                taken.add(name)
                return name


def _noun(n: int, item: tuple[str, str]) -> str:
    return item[0] if n == 1 else item[1]


def _count(n: int, item: tuple[str, str]) -> str:
    return f"{n} {_noun(n, item)}"


def _an(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _person(rng: random.Random) -> dict[str, str]:
    name = rng.choice(_PEOPLE)
    he, him = ("he", "him") if name in _MALE else ("she", "her")
    return {"name": name, "he": he, "He": he.capitalize(), "him": him}


def _subtrahend(rng: random.Random, a: int, lowest: int) -> int:
    """b in [lowest, a]: uniform, or SMALL_DIFFERENCE_SHARE of the time with a - b below ten."""
    if rng.random() < SMALL_DIFFERENCE_SHARE:
        lowest = max(lowest, a - 9)
    return rng.randint(lowest, a)


def _arithmetic(draw: _Draw) -> Example | None:
    rng = draw.rng
    op = rng.choices(("add", "sub", "mul"), weights=(4, 3, 3))[0]
    if op == "mul":
        hi = 12 if draw.hard else 9
        a, b = rng.randint(1, hi), rng.randint(1, hi)
        answer, key = a * b, sorted((a, b))
    else:
        hi = 99 if draw.hard else 9
        a = rng.randint(0, hi)
        if op == "sub":
            b = _subtrahend(rng, a, lowest=0)
            answer, key = a - b, [a, b]
        else:
            b = rng.randint(0, hi)
            answer, key = a + b, sorted((a, b))
    key_text = f"arithmetic|{op}|{key[0]}|{key[1]}"
    # The multiplication table is memorised, not computed: held out by template only.
    if not draw.admits(key_text, numbers=(a, b), split_free=op == "mul"):
        return None
    template = draw.template(f"arith.{op}")
    return Example(
        prompt=template.text.format(a=a, b=b),
        answer=str(answer),
        family="arithmetic",
        template=template.id,
        key=key_text,
    )


def _word_problem(draw: _Draw) -> Example | None:
    rng, hard = draw.rng, draw.hard
    kind = rng.choices(("sold", "bought", "shared", "speed"), weights=(3, 2, 2, 3))[0]
    if kind == "sold":
        a = rng.randint(2, 99 if hard else 9)
        b = _subtrahend(rng, a, lowest=1)
        answer = str(a - b)
    elif kind == "bought":
        a, b = rng.randint(1, 99 if hard else 9), rng.randint(1, 99 if hard else 9)
        answer = str(a + b)
    elif kind == "shared":  # the multiplication table inverted
        b = rng.randint(2, 12 if hard else 5)
        quotient = rng.randint(1, 12 if hard else 5)
        a, answer = b * quotient, str(quotient)
    else:
        b = rng.randint(1, 5 if hard else 2)  # hours
        speed = rng.randint(2, 60 if hard else 9)
        a, answer = speed * b, str(speed)  # distance, at most 300
    key = f"word_problems|{kind}|{a}|{b}"
    # Equal sharing is a table to memorise, like multiplication: held out by template only.
    if not draw.admits(key, numbers=(a, b), split_free=kind == "shared"):
        return None
    template = draw.template(f"wp.{kind}")
    fields = _person(rng)
    if kind == "speed":
        unit = rng.choice(_UNITS)
        answer = f"{answer} {unit} per hour"
        fields |= {"vehicle": rng.choice(_VEHICLES), "d": str(a), "unit": unit}
        fields["t_hours"] = _count(b, ("hour", "hours"))
    else:
        item = rng.choice(_ITEM_POOLS[template.items or "countable"])
        fields |= {"a_items": _count(a, item), "b": str(b), "items": item[1]}
    return Example(
        prompt=template.text.format(**fields),
        answer=answer,
        family="word_problems",
        template=template.id,
        key=key,
    )


def _fact_count(rng: random.Random, hard: bool) -> int:
    if hard:
        return rng.randint(2, 5)
    return 1 if rng.random() < 0.6 else 2


def _fact_entries(draw: _Draw, kind: str, n: int) -> tuple[list[tuple[str, str]], list[str]]:
    """`n` (key, value) facts of one kind with distinct keys and values, and the made-up names."""
    rng = draw.rng
    taken: set[str] = set()
    names: list[str] = []
    entries: list[tuple[str, str]] = []
    while len(entries) < n:
        real = rng.random() < REAL_SHARE
        if kind == "capital":
            key, value = rng.choice(_CAPITALS) if real else ("", "")
        elif kind == "color":
            key, value = (rng.choice(_OBJECTS) if real else ""), rng.choice(_COLORS)
        else:
            key, value = (rng.choice(_PEOPLE) if real else ""), rng.choice(_ANIMALS)
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


def _fact_fields(key: str, value: str) -> dict[str, str]:
    """The fields of a context sentence stating that `key` has `value`."""
    return {
        "k": key,
        "K": _capitalized(key),
        "v": value,
        "an_v": _an(value),
        "An_v": _capitalized(_an(value)),
    }


def _facts(draw: _Draw) -> Example | None:
    rng = draw.rng
    kind = rng.choice(("capital", "color", "owner"))
    entries, names = _fact_entries(draw, kind, _fact_count(rng, draw.hard))
    query_key, answer = rng.choice(entries)
    group = f"facts.{kind}"
    if kind == "owner":
        if rng.random() < 0.5:
            group, query_key, answer = "facts.owner_who", answer, query_key
        else:
            group = "facts.owner_what"
    content = ";".join(sorted(f"{k}={v}" for k, v in entries))
    key = f"facts|{group}|{content}|q={query_key}"
    words = tuple(k.removeprefix("the ") for k, _ in entries)
    if not draw.admits(key, words=words, split_free=bool(names)):
        return None
    sentences = draw.context(kind, [_fact_fields(k, v) for k, v in entries])
    template = draw.template(group)
    question = template.text.format(key=query_key, Key=_capitalized(query_key))
    return Example(
        prompt=" ".join([*sentences, question]),
        answer=answer,
        family="facts",
        template=template.id,
        key=key,
        names=tuple(names),
    )


def _running_total(draw: _Draw) -> Example | None:
    rng, hard = draw.rng, draw.hard
    start = total = rng.randint(1, 20 if hard else 9)
    changes: list[int] = []  # signed, never taking the total below zero
    for _ in range(rng.randint(1, 3) if hard else 1):
        gain = total == 0 or rng.random() < 0.5
        change = rng.randint(1, 9) if gain else -rng.randint(1, min(9, total))
        changes.append(change)
        total += change
    key = f"running_totals|{start}|" + "|".join(f"{c:+d}" for c in changes)
    if not draw.admits(key, numbers=(start, *(abs(c) for c in changes))):
        return None
    fields = _person(rng)
    name = fields["name"]
    others = [p for p in _PEOPLE if p != name]
    edible = rng.random() < 0.5
    item = rng.choice(_EDIBLE if edible else _INEDIBLE)
    sentences = [draw.sentence("rt.start", name=name, count=_count(start, item))]
    for change in changes:
        k = abs(change)
        step = {
            "He": fields["He"],
            "him": fields["him"],
            "other": rng.choice(others),
            "k": str(k),
            "noun": _noun(k, item),
            "count": _count(k, item),
            "eats_or_loses": "eats" if edible else "loses",
        }
        sentences.append(draw.sentence("rt.gain" if change > 0 else "rt.loss", **step))
    template = draw.template("rt")
    sentences.append(template.text.format(items=item[1], name=name))
    return Example(
        prompt=" ".join(sentences),
        answer=str(total),
        family="running_totals",
        template=template.id,
        key=key,
    )


def _world_fact(draw: _Draw) -> Example:
    question, statement, answer = draw.rng.choice(_WORLD_FACTS)
    # World facts cannot be held out by value: validation / test use held-out templates only.
    template = draw.template("yn.world")
    return Example(
        prompt=template.text.format(
            question=question, statement=statement, Statement=_capitalized(statement)
        ),
        answer=answer,
        family="yes_no",
        template=template.id,
        key=f"yes_no|world|{statement}",
    )


def _comparison(draw: _Draw, yes: bool) -> Example | None:
    lo, hi = sorted(draw.rng.sample(range(100 if draw.hard else 10), 2))
    key = f"yes_no|compare|{lo}|{hi}"
    if not draw.admits(key, numbers=(lo, hi)):
        return None
    template = draw.template("yn.compare")
    a, b = (hi, lo) if (template.id in _GREATER) == yes else (lo, hi)
    return Example(
        prompt=template.text.format(a=a, b=b),
        answer="Yes" if yes else "No",
        family="yes_no",
        template=template.id,
        key=key,
    )


# Training only: ownership questions are ~53% of yes_no (else ~37%; ~48% in the test split,
# which refuses more of the other kinds' draws), and a "No" with several owners asks about
# another owner's animal 80% of the time (else half), so that "is the animal in the
# context?" does not answer them (benchmarks/RESULTS.md).
OWNERSHIP_BOOST = 0.25
NEAR_MISS_TRAIN = 0.8


def _ownership(draw: _Draw, yes: bool) -> Example:
    rng = draw.rng
    taken: set[str] = set()
    people = [draw.new_name(taken) for _ in range(rng.randint(2, 3) if draw.hard else 1)]
    animals = rng.sample(_ANIMALS, len(people))
    index = rng.randrange(len(people))
    near_miss = NEAR_MISS_TRAIN if draw.split == "train" else 0.5
    if yes:
        asked = animals[index]
    elif len(people) > 1 and rng.random() < near_miss:  # another owner's animal: a near miss
        asked = rng.choice([a for i, a in enumerate(animals) if i != index])
    else:
        asked = rng.choice([a for a in _ANIMALS if a != animals[index]])
    template = draw.template("yn.owner")
    sentences = draw.context(
        "owner", [_fact_fields(p, a) for p, a in zip(people, animals, strict=True)]
    )
    question = template.text.format(name=people[index], animal=asked, an_animal=_an(asked))
    content = ";".join(sorted(f"{p}={a}" for p, a in zip(people, animals, strict=True)))
    return Example(
        prompt=" ".join([*sentences, question]),
        answer="Yes" if yes else "No",
        family="yes_no",
        template=template.id,
        key=f"yes_no|owner|{content}|q={people[index]}={asked}",
        names=tuple(people),
    )


def _yes_no(draw: _Draw) -> Example | None:
    kind = draw.rng.choice(("world", "compare", "owner"))
    if draw.split == "train" and kind != "owner" and draw.rng.random() < OWNERSHIP_BOOST:
        kind = "owner"
    if kind == "world":
        return _world_fact(draw)  # the table is balanced between Yes and No
    yes = draw.rng.random() < 0.5
    return _comparison(draw, yes) if kind == "compare" else _ownership(draw, yes)


_GENERATORS: dict[str, Callable[[_Draw], Example | None]] = {
    "arithmetic": _arithmetic,
    "word_problems": _word_problem,
    "facts": _facts,
    "running_totals": _running_total,
    "yes_no": _yes_no,
}


@cache
def _seed_prompt_texts() -> frozenset[str]:
    return frozenset(p.prompt for p in SEED_PROMPTS)


def _check(split: str, difficulty: float) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty}")


def sample_example(family: str, split: str, rng: random.Random, difficulty: float = 1.0) -> Example:
    """One example of `family` from `split`; hard with probability 0.8 * difficulty."""
    if family not in _GENERATORS:
        raise ValueError(f"unknown task family {family!r}; choose one of: {', '.join(FAMILIES)}")
    _check(split, difficulty)
    draw = _Draw(rng, split, hard=rng.random() < HARD_SHARE * difficulty)
    for _ in range(_MAX_TRIES):
        example = _GENERATORS[family](draw)
        if example is None:
            continue
        if split == "train" and example.prompt in _seed_prompt_texts():
            continue
        return example
    raise RuntimeError(f"no {family} example found for split {split!r} (hard={draw.hard})")


def sample_mixture(
    mixture: Mapping[str, float], split: str, rng: random.Random, difficulty: float = 1.0
) -> Example:
    """One example from a family drawn with the mixture's weights."""
    unknown = sorted(set(mixture) - set(FAMILIES))
    if unknown or not mixture or min(mixture.values()) < 0 or sum(mixture.values()) <= 0:
        raise ValueError(
            f"invalid task mixture {dict(mixture)!r}: use positive weights for families "
            f"among {', '.join(FAMILIES)}"
        )
    family = rng.choices(list(mixture), weights=list(mixture.values()))[0]
    return sample_example(family, split, rng, difficulty)


def make_examples(
    mixture: Mapping[str, float], split: str, n: int, seed: int, difficulty: float = 1.0
) -> list[Example]:
    """`n` examples, a pure function of (mixture, split, n, seed, difficulty)."""
    rng = random.Random(f"cognate-examples-{split}-{seed}")
    return [sample_mixture(mixture, split, rng, difficulty) for _ in range(n)]
