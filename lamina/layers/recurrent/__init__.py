"""Recurrent layers with Keras 3's API on PyTorch's fused kernels.

One concept per module: the cells (`simple_rnn_cell`, `lstm_cell`, `gru_cell`,
`stacked_cells`, with `cell_base`), the generic `RNN` layer (`base_rnn`) and its step
loop (`step_loop`), the built-in layers (`simple_rnn`, `lstm`, `gru`, on
`builtin_rnn`), the fused kernels (`fused`; `fused_op` inside compiled graphs), the
Keras-to-PyTorch weight layout (`gate_layout`), `Bidirectional` and nested configs.
"""

from lamina.layers.recurrent.base_rnn import RNN
from lamina.layers.recurrent.bidirectional import Bidirectional
from lamina.layers.recurrent.gru import GRU
from lamina.layers.recurrent.gru_cell import GRUCell
from lamina.layers.recurrent.lstm import LSTM
from lamina.layers.recurrent.lstm_cell import LSTMCell
from lamina.layers.recurrent.simple_rnn import SimpleRNN
from lamina.layers.recurrent.simple_rnn_cell import SimpleRNNCell
from lamina.layers.recurrent.stacked_cells import StackedRNNCells

__all__ = [
    "Bidirectional",
    "GRU",
    "LSTM",
    "RNN",
    "GRUCell",
    "LSTMCell",
    "SimpleRNN",
    "SimpleRNNCell",
    "StackedRNNCells",
]
