"""An open vocabulary with lexical splits: people, places, objects, foods, animals, verbs.

First names come from Faker's name lists of every locale it ships (thousands, each with the
gender its list gives it, for "she" and "he"). The other pools are common English words
grouped by what a sentence can do with them (a place can be gone to, an object picked up, an
item counted): no package groups words that way. (`inflect` would give plurals, but importing
it takes seconds; the irregular plurals of these lists are in `IRREGULAR_PLURALS`.)

Every word belongs to one split by a stable hash (`split_of_word`, about 80% train, 10%
validation, 10% test); the verb phrases of each kind, being few, are ranked by that hash and
the first tenth of them go to test, the next to validation. An example of a split uses only
its split's words: the test split's names, places, objects and verbs never occur in
training, so a model that scores well on it reads and copies words rather than remembering
them.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import faker.providers.person

SPLIT_BUCKETS = {"train": 80, "validation": 90, "test": 100}  # cumulative share of 100
_SALT = "lexicon"  # keeps word splits independent of example-key splits


def _hash(word: str) -> int:
    digest = hashlib.blake2b(f"{_SALT}:{word.lower()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def split_of_word(word: str) -> str:
    """The split a word belongs to, by a stable hash."""
    bucket = _hash(word) % 100
    return next(split for split, upper in SPLIT_BUCKETS.items() if bucket < upper)


def _phrases_of(split: str, phrases: Sequence[str]) -> tuple[str, ...]:
    """A small pool's share of `split`: at least one phrase each for test and validation."""
    ranked = sorted(phrases, key=_hash)
    held = max(1, len(phrases) // 10)
    shares = {"test": ranked[:held], "validation": ranked[held : 2 * held]}
    chosen = set(shares.get(split, ranked[2 * held :]))
    return tuple(p for p in phrases if p in chosen)


@dataclass(frozen=True)
class Person:
    name: str
    female: bool

    @property
    def subject(self) -> str:  # she / he
        return "she" if self.female else "he"

    @property
    def object(self) -> str:  # her / him
        return "her" if self.female else "him"

    @property
    def possessive(self) -> str:  # her / his
        return "her" if self.female else "his"


@dataclass(frozen=True)
class Noun:
    singular: str
    plural: str

    def count(self, n: int) -> str:
        """'1 apple', '3 apples'."""
        return f"{n} {self.singular if n == 1 else self.plural}"


# Places one is *in* ("Mary is in the kitchen."): none that takes "on" or "at" instead
# (beach, island, bus stop, porch).
PLACES = (
    "kitchen", "bathroom", "bedroom", "hallway", "garden", "office", "living room",
    "dining room", "garage", "cellar", "attic", "basement", "pantry", "library", "study",
    "nursery", "laundry room", "playroom", "classroom", "gym", "park", "school", "cinema",
    "theater", "museum", "bakery", "market", "supermarket", "bank", "hospital", "pharmacy",
    "post office", "station", "airport", "harbor", "forest", "meadow", "orchard", "barn",
    "stable", "shed", "greenhouse", "workshop", "studio", "lobby", "corridor", "courtyard",
    "yard", "backyard", "cafe", "restaurant", "hotel", "church", "chapel", "castle", "tower",
    "lighthouse", "village", "square", "tunnel", "valley", "pool", "zoo", "stadium", "arena",
    "factory", "warehouse", "laboratory", "clinic", "bookshop", "toy shop", "train station",
    "playground", "field", "desert", "cave", "camp", "tent", "cabin", "cottage", "palace",
    "prison", "court", "garden shed", "boathouse", "gallery", "office block", "canteen",
    "dormitory", "bar", "salon", "lounge", "den", "loft", "sunroom", "conservatory",
    "cloakroom", "storeroom", "boiler room", "wine cellar", "staff room", "waiting room",
    "meeting room", "ballroom", "music room", "art room", "common room", "locker room",
    "guest room", "spare room", "utility room", "foyer", "hall", "town hall", "concert hall",
    "auditorium", "planetarium", "aquarium", "observatory", "temple", "cathedral",
    "monastery", "police station", "fire station", "shopping mall", "department store",
    "grocery store", "hardware store", "flower shop", "pet shop", "barber shop",
    "coffee shop", "gift shop", "diner", "cafeteria", "pizzeria", "bistro", "woods",
    "jungle", "swamp", "maze", "courtroom", "lecture hall", "windmill", "mill", "hut",
    "lodge", "chalet", "villa", "mansion", "apartment", "bungalow", "farmhouse", "treehouse",
    "summer house", "pavilion", "hangar", "depot", "car park", "stairwell", "vault",
    "bunker", "dungeon", "armory", "henhouse", "closet", "larder", "mudroom", "arcade",
    "bowling alley", "swimming pool", "sauna", "spa", "circus", "theme park", "aviary",
    "hostel", "motel", "inn", "guesthouse", "forge", "brewery", "bakehouse", "dairy",
    "shipyard", "newsroom", "print shop", "ticket office", "boardroom", "mailroom",
)  # fmt: skip

# Singular nouns: a story asks "Where is the {object}?".
OBJECTS = (
    "football", "apple", "milk", "book", "key", "ball", "umbrella", "hat", "bag", "box",
    "lamp", "cup", "bottle", "pen", "pencil", "notebook", "phone", "wallet", "watch", "ring",
    "scarf", "glove", "shoe", "sock", "coat", "jacket", "blanket", "pillow", "towel", "brush",
    "comb", "mirror", "candle", "clock", "radio", "camera", "guitar", "violin", "drum",
    "flute", "kite", "doll", "puzzle", "map", "letter", "parcel", "basket", "bucket", "rope",
    "hammer", "wrench", "shovel", "rake", "ladder", "torch", "flashlight", "compass",
    "telescope", "magnet", "coin", "stamp", "ticket", "card", "envelope", "newspaper",
    "magazine", "diary", "folder", "stapler", "ruler", "eraser", "crayon", "paintbrush",
    "bowl", "plate", "spoon", "fork", "knife", "kettle", "teapot", "jar", "vase", "banana",
    "orange", "pear", "lemon", "melon", "sandwich", "cake", "cookie", "loaf", "cheese",
    "egg", "potato", "carrot", "onion", "tomato", "helmet", "backpack", "suitcase", "laptop",
    "tablet", "keyboard", "mouse", "charger", "battery", "remote", "trophy",
    "medal", "flag", "balloon", "whistle", "bell", "rock", "shell", "feather", "leaf",
    "pinecone", "acorn", "stick", "marble", "button", "needle", "thread", "ribbon", "sponge",
    "soap", "toothbrush", "belt", "tie", "necklace", "bracelet", "badge", "crown", "sword",
    "shield", "skateboard", "racket", "bat", "frisbee", "yoyo", "teddy bear", "water bottle",
)  # fmt: skip

FOODS = (
    "apple", "banana", "orange", "pear", "peach", "plum", "cherry", "grape", "strawberry",
    "lemon", "mango", "melon", "kiwi", "apricot", "cookie", "cupcake", "muffin", "pie",
    "cake", "donut", "brownie", "pancake", "waffle", "sandwich", "burger", "taco", "pizza",
    "carrot", "potato", "tomato", "onion", "cucumber", "pepper", "egg", "bagel", "pretzel",
    "cracker", "candy", "lollipop", "chocolate bar", "biscuit", "scone", "croissant", "roll",
    "walnut", "peanut", "almond", "olive", "radish", "beet", "turnip", "pumpkin", "squash",
    "sausage", "meatball", "dumpling", "noodle", "cherry tomato", "grapefruit", "lime",
)  # fmt: skip

ANIMALS = (
    "cat", "dog", "rabbit", "hamster", "parrot", "goldfish", "turtle", "horse", "cow", "pig",
    "sheep", "goat", "chicken", "duck", "goose", "donkey", "mouse", "rat", "frog", "lizard",
    "snake", "owl", "eagle", "hawk", "sparrow", "pigeon", "swan", "penguin", "seal", "whale",
    "dolphin", "shark", "octopus", "crab", "lobster", "bee", "ant", "butterfly", "spider",
    "snail", "fox", "wolf", "bear", "deer", "moose", "lion", "tiger", "leopard", "zebra",
    "giraffe", "elephant", "monkey", "gorilla", "kangaroo", "koala", "panda", "camel",
    "hedgehog", "squirrel", "beaver", "otter", "badger", "raccoon", "bat", "puppy", "kitten",
    "pony", "lamb", "calf", "piglet", "chick", "duckling", "canary", "ferret", "guinea pig",
)  # fmt: skip

# Things that are counted in word problems: small objects people collect, make, buy or lose.
COUNTABLES = (
    "seashell", "marble", "sticker", "stamp", "coin", "card", "pencil", "crayon", "marker",
    "eraser", "book", "comic", "magazine", "balloon", "flower", "rose", "tulip", "daisy",
    "leaf", "rock", "pebble", "feather", "button", "bead", "ribbon", "candle", "toy car",
    "doll", "puzzle", "kite", "ball", "tennis ball", "golf ball", "ticket", "postcard",
    "photo", "picture", "drawing", "poster", "shirt", "sock", "hat", "glove", "bracelet",
    "necklace", "ring", "cup", "plate", "bowl", "spoon", "fork", "bottle", "jar", "box",
    "bag", "basket", "tree", "plant", "seed", "egg", "nail", "screw", "brick", "tile",
    "block", "game", "song", "page", "letter", "email", "chair", "table", "lamp", "pillow",
    "towel", "blanket", "orange", "peach", "plum", "cherry", "grape", "strawberry", "cookie",
    "cupcake", "muffin", "pie", "donut", "brownie", "pancake", "sandwich", "apple", "banana",
    "carrot", "potato", "tomato", "pumpkin", "candy", "lollipop", "cracker", "walnut",
    "peanut", "acorn", "shell", "fish", "worm", "bug", "butterfly", "bird", "chicken",
    "duck", "rabbit", "puppy", "kitten", "cow", "sheep", "goat", "horse", "pig", "goose",
    "toy", "bike", "skateboard", "note", "envelope", "apple pie", "paper clip", "trading card",
)  # fmt: skip

# Verb phrases of the small world's stories, by what they do; "{place}", "{object}",
# "{receiver}" are filled in. Each phrase has its split, like a word. A story uses a phrase
# with "back" (or "returned") only for a place the person has been in, and one ending in
# "there" only for a person whose place it has told.
VERBS: dict[str, tuple[str, ...]] = {
    "move": (
        "went to the {place}",
        "moved to the {place}",
        "journeyed to the {place}",
        "travelled to the {place}",
        "went back to the {place}",
        "walked to the {place}",
        "ran to the {place}",
        "headed to the {place}",
        "hurried to the {place}",
        "wandered into the {place}",
        "returned to the {place}",
        "strolled into the {place}",
        "rushed to the {place}",
        "stepped into the {place}",
        "drove to the {place}",
        "came to the {place}",
        "made it to the {place}",
        "marched to the {place}",
        "crept into the {place}",
        "slipped into the {place}",
        "dashed to the {place}",
        "wandered over to the {place}",
        "sprinted to the {place}",
        "walked into the {place}",
        "got to the {place}",
        "arrived at the {place}",
        "went over to the {place}",
        "traveled to the {place}",
        "jogged to the {place}",
        "moved into the {place}",
        "went into the {place}",
        "headed over to the {place}",
        "headed into the {place}",
        "ran into the {place}",
        "hurried into the {place}",
        "popped into the {place}",
        "went off to the {place}",
        "went down to the {place}",
        "went up to the {place}",
        "raced to the {place}",
        "hiked to the {place}",
        "tiptoed into the {place}",
        "skipped to the {place}",
        "shuffled into the {place}",
        "ambled over to the {place}",
        "cycled to the {place}",
        "rode to the {place}",
        "entered the {place}",
        "went inside the {place}",
        "came back to the {place}",
        "headed back to the {place}",
        "proceeded to the {place}",
        "relocated to the {place}",
        "bolted to the {place}",
    ),
    "take": (
        "picked up the {object}",
        "grabbed the {object}",
        "took the {object}",
        "got the {object}",
        "collected the {object}",
        "lifted the {object}",
        "fetched the {object}",
        "snatched the {object}",
        "picked the {object} up",
        "took hold of the {object}",
        "seized the {object}",
        "scooped up the {object}",
        "took the {object} there",
        "got the {object} there",
        "grabbed the {object} there",
        "gathered up the {object}",
        "carried off the {object}",
        "reached for the {object}",
        "grabbed hold of the {object}",
        "got hold of the {object}",
        "retrieved the {object}",
        "obtained the {object}",
        "acquired the {object}",
        "lifted up the {object}",
        "picked up the {object} there",
        "claimed the {object}",
    ),
    "drop": (
        "dropped the {object}",
        "put down the {object}",
        "left the {object}",
        "discarded the {object}",
        "set down the {object}",
        "put the {object} down",
        "let go of the {object}",
        "dropped the {object} there",
        "left the {object} there",
        "abandoned the {object}",
        "laid down the {object}",
        "placed the {object} on the floor",
        "got rid of the {object}",
        "put the {object} away",
        "threw down the {object}",
        "set the {object} down",
        "left the {object} behind",
        "laid the {object} down",
        "dumped the {object}",
        "deposited the {object}",
        "put down the {object} there",
        "dropped off the {object}",
    ),
    "give": (
        "gave the {object} to {receiver}",
        "handed the {object} to {receiver}",
        "passed the {object} to {receiver}",
        "gave {receiver} the {object}",
        "handed {receiver} the {object}",
        "passed {receiver} the {object}",
        "tossed the {object} to {receiver}",
        "offered the {object} to {receiver}",
        "lent the {object} to {receiver}",
        "threw the {object} to {receiver}",
        "sent the {object} to {receiver}",
        "delivered the {object} to {receiver}",
        "handed over the {object} to {receiver}",
        "presented the {object} to {receiver}",
        "presented {receiver} with the {object}",
        "passed the {object} over to {receiver}",
        "brought the {object} to {receiver}",
        "brought {receiver} the {object}",
        "slipped the {object} to {receiver}",
        "handed the {object} over to {receiver}",
    ),
}


def _words_of(split: str, words: Sequence[str]) -> tuple[str, ...]:
    return tuple(w for w in words if split_of_word(w) == split)


IRREGULAR_PLURALS = {
    "mouse": "mice", "goose": "geese", "sheep": "sheep", "fish": "fish", "deer": "deer",
    "moose": "moose", "leaf": "leaves", "knife": "knives", "loaf": "loaves", "wolf": "wolves",
    "calf": "calves", "scarf": "scarves", "potato": "potatoes", "tomato": "tomatoes",
    "cherry tomato": "cherry tomatoes", "mango": "mangoes", "goldfish": "goldfish",
}  # fmt: skip


def plural(noun: str) -> str:
    """The plural of a noun of these lists ('box' -> 'boxes', 'cherry' -> 'cherries')."""
    head, _, last = noun.rpartition(" ")
    if last in IRREGULAR_PLURALS:
        word = IRREGULAR_PLURALS[last]
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        word = last + "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def with_article(noun: str) -> str:
    """'an apple', 'a book'."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


@cache
def _all_people() -> tuple[Person, ...]:
    """Faker's first names of every locale: letters only (ASCII), 3-10 long, one gender."""
    genders: dict[str, set[bool]] = {}
    for module in pkgutil.iter_modules(faker.providers.person.__path__):
        provider = importlib.import_module(f"faker.providers.person.{module.name}").Provider
        for attribute, female in (("first_names_male", False), ("first_names_female", True)):
            for name in getattr(provider, attribute, ()):
                if name.isascii() and name.isalpha() and 3 <= len(name) <= 10 and name.istitle():
                    genders.setdefault(name, set()).add(female)
    return tuple(Person(n, g.pop()) for n, g in sorted(genders.items()) if len(g) == 1)


@dataclass(frozen=True)
class Lexicon:
    """The words one split may use."""

    people: tuple[Person, ...]
    places: tuple[str, ...]
    objects: tuple[str, ...]
    foods: tuple[str, ...]
    animals: tuple[str, ...]
    countables: tuple[Noun, ...]
    verbs: dict[str, tuple[str, ...]]


@cache
def lexicon(split: str) -> Lexicon:
    """The names, nouns and verb phrases of `split` (train, validation or test)."""
    if split not in SPLIT_BUCKETS:
        raise ValueError(f"unknown split {split!r}; choose one of: {', '.join(SPLIT_BUCKETS)}")
    return Lexicon(
        people=tuple(p for p in _all_people() if split_of_word(p.name) == split),
        places=_words_of(split, PLACES),
        objects=_words_of(split, OBJECTS),
        foods=_words_of(split, FOODS),
        animals=_words_of(split, ANIMALS),
        countables=tuple(Noun(w, plural(w)) for w in _words_of(split, COUNTABLES)),
        verbs={kind: _phrases_of(split, phrases) for kind, phrases in VERBS.items()},
    )
