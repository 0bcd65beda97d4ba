"""Layers with Keras's names and semantics, one family per module."""

from lamina.layers.base import Layer
from lamina.layers.core import Activation, Dense, Input, InputLayer
from lamina.layers.input_spec import InputSpec
from lamina.layers.symbolic import KerasTensor

__all__ = ["Activation", "Dense", "Input", "InputLayer", "InputSpec", "KerasTensor", "Layer"]
