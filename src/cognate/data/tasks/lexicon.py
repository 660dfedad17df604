"""An open vocabulary with lexical splits: people, places, objects, foods, animals, verbs.

First names come from Faker's name lists of every locale it ships (thousands, each with the
gender its list gives it, for "she" and "he"). The other pools are common English words
grouped by what a sentence can do with them (a place can be gone to, an object picked up, an
item counted): no package groups words that way. (`inflect` would give plurals, but importing
it takes seconds; the irregular plurals of these lists are in `IRREGULAR_PLURALS`.)

Every word belongs to one split by a stable hash (`split_of_word`, about 80% train, 10%
validation, 10% test); the verb phrases of each kind, being few, are ranked by that hash and
the first tenth of them go to test, the next to validation (so do the word problems' verbs
of change, except the everyday ones, and activities). An example of a split uses only its
split's words: the test split's names, places, objects and verbs never occur in training, so
a model that scores well on it reads and copies words rather than remembering them.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

import faker.providers.person

SPLIT_BUCKETS = {"train": 80, "validation": 90, "test": 100}  # cumulative share of 100
_T = TypeVar("_T")
_SALT = "lexicon"  # keeps word splits independent of example-key splits


def _hash(word: str) -> int:
    digest = hashlib.blake2b(f"{_SALT}:{word.lower()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def split_of_word(word: str) -> str:
    """The split a word belongs to, by a stable hash."""
    bucket = _hash(word) % 100
    return next(split for split, upper in SPLIT_BUCKETS.items() if bucket < upper)


def _phrases_of(
    split: str, phrases: Sequence[_T], name: Callable[[_T], str] = str
) -> tuple[_T, ...]:
    """A small pool's share of `split`, by `name`: at least one each for test and validation."""
    ranked = sorted(phrases, key=lambda p: _hash(name(p)))
    held = max(1, len(phrases) // 10)
    shares = {"test": ranked[:held], "validation": ranked[held : 2 * held]}
    chosen = {name(p) for p in shares.get(split, ranked[2 * held :])}
    return tuple(p for p in phrases if name(p) in chosen)


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
    kind: str = ""  # countables: their kind in COUNTABLES

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

# Things counted in word problems, by kind: the kind decides which verbs fit them ("ate" fits
# food, "broke" dishes). A word that is part of another (as "ball" of "tennis ball") is left
# out, so that a word's split is also that of every phrase it occurs in.
COUNTABLES: dict[str, tuple[str, ...]] = {
    "collectible": (
        "seashell", "marble", "sticker", "stamp", "coin", "card", "rock", "pebble", "feather",
        "button", "bead", "acorn", "pinecone", "comic", "badge", "key chain", "magnet", "shell",
        "gem", "crystal", "fossil", "medal", "token", "charm", "pin", "souvenir", "stone",
    ),
    "school": (
        "pencil", "crayon", "marker", "eraser", "notebook", "ruler", "pen", "folder", "glue stick",
        "highlighter", "sharpener", "binder", "calculator", "protractor", "stapler", "workbook",
        "paintbrush",
    ),
    "fruit": (
        "apple", "orange", "peach", "plum", "banana", "cherry", "strawberry", "pear", "lemon",
        "mango", "apricot", "kiwi", "lime", "grapefruit", "melon", "tangerine", "nectarine",
        "pineapple", "coconut", "avocado", "fig", "papaya", "pomegranate", "blueberry", "raspberry",
        "watermelon", "clementine", "guava",
    ),
    "vegetable": (
        "carrot", "potato", "tomato", "pumpkin", "cucumber", "onion", "radish", "beet", "turnip",
        "zucchini", "eggplant", "pepper", "cabbage", "artichoke", "leek", "yam", "parsnip",
        "cauliflower",
    ),
    "baked": (
        "cookie", "cupcake", "muffin", "pie", "donut", "brownie", "pancake", "bagel", "pretzel",
        "biscuit", "scone", "croissant", "roll", "waffle", "cracker", "bun", "tart", "macaron",
        "eclair", "baguette", "crumpet", "cake",
    ),
    "sweet": (
        "candy", "lollipop", "chocolate bar", "gumdrop", "jelly bean", "mint", "toffee",
        "peppermint", "marshmallow", "caramel", "truffle", "bonbon", "gummy bear",
    ),
    "flower": (
        "flower", "rose", "tulip", "daisy", "sunflower", "lily", "daffodil", "carnation", "orchid",
        "poppy", "marigold", "peony", "lilac", "zinnia", "aster", "bluebell", "pansy", "petunia",
        "hyacinth", "crocus",
    ),
    "dish": (
        "plate", "bowl", "glass", "mug", "vase", "teacup", "saucer", "dish", "pitcher", "spoon",
        "fork", "knife", "platter", "tumbler", "goblet", "ladle", "kettle", "teapot",
    ),
    "toy": (
        "toy", "doll", "puzzle", "kite", "ball", "balloon", "yoyo", "robot", "game",
        "action figure", "spinning top", "race car", "whistle", "teddy bear", "rattle",
        "kaleidoscope", "frisbee", "pinwheel", "puppet", "drum", "xylophone",
    ),
    "book": (
        "book", "magazine", "storybook", "novel", "atlas", "cookbook", "diary", "journal",
        "dictionary", "encyclopedia", "textbook", "almanac",
    ),
    "clothing": (
        "shirt", "sock", "hat", "glove", "scarf", "mitten", "sweater", "cap", "tie", "belt",
        "skirt", "dress", "jacket", "vest", "boot", "sandal", "shoe", "coat", "apron",
    ),
    "craft": (
        "bracelet", "necklace", "bookmark", "paper plane", "flowerpot", "keyring", "paper crane",
        "pot holder", "wreath", "quilt", "mask", "ornament",
    ),
    "picture": (
        "drawing", "painting", "picture", "poster", "sketch", "photo", "collage", "portrait",
        "print", "watercolor",
    ),
    "animal": (
        "chicken", "duck", "rabbit", "cow", "sheep", "goat", "horse", "pig", "goose", "goldfish",
        "hen", "turkey", "hamster", "lamb", "chick", "pony", "calf", "donkey", "llama", "alpaca",
        "parakeet", "canary", "ferret", "kitten", "puppy", "turtle", "gerbil",
    ),
    "supply": (
        "nail", "screw", "envelope", "candle", "battery", "napkin", "paper clip", "tile", "staple",
        "thumbtack", "rubber band", "sponge", "bolt", "tissue", "matchstick",
    ),
    "mail": (
        "postcard", "letter", "invitation", "thank-you note", "parcel", "flyer", "brochure",
        "newsletter", "coupon",
    ),
    "plant": (
        "seed", "bulb", "seedling", "sapling", "cutting", "sprout", "shrub", "cactus", "fern",
    ),
}  # fmt: skip

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


@dataclass(frozen=True)
class VerbPhrase:
    """A verb phrase in the forms a word problem needs, each with "{count}" where the amount
    goes (and perhaps "{other}", a person, or "{a_thing}"): past, 3rd person present, base."""

    past: str  # "gave {count} to {other}"
    present: str  # "gives {count} to {other}"
    base: str  # "give {count} to {other}"

    @classmethod
    def of(cls, forms: str) -> VerbPhrase:
        """From "gave/gives/give {count} to {other}": the verb's three forms, then the rest."""
        verbs, _, rest = forms.partition(" ")
        past, present, base = verbs.split("/")
        return cls(f"{past} {rest}", f"{present} {rest}", f"{base} {rest}")

    @property
    def asked(self) -> str:
        """The base form without the amount (nor a "for" left before it), for "How many ...
        did she <asked>?": "give to {other}", "practice the piano"."""
        return " ".join(self.base.replace("for {count}", "").replace("{count}", "").split())


@dataclass(frozen=True)
class Change(VerbPhrase):
    """A verb phrase that changes how much someone has (word problems)."""

    gain: bool = True
    suits: tuple[str, ...] = ()  # kinds of COUNTABLES, "money" or "material"
    everyday: bool = False  # in every split (see `CHANGES`)


@dataclass(frozen=True)
class Activity(VerbPhrase):
    """Something done in amounts of a unit: "read {count}" pages, "swam {count}" laps."""

    unit: str = ""  # singular: "page"


_COUNTED = tuple(COUNTABLES)  # every kind of countable thing


def _change(forms: str, gain: bool, suits: str, everyday: bool = False) -> Change:
    kinds = tuple(k for word in suits.split() for k in (_COUNTED if word == "any" else (word,)))
    return Change(**vars(VerbPhrase.of(forms)), gain=gain, suits=kinds, everyday=everyday)


# Verbs of gaining and losing. The everyday ones (the verbs of school books: found, bought,
# gave, lost, ate, sold, ...) are in every split, like "has" and "more": a model that never
# saw a verb cannot know whether it adds or takes away. The others are split like words, and a
# problem using one of them also says "more" (a gain) or "of them" (a loss).
CHANGES: tuple[Change, ...] = (
    _change("found/finds/find {count}", True, "collectible school toy clothing supply money", True),
    _change("bought/buys/buy {count}", True, "any material", True),
    _change("got/gets/get {count}", True, "any money material", True),
    _change("got/gets/get {count} from {other}", True, "any money material", True),
    _change("received/receives/receive {count}", True, "any money", True),
    _change("picked/picks/pick {count}", True, "fruit vegetable flower", True),
    _change("baked/bakes/bake {count}", True, "baked", True),
    _change("made/makes/make {count}", True, "baked craft picture", True),
    _change("collected/collects/collect {count}", True, "collectible supply plant", True),
    _change("won/wins/win {count}", True, "collectible toy money", True),
    _change("earned/earns/earn {count}", True, "money", True),
    _change("gathered/gathers/gather {count}", True, "collectible flower plant"),
    _change("purchased/purchases/purchase {count}", True, "any material"),
    _change("picked/picks/pick up {count}", True, "collectible school toy money supply"),
    _change("came/comes/come across {count}", True, "collectible money"),
    _change("saved/saves/save {count}", True, "money"),
    _change("grew/grows/grow {count}", True, "fruit vegetable flower"),
    _change("knitted/knits/knit {count}", True, "clothing"),
    _change("painted/paints/paint {count}", True, "picture"),
    _change("ordered/orders/order {count}", True, "any material"),
    _change("harvested/harvests/harvest {count}", True, "fruit vegetable"),
    _change("borrowed/borrows/borrow {count}", True, "book"),
    _change("gave/gives/give away {count}", False, "any money", True),
    _change("gave/gives/give {count} to {other}", False, "any money material", True),
    _change("gave/gives/give {other} {count}", False, "any money", True),
    _change("lost/loses/lose {count}", False, "collectible school toy clothing book supply money",
            True),
    _change("ate/eats/eat {count}", False, "fruit vegetable baked sweet", True),
    _change("sold/sells/sell {count}", False, "any material", True),
    _change("spent/spends/spend {count} on {a_thing}", False, "money", True),
    _change("used/uses/use {count}", False, "supply material", True),
    _change("broke/breaks/break {count}", False, "dish", True),
    _change("donated/donates/donate {count}", False, "book toy clothing money"),
    _change("misplaced/misplaces/misplace {count}", False,
            "collectible school toy clothing book money"),
    _change("handed/hands/hand out {count}", False, "baked sweet school supply craft"),
    _change("threw/throws/throw away {count}", False, "collectible school toy clothing"),
    _change("traded/trades/trade away {count}", False, "collectible toy"),
    _change("dropped/drops/drop {count}", False, "dish fruit"),
    _change("mailed/mails/mail {count}", False, "mail"),
    _change("sent/sends/send {count} to {other}", False, "mail money"),
    _change("planted/plants/plant {count}", False, "plant"),
    _change("paid/pays/pay {count} for {a_thing}", False, "money"),
    _change("used/uses/use up {count}", False, "supply material"),
    _change("returned/returns/return {count} to the library", False, "book"),
)  # fmt: skip

# Activities done in amounts of a unit (the units are the problems' structure, like "dollars").
ACTIVITIES: tuple[Activity, ...] = tuple(
    Activity(**vars(VerbPhrase.of(forms)), unit=unit)
    for forms, unit in (
        ("read/reads/read {count}", "page"),
        ("wrote/writes/write {count}", "page"),
        ("ran/runs/run {count}", "mile"),
        ("walked/walks/walk {count}", "mile"),
        ("swam/swims/swim {count}", "lap"),
        ("biked/bikes/bike {count}", "mile"),
        ("hiked/hikes/hike {count}", "kilometer"),
        ("jogged/jogs/jog {count}", "kilometer"),
        ("rowed/rows/row {count}", "kilometer"),
        ("practiced/practices/practice the piano for {count}", "minute"),
        ("played/plays/play soccer for {count}", "minute"),
        ("studied/studies/study for {count}", "minute"),
        ("did/does/do {count}", "push-up"),
        ("did/does/do {count}", "sit-up"),
        ("skipped/skips/skip rope for {count}", "minute"),
        ("sang/sings/sing for {count}", "minute"),
        ("danced/dances/dance for {count}", "minute"),
        ("typed/types/type {count}", "page"),
        ("skated/skates/skate {count}", "lap"),
    )
)

# Stuff measured in units, with the units that suit it ("3 cups of flour").
MATERIALS: dict[str, tuple[str, ...]] = {
    "flour": ("cup", "pound"), "sugar": ("cup", "pound"), "rice": ("cup", "pound", "kilogram"),
    "water": ("liter", "gallon", "cup"), "milk": ("liter", "gallon", "cup"),
    "juice": ("liter", "cup"), "lemonade": ("cup", "liter", "gallon"),
    "paint": ("gallon", "liter"), "soup": ("cup", "liter"), "oil": ("liter", "cup"),
    "sand": ("pound", "kilogram"), "soil": ("pound", "kilogram"),
    "ribbon": ("meter", "foot", "yard"),
    "rope": ("meter", "foot", "yard"), "string": ("meter", "foot", "yard"),
    "yarn": ("yard", "meter"), "wire": ("meter", "foot"), "fabric": ("yard", "meter"),
    "honey": ("cup", "pound"), "cheese": ("pound", "kilogram"), "clay": ("pound", "kilogram"),
    "oats": ("cup", "pound"), "lentils": ("pound", "cup"), "cereal": ("cup", "pound"),
}  # fmt: skip

# Things that hold countable things: packages (things are bought in them: "a bag of apples")
# and holders; the small ones hold only small things (a jar of marbles, not of pumpkins).
CONTAINERS: dict[str, tuple[str, ...]] = {
    "package": ("box", "bag", "basket", "crate", "sack", "carton", "bucket", "tray", "tub", "case"),
    "holder": (
        "bin", "chest", "cart", "wagon", "hamper", "backpack", "drawer", "shoebox", "lunchbox",
        "pail", "cooler", "satchel", "tote",
    ),
    "small package": ("jar", "tin", "packet", "pack", "pouch", "canister"),
    "small holder": ("envelope", "purse"),
}  # fmt: skip

COLORS = (
    "red", "blue", "green", "yellow", "white", "black", "pink", "purple", "brown", "gray",
    "silver", "gold", "teal", "crimson", "scarlet", "maroon", "beige", "turquoise", "indigo",
    "magenta", "amber", "ivory", "lavender", "coral", "cyan", "navy", "tan",
)  # fmt: skip


def _words_of(split: str, words: Sequence[str]) -> tuple[str, ...]:
    return tuple(w for w in words if split_of_word(w) == split)


IRREGULAR_PLURALS = {
    "mouse": "mice", "goose": "geese", "sheep": "sheep", "fish": "fish", "deer": "deer",
    "moose": "moose", "leaf": "leaves", "knife": "knives", "loaf": "loaves", "wolf": "wolves",
    "calf": "calves", "scarf": "scarves", "potato": "potatoes", "tomato": "tomatoes",
    "cherry tomato": "cherry tomatoes", "mango": "mangoes", "goldfish": "goldfish",
    "foot": "feet", "cactus": "cacti",
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
    changes: tuple[Change, ...]  # the everyday ones and this split's share of the others
    activities: tuple[Activity, ...]
    materials: dict[str, tuple[str, ...]]
    containers: dict[str, tuple[str, ...]]  # by kind, as in CONTAINERS
    colors: tuple[str, ...]


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
        countables=tuple(
            Noun(w, plural(w), kind)
            for kind, words in COUNTABLES.items()
            for w in _words_of(split, words)
        ),
        verbs={kind: _phrases_of(split, phrases) for kind, phrases in VERBS.items()},
        changes=tuple(c for c in CHANGES if c.everyday)
        + _phrases_of(split, [c for c in CHANGES if not c.everyday], lambda c: c.past),
        activities=_phrases_of(split, ACTIVITIES, lambda a: f"{a.past} {a.unit}"),
        materials={m: MATERIALS[m] for m in _words_of(split, MATERIALS)},
        containers={kind: _words_of(split, words) for kind, words in CONTAINERS.items()},
        colors=_words_of(split, COLORS),
    )
