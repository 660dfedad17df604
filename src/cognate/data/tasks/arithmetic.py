"""Arithmetic: sums, differences and products of two numbers.

Easy: operands 0-9 (products 1-9 x 1-9); hard: 0-99, now and then 0-999 (products 1-12 x
1-12). The multiplication table is memorised, not computed: it is held out by template only.
"""

from __future__ import annotations

import random

from cognate.data.tasks.example import Example
from cognate.data.tasks.family import Draw, Family
from cognate.data.tasks.templates import Questions
from cognate.data.tasks.templates import Template as T

NAME = "arithmetic"
# Share of differences drawn below ten: 10 - 5 or 47 - 43 (same or neighbouring tens) are a
# step of their own that a uniform subtrahend makes rare for large numbers.
SMALL_DIFFERENCE_SHARE = 0.3
# Share of hard sums and differences with operands up to 999: word problems as people write
# them carry three-digit numbers ("has 837 pebbles"), a carry further than two digits take.
THREE_DIGIT_SHARE = 0.2

ADD = Questions(
    "arith.add",
    T("arith.add.symbol", "Q: What is {a} + {b}? A:", 5),
    T("arith.add.plus", "Q: What is {a} plus {b}? A:", 2),
    T("arith.add.sum_of", "Q: What is the sum of {a} and {b}? A:", 2),
    T("arith.add.add_and", "Q: Add {a} and {b}. A:"),
    T("arith.add.add_to", "Q: Add {a} to {b}. A:"),
    T("arith.add.number_when", "Q: What number do you get when you add {a} and {b}? A:"),
    T("arith.add.how_much", "Q: How much is {a} plus {b}? A:"),
    T("arith.add.find_sum", "Q: Find the sum of {a} and {b}. A:"),
    T("arith.add.please_compute", "Q: Please compute {a} + {b}. A:"),
    T("arith.add.equals", "Q: {a} + {b} = ? A:"),
    T("arith.add.calculate", "Q: Calculate {a} + {b}. A:", heldout=True),
    T("arith.add.how_much_sum", "Q: How much is the sum of {a} and {b}? A:", heldout=True),
)

SUB = Questions(
    "arith.sub",
    T("arith.sub.symbol", "Q: What is {a} - {b}? A:", 5),
    T("arith.sub.minus", "Q: What is {a} minus {b}? A:", 2),
    T("arith.sub.subtract_from", "Q: Subtract {b} from {a}. A:", 2),
    T("arith.sub.compute", "Q: Compute {a} - {b}. A:"),
    T("arith.sub.number_when", "Q: What number do you get when you subtract {b} from {a}? A:"),
    T("arith.sub.how_much", "Q: How much is {a} minus {b}? A:"),
    T("arith.sub.difference", "Q: What is the difference between {a} and {b}? A:"),
    T("arith.sub.please_calculate", "Q: Please calculate {a} - {b}. A:"),
    T("arith.sub.equals", "Q: {a} - {b} = ? A:"),
    T("arith.sub.take_away", "Q: Take {b} away from {a}. A:"),
    T("arith.sub.find_minus", "Q: Find {a} minus {b}. A:", heldout=True),
    T("arith.sub.how_much_symbol", "Q: How much is {a} - {b}? A:", heldout=True),
)

MUL = Questions(
    "arith.mul",
    T("arith.mul.symbol", "Q: What is {a} * {b}? A:", 4),
    T("arith.mul.times", "Q: What is {a} times {b}? A:", 3),
    T("arith.mul.multiplied_by", "Q: What is {a} multiplied by {b}? A:"),
    T("arith.mul.product_of", "Q: What is the product of {a} and {b}? A:"),
    T("arith.mul.multiply_by", "Q: Multiply {a} by {b}. A:"),
    T("arith.mul.calculate_symbol", "Q: Calculate {a} * {b}. A:"),
    T("arith.mul.how_much", "Q: How much is {a} times {b}? A:"),
    T("arith.mul.number_when", "Q: What number do you get when you multiply {a} by {b}? A:"),
    T("arith.mul.equals", "Q: {a} * {b} = ? A:"),
    T("arith.mul.please_find", "Q: Please find the product of {a} and {b}. A:"),
    T("arith.mul.find_times", "Q: Find {a} times {b}. A:", heldout=True),
    T("arith.mul.how_much_multiplied", "Q: How much is {a} multiplied by {b}? A:", heldout=True),
    template_only=True,
)


def subtrahend(rng: random.Random, a: int, lowest: int) -> int:
    """b in [lowest, a]: uniform, or SMALL_DIFFERENCE_SHARE of the time with a - b below ten."""
    if rng.random() < SMALL_DIFFERENCE_SHARE:
        lowest = max(lowest, a - 9)
    return rng.randint(lowest, a)


def generate(draw: Draw) -> Example | None:
    rng = draw.rng
    op = draw.kind(("add", "sub", "mul"), weights=(4, 3, 3))
    if op == "mul":
        hi = 12 if draw.hard else 9
        a, b = rng.randint(1, hi), rng.randint(1, hi)
        answer, key = a * b, sorted((a, b))
    else:
        hi = (999 if rng.random() < THREE_DIGIT_SHARE else 99) if draw.hard else 9
        a = rng.randint(0, hi)
        if op == "sub":
            b = subtrahend(rng, a, lowest=0)
            answer, key = a - b, [a, b]
        else:
            b = rng.randint(0, hi)
            answer, key = a + b, sorted((a, b))
    key_text = f"arithmetic|{op}|{key[0]}|{key[1]}"
    questions = {"add": ADD, "sub": SUB, "mul": MUL}[op]
    # A table to memorise (multiplication) is held out by template only, not by key.
    if not draw.admits(key_text, numbers=(a, b), split_free=questions.template_only):
        return None
    template = draw.question(questions)
    return Example(
        prompt=template.text.format(a=a, b=b),
        answer=str(answer),
        family=NAME,
        template=template.id,
        key=key_text,
    )


FAMILY = Family(NAME, generate, questions=(ADD, SUB, MUL))
