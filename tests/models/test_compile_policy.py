"""`jit_compile='auto'`'s policy object, fed step timings and model facts (no clock here)."""

from __future__ import annotations

import pytest

import lamina
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
    # 1,175 steps left x 50 ms x (1 - 1/1.4) = 17 s saved > 10 s of compiling
    assert policy.decision == "compiled" and policy.compile_now
    message = policy.take_message()
    assert message.startswith("compiled (expected 1.4x over 1,175 remaining steps")
    assert policy.take_message() is None  # reported once


def test_auto_waits_on_a_short_run_and_says_so_once():
    policy = CompilePolicy("auto")
    policy.plan(100)
    _eager_steps(policy, 0.01, 30)
    # 75 steps x 10 ms x 0.29 = 0.21 s: not worth 10 s
    assert policy.decision == "auto" and not policy.compile_now
    assert policy.take_message().startswith("eager for now (75 remaining steps")
    _eager_steps(policy, 0.01, 30)
    assert policy.take_message() is None


def test_auto_compiles_once_lost_time_over_several_fits_repays_it():
    """Ski rental: short fits add up. Fits of 45 steps of 50 ms (40 timed each); a compile
    is assumed to cost 1 s; each timed step loses 50 ms x (1 - 1/1.4) = 14.3 ms."""
    policy = CompilePolicy("auto")
    policy.compile_seconds = 1.0
    policy.plan(45)
    _eager_steps(policy, 0.05, 45)
    assert policy.decision == "auto"  # 40 x 14.3 ms = 0.57 s lost
    policy.plan(45)
    _eager_steps(policy, 0.05, 45)
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
    for _ in range(policy.warmup_steps + 2):
        timed.append(policy.times_eager_step())
        policy.count_steps(1)
    assert timed == [False] * policy.warmup_steps + [True, True]
    policy.plan(10)  # a new fit warms up again
    assert not policy.times_eager_step()


def test_unknown_modes_are_refused():
    with pytest.raises(ValueError, match="jit_compile"):
        CompilePolicy("yes")


# ------------------------------------------------ what earlier runs measured (the ledger)
def test_a_measured_warm_compile_makes_a_short_run_compile():
    """Six epochs of 469 steps at 2 ms: the assumed 10 s compile keeps them eager; a compile
    measured at 2 s with a 0.9 ms compiled step (2,789 x 1.1 ms = 3.1 s saved) does not."""
    assumed = CompilePolicy("auto")
    assumed.plan(6 * 469)
    _eager_steps(assumed, 0.002, assumed.warmup_steps + assumed.probe_steps)
    assert assumed.decision == "auto"
    assert "less than a compile's 10.0 s, assumed" in assumed.take_message()

    known = CompilePolicy("auto")
    known.know(compile_seconds=2.0, compiled_step=0.0009)
    known.plan(6 * 469)
    _eager_steps(known, 0.002, known.warmup_steps + known.probe_steps)
    assert known.decision == "compiled"
    assert known.take_message().startswith("compiled (expected 2.2x over 2,789 remaining steps")


def test_a_measured_compile_too_dear_for_the_run_stays_eager():
    policy = CompilePolicy("auto")
    policy.know(compile_seconds=5.0, compiled_step=0.0009)
    policy.plan(6 * 469)  # saves 3.1 s < 5 s
    _eager_steps(policy, 0.002, policy.warmup_steps + policy.probe_steps)
    assert policy.decision == "auto"
    assert policy.projected_savings == pytest.approx(2789 * 0.0011, rel=1e-6)
    assert "less than a compile's 5.0 s, measured" in policy.take_message()


def test_a_compiled_step_measured_slower_before_keeps_eager_for_good():
    policy = CompilePolicy("auto")
    policy.know(compile_seconds=0.5, compiled_step=0.003)
    policy.plan(100_000)
    _eager_steps(policy, 0.002, policy.warmup_steps + policy.probe_steps)
    assert policy.decision == "eager-measured" and not policy.compile_now
    assert policy.take_message() == (
        "eager (an earlier run measured the compiled step at 3.0 ms, the eager step is 2.0 ms)"
    )


def test_time_lost_by_earlier_runs_counts_toward_the_compile():
    """Ski rental across processes: earlier runs' projected savings add to this run's."""
    policy = CompilePolicy("auto")
    policy.know(compile_seconds=None, compiled_step=None, lost_seconds=9.996)
    policy.plan(None)
    _eager_steps(policy, 0.002, policy.warmup_steps + policy.probe_steps)
    # 20 timed steps x 2 ms x (1 - 1/1.4) = 11 ms, on top of 9.996 s: past the 10 s assumed
    assert policy.decision == "compiled"


def test_once_the_step_has_compiled_earlier_runs_lost_time_no_longer_counts():
    """The courses' MLP run six epochs at a time: each process pays a warm compile (imports,
    tracing, cached kernels) again, so the loss of earlier eager runs cannot repay it; only
    what this run saves can."""
    carried = CompilePolicy("auto")
    carried.know(compile_seconds=3.0, compiled_step=0.001, lost_seconds=50.0)
    carried.plan(6 * 469)
    _eager_steps(carried, 0.0016, carried.warmup_steps + carried.probe_steps)
    # this run: 2,789 remaining steps x 1.6 ms x (1 - 1/1.6) = 1.7 s, short of the 3 s compile
    assert carried.decision == "auto" and carried.projected_savings == pytest.approx(1.673, 1e-3)
    longer = CompilePolicy("auto")
    longer.know(compile_seconds=3.0, compiled_step=0.001, lost_seconds=0.0)
    longer.plan(12 * 469)  # 5,603 remaining steps: 3.4 s saved, past the 3 s compile
    _eager_steps(longer, 0.0016, longer.warmup_steps + longer.probe_steps)
    assert longer.decision == "compiled"


def test_the_median_step_decides_so_one_slow_step_does_not():
    """19 steps of 2 ms and one 2 s pause: the mean (102 ms) would promise 2,789 x 29 ms = 81 s
    of savings; the median (2 ms) promises 1.6 s, short of the assumed 10 s compile."""
    policy = CompilePolicy("auto")
    policy.plan(6 * 469)
    _eager_steps(policy, 0.002, policy.warmup_steps + policy.probe_steps - 1)
    _eager_steps(policy, 2.0, 1)
    assert policy.decision == "auto"


def test_unmeasured_figures_are_ignored():
    policy = CompilePolicy("auto")
    policy.know(compile_seconds=0.0, compiled_step=-1.0, lost_seconds=-5.0)
    assert policy.known_compile is None and policy.known_step is None
    assert policy.known_lost == 0.0


def test_the_same_lost_time_short_of_the_compile_waits():
    policy = CompilePolicy("auto")
    policy.know(compile_seconds=None, compiled_step=None, lost_seconds=9.985)
    policy.plan(None)
    _eager_steps(policy, 0.002, policy.warmup_steps + policy.probe_steps)
    assert policy.decision == "auto"  # 9.985 s + 11 ms < 10 s


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: lamina.layers.DepthwiseConv2D(3), True),
        (lambda: lamina.layers.SeparableConv1D(2, 3), True),
        (lambda: lamina.layers.ConvLSTM2D(2, 3), True),
        (lambda: lamina.layers.Conv3D(2, 3), True),
        (lambda: lamina.layers.Dense(2), False),
    ],
)
def test_every_convolution_layer_counts_as_convolutional(make, expected):
    from lamina.models.step_runner import has_convolutions

    assert has_convolutions(lamina.Sequential([make()])) is expected


def test_a_saved_step_measured_faster_runs_compiled_from_the_start():
    policy = CompilePolicy("auto")
    policy.know(compile_seconds=0.05, compiled_step=0.001, eager_step=0.002, saved=True)
    assert policy.decision == "compiled" and policy.compile_now
    assert policy.take_message() == (
        "compiled (this step is saved compiled; an earlier run measured it at 1.0 ms a step)"
    )
    unsaved = CompilePolicy("auto")
    unsaved.know(compile_seconds=0.05, compiled_step=0.001, eager_step=0.002)
    assert unsaved.decision == "auto"  # a compile, however cheap, waits for the timed steps


def test_a_saved_step_once_measured_slower_is_timed_again_not_given_up():
    """Earlier figures may come from different phases of a noisy machine: with nothing to
    repay, this run compiles after its timed eager steps and its own timing decides."""
    policy = CompilePolicy("auto")
    policy.know(compile_seconds=0.05, compiled_step=0.003, eager_step=0.002, saved=True)
    assert policy.decision == "auto"
    policy.plan(100_000)
    _eager_steps(policy, 0.002, policy.warmup_steps + policy.probe_steps)
    assert policy.decision == "compiled"
    assert policy.take_message() == (
        "compiled (this step is saved compiled; its steps are timed against the eager "
        "step's 2.0 ms)"
    )
    for _ in range(policy.probe_steps):
        policy.compiled_step(0.0025)  # slower here too: back to eager
    assert policy.decision == "eager-measured"
    again = CompilePolicy("auto")
    again.know(compile_seconds=0.05, compiled_step=0.003, eager_step=0.002, saved=True)
    again.plan(100_000)
    _eager_steps(again, 0.002, again.warmup_steps + again.probe_steps)
    for _ in range(again.probe_steps):
        again.compiled_step(0.0012)  # faster in this run: it stays compiled
    assert again.decision == "compiled"


def test_a_few_slow_first_compiled_steps_do_not_send_a_faster_step_back():
    """The keep check compares medians: two slow first calls (memory not yet mapped)
    would lift the compiled mean above the eager one (mean 3.0 ms here, eager 2.0 ms)."""
    policy = CompilePolicy("auto")
    policy.compile_seconds = 0.0
    policy.plan(10_000)
    _eager_steps(policy, 0.002, policy.warmup_steps + policy.probe_steps)
    assert policy.decision == "compiled"
    for k in range(policy.probe_steps):
        policy.compiled_step(0.0155 if k < 2 else 0.0015)
    assert policy.decision == "compiled"
