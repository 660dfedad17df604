"""Word problems: selling, buying, equal sharing and speed, about people, shops and vehicles.

Easy: numbers below ten, speed problems of 1-2 hours at 2-9 per hour; hard: numbers up to 99,
1-5 hours at 2-60 per hour (at most 300). Equal sharing inverts the multiplication table: a
table to memorise, held out by template only.
"""

from __future__ import annotations

from cognate.data.tasks.arithmetic import subtrahend
from cognate.data.tasks.english import counted
from cognate.data.tasks.example import Example
from cognate.data.tasks.family import Draw, Family
from cognate.data.tasks.templates import Questions
from cognate.data.tasks.templates import Template as T
from cognate.data.tasks.vocabulary import ITEM_POOLS, UNITS, VEHICLES, person

NAME = "word_problems"

SOLD = Questions(
    "wp.sold",
    T(
        "wp.sold.store",
        "Q: If a store has {a_items} and sells {b}, how many are left? A:",
        4,
        items="store",
    ),
    T(
        "wp.sold.baker",
        "Q: A baker made {a_items} and sold {b}. How many {items} are left? A:",
        items="baked",
    ),
    T(
        "wp.sold.shop_it_sells",
        "Q: A shop has {a_items}. It sells {b} of them. How many {items} does it have left? A:",
        items="store",
    ),
    T(
        "wp.sold.person",
        "Q: {name} had {a_items} and sold {b}. How many {items} does {he} have left? A:",
        items="countable",
    ),
    T(
        "wp.sold.there_are",
        "Q: There are {a_items} in a store. The store sells {b} of them. "
        "How many {items} remain? A:",
        items="store",
    ),
    T(
        "wp.sold.farmer",
        "Q: A farmer picked {a_items} and sold {b} of them at the market. "
        "How many {items} are left? A:",
        items="market",
    ),
    T(
        "wp.sold.left_if",
        "Q: How many {items} are left if a baker has {a_items} and sells {b}? A:",
        items="baked",
    ),
    T(
        "wp.sold.stall_of_its",
        "Q: A market stall sells {b} of its {a_items}. How many {items} remain? A:",
        items="market",
    ),
    T(
        "wp.sold.after_selling",
        "Q: A store started with {a_items}. After selling {b}, "
        "how many {items} does the store have? A:",
        items="store",
    ),
    T(
        "wp.sold.market",
        "Q: A market stall had {a_items} and sold {b} of them. How many {items} remain? A:",
        heldout=True,
        items="market",
    ),
    T(
        "wp.sold.baker_remain",
        "Q: If a baker has {a_items} and sells {b} of them, how many {items} remain? A:",
        heldout=True,
        items="baked",
    ),
)

BOUGHT = Questions(
    "wp.bought",
    T(
        "wp.bought.buys",
        "Q: {name} has {a_items} and buys {b} more. How many {items} does {he} have now? A:",
        3,
    ),
    T(
        "wp.bought.gets",
        "Q: {name} had {a_items}. {He} got {b} more. How many {items} does {he} have now? A:",
    ),
    T(
        "wp.bought.shop_received",
        "Q: A shop had {a_items} and received {b} more. "
        "How many {items} does the shop have now? A:",
    ),
    T(
        "wp.bought.in_all",
        "Q: If {name} has {a_items} and gets {b} more, how many {items} are there in all? A:",
    ),
    T(
        "wp.bought.box",
        "Q: There are {a_items} in a box. {name} puts in {b} more. "
        "How many {items} are in the box now? A:",
    ),
    T(
        "wp.bought.found",
        "Q: How many {items} does {name} have if {he} had {a_items} and found {b} more? A:",
    ),
    T(
        "wp.bought.friend_gave",
        "Q: {name} had {a_items}. A friend gave {him} {b} more. "
        "How many {items} does {he} have now? A:",
    ),
    T(
        "wp.bought.total",
        "Q: {name} has {a_items}. {He} buys {b} more. How many {items} does {he} have in total? A:",
    ),
    T(
        "wp.bought.store_gets",
        "Q: A store has {a_items}. It gets {b} more. How many {items} are there now? A:",
    ),
    T(
        "wp.bought.shop_buys",
        "Q: If a shop has {a_items} and buys {b} more, how many {items} does it have now? A:",
        heldout=True,
    ),
    T(
        "wp.bought.found_in_all",
        "Q: {name} had {a_items} and found {b} more. How many {items} are there in all? A:",
        heldout=True,
    ),
)

SHARED = Questions(
    "wp.shared",
    T(
        "wp.shared.friends",
        "Q: {name} shares {a_items} equally among {b} friends. "
        "How many {items} does each friend get? A:",
        3,
    ),
    T(
        "wp.shared.boxes",
        "Q: {a_items} are packed equally into {b} boxes. How many {items} are in each box? A:",
    ),
    T(
        "wp.shared.children_divided",
        "Q: If {a_items} are divided equally among {b} children, "
        "how many {items} does each child get? A:",
    ),
    T(
        "wp.shared.bags",
        "Q: {name} has {a_items} and splits them equally between {b} bags. "
        "How many {items} go in each bag? A:",
    ),
    T(
        "wp.shared.teacher",
        "Q: A teacher gives out {a_items} equally to {b} students. "
        "How many {items} does each student get? A:",
    ),
    T(
        "wp.shared.there_are",
        "Q: There are {a_items} and {b} children. If the {items} are shared equally, "
        "how many does each child get? A:",
    ),
    T(
        "wp.shared.each_friend_if",
        "Q: How many {items} does each friend get if {name} shares {a_items} "
        "equally among {b} friends? A:",
    ),
    T(
        "wp.shared.friends_first",
        "Q: {b} friends share {a_items} equally. How many {items} does each friend get? A:",
    ),
    T(
        "wp.shared.children_share",
        "Q: If {b} children share {a_items} equally, how many {items} does each child get? A:",
        heldout=True,
    ),
    T(
        "wp.shared.divided_bags",
        "Q: {a_items} are divided equally into {b} bags. How many {items} are in each bag? A:",
        heldout=True,
    ),
    template_only=True,
)

SPEED = Questions(
    "wp.speed",
    T(
        "wp.speed.travels",
        "Q: A {vehicle} travels {d} {unit} in {t_hours}. What is its speed? A:",
        4,
    ),
    T("wp.speed.covers", "Q: A {vehicle} covers {d} {unit} in {t_hours}. How fast is it going? A:"),
    T(
        "wp.speed.speed_of_travels",
        "Q: What is the speed of a {vehicle} that travels {d} {unit} in {t_hours}? A:",
    ),
    T(
        "wp.speed.hours_first",
        "Q: In {t_hours}, a {vehicle} goes {d} {unit}. What is its average speed? A:",
    ),
    T(
        "wp.speed.if_goes",
        "Q: If a {vehicle} goes {d} {unit} in {t_hours}, how fast does it travel? A:",
    ),
    T(
        "wp.speed.takes",
        "Q: A {vehicle} takes {t_hours} to travel {d} {unit}. What is its speed? A:",
    ),
    T(
        "wp.speed.how_fast_if",
        "Q: How fast is a {vehicle} moving if it covers {d} {unit} in {t_hours}? A:",
    ),
    T(
        "wp.speed.steady",
        "Q: A {vehicle} went {d} {unit} in {t_hours} at a steady speed. What was its speed? A:",
    ),
    T(
        "wp.speed.speed_of",
        "Q: What is the speed of a {vehicle} that goes {d} {unit} in {t_hours}? A:",
        heldout=True,
    ),
    T(
        "wp.speed.if_covers",
        "Q: If a {vehicle} covers {d} {unit} in {t_hours}, what is its speed? A:",
        heldout=True,
    ),
)


def generate(draw: Draw) -> Example | None:
    rng, hard = draw.rng, draw.hard
    kind = draw.kind(("sold", "bought", "shared", "speed"), weights=(3, 2, 2, 3))
    if kind == "sold":
        a = rng.randint(2, 99 if hard else 9)
        b = subtrahend(rng, a, lowest=1)
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
    questions = {"sold": SOLD, "bought": BOUGHT, "shared": SHARED, "speed": SPEED}[kind]
    # A table to memorise (equal sharing) is held out by template only, not by key.
    if not draw.admits(key, numbers=(a, b), split_free=questions.template_only):
        return None
    template = draw.question(questions)
    fields = person(rng)
    if kind == "speed":
        unit = rng.choice(UNITS)
        answer = f"{answer} {unit} per hour"
        fields |= {"vehicle": rng.choice(VEHICLES), "d": str(a), "unit": unit}
        fields["t_hours"] = counted(b, ("hour", "hours"))
    else:
        item = rng.choice(ITEM_POOLS[template.items or "countable"])
        fields |= {"a_items": counted(a, item), "b": str(b), "items": item[1]}
    return Example(
        prompt=template.text.format(**fields),
        answer=answer,
        family=NAME,
        template=template.id,
        key=key,
    )


FAMILY = Family(NAME, generate, questions=(SOLD, BOUGHT, SHARED, SPEED))
