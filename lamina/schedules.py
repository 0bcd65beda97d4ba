"""`lamina.schedules` is `lamina.optimizers.schedules` (Keras's path), kept for code that
imported it here."""

from lamina.optimizers.schedules import (  # noqa: F401
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
    deserialize,
    get,
    serialize,
)
