"""Connects one fit's compile policy to the compile ledger: read before, write after.

At a fit's first batch `CompileHistory` names the train step (`compile_signature`)
and tells the policy what earlier runs measured for it (`CompilePolicy.know`). As the
run goes it records what this run measured: the compile's time, the compiled step's
time, and, when 'auto' stays eager, the time compiling would have saved (which adds
up over runs: the ski-rental rule across processes). `StepRunner` calls it; it holds
no clock.
"""

from __future__ import annotations

from typing import Any

from lamina import config
from lamina.models.compile_policy import AUTO, CompilePolicy
from lamina.models.compile_signature import step_signature
from lamina.models.saved_step import SavedSteps
from lamina.runtime.compile_ledger import CompileLedger

# What 'auto' takes a saved step's load to cost before a run has measured it (seconds).
LIBRARY_LOAD_SECONDS = 0.05


class CompileHistory:
    """The ledger entry of one model's train step, for its policy (see the module doc)."""

    def __init__(self, model: Any, policy: CompilePolicy, ledger: CompileLedger | None = None):
        self.model = model
        self.policy = policy
        self.ledger = ledger
        self.signature: str | None = None
        self.started = False
        self.recorded_decision = False
        self.recorded_savings = 0.0  # what this run added to the ledger's lost time
        self.compiled_times: list[float] = []
        self.saved: SavedSteps | None = None  # the saved steps beside the ledger

    @property
    def active(self) -> bool:
        """True when this run reads and writes the ledger (a named step, a writable cache)."""
        return self.signature is not None and self.ledger is not None

    def first_batches(self, batches: list[tuple]) -> None:
        """The fit's first batches: name the step and hand the policy earlier measurements."""
        if self.started:
            return
        self.started = True
        if self.policy.mode is False:
            return
        if self.ledger is None:
            self.ledger = CompileLedger()
        self.signature = step_signature(self.model, batches)
        if not self.active:
            return
        self.saved = SavedSteps(self.ledger.directory)
        entry = self.ledger.get(self.signature)
        if entry is None:
            return
        compile_seconds = entry.compile_seconds
        saved = config.step_library() and self.saved.find(self.signature) is not None
        if saved:  # a saved library of this step loads in milliseconds: no compile to repay
            compile_seconds = min(compile_seconds or LIBRARY_LOAD_SECONDS, LIBRARY_LOAD_SECONDS)
        self.policy.know(
            compile_seconds, entry.compiled_step, entry.lost_seconds, entry.eager_step, saved
        )

    def after_eager_step(self) -> None:
        """Once 'auto' decided to stay eager: add what compiling would have saved."""
        if not self.active or self.recorded_decision or self.policy.mode != AUTO:
            return
        if self.policy.decision == AUTO and self.policy.timed_steps < self.policy.probe_steps:
            return
        self.recorded_decision = True
        facts = {"eager_step": self.policy.measured_eager}
        if not self.policy.compile_now and self.policy.projected_savings > 0:
            entry = self.ledger.get(self.signature)
            self.recorded_savings = self.policy.projected_savings
            facts["lost_seconds"] = (entry.lost_seconds if entry else 0.0) + self.recorded_savings
        self.ledger.update(self.signature, **facts)

    def compiled(self, seconds: float | None) -> None:
        """The step compiled in `seconds` (its first call): the earlier loss is repaid."""
        if self.active and seconds is not None:
            self.ledger.update(self.signature, compile_seconds=seconds, lost_seconds=0.0)

    @property
    def times_compiled_step(self) -> bool:
        """Whether the next compiled step should be timed for the ledger."""
        return self.active and len(self.compiled_times) < self.policy.probe_steps

    def compiled_step(self, seconds: float) -> None:
        """One timed compiled step; after `probe_steps` of them their median is recorded."""
        self.compiled_times.append(seconds)
        if len(self.compiled_times) == self.policy.probe_steps:
            median = sorted(self.compiled_times)[len(self.compiled_times) // 2]
            self.ledger.update(self.signature, compiled_step=median)
