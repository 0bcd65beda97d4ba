"""Loss functions by Keras name: per-sample functions and `Loss` classes.

    from lamina import losses
    loss = losses.get("sparse_categorical_crossentropy")
    loss(torch.tensor([2, 0]), torch.tensor([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]]))

`base` holds the `Loss` contract, `LossFunctionWrapper` and the reduction rules;
`regression`, `probabilistic`, `hinge`, `focal` (focal and generalized cross-entropy),
`overlap` (Dice, Tversky), `ctc` and `circle` the Keras losses (function and class side
by side); `validation` the target checks run before training; `serialization` get,
serialize and deserialize.
"""

from lamina.losses.base import Loss, LossFunctionWrapper, reduce_values
from lamina.losses.base import _labels as _labels  # class labels, used by lamina.metrics
from lamina.losses.base import _same_rank as _same_rank  # rank alignment, used by metrics
from lamina.losses.circle import Circle, circle
from lamina.losses.ctc import CTC, ctc
from lamina.losses.focal import (
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
)
from lamina.losses.hinge import (
    CategoricalHinge,
    Hinge,
    SquaredHinge,
    categorical_hinge,
    hinge,
    squared_hinge,
)
from lamina.losses.overlap import Dice, Tversky, dice, tversky
from lamina.losses.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from lamina.losses.regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    SumSquaredError,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    sum_squared_error,
)
from lamina.losses.serialization import deserialize, get, serialize

__all__ = [
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CTC",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "CategoricalHinge",
    "Circle",
    "CosineSimilarity",
    "Dice",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "SumSquaredError",
    "Tversky",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy",
    "categorical_hinge",
    "circle",
    "cosine_similarity",
    "ctc",
    "deserialize",
    "dice",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "reduce_values",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "sum_squared_error",
    "tversky",
]
