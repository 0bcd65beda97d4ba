"""What every plot shares: matplotlib imported on first use, and an atomic PNG save.

Plots import matplotlib only when drawn, so `import lamina` stays light and works without it.
Each plot returns its Figure with the plotted data attached as `figure.lamina_data`, so tests
and reports can check what a picture shows, not only how it looks.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from lamina.io_utils import atomic_write


def pyplot() -> Any:
    """matplotlib.pyplot, on the off-screen Agg backend unless a backend was chosen already."""
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Expected matplotlib for plots, received: not installed. pip install matplotlib"
        ) from err
    # A backend chosen by the user or the host (MPLBACKEND, which Jupyter's kernel sets to its
    # inline backend, or pyplot already imported) stays; otherwise draw off screen.
    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def finish(
    fig: Any, path: str | os.PathLike | None, data: dict[str, Any] | None = None, dpi: int = 100
) -> Any:
    """Attach `data` as `fig.lamina_data`; save atomically to `path` (format from its suffix).

    A saved figure is closed (pyplot would otherwise keep every figure alive); the Figure
    object still returns and can be saved again with `fig.savefig`.
    """
    fig.lamina_data = dict(data or {})
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as f:
            fig.savefig(f, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png")
        pyplot().close(fig)
    return fig


def png_bytes(fig: Any, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (for reports that embed images)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, format="png")
    return buffer.getvalue()
