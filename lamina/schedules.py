from lamina.optimizers.schedules import *  # noqa: F401,F403
from lamina.optimizers.schedules import LearningRateSchedule, deserialize, get, serialize  # noqa: F401
