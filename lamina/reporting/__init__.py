"""The training report: one self-contained HTML page of what a model learned and got wrong.

    path = lamina.report(model, history, data=(x_test, y_test))
"""

from lamina.reporting.report import report

__all__ = ["report"]
