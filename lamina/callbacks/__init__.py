"""Keras-compatible training callbacks: the same hook names, arguments and behaviour.

    model.fit(x, y, epochs=100, callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])

One module per callback; `CallbackList` is what the engine calls. The engine sets
`callback.model` (with `stop_training`, `optimizer`, `get_weights()`, `set_weights()`)
and `callback.params` (`epochs`, `steps`, `verbose`), and passes epoch logs as dicts of
Python floats. Callbacks import no engine code; in a distributed run they ask
`lamina.distributed.env` whether this process is rank 0, which alone prints and writes.
"""

from lamina.callbacks.backup_and_restore import BackupAndRestore
from lamina.callbacks.callback import Callback
from lamina.callbacks.callback_list import CallbackList
from lamina.callbacks.csv_logger import CSVLogger
from lamina.callbacks.diagnostics import Diagnostics
from lamina.callbacks.early_stopping import EarlyStopping
from lamina.callbacks.history import History
from lamina.callbacks.lambda_callback import LambdaCallback
from lamina.callbacks.learning_rate_scheduler import LearningRateScheduler
from lamina.callbacks.model_checkpoint import ModelCheckpoint
from lamina.callbacks.progbar_logger import ProgbarLogger
from lamina.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from lamina.callbacks.remote_monitor import RemoteMonitor
from lamina.callbacks.swap_ema_weights import SwapEMAWeights
from lamina.callbacks.tensorboard import TensorBoard
from lamina.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "Diagnostics",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "RemoteMonitor",
    "SwapEMAWeights",
    "TensorBoard",
    "TerminateOnNaN",
]
