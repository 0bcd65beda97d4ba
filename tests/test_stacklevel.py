"""lamina.stacklevel: warnings raised inside Lamina name the user's line."""

from __future__ import annotations

import inspect
import warnings

from lamina.data import image_bad_files
from lamina.stacklevel import user_stacklevel


def test_a_warning_raised_outside_lamina_names_its_own_line() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        warnings.warn("here", UserWarning, stacklevel=user_stacklevel())
    assert [(w.filename, w.lineno) for w in caught] == [(__file__, line)]


def test_the_bad_image_file_warning_names_the_callers_line() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        image_bad_files.report([(3, "cannot decode cat.jpg")], "skip")
    assert [(w.filename, w.lineno) for w in caught] == [(__file__, line)]
    assert "cat.jpg" in str(caught[0].message)
