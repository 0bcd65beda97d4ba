from lamina.optimizers import schedules  # noqa: F401
from lamina.optimizers.base import *  # noqa: F401,F403
from lamina.optimizers.base import _compiler_disable  # noqa: F401
