"""Random ops, as `keras.random`: seeded draws on torch's generators.

gen = lamina.random.SeedGenerator(42)
x = lamina.random.normal((2, 3), seed=gen)   # new values each call
y = lamina.random.uniform((2, 3), seed=7)    # the same values each call
"""

from lamina.random.distributions import beta, binomial, gamma
from lamina.random.sampling import (
    categorical,
    dropout,
    normal,
    randint,
    shuffle,
    truncated_normal,
    uniform,
)
from lamina.random.seed_generator import SeedGenerator

__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "dropout",
    "gamma",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]
