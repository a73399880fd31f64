"""Every op and layer passes gradcheck on Hypothesis-generated shapes and values (float64)."""
import numpy as np
import pytest
from hypothesis import given, settings

from tinygrad_lab.autograd import topological_order
from tinygrad_lab.function import REGISTRY
from tinygrad_lab.gradcheck import gradcheck
from tinygrad_lab.op_catalogue import CASES, run_case
from tinygrad_lab.testing import op_inputs


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradient_matches_central_differences(case):
    @given(op_inputs(case))
    def check(inputs):
        arrays, params = inputs
        fn, tensors = run_case(case, arrays, params)
        assert gradcheck(fn, tensors)

    check()


def _node_types(case, seed):
    arrays, params = case.sample(np.random.default_rng(seed))
    fn, tensors = run_case(case, arrays, params)
    out = fn(*tensors)
    names = {type(t.creator).__name__ for t in topological_order([out]) if t.creator is not None}
    # the backward of some ops builds other ops (GetItem -> ScatterAdd): see them with create_graph
    from tinygrad_lab.autograd import grad
    u = np.ones(out.shape)
    grads = grad(out, tensors, grad_outputs=u, create_graph=True, allow_unused=True)
    roots = [g for g in grads if g is not None and g.requires_grad]
    names |= {type(t.creator).__name__ for t in topological_order(roots) if t.creator is not None}
    return names


def test_every_registered_op_has_a_property_test():
    covered = set()
    for case in CASES:
        for seed in range(3):
            covered |= _node_types(case, seed)
    missing = set(REGISTRY) - covered
    assert not missing, f"ops with no property test in the catalogue: {sorted(missing)}"


def test_catalogue_names_are_unique():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


@settings(max_examples=5)
@given(op_inputs(next(c for c in CASES if c.name == "mul")))
def test_gradcheck_does_not_change_inputs(inputs):
    arrays, params = inputs
    fn, tensors = run_case(next(c for c in CASES if c.name == "mul"), arrays, params)
    before = [t.data.copy() for t in tensors]
    gradcheck(fn, tensors)
    for b, t in zip(before, tensors):
        np.testing.assert_array_equal(b, t.data)
