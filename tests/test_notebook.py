"""The tutorial notebook (docs/tutorial.ipynb) executed end to end with nbclient, so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (the dev extra has it)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (the dev extra has it)")
pytest.importorskip("geopandas", reason="the tutorial needs the analysis extra (pip install 'iadsim[analysis]')")

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"


def test_tutorial_notebook_runs_end_to_end(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any failing cell
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs)
    assert "<OrderOfBattle" in text and "<Run " in text and "<ComparisonResult" in text
    assert "1996-01-01 to 2021-12-31" in text  # the refused date's message
    # the run was written where the notebook ran
    assert any((tmp_path / "out" / "notebook").iterdir())
