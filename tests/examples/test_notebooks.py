"""Every notebook in examples/notebooks/ runs top to bottom in quick mode, and none is committed
with outputs."""
import json
import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))
KERNEL = "tinygrad-lab-test"


def test_the_promised_notebooks_exist():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebooks_carry_no_outputs(path):
    book = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(book["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{path.name}: cell {i} has outputs"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A kernel spec running this interpreter (not whatever `python` is first on PATH), importing
    this checkout, in quick mode, with a non-interactive matplotlib."""
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tinygrad_lab tests", "language": "python"}))
    saved = dict(os.environ)
    os.environ.update({"JUPYTER_PATH": str(folder), "TINYGRAD_LAB_QUICK": "1", "MPLBACKEND": "Agg",
                       "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])})
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_in_quick_mode(path, tmp_path, kernel_env, record_notebook_time):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(book, timeout=300, kernel_name=KERNEL,
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()                        # raises CellExecutionError naming the cell on any error
    record_notebook_time(path.name, time.perf_counter() - start)
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    if path.name.startswith("01"):          # the graph is drawn inline: SVG with Graphviz, else DOT text
        shown = [o for o in outputs if o.output_type == "execute_result"]
        assert any("image/svg+xml" in o.data or o.data.get("text/plain", "").startswith("digraph") for o in shown)
