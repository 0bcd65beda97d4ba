"""Where the progress bar redraws in place: a Jupyter kernel's output stream, but not any
stream of a process that merely imported ipykernel. (The bar drawn inside a running
notebook is checked end to end, against Keras's, in tests/test_notebooks.py.)"""

from __future__ import annotations

import io

import pytest

from lamina.utils.progbar import Progbar

iostream = pytest.importorskip("ipykernel.iostream")


class _DetachedOutStream(iostream.OutStream):
    """An ipykernel OutStream without a kernel behind it (only its type matters here)."""

    def __init__(self) -> None:
        pass

    def isatty(self) -> bool:
        return False  # a kernel's stream is not a terminal


def _bare_out_stream() -> io.TextIOBase:
    return _DetachedOutStream()


def test_a_file_is_not_redrawn_in_place_even_with_ipykernel_imported():
    out = io.StringIO()
    bar = Progbar(4, file=out, interval=0.0)
    assert not bar.dynamic_display
    for step in range(1, 5):
        bar.update(step, [("loss", 1.0 / step)])
    # only the final line, as on any file: no carriage returns, one line
    assert "\r" not in out.getvalue()
    assert out.getvalue().count("\n") == 1 and out.getvalue().startswith("4/4")


def test_a_kernel_output_stream_is_redrawn_in_place():
    assert Progbar(4, file=_bare_out_stream()).dynamic_display


def test_the_dynamic_display_override_still_wins_in_a_kernel():
    assert not Progbar(4, file=_bare_out_stream(), dynamic_display=False).dynamic_display
