"""`jit_compile='auto'`: when the train step is worth compiling.

Compiling costs seconds up front and only pays back per step, so the choice depends
on the run: this object is fed eager and compiled step timings and the run's length,
and answers "eager" or "compiled". It holds no clock and runs no step; `StepRunner`
(compiled_step.py) times the steps and asks it.

The rule ('auto'):
- a custom `train_step`, or a model with convolutions on the CPU, stays eager: the
  first may not compile at all, and for the second oneDNN's convolution kernels do
  the work either way (the compiled step measured slower there, after a long compile);
- otherwise, after `probe_steps` timed eager steps (their median is the eager step's
  time: a collector pause or a cold cache in one step does not decide) it compiles
  once either the rest of this fit would save more than a compile costs, or the time
  eager steps have lost so far (over all fits) reaches that cost: the ski-rental rule,
  which never spends more than twice the better choice;
- once compiled it times `probe_steps` compiled steps and returns to eager for good
  if their median is not below the eager steps' median;
- what earlier runs measured for the same step (`know`, from the compile ledger,
  `runtime/compile_ledger.py`) replaces the assumptions: the last compile's time (a
  warm on-disk cache makes it several times cheaper than the default assumes), the
  compiled step's time, and, until the step has compiled once, the time earlier runs
  lost by staying eager. Once it has, every new process still pays a (warm) compile,
  so a run compiles only when its own savings repay that. A step saved as a library
  (`saved_step.py`) costs nothing to load: it runs compiled from the start when an
  earlier run measured it faster, else after the timed eager steps, and the compiled
  steps' timing then decides as above.
`jit_compile=True` / `False` pin the choice; the decision is reported in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

# Decisions: "compiled" and "eager" are pinned by the user; "auto" is undecided
# (eager for now); the others are 'auto' decisions that are final.
COMPILED = "compiled"
EAGER = "eager"
AUTO = "auto"
EAGER_PREDICTED = "eager-predicted"
EAGER_MEASURED = "eager-measured"


@dataclass(frozen=True)
class ModelFacts:
    """What the policy knows about the model before any step runs."""

    device_type: str = "cpu"
    has_convolutions: bool = False
    custom_step: bool = False


class CompilePolicy:
    """Decides between the eager and the compiled train step (see the module doc).

    `mode` is compile()'s `jit_compile`: True, False or 'auto'. Feed it with `plan`
    (a fit starts), `eager_step(seconds)` and `compiled_step(seconds)`; read
    `decision` and `compile_now`. `message` is the line to report, once, when the
    decision changes (None otherwise).
    """

    probe_steps = 20  # timed steps before deciding (a fit's first steps are warm-up)
    warmup_steps = 5  # untimed steps at the start of each fit
    compile_seconds = 10.0  # assumed cost of a compile
    speedup = 1.4  # expected speed-up of the compiled step
    keep_ratio = 0.95  # compiled must measure below this fraction of eager to stay

    def __init__(self, mode: bool | str, facts: ModelFacts | None = None) -> None:
        if mode not in (True, False, AUTO):
            raise ValueError(
                f"Expected jit_compile in True, False or 'auto', received: jit_compile={mode!r}"
            )
        self.mode = mode
        self.facts = facts or ModelFacts()
        self.decision = {True: COMPILED, False: EAGER}.get(mode, AUTO)
        self.planned_steps: int | None = None
        self.done = 0  # steps of the current fit
        self.eager_seconds = 0.0  # timed eager steps, all fits
        self.timed_steps = 0
        self.recent: list[float] = []  # the latest timed eager steps (their median decides)
        self.compiled_recent: list[float] = []  # the timed compiled steps
        self.message: str | None = None
        self._said_waiting = False
        self.known_compile: float | None = None  # measured by an earlier run (ledger)
        self.known_step: float | None = None
        self.known_lost = 0.0
        self.saved = False  # the step is saved as a library: compiling costs nothing
        self.projected_savings = 0.0  # set when deciding: what compiling would save here
        self.measured_eager: float | None = None  # set when deciding: the eager step's median
        if self.decision == AUTO:
            speedup, why = self.expected_speedup()
            if speedup <= 1.0:  # known before any step: no need to time one
                self._set(EAGER_PREDICTED, f"eager ({why})")

    # ------------------------------------------------------------------ inputs
    def know(
        self,
        compile_seconds: float | None,
        compiled_step: float | None,
        lost_seconds: float = 0.0,
        eager_step: float | None = None,
        saved: bool = False,
    ) -> None:
        """What earlier runs measured for this train step (None: not measured).

        `saved`: the compiled step is saved as a library (`saved_step.py`) and loads in
        milliseconds. With an earlier run's compiled step time, faster than its eager one
        where that was measured too, 'auto' then compiles from the start.
        """
        self.known_compile = compile_seconds if compile_seconds and compile_seconds > 0 else None
        self.known_step = compiled_step if compiled_step and compiled_step > 0 else None
        self.known_lost = max(float(lost_seconds or 0.0), 0.0)
        self.saved = saved
        if not saved or self.decision != AUTO or self.known_step is None:
            return
        if eager_step is None or self.known_step < self.keep_ratio * eager_step:
            self._set(
                COMPILED,
                f"compiled (this step is saved compiled; an earlier run measured it at "
                f"{self.known_step * 1e3:.1f} ms a step)",
            )

    def plan(self, total_steps: int | None) -> None:
        """A fit starts and will take `total_steps` steps (None: unknown)."""
        self.planned_steps = total_steps
        self.done = 0

    def times_eager_step(self) -> bool:
        """Whether the next eager step should be timed and reported to `eager_step`."""
        return self.decision == AUTO and self.done >= self.warmup_steps

    def count_steps(self, n: int = 1) -> None:
        """`n` steps of the current fit ran (timed or not)."""
        self.done += n

    def eager_step(self, seconds: float) -> None:
        """One timed eager step took `seconds` (only while undecided)."""
        self.eager_seconds += seconds
        self.timed_steps += 1
        self.recent = [*self.recent[-(self.probe_steps - 1) :], seconds]
        if self.timed_steps >= self.probe_steps:
            self._decide()

    @property
    def checked(self) -> int:
        """How many compiled steps were timed."""
        return len(self.compiled_recent)

    def times_compiled_step(self) -> bool:
        """Whether the next compiled step (after the one that compiled) should be timed."""
        return self.mode == AUTO and self.decision == COMPILED and self.checked < self.probe_steps

    def compiled_step(self, seconds: float) -> None:
        """One timed compiled step took `seconds` ('auto' verifies the compile paid)."""
        self.compiled_recent.append(seconds)
        if self.checked == self.probe_steps and self.timed_steps:
            # medians on both sides: the first calls of a fresh compiled step (memory not
            # yet mapped) or one pause would otherwise send a faster step back to eager
            compiled = _median(self.compiled_recent)
            eager = _median(self.recent)
            if compiled > self.keep_ratio * eager:
                self._set(
                    EAGER_MEASURED,
                    f"eager (the compiled step measured {compiled * 1e3:.1f} ms, "
                    f"the eager step {eager * 1e3:.1f} ms)",
                )

    # ----------------------------------------------------------------- outputs
    @property
    def compile_now(self) -> bool:
        """True when the compiled step should run."""
        return self.decision == COMPILED

    def take_message(self) -> str | None:
        """The line to report for the latest decision, once."""
        message, self.message = self.message, None
        return message

    # ---------------------------------------------------------------- the rule
    def expected_speedup(self) -> tuple[float, str]:
        """The speed-up compiling is expected to give, and why when it is none."""
        if self.facts.custom_step:
            return 1.0, "a custom train_step"
        if self.facts.device_type == "cpu" and self.facts.has_convolutions:
            return 1.0, "a model with convolutions on the CPU"
        return self.speedup, ""

    def _decide(self) -> None:
        speedup, _ = self.expected_speedup()
        step = _median(self.recent)  # a pause skews no decision
        self.measured_eager = step
        if self.saved:  # nothing to repay: compile, and the compiled steps' timing decides
            self._set(
                COMPILED,
                f"compiled (this step is saved compiled; its steps are timed against the "
                f"eager step's {step * 1e3:.1f} ms)",
            )
            return
        if self.known_step is not None:  # measured before: this run's eager step against it
            speedup = step / self.known_step
            if speedup < 1.0 / self.keep_ratio:
                self._set(
                    EAGER_MEASURED,
                    f"eager (an earlier run measured the compiled step at "
                    f"{self.known_step * 1e3:.1f} ms, the eager step is {step * 1e3:.1f} ms)",
                )
                return
        saved = 1.0 - 1.0 / speedup
        cost = self.known_compile if self.known_compile is not None else self.compile_seconds
        measured = "measured" if self.known_compile is not None else "assumed"
        remaining = max((self.planned_steps or 0) - self.done, 0)
        ahead = remaining * step * saved
        # Earlier runs' lost time counts toward the first compile only: that one fills the
        # on-disk cache for good. Each later process pays its own (warm) compile again, so
        # only what this process saves can repay it.
        carried = self.known_lost if self.known_compile is None else 0.0
        behind = self.eager_seconds * saved + carried
        self.projected_savings = ahead
        if max(ahead, behind) > cost:
            self._set(
                COMPILED,
                f"compiled (expected {speedup:.1f}x over {remaining:,} remaining steps "
                f"of {step * 1e3:.1f} ms; a compile {measured} at {cost:.1f} s)",
            )
        elif not self._said_waiting:
            self._said_waiting = True
            self.message = (
                f"eager for now ({remaining:,} remaining steps of {step * 1e3:.1f} ms would "
                f"save {ahead:.1f} s, less than a compile's {cost:.1f} s, {measured})"
            )

    def _set(self, decision: str, why: str) -> None:
        self.decision = decision
        self.message = why


def _median(values: list[float]) -> float:
    """The middle value (the upper one of an even count)."""
    return sorted(values)[len(values) // 2]
