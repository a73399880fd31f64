"""Every error a user can trigger, one test each: the mirror of the table in docs/errors.md.

Each case is (row id, how to trigger it, exception type, regex).  The test asserts the exception
type and that the message names the shapes / values; the table's example message must match the
same regex, and the ids of the table and of ``CASES`` must be the same set, so neither can drift.
Every trigger runs in an empty temporary folder (its argument), so the file names in the messages
are the relative ones the table shows.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import re
import struct
from pathlib import Path
from typing import Callable, NamedTuple
from unittest import mock

import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor, cross_entropy, mse_loss, nn, optim
from tinygrad_lab.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinygrad_lab.cli import main
from tinygrad_lab.data import ChecksumError, DataLoader, DownloadError, IDXError, load_mnist, read_idx
from tinygrad_lab.data import datasets
from tinygrad_lab.function import Function
from tinygrad_lab.explain import explain
from tinygrad_lab.gradcheck import GradcheckError, gradcheck, numerical_grad
from tinygrad_lab.train import NonFiniteLoss, Trainer
from tinygrad_lab.train_config import TrainConfig

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


class Case(NamedTuple):
    id: str
    trigger: Callable[[Path], object]
    error: type[BaseException]
    message: str                      # regex that the raised message and the doc's example must match


def randn(*shape, requires_grad=False, dtype=np.float64) -> Tensor:
    return Tensor(np.random.default_rng(0).normal(size=shape), requires_grad=requires_grad, dtype=dtype)


# ----- autograd ---------------------------------------------------------------------------------
def backward_twice(tmp):
    x = randn(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def modify_in_place_before_backward(tmp):
    w = randn(3, requires_grad=True)
    y = (w * w).sum()
    w.data += 1                       # the backward of w * w needs the old w
    y.backward()


def step_between_forward_and_backward(tmp):
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(randn(4, 3)).sum().backward()
    loss = (model(randn(4, 3)) ** 2).sum()
    opt.step()                        # changes the weights loss's graph still needs
    loss.backward()


def anomaly_in_forward(tmp):
    x = Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    with tl.detect_anomaly(), np.errstate(invalid="ignore"):
        x.log()


def anomaly_in_backward(tmp):
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with tl.detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt().sum()            # finite; d sqrt(x)/dx at 0 is inf
        y.backward()


class _WrongSquare(Function, register=False):
    """y = x², with the classic bug gx = gy ⊙ x (the factor 2 forgotten)."""

    def forward(self, x):
        return x * x

    def backward(self, gy, x, y):
        return gy * x


def gradcheck_a_wrong_backward(tmp):
    x = Tensor(np.array([[1.0, -2.0], [3.0, 0.5]]), requires_grad=True, name="x")
    gradcheck(lambda t: _WrongSquare().apply(t).sum(), [x])


# ----- training and optimizers ------------------------------------------------------------------
def nan_loss_in_training(tmp):
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    y = np.arange(8) % 2
    trainer = Trainer(TrainConfig(sizes=[4, 3, 2], epochs=1, batch_size=4, val_split=0), "run", data=(x, y, x, y, "toy"),
                      progress=False, log=lambda *a: None)
    trainer.model[0].weight.data[0, 0] = np.nan
    trainer.fit()


def nan_gradient_in_step(tmp):
    model = nn.Linear(2, 2)
    opt = optim.Adam(model.parameters())
    model(randn(3, 2)).sum().backward()
    model.weight.grad.data[0, 0] = np.nan
    opt.step()


def adam_with_state(params) -> dict:
    opt = optim.Adam(params)
    for p in params:
        p.grad = Tensor(np.ones(p.shape))
    opt.step()
    return opt.state_dict()


def optimizer_state_without_key(tmp):
    state = adam_with_state([nn.Linear(2, 3).weight])
    del state["state"]
    optim.Adam([nn.Linear(2, 3).weight]).load_state_dict(state)


def optimizer_state_of_other_size(tmp):
    state = adam_with_state([nn.Linear(2, 3).weight])
    optim.Adam([nn.Linear(2, 2).weight]).load_state_dict(state)


def optimizer_state_of_other_count(tmp):
    state = adam_with_state(list(nn.Linear(2, 3).parameters()))
    optim.Adam([nn.Linear(2, 3).weight]).load_state_dict(state)


# ----- command line -----------------------------------------------------------------------------
def cli(*argv: str) -> Callable[[Path], None]:
    """Run ``tinygrad-lab ARGV``; an argparse error (usage on stderr, exit status 2) is re-raised as
    a SystemExit carrying its last stderr line, the one that says what is wrong."""
    def run(tmp):
        stderr = io.StringIO()
        try:
            with contextlib.redirect_stderr(stderr):
                main(list(argv))
        except SystemExit as e:
            if isinstance(e.code, str):
                raise
            assert e.code == 2, e.code
            raise SystemExit(stderr.getvalue().strip().splitlines()[-1]) from None
    return run


def model_file(tmp, name="model.npz") -> str:
    """A small model.npz (784-4-10) as train writes it."""
    from dataclasses import asdict
    from tinygrad_lab.train import build_model
    cfg = TrainConfig(dataset="mnist-sample", sizes=[784, 4, 10])
    save_checkpoint(name, {"config": asdict(cfg), "model": build_model(cfg).state_dict()})
    return name


def resume_a_model_file(tmp):
    cli("train", "--resume", model_file(tmp))(tmp)


def resume_a_checkpoint_of_another_version(tmp):
    save_checkpoint("checkpoint.npz", {"config": {"frobnication": 3}, "model": {}, "optimizer": {}, "epoch": 0})
    cli("train", "--resume", "checkpoint.npz")(tmp)


def train_into_a_folder_in_use(tmp):
    from tinygrad_lab.run_folder import RunFolder
    with RunFolder("run"):
        cli("train", "--out", "run")(tmp)


def train_into_a_folder_holding_a_run(tmp):
    Path("run").mkdir()
    Path("run", "metrics.json").write_text("{}")
    Path("run", "checkpoint.npz").write_bytes(b"")
    cli("train", "--out", "run")(tmp)


def experiment_into_a_folder_holding_files(tmp):
    Path("runs", "quadratic").mkdir(parents=True)
    Path("runs", "quadratic", "summary.json").write_text("{}")
    cli("experiment", "quadratic")(tmp)


def train_on_an_incomplete_data_dir(tmp):
    Path("mnist").mkdir()
    Path("mnist", "train-images-idx3-ubyte.gz").write_bytes(b"")
    cli("train", "--data-dir", "mnist", "--out", "run")(tmp)


def fashion_mnist_offline(tmp):
    with mock.patch.dict(datasets.SYSTEM_DIRS, {"fashion-mnist": []}), \
            mock.patch.dict("os.environ", {"XDG_CACHE_HOME": str(tmp / "cache"), "TINYGRAD_LAB_DATA": ""}):
        cli("train", "--dataset", "fashion-mnist", "--offline", "--out", "run")(tmp)


def evaluate_on_a_corrupt_data_dir(tmp):
    Path("mnist").mkdir()
    for name in datasets.FILE_NAMES.values():
        Path("mnist", name).write_bytes(b"junk")
    cli("evaluate", model_file(tmp), "--data-dir", "mnist")(tmp)


def predict_a_decompression_bomb(tmp):
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    Path("bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 12000, 12000, 8, 0, 0, 0, 0))
                                 + chunk(b"IEND", b""))
    cli("predict", model_file(tmp), "bomb.png")(tmp)


def predict_a_one_pixel_image(tmp):
    from PIL import Image
    Image.new("L", (1, 1)).save("dot.png")
    cli("predict", model_file(tmp), "dot.png")(tmp)


def train_on_a_full_disk(tmp):
    too_large = OSError(27, "File too large")
    with mock.patch("tinygrad_lab.atomic.os.fsync", side_effect=too_large):
        cli("train", "--dataset", "mnist-sample", "--hidden", "4", "--epochs", "1", "--out", "run",
            "--backend", "numpy")(tmp)


# ----- data files and checkpoints ---------------------------------------------------------------
def idx_file(content: bytes) -> Callable[[Path], np.ndarray]:
    def read(tmp):
        Path("data.idx").write_bytes(content)
        return read_idx("data.idx")
    return read


def header(*shape: int) -> bytes:
    return bytes([0, 0, 8, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def fake_mnist(train_labels: int = 12) -> dict[str, bytes]:
    """Well-formed IDX files of a 12 + 5 image dataset, by file name (not MNIST's content)."""
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, train_labels, dtype=np.uint8),
              "test_images": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, 5, dtype=np.uint8)}
    return {datasets.FILE_NAMES[k]: header(*a.shape) + a.tobytes() for k, a in arrays.items()}


def load_mnist_from(files: dict[str, bytes]) -> None:
    Path("mnist").mkdir()
    for name, content in files.items():
        Path("mnist", f"{name}.gz").write_bytes(gzip.compress(content))
    load_mnist("mnist", download=False, fallback=False)


def mnist_files_of_another_dataset(tmp):
    load_mnist_from(fake_mnist())


def label_count_differs(tmp):
    files = fake_mnist(train_labels=11)
    checksums = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
    with mock.patch.dict(datasets.CHECKSUMS, {"mnist": checksums}):
        load_mnist_from(files)


def every_mirror_fails(tmp):
    mirrors = [Path("mirror1").resolve().as_uri() + "/", Path("mirror2").resolve().as_uri() + "/"]
    datasets.download_file("train-labels-idx1-ubyte", Path("."), mirrors, "0" * 64)


def truncated_checkpoint(tmp):
    data = save_checkpoint("checkpoint.npz", {"w": np.zeros(100)}).read_bytes()
    Path("checkpoint.npz").write_bytes(data[:len(data) // 2])
    load_checkpoint("checkpoint.npz")


def checkpoint_declaring_a_petabyte(tmp):
    import zipfile
    save_checkpoint("checkpoint.npz", {"w": np.zeros(4, dtype=np.float32)})
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**15,)})
    with zipfile.ZipFile("checkpoint.npz") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["w.npy"] = header.getvalue() + bytes(16)
    with zipfile.ZipFile("checkpoint.npz", "w") as archive:   # valid CRCs
        for name, content in members.items():
            archive.writestr(name, content)
    load_checkpoint("checkpoint.npz")


def failed_checkpoint_write(tmp):
    save_checkpoint("checkpoint.npz", {"w": np.ones(3)})
    disk_full = OSError(28, "No space left on device")
    try:
        with mock.patch("tinygrad_lab.atomic.os.fsync", side_effect=disk_full):
            save_checkpoint("checkpoint.npz", {"w": np.zeros(3)})
    finally:                          # the previous checkpoint is intact, no temporary file is left
        np.testing.assert_array_equal(load_checkpoint("checkpoint.npz")["w"], np.ones(3))
        assert [p.name for p in Path(".").iterdir()] == ["checkpoint.npz"]


CASES = [
    # shapes
    Case("matmul-shapes", lambda tmp: randn(2, 3) @ randn(4, 5), ValueError,
         r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned: 3 .* != 4"),
    Case("broadcast-shapes", lambda tmp: randn(2, 3) + randn(4, 3), ValueError,
         r"add: shapes \(2, 3\) and \(4, 3\) cannot be broadcast together"),
    Case("mse-shapes", lambda tmp: mse_loss(randn(4, 1), randn(4)), ValueError,
         r"mse_loss: output shape \(4, 1\) and target shape \(4,\) differ"),
    Case("linear-input", lambda tmp: nn.Linear(3, 2)(randn(5, 4)), ValueError,
         r"weight of shape \(2, 3\) expects input of shape \(N, 3\), got \(5, 4\)"),
    Case("batchnorm-input", lambda tmp: nn.BatchNorm1d(3)(randn(5, 4)), ValueError,
         r"BatchNorm1d\(3\) expects input of shape \(N, 3\), got \(5, 4\)"),
    Case("batchnorm-batch-of-one", lambda tmp: nn.BatchNorm1d(3)(randn(1, 3)), ValueError,
         r"more than 1 sample per batch .* got input of shape \(1, 3\)"),
    # labels
    Case("label-range", lambda tmp: cross_entropy(randn(4, 3), [0, 1, 3, 2]), ValueError,
         r"cross_entropy: target 3 is outside \[0, 3\) for 3 classes"),
    Case("label-dtype", lambda tmp: cross_entropy(randn(4, 3), np.array([0.5, 1, 1, 2])), TypeError,
         r"targets must be integer class indices, got dtype float64"),
    Case("label-shape", lambda tmp: cross_entropy(randn(4, 3), [0, 1, 2]), ValueError,
         r"targets must have shape \(4,\) for logits of shape \(4, 3\), got \(3,\)"),
    # dtypes
    Case("dtype-mix", lambda tmp: randn(3, dtype=np.float32) + randn(3), TypeError,
         r"Add: inputs mix float32 and float64 tensors of shapes \(3,\) and \(3,\)"),
    Case("dtype-mix-layer", lambda tmp: nn.Linear(3, 2, dtype=np.float32)(randn(4, 3)), TypeError,
         r"Linear\(3, 2\) holds float32 weights but got a float64 input of shape \(4, 3\)"),
    Case("tensor-dtype", lambda tmp: Tensor(np.array(["a", "b"])), TypeError,
         r"cannot make a Tensor from data of dtype <U1"),
    # backward
    Case("backward-non-scalar", lambda tmp: (randn(2, 3, requires_grad=True) * 2).backward(), RuntimeError,
         r"backward\(\) on a tensor of shape \(2, 3\) needs grad="),
    Case("backward-grad-shape", lambda tmp: (randn(2, 3, requires_grad=True) * 2).backward(np.ones(3)),
         ValueError, r"grad has shape \(3,\) but the output has shape \(2, 3\)"),
    Case("backward-no-grad", lambda tmp: (randn(2, 3) * 2).sum().backward(), RuntimeError,
         r"backward\(\) on a tensor of shape \(\) that does not require grad"),
    Case("backward-freed-graph", backward_twice, RuntimeError,
         r"backward through the graph a second time: the graph of Sum \(output shape \(\)\) was freed"),
    Case("in-place-change", modify_in_place_before_backward, RuntimeError,
         r"Mul: input 0 of shape \(3,\) was modified in place after the forward pass \(version 0 -> 1\)"),
    Case("in-place-step", step_between_forward_and_backward, RuntimeError,
         r"Affine: input 1 of shape \(2, 3\) was modified in place after the forward pass"),
    Case("anomaly-forward", anomaly_in_forward, tl.AnomalyError,
         r"Log \(inputs of shapes \(2,\)\) produced NaN in its forward pass; all of its inputs were "
         r"finite\. Created at .*test_errors\.py:\d+ in anomaly_in_forward: x\.log\(\)"),
    Case("anomaly-backward", anomaly_in_backward, tl.AnomalyError,
         r"Sqrt \(inputs of shapes \(2,\), output \(2,\)\) produced inf in the gradient of input 0 "
         r"during backward\. Created at .*test_errors\.py:\d+ in anomaly_in_backward: y = x\.sqrt\(\)\.sum\(\)"),
    Case("gradcheck-mismatch", gradcheck_a_wrong_backward, GradcheckError,
         r"gradient mismatch for input 0 \(x\) of shape \(2, 2\) at index \(1, 0\): "
         r"analytic 3, numerical 6"),
    Case("gradcheck-plain-return", lambda tmp: numerical_grad(lambda x: [float(x.sum())], [np.ones(2)]), TypeError,
         r"f must return a float \(a number or a one-element array\); it returned a list$"),
    Case("explain-weights-shape", lambda tmp: explain(weights={"W0": np.ones((3, 2)), "b0": np.ones(3),
                                                               "W1": np.ones((2, 4)), "b1": np.ones(2)}),
         ValueError, r"W1 has shape \(2, 4\), expected \(n2, 3\): W0 of shape \(3, 2\) has 3 outputs$"),
    # training and optimizers
    Case("nan-loss", nan_loss_in_training, NonFiniteLoss,
         r"the training loss became nan at step 0 \(epoch 1\)"),
    Case("optimizer-non-parameter", lambda tmp: optim.SGD([np.zeros(3)], lr=0.1), TypeError,
         r"parameter 0 of group 0 is a ndarray, not a Tensor"),
    Case("optimizer-single-tensor", lambda tmp: optim.SGD(nn.Linear(2, 2).weight, lr=0.1), TypeError,
         r"got a single Parameter; wrap it in a list"),
    Case("optimizer-empty", lambda tmp: optim.SGD([], lr=0.1), ValueError,
         r"optimizer got an empty parameter list"),
    Case("optimizer-negative-lr", lambda tmp: optim.SGD(nn.Linear(2, 2).parameters(), lr=-1), ValueError,
         r"invalid lr: -1 \(must be finite and >= 0\)"),
    Case("optimizer-betas", lambda tmp: optim.Adam(nn.Linear(2, 2).parameters(), betas=(0.9, 1.0)),
         ValueError, r"invalid beta2: 1\.0 \(must be in \[0, 1\)\)"),
    Case("optimizer-eps-zero", lambda tmp: optim.Adam(nn.Linear(2, 2).parameters(), eps=0), ValueError,
         r"invalid eps: 0 is 0, and a zero gradient with zero running averages would then write 0/0 = NaN"),
    Case("optimizer-nan-gradient", nan_gradient_in_step, FloatingPointError,
         r"non-finite gradient \(nan or inf\) for param_groups\[0\] parameter 0 of shape \(2, 2\); "
         r"no parameter was updated"),
    # state dicts
    Case("module-state-missing",
         lambda tmp: nn.Linear(2, 2).load_state_dict({"weight": np.zeros((2, 2))}), KeyError,
         r"missing keys \['bias'\], unexpected keys \[\]"),
    Case("module-state-unexpected",
         lambda tmp: nn.Linear(2, 2).load_state_dict({"weight": np.zeros((2, 2)), "bias": np.zeros(2),
                                                      "scale": np.ones(1)}), KeyError,
         r"missing keys \[\], unexpected keys \['scale'\]"),
    Case("module-state-shape",
         lambda tmp: nn.Linear(2, 2).load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(2)}),
         ValueError, r"'weight' has shape \(3, 2\) in the state dict but \(2, 2\) in the model"),
    Case("optimizer-state-missing", optimizer_state_without_key, KeyError,
         r"missing keys \['state'\], unexpected keys \[\]"),
    Case("optimizer-state-count", optimizer_state_of_other_count, ValueError,
         r"parameter group 0: state dict has 2 parameters, optimizer has 1"),
    Case("optimizer-state-shape", optimizer_state_of_other_size, ValueError,
         r"state 'exp_avg' of parameter 0 has shape \(6,\), parameter has shape \(2, 2\)"),
    # command line
    Case("cli-epochs", cli("train", "--epochs", "0"), SystemExit,
         r"tinygrad-lab train: --epochs 0: must be an integer >= 1$"),
    Case("cli-optimizer", cli("train", "--optimizer", "lbfgs"), SystemExit,
         r"argument --optimizer: invalid choice: 'lbfgs' \(choose from 'sgd', "),
    Case("cli-lr-schedule", cli("train", "--lr-schedule", "linear:3"), SystemExit,
         r"tinygrad-lab train: --lr-schedule linear:3: not a schedule; use none, step:EPOCHS\[:GAMMA\]"),
    Case("cli-lr-schedule-number", cli("train", "--lr-schedule", "step:inf"), SystemExit,
         r"--lr-schedule step:inf: EPOCHS must be an integer in \[1, inf\], got 'inf'"),
    Case("cli-not-finite", cli("train", "--lr", "nan"), SystemExit,
         r"argument --lr: must be a finite number, got 'nan'"),
    Case("cli-seed", cli("train", "--seed", "-1"), SystemExit, r"train: --seed -1: must be an integer >= 0"),
    Case("cli-threads", cli("train", "--threads", "0"), SystemExit,
         r"train: --threads 0: BLAS threads must be 'auto' or a positive integer, got '0'$"),
    Case("cli-sizes-and-hidden", cli("train", "--sizes", "784-10", "--hidden", "5"), SystemExit,
         r"train: --sizes and --hidden: give one of them, not both"),
    Case("cli-output-size", cli("train", "--sizes", "784-16-5", "--dataset", "mnist-sample", "--out", "run"),
         SystemExit, r"train: --sizes 784-16-5: the output layer has 5 units but the data has 10 classes"),
    Case("cli-memory", cli("train", "--hidden", "1000000000"), SystemExit,
         r"train: --hidden 1000000000: the run needs about [\d,.]+ GiB \(weights, .*\) but [\d,.]+ GiB of memory"),
    Case("cli-memory-batch", cli("train", "--hidden", "10000000", "--batch-size", "100000000"), SystemExit,
         r"train: --batch-size 100000000: the run needs about [\d,.]+ GiB \(weights, gradients and optimizer state "
         r"[\d,.]+ GiB, the activations of a batch of 60,000 samples [\d,.]+ GiB\) but [\d,.]+ GiB of memory"),
    Case("cli-resume-missing", cli("train", "--resume", "missing.npz"), SystemExit,
         r"train: --resume missing\.npz: no such checkpoint file"),
    Case("cli-resume-model", resume_a_model_file, SystemExit,
         r"train: --resume model\.npz: model\.npz: not a training checkpoint \(a model\.npz\?"),
    Case("cli-resume-options", cli("train", "--resume", "run/checkpoint.npz", "--lr", "0.1", "--hidden", "8"),
         SystemExit, r"train: --resume continues the checkpoint's model, optimizer and data order; drop --lr, "
                     r"--hidden"),
    Case("cli-resume-unknown-key", resume_a_checkpoint_of_another_version, SystemExit,
         r"checkpoint\.npz: its config has keys this version does not know: \['frobnication'\]"),
    Case("cli-out-file", lambda tmp: (Path("notes.txt").write_text(""), cli("train", "--out", "notes.txt")(tmp)),
         SystemExit, r"train: --out notes\.txt is a file, not a folder"),
    Case("cli-out-in-use", train_into_a_folder_in_use, SystemExit,
         r"train: --out run is in use by another run \(pid \d+, lock file run/\.tinygrad-lab\.lock\)"),
    Case("cli-out-holds-run", train_into_a_folder_holding_a_run, SystemExit,
         r"train: --out run already holds a run \(checkpoint\.npz, metrics\.json\); continue it with --resume "
         r"run/checkpoint\.npz, or replace it with --force"),
    Case("cli-out-holds-files", experiment_into_a_folder_holding_files, SystemExit,
         r"experiment quadratic: --out runs/quadratic already holds files \(summary\.json\); choose another --out, "
         r"or write into it with --force$"),
    Case("cli-data-dir-missing", cli("train", "--data-dir", "nowhere", "--out", "run"), SystemExit,
         r"train: --data-dir nowhere is not a folder"),
    Case("cli-data-dir-incomplete", train_on_an_incomplete_data_dir, SystemExit,
         r"train: --data-dir mnist lacks train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"),
    Case("cli-dataset-offline", fashion_mnist_offline, SystemExit,
         r"train: --dataset fashion-mnist: full fashion-mnist not found in .* \(download disabled\)"),
    Case("cli-write-failed", train_on_a_full_disk, SystemExit,
         r"train: cannot write run.*: File too large; the files written before are intact"),
    Case("cli-evaluate-dataset", cli("evaluate", "model.npz", "--dataset", "bogus"), SystemExit,
         r"evaluate: argument --dataset: invalid choice: 'bogus'"),
    Case("cli-evaluate-corrupt", evaluate_on_a_corrupt_data_dir, SystemExit,
         r"evaluate: --data-dir mnist/train-images-idx3-ubyte: bad magic number 6a 75 6e 6b"),
    Case("cli-predict-bomb", predict_a_decompression_bomb, SystemExit,
         r"predict: bomb\.png: declares 12000×12000 pixels, more than the 25,000,000 accepted"),
    Case("cli-predict-tiny", predict_a_one_pixel_image, SystemExit,
         r"tinygrad-lab predict: dot\.png: is 1×1 pixels, too small to hold a digit \(at least 8×8: MNIST's digits "
         r"are 20 pixels tall\)$"),
    Case("cli-predict-no-image", cli("predict", "model.npz"), SystemExit, r"predict: give IMAGE files or --index N"),
    Case("cli-evaluate-missing", cli("evaluate", "missing.npz"), SystemExit,
         r"tinygrad-lab evaluate: checkpoint missing\.npz does not exist"),
    Case("cli-gradcheck-op", cli("gradcheck", "--op", "frobnicate"), SystemExit,
         r"unknown op 'frobnicate'; known: BatchNorm1d_eval, "),
    Case("cli-val-split", cli("train", "--val-split", "2.5"), SystemExit,
         r"train: --val-split 2\.5: must be 0 \(no validation set\), a count \(an integer >= 1\) or a fraction "
         r"in \(0, 1\)$"),
    Case("cli-val-split-data", cli("train", "--dataset", "mnist-sample", "--val-split", "5000", "--out", "run"),
         SystemExit, r"train: --val-split 5000: holds out 5000 of the 5000 training samples: it must hold out at "
                     r"least one and leave some to train on$"),
    Case("cli-needs-validation", cli("train", "--val-split", "0", "--early-stopping", "3"), SystemExit,
         r"train: --early-stopping 3: needs a validation set to watch, and the validation split is 0$"),
    Case("cli-momentum", cli("train", "--optimizer", "adam", "--momentum", "0.9"), SystemExit,
         r"train: --momentum 0\.9: adam takes no momentum \(only sgd, momentum, nesterov, rmsprop do\)$"),
    Case("cli-dropout", cli("train", "--dropout", "1"), SystemExit,
         r"train: --dropout 1: must be a probability in \[0, 1\)$"),
    Case("cli-gradcheck-module", cli("gradcheck", "--module", "no_such_ops"), SystemExit,
         r"gradcheck: --module no_such_ops: cannot import it \(ModuleNotFoundError: No module named 'no_such_ops'\)$"),
    Case("cli-gradcheck-module-empty", lambda tmp: (Path("my_empty_ops.py").write_text("x = 1\n"),
                                                    cli("gradcheck", "--module", "my_empty_ops")(tmp)),
         SystemExit, r"gradcheck: --module my_empty_ops: defines no CASES and no Function with register=True"),
    Case("cli-check-backprop-function", lambda tmp: (Path("mine.py").write_text("def my_backprop(W, b, x, t):\n    pass\n"),
                                                     cli("check-backprop", "mine.py:backprop")(tmp)),
         SystemExit, r"check-backprop: mine\.py has no function 'backprop'; it defines my_backprop$"),
    Case("cli-init-stats-width", cli("experiment", "init-stats", "--width", "0"), SystemExit,
         r"argument --width: must be >= 1, got 0"),
    # data files
    Case("idx-bad-magic", idx_file(b"\x01\x02\x08\x01" + bytes(8)), IDXError,
         r"data\.idx: bad magic number 01 02 08 01: an IDX file starts with 00 00"),
    Case("idx-truncated-header", idx_file(bytes([0, 0, 8, 3]) + struct.pack(">I", 2)), IDXError,
         r"header truncated: declares 3 dimensions \(12 bytes\) but only 4 header bytes follow"),
    Case("idx-truncated-data", idx_file(header(2, 28, 28) + bytes(100)), IDXError,
         r"data\.idx: declares shape \(2, 28, 28\) = 1568 bytes but holds 100 bytes of data"),
    Case("idx-trailing-bytes", idx_file(header(2) + bytes(5)), IDXError,
         r"trailing bytes after the 2 bytes of data declared by its shape \(2,\)"),
    Case("idx-huge-dims", idx_file(header(60000, 65535, 65535) + bytes(10)), IDXError,
         r"declares shape \(60000, 65535, 65535\) = 257690173500000 bytes but holds 10 bytes"),
    Case("dataset-checksum", mnist_files_of_another_dataset, ChecksumError,
         r"mnist/train-images-idx3-ubyte\.gz: SHA-256 of the uncompressed content is [0-9a-f]{64}, "
         r"expected [0-9a-f]{64}"),
    Case("dataset-label-count", label_count_differs, IDXError,
         r"mnist: 12 train images but 11 train labels"),
    Case("dataset-download", every_mirror_fails, DownloadError,
         r"train-labels-idx1-ubyte\.gz: every mirror failed: file:///.*mirror1/train-labels-idx1-ubyte"
         r"\.gz: URLError: .*; file:///.*mirror2/"),
    Case("loader-batch-size", lambda tmp: DataLoader(np.zeros((4, 2)), np.zeros(4), 0), ValueError,
         r"batch_size must be an integer >= 1, got 0"),
    # checkpoints
    Case("checkpoint-truncated", truncated_checkpoint, CheckpointError,
         r"checkpoint\.npz: truncated or corrupted checkpoint \(BadZipFile: "),
    Case("checkpoint-member-size", checkpoint_declaring_a_petabyte, CheckpointError,
         r"checkpoint\.npz: member w\.npy is corrupted: its header declares shape \(1000000000000000,\) of float32 "
         r"\(4,000,000,000,000,000 bytes\) but the member holds 16 bytes of data$"),
    Case("checkpoint-write-failed", failed_checkpoint_write, OSError, r"No space left on device"),
    # PyTorch habits: tensor methods, losses, dropout, save/load
    Case("keyword-twice", lambda tmp: randn(2, 3).sum(dim=0, axis=1), TypeError,
         r"sum: got both dim= and axis=; pass one"),
    Case("unsqueeze-dim", lambda tmp: randn(2, 3).unsqueeze(3), ValueError,
         r"unsqueeze: dim 3 is out of range for a tensor of shape \(2, 3\)"),
    Case("flatten-dims", lambda tmp: randn(2, 3, 4).flatten(2, 1), ValueError,
         r"flatten: start_dim 2 comes after end_dim 1 for shape \(2, 3, 4\)"),
    Case("tensor-to-dtype", lambda tmp: randn(2).to(np.int64), TypeError,
         r"to: Tensors hold float32 or float64, got dtype int64"),
    Case("requires-grad-non-leaf", lambda tmp: (randn(2, requires_grad=True) * 2).requires_grad_(False),
         RuntimeError, r"requires_grad_\(False\) on a non-leaf tensor of shape \(2,\)"),
    Case("randn-generator", lambda tmp: tl.randn(2, generator=0), TypeError,
         r"randn: generator must be a numpy.random.Generator"),
    Case("loss-reduction", lambda tmp: mse_loss(randn(2), randn(2), reduction="half_sum"), ValueError,
         r"mse_loss: reduction must be one of \('mean', 'sum', 'none'\), got 'half_sum'"),
    Case("label-smoothing", lambda tmp: cross_entropy(randn(2, 3), [0, 1], label_smoothing=1.5), ValueError,
         r"cross_entropy: label_smoothing must be in \[0, 1\], got 1.5"),
    Case("bce-range", lambda tmp: tl.binary_cross_entropy(Tensor([0.5, 1.5]), Tensor([0.0, 1.0])), ValueError,
         r"binary_cross_entropy: the input must be probabilities in \[0, 1\], got values in \[0.5, 1.5\]"),
    Case("bce-target-grad", lambda tmp: tl.binary_cross_entropy(Tensor([0.5]), Tensor([1.0], requires_grad=True)),
         ValueError, r"binary_cross_entropy: gradients with respect to the target are not supported"),
    Case("dropout-p", lambda tmp: nn.Dropout(1.5), ValueError,
         r"dropout probability must be a number in \[0, 1\], got 1.5"),
    Case("save-unsupported", lambda tmp: tl.save({"model": {"w": {1, 2}}}, "state.npz"), TypeError,
         r"save: cannot store a set at obj\['model'\]\['w'\]"),
    Case("save-object-array", lambda tmp: tl.save({"x": np.array([None])}, "state.npz"), TypeError,
         r"save: cannot store the object array at obj\['x'\] \(no pickle"),
    Case("load-missing", lambda tmp: tl.load("state.npz"), FileNotFoundError, r"checkpoint state.npz does not exist"),
    Case("model-spec-custom", lambda tmp: nn.save_model(type("Net", (nn.Module,), {})(), "net.npz"), TypeError,
         r"spec: Net is not one of tinygrad_lab.nn's layers"),
    Case("model-file", lambda tmp: (tl.save({"w": np.zeros(2)}, "w.npz"), nn.load_model("w.npz")), ValueError,
         r"load_model: w.npz holds no model saved by nn.save_model"),
]


# ----- trust (issue 13): ownership, versions, protocols, axes, all-or-nothing state changes --------
def _adam_after_sgd(tmp):
    p = nn.Parameter(np.ones(2))
    sgd = optim.SGD([p], lr=0.1, momentum=0.9)
    optim.Adam([p]).load_state_dict(sgd.state_dict())


def _adam_state_with_nan(tmp):
    p = nn.Parameter(np.ones(2))
    opt = optim.Adam([p])
    p.grad = Tensor([1.0, 1.0])
    opt.step()
    state = opt.state_dict()
    state["state"][0]["exp_avg"][0] = np.nan
    opt.load_state_dict(state)


def _lr_nan_after_construction(tmp):
    p = nn.Parameter(np.ones(2))
    opt = optim.SGD([p], lr=0.1)
    p.grad = Tensor([1.0, 1.0])
    opt.param_groups[0]["lr"] = float("nan")
    opt.step()


def _module_state_nan(tmp):
    layer = nn.Linear(2, 1)
    state = layer.state_dict()
    state["bias"] = np.array([np.inf])
    layer.load_state_dict(state)


def _scheduler_state_inf(tmp):
    sched = optim.lr_scheduler.ExponentialLR(optim.SGD([nn.Parameter(np.ones(1))], lr=0.1), gamma=0.9)
    state = sched.state_dict()
    state["gamma"] = float("inf")
    sched.load_state_dict(state)


def _output_modified(tmp):
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.exp()
    with tl.no_grad():
        y.copy_(np.zeros(2))
    y.sum().backward()


def _custom_op_dtype(tmp):
    class Twice(Function, register=False):
        def forward(self, x):
            return x * 2

        def backward(self, gy, x, y):
            return gy.astype(np.float64) * 2

    Twice().apply(Tensor(np.ones(3, dtype=np.float32), requires_grad=True)).sum().backward()


CASES += [
    Case("tensor-ragged", lambda tmp: Tensor([[1.0, 2.0], [3.0]]), ValueError,
         r"cannot make a Tensor from nested sequences of unequal lengths"),
    Case("tensor-from-numpy", lambda tmp: Tensor.from_numpy(np.array([1, 2])), TypeError,
         r"Tensor.from_numpy needs a float32 or float64 numpy array, got an array of dtype int64"),
    Case("copy-shape", lambda tmp: Tensor(np.zeros(3)).copy_(np.ones(4)), ValueError,
         r"copy_: a value of shape \(4,\) cannot be written into a tensor of shape \(3,\)"),
    Case("copy-graph-tensor", lambda tmp: (randn(3, requires_grad=True) * 2).copy_(np.ones(3)), RuntimeError,
         r"copy_: the tensor of shape \(3,\) was computed by the graph \(Mul\) and in-place writes are not "
         r"differentiable"),
    Case("copy-read-only", lambda tmp: randn(3).broadcast_to(2, 3).copy_(np.ones(3)), RuntimeError,
         r"copy_: the tensor of shape \(2, 3\) is a read-only view"),
    Case("output-modified", _output_modified, RuntimeError,
         r"Exp: its output of shape \(2,\) was modified in place after the forward pass \(version 0 -> 1\)"),
    Case("backward-dtype", _custom_op_dtype, AssertionError,
         r"Twice.backward gave a float64 gradient for a float32 input of shape \(3,\)"),
    Case("bool-ambiguous", lambda tmp: bool(randn(2)), RuntimeError,
         r"Boolean value of a tensor of shape \(2,\) with 2 values is ambiguous"),
    Case("len-0d", lambda tmp: len(Tensor(1.0)), TypeError, r"len\(\) of a 0-d tensor"),
    Case("iter-0d", lambda tmp: list(Tensor(1.0)), TypeError, r"iteration over a 0-d tensor"),
    Case("axis-range", lambda tmp: randn(2, 3).transpose(3, 0), ValueError,
         r"transpose: axis 3 is out of range for a tensor of shape \(2, 3\)"),
    Case("axis-repeated", lambda tmp: randn(2, 3).sum(axis=(0, -2)), ValueError,
         r"sum: axis \(0, -2\) repeats an axis"),
    Case("axis-integer", lambda tmp: randn(2, 3).sum(axis=1.0), TypeError, r"sum: axis must be an integer, got 1\.0"),
    Case("index-dtype", lambda tmp: randn(3)[[0.5]], IndexError, r"index arrays must be integers or booleans, got dtype float64"),
    Case("compare-shapes", lambda tmp: randn(2) < randn(3), ValueError,
         r"lt: shapes \(2,\) and \(3,\) cannot be broadcast together"),
    Case("stack-empty", lambda tmp: tl.stack([]), ValueError, r"stack needs at least one tensor"),
    Case("optimizer-step-hyperparameter", _lr_nan_after_construction, ValueError,
         r"param_groups\[0\]: invalid lr: nan \(must be finite and >= 0\); no parameter was updated"),
    Case("optimizer-state-type", _adam_after_sgd, TypeError,
         r"load_state_dict: the state dict is from SGD, this optimizer is Adam"),
    Case("optimizer-state-value", _adam_state_with_nan, ValueError,
         r"load_state_dict: parameter 0: state 'exp_avg' holds NaN or inf"),
    Case("module-state-value", _module_state_nan, ValueError, r"load_state_dict: 'bias' holds NaN or inf"),
    Case("scheduler-state-value", _scheduler_state_inf, ValueError,
         r"ExponentialLR.load_state_dict: invalid gamma: inf \(must be finite and >= 0\)"),
]


def doc_rows() -> dict[str, dict[str, str]]:
    """The table of docs/errors.md: row id -> {column: cell}, with ``\\|`` unescaped."""
    rows, columns = {}, None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if columns is None:
            columns = cells
        elif not set(cells[0]) <= set("-: "):
            rows[cells[0].strip("`")] = dict(zip(columns, cells))
    return rows


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_error_and_its_message(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(case.error) as caught:
        case.trigger(tmp_path)
    assert type(caught.value) is case.error
    assert re.search(case.message, str(caught.value)), f"{case.id}: {caught.value}"


def test_the_table_and_the_tests_list_the_same_errors():
    assert len({c.id for c in CASES}) == len(CASES)
    assert set(doc_rows()) == {c.id for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_table_shows_the_real_type_and_message(case):
    row = doc_rows()[case.id]
    assert row["exception"].startswith(f"`{case.error.__name__}`"), row["exception"]
    assert re.search(case.message, row["example message"].strip("`")), row["example message"]
