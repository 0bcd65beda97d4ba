"""TorchOptimizer: a torch.optim optimizer (instance or class) behind Lamina's API."""

from __future__ import annotations

import pytest
import torch
from least_squares import W0, run_lamina, torch_params

from lamina import optimizers


def test_wraps_torch_optimizer_instance_and_class():
    params = torch_params()
    wrapped = optimizers.get(torch.optim.SGD(params, lr=0.1, momentum=0.9))
    assert isinstance(wrapped, optimizers.TorchOptimizer) and wrapped.learning_rate == 0.1
    run_lamina(wrapped, steps=3, params=params)
    ref = run_lamina(optimizers.SGD(0.1, momentum=0.9), steps=3)
    for a, b in zip(params, ref):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="none of the 2 trainable parameters"):
        wrapped.build(torch_params())
    wrapped.learning_rate = 0.01  # e.g. ReduceLROnPlateau
    assert wrapped.torch_optimizer.param_groups[0]["lr"] == 0.01
    state = wrapped.state_dict()
    again = optimizers.get(torch.optim.SGD(params, lr=0.5, momentum=0.9))
    again.load_state_dict(state)
    assert again.learning_rate == 0.01 and int(again.iterations) == 3
    from_class = optimizers.get(torch.optim.RAdam)
    out = run_lamina(from_class, steps=2)
    assert not torch.equal(out[0].detach(), torch.tensor(W0[0]))
    assert (
        optimizers.deserialize(optimizers.serialize(from_class)).get_config()
        == from_class.get_config()
    )
