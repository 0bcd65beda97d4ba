"""`jit_compile='auto'`'s policy object, fed step timings and model facts (no clock here)."""

from __future__ import annotations

import pytest

from lamina.models.compile_policy import CompilePolicy, ModelFacts


def _eager_steps(policy: CompilePolicy, seconds: float, n: int) -> None:
    """Run `n` eager steps of `seconds` through the policy, as StepRunner does."""
    for _ in range(n):
        timed = policy.times_eager_step()
        policy.count_steps(1)
        if timed:
            policy.eager_step(seconds)


def test_pinned_modes_never_change():
    for mode, decision in ((True, "compiled"), (False, "eager")):
        policy = CompilePolicy(mode)
        policy.plan(100_000)
        _eager_steps(policy, 1.0, 50)
        assert policy.decision == decision and policy.compile_now is (mode is True)
        assert not policy.times_eager_step() and policy.take_message() is None


def test_auto_compiles_when_the_rest_of_the_run_repays_the_compile():
    policy = CompilePolicy("auto")
    policy.plan(1_200)
    _eager_steps(policy, 0.05, policy.warmup_steps + policy.probe_steps - 1)
    assert policy.decision == "auto"  # one probe step short
    _eager_steps(policy, 0.05, 1)
    # 1,190 steps left x 50 ms x (1 - 1/1.4) = 17 s saved > 10 s of compiling
    assert policy.decision == "compiled" and policy.compile_now
    message = policy.take_message()
    assert message.startswith("compiled (expected 1.4x over 1,190 remaining steps")
    assert policy.take_message() is None  # reported once


def test_auto_waits_on_a_short_run_and_says_so_once():
    policy = CompilePolicy("auto")
    policy.plan(100)
    _eager_steps(policy, 0.01, 30)
    # 90 steps x 10 ms x 0.29 = 0.26 s: not worth 10 s
    assert policy.decision == "auto" and not policy.compile_now
    assert policy.take_message().startswith("eager for now (90 remaining steps")
    _eager_steps(policy, 0.01, 30)
    assert policy.take_message() is None


def test_auto_compiles_once_lost_time_over_several_fits_repays_it():
    """Ski rental: short fits add up. Fits of 40 steps of 50 ms (38 timed each); a compile
    is assumed to cost 1 s; each timed step loses 50 ms x (1 - 1/1.4) = 14.3 ms."""
    policy = CompilePolicy("auto")
    policy.compile_seconds = 1.0
    policy.plan(40)
    _eager_steps(policy, 0.05, 40)
    assert policy.decision == "auto"  # 38 x 14.3 ms = 0.54 s lost
    policy.plan(40)
    _eager_steps(policy, 0.05, 40)
    assert policy.decision == "compiled"  # 1 s lost after 70 timed steps, in the second fit


def test_auto_lost_time_threshold_is_exact():
    policy = CompilePolicy("auto")
    policy.compile_seconds = 2.0
    policy.plan(None)  # unknown length: only the time lost so far counts
    saved = 1.0 - 1.0 / policy.speedup
    steps_needed = int(2.0 / (0.1 * saved)) + 1  # timed steps whose saving passes 2 s
    _eager_steps(policy, 0.1, policy.warmup_steps + steps_needed - 1)
    assert policy.decision == "auto"
    _eager_steps(policy, 0.1, 1)
    assert policy.decision == "compiled"


@pytest.mark.parametrize(
    "facts, why",
    [
        (ModelFacts("cpu", has_convolutions=True), "a model with convolutions on the CPU"),
        (ModelFacts("cpu", custom_step=True), "a custom train_step"),
    ],
)
def test_auto_keeps_models_expected_no_speedup_eager(facts, why):
    policy = CompilePolicy("auto", facts)
    assert policy.decision == "eager-predicted"  # known before any step
    assert policy.take_message() == f"eager ({why})"
    policy.compile_seconds = 0.0  # any saving would repay a compile
    policy.plan(10_000)
    assert not policy.times_eager_step()  # final: no timing
    _eager_steps(policy, 0.05, 20)
    assert policy.decision == "eager-predicted" and not policy.compile_now


def test_auto_expects_a_speedup_for_convolutions_on_cuda():
    policy = CompilePolicy("auto", ModelFacts("cuda", has_convolutions=True))
    assert policy.expected_speedup() == (policy.speedup, "")


def test_auto_returns_to_eager_when_the_compiled_step_measures_slower():
    policy = CompilePolicy("auto")
    policy.compile_seconds = 0.0
    policy.plan(10_000)
    _eager_steps(policy, 0.010, policy.warmup_steps + policy.probe_steps)
    assert policy.decision == "compiled"
    policy.take_message()
    for _ in range(policy.probe_steps - 1):
        assert policy.times_compiled_step()
        policy.compiled_step(0.012)
    assert policy.decision == "compiled"
    policy.compiled_step(0.012)
    assert policy.decision == "eager-measured" and not policy.compile_now
    assert policy.take_message() == (
        "eager (the compiled step measured 12.0 ms, the eager step 10.0 ms)"
    )
    assert not policy.times_compiled_step() and not policy.times_eager_step()


def test_auto_keeps_a_compiled_step_that_measures_faster():
    policy = CompilePolicy("auto")
    policy.compile_seconds = 0.0
    policy.plan(10_000)
    _eager_steps(policy, 0.010, policy.warmup_steps + policy.probe_steps)
    for _ in range(policy.probe_steps):
        policy.compiled_step(0.006)
    assert policy.decision == "compiled" and not policy.times_compiled_step()


def test_pinned_compile_is_never_verified():
    policy = CompilePolicy(True)
    assert not policy.times_compiled_step()


def test_each_fit_warms_up_before_timing():
    policy = CompilePolicy("auto")
    policy.plan(10)
    timed = []
    for _ in range(4):
        timed.append(policy.times_eager_step())
        policy.count_steps(1)
    assert timed == [False, False, True, True]
    policy.plan(10)  # a new fit warms up again
    assert not policy.times_eager_step()


def test_unknown_modes_are_refused():
    with pytest.raises(ValueError, match="jit_compile"):
        CompilePolicy("yes")
