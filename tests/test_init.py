import numpy as np
import pytest

from tinygrad_lab import init
from tinygrad_lab.nn import Parameter


def _w(shape=(400, 800)):
    return Parameter(np.empty(shape))


@pytest.mark.parametrize("fn, var", [
    (init.lecun_normal_, 1 / 800), (init.lecun_uniform_, 1 / 800),
    (init.xavier_normal_, 2 / 1200), (init.xavier_uniform_, 2 / 1200),
    (init.he_normal_, 2 / 800), (init.he_uniform_, 2 / 800), (init.msra_normal_, 2 / 800),
    (init.get_initializer("lecun"), 1 / 800), (init.get_initializer("xavier"), 2 / 1200),
    (init.get_initializer("glorot"), 2 / 1200), (init.get_initializer("glorot_uniform"), 2 / 1200),
])
def test_variances(fn, var):
    w = fn(_w(), rng=np.random.default_rng(0))
    assert abs(w.data.var() / var - 1) < 0.02
    assert abs(w.data.mean()) < 0.01 * np.sqrt(var) * 10


def test_xavier_normal_is_pytorchs():
    torch = pytest.importorskip("torch")
    assert abs(init.xavier_normal_(_w(), rng=np.random.default_rng(0)).data.std()
               / torch.nn.init.xavier_normal_(torch.empty(400, 800)).std().item() - 1) < 0.02


def test_uniform_bounds_and_constant():
    w = init.he_uniform_(_w((10, 6)), rng=np.random.default_rng(1))
    assert np.abs(w.data).max() <= np.sqrt(6 / 6)
    assert np.all(init.constant_(_w((2, 2)), 0.5).data == 0.5)
    assert not np.any(init.zeros_(_w((2, 2))).data)


def test_same_generator_seed_gives_the_same_weights():
    a = init.normal_(_w((3, 3)), 0.01, rng=np.random.default_rng(7))
    b = init.normal_(_w((3, 3)), 0.01, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.data, b.data)


def test_in_place_keeps_the_array():
    w = _w((3, 3))
    array = w.data
    init.he_normal_(w, rng=np.random.default_rng(0))
    assert w.data is array


@pytest.mark.parametrize("spec, std", [("normal:0.01", 0.01), ("normal", 1.0), ("he", np.sqrt(2 / 800)),
                                       ("lecun", np.sqrt(1 / 800)), ("xavier", np.sqrt(2 / 1200)),
                                       ("msra", np.sqrt(2 / 800))])
def test_get_initializer_by_name(spec, std):
    w = init.get_initializer(spec)(_w(), rng=np.random.default_rng(0))
    assert abs(w.data.std() / std - 1) < 0.02


def test_bad_specs_and_arguments():
    with pytest.raises(ValueError, match="unknown init 'glorott'.*he, he_normal"):
        init.get_initializer("glorott")
    with pytest.raises(ValueError, match="'abc' is not a number"):
        init.get_initializer("normal:abc")
    with pytest.raises(ValueError, match="std must be >= 0, got -1"):
        init.normal_(_w(), -1)
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        init.he_normal_(Parameter(np.empty(5)))
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        init.normal_(_w(), 1.0, rng=42)
    with pytest.raises(ValueError, match="mode must be one of"):
        init.xavier_normal_(_w(), mode="fan_out")


def test_each_init_name_has_one_meaning_in_the_functions_linear_and_mlp():
    """Linear's init="xavier" was LeCun's 1/n_in (std 0.0316 for 1000 → 10) while xavier_normal_ was
    Glorot's 2/(n_in + n_out) (std 0.0444): now "xavier" is Glorot's everywhere, "lecun" is 1/n_in."""
    from tinygrad_lab import nn
    assert init.get_initializer("xavier") is init.xavier_normal_ is init.get_initializer("glorot")
    assert init.get_initializer("lecun") is init.lecun_normal_
    glorot = nn.Linear(1000, 10, init="xavier", rng=np.random.default_rng(0)).weight.data.std()
    lecun = nn.Linear(1000, 10, rng=np.random.default_rng(0)).weight.data.std()   # the default
    assert abs(glorot / np.sqrt(2 / 1010) - 1) < 0.03 and abs(lecun / np.sqrt(1 / 1000) - 1) < 0.03
    assert nn.mlp.default_init("tanh") == "lecun" and nn.mlp.default_init("relu") == "he"
    assert "lecun" in init.known_inits() and "glorot" in init.known_inits()


def test_kaiming_names_are_pytorchs_names_for_he():
    assert init.get_initializer("kaiming") is init.get_initializer("kaiming_normal") is init.he_normal_
    assert init.get_initializer("kaiming_uniform") is init.he_uniform_
    assert init.kaiming_normal_ is init.he_normal_ and init.kaiming_uniform_ is init.he_uniform_
    listed = init.known_inits().split(", ")
    assert set(init.INITIALIZERS) <= set(listed) and listed[-2:] == ["normal:STD", "constant:VALUE"]
    with pytest.raises(ValueError, match=r"unknown init 'kaiming_fan'; known: .*kaiming_uniform"):
        init.get_initializer("kaiming_fan")
