"""How the worked examples write numbers and steps: integers as integers, the rest short.

The slides write `0*0 + 0*-1 + ... + 105*5 = 320`: a product is `value*weight` with no
spaces, a negative factor keeps its sign, and whole numbers carry no decimal point.
`StepPrinter` prints the header and the first `max_steps` steps, then says how many it left out.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

DIGITS = 4  # significant digits of a number that 6 digits do not write exactly


def number(value: float, digits: int = DIGITS) -> str:
    """`105` for 105.0, `102.25` as is, `0.3333` for 1/3: as a learner writes it.

    A number that 6 significant digits write exactly is written so; the rest are rounded to
    `digits` (float32 weights such as 0.1 are not exact, and print as 0.1).
    """
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    exact = f"{v:.6g}"
    return exact if float(exact) == v else f"{v:.{digits}g}"


def tidy(value: float, scale: float) -> float:
    """0 for a sum that cancels to rounding noise (-2.8e-17 from 0.1 - 0.4 + 0.2 + 0.1).

    `scale` is the sum of the terms' absolute values; what is left below 1e-12 of it is noise.
    """
    return 0.0 if abs(value) <= 1e-12 * scale else float(value)


def product(value: float, weight: float) -> str:
    """One term of a weighted sum, `105*5`."""
    return f"{number(value)}*{number(weight)}"


def join_terms(
    terms: Sequence[str], max_terms: int | None, sep: str = " + ", noun: str = "terms"
) -> str:
    """`a + b + c`, or with more than `max_terms` terms the first ones, a count, and the last one."""
    if max_terms is None or len(terms) <= max_terms:
        return sep.join(terms)
    keep = max(max_terms - 1, 0)
    left_out = len(terms) - keep - 1
    shown = [*terms[:keep], f"...{left_out} more {noun}...", terms[-1]]
    return sep.join(shown)


def check_count(name: str, value: int | None, minimum: int = 0) -> int | None:
    """None, or an int of at least `minimum`: max_steps and max_terms."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"Expected {name} to be None or an int of at least {minimum}, "
            f"received: {name}={value!r}"
        )
    return value


class StepPrinter:
    """Prints header lines and the first `max_steps` steps, then says how many it left out."""

    def __init__(self, verbose: bool, file: TextIO | None, max_steps: int | None) -> None:
        self.verbose = bool(verbose)
        self.file = file
        self.max_steps = check_count("max_steps", max_steps)

    def line(self, text: str) -> None:
        """One line of text, printed whenever verbose (the stream is looked up at call time)."""
        if self.verbose:
            print(text, file=self.file if self.file is not None else sys.stdout)

    def limit(self, total: int) -> int:
        """How many of `total` steps to print."""
        if not self.verbose:
            return 0
        return total if self.max_steps is None else min(total, self.max_steps)

    def finish(self, total: int, noun: str) -> None:
        """Says how many of `total` steps (each one `noun`) were left out, and how to see them."""
        hidden = total - self.limit(total)
        if self.verbose and hidden:
            self.line(
                f"... {hidden} more {noun}{'' if hidden == 1 else 's'} not shown (max_steps={self.max_steps}; "
                "pass max_steps=None to print every step)"
            )
