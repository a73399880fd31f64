"""Line charts drawn with Pillow: the axes' spans and ticks, and how non-finite points are left out."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lab.line_chart import MAX_TICKS, Panel, Series, axis_span, draw, ticks

BLUE = (0x1F, 0x77, 0xB4)


@pytest.mark.parametrize("values, integer, span", [
    ([1.0, 3.0], False, (0.9, 3.1)),
    ([1.0, float("nan"), float("inf"), 3.0, -float("inf")], False, (0.9, 3.1)),
    ([2.0, 2.0], False, (1.9, 2.1)),
    ([0.0], False, (-0.05, 0.05)),
    ([3], True, (2.5, 3.5)),
    ([], False, (0.0, 1.0)),
    ([float("nan"), float("inf")], True, (0.0, 1.0)),
    ([0.0, 1.7e308], False, (-8.5e306, 1.7e308 + 8.5e306)),
    ([1.79e308], False, (1.79e308 * 0.95, 1.7976931348623157e308)),
])
def test_the_span_is_the_finite_values_widened_by_5_percent(values, integer, span):
    assert axis_span(values, integer) == pytest.approx(span)


@settings(deadline=None)
@given(st.floats(-1000, 1000), st.floats(1e-3, 1e3), st.integers(-300, 300), st.booleans())
def test_ticks_step_by_1_2_or_5_times_a_power_of_ten(start, width, exponent, integer):
    lo, hi = start * 10.0 ** exponent, (start + width) * 10.0 ** exponent
    if integer and hi - lo < 1 or not hi > lo:
        return
    values, labels = ticks(lo, hi, integer)
    assert 2 - integer <= len(values) <= MAX_TICKS and all(lo <= v <= hi for v in values)
    step = values[1] - values[0] if len(values) > 1 else 1
    mantissa = step / 10.0 ** math.floor(math.log10(step) + 1e-9)
    assert min(abs(mantissa - m) for m in (1, 2, 5)) < 1e-6 and (step >= 1 or not integer), step
    assert np.allclose(np.diff(values), step, rtol=1e-6, atol=0)
    assert [float(label) for label in labels] == pytest.approx(values, rel=1e-9, abs=step * 1e-6)
    assert len(set(labels)) == len(labels), labels


@pytest.mark.parametrize("lo, hi, integer, labels", [
    (0.04, 0.24, False, ["0.05", "0.1", "0.15", "0.2"]),
    (96.7, 98.2, False, ["97", "97.5", "98"]),
    (-5, 105, False, ["0", "20", "40", "60", "80", "100"]),
    (0.5, 5.5, True, ["1", "2", "3", "4", "5"]),
    (0.5, 1.5, True, ["1"]),
    (-5e28, 1.05e30, False, ["0", "2e+29", "4e+29", "6e+29", "8e+29", "1e+30"]),
    (1e-7, 2.2e-6, False, ["5e-07", "1e-06", "1.5e-06", "2e-06"]),
])
def test_tick_labels_have_the_digits_the_step_needs(lo, hi, integer, labels):
    assert ticks(lo, hi, integer)[1] == labels


def blue_pixels(y: list[float], x: list[float] | None = None) -> int:
    """Pixels of the line and markers of one blue series (legend and all) on a 600x300 chart."""
    x = list(range(1, len(y) + 1)) if x is None else x
    image = draw([Panel("loss", "epoch", "loss", [Series("s", x, y, "#1f77b4", "o")])], "t", size=(600, 300))
    return int((np.abs(np.asarray(image).astype(int) - BLUE) <= 8).all(axis=-1).sum())


def test_a_point_that_is_not_finite_is_left_out_and_breaks_the_line():
    """As matplotlib: no marker at a NaN or inf point, and no line across it (fewer pixels than the line
    joining its neighbours); inf is left out exactly as NaN is."""
    nan, inf = float("nan"), float("inf")
    joined = blue_pixels([1.0, 4.0, 5.0, 2.0], x=[1, 4, 5, 6])
    broken = blue_pixels([1.0, nan, nan, 4.0, 5.0, 2.0])
    assert broken == blue_pixels([1.0, inf, -inf, 4.0, 5.0, 2.0]) == blue_pixels([1.0, nan, inf, 4.0, 5.0, 2.0])
    assert broken < joined - 30, (broken, joined)
    assert blue_pixels([nan, nan]) < blue_pixels([1.0, 2.0]) / 2
