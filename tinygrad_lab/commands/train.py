"""``tinygrad-lab train``: train an MLP on MNIST (the project's main job).

The options of the model, optimizer and data are generated from :class:`~tinygrad_lab.train_config.TrainConfig`'s
fields (their defaults, choices and help live there, once); the rest (``--out``, ``--resume``,
``--force``, ``--backend``, ``--offline``, progress) are about running it.  The library's errors
name config fields; this module maps them to option names and the values as typed.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import shlex
import signal
import sys
import time
import typing
from pathlib import Path

DEFAULT_OUT = "runs/train"


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def add_config_options(p: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field (``sizes`` as ``--hidden`` or ``--sizes``).  Defaults are
    suppressed, so ``args`` holds exactly the options given and TrainConfig supplies the rest."""
    from tinygrad_lab.train_config import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        meta, default = field.metadata, TrainConfig.__dataclass_fields__[field.name]
        default = default.default_factory() if default.default is dataclasses.MISSING else default.default
        help_text = meta["help"] + ("" if default is None or "default" in meta["help"] else f" (default: {default})")
        if field.name == "sizes":
            p.add_argument("--hidden", default=argparse.SUPPRESS, metavar="H1,H2,...",
                           help=f"hidden layer sizes (default: {','.join(map(str, default[1:-1]))})")
            p.add_argument("--sizes", default=argparse.SUPPRESS, metavar="784-...-10",
                           help=f"{help_text}; give --sizes or --hidden")
            continue
        kind = next(t for t in typing.get_args(hints[field.name]) or (hints[field.name],) if t is not type(None))
        if kind is bool:
            p.add_argument(option_name(field.name), action="store_true", default=argparse.SUPPRESS, help=help_text)
        else:
            p.add_argument(option_name(field.name), default=argparse.SUPPRESS, choices=meta["choices"],
                           type={int: _integer, float: _finite}.get(kind, str), metavar=meta["metavar"],
                           help=help_text)


def _resumable() -> list[str]:
    from tinygrad_lab.train_config import RESUMABLE
    return [name for name, resumable in RESUMABLE.items() if resumable]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train an MLP classifier on MNIST (default: 784-512-256-10 "
                              "ReLU, He init, Adam 1e-3 with cosine decay, batch 128, 5 epochs, float32)",
                              description="Train an MLP classifier; every output is written atomically into "
                              "--out, which the run locks. Ctrl-C or SIGTERM stops at the next batch with a "
                              "checkpoint and prints the command that resumes it.")
    add_config_options(p)
    p.add_argument("--offline", action="store_true", help="never download: use the files found, or (MNIST "
                   "without --data-dir) the bundled sample")
    p.add_argument("--backend", choices=["numpy", "numba"], help="kernel backend (default: numba)")
    p.add_argument("--threads", metavar="N", help="BLAS threads per matrix product: auto (default: one thread "
                   "below a size where more pay, all above) or a count; also TINYGRAD_LAB_THREADS. Thread "
                   "counts may round differently: the choice is recorded in metrics.json")
    p.add_argument("--out", help=f"output folder (default {DEFAULT_OUT}; with --resume, the checkpoint's folder); "
                   "a folder that already holds files is refused unless --force")
    p.add_argument("--force", action="store_true", help="write into an --out that holds files: the run already "
                   "there is removed first, other files are kept")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in CHECKPOINT; only "
                   f"{', '.join(option_name(f) for f in _resumable())} and the running options may be given with it")
    p.add_argument("--no-capture", action="store_true",
                   help="run every step eagerly, building the graph, instead of replaying the kernels the "
                        "first step recorded (tinygrad_lab.capture: the same numbers, bit for bit; slower)")
    p.add_argument("--detect-anomaly", action="store_true",
                   help="stop at the first op whose forward or backward gives NaN/inf, naming it and the "
                        "line that created it (slower)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (there is none unless stderr "
                   "is a terminal)")
    p.set_defaults(func=run)


class _Options:
    """The config options given on the command line, as TrainConfig fields, and how to name them."""

    def __init__(self, args):
        from tinygrad_lab.train_config import TrainConfig

        names = [f.name for f in dataclasses.fields(TrainConfig) if f.name != "sizes"]
        self.given = {name: getattr(args, name) for name in names if hasattr(args, name)}
        self.typed = {name: _as_typed(value) for name, value in self.given.items()}
        self.sizes_option = None
        if hasattr(args, "sizes") and hasattr(args, "hidden"):
            raise _usage("--sizes and --hidden: give one of them, not both")
        for flag, separator in (("sizes", "-"), ("hidden", ",")):
            if hasattr(args, flag):
                text = getattr(args, flag)
                try:
                    numbers = [int(s) for s in text.split(separator) if s]
                except ValueError:
                    raise _usage(f"--{flag} {text}: not a list of integers (use --hidden 512,256 or --sizes "
                                 "784-512-256-10)") from None
                self.given["sizes"] = numbers if flag == "sizes" else [784, *numbers, 10]
                self.typed["sizes"], self.sizes_option = text, f"--{flag}"

    def name(self, field: str) -> str:
        return self.sizes_option or "--sizes" if field == "sizes" else option_name(field)

    def describe(self, error) -> str:
        """A ConfigError as '--OPTION VALUE: reason'."""
        value = self.typed.get(error.field)
        if value is None:
            value = "-".join(map(str, error.value)) if error.field == "sizes" else str(error.value)
        return f"{self.name(error.field)} {value}: {error.reason}"


def _as_typed(value) -> str:
    """A parsed option value as the user most likely typed it (``--dropout 1``, not 1.0)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _usage(message: str):
    from tinygrad_lab.cli import UsageError
    return UsageError(message)


def _fail(message: str):
    from tinygrad_lab.cli import CommandError
    return CommandError(message)


@contextlib.contextmanager
def _stop_on_signals(trainer):
    """SIGINT/SIGTERM set ``trainer.stop_signal`` (the loop stops at the next batch boundary); a
    second Ctrl-C interrupts at once."""
    def request_stop(signum, frame):
        trainer.stop_signal = signum
        signal.signal(signum, previous[signum])
        print(f"{signal.Signals(signum).name}: stopping after this batch (the checkpoint is written)",
              file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run(args) -> int:
    from tinygrad_lab.anomaly import detect_anomaly
    from tinygrad_lab import threads
    from tinygrad_lab.backend import set_backend
    from tinygrad_lab.checkpoint import CheckpointError
    from tinygrad_lab.data import ChecksumError, DownloadError, IDXError, MissingFilesError
    from tinygrad_lab.run_folder import FolderInUse, RunFolder, RunFolderError
    from tinygrad_lab.train import Trainer, nothing_left, resumed_config
    from tinygrad_lab.train_config import RESUMABLE, ConfigError, TrainConfig, check_memory

    options = _Options(args)
    if args.resume:
        refused = [options.name(f) for f in options.given if not RESUMABLE[f]]
        if refused:
            raise _usage(f"--resume continues the checkpoint's model, optimizer and data order; drop "
                         f"{', '.join(refused)} (or start a new run into another --out)")
        if not Path(args.resume).is_file():
            raise _fail(f"--resume {args.resume}: no such checkpoint file")
        try:
            state, cfg = resumed_config(args.resume, options.given)
        except ConfigError as e:
            raise _usage(options.describe(e)) from None
        except CheckpointError as e:
            raise _fail(f"--resume {args.resume}: {e}") from None
        done = nothing_left(state, cfg)
        if done is not None:
            more = (f"--epochs N (N > {cfg.epochs})" if state["epoch"] >= cfg.epochs else
                    f"--early-stopping P (P > {cfg.early_stopping}) to give it more patience")
            print(f"--resume {args.resume}: nothing left to train ({done}); nothing was written. To train on, "
                  f"resume with {more}")
            return 0
        out = Path(args.out) if args.out else Path(args.resume).parent
    else:
        out = Path(args.out or DEFAULT_OUT)
        try:
            cfg = TrainConfig(**options.given)
            check_memory(cfg)
        except ConfigError as e:
            raise _usage(options.describe(e)) from None
    if args.backend:
        set_backend(args.backend)
    if args.threads is not None:
        try:
            threads.set_threads(args.threads)
        except ValueError as e:
            raise _usage(f"--threads {args.threads}: {e}") from None
    progress = not args.no_progress and sys.stderr.isatty()
    notes = [note for note in [threads.busy_note()] if note]
    try:
        folder = RunFolder(out).acquire()
    except FolderInUse as e:
        raise _fail(f"--out {e}; wait for it, or choose another --out") from None
    except RunFolderError as e:
        raise _fail(f"--out {e}") from None
    try:
        if folder.took_over_from:
            notes.append(f"took over the lock of a run that ended without releasing it (pid {folder.took_over_from})")
        if folder.removed_temporaries:
            notes.append(f"removed {len(folder.removed_temporaries)} temporary file(s) a killed run left in {out}")
        same_run = args.resume and out.resolve() == Path(args.resume).resolve().parent
        if not same_run:
            resume = f"--resume {out / 'checkpoint.npz'}" if (out / "checkpoint.npz").exists() else None
            try:
                folder.refuse_if_not_empty(args.force, resume)
            except RunFolderError as e:
                raise _fail(f"--out {e}") from None
            if folder.existing_run_files():
                notes.append(f"--force: removed the previous run's {', '.join(folder.remove_run_files())}")
        try:
            if args.resume:
                trainer = Trainer.resume(args.resume, out=out, changes=options.given, progress=progress,
                                         capture_steps=not (args.no_capture or args.detect_anomaly),
                                         download=not args.offline)
            else:
                trainer = Trainer(cfg, out, progress=progress, download=not args.offline, 
                                  capture_steps=not (args.no_capture or args.detect_anomaly))
        except ConfigError as e:
            raise _usage(options.describe(e)) from None
        except CheckpointError as e:
            raise _fail(f"--resume {args.resume}: {e}") from None
        except MissingFilesError as e:
            raise _fail(f"--data-dir {e}") from None
        except (FileNotFoundError, DownloadError, ChecksumError, IDXError) as e:
            source = "the checkpoint's dataset" if args.resume else f"--dataset {cfg.dataset}"
            raise _fail(f"{source}: {e}") from None
        return _train(args, trainer, notes, detect_anomaly)
    finally:
        folder.release()


def _train(args, trainer, notes, detect_anomaly) -> int:
    from tinygrad_lab.train_reports import TEST_SET_ROLE, write_reports

    cfg = trainer.cfg
    print(f"data: {trainer.source} ({len(trainer.x_train)} train, {len(trainer.x_val)} validation, "
          f"{len(trainer.x_test)} test)")
    if len(trainer.x_val):
        print(f"validation: {len(trainer.x_val)} samples held out from the training set (stratified by class, seed "
              f"{cfg.seed}); the test set is {TEST_SET_ROLE}")
    else:
        print("validation: none (--val-split 0); the test set is only reported")
    for note in notes:
        print(note)
    if args.resume:
        print(f"resuming {args.resume} at epoch {trainer.epoch + 1}, batch {trainer.batch_in_epoch}, into {trainer.out}")
    print(f"model: {'-'.join(map(str, cfg.sizes))} {cfg.activation}{' + batchnorm' if cfg.batchnorm else ''}"
          f"{f' + dropout {cfg.dropout:g}' if cfg.dropout else ''}, "
          f"{cfg.optimizer} lr {cfg.learning_rate:g}, batch {cfg.batch_size}, {cfg.dtype}"
          + (", the last batch of one sample is dropped each epoch (BatchNorm)" if trainer.drop_last else ""))
    started = time.perf_counter()
    try:
        with _stop_on_signals(trainer), detect_anomaly(args.detect_anomaly):
            trainer.fit()
        written = write_reports(trainer)
    except FloatingPointError as e:  # NonFiniteLoss, AnomalyError, a NaN gradient in the optimizer
        raise _fail(f"stopped: {e}; {trainer.last_checkpoint_note()} (try a lower --lr, --clip-norm, or "
                    "--detect-anomaly)") from None
    except MemoryError:
        raise _fail(f"--sizes {'-'.join(map(str, cfg.sizes))}: out of memory while training; use smaller layers "
                    "or --batch-size") from None
    except OSError as e:
        raise _fail(f"cannot write {e.filename or trainer.out}: {e.strerror or e}; the files written before are "
                    "intact") from None
    for path in written:
        print(f"wrote {path}")
    if trainer.status != "finished":
        command = shlex.join(["tinygrad-lab", "train", "--resume", str(trainer.out / "checkpoint.npz")])
        print(f"{trainer.status}; resume with: {command}", flush=True)
        return 128 + trainer.stop_signal
    if trainer.history:
        last = trainer.history[-1]
        print(f"final test accuracy {100 * last['test_accuracy']:.2f}% after {last['epoch']} epochs "
              f"({time.perf_counter() - started:.1f} s)")
        best = trainer.best()
        if best is not None:
            print(f"best.npz: epoch {best['epoch']} (lowest validation loss {best['val_loss']:.4f}, validation "
                  f"accuracy {100 * best['val_accuracy']:.2f}%), test accuracy {100 * best['test_accuracy']:.2f}% "
                  "(reported, not used to choose)")
    return 0
