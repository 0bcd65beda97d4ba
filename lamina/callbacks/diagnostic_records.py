"""What Diagnostics keeps: per-epoch layer statistics and findings, as plain records.

Both are dataclasses of numbers and strings; `to_dict()` gives a JSON-ready dict (NaN and
infinity become None, which JSON has no spelling for). The HTML report and any user code
read them from `history.diagnostics.records` and `history.diagnostics.findings`.

    LayerRecord(epoch=0, layer="dense", kind="Dense", activation="sigmoid",
                grad_norm=2.1e-4, grad_rms=2.3e-6, weight_norm=6.4, update_ratio=1.8e-5,
                dead_fraction=None, saturation=0.02, probes=3, updates=4)
    Finding(epoch=0, kind="vanishing_gradients", layer="dense",
            message="...", advice="...")
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

# Every kind of finding, in the order Diagnostics checks them.
FINDING_KINDS = (
    "exploding_gradients",
    "vanishing_gradients",
    "dead_relu",
    "learning_rate_too_small",
    "shuffled_labels",
    "overfitting",
    "underfitting",
    "stalled_loss",
)


def json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class LayerRecord:
    """One layer's statistics over one epoch (medians over that epoch's measurements).

    `grad_norm`: L2 norm of the loss's gradient for the layer's trainable weights, on a
    probe batch; `grad_rms`: that norm per weight (norm / sqrt(count)); `weight_norm`: L2
    norm of the weights; `update_ratio`: ||step|| / ||weights|| of one optimizer step;
    `dead_fraction`: share of ReLU units silent on the whole probe batch; `saturation`:
    share of sigmoid/tanh outputs where the derivative is below a tenth of its peak.
    None where it does not apply (no weights, another activation) or was not measured.
    `probes` and `updates` count the measurements behind the medians; `position` is the
    layer's place in the forward pass (0 first); `output` marks the model's output layers.
    """

    epoch: int
    layer: str
    kind: str
    activation: str | None
    position: int
    output: bool
    grad_norm: float | None = None
    grad_rms: float | None = None
    weight_norm: float | None = None
    update_ratio: float | None = None
    dead_fraction: float | None = None
    saturation: float | None = None
    probes: int = 0
    updates: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: json_number(v) for k, v in asdict(self).items()}


@dataclass
class Finding:
    """One problem seen at the end of an epoch: what is wrong and what to try.

    `kind` is one of `FINDING_KINDS`; `layer` names the layer concerned, or None when the
    finding is about the whole model (a loss curve); `evidence` holds the numbers the
    finding rests on (floats and strings).
    """

    epoch: int
    kind: str
    layer: str | None
    message: str
    advice: str
    evidence: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["evidence"] = {k: json_number(v) for k, v in self.evidence.items()}
        return out

    def __str__(self) -> str:
        return f"{self.message} Try: {self.advice}"
