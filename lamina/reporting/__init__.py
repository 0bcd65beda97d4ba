"""The training report: one self-contained HTML page of what a model learned and got wrong.

`lamina.report(model, history, data=(x_test, y_test))` writes it and returns its path.
"""

from lamina.reporting.training_report import report

__all__ = ["report"]
