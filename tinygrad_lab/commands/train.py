"""``tinygrad-lab train``: train an MLP on MNIST (the project's main job)."""
from __future__ import annotations

import sys
import time


def _sizes(args) -> list[int]:
    if args.sizes and args.hidden:
        raise SystemExit("tinygrad-lab train: give --sizes or --hidden, not both")
    try:
        if args.sizes:
            return [int(s) for s in args.sizes.split("-")]
        hidden = [int(s) for s in (args.hidden or "512,256").split(",") if s]
    except ValueError:
        raise SystemExit(f"tinygrad-lab train: bad layer sizes {args.sizes or args.hidden!r}; "
                         "use --hidden 512,256 or --sizes 784-512-256-10") from None
    return [784, *hidden, 10]


def add_parser(subparsers) -> None:
    from tinygrad_lab import activations
    from tinygrad_lab.train import OPTIMIZERS

    p = subparsers.add_parser("train", help="train an MLP classifier on MNIST (default: 784-512-256-10 "
                              "ReLU, He init, Adam 1e-3 with cosine decay, batch 128, 5 epochs, float32)")
    p.add_argument("--dataset", default="mnist", help="mnist | fashion-mnist | mnist-sample (default mnist; "
                   "falls back to the bundled sample offline)")
    p.add_argument("--data-dir", help="folder holding the four IDX files (gzipped or not)")
    p.add_argument("--hidden", help="hidden layer sizes, e.g. 512,256 (default)")
    p.add_argument("--sizes", help="all layer sizes, e.g. 784-512-256-10")
    p.add_argument("--activation", default="relu", choices=[a for a in activations.REGISTRY if a != "identity"])
    p.add_argument("--init", help="he | xavier (N(0, 1/n_in), = lecun; Glorot's is xavier_normal) | normal:0.01 | ... "
                   "(default: he for relu-like activations, xavier otherwise)")
    p.add_argument("--batchnorm", action="store_true", help="BatchNorm1d after every hidden linear layer")
    p.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    p.add_argument("--lr", type=float, help="learning rate (default depends on the optimizer; adam 1e-3)")
    p.add_argument("--lr-schedule", default="cosine",
                   help="cosine (default: the lr falls to 0 over --epochs along a half cosine) | none | "
                        "step:EPOCHS[:GAMMA] | multistep:E1,E2[:GAMMA] | exp:GAMMA | plateau[:FACTOR[:PATIENCE]]")
    p.add_argument("--epochs", type=int, help="number of epochs (default 5; with --resume: the checkpoint's, "
                   "or this many in all to extend the run)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--clip-norm", type=float, help="clip the gradient's global L2 norm to this value")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--backend", choices=["numpy", "numba"], help="kernel backend (default: numba)")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="STEPS",
                   help="also write checkpoint.npz every STEPS steps (default: at epoch ends only)")
    p.add_argument("--out", default="runs/train", help="output folder (default runs/train)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in CHECKPOINT")
    p.add_argument("--detect-anomaly", action="store_true",
                   help="stop at the first op whose forward or backward gives NaN/inf, naming it and the "
                        "line that created it (slower)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from tinygrad_lab.anomaly import detect_anomaly
    from tinygrad_lab.backend import set_backend
    from tinygrad_lab.train import TrainConfig, Trainer, write_reports

    if args.backend:
        set_backend(args.backend)
    progress = not args.no_progress
    try:
        if args.resume:
            trainer = Trainer.resume(args.resume, out=args.out, epochs=args.epochs, progress=progress)
            print(f"resuming {args.resume} at epoch {trainer.epoch + 1}, batch {trainer.batch_in_epoch}")
        else:
            cfg = TrainConfig(
                dataset=args.dataset, data_dir=args.data_dir, sizes=_sizes(args), activation=args.activation,
                init=args.init, batchnorm=args.batchnorm, optimizer=args.optimizer, lr=args.lr,
                lr_schedule=args.lr_schedule, epochs=TrainConfig.epochs if args.epochs is None else args.epochs,
                batch_size=args.batch_size,
                weight_decay=args.weight_decay, clip_norm=args.clip_norm, seed=args.seed, dtype=args.dtype,
                checkpoint_every=args.checkpoint_every)
            trainer = Trainer(cfg, args.out, progress=progress)
    except ValueError as e:
        raise SystemExit(f"tinygrad-lab train: {e}") from None
    cfg = trainer.cfg
    print(f"data: {trainer.source} ({len(trainer.x_train)} train, {len(trainer.x_test)} test)")
    print(f"model: {'-'.join(map(str, cfg.sizes))} {cfg.activation}{' + batchnorm' if cfg.batchnorm else ''}, "
          f"{cfg.optimizer} lr {cfg.learning_rate:g}, batch {cfg.batch_size}, {cfg.dtype}")
    started = time.perf_counter()
    try:
        with detect_anomaly(args.detect_anomaly):
            trainer.fit()
    except FloatingPointError as e:  # NonFiniteLoss, AnomalyError, a NaN gradient in the optimizer
        raise SystemExit(f"tinygrad-lab train: stopped: {e}\n{trainer.last_checkpoint_note()}") from None
    for path in write_reports(trainer):
        print(f"wrote {path}")
    if trainer.history:
        last = trainer.history[-1]
        print(f"final test accuracy {100 * last['test_accuracy']:.2f}% after {last['epoch']} epochs "
              f"({time.perf_counter() - started:.1f} s)", file=sys.stdout)
    return 0
