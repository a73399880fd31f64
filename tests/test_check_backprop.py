"""check_backprop: correct hand-written backprops pass, every catalogued mistake is caught where it
enters and named, and a malformed function gets a report, never a traceback from the checker.

The student functions below are written the way a student writes them (numpy, one sample, the
homework's notation), independently of tinygrad_lab.backprop: σ and σ' are numpy formulas of z."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lab.check_backprop import MISTAKES, RTOL
from tinygrad_lab.testing import assert_backprop, check_backprop

SIGMAS = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
}


def student(activation="sigmoid", mistake=None):
    """A 1-D backprop(W, b, x, t) -> (dW, db) making ``mistake`` (a name of MISTAKES) or none."""
    sigma, sigma_prime = SIGMAS[activation]

    def backprop(W, b, x, t):
        L = len(W)
        z, a = [], [x]
        for l in range(L):
            z.append(W[l] @ a[l] + b[l])
            a.append(sigma(z[l]))
        at_a_out = mistake in ("σ'(a) at the output", "σ'(a) everywhere")
        at_a_hidden = mistake in ("σ'(a) in hidden layers", "σ'(a) everywhere")
        error = {"sign of δ(L)": t - a[L], "E = Σ": 2 * (a[L] - t)}.get(mistake, a[L] - t)
        if mistake == "σ'(z(L)) forgotten":
            delta = [error]
        else:
            delta = [error * sigma_prime(a[L] if at_a_out else z[L - 1])]
        for l in range(L - 2, -1, -1):                       # delta[0] is the layer above l
            W_above = W[l] if mistake == "W(l) for W(l+1)" else W[l + 1]
            if mistake == "δ(L) reused":
                delta.insert(0, delta[-1])
            else:
                delta.insert(0, sigma_prime(a[l + 1] if at_a_hidden else z[l]) * (W_above.T @ delta[0]))
        if mistake == "dW transposed":
            dW = [np.outer(a[l], delta[l]) for l in range(L)]
        else:
            dW = [np.outer(delta[l], a[l + 1] if mistake == "a(l) for a(l−1)" else a[l]) for l in range(L)]
        db = {"bias gradient missing": [np.zeros_like(d) for d in delta],
              "bias gradient 1": [np.ones_like(d) for d in delta]}.get(mistake, delta)
        return dW, db

    backprop.__name__ = f"backprop_{activation}"
    return backprop


def column_student(activation):
    """The homework's column vectors: x (n, 1), b (n, 1), δ a(l−1)ᵀ as a matrix product."""
    sigma, sigma_prime = SIGMAS[activation]

    def backprop(W, b, x, t):
        a, z = [x], []
        for Wl, bl in zip(W, b):
            z.append(Wl @ a[-1] + bl)
            a.append(sigma(z[-1]))
        delta = (a[-1] - t) * sigma_prime(z[-1])
        dW, db = [], []
        for l in range(len(W) - 1, -1, -1):
            dW.insert(0, delta @ a[l].T)
            db.insert(0, delta)
            if l:
                delta = sigma_prime(z[l - 1]) * (W[l].T @ delta)
        return dW, db

    return backprop


def loop_student(activation):
    """Plain Python loops over units, every sum written out (another order of the rounding)."""
    sigma, sigma_prime = SIGMAS[activation]

    def backprop(W, b, x, t):
        L = len(W)
        a, z = [list(x)], []
        for l in range(L):
            rows, cols = W[l].shape
            z.append([sum(W[l][i, j] * a[l][j] for j in range(cols)) + b[l][i] for i in range(rows)])
            a.append([float(sigma(v)) for v in z[l]])
        delta = [None] * L
        delta[L - 1] = [(a[L][k] - t[k]) * float(sigma_prime(z[L - 1][k])) for k in range(len(t))]
        for l in range(L - 2, -1, -1):
            rows, cols = W[l + 1].shape
            delta[l] = [float(sigma_prime(z[l][j])) * sum(W[l + 1][i, j] * delta[l + 1][i] for i in range(rows))
                        for j in range(cols)]
        dW = [np.array([[d * p for p in a[l]] for d in delta[l]]) for l in range(L)]
        return dW, [np.array(d) for d in delta]

    return backprop


# ----- no false positive ----------------------------------------------------------------------------
CORRECT = {"1-D": student, "columns": column_student, "loops": loop_student}


@pytest.mark.parametrize("activation", list(SIGMAS))
@settings(max_examples=100, deadline=None)
@given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=5), style=st.sampled_from(list(CORRECT)),
       seed=st.integers(0, 2**32 - 1))
def test_correct_backprops_pass_on_random_nets(activation, sizes, style, seed):
    report = check_backprop(CORRECT[style](activation), sizes, activation, trials=2, seed=seed)
    assert report.ok, str(report)
    assert report.first_wrong is None and report.diagnosis is None
    assert max(report.errors.values()) < 1e-12          # rounding only: 1e5 below the tolerance


def test_the_report_says_which_convention_it_saw():
    assert "1-D vectors (n,)" in str(check_backprop(student(), trials=2))
    assert "column vectors (n, 1)" in str(check_backprop(column_student("sigmoid"), trials=2))


# ----- every mistake is caught, where it enters, and named --------------------------------------------
FIRST_WRONG = {  # the output nearest the output layer that the mistake makes wrong, for L layers
    "σ'(a) in hidden layers": "dW[L-2]", "σ'(a) at the output": "dW[L-1]", "σ'(a) everywhere": "dW[L-1]",
    "σ'(z(L)) forgotten": "dW[L-1]", "sign of δ(L)": "dW[L-1]", "E = Σ": "dW[L-1]",
    "dW transposed": "dW[L-1]", "a(l) for a(l−1)": "dW[L-1]", "bias gradient missing": "db[L-1]",
    "bias gradient 1": "db[L-1]", "W(l) for W(l+1)": "dW[L-2]", "δ(L) reused": "dW[L-2]",
}
SIGMA_PRIME_AT_A = {"σ'(a) in hidden layers", "σ'(a) at the output", "σ'(a) everywhere"}


def _mistake_cases():
    for mistake in MISTAKES:
        for sizes in [(2, 3, 2), (3, 3, 3, 3)]:
            for activation in SIGMAS:
                if mistake.name == "W(l) for W(l+1)" and len(set(sizes)) > 1:
                    continue                                  # the student's code cannot even run
                if activation == "relu" and mistake.name in SIGMA_PRIME_AT_A:
                    continue                                  # σ'(a) = σ'(z) for relu: no mistake at all
                yield pytest.param(mistake, sizes, activation, id=f"{mistake.name}-{len(sizes)}-{activation}")


def test_the_catalogue_is_the_issues_and_the_tests_cover_it():
    assert set(FIRST_WRONG) == {m.name for m in MISTAKES}


@pytest.mark.parametrize("mistake, sizes, activation", list(_mistake_cases()))
def test_each_mistake_is_detected_located_and_named(mistake, sizes, activation):
    report = check_backprop(student(activation, mistake.name), sizes, activation)
    L = len(sizes) - 1
    assert not report.ok
    assert report.first_wrong == FIRST_WRONG[mistake.name].replace("L-1", str(L - 1)).replace("L-2", str(L - 2))
    assert report.mistake is mistake and report.diagnosis == mistake.sentence
    assert mistake.sentence in str(report) and report.first_wrong in str(report)
    wrong = [err for err in report.errors.values() if not err <= RTOL]
    assert all(err > 1e-3 or np.isnan(err) for err in wrong)          # a mistake errs by far more than rounding


def test_sigma_prime_at_a_is_no_mistake_for_relu():
    assert check_backprop(student("relu", "σ'(a) everywhere"), activation="relu").ok


def test_the_table_shows_where_the_deltas_part():
    report = check_backprop(student("sigmoid", "σ'(a) in hidden layers"))
    top, hidden = report.rows
    assert top.layer == 2 and top.dW_error < 1e-14 and np.allclose(top.yours, top.reference, rtol=1e-12)
    assert hidden.layer == 1 and hidden.dW_error > 1e-3 and not np.allclose(hidden.yours, hidden.reference)
    text = str(report)
    assert re.search(r"^  1 +dW\[0\] +\S+ ✗", text, re.M) and re.search(r"^  2 +dW\[1\] +\S+e-1\d  ", text, re.M)


def test_no_known_mistake_gets_no_diagnosis_and_names_what_was_not_tried():
    def two_mistakes(W, b, x, t):
        dW, db = student("sigmoid", "sign of δ(L)")(W, b, x, t)
        return dW, [np.zeros_like(d) for d in db]

    report = check_backprop(two_mistakes)
    assert not report.ok and report.first_wrong == "dW[1]" and report.diagnosis is None
    assert "none of the 11 known mistakes reproduces these numbers" in str(report)
    assert "W(l) for W(l+1) (needs every layer of one width" in str(report)


def test_a_mistake_on_some_trials_only_is_still_caught():
    def wrong_when_x0_is_positive(W, b, x, t):
        dW, db = student()(W, b, x, t)
        return (dW, [d * 2 for d in db]) if x[0] > 0 else (dW, db)

    report = check_backprop(wrong_when_x0_is_positive)
    assert not report.ok and report.first_wrong == "db[1]" and report.diagnosis is None


def test_assert_backprop_raises_the_report():
    assert assert_backprop(student()).ok
    with pytest.raises(AssertionError, match=r"(?s)WRONG.*first wrong output: db\[1\].*bias gradient is missing"):
        assert_backprop(student(mistake="bias gradient missing"))


def test_float32_is_called_out():
    def in_float32(W, b, x, t):
        dW, db = student()(W, b, x, t)
        return [g.astype(np.float32) for g in dW], [g.astype(np.float32) for g in db]

    assert "dW[1] is float32: compute in float64" in str(check_backprop(in_float32))
    assert "float32" not in str(check_backprop(student()))


# ----- a malformed function gets a report, not a traceback ------------------------------------------------
def raises_in_my_code(W, b, x, t):
    delta = W[1] @ W[1]                                        # the student's line
    return delta


def test_an_exception_is_reported_with_the_students_own_line():
    report = check_backprop(raises_in_my_code)
    text = str(report)
    assert not report.ok and report.first_wrong is None and report.diagnosis is None
    assert "raises_in_my_code(W, b, x, t) raised on trial 1, called with 1-D vectors (n,):" in text
    assert "test_check_backprop.py, line" in text and "in raises_in_my_code: delta = W[1] @ W[1]" in text
    assert "ValueError: matmul" in text and "check_backprop.py" not in text.replace("test_check_backprop", "")
    assert "arguments: W[0] (3, 2), W[1] (2, 3), b[0] (3,), b[1] (2,), x (2,), t (2,)" in text
    assert "with column vectors (n, 1) it fails too: ValueError: matmul" in text


@pytest.mark.parametrize("returns, message, first_wrong", [
    (lambda dW, db: (dW, db, None), r"returned 3 values on trial 1, .*; expected 2: \(dW, db\)", None),
    (lambda dW, db: dW[0], r"returned an array of shape \(3, 2\) on trial 1", None),
    (lambda dW, db: (dW[:1], db), r"dW is a list of 1 on trial 1, .*expected a list of 2 arrays, one per layer "
                                  r"\(dW\[0\] of shape \(3, 2\), dW\[1\] of shape \(2, 3\)\)", None),
    (lambda dW, db: (dW, [db[0], "oops"]), r"db\[1\] is a str on trial 1, .* not an array of shape \(2,\)", "db[1]"),
    (lambda dW, db: (dW, [db[0], None]), r"db\[1\] is None on trial 1", "db[1]"),
    (lambda dW, db: (dW[0], db), r"dW is an array of shape \(3, 2\) on trial 1", None),
    (lambda dW, db: None, r"returned None on trial 1", None),
    (lambda dW, db: ([dW[0].T, dW[1]], db), r"dW\[0\] has shape \(2, 3\), expected \(3, 2\): is it transposed\?",
     "dW[0]"),
    (lambda dW, db: ([dW[0], dW[1][:, :2]], db), r"dW\[1\] has shape \(2, 2\), expected \(2, 3\)$", "dW[1]"),
    (lambda dW, db: (dW, [db[0], db[1] * np.nan]), r"db\[1\] contains NaN", "db[1]"),
    (lambda dW, db: (dW, [db[0][None], db[1]]), r"db\[0\] has shape \(1, 3\), expected \(3,\) \(or \(3, 1\)\)", "db[0]"),
])
def test_malformed_outputs_are_named_with_the_expected_shape(returns, message, first_wrong):
    def malformed(W, b, x, t):
        return returns(*student()(W, b, x, t))

    report = check_backprop(malformed)
    assert not report.ok and report.first_wrong == first_wrong
    assert any(re.search(message, line) for line in str(report).splitlines()), str(report)


def test_a_function_writing_into_its_arguments_cannot_change_the_reference():
    def scribbles(W, b, x, t):
        dW, db = student()(W, b, x, t)
        for array in [*W, *b, x, t]:
            array[...] = 0
        return dW, db

    assert check_backprop(scribbles).ok


@pytest.mark.parametrize("kwargs, error, message", [
    ({"sizes": "2-x-2"}, ValueError, "sizes must be widths joined by '-'"),
    ({"sizes": (0, 3)}, ValueError, "every layer needs at least one unit"),
    ({"activation": "swish"}, ValueError, "unknown activation 'swish'"),
    ({"trials": 0}, ValueError, "trials must be a positive integer, got 0"),
])
def test_bad_arguments_are_one_line_errors(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        check_backprop(student(), **kwargs)


def test_a_non_function_is_refused():
    with pytest.raises(TypeError, match="needs a function fn"):
        check_backprop("backprop.py")


def test_kinks_are_kept_away_from():
    from tinygrad_lab.check_backprop import KINK_MARGIN, _random_net
    from tinygrad_lab.activations import get

    rng = np.random.default_rng(0)
    for _ in range(50):
        net = _random_net(rng, (3, 4, 4, 2), get("relu"))
        assert min(np.abs(z).min() for z in net.forward.z) >= KINK_MARGIN - 1e-12


def test_the_report_pasted_in_the_docs_is_the_real_output(capsys):
    """docs/backprop.md shows a wrong function and, in the text block after it, what it prints."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "backprop.md").read_text(encoding="utf-8")
    section = page.split("## Check your own backprop")[1]
    code = section.split("```python\n")[1].split("```")[0]
    shown = section.split("```text\n")[1].split("```")[0]
    exec(compile(code, "docs/backprop.md", "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out == shown


def test_nested_lists_count_as_arrays():
    def as_lists(W, b, x, t):
        dW, db = student()(W, b, x, t)
        return [g.tolist() for g in dW], [g.tolist() for g in db]

    assert check_backprop(as_lists, trials=3).ok
