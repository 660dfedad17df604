"""Small English helpers for filling templates: plurals, articles, capitals."""

from __future__ import annotations


def noun(n: int, item: tuple[str, str]) -> str:
    """The singular or plural of a (singular, plural) item, for `n` of them."""
    return item[0] if n == 1 else item[1]


def counted(n: int, item: tuple[str, str]) -> str:
    """`n` items with their noun: "1 apple", "3 apples"."""
    return f"{n} {noun(n, item)}"


def with_article(word: str) -> str:
    """`word` after its indefinite article: "a dog", "an owl"."""
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def capitalized(text: str) -> str:
    """`text` with its first letter upper-cased (the rest unchanged)."""
    return text[:1].upper() + text[1:]
