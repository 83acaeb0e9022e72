"""The notebooks: outputs stripped in git, and each runs top to bottom against the sandbox.

They run in a kernel of this very interpreter (the project's ``.venv``): a ``python3``
kernelspec pointing at ``sys.executable`` is put first on ``JUPYTER_PATH``, whatever
kernels the machine has installed. The OUT parameter is overridden by a cell injected after
the parameters cell, as papermill would, so nothing is written into the checkout.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient

from okc_recon.config import ENV_VARS

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = ("explore_fulfillments.ipynb", "monthly_reconciliation.ipynb")


def _all_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_notebooks_are_there() -> None:
    assert {p.name for p in _all_notebooks()} >= set(EXPECTED)


@pytest.mark.parametrize("path", _all_notebooks(), ids=lambda p: p.name)
def test_outputs_are_stripped(path: Path) -> None:
    """Committed notebooks carry no outputs, execution counts or widget state."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {index} has outputs: strip them"
            assert cell.execution_count is None, f"{path.name} cell {index} has a count"
    assert "widgets" not in nb.metadata, f"{path.name} holds widget state: strip it"


@pytest.mark.parametrize("path", _all_notebooks(), ids=lambda p: p.name)
def test_cells_hold_calls_not_logic(path: Path) -> None:
    """A code cell is a few calls (STYLE.md): no loops, branches or definitions."""
    nb = nbformat.read(path, as_version=4)
    banned = ("for ", "while ", "if ", "def ", "class ", "lambda", "import json")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        code = [line for line in cell.source.splitlines() if not line.lstrip().startswith("#")]
        if "parameters" in cell.metadata.get("tags", []):
            # settings only: NAME = value, one a line
            assert all(re.match(r"^[A-Z_][A-Z0-9_, ]* = ", line) for line in code), path.name
            continue
        assert len(code) <= 4, f"{path.name} cell {index} is {len(code)} lines"
        for line in code:
            assert not line.lstrip().startswith(banned), f"{path.name} cell {index}: {line}"


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No OKC credentials, and a python3 kernel running this interpreter."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (okc-recon tests)",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("OKC_PROGRESS", "0")  # no widgets in a headless kernel
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def _execute(name: str, out: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(f"OUT = {str(out)!r}"))
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=240,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return nb


def _outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _text(output: nbformat.NotebookNode) -> str:
    if output.output_type == "stream":
        return str(output.text)
    data = output.get("data", {})
    return str(data.get("text/html", "")) + str(data.get("text/plain", ""))


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("kernel_env")
def test_monthly_reconciliation_runs_against_the_sandbox(tmp_path: Path) -> None:
    out = tmp_path / "out"
    nb = _execute("monthly_reconciliation.ipynb", out)

    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    assert "SANDBOX" in _text(outputs[0]), "the first output must say it is the sandbox"
    shown = "\n".join(_text(o) for o in outputs)
    for what in ("Pulled", "Invoices", "Data-quality checks", "Written"):
        assert what in shown, what
    charts = [o for o in outputs if "Money at stake by carrier" in json.dumps(o.get("data", {}))]
    assert charts, "the money-at-stake chart is shown"
    assert any("Transit days by service" in json.dumps(o.get("data", {})) for o in outputs)

    book = out / "reconciliation-2025-10.xlsx"
    assert book.is_file()
    assert (out / "data-docs" / "index.html").is_file()
    assert (out / "run-info.json").is_file()
    exceptions = pl.read_parquet(out / "frames" / "exceptions.parquet")
    assert exceptions.height > 0
    assert json.loads((out / "run-info.json").read_text())["sandbox"] is True


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("kernel_env")
def test_explore_fulfillments_runs_and_exports(tmp_path: Path) -> None:
    out = tmp_path / "out"
    nb = _execute("explore_fulfillments.ipynb", out)

    outputs = _outputs(nb)
    assert "SANDBOX" in _text(outputs[0])
    params = nb.cells[1].source
    assert "013f4a9e-9fc0-4055-9716-fd29dcdfd7ff" in params
    order_cell = next(c for c in nb.cells if "order_id=ORDER_ID" in c.source)
    # the order's three fulfillments (Polars shortens the long ids in its display)
    assert _text(order_cell.outputs[0]).count("013f4a9e") == 6  # 3 rows, HTML and text
    assert "shape: (3, 23)" in _text(order_cell.outputs[0])

    (book,) = out.glob("*.xlsx")
    assert book.name == "ups-2025-10-01-to-2025-10-15.xlsx"
    from openpyxl import load_workbook

    wb = load_workbook(book, read_only=True)
    try:
        assert wb.sheetnames == ["Fulfillments", "Export info"]
        rows = list(wb["Fulfillments"].values)
    finally:
        wb.close()
    header, body = rows[0], rows[1:]
    assert body, "the export holds the filtered fulfillments"
    carrier = header.index("carrier")
    assert {row[carrier] for row in body} == {"ups"}
