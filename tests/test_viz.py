import re
import shutil

import numpy as np
import pytest

from tinygrad_lab import Tensor, half_sum_squared_error, nn, viz

NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$')
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[.*\])?;$")


def parse_dot(text):
    """A tiny parser for what to_dot writes: {node id: (label, attributes)} and [(tail, head)].
    Every line must be the header, a node, an edge, a default-attribute line or the closing brace."""
    lines = text.strip().splitlines()
    assert lines[0].startswith("digraph ") and lines[0].endswith("{") and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := NODE.match(line):
            assert m[1] not in nodes, f"node {m[1]} declared twice"
            nodes[m[1]] = (m[2].replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\"), m[3])
        elif m := EDGE.match(line):
            edges.append((m[1], m[2]))
        else:
            assert re.match(r"^\s*(node|edge) \[.*\];$", line), f"unparsed DOT line: {line!r}"
    for tail, head in edges:
        assert tail in nodes and head in nodes, f"edge {tail} -> {head} to an undeclared node"
    return nodes, edges


def label_of(nodes, first_line):
    return next(label for label, _ in nodes.values() if label.split("\n")[0] == first_line)


def small_graph():
    a = Tensor([1.0, 2.0], requires_grad=True, name="a")
    b = Tensor([3.0, -4.0], requires_grad=True, name="b")
    return a, b, (a * b).sum()


def test_known_expression_has_one_node_per_op_and_tensor():
    _, _, c = small_graph()
    nodes, edges = parse_dot(viz.to_dot(c))
    # tensors a, b, a*b, c and ops Mul, Sum; edges a→Mul, b→Mul, Mul→a*b, a*b→Sum, Sum→c
    assert len(nodes) == 6 and len(edges) == 5
    ops = sorted(label for label, attrs in nodes.values() if "shape=box" in attrs)
    assert ops == ["Mul", "Sum"]
    assert label_of(nodes, "a") == "a\n(2,) float64"
    ids = {label.split("\n")[0]: node for node, (label, _) in nodes.items()}
    assert (ids["a"], ids["Mul"]) in edges and (ids["b"], ids["Mul"]) in edges


def test_mlp_graph_counts_constants_and_parameter_names():
    model = nn.MLP([2, 3, 1], activation="sigmoid", seed=0, fuse=True)
    x = Tensor(np.ones((4, 2)), name="x")
    E = half_sum_squared_error(model(x), Tensor(np.zeros((4, 1)), name="t"))
    nodes, edges = parse_dot(viz.to_dot(E, model=model, names={"W(2)": model[1].weight}))
    assert sorted(label for label, attrs in nodes.values() if "shape=box" in attrs)[:2] == ["Affine", "Affine+sigmoid"]
    # ops: Affine+sigmoid (Linear built with its sigmoid: fuse=True), Affine, Sub, Mul, Sum, Mul(½) = 6
    # tensors: x, W1, b1, a1, W2, b2, y, t, y−t, (y−t)², Σ, ½, E = 13
    assert len(nodes) == 19
    # Affine 3 in + 1 out (×2), Sub 3, Mul 3 (same input twice), Sum 2, Mul 3
    assert len(edges) == 8 + 3 + 3 + 2 + 3
    names = {label.split("\n")[0] for label, _ in nodes.values()}
    assert {"x", "t", "0.weight", "0.bias", "W(2)", "1.bias"} <= names
    assert "2.weight" not in names  # the names mapping wins over the model's name


def test_values_and_grads_only_for_tiny_tensors():
    _, _, c = small_graph()
    big = Tensor(np.arange(7.0), requires_grad=True, name="big")
    d = c + big.sum()
    d.backward(retain_graph=True)
    nodes, _ = parse_dot(viz.to_dot(d, show_values=True, show_grads=True))
    assert "data [1., 2.]" in label_of(nodes, "a") and "grad [ 3., -4.]" in label_of(nodes, "a")
    assert label_of(nodes, "big") == "big\n(7,) float64"
    plain, _ = parse_dot(viz.to_dot(d))
    assert "data" not in label_of(plain, "a") and "grad" not in label_of(plain, "a")


def test_labels_are_escaped():
    x = Tensor([1.0], requires_grad=True, name='say "hi"\\ now\nline two')
    nodes, _ = parse_dot(viz.to_dot((x * 2).sum()))
    assert 'say "hi"\\ now\nline two\n(1,) float64' in [label for label, _ in nodes.values()]


def test_leaf_without_graph_is_a_single_node():
    nodes, edges = parse_dot(viz.to_dot(Tensor([1.0, 2.0])))
    assert len(nodes) == 1 and edges == []


def test_freed_graph_raises_a_clear_error():
    _, _, c = small_graph()
    c.backward()
    with pytest.raises(viz.GraphFreedError, match="retain_graph=True"):
        viz.to_dot(c)


def test_retained_graph_can_be_drawn_after_backward():
    _, _, c = small_graph()
    c.backward(retain_graph=True)
    assert "Mul" in viz.to_dot(c, show_grads=True)


def test_bad_arguments():
    with pytest.raises(TypeError, match="Tensor"):
        viz.to_dot(np.ones(2))
    with pytest.raises(TypeError, match="names"):
        viz.to_dot(small_graph()[2], names={"a": np.ones(2)})
    with pytest.raises(ValueError, match=".svg"):
        viz.draw(small_graph()[2], "graph.txt")


def test_draw_without_dot_writes_dot_file_and_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    written = viz.draw(small_graph()[2], tmp_path / "graph.svg")
    assert written == tmp_path / "graph.dot" and written.read_text().startswith("digraph")
    assert not (tmp_path / "graph.svg").exists()
    message = capsys.readouterr().err
    assert "apt-get install graphviz" in message and "brew install graphviz" in message


def test_draw_dot_suffix_writes_only_dot(tmp_path):
    written = viz.draw(small_graph()[2], tmp_path / "g.dot")
    assert written == tmp_path / "g.dot" and parse_dot(written.read_text())


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz `dot` is not installed (apt-get install graphviz)")
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".png", b"\x89PNG")])
def test_draw_renders_with_dot(tmp_path, suffix, magic):
    _, _, c = small_graph()
    c.backward(retain_graph=True)
    written = viz.draw(c, tmp_path / f"graph{suffix}", show_values=True, show_grads=True)
    assert written == tmp_path / f"graph{suffix}"
    assert magic in written.read_bytes()[:400]
    assert (tmp_path / "graph.dot").exists()


def test_unfused_mlp_shows_z_and_a_as_separate_tensors():
    model = nn.MLP([2, 3, 1], activation="sigmoid", seed=0, fuse=False)
    E = half_sum_squared_error(model(Tensor(np.ones((4, 2)), name="x")), Tensor(np.zeros((4, 1)), name="t"))
    nodes, edges = parse_dot(viz.to_dot(E, model=model))
    assert "Sigmoid" in {label for label, attrs in nodes.values() if "shape=box" in attrs}
    assert len(nodes) == 21 and len(edges) == 21


def test_graph_shows_inline_in_jupyter_as_svg():
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    _, _, c = small_graph()
    g = viz.graph(c)
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml") and "<svg" in bundle["image/svg+xml"]
    assert ">Mul</text>" in bundle["image/svg+xml"] and g._repr_svg_() == bundle["image/svg+xml"]
    assert bundle["text/plain"] == str(g) == viz.to_dot(c)


def test_graph_falls_back_to_dot_text_without_graphviz(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    _, _, c = small_graph()
    g = viz.graph(c)
    assert g._repr_mimebundle_() == {"text/plain": viz.to_dot(c)} and g._repr_svg_() is None
