"""Training throughput of an MLP step: tinygrad_lab against hand-written MLPs and PyTorch.

    python benchmarks/bench_mlp.py                     # all models, batches, optimizers (~10 min)
    python benchmarks/bench_mlp.py --quick             # B-128-adam and C-128-adam only
    python benchmarks/bench_mlp.py --json out.json
    python benchmarks/bench_mlp.py --configs B-128-adam,C-128-adam,B-512-adam

Models (ReLU, softmax cross-entropy, float32, MNIST-shaped random data):
A = 784-100-100-10, B = 784-512-256-10, C = 784-(100x8)-10.  Contenders, interleaved in every
repetition so that the machine's slow and fast stretches hit all of them alike:

* ``tgl-numba`` / ``tgl-numpy``: tinygrad_lab's MLP (``fuse=True``, as ``tinygrad-lab train`` builds
  it) + optimizer through the graph, on each backend;
* ``tgl-capture``: the same step through ``tinygrad_lab.capture`` (numba backend), as ``train`` runs it:
  recorded once, then replayed as a tape of kernels over flat buffers;
* ``numpy-naive``: a book-style numpy MLP (Deep Learning from Scratch), new arrays everywhere;
* ``hand-fused``: numpy GEMMs + tinygrad_lab's numba kernels (bias+ReLU, ReLU backward + bias grad,
  softmax-CE) + one fused update over a flat parameter buffer, no graph: the ceiling for a framework;
* ``torch`` / ``torch-fused``: PyTorch CPU eager, 2 threads, ``Adam()`` and ``Adam(fused=True)``;
* ``gemm-only``: the step's matrix products alone (the first layer's input gradient excluded), in
  the step's order: the GEMM bound, measured like every contender.

Reported: samples/s (median, min-max over repetitions), ratios against torch-fused (or torch for
SGD) and against the GEMM bound (``gemm-only``; beside it the bound of the first runs, each product
timed alone after the contenders, which met a different clock: ``gemm_bound_isolated``), and
tinygrad_lab / hand-fused.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

MODELS = {"A": [784, 100, 100, 10], "B": [784, 512, 256, 10], "C": [784] + [100] * 8 + [10]}
LR = {"adam": 1e-3, "sgd-momentum": 0.01}


def data(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((batch, 784), dtype=np.float32), rng.integers(0, 10, batch)


def he_weights(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(0, np.sqrt(2 / i), (o, i)).astype(np.float32), np.zeros(o, np.float32))
            for i, o in zip(sizes[:-1], sizes[1:])]


# ----- contenders: each returns step() running one training step on fixed data -----------------
def tinygrad_lab_step(sizes, batch, opt, backend, captured=False):
    import tinygrad_lab as tl
    from tinygrad_lab import optim
    from tinygrad_lab.backend import set_backend

    model = tl.nn.MLP(sizes, activation="relu", seed=0, dtype=np.float32, fuse=True)
    params = list(model.parameters())
    optimizer = optim.Adam(params, lr=LR[opt]) if opt == "adam" else optim.SGD(params, lr=LR[opt], momentum=0.9)
    x, y = data(batch)
    xt = tl.Tensor(x)

    def train_step(xt, y):
        loss = tl.cross_entropy(model(xt), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    run = tl.capture(train_step) if captured else train_step

    def step():
        set_backend(backend)  # contenders share the process: each selects its own backend
        run(xt, y)
    return step


def numpy_naive_step(sizes, batch, opt):
    layers = [[w.copy(), b.copy()] for w, b in he_weights(sizes)]
    x, y = data(batch)
    state = [[np.zeros_like(w), np.zeros_like(b), np.zeros_like(w), np.zeros_like(b)] for w, b in layers]
    t = [0]

    def step():
        acts = [x]
        for i, (w, b) in enumerate(layers):
            z = acts[-1] @ w.T + b
            acts.append(np.maximum(z, 0) if i < len(layers) - 1 else z)
        logits = acts[-1]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        g = p.copy()
        g[np.arange(batch), y] -= 1
        g /= batch
        grads = []
        for i in range(len(layers) - 1, -1, -1):
            w, _ = layers[i]
            grads.append((g.T @ acts[i], g.sum(axis=0)))
            if i:
                g = (g @ w) * (acts[i] > 0)
        grads.reverse()
        t[0] += 1
        for (w, b), (gw, gb), s in zip(layers, grads, state):
            for k, (p_, g_) in enumerate(((w, gw), (b, gb))):
                if opt == "adam":
                    s[k] = 0.9 * s[k] + 0.1 * g_
                    s[k + 2] = 0.999 * s[k + 2] + 0.001 * g_ * g_
                    mh, vh = s[k] / (1 - 0.9 ** t[0]), s[k + 2] / (1 - 0.999 ** t[0])
                    p_ -= LR[opt] * mh / (np.sqrt(vh) + 1e-8)
                else:
                    s[k] = 0.9 * s[k] + g_ if t[0] > 1 else g_.copy()
                    p_ -= LR[opt] * s[k]
    return step


def hand_fused_step(sizes, batch, opt):
    """numpy GEMMs into reused buffers + tinygrad_lab's numba kernels + one flat update."""
    from tinygrad_lab import activations
    from tinygrad_lab.backend import numba_backend as K
    from tinygrad_lab.optim.adam import adam_rule
    from tinygrad_lab.optim.sgd import sgd_rule

    relu, identity = activations.get("relu"), activations.get("identity")

    init = he_weights(sizes)
    total = sum(w.size + b.size for w, b in init)
    flat, gflat = np.zeros(total, np.float32), np.zeros(total, np.float32)
    m, v = np.zeros(total, np.float32), np.zeros(total, np.float32)
    views, gviews, offset = [], [], 0
    for w, b in init:
        for a in (w, b):
            views.append(flat[offset:offset + a.size].reshape(a.shape))
            gviews.append(gflat[offset:offset + a.size].reshape(a.shape))
            views[-1][...] = a
            offset += a.size
    W, B, GW, GB = views[0::2], views[1::2], gviews[0::2], gviews[1::2]
    x, y = data(batch)
    n = len(W)
    acts = [x] + [np.empty((batch, w.shape[0]), np.float32) for w in W]
    grads = [None] + [np.empty((batch, w.shape[0]), np.float32) for w in W]
    probs = np.empty((batch, sizes[-1]), np.float32)
    t = [0]

    def step():
        for i in range(n):
            np.matmul(acts[i], W[i].T, out=acts[i + 1])
            K.bias_act(acts[i + 1], B[i], relu if i < n - 1 else identity, acts[i + 1])
        K.softmax_xent(acts[n], y, probs)
        K.xent_grad(probs, y, 1.0 / batch, grads[n])
        np.sum(grads[n], axis=0, out=GB[n - 1])
        for i in range(n - 1, -1, -1):
            np.matmul(grads[i + 1].T, acts[i], out=GW[i])
            if i:
                np.matmul(grads[i + 1], W[i], out=grads[i])
                K.act_backward_bias(grads[i], acts[i], acts[i], relu, grads[i], GB[i - 1])
        t[0] += 1
        if opt == "adam":
            K.update(adam_rule, flat, gflat, (m, v), (LR[opt] / (1 - 0.9 ** t[0]), (1 - 0.999 ** t[0]) ** 0.5,
                                                      0.9, 0.999, 0.1, 0.001, 1e-8, 0.0, 1.0, False))
        else:
            K.update(sgd_rule, flat, gflat, (m,), (LR[opt], 0.9, 1.0, 0.0, False, t[0] == 1, True))
    return step


def torch_step(sizes, batch, opt, fused):
    import torch

    torch.set_num_threads(2)
    layers = []
    for i, (w, b) in enumerate(he_weights(sizes)):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.zero_()
        layers += [lin] + ([torch.nn.ReLU()] if i < len(sizes) - 2 else [])
    model = torch.nn.Sequential(*layers)
    if opt == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=LR[opt], fused=fused)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=LR[opt], momentum=0.9)
    x, y = data(batch)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step


def gemm_only_step(sizes, batch):
    """The step's matrix products alone, in the step's order, into reused buffers: a Wᵀ per layer
    forward; δᵀ a and δ W per layer backward (the first layer's input gradient excluded, as every
    contender skips it).  Its samples/s is the GEMM bound: a step can be no faster than its GEMMs."""
    rng = np.random.default_rng(0)
    ws = [rng.random((o, i), dtype=np.float32) for i, o in zip(sizes[:-1], sizes[1:])]
    acts = [rng.random((batch, n), dtype=np.float32) for n in sizes]
    grads = [rng.random((batch, n), dtype=np.float32) for n in sizes]
    gws = [np.empty_like(w) for w in ws]

    def step():
        for i, w in enumerate(ws):
            np.matmul(acts[i], w.T, out=acts[i + 1])
        for i in range(len(ws) - 1, -1, -1):
            np.matmul(grads[i + 1].T, acts[i], out=gws[i])
            if i:
                np.matmul(grads[i + 1], ws[i], out=grads[i])
    return step


def gemm_bound_isolated(sizes, batch, reps=20) -> float:
    """batch / Σ over the step's products of each one's median time, timed alone and repeated (hot
    caches, and after the contenders ran: the bound of the first benchmark runs, kept beside the
    interleaved ``gemm-only`` contender for comparison)."""
    rng = np.random.default_rng(0)
    total = 0.0
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        a = rng.random((batch, n_in), dtype=np.float32)
        w = rng.random((n_out, n_in), dtype=np.float32)
        g = rng.random((batch, n_out), dtype=np.float32)
        shapes = [(a, w.T), (g.T, a)] + ([(g, w)] if i else [])
        for p, q in shapes:
            out = p @ q
            times = []
            for _ in range(reps):
                s = time.perf_counter()
                np.matmul(p, q, out=out)
                times.append(time.perf_counter() - s)
            total += statistics.median(times)
    return batch / total


def contenders(opt, have_torch):
    names = ["tgl-numba", "tgl-capture", "tgl-numpy", "numpy-naive", "hand-fused", "gemm-only"]
    if have_torch:
        names += ["torch", "torch-fused"] if opt == "adam" else ["torch"]
    return names


def make(name, sizes, batch, opt):
    return {
        "tgl-numba": lambda: tinygrad_lab_step(sizes, batch, opt, "numba"),
        "tgl-capture": lambda: tinygrad_lab_step(sizes, batch, opt, "numba", captured=True),
        "tgl-numpy": lambda: tinygrad_lab_step(sizes, batch, opt, "numpy"),
        "numpy-naive": lambda: numpy_naive_step(sizes, batch, opt),
        "hand-fused": lambda: hand_fused_step(sizes, batch, opt),
        "gemm-only": lambda: gemm_only_step(sizes, batch),
        "torch": lambda: torch_step(sizes, batch, opt, False),
        "torch-fused": lambda: torch_step(sizes, batch, opt, True),
    }[name]()


def measure(config, reps, seconds, have_torch):
    model, batch, opt = config
    sizes = MODELS[model]
    names = contenders(opt, have_torch)
    steps = {}
    for name in names:
        steps[name] = make(name, sizes, batch, opt)
        for _ in range(3):
            steps[name]()  # warm up (JIT, allocator)
    rates = {name: [] for name in names}
    for rep in range(reps):
        for name in (names if rep % 2 == 0 else names[::-1]):  # alternating order
            step = steps[name]
            done, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                step()
                done += 1
            rates[name].append(done * batch / (time.perf_counter() - start))
    return ({name: {"median": statistics.median(r), "min": min(r), "max": max(r)} for name, r in rates.items()},
            gemm_bound_isolated(sizes, batch))


def per_op_overhead(have_torch) -> dict:
    """µs for a tiny (a * b).sum().backward()."""
    import tinygrad_lab as tl

    result = {}
    a, b = tl.Tensor(np.ones(4), requires_grad=True), tl.Tensor(np.ones(4), requires_grad=True)

    def ours():
        (a * b).sum().backward()
    candidates = {"tinygrad_lab": ours}
    if have_torch:
        import torch
        ta, tb = torch.ones(4, requires_grad=True), torch.ones(4, requires_grad=True)
        candidates["torch"] = lambda: (ta * tb).sum().backward()
    for name, fn in candidates.items():
        for _ in range(100):
            fn()
        start = time.perf_counter()
        for _ in range(2000):
            fn()
        result[name] = (time.perf_counter() - start) / 2000 * 1e6
    return result


#: Interleaving six contenders in one process makes glibc's malloc hand big freed blocks back to the
#: kernel and refault them (its mmap threshold adapts to whichever contender ran last): every numpy
#: contender lost 10-40% to page faults that a single training run never sees.  Fixed thresholds,
#: set before the interpreter starts, remove that artefact for all contenders alike.
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456"


def main():
    if sys.platform.startswith("linux") and "GLIBC_TUNABLES" not in os.environ:
        os.environ["GLIBC_TUNABLES"] = MALLOC_TUNABLES
        os.execv(sys.executable, [sys.executable] + sys.argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="B-128-adam and C-128-adam only")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="per contender per repetition")
    parser.add_argument("--json", default="benchmarks/results_mlp.json")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--configs", help="comma-separated MODEL-BATCH-OPTIMIZER, e.g. B-128-adam,B-512-sgd-momentum")
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
        have_torch = not args.no_torch
    except ImportError:
        have_torch = False
        print("torch not installed: PyTorch contenders skipped (pip install torch==2.13.0)")
    configs = ([("B", 128, "adam"), ("C", 128, "adam")] if args.quick else
               [(m, b, o) for m in "ABC" for b in (32, 128, 512) for o in ("adam", "sgd-momentum")])
    if args.configs:
        configs = [(c.split("-", 2)[0], int(c.split("-", 2)[1]), c.split("-", 2)[2]) for c in args.configs.split(",")]
    results = []
    from tinygrad_lab import threads
    print(f"BLAS: {threads.describe()}")
    print(f"{'config':<18}" + "".join(f"{n:>22}" for n in contenders("adam", have_torch)))
    for config in configs:
        rates, isolated = measure(config, args.reps, args.seconds, have_torch)
        bound = rates["gemm-only"]["median"]
        ref = rates.get("torch-fused", rates.get("torch"))
        row = {"model": config[0], "batch": config[1], "optimizer": config[2], "gemm_bound": bound,
               "gemm_bound_isolated": isolated, "capture_over_gemm_bound_isolated": rates["tgl-capture"]["median"] / isolated,
               "samples_per_s": rates,
               "tgl_over_torch": rates["tgl-numba"]["median"] / ref["median"] if ref else None,
               "tgl_over_gemm_bound": rates["tgl-numba"]["median"] / bound,
               "tgl_over_hand_fused": rates["tgl-numba"]["median"] / rates["hand-fused"]["median"],
               "numba_over_numpy": rates["tgl-numba"]["median"] / rates["tgl-numpy"]["median"],
               "capture_over_torch": rates["tgl-capture"]["median"] / ref["median"] if ref else None,
               "capture_over_gemm_bound": rates["tgl-capture"]["median"] / bound,
               "capture_over_hand_fused": rates["tgl-capture"]["median"] / rates["hand-fused"]["median"],
               "capture_over_eager": rates["tgl-capture"]["median"] / rates["tgl-numba"]["median"]}
        results.append(row)
        cells = "".join(f"{r['median'] / 1e3:>9.1f}k ({r['min'] / 1e3:.0f}-{r['max'] / 1e3:.0f})".rjust(22)
                        for r in rates.values())
        print(f"{'-'.join(map(str, config)):<18}{cells}")
        print(f"{'':<18}gemm bound {bound / 1e3:.1f}k (isolated products: {isolated / 1e3:.1f}k); tgl-numba / torch{'-fused' if 'torch-fused' in rates else ''} "
              f"{row['tgl_over_torch'] or float('nan'):.2f}x, / gemm bound {row['tgl_over_gemm_bound']:.2f}, "
              f"/ hand-fused {row['tgl_over_hand_fused']:.2f}, numba / numpy backend {row['numba_over_numpy']:.2f}x")
        print(f"{'':<18}tgl-capture / torch{'-fused' if 'torch-fused' in rates else ''} "
              f"{row['capture_over_torch'] or float('nan'):.2f}x, / gemm bound {row['capture_over_gemm_bound']:.2f} "
              f"(isolated products: {row['capture_over_gemm_bound_isolated']:.2f}), / hand-fused {row['capture_over_hand_fused']:.2f}, "
              f"/ tgl-numba {row['capture_over_eager']:.2f}x")
    overhead = per_op_overhead(have_torch)
    print("per-op overhead, tiny (a*b).sum().backward(): " + ", ".join(f"{k} {v:.1f} us" for k, v in overhead.items()))
    from tinygrad_lab import threads
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "numpy": np.__version__, "blas": threads.describe()},
              "results": results, "per_op_overhead_us": overhead}
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
