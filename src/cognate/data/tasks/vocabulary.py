"""Word pools the task families draw from: real names, places, objects, animals and items, and
made-up names built from syllables, split like example keys (see `splits`).

Real words are shared by every split (questions about them are split by key or by template);
made-up names belong to one split each, so a name seen in training never appears in test.
"""

from __future__ import annotations

import itertools
import random
from functools import cache

from cognate.data.tasks.splits import SPLITS, split_of_key

CAPITALS: tuple[tuple[str, str], ...] = (
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
COLORS = (
    "red", "blue", "green", "yellow", "orange", "purple", "pink", "brown", "black", "white",
    "gray", "gold",
)  # fmt: skip
# Real objects as they appear in a sentence: with an article or, for mass nouns, without.
OBJECTS = (
    "the sky", "grass", "the car", "the ball", "the house", "the door", "the hat", "the shirt",
    "the cup", "the book", "the kite", "the bike", "the box", "the chair", "the lamp",
    "the flower", "the leaf", "snow", "sand", "the boat", "the bag", "the pen", "the fence",
    "the wall",
)  # fmt: skip
ANIMALS = (
    "dog", "cat", "horse", "parrot", "rabbit", "goat", "hamster", "turtle", "owl", "pony",
    "snake", "lizard", "duck", "pig", "cow", "sheep", "fox", "frog", "mouse", "eagle",
    "goldfish", "donkey",
)  # fmt: skip
MALE = (
    "John", "Tom", "Sam", "Ben", "Jack", "Leo", "Max", "Paul", "Mark", "Omar", "Ravi", "Ivan",
    "Carlos", "Noah", "Luke",
)  # fmt: skip
FEMALE = (
    "Mary", "Sara", "Anna", "Emma", "Lily", "Mia", "Zoe", "Lucy", "Nina", "Rosa", "Aisha",
    "Grace", "Chloe", "Julia", "Eva",
)  # fmt: skip
PEOPLE = MALE + FEMALE
# (singular, plural) item names.
STORE_ITEMS = (
    ("apple", "apples"), ("orange", "oranges"), ("pear", "pears"), ("banana", "bananas"),
    ("lemon", "lemons"), ("book", "books"), ("pen", "pens"), ("toy", "toys"),
    ("shirt", "shirts"), ("hat", "hats"), ("cup", "cups"), ("ball", "balls"),
)  # fmt: skip
BAKED_ITEMS = (
    ("cookie", "cookies"), ("cake", "cakes"), ("muffin", "muffins"), ("pie", "pies"),
    ("cupcake", "cupcakes"), ("bagel", "bagels"), ("roll", "rolls"),
)  # fmt: skip
MARKET_ITEMS = (
    ("melon", "melons"), ("peach", "peaches"), ("potato", "potatoes"), ("tomato", "tomatoes"),
    ("onion", "onions"), ("plum", "plums"),
)  # fmt: skip
COUNTABLE_ITEMS = (
    ("pencil", "pencils"), ("candy", "candies"), ("sticker", "stickers"), ("marble", "marbles"),
    ("card", "cards"), ("crayon", "crayons"), ("shell", "shells"), ("stamp", "stamps"),
    ("cookie", "cookies"), ("grape", "grapes"),
)  # fmt: skip
# Running totals: items one eats, and items one loses.
EDIBLE = (
    ("apple", "apples"), ("orange", "oranges"), ("cookie", "cookies"), ("candy", "candies"),
    ("plum", "plums"), ("carrot", "carrots"),
)  # fmt: skip
INEDIBLE = (
    ("book", "books"), ("coin", "coins"), ("marble", "marbles"), ("pencil", "pencils"),
    ("sticker", "stickers"), ("card", "cards"), ("shell", "shells"), ("toy", "toys"),
)  # fmt: skip
# Items by the setting a word problem's wording suits (a template's `items`).
ITEM_POOLS: dict[str, tuple[tuple[str, str], ...]] = {
    "store": STORE_ITEMS,
    "baked": BAKED_ITEMS,
    "market": MARKET_ITEMS,
    "countable": COUNTABLE_ITEMS,
}
VEHICLES = ("train", "car", "bus", "cyclist", "truck", "boat", "runner", "horse rider")
UNITS = ("miles", "kilometers")

# Made-up names: 2-3 of these syllables, capitalised ("Vorbelka"): ~65,000 names.
SYLLABLES: tuple[str, ...] = (
    "ka", "vor", "bel", "tis", "mun", "ra", "lo", "mi", "den", "sa", "tor", "ne", "vi", "gar",
    "lu", "pem", "zo", "rin", "fa", "kel", "do", "mar", "shi", "ten", "bo", "lis", "qua", "nar",
    "el", "ul", "fen", "dri", "so", "pa", "jun", "hal", "ve", "tu", "ris", "go",
)  # fmt: skip


@cache
def _name_pools() -> dict[str, tuple[str, ...]]:
    real = {w.lower() for pair in CAPITALS for w in pair}
    real |= {w.lower() for w in PEOPLE + COLORS + ANIMALS}
    real |= {o.removeprefix("the ") for o in OBJECTS}
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


def person(rng: random.Random) -> dict[str, str]:
    """A real first name with its pronouns: the fields `name`, `he`, `He` and `him`."""
    name = rng.choice(PEOPLE)
    he, him = ("he", "him") if name in MALE else ("she", "her")
    return {"name": name, "he": he, "He": he.capitalize(), "him": him}
