"""Running totals: a person's count of items through a few gains and losses.

Easy: a start of 1-9 and one change; hard: a start of 1-20 and one to three changes. Changes
are 1-9 and never take the total below zero.
"""

from __future__ import annotations

from cognate.data.tasks.english import counted, noun
from cognate.data.tasks.example import Example
from cognate.data.tasks.family import Draw, Family
from cognate.data.tasks.templates import Pool, Questions
from cognate.data.tasks.templates import Template as T
from cognate.data.tasks.vocabulary import EDIBLE, INEDIBLE, PEOPLE, person

NAME = "running_totals"

QUESTIONS = Questions(
    "rt",
    T("rt.have_now", "Q: How many {items} does {name} have now? A:", 6),
    T("rt.in_the_end", "Q: How many {items} does {name} have in the end? A:"),
    T("rt.end_up_with", "Q: How many {items} does {name} end up with? A:"),
    T("rt.number_of", "Q: What is the number of {items} {name} has now? A:"),
    T("rt.now_how_many", "Q: Now how many {items} does {name} have? A:"),
    T("rt.count", "Q: Count the {items} {name} has now. A:"),
    T("rt.in_the_end_first", "Q: In the end, how many {items} does {name} have? A:"),
    T("rt.after_all", "Q: After all that, how many {items} does {name} have? A:"),
    # Questions that end on the name or on "has" without "now": the model must read the
    # count from the context, not from the question's last words (benchmarks/RESULTS.md,
    # "Question endings").
    T("rt.do_you_know", "Q: Do you know how many {items} {name} has? A:"),
    T("rt.tell_number", "Q: Tell me the number of {items} that {name} has. A:"),
    T("rt.left_for", "Q: How many {items} are left for {name}? A:"),
    T("rt.after_all_last", "Q: How many {items} does {name} have after all that? A:", heldout=True),
    T(
        "rt.number_in_the_end",
        "Q: In the end, what is the number of {items} {name} has? A:",
        heldout=True,
    ),
)

# Context sentences (training phrasings only; every split draws from them). The first one
# of each is the seed prompt's wording, with a high weight.
START = Pool(
    T("rt.start.has", "{name} has {count}.", 8),
    T("rt.start.starts_with", "{name} starts with {count}."),
    T("rt.start.at_first", "At first, {name} has {count}."),
    T("rt.start.begins_with", "{name} begins with {count}."),
    T("rt.start.owns", "{name} owns {count}."),
    T("rt.start.keeps", "{name} keeps {count} in a box."),
)

GAIN = Pool(
    T("rt.gain.gives_more", "{other} gives {him} {k} more {noun}.", 5),
    T("rt.gain.buys_more", "{He} buys {k} more {noun}.", 2),
    T("rt.gain.finds_more", "{He} finds {k} more {noun}."),
    T("rt.gain.gets_from", "{He} gets {count} from {other}."),
    T("rt.gain.hands", "{other} hands {him} {count}."),
    T("rt.gain.receives", "{He} receives {count} from {other}."),
    T("rt.gain.gives_to_him", "{other} gives {count} to {him}."),
    T("rt.gain.wins", "{He} wins {count}."),
)

LOSS = Pool(
    T("rt.loss.gives_to", "{He} gives {count} to {other}.", 3),
    T("rt.loss.eats_or_loses", "{He} {eats_or_loses} {count}.", 3),
    T("rt.loss.gives_other", "{He} gives {other} {count}."),
    T("rt.loss.sells", "{He} sells {count}."),
    T("rt.loss.takes_from", "{other} takes {count} from {him}."),
    T("rt.loss.throws_away", "{He} throws away {count}."),
    T("rt.loss.uses_up", "{He} uses up {count}."),
)


def generate(draw: Draw) -> Example | None:
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
    fields = person(rng)
    name = fields["name"]
    others = [p for p in PEOPLE if p != name]
    edible = rng.random() < 0.5
    item = rng.choice(EDIBLE if edible else INEDIBLE)
    sentences = [draw.sentence(START, name=name, count=counted(start, item))]
    for change in changes:
        k = abs(change)
        step = {
            "He": fields["He"],
            "him": fields["him"],
            "other": rng.choice(others),
            "k": str(k),
            "noun": noun(k, item),
            "count": counted(k, item),
            "eats_or_loses": "eats" if edible else "loses",
        }
        sentences.append(draw.sentence(GAIN if change > 0 else LOSS, **step))
    template = draw.question(QUESTIONS)
    sentences.append(template.text.format(items=item[1], name=name))
    return Example(
        prompt=" ".join(sentences),
        answer=str(total),
        family=NAME,
        template=template.id,
        key=key,
    )


FAMILY = Family(
    NAME, generate, questions=(QUESTIONS,), sentences=(START, GAIN, LOSS), reads_context=True
)
