"""Atomic outputs: whole or absent, the umask's permissions, stale temporaries cleared."""
import os
import stat

import numpy as np
import pytest

from tinygrad_lab.atomic import atomic_output, remove_stale_temporaries
from tinygrad_lab.checkpoint import save_checkpoint


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_get_the_permissions_of_any_new_file(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        with atomic_output(tmp_path / "metrics.json") as f:
            f.write(b"{}")
        save_checkpoint(tmp_path / "checkpoint.npz", {"w": np.ones(2)})
    finally:
        os.umask(old)
    for name in ("metrics.json", "checkpoint.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    (tmp_path / "metrics.json").write_text("old")
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "metrics.json") as f:
        f.write(b"half")
        raise RuntimeError("disk full")
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    assert (tmp_path / "metrics.json").read_text() == "old"


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path):
    (tmp_path / ".checkpoint.npz.abc123.part").write_bytes(b"x" * 100)
    (tmp_path / "checkpoint.npz").write_bytes(b"keep")
    assert [p.name for p in remove_stale_temporaries(tmp_path)] == [".checkpoint.npz.abc123.part"]
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]
