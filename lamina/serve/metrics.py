"""The server's counters in Prometheus' text format: answers by HTTP status, and per
model the batches run, the samples and requests in them and the largest batch (samples
per batch = samples / batches, the batcher's effect under load)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def metrics_text(models: Any, responses: Mapping[int, int]) -> str:
    """Prometheus exposition text of the counters."""
    lines = [
        "# TYPE lamina_serve_responses_total counter",
        *(
            f'lamina_serve_responses_total{{code="{code}"}} {count}'
            for code, count in sorted(responses.items())
        ),
    ]
    counters = {
        "batches": ("counter", "batches"),
        "samples": ("counter", "rows"),
        "requests": ("counter", "requests"),
        "largest_batch": ("gauge", "largest"),
    }
    for metric, (kind, attr) in counters.items():
        suffix = "_total" if kind == "counter" else ""
        lines.append(f"# TYPE lamina_serve_{metric}{suffix} {kind}")
        for name, served in models.models.items():
            value = getattr(served.batcher.stats, attr)
            lines.append(f'lamina_serve_{metric}{suffix}{{model="{name}"}} {value}')
    return "\n".join(lines) + "\n"
