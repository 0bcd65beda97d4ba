"""Plots of what a model learned: learning curves (more to come: mistakes, filters, feature maps)."""

from lamina.plot.history import plot_history

__all__ = ["plot_history"]
