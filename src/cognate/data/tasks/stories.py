"""Stories of a small world: people move between places and pass objects to each other; the
questions ask where they are, what they carry and who gave what to whom.

A story is a simulation, not a template. A world of 2-6 people, 3-6 places and 0-5 objects
runs one event at a time, each drawn among those the world allows: a person moves (alone or
with someone), is said to be somewhere or not to be somewhere ("is no longer in", "left":
afterwards their place is unknown except that it is not there), picks up an object (only
where it lies, or one nobody has placed yet), drops it (it stays there) or gives it to
someone in the same place. Each event is written as one sentence, by name, with "Then",
"After that" or "Afterwards," or with a pronoun continuing the previous sentence's person
("Then she went to the office.", "Then they went to the garden."). Later sentences override
earlier ones. Stories run 2-20 sentences (`difficulty` in [0, 1] raises the length and the
number of people, so the sentences about others between a fact and its question), joined by
spaces, by newlines or, rarely, as numbered lines.

A question is asked about the end of the story, only when the story determines its answer
(`KINDS`); answers are written tersely: `kitchen`, `yes` / `no`, `2`, `apple,football`,
`nothing`, a name. Each kind is equally likely unless one is asked for, and the answers of
`is_in`, `count` and `carrying` are balanced (yes / no, 0-3 objects). Some test stories
(`HISTORY_SHARE`) carry earlier questions with their answers between the sentences, as a
chat's history does; training stories most often do (`TRAINING_QUESTIONS`), and learn
their answers too.

Splits: every name, place, object and verb phrase of an example comes from
`lexicon(split)`, so test stories use words and verb phrases never seen in training. Some
question phrasings and some sentence structures (`HELDOUT_STRUCTURES`) are used only in
validation / test, for half of their examples, like the held-out templates of `tasks`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from dataclasses import dataclass
from functools import cache

from cognate.data.tasks.example import Example
from cognate.data.tasks.family import Draw, Family
from cognate.data.tasks.lexicon import OBJECTS, PLACES, Person, lexicon
from cognate.data.tasks.splits import HELDOUT_SHARE, SPLITS, is_reserved
from cognate.data.tasks.templates import Questions, Template
from cognate.data.tasks.vocabulary import name_pool

NAME = "stories"
KINDS: tuple[str, ...] = (
    "where_person",  # Where is Mary? -> kitchen
    "where_object",  # Where is the football? -> wherever its carrier went, or where it lies
    "is_in",  # Is John in the kitchen? -> yes / no
    "count",  # How many objects is Mary carrying? -> 0-3
    "carrying",  # What is Mary carrying? -> apple,football (in the order picked up) / nothing
    "giver",  # Who gave the apple to Fred? -> Jeff
    "receiver",  # Who did Jeff give the apple to? -> Fred
    "given",  # What did Jeff give to Fred? -> apple
    "before_person",  # Where was Mary before the kitchen? -> the place before her last visit
    "before_object",  # Where was the apple before the kitchen?
)
# Kinds answered by one sentence of the story, and kinds that chain two facts (who carries the
# object and where they went; the latest arrival and the place before it). `count` and
# `carrying` gather several sentences: neither.
ONE_STEP_KINDS = ("where_person", "is_in", "giver", "receiver", "given")
TWO_STEP_KINDS = ("where_object", "before_person", "before_object")

EASY_SENTENCES = 5  # the longest story at difficulty 0
MAX_SENTENCES = 20  # ... and at difficulty 1
MAX_CARRIED = 3  # objects one person carries at most: counts run 0-3
HISTORY_SHARE = 0.15  # stories with earlier questions and answers between the sentences
# In training, a question with its answer follows each sentence with a probability drawn per
# story in [0, TRAINING_QUESTIONS]: every answer is a lesson (`Example.earlier_answers`), so
# a story teaches several times what its final question alone would.
TRAINING_QUESTIONS = 0.5
NEWLINE_SHARE = 0.25  # stories written one sentence a line
NUMBERED_SHARE = 0.05  # stories written as numbered lines ("1 Mary went to the kitchen.")
CONTINUE_SHARE = 0.35  # events by the previous sentence's person (pronoun forms)
PRONOUN_SHARE = 0.6  # of those, written with a pronoun
CONNECTOR_SHARE = 0.15  # other sentences opened with "Then", "After that", ...
GATHER_SHARE = 0.3  # moves to a place where someone else is (so objects can be given)
INVENTED_SHARE = 0.5  # training places and objects that are made-up words (see `_nouns`)
# "No" questions ask mostly about a place the person was in before, or was said not to be in
# (then the story says no more of where they are).
TRAP_WEIGHT = 3.0
NEGATED_WEIGHT = 15.0
_MAX_TRIES = 1_000

# --------------------------------------------------------------------------- questions


def _phrasings(kind: str, train: tuple[str, ...], heldout: tuple[str, ...]) -> Questions:
    """A kind's question phrasings (fields: {name}, {place}, {object}, {giver}, {receiver})."""
    texts = [(t, False) for t in train] + [(t, True) for t in heldout]
    templates = (
        Template(f"{NAME}.{kind}.t{i}", f"Q: {t} A:", heldout=h) for i, (t, h) in enumerate(texts)
    )
    return Questions(f"{NAME}.{kind}", *templates)


_QUESTIONS: dict[str, Questions] = {
    "where_person": _phrasings(
        "where_person",
        (
            "Where is {name}?",
            "Where is {name} now?",
            "Where's {name}?",
            "In which place is {name}?",
            "Where can {name} be found?",
            "Where is {name} at the moment?",
            "Which place is {name} in right now?",
        ),
        ("What place is {name} in?", "Where is {name} right now?"),
    ),
    "where_object": _phrasings(
        "where_object",
        (
            "Where is the {object}?",
            "Where is the {object} now?",
            "Where's the {object}?",
            "In which place is the {object}?",
            "Where can the {object} be found?",
            "Where is the {object} at the moment?",
            "Which place is the {object} in right now?",
        ),
        ("What place is the {object} in?", "Where is the {object} right now?"),
    ),
    "is_in": _phrasings(
        "is_in",
        (
            "Is {name} in the {place}?",
            "Is {name} in the {place} now?",
            "Is {name} at the {place}?",
            "Can {name} be found in the {place}?",
            "Is {name} in the {place} at the moment?",
            "Is it true that {name} is at the {place}?",
            "Is {name} at the {place} right now?",
        ),
        ("Is {name} in the {place} right now?", "Is it true that {name} is in the {place}?"),
    ),
    "count": _phrasings(
        "count",
        (
            "How many objects is {name} carrying?",
            "How many things is {name} carrying?",
            "How many objects does {name} have?",
            "How many things is {name} holding?",
            "How many objects is {name} carrying now?",
            "How many items does {name} have?",
            "What is the number of things {name} is holding?",
        ),
        ("How many items is {name} carrying?", "What is the number of objects {name} has?"),
    ),
    "carrying": _phrasings(
        "carrying",
        (
            "What is {name} carrying?",
            "What is {name} holding?",
            "What does {name} have?",
            "What objects is {name} carrying?",
            "What is {name} carrying now?",
            "What things does {name} have?",
            "What items has {name} got?",
        ),
        ("What has {name} got?", "What items is {name} holding?"),
    ),
    "giver": _phrasings(
        "giver",
        (
            "Who gave the {object} to {receiver}?",
            "Who gave {receiver} the {object}?",
            "Who gave the {object}?",
            "Who did {receiver} get the {object} from?",
            "Who did {receiver} receive the {object} from?",
            "Who was it that handed over the {object}?",
            "From whom did {receiver} receive the {object}?",
        ),
        ("From whom did {receiver} get the {object}?", "Who was it that gave the {object}?"),
    ),
    "receiver": _phrasings(
        "receiver",
        (
            "Who did {giver} give the {object} to?",
            "Who received the {object}?",
            "Who got the {object} from {giver}?",
            "To whom did {giver} give the {object}?",
            "Who received the {object} from {giver}?",
            "Who was handed the {object} by {giver}?",
            "Who was given the {object}?",
            "Whom did {giver} hand the {object} to?",
        ),
        ("Who was given the {object} by {giver}?", "Whom did {giver} give the {object} to?"),
    ),
    "given": _phrasings(
        "given",
        (
            "What did {giver} give to {receiver}?",
            "What did {giver} give {receiver}?",
            "What did {receiver} receive from {giver}?",
            "What did {receiver} get from {giver}?",
            "What did {giver} hand over to {receiver}?",
            "What was handed to {receiver} by {giver}?",
            "Which thing did {giver} hand to {receiver}?",
        ),
        (
            "What was given to {receiver} by {giver}?",
            "Which thing did {giver} give to {receiver}?",
        ),
    ),
    "before_person": _phrasings(
        "before_person",
        (
            "Where was {name} before the {place}?",
            "Where was {name} just before the {place}?",
            "Before the {place}, where was {name}?",
            "Where was {name} before being in the {place}?",
            "Which place was {name} at before going to the {place}?",
            "Where had {name} been just before going to the {place}?",
        ),
        (
            "Where had {name} been before the {place}?",
            "Which place was {name} in before the {place}?",
        ),
    ),
    "before_object": _phrasings(
        "before_object",
        (
            "Where was the {object} before the {place}?",
            "Where was the {object} just before the {place}?",
            "Before the {place}, where was the {object}?",
            "Where was the {object} before being in the {place}?",
            "Which place was the {object} at before going to the {place}?",
            "Where had the {object} been just before going to the {place}?",
        ),
        (
            "Where had the {object} been before the {place}?",
            "Which place was the {object} in before the {place}?",
        ),
    ),
}

TEMPLATE_TEXTS: dict[str, str] = {t.id: t.text for q in _QUESTIONS.values() for t in q.templates}
HELDOUT_TEMPLATES: frozenset[str] = frozenset(
    t.id for q in _QUESTIONS.values() for t in q.templates if t.heldout
)

# --------------------------------------------------------------------------- sentences

CONNECTORS = ("Then", "After that", "After that,", "Afterwards,", "Later", "Later on,")
STATEMENTS = ("{name} is in the {place}.", "{name} is now in the {place}.")
STATEMENT_WEIGHTS = {False: (3, 1), True: (1, 3)}  # by whether the person's place is known
# Said only of the place a person is known to be in: "is no longer" and "left" mean they were.
NEGATIONS_OF_HERE = ("{name} is no longer in the {place}.", "{name} is not in the {place}.")
NEGATION_ELSEWHERE = "{name} is not in the {place}."
LEFT = "left the {place}"  # a verb phrase: "Mary left the kitchen.", "Then she left the kitchen."
LEFT_SHARE = 0.4  # of the negations of the place one is in
# "Mary left the vorbin.": a made-up word may be a place left or an object dropped, so neither
# is written that way.
AMBIGUOUS_WITH_LEFT = "left the"

# Sentence structures used only in validation / test: in half of their stories, for half
# of the sentences that can take one.
HELDOUT_STRUCTURES: dict[str, str] = {
    "with": "{name} {verb} with {other}.",  # two people moving together
    "and_then": "{sentence}, and then {pronoun} {verb}.",  # a second event of one person
    "currently": "{name} is currently in the {place}.",
    "anymore": "{name} is not in the {place} anymore.",
}


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class _Event:
    kind: str  # move, be, negate, take, drop, give
    actors: tuple[str, ...]  # two for people moving together
    place: str = ""
    object: str = ""
    receiver: str = ""


class _World:
    """What the story has said so far; `None` is a place the story leaves unknown."""

    def __init__(
        self, people: tuple[Person, ...], places: tuple[str, ...], objects: tuple[str, ...]
    ) -> None:
        self.people = {p.name: p for p in people}
        self.places = places
        self.objects = objects
        self.place: dict[str, str | None] = dict.fromkeys(self.people)
        self.not_in: dict[str, set[str]] = {name: set() for name in self.people}
        self.carrying: dict[str, list[str]] = {name: [] for name in self.people}  # pickup order
        self.holder: dict[str, str | None] = dict.fromkeys(objects)
        self.lies_at: dict[str, str | None] = dict.fromkeys(objects)  # where it was put down
        self.placed: set[str] = set()  # objects picked up at least once
        # Successive places of each person and object, and the sentence that set the latest.
        self.trail: dict[str, list[str | None]] = {e: [None] for e in (*self.people, *objects)}
        self.changed_at: dict[str, int] = dict.fromkeys(self.trail, -1)
        self.sentence = -1  # the latest sentence applied
        self.gives: list[tuple[str, str, str]] = []  # (giver, object, receiver)

    def where(self, entity: str) -> str | None:
        if entity in self.people:
            return self.place[entity]
        holder = self.holder[entity]
        return self.place[holder] if holder else self.lies_at[entity]

    def takeable(self, name: str) -> list[str]:
        """Objects `name` can pick up: lying where they are, or not placed yet."""
        if len(self.carrying[name]) >= MAX_CARRIED:
            return []
        here = self.place[name]
        return [
            o
            for o in self.objects
            if self.holder[o] is None
            and (o not in self.placed or (here is not None and self.lies_at[o] == here))
        ]

    def age(self, entity: str) -> int:
        """Sentences since the one that set the entity's place (0: the latest one)."""
        return self.sentence - self.changed_at[entity]

    def apply(self, event: _Event, sentence: int) -> None:
        self.sentence = sentence
        name = event.actors[0]
        if event.kind in ("move", "be"):
            for actor in event.actors:
                self.place[actor] = event.place
                self.not_in[actor].clear()
        elif event.kind == "negate":
            self.place[name] = None
            self.not_in[name].add(event.place)
        elif event.kind == "take":
            self.holder[event.object] = name
            self.carrying[name].append(event.object)
            self.placed.add(event.object)
        elif event.kind == "drop":
            self.holder[event.object] = None
            self.carrying[name].remove(event.object)
            self.lies_at[event.object] = self.place[name]
        else:  # give
            self.holder[event.object] = event.receiver
            self.carrying[name].remove(event.object)
            self.carrying[event.receiver].append(event.object)
            self.gives.append((name, event.object, event.receiver))
        for entity, trail in self.trail.items():
            here = self.where(entity)
            if here != trail[-1]:
                trail.append(here)
                self.changed_at[entity] = sentence


# --------------------------------------------------------------------------- questions asked


@dataclass(frozen=True)
class _Candidate:
    fields: dict[str, str]
    answer: str
    label: str = ""  # the answer class balanced over (yes / no, a count)
    weight: float = 1.0


def _where(world: _World, entities: list[str], key: str) -> list[_Candidate]:
    candidates = []
    for entity in entities:
        here = world.where(entity)
        if here is not None:  # favouring facts stated a while ago, with sentences since
            weight = (1.0 + world.age(entity)) ** 2
            candidates.append(_Candidate({key: entity}, here, weight=weight))
    return candidates


def _is_in(world: _World, people: list[str], places: list[str]) -> list[_Candidate]:
    candidates = []
    for name in people:
        here, trail, not_in = world.place[name], world.trail[name], world.not_in[name]
        for place in places:
            fields = {"name": name, "place": place}
            if place == here:
                candidates.append(_Candidate(fields, "yes", "yes"))
            elif here is not None or place in not_in:
                weight = NEGATED_WEIGHT if place in not_in else 1.0
                weight = TRAP_WEIGHT if place in trail and here is not None else weight
                candidates.append(_Candidate(fields, "no", "no", weight))
    return candidates


def _carried(world: _World, people: list[str], listed: bool) -> list[_Candidate]:
    """How many objects each person carries, or (`listed`) which ones."""
    candidates = []
    for name in people:
        objects = world.carrying[name]
        answer = ",".join(objects) or "nothing" if listed else str(len(objects))
        candidates.append(_Candidate({"name": name}, answer, str(len(objects))))
    return candidates


_GIVE_ANSWER = {"giver": "giver", "receiver": "receiver", "given": "object"}


def _given(world: _World, kind: str, phrasing: Template) -> list[_Candidate]:
    """Give events asked about with the fields the phrasing names, when they fix the answer."""
    named = [f for f in ("giver", "object", "receiver") if f"{{{f}}}" in phrasing.text]
    answers: dict[tuple[str, ...], list[str]] = {}
    for giver, obj, receiver in world.gives:
        event = {"giver": giver, "object": obj, "receiver": receiver}
        known = answers.setdefault(tuple(event[f] for f in named), [])
        if event[_GIVE_ANSWER[kind]] not in known:
            known.append(event[_GIVE_ANSWER[kind]])
    return [
        _Candidate(dict(zip(named, key, strict=True)), found[0])
        for key, found in answers.items()
        if len(found) == 1
    ]


def _before(world: _World, entities: list[str], key: str) -> list[_Candidate]:
    """Where an entity was right before its latest arrival in a place, when the story says."""
    candidates = []
    for entity in entities:
        trail = world.trail[entity]
        for place in dict.fromkeys(trail):
            if place is None:
                continue
            arrival = len(trail) - 1 - trail[::-1].index(place)
            if arrival > 0 and trail[arrival - 1] is not None:
                candidates.append(_Candidate({key: entity, "place": place}, trail[arrival - 1]))
    return candidates


def _candidates(
    world: _World, kind: str, phrasing: Template, people: list[str], places: list[str]
) -> list[_Candidate]:
    """The questions of `kind` the story answers, about the people and places it named."""
    objects = [o for o in world.objects if o in world.placed]
    if kind in ("giver", "receiver", "given"):
        return _given(world, kind, phrasing)
    if kind in ("count", "carrying"):
        return _carried(world, people, listed=kind == "carrying")
    if kind == "is_in":
        return _is_in(world, people, places)
    asked, key = (people, "name") if kind.endswith("person") else (objects, "object")
    return _where(world, asked, key) if kind.startswith("where") else _before(world, asked, key)


# --------------------------------------------------------------------------- the story

EVENTS = ("move", "together", "be", "negate", "take", "drop", "give")
_WEIGHTS = {
    "move": 5.0, "together": 1.0, "be": 1.0, "negate": 1.0, "take": 2.0, "drop": 1.0, "give": 1.0,
}  # fmt: skip
# Events weighted up for a question kind, so that its questions usually find an answer.
_KIND_WEIGHTS: dict[str, dict[str, float]] = {
    "where_object": {"take": 3.0},
    "is_in": {"negate": 3.0},
    "count": {"take": 6.0},
    "carrying": {"take": 6.0},
    "giver": {"take": 4.0, "together": 2.0, "drop": 0.5, "give": 8.0},
    "receiver": {"take": 4.0, "together": 2.0, "drop": 0.5, "give": 8.0},
    "given": {"take": 4.0, "together": 2.0, "drop": 0.5, "give": 8.0},
    "before_object": {"take": 3.0},
}


@dataclass(frozen=True)
class _VerbPhrases:
    """A split's verb phrases of one kind, by what they assume of the story."""

    plain: tuple[str, ...]
    there: tuple[str, ...]  # "took the {object} there": the person's place is known
    returning: tuple[str, ...]  # "went back to the {place}": the person has been there


@cache
def _verb_phrases(split: str) -> dict[str, _VerbPhrases]:
    phrases = {}
    for kind, all_phrases in lexicon(split).verbs.items():
        returning = tuple(p for p in all_phrases if "back" in p.split() or p.startswith("returned"))
        there = tuple(p for p in all_phrases if p.endswith(" there"))
        plain = tuple(p for p in all_phrases if p not in returning + there)
        phrases[kind] = _VerbPhrases(plain, there, returning)
    return phrases


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Story:
    """Draws events the world allows and writes them as sentences, one at a time."""

    def __init__(self, rng: random.Random, split: str, world: _World, kind: str) -> None:
        self.rng, self.split, self.world = rng, split, world
        self.verbs = _verb_phrases(split)
        weights = _WEIGHTS | _KIND_WEIGHTS.get(kind, {})
        self.weights = [weights[e] for e in EVENTS]
        self.heldout = split != "train" and rng.random() < HELDOUT_SHARE
        # (a sentence, not a question; text; length of the answer ending a question's text)
        self.lines: list[tuple[bool, str, int]] = []
        self.sentences = 0
        self.subject: tuple[str, ...] = ()  # whom a pronoun in the next sentence refers to
        self.can_continue = False  # the last sentence may take ", and then she ..."
        self.places_named: list[str] = []
        self.people_named: list[str] = []

    # ---- events

    def step(self) -> None:
        """One more event, written as a sentence (or joined to the previous one): a person,
        then an event of theirs drawn among those the world allows."""
        rng, people = self.rng, list(self.world.people)
        while True:
            continuing = len(self.subject) == 1 and rng.random() < CONTINUE_SHARE
            actor = self.subject[0] if continuing else rng.choice(people)
            kinds, weights = list(EVENTS), list(self.weights)
            while kinds:
                i = rng.choices(range(len(kinds)), weights=weights)[0]
                weights.pop(i)
                event = self._propose(kinds.pop(i), actor)
                if event is not None and self._write(event):
                    return

    def _propose(self, kind: str, actor: str) -> _Event | None:
        world, rng = self.world, self.rng
        here = world.place[actor]
        if kind == "move":
            return self._move((actor,))
        if kind == "together":
            pair = self.subject if len(self.subject) == 2 and rng.random() < CONTINUE_SHARE else ()
            return self._move(pair or (actor, rng.choice([p for p in world.people if p != actor])))
        if kind == "be":
            places = [p for p in world.places if p != here and p not in world.not_in[actor]]
            return _Event("be", (actor,), rng.choice(places))
        if kind == "negate":
            if here is not None:  # not right after the sentence that put them there
                arrived_last = world.changed_at[actor] == self.sentences - 1
                return None if arrived_last else _Event("negate", (actor,), here)
            places = [p for p in world.places if p not in world.not_in[actor]]
            # At least two places stay open, so the story never pins the person down by elimination.
            return _Event("negate", (actor,), rng.choice(places)) if len(places) > 2 else None
        carried = world.carrying[actor]
        if kind == "take":
            objects = world.takeable(actor)
            return _Event("take", (actor,), object=rng.choice(objects)) if objects else None
        if kind == "drop":
            return _Event("drop", (actor,), object=rng.choice(carried)) if carried else None
        receivers = [
            p
            for p, there in world.place.items()
            if p != actor and here is not None and there == here
            and len(world.carrying[p]) < MAX_CARRIED
        ]  # fmt: skip
        if not carried or not receivers:
            return None
        return _Event("give", (actor,), object=rng.choice(carried), receiver=rng.choice(receivers))

    def _move(self, actors: tuple[str, ...]) -> _Event | None:
        """A move to a new place, often one where someone else is (to meet them)."""
        world = self.world
        allowed = [
            p
            for p in world.places
            if all(p != world.place[a] and p not in world.not_in[a] for a in actors)
        ]
        met = [p for p in allowed if any(world.place[o] == p for o in world.people)]
        if met and self.rng.random() < GATHER_SHARE:
            allowed = met
        return _Event("move", actors, self.rng.choice(allowed)) if allowed else None

    # ---- sentences

    def _verb(self, event: _Event) -> str | None:
        """The event's verb phrase, in one of the split's phrasings that fits the story."""
        world = self.world
        if event.kind == "negate":
            return LEFT.format(place=event.place)
        phrases = self.verbs[event.kind]
        fitting = phrases.plain
        if phrases.there and world.place[event.actors[0]] is not None:
            fitting += phrases.there
        if phrases.returning and all(event.place in world.trail[a] for a in event.actors):
            fitting += phrases.returning
        if event.object and _invented(event.object):
            fitting = tuple(p for p in fitting if not p.startswith(AMBIGUOUS_WITH_LEFT))
        if not fitting:
            return None
        phrase = self.rng.choice(fitting)
        return phrase.format(place=event.place, object=event.object, receiver=event.receiver)

    def _write(self, event: _Event) -> bool:
        """Write the event and apply it to the world; False if no phrasing of the split fits."""
        rng, world = self.rng, self.world
        heldout = self.heldout and rng.random() < 0.5  # half the sentences that can take one
        name = event.actors[0]
        person = world.people[name]
        verb = sentence = None
        if event.kind == "be":
            if heldout:
                form = HELDOUT_STRUCTURES["currently"]
            else:  # "is now in" mostly for someone the story placed elsewhere before
                form = rng.choices(STATEMENTS, STATEMENT_WEIGHTS[world.place[name] is not None])[0]
            sentence = form.format(name=name, place=event.place)
        elif event.kind == "negate" and world.place[name] is None:
            sentence = NEGATION_ELSEWHERE.format(name=name, place=event.place)
        elif event.kind == "negate" and (rng.random() >= LEFT_SHARE or _invented(event.place)):
            form = HELDOUT_STRUCTURES["anymore"] if heldout else rng.choice(NEGATIONS_OF_HERE)
            sentence = form.format(name=name, place=event.place)
        else:
            verb = self._verb(event)
            if verb is None:
                return False
        joined = verb is not None and heldout and self.can_continue and self.subject == event.actors
        if joined:
            previous = self.lines[-1][1].removesuffix(".")
            and_then = HELDOUT_STRUCTURES["and_then"]
            self.lines[-1] = (
                True,
                and_then.format(sentence=previous, pronoun=person.subject, verb=verb),
                0,
            )
        else:
            if verb is not None:
                sentence = self._subject(event.actors, verb, heldout)
            self.lines.append((True, _capitalized(sentence), 0))
            self.sentences += 1
        world.apply(event, self.sentences - 1)
        if event.place and event.place not in self.places_named:
            self.places_named.append(event.place)
        for named in (*event.actors, event.receiver):
            if named and named not in self.people_named:
                self.people_named.append(named)
        # A pronoun next refers to this sentence's person, unless another of the same gender
        # is named in it too.
        other = world.people.get(event.receiver)
        self.subject = () if other and other.female == person.female else event.actors
        self.can_continue = verb is not None and len(self.subject) == 1 and not joined
        return True

    def _subject(self, actors: tuple[str, ...], verb: str, heldout: bool) -> str:
        """The sentence of `verb` with its subject: names, or a pronoun for the previous
        sentence's person(s), often after a connector ("Then", "After that", ...)."""
        rng = self.rng
        if self.subject == actors and rng.random() < PRONOUN_SHARE:
            pronoun = "they" if len(actors) == 2 else self.world.people[actors[0]].subject
            return f"{rng.choice(('', *CONNECTORS))} {pronoun} {verb}.".lstrip()
        opener = ""
        if self.sentences and rng.random() < CONNECTOR_SHARE:
            opener = rng.choice(CONNECTORS) + " "
        if len(actors) == 1:
            return f"{opener}{actors[0]} {verb}."
        if heldout:
            return HELDOUT_STRUCTURES["with"].format(name=actors[0], verb=verb, other=actors[1])
        return f"{opener}{actors[0]} and {actors[1]} {verb}."

    # ---- questions

    def question(self, kind: str, label: str | None = None) -> tuple[Template, str, str] | None:
        """A question of `kind` the story answers (with an answer of class `label`):
        (phrasing, question, answer), or None."""
        rng = self.rng
        heldout = self.split != "train" and rng.random() < HELDOUT_SHARE
        questions = _QUESTIONS[kind]
        pool = list((questions.heldout if heldout else questions.trained).templates)
        for phrasing in rng.sample(pool, len(pool)):
            candidates = _candidates(
                self.world, kind, phrasing, self.people_named, self.places_named
            )
            candidates = [c for c in candidates if label is None or c.label == label]
            if candidates:
                chosen = rng.choices(candidates, weights=[c.weight for c in candidates])[0]
                return phrasing, phrasing.text.format(**chosen.fields), chosen.answer
        return None

    def interleave_question(self) -> None:
        """An earlier question with its answer, as in a chat's history."""
        asked = self.question(self.rng.choice(KINDS))
        if asked is not None:
            self.lines.append((False, f"{asked[1]} {asked[2]}", len(asked[2])))
            self.subject, self.can_continue = (), False

    def text(self, layout: str) -> tuple[str, str, tuple[tuple[int, int], ...]]:
        """The story in `layout` (spaces, lines or numbered), the separator before the
        question and the character spans of the earlier questions' answers in the story."""
        separator = " " if layout == "spaces" else "\n"
        parts: list[str] = []
        answers: list[tuple[int, int]] = []
        number = end = 0
        for is_sentence, line, answer_length in self.lines:
            number += is_sentence
            if is_sentence and layout == "numbered":
                line = f"{number} {line}"
            end += len(separator) * bool(parts) + len(line)
            parts.append(line)
            if answer_length:
                answers.append((end - answer_length, end))
        return separator.join(parts), separator, tuple(answers)


# --------------------------------------------------------------------------- examples

# Answer classes drawn uniformly for the kinds whose answers are balanced.
_LABELS = {"is_in": ("yes", "no"), "count": ("0", "1", "2", "3"), "carrying": ("0", "1", "2", "3")}
# The fewest sentences that can answer a kind ("count": plus the count), so that short
# stories are not drawn in vain: an object must be picked up and given ("Mary and John went
# to the garden. Mary took the apple. She gave it to John.") or carried from place to place.
_SHORTEST = {"giver": 3, "receiver": 3, "given": 3, "before_object": 3}
_OBJECT_KINDS = frozenset({"where_object", "giver", "receiver", "given", "before_object"})


@cache
def story_people(split: str) -> tuple[Person, ...]:
    """The split's people, without names a sentence or a question opens with ("Can") or that
    are words of places and objects ("Park", "Orange")."""
    questions = (text.removeprefix("Q: ") for text in TEMPLATE_TEXTS.values())
    openers = [text.split()[0].strip(",") for text in (*CONNECTORS, *questions)]
    nouns = [word.capitalize() for noun in (*PLACES, *OBJECTS) for word in noun.split()]
    taken = {*openers, *nouns, "They", "She", "He"}
    return tuple(p for p in lexicon(split).people if p.name not in taken)


def _layout(rng: random.Random) -> str:
    roll = rng.random()
    if roll < NUMBERED_SHARE:
        return "numbered"
    return "lines" if roll < NUMBERED_SHARE + NEWLINE_SHARE else "spaces"


_REAL_NOUNS = frozenset((*PLACES, *OBJECTS))


def _invented(noun: str) -> bool:
    return noun not in _REAL_NOUNS


def _nouns(rng: random.Random, split: str, real: tuple[str, ...], k: int, taken: set[str]) -> tuple:
    """`k` nouns of `split`: in training, each is a made-up word with probability
    `INVENTED_SHARE` (a model cannot answer with a word it memorised, it must copy it)."""
    nouns: list[str] = []
    while len(nouns) < k:
        if split == "train" and rng.random() < INVENTED_SHARE:
            noun = rng.choice(name_pool(split)).lower()
        else:
            noun = rng.choice(real)
        if noun not in taken:
            taken.add(noun)
            nouns.append(noun)
    return tuple(nouns)


def _world(rng: random.Random, split: str, difficulty: float, min_objects: int) -> _World:
    words = lexicon(split)
    people = rng.sample(story_people(split), rng.randint(2, 3 + round(3 * difficulty)))
    taken: set[str] = set()
    places = _nouns(rng, split, words.places, rng.randint(3, 4 + round(2 * difficulty)), taken)
    n_objects = max(min_objects, rng.randint(0, 2 + round(3 * difficulty)))
    return _World(tuple(people), places, _nouns(rng, split, words.objects, n_objects, taken))


def _bystanders(
    rng: random.Random, split: str, world: _World, sentences: int
) -> list[tuple[bool, str, int]]:
    """`sentences` lines of other people moving among the world's places: they never meet
    its people nor touch its objects, so they change no answer about them."""
    others = [p for p in story_people(split) if p.name not in world.people]
    story = _Story(rng, split, _World(tuple(rng.sample(others, 3)), world.places, ()), kind="")
    while story.sentences < sentences:
        story.step()
    return story.lines


def story_example(
    rng: random.Random,
    split: str,
    difficulty: float = 1.0,
    kind: str | None = None,
    filler: int = 0,
) -> Example:
    """A story of `split` and one question about its end: of `kind`, or of a kind drawn
    uniformly from `KINDS`. `difficulty` in [0, 1] raises the length (up to `EASY_SENTENCES`
    at 0, `MAX_SENTENCES` at 1) and the number of people, places and objects.

    `filler` sentences about other people (`_bystanders`) stand between the story and its
    question, so the question's evidence lies at least that far back. They are drawn last:
    the same `rng` state gives the same story before them, whatever their number."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty}")
    if kind is None:
        kind = rng.choice(KINDS)
    elif kind not in KINDS:
        raise ValueError(f"unknown story question kind {kind!r}; choose one of: {', '.join(KINDS)}")
    label = rng.choice(_LABELS[kind]) if kind in _LABELS else None
    min_objects = int(label) if kind in ("count", "carrying") else int(kind in _OBJECT_KINDS)
    shortest = _SHORTEST.get(kind, 2) + (int(label) if kind in ("count", "carrying") else 0)
    for _ in range(_MAX_TRIES):
        story = _Story(rng, split, _world(rng, split, difficulty, min_objects), kind)
        longest = EASY_SENTENCES + round((MAX_SENTENCES - EASY_SENTENCES) * difficulty)
        length = rng.randint(shortest, max(shortest, longest))
        history: set[int] = set()
        if split == "train":
            rate = rng.uniform(0.0, TRAINING_QUESTIONS)
            history = {n for n in range(1, length) if rng.random() < rate}
        elif rng.random() < HISTORY_SHARE:
            history = set(rng.sample(range(1, length), min(rng.randint(1, 2), length - 1)))
        while story.sentences < length:
            story.step()
            if story.sentences in history:
                history.discard(story.sentences)
                story.interleave_question()
        asked = story.question(kind, label)
        if asked is None:
            continue
        phrasing, question, answer = asked
        layout = _layout(rng)
        story.lines += _bystanders(rng, split, story.world, filler) if filler else []
        text, separator, earlier_answers = story.text(layout)
        prompt = f"{text}{separator}{question}"
        counts = [prompt[a:b] for a, b in earlier_answers] + [answer]
        if split != "test" and is_reserved(tuple(int(c) for c in counts if c.isdigit())):
            continue  # two counts that make a seed prompt's pair ("2" and "2") are test-only
        digest = hashlib.blake2b(prompt.encode(), digest_size=8).hexdigest()
        key = f"{NAME}|{kind}|{digest}"
        return Example(prompt, answer, NAME, phrasing.id, key, earlier_answers=earlier_answers)
    raise RuntimeError(f"no {kind} story found for split {split!r} (label {label})")


def _generate(draw: Draw) -> Example:
    return story_example(draw.rng, draw.split, difficulty=1.0 if draw.hard else 0.0)


FAMILY = Family(NAME, _generate, questions=tuple(_QUESTIONS.values()), reads_context=True)

# The short yes/no form on its own ("Is Mary in the kitchen?" after up to 10 sentences), for
# a model that answers briefly rather than one that reads long stories.
YES_NO_NAME = "story_yes_no"
SHORT_DIFFICULTY = 1 / 3  # up to 10 sentences


def _generate_yes_no(draw: Draw) -> Example:
    difficulty = SHORT_DIFFICULTY if draw.hard else 0.0
    example = story_example(draw.rng, draw.split, difficulty, kind="is_in")
    return dataclasses.replace(example, family=YES_NO_NAME)


YES_NO_FAMILY = Family(
    YES_NO_NAME, _generate_yes_no, questions=(_QUESTIONS["is_in"],), reads_context=True
)
