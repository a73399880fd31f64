"""``tinygrad-lab explain``: backprop for one sample of a tiny MLP, step by step, in the homework's
notation, checked against the autograd graph and central differences (see :mod:`tinygrad_lab.explain`)."""
from __future__ import annotations

import argparse


def sizes_type(text: str) -> list[int]:
    """argparse type of ``--sizes``: ``"2-3-2"`` -> ``[2, 3, 2]``, or a one-line usage error."""
    from tinygrad_lab.explain import parse_sizes

    try:
        return parse_sizes(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def vector_type(text: str):
    """argparse type of ``--x`` and ``--t``: ``"0.1,0.2"`` -> an array, or a one-line usage error."""
    from tinygrad_lab.explain import parse_vector

    try:
        return parse_vector(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_parser(subparsers) -> None:
    from tinygrad_lab.explain import LOSSES
    from tinygrad_lab.activations import REGISTRY as ACTIVATIONS

    p = subparsers.add_parser(
        "explain", help="print the forward pass and the δ(l) recursion of backprop for one sample of a "
        "tiny MLP, checked against autograd and central differences")
    p.add_argument("--sizes", type=sizes_type, metavar="N-N-N",
                   help="layer widths, input first (default 2-3-2, or the widths of --weights)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default="sigmoid",
                   help="σ of the layers (default sigmoid)")
    p.add_argument("--loss", choices=LOSSES, default="l2",
                   help="l2: E = ½ Σ (y − t)² with σ on the output too (default); cross-entropy: "
                        "softmax cross-entropy on the logits z(L), δ(L) = softmax(z(L)) − onehot(t)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the sample (default 0)")
    p.add_argument("--weights", metavar="FILE.npz", help="your own weights instead of the seed's: "
                   "arrays W0, b0, W1, b1, … as numpy.savez writes them, W0 of shape (n1, n0)")
    p.add_argument("--x", type=vector_type, metavar="X1,X2,…", help="your own sample, comma-separated")
    p.add_argument("--t", type=vector_type, metavar="T1,T2,…",
                   help="your own target, comma-separated (one-hot for --loss cross-entropy)")
    p.add_argument("--dot", metavar="FILE", help="also draw the graph of E (.dot, or .svg/.png/.pdf "
                   "rendered with Graphviz's dot when installed), values and gradients included")
    p.set_defaults(func=run)


def run(args) -> int:
    from tinygrad_lab import viz
    from tinygrad_lab.explain import explain

    try:
        if args.dot:
            viz.file_format(args.dot)
        explanation = explain(args.sizes, args.activation, args.loss, args.seed, args.weights, args.x, args.t)
    except ValueError as err:
        raise SystemExit(f"tinygrad-lab explain: {err}") from None
    print(explanation.text(), end="")
    if args.dot:
        try:
            written = viz.draw(explanation.loss_tensor, args.dot, show_values=True, show_grads=True,
                               names=explanation.names)
        except (RuntimeError, OSError) as err:
            raise SystemExit(f"tinygrad-lab explain: --dot {args.dot}: {err}") from None
        print(f"\nGraph of E written to {written}")
    return 0
