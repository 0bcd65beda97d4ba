"""Progbar: exact output against Keras 3's format, driven by a fake clock."""

from __future__ import annotations

import io

import pytest

from lamina.utils.progbar import (
    Progbar,
    format_eta,
    format_time_per_unit,
    format_value,
)

FULL = "━" * 20


class FakeClock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class TTYBuffer(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_epoch(bar: Progbar, clock: FakeClock, steps: int = 469, seconds: float = 5.0) -> None:
    """Step 1 at 0.5 s, the last step at `seconds`, Keras-style final values."""
    for i in range(1, steps + 1):
        clock.t = 0.5 + (i - 1) * (seconds - 0.5) / (steps - 1)
        bar.update(i, [("accuracy", 0.9812), ("loss", 0.0612)])


def test_non_tty_writes_only_the_final_line():
    clock, buf = FakeClock(), io.StringIO()
    bar = Progbar(469, file=buf, clock=clock)
    assert not bar.dynamic_display  # StringIO is not a TTY
    run_epoch(bar, clock)
    # (5.0 - 0.5) s / 468 steps after the first = 9.6 ms/step
    assert buf.getvalue() == f"469/469 {FULL} 5s 10ms/step - accuracy: 0.9812 - loss: 0.0612\n"


def test_verbose_2_one_line_per_epoch():
    clock, buf = FakeClock(), io.StringIO()
    run_epoch(Progbar(469, verbose=2, file=buf, clock=clock), clock)
    assert buf.getvalue() == "469/469 - 5s - 10ms/step - accuracy: 0.9812 - loss: 0.0612\n"


def test_verbose_0_writes_nothing():
    clock, buf = FakeClock(), io.StringIO()
    bar = Progbar(469, verbose=0, file=buf, clock=clock)
    run_epoch(bar, clock)
    assert buf.getvalue() == ""
    assert not bar.should_redraw(469)


def test_tty_redraws_in_place_with_eta_and_average():
    clock, buf = FakeClock(), TTYBuffer()
    bar = Progbar(4, file=buf, clock=clock, color=False)
    assert bar.dynamic_display
    for step, loss in enumerate([0.5, 0.4, 0.3], start=1):
        clock.t = float(step)
        bar.update(step, [("loss", loss)])
    clock.t = 4.0
    bar.update(4, [("loss", 0.2)])
    expected = (
        "\r1/4 ━━━━━─────────────── ETA: 3s 1s/step - loss: 0.5000"
        "\r2/4 ━━━━━━━━━━────────── ETA: 2s 1s/step - loss: 0.4500"
        "\r3/4 ━━━━━━━━━━━━━━━───── ETA: 1s 1s/step - loss: 0.4000"
        # the final call reports the epoch's value itself; padding erases the longer line
        f"\r4/4 {FULL} 4s 1s/step - loss: 0.2000     \n"
    )
    assert buf.getvalue() == expected


def test_color_on_tty():
    clock, buf = FakeClock(), TTYBuffer()
    bar = Progbar(2, width=4, file=buf, clock=clock, color=True)
    clock.t = 1.0
    bar.update(1)
    assert buf.getvalue() == ("\r1/2 \x1b[32m━━\x1b[0m\x1b[37m━━\x1b[0m ETA: 1s 1s/step")


def test_redraw_throttled_and_should_redraw_agrees():
    clock, buf = FakeClock(), TTYBuffer()
    # binary fractions keep the clock arithmetic exact: one step = 1/64 s, interval = 4 steps
    bar = Progbar(100, file=buf, clock=clock, interval=1 / 16, color=False)
    conversions = []
    for step in range(1, 101):
        clock.t = step / 64
        if bar.should_redraw(step):
            conversions.append(step)  # the engine would call .item() only here
            bar.update(step, [("loss", 1.0)])
        else:
            bar.update(step)
    frames = buf.getvalue().split("\r")[1:]
    drawn = [int(frame.split("/")[0]) for frame in frames]
    assert drawn == conversions == [*range(1, 98, 4), 100]
    assert frames[1] == "  5/100 ━" + "─" * 19 + " ETA: 1s 16ms/step - loss: 1.0000"
    # elapsed 100/64 s = 1.6 s; (100 - 1) / 64 s over 99 steps = 15.6 ms/step
    assert frames[-1] == f"100/100 {FULL} 2s 16ms/step - loss: 1.0000     \n"


def test_should_redraw_rules():
    clock = FakeClock()
    tty = Progbar(10, file=TTYBuffer(), clock=clock, interval=1.0)
    assert tty.should_redraw(1, now=5.0)
    tty.update(1)  # draws at t=0
    assert not tty.should_redraw(2, now=0.5)
    assert tty.should_redraw(2, now=1.0)
    assert tty.should_redraw(10, now=0.1)  # final step always
    assert tty.should_redraw(3, now=0.1, finalize=True)
    log = Progbar(10, file=io.StringIO(), clock=clock)
    assert not log.should_redraw(5, now=100.0)
    assert log.should_redraw(10)
    verbose2 = Progbar(10, verbose=2, file=TTYBuffer(), clock=clock)
    assert not verbose2.should_redraw(5, now=100.0)
    assert verbose2.should_redraw(10)


def test_dynamic_display_override():
    assert Progbar(3, file=io.StringIO(), dynamic_display=True).dynamic_display
    assert not Progbar(3, file=TTYBuffer(), dynamic_display=False).dynamic_display


def test_weighted_average_stateful_metrics_and_add():
    clock, buf = FakeClock(), io.StringIO()
    bar = Progbar(6, file=buf, clock=clock, stateful_metrics=["acc"])
    clock.t = 1.0
    bar.update(1, [("loss", 1.0), ("acc", 0.1)])
    clock.t = 3.0
    bar.update(3, [("loss", 0.0), ("acc", 0.2)])  # covers 2 steps: (1*1 + 0*2) / 3
    clock.t = 6.0
    bar.add(3)
    # (6 - 1) s over 5 steps after the first
    assert buf.getvalue() == f"6/6 {FULL} 6s 1s/step - loss: 0.3333 - acc: 0.2000\n"


def test_unknown_target_and_explicit_finalize():
    clock, buf = FakeClock(), io.StringIO()
    bar = Progbar(None, file=buf, clock=clock)
    for step in range(1, 4):
        clock.t = float(step)
        bar.update(step, [("loss", 0.25)])
    assert buf.getvalue() == ""
    assert bar.should_redraw(3, finalize=True)
    bar.update(3, [("loss", 0.25)], finalize=True)
    assert buf.getvalue() == "      3/Unknown 3s 1s/step - loss: 0.2500\n"


def test_early_stop_finalize_shows_partial_bar():
    clock, buf = FakeClock(), io.StringIO()
    bar = Progbar(10, width=10, file=buf, clock=clock)
    clock.t = 2.0
    bar.update(2, finalize=True)
    assert buf.getvalue() == " 2/10 ━━──────── 2s 1s/step\n"


def test_value_and_time_formats():
    assert format_value(0.0612) == "0.0612"
    assert format_value(-0.5) == "-0.5000"
    assert format_value(1e-5) == "1.0000e-05"
    assert format_value(0.0) == "0.0000e+00"
    assert format_value(123.456789) == "123.4568"
    assert format_eta(3.9) == "3s"
    assert format_eta(65) == "1:05"
    assert format_eta(3725) == "1:02:05"
    assert format_time_per_unit(0.0096) == "10ms/step"
    assert format_time_per_unit(2.0, "sample") == "2s/sample"
    assert format_time_per_unit(0.00085) == "850us/step"
    assert format_time_per_unit(0.0) == "0s/step"


def test_default_stream_is_stdout_at_write_time(capsys):
    clock = FakeClock()
    bar = Progbar(1, verbose=2, clock=clock)
    clock.t = 1.0
    bar.update(1, [("loss", 0.5)])
    assert capsys.readouterr().out == "1/1 - 1s - 1s/step - loss: 0.5000\n"


def test_invalid_arguments():
    with pytest.raises(ValueError, match="received: target=-1"):
        Progbar(-1)
    with pytest.raises(ValueError, match="received: target=2.5"):
        Progbar(2.5)
    with pytest.raises(ValueError, match="received: verbose=3"):
        Progbar(10, verbose=3)
