"""Keras 3's progress bar, cheap to call every step.

    469/469 ━━━━━━━━━━━━━━━━━━━━ 5s 10ms/step - accuracy: 0.9812 - loss: 0.0612

On a terminal or in a Jupyter notebook the line is redrawn in place (carriage
return) at most every `interval` seconds, showing `ETA: 3s` while running. On a stream that is not a
terminal (CI logs, files) only the final line is written. `verbose=2` writes one
line per epoch: `469/469 - 5s - 10ms/step - accuracy: 0.9812 - loss: 0.0612`.

The training loop asks `should_redraw(current)` before turning tensors into
floats, so the usual step costs no device synchronisation:

    if bar.should_redraw(step):
        bar.update(step, [(k, v.item()) for k, v in logs.items()])
    else:
        bar.update(step)
"""

from __future__ import annotations

import math
import operator
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from lamina.utils import io_utils

_GREEN, _GREY, _RESET = "\x1b[32m", "\x1b[37m", "\x1b[0m"
_DONE, _TODO, _TODO_PLAIN = "━", "━", "─"


def _is_notebook_stream(stream: TextIO) -> bool:
    """True when `stream` is a Jupyter kernel's output (ipykernel's OutStream).

    Notebook front ends apply a carriage return to the stream's text, so the bar is
    redrawn in place there. ipykernel being imported is not enough: a script that
    imports it while writing to a file or a pipe still gets only final lines.
    """
    iostream = sys.modules.get("ipykernel.iostream")
    out_stream = getattr(iostream, "OutStream", None)
    return isinstance(out_stream, type) and isinstance(stream, out_stream)


def _is_dynamic(stream: TextIO) -> bool:
    """True for terminals and notebooks, where a line can be redrawn in place."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return _is_notebook_stream(stream)


def format_value(value: float) -> str:
    """Keras's metric format: 4 decimals, or scientific when |value| <= 1e-3."""
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def format_eta(seconds: float) -> str:
    """'3s', '1:05' or '1:01:05', as Keras."""
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def format_time_per_unit(seconds: float, unit_name: str = "step") -> str:
    """'10ms/step', '2s/step' or '850us/step', as Keras."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


class Progbar:
    """A progress bar with Keras's constructor, `update` and `add`.

    Args beyond Keras's: `file` (default: sys.stdout at write time),
    `dynamic_display` (redraw in place; default: the stream is a TTY or notebook),
    `color` (default: dynamic and $NO_COLOR unset), `clock` (seconds, for tests).
    Metrics named in `stateful_metrics` are shown as given; others are averaged
    over steps, weighted by the steps each value covers. With `stateless_metrics`
    instead, only the metrics it names are averaged.
    """

    def __init__(
        self,
        target: int | None,
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        stateful_metrics: Iterable[str] | None = None,
        stateless_metrics: Iterable[str] | None = None,
        unit_name: str = "step",
        *,
        file: TextIO | None = None,
        dynamic_display: bool | None = None,
        color: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if target is not None:
            try:
                valid = operator.index(target) >= 0
            except TypeError:
                valid = False
            if not valid:
                raise ValueError(
                    f"Expected target to be a non-negative int or None, received: target={target!r}"
                )
            target = operator.index(target)
        if verbose not in (0, 1, 2):
            raise ValueError(f"Expected verbose in 0, 1 or 2, received: verbose={verbose!r}")
        self.target = target
        self.width = width
        self.verbose = int(verbose)
        self.interval = interval
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Expected only one of stateful_metrics and stateless_metrics, received: both"
            )
        self.stateful_metrics = set(stateful_metrics or ())
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        self.unit_name = unit_name
        self._file = file
        stream = file if file is not None else sys.stdout
        if dynamic_display is None:
            dynamic_display = _is_dynamic(stream) and io_utils.is_interactive_logging_enabled()
        self.dynamic_display = dynamic_display
        if color is None:
            color = self.dynamic_display and not os.environ.get("NO_COLOR")
        self.color = color
        self._clock = clock
        self._values: dict[str, list[float]] = {}
        self._values_order: list[str] = []
        self._seen_so_far = 0
        self._start = clock()
        self._last_update = -math.inf
        self._time_after_first_step: float | None = None
        self._prev_width = 0

    def _is_stateful(self, name: str) -> bool:
        """Shown as given (not averaged over the steps): listed in stateful_metrics, or, with
        stateless_metrics given, not listed there."""
        if self.stateless_metrics is not None:
            return name not in self.stateless_metrics
        return name in self.stateful_metrics

    # -- when to draw -------------------------------------------------------
    def _finalizes(self, current: int | None, finalize: bool | None) -> bool:
        if finalize is not None:
            return finalize
        return self.target is not None and current is not None and current >= self.target

    def should_redraw(
        self, current: int | None = None, now: float | None = None, finalize: bool | None = None
    ) -> bool:
        """Whether `update(current, ...)` now would write output (so values are worth computing).

        True for the final step (`current >= target`, or `finalize=True`) unless
        `verbose=0`; while running, only on a dynamic display and once `interval`
        seconds have passed since the last draw. `now` defaults to the bar's clock.
        """
        if self.verbose == 0:
            return False
        if self._finalizes(current, finalize):
            return True
        if self.verbose == 2 or not self.dynamic_display:
            return False
        now = self._clock() if now is None else now
        return now - self._last_update >= self.interval

    # -- state --------------------------------------------------------------
    def update(
        self,
        current: int,
        values: Iterable[tuple[str, float]] | None = None,
        finalize: bool | None = None,
    ) -> None:
        """Record progress `current` (steps done) and metric `values`; redraw if due.

        `finalize` defaults to `current >= target`; the final call writes the
        complete line with the elapsed time instead of the ETA.
        """
        finalize = self._finalizes(current, finalize)
        for name, value in values or ():
            value = float(value)
            if name not in self._values_order:
                self._values_order.append(name)
            if self._is_stateful(name) or finalize:
                self._values[name] = [value, 1]
            else:
                weight = max(current - self._seen_so_far, 1)
                total = self._values.setdefault(name, [0.0, 0])
                total[0] += value * weight
                total[1] += weight
        self._seen_so_far = current
        now = self._clock()
        per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            if not finalize and (
                not self.dynamic_display or now - self._last_update < self.interval
            ):
                return
            self._draw_bar(current, now, per_unit, finalize)
        elif self.verbose == 2 and finalize:
            self._write(self._summary_line(current, now, per_unit) + "\n")
        self._last_update = now

    def add(self, n: int, values: Iterable[tuple[str, float]] | None = None) -> None:
        """Advance by `n` steps."""
        self.update(self._seen_so_far + n, values)

    def _estimate_step_duration(self, current: int, now: float) -> float:
        """Seconds per step, excluding the first step (compilation, warm-up), as Keras."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit

    # -- text ---------------------------------------------------------------
    def _count(self, current: int) -> str:
        if self.target is None:
            return f"{current:7d}/Unknown"
        digits = len(str(self.target))
        return f"{current:{digits}d}/{self.target}"

    def _metrics(self) -> str:
        parts = []
        for name in self._values_order:
            total, count = self._values[name]
            parts.append(f" - {name}: {format_value(total / max(1, count))}")
        return "".join(parts)

    def _bar(self, current: int) -> tuple[str, int]:
        """The bar characters (maybe coloured) and their visible width."""
        if self.target is None:
            return "", 0
        ratio = current / self.target if self.target else 1.0
        done = min(max(int(self.width * ratio), 0), self.width)
        todo = self.width - done
        if self.color:
            text = (_GREEN + _DONE * done + _RESET if done else "") + (
                _GREY + _TODO * todo + _RESET if todo else ""
            )
        else:
            text = _DONE * done + _TODO_PLAIN * todo
        return " " + text, 1 + self.width

    def _draw_bar(self, current: int, now: float, per_unit: float, finalize: bool) -> None:
        count = self._count(current)
        bar, bar_width = self._bar(current)
        if self.target is not None and not finalize:
            timing = f" ETA: {format_eta(per_unit * (self.target - current))}"
        else:
            timing = f" {now - self._start:.0f}s"
        info = f"{timing} {format_time_per_unit(per_unit, self.unit_name)}{self._metrics()}"
        width = len(count) + bar_width + len(info)
        if not self.dynamic_display:
            self._write(count + bar + info + "\n")
            return
        pad = " " * max(self._prev_width - width, 0)
        self._write("\r" + count + bar + info + pad + ("\n" if finalize else ""))
        self._prev_width = 0 if finalize else width

    def _summary_line(self, current: int, now: float, per_unit: float) -> str:
        count = self._count(current) if self.target is not None else str(current)
        per = format_time_per_unit(per_unit, self.unit_name)
        return f"{count} - {now - self._start:.0f}s - {per}{self._metrics()}"

    def _write(self, text: str) -> None:
        if self._file is None and not io_utils.is_interactive_logging_enabled():
            io_utils.logger.info(text.strip("\r\n"))
            return
        stream = self._file if self._file is not None else sys.stdout
        stream.write(text)
        stream.flush()
