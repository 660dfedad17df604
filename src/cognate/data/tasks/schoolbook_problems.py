"""Arithmetic word problems written the way school books and people write them.

"Joan found 70 seashells. She gave Sam some of her seashells. She has 27 seashells. How many
seashells did she give to Sam?" -> `43`. One kind of problem per schema:

- change: someone gains or loses some (found, bought, gave to, lost, ate, sold, spent, ...),
  and the result, the change or the start is unknown (`change_result`, `change_amount`,
  `change_start`);
- combine: two or three parts and their total, the total or a part unknown (`combine_total`,
  `combine_part`);
- compare: how many more or fewer (`compare_difference`), or "5 more than" / "5 fewer than"
  with either side unknown (`compare_more`, `compare_fewer`);
- equal groups: so many groups of so many (`groups_total`), shared equally (`groups_share`),
  how many groups (`groups_count`);
- two steps (`two_step`): two changes, a total then a loss, groups then a loss, a comparison
  then a total, money left after buying several.

What is counted: things (a countable noun of the lexicon, with the verbs that fit it), money
("$3" or "3 dollars"; the answer is the number), a material in units ("3 cups of flour") or an
activity in units ("read 12 pages"). A quarter of the problems whose question names what it
counts carry a sentence with a number that does not matter to it. A problem is either context
and then "Q: <question> A:", or all of it after "Q:" (the seed prompt's shape); names are
repeated or replaced by pronouns; some questions come first ("How many ... if ...?").

Splits (as in `tasks`): every word (names, things, materials, activities, containers, colors
and the rarer verbs) comes from its split's `lexicon`; the problem's numbers are split by key
(`split_of_key`), except the equal groups, whose numbers are the multiplication table; each
schema has held-out phrasings used only in validation / test (half of those examples); the
seed prompts' number pairs only ever occur in test.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache

from cognate.data.tasks.example import Example
from cognate.data.tasks.family import HARD_SHARE, Draw, Family
from cognate.data.tasks.lexicon import (
    COUNTABLES,
    Change,
    Lexicon,
    Person,
    VerbPhrase,
    lexicon,
    plural,
    with_article,
)
from cognate.data.tasks.splits import (
    HELDOUT_SHARE,
    RESERVED_NUMBER_PAIRS,
    SPLITS,
    is_reserved,
    split_of_key,
)
from cognate.data.tasks.templates import Questions, Template

NAME = "schoolbook_problems"
GROUP = "school"  # template ids: "school.<kind>.<phrasing>"

KIND_WEIGHTS: dict[str, float] = {
    "change_result": 3,
    "change_amount": 2,
    "change_start": 2,
    "combine_total": 2,
    "combine_part": 2,
    "compare_difference": 2,
    "compare_more": 1,
    "compare_fewer": 1,
    "groups_total": 1,
    "groups_share": 1,
    "groups_count": 1,
    "two_step": 1.5,
}
KINDS: tuple[str, ...] = tuple(KIND_WEIGHTS)

BIG_SHARE = 0.2  # share of hard problems with numbers up to 999
DISTRACTOR_SHARE = 0.25  # share of problems with a number that does not matter
ONE_QUESTION_SHARE = 0.4  # share of problems written all after "Q:"
NAME_AGAIN_SHARE = 0.25  # share of later mentions by name instead of a pronoun
MONEY_SHARE = 0.2  # share of money among problems about what someone has
MATERIAL_SHARE = 0.1  # share of materials in units among them
SHOP_SHARE = 0.2  # share of shops among the owners in change problems
_MAX_TRIES = 10_000

# Words of the problems' structure, in every split (like "has" and "more"): units, days,
# shops, relatives and where an unrelated thing lies.
SHOPS: dict[str, tuple[str, ...]] = {  # the kinds of things each sells
    "store": ("school", "toy", "book", "clothing", "dish", "sweet", "supply", "fruit"),
    "shop": ("school", "toy", "book", "clothing", "dish", "sweet", "supply", "craft"),
    "supermarket": ("fruit", "vegetable", "baked", "sweet"),
    "farm stand": ("fruit", "vegetable"),
    "bakery": ("baked",),
    "bookstore": ("book",),
    "gift shop": ("toy", "craft", "picture", "dish"),
    "market stall": ("fruit", "vegetable", "flower"),
    "garden center": ("flower", "plant"),
    "pet store": ("animal",),
}
SHOP_VERBS = ("sold", "bought", "got", "received", "baked", "ordered", "purchased", "gave")
RELATIVES = (
    "sister", "brother", "friend", "mother", "father", "mom", "dad", "grandmother",
    "grandfather", "aunt", "uncle", "cousin", "neighbor", "teacher", "classmate",
)  # fmt: skip
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ELSEWHERE = ("on the table", "on the shelf", "in the closet", "in the garage")
# Kinds of things (the lexicon's COUNTABLES) that come in containers (not animals), that fit
# a jar or an envelope, that come in colors, that have prices.
BOXED = frozenset(COUNTABLES) - {"animal"}
SMALL = frozenset({"collectible", "school", "sweet", "supply", "plant"})
COLORED = frozenset({"collectible", "school", "flower", "dish", "toy", "clothing", "craft"})
PRICED = frozenset({"school", "toy", "book", "clothing", "dish", "craft", "picture"})


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class Frame:
    """One phrasing of a schema: sentences with `str.format` fields, the last a question.

    `stuff` is what it can count: "any" (things, money or a material), "things", "money",
    "activity" or "none"; `variants` the variants of the schema it can word (all if empty).
    """

    id: str
    text: str
    stuff: str = "any"
    variants: tuple[str, ...] = ()
    heldout: bool = False
    shop: bool = False  # its owner may be a shop


def _f(id: str, text: str, stuff: str = "any", variants: str = "", **flags: bool) -> Frame:
    return Frame(id, text, stuff, tuple(variants.split()), **flags)


_H = {"heldout": True}
_SHOP = {"shop": True}

# Fields: {name} {he} {his} {him} (and 2, 3 for more people; capitalized: {Name}, {He}, ...),
# {other} (someone given to or got from), {How_many} ("How many seashells" / "How much
# money"), amounts {a} {b} {c} {x} {y} {z} {t} {d} {n} (with their noun), {g} (a count of
# groups), verb phrases {did} {does} (the change, past and present), {asked} (the change's
# verb without its amount) and the words listed in `_common_fields`.
FRAMES: dict[str, tuple[Frame, ...]] = {
    "change_result": (
        _f("had", "{Name} had {a}. {He} {did}. {How_many} does {he} have {now}?", **_SHOP),
        _f("has", "{Name} has {a}. {He} {does}. {How_many} does {he} have {now}?", **_SHOP),
        _f("got_first", "{Name} {got_a}. {He} {did}. {How_many} does {he} have {now}?"),
        _f("had_and", "{Name} had {a} and {did}. {How_many} does {he} have {now}?", **_SHOP),
        _f("if", "If {name} has {a} and {does}, {how_many} does {he} have {now}?", **_SHOP),
        _f("if_left", "If {name} has {a} and {does}, how many are left?", "things", "loss",
           **_SHOP),
        _f("started", "{Name} started with {a}. Then {he} {did}. {How_many} does {he} have {now}?"),
        _f("box", "There are {a} in {a_box}. {Name} {moves}. {How_many} are in the {box} now?",
           "things"),
        _f("question_first", "{How_many} does {name} have {now} if {he} had {a} and {did}?",
           **_SHOP),
        _f("after", "{Name} had {a}. After {he} {did}, {how_many} did {he} have?", **_H),
    ),
    "change_amount": (
        _f("had", "{Name} had {a}. {He} {did_some}. {Now_has_c} {How_many} did {he} {asked}?",
           **_SHOP),
        _f("got_first",
           "{Name} {got_a}. {He} {did_some}. {Now_has_c} {How_many} did {he} {asked}?"),
        _f("has", "{Name} has {a}. {He} {does_some}. Now {he} has {c}. "
           "{How_many} does {he} {asked}?", **_SHOP),
        _f("needs_more", "{Name} has {a}. {He} wants to have {c}. {How_many_more} does {he} need?",
           variants="gain"),
        _f("wants_to_buy", "{Name} has {a}. {He} wants to buy {a_thing} that costs {c}. "
           "How much more money does {he} need?", "money", "gain"),
        _f("box", "There were {a} in {a_box}. {Name} {moved_some}. Now there are {c} in the "
           "{box}. {How_many} did {he} {move}?", "things"),
        _f("question_first", "{How_many} did {name} {asked} if {he} had {a} and now has {c}?",
           **_H),
        _f("had_and_now", "{Name} had {a}. {He} {did_some} and now has {c}. "
           "{How_many} did {he} {asked}?", **_H, **_SHOP),
    ),
    "change_start": (
        _f("had_some", "{Name} had some {mass}. {He} {did}. {Now_has_c} "
           "{How_many} did {he} have {at_first}?", **_SHOP),
        _f("did", "{Name} {did_full}. {Now_has_c} {How_many} did {he} have {at_first}?", **_SHOP),
        _f("did_and_now", "{Name} {did_full} and now has {c}. "
           "{How_many} did {he} have {at_first}?", **_SHOP),
        _f("start_with", "{Name} {did_full}. {Now_has_c} {How_many} did {he} start with?"),
        _f("then_had", "{Name} {did_full}. Then {he} had {c}. {How_many} did {he} have {at_first}?",
           **_SHOP),
        _f("box", "{Name} {moved_full}. Now there are {c} in the {box}. "
           "{How_many} were in the {box} {at_first}?", "things"),
        _f("after", "After {name} {did_full}, {he} had {c}. {How_many} did {he} have {at_first}?",
           **_H),
        _f("question_first", "{How_many} did {name} have {at_first} if {he} {did_full} and "
           "now has {c}?", **_H, **_SHOP),
    ),
    "combine_total": (
        _f("two", "{Name} has {x}. {Name2} has {y}. {How_many} do they have {altogether}?",
           variants="2"),
        _f("two_and", "{Name} has {x} and {name2} has {y}. "
           "{How_many} do {name} and {name2} have {altogether}?", variants="2"),
        _f("three", "{Name} has {x}, {name2} has {y}, and {name3} has {z}. "
           "{How_many} do they have {altogether}?", variants="3"),
        _f("did", "{Name} {did_x} and {name2} {did_y}. {How_many} did they {asked} {altogether}?",
           variants="2"),
        _f("colors", "{Name} has {x_color} and {y_color2}. {How_many} does {he} have {altogether}?",
           "things", "2"),
        _f("box_colors", "There are {x_color}, {y_color2}, and {z_color3} in {a_box}. "
           "{How_many} are in the {box} {altogether}?", "things", "3"),
        _f("boxes", "There are {x} in {a_box} and {y} in {a_box2}. "
           "{How_many} are there {altogether}?", "things", "2"),
        _f("days", "{Name} {did_x} on {day} and {y} on {day2}. "
           "{How_many} did {he} {asked} {altogether}?", "activity", "2"),
        _f("three_days", "{Name} {did_x} on {day}, {y} on {day2}, and {z} on {day3}. "
           "{How_many} did {he} {asked} {altogether}?", "activity", "3"),
        _f("spent", "{Name} spent {x} on {a_thing} and {y} on {a_thing2}. "
           "How much money did {he} spend {altogether}?", "money", "2"),
        _f("cost", "{A_thing} costs {x} and {a_thing2} costs {y}. "
           "How much do they cost {altogether}?", "money", "2"),
        _f("class", "There are {x_n} girls and {y_n} boys in a {school}. "
           "How many children are in the {school}?", "none", "2"),
        _f("question_first", "{How_many} do {name} and {name2} have {altogether} if {name} has "
           "{x} and {name2} has {y}?", variants="2"),
        _f("two_of_them", "{Name} has {x}, and {name2} has {y}. {How_many} do the two of them "
           "have {altogether}?", variants="2", **_H),
        _f("if", "If {name} has {x}, {name2} has {y}, and {name3} has {z}, "
           "{how_many} do they have {altogether}?", variants="3", **_H),
    ),
    "combine_part": (
        _f("two", "{Name} and {name2} have {t} {altogether}. {Name} has {x}. "
           "{How_many} does {name2} have?", variants="2"),
        _f("three", "{Name}, {name2}, and {name3} have {t} {altogether}. {Name} has {x} and "
           "{name2} has {y}. {How_many} does {name3} have?", variants="3"),
        _f("three_again", "{Name}, {name2}, and {name3} have {t} {altogether}. {Name2} has {y} "
           "and {name} has {x}. {How_many} does {name3} have?", variants="3", **_H),
        _f("colors", "{Name} has {t}. {X_n} of them are {color} and the rest are {color2}. "
           "How many {items} are {color2}?", "things", "2"),
        _f("box_colors", "There are {t} in {a_box}. {X_n} are {color}, {y_n} are {color2}, and "
           "the rest are {color3}. How many {items} are {color3}?", "things", "3"),
        _f("class", "There are {t_n} children in a {school}. {X_n} of them are girls. "
           "How many boys are in the {school}?", "none", "2"),
        _f("days", "{Name} {did_t} in two days. {He} {did_x} on the first day. "
           "{How_many} did {he} {asked} on the second day?", "activity", "2"),
        _f("spent", "{Name} spent {t} on {a_thing} and {a_thing2}. The {thing} cost {x}. "
           "How much did the {thing2} cost?", "money", "2"),
        _f("question_first", "{How_many} does {name2} have if {name} and {name2} have {t} "
           "{altogether} and {name} has {x}?", variants="2", **_H),
        _f("some_are", "{Name} has {t}. Some of them are {color} and {x_n} are {color2}. "
           "How many {items} are {color}?", "things", "2", **_H),
    ),
    "compare_difference": (
        _f("more", "{Name} has {x}. {Name2} has {y}. {How_many_more} does {name} have than "
           "{name2}?", variants="more"),
        _f("fewer", "{Name} has {x}. {Name2} has {y}. {How_many_fewer} does {name2} have than "
           "{name}?", variants="fewer"),
        _f("did", "{Name} {did_x}. {Name2} {did_y}. {How_many_more} did {name} {asked} than "
           "{name2}?", variants="more"),
        _f("did_fewer", "{Name} {did_x}. {Name2} {did_y}. {How_many_fewer} did {name2} {asked} "
           "than {name}?", "activity", "fewer"),
        _f("cost", "{A_thing} costs {x}. {A_thing2} costs {y}. How much more does the {thing} "
           "cost than the {thing2}?", "money", "more"),
        _f("cost_less", "{A_thing} costs {x}. {A_thing2} costs {y}. How much less does the "
           "{thing2} cost than the {thing}?", "money", "fewer"),
        _f("box", "There are {x} and {y2} in {a_box}. How many more {items} than {items2} are "
           "there?", "things", "more"),
        _f("question_first", "{How_many_more} does {name} have than {name2} if {name} has {x} "
           "and {name2} has {y}?", variants="more"),
        _f("and_more", "{Name} has {x} and {name2} has {y}. {How_many_more} does {name} have?",
           variants="more", **_H),
        _f("if", "If {name} has {x} and {name2} has {y}, {how_many_fewer} does {name2} have?",
           variants="fewer", **_H),
    ),
    "compare_more": (
        _f("has", "{Name2} has {y}. {Name} has {d_more} than {name2}. {How_many} does {name} "
           "have?", variants="ask_larger"),
        _f("than_first", "{Name} has {d_more} than {name2}. {Name2} has {y}. {How_many} does "
           "{name} have?", variants="ask_larger"),
        _f("has_smaller", "{Name} has {x}. {He} has {d_more} than {name2}. {How_many} does "
           "{name2} have?", variants="ask_smaller"),
        _f("more_first", "{Name} has {d_more} than {name2}. {Name} has {x}. {How_many} does "
           "{name2} have?", variants="ask_smaller", **_H),
        _f("did", "{Name2} {did_y}. {Name} {did_d_more} than {name2}. {How_many} did {name} "
           "{asked}?", "activity", "ask_larger"),
        _f("cost", "{A_thing2} costs {y}. {A_thing} costs {d} more than the {thing2}. "
           "How much does the {thing} cost?", "money", "ask_larger"),
        _f("cost_smaller", "{A_thing} costs {x}. It costs {d} more than {a_thing2}. "
           "How much does the {thing2} cost?", "money", "ask_smaller"),
        _f("question_first", "{How_many} does {name} have if {he} has {d_more} than {name2} "
           "and {name2} has {y}?", variants="ask_larger", **_H),
        _f("and", "{Name2} has {y}, and {name} has {d_more} than {name2}. {How_many} does "
           "{name} have?", variants="ask_larger", **_H),
    ),
    "compare_fewer": (
        _f("has", "{Name2} has {x}. {Name} has {d_fewer} than {name2}. {How_many} does {name} "
           "have?", variants="ask_smaller"),
        _f("than_first", "{Name} has {d_fewer} than {name2}. {Name2} has {x}. {How_many} does "
           "{name} have?", variants="ask_smaller"),
        _f("has_larger", "{Name} has {y}. {He} has {d_fewer} than {name2}. {How_many} does "
           "{name2} have?", variants="ask_larger"),
        _f("fewer_first", "{Name} has {d_fewer} than {name2}. {Name} has {y}. {How_many} does "
           "{name2} have?", variants="ask_larger", **_H),
        _f("did", "{Name2} {did_x}. {Name} {did_d_fewer} than {name2}. {How_many} did {name} "
           "{asked}?", "activity", "ask_smaller"),
        _f("cost", "{A_thing2} costs {x}. {A_thing} costs {d} less than the {thing2}. "
           "How much does the {thing} cost?", "money", "ask_smaller"),
        _f("owns", "{Name2} owns {x}. {Name} owns {d_fewer} than {name2}. {How_many} does "
           "{name} own?", "things", "ask_smaller"),
        _f("question_first", "{How_many} does {name} have if {he} has {d_fewer} than {name2} "
           "and {name2} has {x}?", variants="ask_smaller", **_H),
        _f("and", "{Name2} has {x}, and {name} has {d_fewer} than {name2}. {How_many} does "
           "{name} have?", variants="ask_smaller", **_H),
    ),
    "groups_total": (
        _f("has_boxes", "{Name} has {g} {boxes}. Each {box} has {n} in it. "
           "{How_many} does {he} have {altogether}?", "things"),
        _f("with_each", "There are {g} {boxes} with {n} in each. "
           "{How_many} are there {altogether}?", "things"),
        _f("bought", "{Name} bought {g} {packs} of {items}. There are {n} in each {pack}. "
           "{How_many} did {he} buy?", "things"),
        _f("children", "{G} children each have {n}. {How_many} do they have {altogether}?"),
        _f("for_each", "{Name} bought {g} {things} for {n} each. How much money did {he} "
           "spend?", "money"),
        _f("each_costs", "Each {thing} costs {n}. How much do {g} {things} cost?", "money"),
        _f("every_day", "{Name} {does_n} every day. {How_many} does {he} {asked} in {g} days?",
           "activity"),
        _f("question_first", "{How_many} are in {g} {boxes} if each {box} has {n}?", "things"),
        _f("and_each", "{Name} has {g} {boxes}, and there are {n} in each {box}. {How_many} does "
           "{he} have {altogether}?", "things", **_H),
        _f("boxes_have", "{G} {boxes} have {n} each. {How_many} are there {altogether}?",
           "things", **_H),
    ),
    "groups_share": (
        _f("friends", "{Name} has {t}. {He} shares {them} equally among {g} friends. "
           "{How_many} does each friend get?"),
        _f("into_boxes", "{Name} puts {t} equally into {g} {boxes}. {How_many} are in each "
           "{box}?", "things"),
        _f("children", "{T} are shared equally by {g} children. {How_many} does each child get?",
           "things"),
        _f("same_number", "{Name} puts {t} into {g} {boxes}. Each {box} has the same number of "
           "{items}. How many {items} are in each {box}?", "things"),
        _f("days", "{Name} {did_t} in {g} days. {He} {did_same} each day. "
           "{How_many} did {he} {asked} each day?", "activity"),
        _f("cost", "{G} {things} cost {t} in all. Each {thing} costs the same. "
           "How much does one {thing} cost?", "money"),
        _f("question_first", "{How_many} does each friend get if {name} shares {t} equally "
           "among {g} friends?", **_H),
        _f("boxes_same", "{Name} has {t} and {g} {boxes}. {He} puts the same number of {items} "
           "in each {box}. How many {items} are in each {box}?", "things", **_H),
    ),
    "groups_count": (
        _f("boxes", "{Name} has {t}. {He} puts {n} in each {box}. How many {boxes} does {he} "
           "need?", "things"),
        _f("packed", "{T} are packed in {packs} of {n_n}. How many {packs} are there?", "things"),
        _f("buy", "Each {thing} costs {n}. How many {things} can {name} buy with {t}?", "money"),
        _f("days", "{Name} {does_n} each day. How many days does it take {him} to {base_t}?",
           "activity"),
        _f("groups", "{T_n} children are put into groups of {n_n}. How many groups are there?",
           "none"),
        _f("fill", "{Name} has {t}. {He} puts them into {boxes}, {n_n} in each. How many "
           "{boxes} does {he} fill?", "things"),
        _f("share_out", "{Name} gives away {t}, {n_n} to each friend. How many friends get "
           "some?", "things"),
        _f("question_first", "How many {boxes} does {name} need if {he} has {t} and puts {n} in "
           "each {box}?", "things", **_H),
        _f("each_friend", "{Name} has {t}. {He} gives each friend {n}. How many friends get "
           "{items}?", "things", **_H),
    ),
    "two_step": (
        _f("changes", "{Name} had {a}. {He} {did}. Then {he} {did2}. "
           "{How_many} does {he} have now?", variants="changes"),
        _f("after_that", "{Name} had {a}. {He} {did}. After that, {he} {did2}. "
           "{How_many} does {he} have now?", variants="changes"),
        _f("total_then_loss", "{Name} has {x} and {name2} has {y}. They {lost_z}. "
           "{How_many} do they have left?", variants="total_then_loss"),
        _f("groups_then_loss", "{Name} bought {g} {packs} of {items} with {n} in each {pack}. "
           "{He} {did}. {How_many} does {he} have left?", "things", "groups_then_loss"),
        _f("packs_then_loss", "{Name} bought {g} {packs} of {items}. There are {n} in each "
           "{pack}. {He} {did}. {How_many} does {he} have left?", "things", "groups_then_loss",
           **_H),
        _f("compare_then_total", "{Name} has {x}. {Name2} has {d_more} than {name}. "
           "{How_many} do they have {altogether}?", variants="compare_then_total"),
        _f("more_then_total", "{Name2} has {d_more} than {name}. {Name} has {x}. {How_many} do "
           "they have {altogether}?", variants="compare_then_total", **_H),
        _f("money_left", "{Name} had {a}. {He} bought {g} {things} for {n} each. "
           "How much money does {he} have left?", "money", "money_left"),
        _f("had_and_bought", "{Name} had {a} and bought {g} {things} for {n} each. How much money "
           "does {he} have left?", "money", "money_left", **_H),
        _f("question_first", "{How_many} does {name} have now if {he} had {a}, {did}, and "
           "then {did2}?", variants="changes", **_H),
        _f("if_total_then_loss", "If {name} has {x}, {name2} has {y}, and they {lose_z}, "
           "{how_many} do they have left?", variants="total_then_loss", **_H),
    ),
}  # fmt: skip


# --------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class _Numbers:
    """A problem's numbers: those the text states (by role) and the answer."""

    variant: str  # which form of the schema, e.g. "gain", "3" (parts), "ask_smaller"
    given: dict[str, int]
    answer: int
    gains: tuple[bool, ...] = ()  # change problems: whether each change is a gain

    def key(self, kind: str) -> str:
        signs = "".join("+" if gain else "-" for gain in self.gains)
        numbers = ",".join(f"{role}={n}" for role, n in self.given.items())
        return f"{NAME}|{kind}|{self.variant}{signs}|{numbers}"


def _top(rng: random.Random, hard: bool) -> int:
    """The largest number of a problem: 20 when easy, 100 (or, now and then, 999) when hard."""
    if not hard:
        return 20
    return 999 if rng.random() < BIG_SHARE else 100


def _factors(rng: random.Random, hard: bool, most: int = 0) -> tuple[int, int]:
    """Two numbers of the multiplication table (2-5 when easy, 2-12 when hard) whose product
    is at most `most` (by default 20 when easy)."""
    hi = 12 if hard else 5
    most = most or (hi * hi if hard else 20)
    while True:
        a, b = rng.randint(2, hi), rng.randint(2, hi)
        if a * b <= most:
            return a, b


def _change(rng: random.Random, top: int) -> tuple[bool, int, int, int]:
    """A gain or a loss: start, change and result, all in 1..top."""
    gain = rng.random() < 0.5
    if gain:
        start = rng.randint(1, top - 1)
        change = rng.randint(1, top - start)
        return gain, start, change, start + change
    start = rng.randint(2, top)
    change = rng.randint(1, start - 1)
    return gain, start, change, start - change


def _parts(rng: random.Random, total: int, n: int) -> list[int]:
    """`n` positive parts adding up to `total` (at least `n`)."""
    cuts = sorted(rng.sample(range(1, total), n - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def _numbers(kind: str, rng: random.Random, hard: bool) -> _Numbers:
    top = _top(rng, hard)
    if kind.startswith("change"):
        gain, a, b, c = _change(rng, top)
        variant = "gain" if gain else "loss"
        if kind == "change_result":
            return _Numbers(variant, {"a": a, "b": b}, c)
        if kind == "change_amount":
            return _Numbers(variant, {"a": a, "c": c}, b)
        return _Numbers(variant, {"b": b, "c": c}, a)
    if kind.startswith("combine"):
        n = rng.choice((2, 2, 3))
        total = rng.randint(max(n, top // 4), top)
        parts = dict(zip("xyz", _parts(rng, total, n), strict=False))
        if kind == "combine_total":
            return _Numbers(str(n), parts, total)
        known = dict(list(parts.items())[:-1])
        return _Numbers(str(n), {"t": total, **known}, list(parts.values())[-1])
    if kind.startswith("compare"):
        smaller = rng.randint(1, top - 1)
        larger = rng.randint(smaller + 1, top)
        difference = larger - smaller
        if kind == "compare_difference":
            variant = rng.choice(("more", "fewer"))
            return _Numbers(variant, {"x": larger, "y": smaller}, difference)
        if rng.random() < 0.5:
            return _Numbers("ask_larger", {"y": smaller, "d": difference}, larger)
        return _Numbers("ask_smaller", {"x": larger, "d": difference}, smaller)
    if kind.startswith("groups"):
        groups, size = _factors(rng, hard)
        if kind == "groups_total":
            return _Numbers("", {"g": groups, "n": size}, groups * size)
        if kind == "groups_share":
            return _Numbers("", {"t": groups * size, "g": groups}, size)
        return _Numbers("", {"t": groups * size, "n": size}, groups)
    return _two_steps(rng, hard, top)


def _two_steps(rng: random.Random, hard: bool, top: int) -> _Numbers:
    variant = rng.choice(
        ("changes", "total_then_loss", "groups_then_loss", "compare_then_total", "money_left")
    )
    if variant == "changes":
        first_gain, a, b, middle = _change(rng, top - 1)
        second_gain = middle == 1 or rng.random() < 0.5
        if second_gain:
            c = rng.randint(1, top - middle)
            return _Numbers(variant, {"a": a, "b": b, "b2": c}, middle + c, (first_gain, True))
        c = rng.randint(1, middle - 1)
        return _Numbers(variant, {"a": a, "b": b, "b2": c}, middle - c, (first_gain, False))
    if variant == "total_then_loss":
        x, y = _parts(rng, rng.randint(3, top), 2)
        z = rng.randint(1, x + y - 1)
        return _Numbers(variant, {"x": x, "y": y, "z": z}, x + y - z, (False,))
    if variant == "compare_then_total":
        x = rng.randint(1, max(1, top // 2 - 1))
        d = rng.randint(1, max(1, top - 2 * x))
        return _Numbers(variant, {"x": x, "d": d}, 2 * x + d)
    groups, size = _factors(rng, hard, top - 1)
    if variant == "groups_then_loss":
        b = rng.randint(1, groups * size - 1)
        return _Numbers(variant, {"g": groups, "n": size, "b": b}, groups * size - b, (False,))
    a = rng.randint(groups * size + 1, top)
    return _Numbers(variant, {"a": a, "g": groups, "n": size}, a - groups * size)


# --------------------------------------------------------------------------- what is counted


@dataclass(frozen=True)
class _Stuff:
    """What a problem counts: things (a countable noun), money, a material or an activity in
    units."""

    one: str  # "seashell", "dollar", "cup of flour", "page"
    many: str  # "seashells", "dollars", "cups of flour", "pages"
    kind: str  # a kind of the lexicon's COUNTABLES, "money", "material" or "activity"
    mass: str  # what "some of her ..." takes: "seashells", "money", "flour"
    dollar_sign: bool = False  # money written "$5" rather than "5 dollars"

    @property
    def things(self) -> bool:
        return self.kind not in ("money", "material", "activity")

    def amount(self, n: int) -> str:
        """'5 seashells', '$5', '5 dollars', '5 cups of flour'."""
        if self.kind == "money" and self.dollar_sign:
            return f"${n}"
        return f"{n} {self.one if n == 1 else self.many}"

    def more(self, n: int, fewer: bool = False) -> str:
        """'5 more seashells', '$5 more', '5 fewer cups of flour', '$5 less'."""
        if self.kind == "money":
            return f"{self.amount(n)} {'less' if fewer else 'more'}"
        return f"{n} {'fewer' if fewer else 'more'} {self.one if n == 1 else self.many}"

    def how_many(self, comparing: str = "") -> str:
        """'how many seashells', 'how much money'; comparing 'more' or 'fewer' (money: 'less')."""
        if self.kind == "money":
            less = {"fewer": "less "}.get(comparing, f"{comparing} " if comparing else "")
            return f"how much {less}money"
        return f"how many {comparing + ' ' if comparing else ''}{self.many}"


def _things(noun_kind: str, singular: str) -> _Stuff:
    return _Stuff(singular, plural(singular), noun_kind, plural(singular))


def _stuff(rng: random.Random, lex: Lexicon, frame: Frame, kinds: frozenset[str]) -> _Stuff:
    """What `frame` counts, of one of the countable `kinds` when it counts things."""
    wanted = frame.stuff
    if wanted == "any":
        draw = rng.random()
        wanted = "money" if draw < MONEY_SHARE else "things"
        if MONEY_SHARE <= draw < MONEY_SHARE + MATERIAL_SHARE:
            wanted = "material"
    if wanted == "money":
        return _Stuff("dollar", "dollars", "money", "money", rng.random() < 0.6)
    if wanted == "material":
        material = rng.choice(list(lex.materials))
        unit = rng.choice(lex.materials[material])
        return _Stuff(
            f"{unit} of {material}", f"{plural(unit)} of {material}", "material", material
        )
    if wanted == "activity":
        unit = rng.choice(lex.activities).unit
        return _Stuff(unit, plural(unit), "activity", plural(unit))
    noun = rng.choice([n for n in lex.countables if n.kind in kinds])
    return _things(noun.kind, noun.singular)


def _needed_kinds(frame: Frame) -> frozenset[str]:
    """The kinds of countable things a frame's words suit (containers, colors)."""
    kinds = frozenset(COUNTABLES)
    if "box" in frame.text or "pack" in frame.text:
        kinds &= BOXED
    if "color" in frame.text:
        kinds &= COLORED
    return kinds


# --------------------------------------------------------------------------- verbs


@cache
def _changes(split: str, kind: str, gain: bool, shop: bool) -> tuple[Change, ...]:
    """The split's verbs that change an amount of `kind` (shops: only those a shop does)."""
    return tuple(
        c
        for c in lexicon(split).changes
        if c.gain == gain and kind in c.suits and (not shop or c.past.split()[0] in SHOP_VERBS)
    )


def _moves(gain: bool, *phrasings: str) -> tuple[Change, ...]:
    return tuple(Change(**vars(VerbPhrase.of(p)), gain=gain, everyday=True) for p in phrasings)


# Moving things in or out of a container: "{the_box}" is "a basket" or "the basket".
_CONTAINER_MOVES: dict[bool, tuple[Change, ...]] = {
    True: _moves(True, "put/puts/put {count} in {the_box}", "added/adds/add {count} to {the_box}"),
    False: _moves(
        False,
        "took/takes/take {count} out of {the_box}",
        "removed/removes/remove {count} from {the_box}",
    ),
}


def _changed(rng: random.Random, stuff: _Stuff, n: int, gain: bool, his: str, cue: bool) -> str:
    """The amount a verb of change takes once the stuff has been named: '5 more', '5 of
    them', '5 seashells', '5'. With `cue` it says which way the amount goes."""
    if gain:
        forms = [stuff.more(n)] + ([f"{n} more"] if stuff.things else [])
    else:
        forms = [_of_his(stuff, n, his)] if his else []
        forms += [f"{n} of them"] if stuff.things else []
    if not cue:
        forms += [stuff.amount(n)] * 2 + ([str(n)] if stuff.things else [])
    return rng.choice(forms)


def _first_changed(
    rng: random.Random, stuff: _Stuff, n: int, gain: bool, his: str, cue: bool
) -> str:
    """The amount a verb of change takes when it names the stuff first."""
    if not cue:
        return stuff.amount(n)
    return stuff.more(n) if gain else _of_his(stuff, n, his)


def _of_his(stuff: _Stuff, n: int, his: str) -> str:
    """'5 of her seashells', '$5 of her money', '5 cups of her flour'."""
    if stuff.things:
        return f"{n} of {his} {stuff.many}"
    if stuff.kind == "money":
        return f"{stuff.amount(n)} of {his} money"
    return f"{stuff.amount(n).removesuffix(stuff.mass)}{his} {stuff.mass}"


def _some(rng: random.Random, stuff: _Stuff, gain: bool, his: str, cue: bool) -> str:
    """An unknown amount: 'some more', 'some of her seashells', 'some'."""
    if gain:
        forms = [f"some more {stuff.mass}"] + (["some more"] if stuff.things else [])
    else:
        forms = [f"some of {his} {stuff.mass}"] if his else []
        forms += ["some of them"] if stuff.things else []
    if not cue:
        forms += [f"some {stuff.mass}"] + (["some"] if stuff.things else [])
    return rng.choice(forms)


# --------------------------------------------------------------------------- wording


def _agreeing(text: str) -> str:
    """`text` with one thing taking the singular: "there is 1 toy", "1 of them is red"."""
    text = re.sub(r"\b([Tt]here) are 1 ", r"\1 is 1 ", text)
    text = re.sub(r"\b([Tt]here) were 1 ", r"\1 was 1 ", text)
    text = re.sub(r"\b1 (of them )?are\b", r"1 \1is", text)
    return re.sub(r"\b1 (girl|boy)s\b", r"1 \1", text)


class _Wording:
    """The template fields of one problem: its people, what they count, the amounts and the
    verbs, drawn from the split's lexicon."""

    def __init__(
        self, rng: random.Random, split: str, kind: str, frame: Frame, numbers: _Numbers
    ) -> None:
        self.rng, self.split, self.frame, self.numbers = rng, split, frame, numbers
        self.lex = lexicon(split)
        self.stuff = _stuff(rng, self.lex, frame, _needed_kinds(frame))
        self.taken: set[str] = set()
        self.people = [self.new_person() for _ in range(3)]
        self.fields: dict[str, str] = {}
        self.shop = ""
        if frame.shop and self.stuff.things and rng.random() < SHOP_SHARE:
            shops = [s for s, kinds in SHOPS.items() if self.stuff.kind in kinds]
            self.shop = rng.choice(shops) if shops else ""
        self._people_fields()
        self._stuff_fields()
        self._amount_fields()
        text = frame.text
        if "box" in text or "pack" in text:
            self._container_fields()
        if "color" in text:
            self._color_fields()
        if "{y2}" in text:
            self._second_thing_fields()
        if "thing" in text or self.stuff.kind == "money":
            self._priced_fields()
        if "{day" in text:
            first = rng.randrange(len(DAYS) - 2)
            self.fields |= dict(zip(("day", "day2", "day3"), DAYS[first:], strict=False))
        if kind.startswith("change") or numbers.gains:
            self._change_fields()
        elif re.search(r"\{(did_|does_n|base_t|asked)", text):
            self._doing_fields()
        self.fields |= {
            k[0].upper() + k[1:]: v[:1].upper() + v[1:]
            for k, v in self.fields.items()
            if k[0].islower() and k[0].upper() + k[1:] not in self.fields
        }

    def text(self) -> str:
        return _agreeing(self.frame.text.format(**self.fields))

    # ----------------------------------------------------------------- people

    def new_person(self) -> Person:
        while True:
            person = self.rng.choice(self.lex.people)
            if person.name not in self.taken:
                self.taken.add(person.name)
                return person

    def _again(self, name: str, pronoun: str) -> str:
        """A later mention: the pronoun, or now and then the name again."""
        return name if self.rng.random() < NAME_AGAIN_SHARE else pronoun

    def _people_fields(self) -> None:
        for suffix, person in zip(("", "2", "3"), self.people, strict=True):
            self.fields |= {
                f"name{suffix}": person.name,
                f"he{suffix}": self._again(person.name, person.subject),
                f"He{suffix}": self._again(person.name, person.subject.capitalize()),
                f"his{suffix}": person.possessive,
                f"him{suffix}": person.object,
            }
        if self.shop:
            the_shop = f"the {self.shop}"
            self.fields |= {
                "name": with_article(self.shop),
                "he": self._again(the_shop, "it"),
                "He": self._again(the_shop, "it").capitalize(),
                "his": "its",
                "him": "it",
            }

    def _other(self, his: str) -> str:
        """Someone given to or got from: a relative (`his` sister) or another person."""
        if not self.shop and self.rng.random() < 0.5:
            return f"{his} {self.rng.choice(RELATIVES)}"
        return self.new_person().name

    # ----------------------------------------------------------------- stuff and amounts

    def _stuff_fields(self) -> None:
        rng, stuff, gain = self.rng, self.stuff, self.numbers.variant == "gain"
        self.fields |= {
            "items": stuff.many,
            "how_many": stuff.how_many(),
            "how_many_more": stuff.how_many("more"),
            "how_many_fewer": stuff.how_many("fewer"),
            "mass": stuff.mass,
            "them": "them" if stuff.things else "it",
            "now": rng.choice(("now", "in all", "now") if gain else ("now", "left", "left")),
            "at_first": rng.choice(("at first", "to begin with", "in the beginning")),
            "altogether": rng.choice(("altogether", "in all", "in total")),
        }

    def _amount_fields(self) -> None:
        for role, n in self.numbers.given.items():
            self.fields[f"{role}_n"] = str(n)
            self.fields[role] = str(n) if role == "g" else self.stuff.amount(n)
        given = self.numbers.given
        self.fields["school"] = "class" if max(given.values()) <= 40 else "school"
        if "d" in given:
            self.fields["d_more"] = self.stuff.more(given["d"])
            self.fields["d_fewer"] = self.stuff.more(given["d"], fewer=True)

    def _container_fields(self) -> None:
        """{box} (any container: "a basket", "the basket", "baskets", "a drawer") and {pack}
        (one things are bought in); small ones only for small things."""
        sizes = ("", "small ") if self.stuff.kind in SMALL else ("",)
        packages, holders = (
            [c for size in sizes for c in self.lex.containers[size + use] if c != self.stuff.one]
            for use in ("package", "holder")
        )
        box, box2 = self.rng.sample(packages + holders, 2)
        pack = self.rng.choice(packages)
        self.fields |= {
            "box": box,
            "a_box": with_article(box),
            "boxes": plural(box),
            "a_box2": with_article(box2),
            "pack": pack,
            "packs": plural(pack),
        }

    def _color_fields(self) -> None:
        names = ("color", "color2", "color3")
        colors = dict(zip(names, self.rng.sample(self.lex.colors, 3), strict=True))
        self.fields |= colors
        for role, color in zip("xyz", colors, strict=False):
            if role in self.numbers.given:
                n = self.numbers.given[role]
                noun = self.stuff.one if n == 1 else self.stuff.many
                self.fields[f"{role}_{color}"] = f"{n} {colors[color]} {noun}"

    def _second_thing_fields(self) -> None:
        """Another kind of thing (of the same kind if the split has one): {items2}, {y2}."""
        others = [n for n in self.lex.countables if n.kind in BOXED and n.plural != self.stuff.many]
        second = self.rng.choice([n for n in others if n.kind == self.stuff.kind] or others)
        self.fields |= {"items2": second.plural, "y2": second.count(self.numbers.given["y"])}

    def _priced_fields(self) -> None:
        priced = [
            n for n in self.lex.countables if n.kind in PRICED and n.plural != self.stuff.many
        ]
        first, second = self.rng.sample(priced, 2)
        self.fields |= {
            "thing": first.singular,
            "things": first.plural,
            "a_thing": with_article(first.singular),
            "thing2": second.singular,
            "a_thing2": with_article(second.singular),
        }

    # ----------------------------------------------------------------- verbs

    def _verb_fields(self, verb: VerbPhrase, his: str = "") -> dict[str, str]:
        """The words a verb phrase's own fields take: {other}, {a_thing} (`his`: the doer's
        possessive, if not the owner's)."""
        fields = {"other": self._other(his or self.fields["his"])} if "{other}" in verb.base else {}
        if "{a_thing}" in verb.base:
            fields["a_thing"] = self.fields["a_thing"]
        return fields

    def _change_fields(self) -> None:
        """Verb phrases of change problems: {did} {does} {did_full} {did_some} {does_some}
        {asked} (and {did2}, {lost_z}, {lose_z} of two steps), {got_a}, {Now_has_c}, and those
        of a container ({moves} {moved_some} {moved_full} {move})."""
        rng, stuff, fields, given = self.rng, self.stuff, self.fields, self.numbers.given
        gains = self.numbers.gains or (self.numbers.variant == "gain",)
        his = fields["his"]
        shop = bool(self.shop)
        verbs = [rng.choice(_changes(self.split, stuff.kind, gain, shop)) for gain in gains]
        verb, gain = verbs[0], gains[0]
        # After "Joan found 70 seashells", a gain says "more": "She found 5 more".
        cue = not verb.everyday or (gain and "{got_a}" in self.frame.text)
        b = given.get("b", given.get("z", 0))
        at = self._verb_fields(verb)
        fields |= {
            "did": verb.past.format(count=_changed(rng, stuff, b, gain, his, cue), **at),
            "does": verb.present.format(count=_changed(rng, stuff, b, gain, his, cue), **at),
            "did_full": verb.past.format(count=_first_changed(rng, stuff, b, gain, his, cue), **at),
            "did_some": verb.past.format(count=_some(rng, stuff, gain, his, cue), **at),
            "does_some": verb.present.format(count=_some(rng, stuff, gain, his, cue), **at),
            "asked": verb.asked.format(**at),
        }
        if len(verbs) > 1:
            second, second_gain = verbs[1], gains[1]
            count = _changed(rng, stuff, given["b2"], second_gain, his, not second.everyday)
            fields["did2"] = second.past.format(count=count, **self._verb_fields(second))
        if "z" in given:  # two people lose some together
            count = _changed(rng, stuff, given["z"], False, "their", cue)
            theirs = self._verb_fields(verb, "their")
            fields["lost_z"] = verb.past.format(count=count, **theirs)
            fields["lose_z"] = verb.base.format(count=count, **theirs)
        if "a" in given:
            everyday = [v for v in _changes(self.split, stuff.kind, True, shop) if v.everyday]
            first = rng.choice([v for v in everyday if v != verb] or everyday)
            fields["got_a"] = first.past.format(
                count=stuff.amount(given["a"]), **self._verb_fields(first)
            )
        if "c" in given:
            fields["Now_has_c"] = self._now_has(stuff.amount(given["c"]), gain)
        if "box" in self.frame.text:
            move = rng.choice(_CONTAINER_MOVES[gain])
            the_box = f"the {fields['box']}"
            fields |= {
                "moves": move.present.format(
                    count=_changed(rng, stuff, b, gain, "", False), the_box=the_box
                ),
                "moved_some": move.past.format(
                    count=_some(rng, stuff, gain, "", False), the_box=the_box
                ),
                "moved_full": move.past.format(count=stuff.amount(b), the_box=fields["a_box"]),
                "move": move.asked.format(the_box=the_box),
            }

    def _now_has(self, amount: str, gain: bool) -> str:
        """A sentence of what the owner has after the change: 'Now she has 27 seashells.'"""
        he, He = self.fields["he"], self.fields["He"]
        forms = [f"Now {he} has {amount}.", f"{He} now has {amount}.", f"{He} has {amount}."]
        forms += [f"{He} has {amount} now."] if gain else [f"{He} has {amount} left."] * 2
        return self.rng.choice(forms)

    def _doing_fields(self) -> None:
        """Verb phrases of someone doing or getting an amount (combine, compare, groups):
        {did_x} {did_y} {did_z} {did_t} {does_n} {did_d_more} {did_d_fewer} {did_same}
        {base_t} and {asked}."""
        stuff, given = self.stuff, self.numbers.given
        if stuff.kind == "activity":
            doings = [a for a in self.lex.activities if a.unit == stuff.one]
        else:
            doings = [
                c for c in _changes(self.split, stuff.kind, True, False) if "{" not in c.asked
            ]
        verb = self.rng.choice(doings)
        amounts = {f"did_{role}": stuff.amount(n) for role, n in given.items() if role != "g"}
        if "d" in given:
            amounts |= {"did_d_more": self.fields["d_more"], "did_d_fewer": self.fields["d_fewer"]}
        amounts["did_same"] = f"the same number of {stuff.many}"
        self.fields |= {field: verb.past.format(count=a) for field, a in amounts.items()}
        if "n" in given:
            self.fields["does_n"] = verb.present.format(count=stuff.amount(given["n"]))
        if "t" in given:
            self.fields["base_t"] = verb.base.format(count=stuff.amount(given["t"]))
        self.fields["asked"] = verb.asked


# --------------------------------------------------------------------------- distractors


def _distractor(
    wording: _Wording, text: str, avoid: set[int], top: int, context: bool
) -> tuple[str, bool]:
    """A sentence with a number that does not matter to the question, and whether it goes
    first (else right before the question, where it cannot come between a sentence and the
    pronoun that refers back to it). `text`: the problem, whose things the sentence leaves
    out; `context`: whether it has sentences before its question."""
    rng, stuff, name = wording.rng, wording.stuff, wording.fields["name"]
    n = rng.choice([n for n in range(2, max(top, 20) + 1) if n not in avoid])
    words = set(re.findall(r"[a-z]+", text))
    nouns = [
        noun
        for noun in wording.lex.countables
        if noun.kind in BOXED and noun.kind != stuff.kind and noun.plural.split()[-1] not in words
    ]
    noun = rng.choice(nouns)
    amount = noun.count(n)
    if not stuff.things and stuff.kind != "money" and rng.random() < 0.3:
        amount = f"${n}" if rng.random() < 0.5 else f"{n} dollars"
    forms = [
        (f"{wording.new_person().name} has {amount}.", True),
        (f"There are {noun.count(n)} {rng.choice(ELSEWHERE)}.", rng.random() < 0.5),
    ]
    if context and not wording.shop and "{name}" in wording.frame.text.lower():
        forms.append((f"{name} also has {amount}.", False))
        if 5 <= n <= 15:
            forms.append((f"{name} is {n} years old.", False))
    return rng.choice(forms)


def _asks_by_name(question: str) -> bool:
    """Whether a question names what it counts (unlike "How many are left?"), so that an
    unrelated number cannot be what it asks about."""
    return re.search(r"\b[Hh]ow (many|much) (are|is|were|do|does|did)\b", question) is None


# --------------------------------------------------------------------------- examples


@cache
def _frames(kind: str, variant: str, heldout: bool) -> tuple[Frame, ...]:
    return tuple(
        f
        for f in FRAMES[kind]
        if f.heldout == heldout and (not f.variants or variant in f.variants)
    )


def _frame(rng: random.Random, split: str, kind: str, variant: str) -> Frame:
    """A phrasing for `split`: training phrasings only in train, half held-out elsewhere."""
    share = 1.0 if kind.startswith("groups") else HELDOUT_SHARE  # see `_QUESTIONS`
    heldout = split != "train" and rng.random() < share and _frames(kind, variant, True)
    return rng.choice(_frames(kind, variant, bool(heldout)))


def _admits(split: str, kind: str, numbers: _Numbers) -> bool:
    """Whether these numbers belong to `split`: the seed prompts' pairs only in test; the
    equal groups (the multiplication table) in every split; the others by key."""
    if is_reserved(tuple(numbers.given.values())):
        return split == "test"
    return kind.startswith("groups") or split_of_key(numbers.key(kind)) == split


def _reserved_partners(numbers: set[int]) -> set[int]:
    """The numbers that would make a seed prompt's pair with one of `numbers`."""
    return {q for a, b in RESERVED_NUMBER_PAIRS for p, q in ((a, b), (b, a)) if p in numbers}


_SENTENCE_END = re.compile(r"(?<=[.?]) (?=[A-Z0-9$])")


def _prompt(rng: random.Random, sentences: list[str]) -> str:
    """Context then "Q: <question> A:", or all of it after "Q:"."""
    *context, question = sentences
    if not context or rng.random() < ONE_QUESTION_SHARE:
        return f"Q: {' '.join(sentences)} A:"
    return f"{' '.join(context)} Q: {question} A:"


def word_problem_example(
    rng: random.Random, split: str, difficulty: float, kind: str | None = None
) -> Example:
    """One word problem of `split` (of `kind`, or of a kind drawn by `KIND_WEIGHTS`).

    `difficulty` in [0, 1]: a problem is hard (numbers up to 100, now and then 999) with
    probability 0.8 * difficulty, else its numbers stay within 20.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty}")
    if kind is not None and kind not in FRAMES:
        raise ValueError(f"unknown word problem kind {kind!r}; choose one of: {', '.join(KINDS)}")
    return _example(rng, split, rng.random() < HARD_SHARE * difficulty, kind)


def _example(rng: random.Random, split: str, hard: bool, kind: str | None = None) -> Example:
    if kind is None:
        kind = rng.choices(KINDS, weights=tuple(KIND_WEIGHTS.values()))[0]
    for _ in range(_MAX_TRIES):
        numbers = _numbers(kind, rng, hard)
        if _admits(split, kind, numbers):
            break
    else:
        raise RuntimeError(f"no {kind} problem found for split {split!r}")
    frame = _frame(rng, split, kind, numbers.variant)
    wording = _Wording(rng, split, kind, frame, numbers)
    sentences = _SENTENCE_END.split(wording.text())
    if rng.random() < DISTRACTOR_SHARE and _asks_by_name(sentences[-1]):
        known = {*numbers.given.values(), numbers.answer}
        avoid = known if split == "test" else known | _reserved_partners(known)
        text = " ".join(sentences)
        sentence, first = _distractor(wording, text, avoid, max(known), len(sentences) > 1)
        sentences.insert(0 if first else len(sentences) - 1, sentence)
    return Example(
        prompt=_prompt(rng, sentences),
        answer=str(numbers.answer),
        family=NAME,
        template=f"{GROUP}.{kind}.{frame.id}",
        key=numbers.key(kind),
    )


def _generate(draw: Draw) -> Example:
    return _example(draw.rng, draw.split, draw.hard)


# The registry's view of the phrasings: one question group per kind. The equal groups' numbers
# are the multiplication table, in every split: their examples differ by words only.
_QUESTIONS = tuple(
    Questions(
        f"{GROUP}.{kind}",
        *(Template(f"{GROUP}.{kind}.{f.id}", f"Q: {f.text} A:", heldout=f.heldout) for f in frames),
        template_only=kind.startswith("groups"),
    )
    for kind, frames in FRAMES.items()
)
FAMILY = Family(NAME, _generate, questions=_QUESTIONS, reads_context=True)
