"""The classic symmetric networks of the courses: Hopfield networks and restricted Boltzmann machines.

`Hopfield` stores bipolar patterns (Hebb's or Storkey's rule) and recalls them from noisy probes;
`hopfield_capacity` measures recall against the load P/N (it collapses near 0.138 N); `RBM` is a
Bernoulli-Bernoulli restricted Boltzmann machine trained by contrastive divergence. All compute in
torch and take NumPy arrays, lists or tensors. Importing this loads no plotting library.
"""

from lamina.classic.capacity import CRITICAL_LOAD, CapacityCurve, hopfield_capacity
from lamina.classic.hopfield import Hopfield
from lamina.classic.rbm import RBM, CDGradient

__all__ = ["CRITICAL_LOAD", "CDGradient", "CapacityCurve", "Hopfield", "RBM", "hopfield_capacity"]
