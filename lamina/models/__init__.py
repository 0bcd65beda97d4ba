"""Models: Sequential, functional Model, subclassed Model, and the training engine."""

from lamina.models.functional import Functional
from lamina.models.model import Model
from lamina.models.sequential import Sequential
from lamina.saving.api import load_model, save_model
from lamina.saving.serialization import model_from_json

__all__ = ["Functional", "Model", "Sequential", "load_model", "model_from_json", "save_model"]
