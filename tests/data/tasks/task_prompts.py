"""Reading the task prompts back: numbers, context sentences, facts and template groups."""

import functools
import re
from collections import Counter

from cognate.data.tasks import TEMPLATE_ONLY_GROUPS


def numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def context_and_question(prompt: str) -> tuple[str, str]:
    context, _, question = prompt.rpartition("Q: ")
    return context.strip(), question


def sentences(context: str) -> list[str]:
    return re.split(r"(?<=\.) ", context) if context else []


def has_word(word: str, text: str) -> bool:
    return re.search(rf"\b{re.escape(word)}\b", text) is not None


def words(text: str) -> set[str]:
    """The words of a template: lower-cased, without placeholders, numbers or punctuation."""
    return set(re.findall(r"[a-z]+", re.sub(r"\{\w+\}", " ", text).lower()))


def group_of(template: str) -> str:
    return template.rsplit(".", 1)[0]


def template_only(template: str) -> bool:
    """Whether the template's group is held out by template only (tables to memorise)."""
    return group_of(template) in TEMPLATE_ONLY_GROUPS


@functools.cache
def compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p) for p in patterns)


def only_match(patterns: tuple[str, ...], sentence: str) -> re.Match:
    """The match of the one pattern among `patterns` that fully matches `sentence`."""
    found = [m for m in (p.fullmatch(sentence) for p in compiled(patterns)) if m]
    assert len(found) == 1, (sentence, found)
    return found[0]


# Every phrasing of a fact's context sentence, as patterns giving (key, value).
FACT_SENTENCES = {
    "capital": (
        r"The capital of (?P<k>\w+) is (?P<v>\w+)\.",
        r"(?P<v>\w+) is the capital of (?P<k>\w+)\.",
        r"(?P<k>\w+) has (?P<v>\w+) as its capital\.",
        r"The capital city of (?P<k>\w+) is (?P<v>\w+)\.",
        r"(?P<k>\w+)'s capital is (?P<v>\w+)\.",
        r"(?P<v>\w+) is the capital city of (?P<k>\w+)\.",
        r"The city of (?P<v>\w+) is the capital of (?P<k>\w+)\.",
    ),
    "color": (
        r"The color of (?P<k>(?:the )?\w+) is (?P<v>\w+)\.",
        r"(?P<k>(?:The )?\w+) is (?P<v>\w+)\.",
        r"(?P<k>(?:The )?\w+) has the color (?P<v>\w+)\.",
        r"(?P<k>(?:The )?\w+) is colored (?P<v>\w+)\.",
        r"(?P<k>(?:The )?\w+) looks (?P<v>\w+)\.",
        r"(?P<k>(?:The )?\w+) is (?P<v>\w+) in color\.",
    ),
    "owner": (
        r"(?P<k>\w+) owns an? (?P<v>\w+)\.",
        r"(?P<k>\w+) has an? (?P<v>\w+)\.",
        r"The (?P<v>\w+) belongs to (?P<k>\w+)\.",
        r"(?P<k>\w+) is the owner of an? (?P<v>\w+)\.",
        r"(?P<k>\w+) keeps an? (?P<v>\w+) as a pet\.",
        r"(?P<k>\w+)'s pet is an? (?P<v>\w+)\.",
        r"An? (?P<v>\w+) lives with (?P<k>\w+)\.",
    ),
}


def parse_facts(kind: str, context: str, used: Counter | None = None) -> list[tuple[str, str]]:
    """The (key, value) facts of a context; keys and values lower-cased at the start.

    Counts the phrasings (patterns) in `used` if given.
    """
    facts = []
    for sentence in sentences(context):
        m = only_match(FACT_SENTENCES[kind], sentence)
        if used is not None:
            used[m.re.pattern] += 1
        k, v = m["k"], m["v"]
        if kind == "color":
            k, v = k[0].lower() + k[1:], v.lower()
        facts.append((k, v))
    return facts
