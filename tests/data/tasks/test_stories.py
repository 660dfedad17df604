"""Stories of a small world, checked by an independent reader.

The reader knows the vocabulary (the lexicon's words and verb phrases), the question
phrasings (`TEMPLATE_TEXTS`) and its own grammar of the story sentences. It reads each
rendered story sentence by sentence, keeps its own account of where everyone and everything
is, checks the world's rules (an object is picked up only where it lies or before anyone
placed it, given only to someone in the same place; "no longer" and "left" only of the place
the person is in; a pronoun only for the previous sentence's person) and answers every
question, the earlier ones of a chat history included, from that account alone.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache

import pytest

from cognate.data.tasks import SPLITS, Example, sample_example
from cognate.data.tasks.lexicon import OBJECTS, PLACES, VERBS, lexicon
from cognate.data.tasks.stories import (
    HELDOUT_TEMPLATES,
    KINDS,
    TEMPLATE_TEXTS,
    YES_NO_NAME,
    story_example,
)
from cognate.data.tasks.vocabulary import name_pool

DIFFICULTIES = (0.0, 0.25, 0.5, 0.75, 1.0)
PER_KIND = 20  # examples per split, kind and difficulty: 3,000 in all


def alternatives(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


INVENTED = r"[a-z]+"  # training's made-up places and objects (`stories.INVENTED_SHARE`)
REAL_PLACE = alternatives(PLACES)  # "left the X" is never written of a made-up X
PLACE = f"{REAL_PLACE}|{INVENTED}"
OBJECT = f"{alternatives(OBJECTS)}|{INVENTED}"
NAME = r"[A-Z][a-z]+"
FIELDS = {"place": PLACE, "object": OBJECT, "name": NAME, "giver": NAME, "receiver": NAME}


def pattern(template: str) -> re.Pattern[str]:
    """A template as a regex, its {fields} as named groups."""
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile(
        "".join(f"(?P<{p}>{FIELDS[p]})" if i % 2 else re.escape(p) for i, p in enumerate(parts))
    )


VERB_PATTERNS = [(kind, p, pattern(p)) for kind, phrases in VERBS.items() for p in phrases]
QUESTION_PATTERNS = [
    (tid, pattern(text.removeprefix("Q: ").removesuffix(" A:")))
    for tid, text in TEMPLATE_TEXTS.items()
]
WORD = f"{alternatives((*PLACES, *OBJECTS))}|{INVENTED}"
ANSWER = rf"(?:nothing|yes|no|\d+|(?:{WORD})(?:,(?:{OBJECT}))*|{NAME})(?=[ \n]|$)"
ITEM = re.compile(rf"Q: (?P<question>[^?]*\?) A: (?P<answer>{ANSWER})|(?P<sentence>[^.?]*\.)")
OPENER = r"(?:(?:Then|After that,?|Afterwards,|Later(?: on,)?) )?"
CLAUSE = re.compile(
    rf"{OPENER}(?P<subject>(?P<pair>{NAME} and {NAME})|[Tt]hey|[Ss]he|[Hh]e|{NAME}) (?P<rest>.+)"
)
GIVE_FIELDS = ("giver", "object", "receiver")
NOUN_WORDS = {word for noun in (*PLACES, *OBJECTS) for word in noun.split()}


@cache
def female() -> dict[str, bool]:
    return {p.name: p.female for split in SPLITS for p in lexicon(split).people}


@dataclass
class Reader:
    """What a careful person knows after reading the story so far."""

    place: dict[str, str | None] = field(default_factory=dict)  # None: unknown
    not_in: dict[str, set[str]] = field(default_factory=dict)
    items: dict[str, list[str]] = field(default_factory=dict)
    holder: dict[str, str] = field(default_factory=dict)
    lies: dict[str, str | None] = field(default_factory=dict)  # where a put-down object lies
    trail: dict[str, list[str | None]] = field(default_factory=dict)
    set_by: dict[str, int] = field(default_factory=dict)  # sentence that set the latest place
    gives: list[tuple[str, str, str]] = field(default_factory=list)
    previous: tuple[str, ...] = ()  # whom a pronoun may refer to
    sentences: int = 0
    structures: Counter[str] = field(default_factory=Counter)  # held-out ones seen
    words: set[tuple[str, str]] = field(default_factory=set)  # (name|place|object|verb, word)
    questions: list[str] = field(default_factory=list)  # template ids, earlier ones first
    fields: dict[str, str] = field(default_factory=dict)  # of the latest question

    # ---- the story

    def read(self, story: str) -> None:
        lines = story.split("\n")
        if re.match(r"\d+ ", lines[0]):
            numbers = [int(line.split()[0]) for line in lines if not line.startswith("Q: ")]
            assert numbers == list(range(1, len(numbers) + 1)), story
            story = "\n".join(re.sub(r"^\d+ ", "", line) for line in lines)
        position = 0
        while position < len(story):
            item = ITEM.match(story, position)
            assert item, f"unreadable at {story[position:]!r}"
            if item["sentence"]:
                self.sentence(item["sentence"])
            else:
                assert self.answer(item["question"]) == item["answer"], (story, item[0])
                self.previous = ()
            position = item.end()
            if position < len(story):
                assert story[position] in " \n", story
                position += 1

    def sentence(self, text: str) -> None:
        clauses = text.removesuffix(".").split(", and then ")
        if len(clauses) == 2:
            self.structures["and_then"] += 1
            assert re.match(r"(she|he) ", clauses[1]), text
        for clause in clauses:
            match = CLAUSE.fullmatch(clause)
            assert match, text
            actors = self.subject(match["subject"], match["pair"])
            self.event(actors, match["rest"])
        self.sentences += 1

    def subject(self, subject: str, pair: str | None) -> tuple[str, ...]:
        if pair:
            return tuple(pair.split(" and "))
        if subject.lower() == "they":
            assert len(self.previous) == 2, "'they' without two people before"
            return self.previous
        if subject.lower() in ("she", "he"):
            assert len(self.previous) == 1, f"'{subject}' without one person before"
            assert female()[self.previous[0]] == (subject.lower() == "she")
            return self.previous
        return (subject,)

    def meet(self, name: str) -> None:
        self.words.add(("name", name))
        self.place.setdefault(name, None)
        self.not_in.setdefault(name, set())
        self.items.setdefault(name, [])
        self.trail.setdefault(name, [None])

    def event(self, actors: tuple[str, ...], rest: str) -> None:
        name = actors[0]
        if with_other := re.fullmatch(rf"(.+) with ({NAME})", rest):
            self.structures["with"] += 1
            actors, rest = (name, with_other[2]), with_other[1]
        for person in actors:
            self.meet(person)
        self.previous = actors
        if statement := re.fullmatch(rf"is (now |currently )?in the ({PLACE})", rest):
            if statement[1] == "currently ":
                self.structures["currently"] += 1
            self.arrive(actors, statement[2])
        elif negation := re.fullmatch(
            rf"is no longer in the ({PLACE})|left the ({REAL_PLACE})|is not in the ({PLACE})"
            "( anymore)?",
            rest,
        ):
            self.negate(name, *negation.groups())
        else:
            self.act(actors, rest)
        self.update_trails()

    def negate(self, name: str, no_longer: str, left: str, not_in: str, anymore: str) -> None:
        here = self.place[name]
        if not_in and not anymore:  # "is not in": the place they were in, or of someone unplaced
            place = not_in
            assert here in (None, place), f"{name} is said not to be in the {place}, is in {here}"
        else:
            place = no_longer or left or not_in
            if anymore:
                self.structures["anymore"] += 1
            assert here == place, f"{name} left the {place} but was in the {here}"
        self.words.add(("place", place))
        self.place[name] = None
        self.not_in[name].add(place)

    def arrive(self, actors: tuple[str, ...], place: str) -> None:
        self.words.add(("place", place))
        for name in actors:
            self.place[name] = place
            self.not_in[name] = set()

    def act(self, actors: tuple[str, ...], rest: str) -> None:
        matches = [(k, p, m) for k, p, regex in VERB_PATTERNS if (m := regex.fullmatch(rest))]
        assert len(matches) == 1, f"{rest!r} reads as {[p for _, p, _ in matches]}"
        kind, phrase, match = matches[0]
        self.words.add(("verb", phrase))
        fields = match.groupdict()
        name, here = actors[0], self.place[actors[0]]
        if phrase.endswith(" there"):
            assert here is not None, f"'{phrase}' but {name}'s place is unknown"
        if kind == "move":
            if "back" in phrase.split() or phrase.startswith("returned"):
                assert all(fields["place"] in self.trail[a] for a in actors), rest
            self.arrive(actors, fields["place"])
            return
        assert len(actors) == 1
        obj = fields["object"]
        self.words.add(("object", obj))
        if kind == "take":
            assert obj not in self.holder, f"{obj} taken from {self.holder.get(obj)}"
            assert obj not in self.lies or (here is not None and self.lies[obj] == here), rest
            assert len(self.items[name]) < 3
            self.holder[obj] = name
            self.items[name].append(obj)
            self.lies.pop(obj, None)
        elif kind == "drop":
            self.items[name].remove(obj)
            del self.holder[obj]
            self.lies[obj] = here
        else:
            receiver = fields["receiver"]
            self.words.add(("name", receiver))
            assert here is not None and self.place.get(receiver) == here, f"{rest}: not together"
            self.items[name].remove(obj)
            self.items[receiver].append(obj)
            self.holder[obj] = receiver
            self.gives.append((name, obj, receiver))
            if female()[receiver] == female()[name]:
                self.previous = ()  # a pronoun next would not know whom it means

    def where(self, entity: str) -> str | None:
        if entity in self.place:
            return self.place[entity]
        if entity in self.holder:
            return self.place[self.holder[entity]]
        return self.lies.get(entity)

    def update_trails(self) -> None:
        for obj in (*self.holder, *self.lies):
            self.trail.setdefault(obj, [None])
        for entity, trail in self.trail.items():
            if self.where(entity) != trail[-1]:
                trail.append(self.where(entity))
                self.set_by[entity] = self.sentences

    # ---- questions

    def answer(self, question: str) -> str:
        matches = [(tid, m) for tid, p in QUESTION_PATTERNS if (m := p.fullmatch(question))]
        assert len(matches) == 1, f"{question!r} matches {[tid for tid, _ in matches]}"
        tid, match = matches[0]
        self.questions.append(tid)
        kind, fields = tid.split(".")[1], match.groupdict()
        self.fields = fields
        name, place, obj = fields.get("name"), fields.get("place"), fields.get("object")
        if name is not None:
            assert name in self.place, f"{question} asks about someone the story never named"
        if kind in ("where_person", "where_object"):
            answer = self.where(name or obj)
            assert answer is not None, f"{question} the story does not say"
            return answer
        if kind == "is_in":
            if self.place[name] == place:
                return "yes"
            assert self.place[name] is not None or place in self.not_in[name], question
            return "no"
        if kind == "count":
            return str(len(self.items[name]))
        if kind == "carrying":
            return ",".join(self.items[name]) or "nothing"
        if kind in ("giver", "receiver", "given"):
            wanted = {"giver": "giver", "receiver": "receiver", "given": "object"}[kind]
            found = {
                event[wanted]
                for event in (dict(zip(GIVE_FIELDS, g, strict=True)) for g in self.gives)
                if all(event[f] == fields[f] for f in GIVE_FIELDS if f in fields)
            }
            assert len(found) == 1, f"{question}: {found}"
            return found.pop()
        trail = self.trail[name or obj]
        arrival = len(trail) - 1 - trail[::-1].index(place)
        assert arrival > 0 and trail[arrival - 1] is not None, f"{question}: {trail}"
        return trail[arrival - 1]


def read(example: Example) -> tuple[Reader, str]:
    """The reader after the story, and its answer to the example's question."""
    assert example.prompt.endswith(" A:") and not example.answer.startswith(" ")
    cut = example.prompt.rindex("Q: ")
    reader = Reader()
    reader.read(example.prompt[: cut - 1])
    return reader, reader.answer(example.prompt[cut + 3 : -3])


@pytest.fixture(scope="module")
def examples() -> dict[str, list[Example]]:
    """Examples of every split, kind and difficulty."""
    rng = random.Random(0)
    return {
        split: [
            story_example(rng, split, difficulty, kind)
            for kind in KINDS
            for difficulty in DIFFICULTIES
            for _ in range(PER_KIND)
        ]
        for split in SPLITS
    }


@pytest.fixture(scope="module")
def readings(examples: dict[str, list[Example]]) -> dict[str, list[tuple[Example, Reader]]]:
    out = {}
    for split, split_examples in examples.items():
        out[split] = []
        for example in split_examples:
            reader, answer = read(example)
            assert answer == example.answer, f"{example.prompt} -> {example.answer}, not {answer}"
            out[split].append((example, reader))
    return out


def test_every_answer_follows_from_the_story(readings) -> None:
    for pairs in readings.values():
        for example, reader in pairs:
            assert reader.questions[-1] == example.template
            assert example.family == "stories" and example.key.startswith("stories|")
            assert example.template.split(".")[1] in KINDS


def test_stories_run_2_to_20_sentences_longer_with_difficulty(readings) -> None:
    lengths: dict[float, list[int]] = {d: [] for d in DIFFICULTIES}
    for pairs in readings.values():
        for i, (_, reader) in enumerate(pairs):
            assert 2 <= reader.sentences <= 20
            lengths[DIFFICULTIES[i // PER_KIND % len(DIFFICULTIES)]].append(reader.sentences)
    assert max(lengths[0.0]) <= 5 < max(lengths[1.0]) == 20
    assert sum(lengths[0.0]) / len(lengths[0.0]) < sum(lengths[1.0]) / len(lengths[1.0]) / 2


def test_each_split_uses_only_its_own_words_and_verb_phrases(readings, examples) -> None:
    for split, pairs in readings.items():
        words = lexicon(split)
        invented = {n.lower() for n in name_pool(split)} if split == "train" else set()
        allowed = {
            "name": {p.name for p in words.people},
            "place": set(words.places) | invented,
            "object": set(words.objects) | invented,
            "verb": {p for phrases in words.verbs.values() for p in phrases},
        }
        for _, reader in pairs:
            for kind, word in reader.words:
                assert word in allowed[kind], f"{split} example uses {kind} {word!r}"
                assert kind != "name" or word.lower() not in NOUN_WORDS, word
    # Nowhere in a test prompt, questions included, is a training place or object.
    train, test = lexicon("train"), lexicon("test")
    leaked = re.compile(rf"\b(?:{alternatives((*train.places, *train.objects))})\b")
    test_words = alternatives((*test.places, *test.objects))
    for example in examples["test"]:
        assert not leaked.search(re.sub(rf"\b(?:{test_words})\b", "", example.prompt))


def test_heldout_phrasings_and_structures_never_in_training(readings) -> None:
    for example, reader in readings["train"]:
        assert not HELDOUT_TEMPLATES & set(reader.questions), example.prompt
        assert not reader.structures, example.prompt
    for split in ("validation", "test"):
        finals = [example.template in HELDOUT_TEMPLATES for example, _ in readings[split]]
        assert 0.4 < sum(finals) / len(finals) < 0.6
        seen = sum((reader.structures for _, reader in readings[split]), Counter())
        assert set(seen) == {"with", "and_then", "currently", "anymore"}, seen


def test_training_stories_teach_the_answers_of_their_earlier_questions(readings) -> None:
    """Each earlier question's answer is marked for training (`Example.earlier_answers`):
    the span right after its "A: ", the whole answer the reader checked. Training stories ask
    about two earlier questions on average; validation and test stories rarely any."""
    asked = {}
    for split, pairs in readings.items():
        spans = []
        for example, _ in pairs:
            story = example.prompt[: example.prompt.rindex("Q: ")]
            answers = [m["answer"] for m in ITEM.finditer(story) if m["question"]]
            assert [example.prompt[a:b] for a, b in example.earlier_answers] == answers
            for start, end in example.earlier_answers:
                assert example.prompt[start - 3 : start] == "A: "
                assert example.prompt[end : end + 1] in ("", " ", "\n")
            spans.append(len(example.earlier_answers))
        asked[split] = sum(spans) / len(spans)
    assert asked["train"] > 1.0 and asked["validation"] < 0.3 and asked["test"] < 0.3, asked


def test_same_seed_same_examples() -> None:
    def draw(seed: int) -> list[Example]:
        rng = random.Random(seed)
        return [story_example(rng, "test", 0.7) for _ in range(50)]

    assert draw(5) == draw(5)
    assert draw(5) != draw(6)


@pytest.mark.parametrize("kind", KINDS)
def test_filler_sentences_about_other_people_push_the_story_back_and_change_no_answer(kind):
    filler = 25
    for seed in range(6):
        short = story_example(random.Random(seed), "test", 0.0, kind)
        long = story_example(random.Random(seed), "test", 0.0, kind, filler=filler)
        question = short.prompt.rindex("Q: ")
        story = short.prompt[:question].rstrip()
        between = long.prompt[len(story) : long.prompt.rindex("Q: ")]
        assert long.prompt.startswith(story) and long.prompt.endswith(short.prompt[question:])
        reader, answer = read(long)
        assert answer == long.answer == short.answer
        assert reader.sentences >= read(short)[0].sentences + filler
        people = set(re.findall(NAME, story)) & set(female())
        assert people and not people & set(re.findall(NAME, between))


def test_kinds_are_drawn_evenly_and_answers_balanced() -> None:
    rng = random.Random(1)
    drawn = [story_example(rng, "train", rng.random()) for _ in range(2_000)]
    kinds = Counter(e.template.split(".")[1] for e in drawn)
    assert set(kinds) == set(KINDS) and min(kinds.values()) > 140, kinds
    answers = {kind: Counter() for kind in KINDS}
    for e in drawn:
        answers[e.template.split(".")[1]][e.answer] += 1
    is_in = answers["is_in"]
    assert set(is_in) == {"yes", "no"} and 0.4 < is_in["yes"] / is_in.total() < 0.6
    assert set(answers["count"]) == {"0", "1", "2", "3"}
    assert min(answers["count"].values()) > answers["count"].total() * 0.15
    assert answers["carrying"]["nothing"] > answers["carrying"].total() * 0.15
    assert any(a.count(",") == 2 for a in answers["carrying"])


def test_where_answers_often_lie_sentences_back(readings) -> None:
    """The sentence that put the person or object there is often not the last one."""
    distances = []
    for pairs in readings.values():
        for example, reader in pairs:
            if example.template.startswith(("stories.where_person", "stories.where_object")):
                asked = reader.fields.get("name") or reader.fields["object"]
                distances.append(reader.sentences - 1 - reader.set_by[asked])
    assert sum(d == 0 for d in distances) < 0.35 * len(distances)
    assert sum(d >= 3 for d in distances) > 0.25 * len(distances)


def test_is_in_answers_no_after_negations(readings) -> None:
    """Some "no" answers rest on a negation alone: the story no longer says where they are."""
    noes = [
        reader.place[reader.fields["name"]] is None
        for pairs in readings.values()
        for example, reader in pairs
        if example.template.startswith("stories.is_in") and example.answer == "no"
    ]
    assert 0.1 < sum(noes) / len(noes) < 0.5


def test_stories_are_written_in_every_form(examples) -> None:
    prompts = [e.prompt for split in examples.values() for e in split]
    forms = {
        "newlines": r"\.\n[A-Z]",
        "numbered lines": r"^1 [A-Z]",
        "pronoun": r"(^|[.,] |\n)(Then |After that,? |Afterwards, |Later (on, )?)?(She|she|He|he) ",
        "they": r"\b[Tt]hey ",
        "connector": r"(Then|After that|Afterwards,|Later) [A-Z]",
        "two people": rf"\b{NAME} and {NAME} ",
        "no longer": r" is no longer in ",
        "not in": r" is not in ",
        "left": rf" left the (?:{PLACE})\.",
        "earlier question": r" A: \S+( |\n)",
    }
    for form, regex in forms.items():
        share = sum(bool(re.search(regex, p)) for p in prompts) / len(prompts)
        assert share > 0.02, f"{form}: {share:.1%}"
    history = sum(bool(re.search(forms["earlier question"], e.prompt)) for e in examples["test"])
    assert 0.08 < history / len(examples["test"]) < 0.22


@pytest.mark.parametrize(
    "arguments",
    [("dev", 0.5, None), ("train", 1.5, None), ("train", 0.5, "where")],
)
def test_bad_arguments_are_refused(arguments) -> None:
    split, difficulty, kind = arguments
    with pytest.raises(ValueError, match=r"split|difficulty|kind"):
        story_example(random.Random(0), split, difficulty, kind)


def test_the_short_yes_no_family_asks_is_in_of_stories_up_to_10_sentences() -> None:
    rng = random.Random(3)
    drawn = [sample_example(YES_NO_NAME, split, rng) for split in SPLITS for _ in range(100)]
    assert {e.family for e in drawn} == {YES_NO_NAME}
    assert {e.template.split(".")[1] for e in drawn} == {"is_in"}
    assert {e.answer for e in drawn} == {"yes", "no"}
    for example in drawn:
        reader, answer = read(example)
        assert answer == example.answer and reader.sentences <= 10
