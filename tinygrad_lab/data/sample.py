"""Building the bundled MNIST sample (:func:`tinygrad_lab.data.load_sample` loads it).

``mnist_sample.npz`` holds 5,000 training and 1,000 test digits drawn,
stratified by class (500 / 100 per digit), from the real MNIST files, plus the
indices they were taken from so their provenance can be checked. Rebuild it
with::

    python -m tinygrad_lab.data.sample --build /path/to/mnist/files

The build is deterministic (seeded generator, fixed zip timestamps), so the
same MNIST files always give the same npz bytes.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

from .datasets import CHECKSUMS, FILE_NAMES, SAMPLE_FILE, find_file, read_verified
from .idx import atomic_output

SEED = 20240611
TRAIN_PER_CLASS = 500
TEST_PER_CLASS = 100
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def sample_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Pick ``per_class`` distinct indices of each label, in a random order."""
    picked = [rng.choice(np.flatnonzero(labels == label), size=per_class, replace=False)
              for label in np.unique(labels)]
    return rng.permutation(np.concatenate(picked))


def build_sample(mnist_dir: str | Path, seed: int = SEED) -> dict[str, np.ndarray]:
    """Draw the sample's arrays from the (checksum-verified) MNIST files in ``mnist_dir``."""
    mnist_dir = Path(mnist_dir)
    real = {}
    for field, name in FILE_NAMES.items():
        path = find_file(mnist_dir, name)
        if path is None:
            raise FileNotFoundError(f"{mnist_dir}: no {name} or {name}.gz")
        real[field] = read_verified(path, CHECKSUMS["mnist"][name])
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, per_class in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
        indices = sample_indices(real[f"{split}_labels"], per_class, rng)
        arrays[f"{split}_images"] = real[f"{split}_images"][indices]
        arrays[f"{split}_labels"] = real[f"{split}_labels"][indices]
        arrays[f"{split}_indices"] = indices.astype(np.int32)
    arrays["seed"] = np.array(seed, dtype=np.int64)
    return arrays


def save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as a compressed npz with fixed timestamps, atomically and reproducibly."""
    with atomic_output(path) as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--build MNIST_DIR [--out PATH] [--seed N]``."""
    parser = argparse.ArgumentParser(prog="python -m tinygrad_lab.data.sample", description=__doc__.splitlines()[0])
    parser.add_argument("--build", metavar="MNIST_DIR", required=True, help="directory with the 4 MNIST files")
    parser.add_argument("--out", default=Path(__file__).with_name(SAMPLE_FILE), type=Path,
                        help="output npz (default: the bundled file)")
    parser.add_argument("--seed", default=SEED, type=int)
    args = parser.parse_args(argv)
    save_npz(args.out, build_sample(args.build, args.seed))
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
