import numpy as np
from hypothesis import given

from tinygrad_lab.testing import arrays, away_from, broadcastable_shapes, distinct, nonzero, positive, shapes


@given(arrays(shapes()))
def test_away_from_keeps_a_margin_and_the_side(x):
    y = away_from(x, [0.0, 1.0], margin=0.05)
    assert np.all(np.abs(y) >= 0.05 - 1e-12) and np.all(np.abs(y - 1) >= 0.05 - 1e-12)
    far = (np.abs(x) >= 0.05) & (np.abs(x - 1) >= 0.05)
    np.testing.assert_array_equal(y[far], x[far])


@given(arrays(shapes(min_dims=1)))
def test_distinct_values_are_well_separated(x):
    y = np.sort(distinct(x, gap=0.05).reshape(-1))
    assert np.all(np.diff(y) >= 0.05 - 1e-9)


@given(arrays(shapes()))
def test_domains(x):
    assert np.all(positive(x) >= 0.5) and np.all(np.abs(nonzero(x)) >= 0.5)


@given(broadcastable_shapes())
def test_broadcastable_shapes_broadcast(pair):
    np.broadcast_shapes(*pair)
