"""The walk-through notebook runs from top to bottom, as a user would run it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "walkthrough.ipynb"


@pytest.mark.slow
def test_walkthrough_runs(vanmieu_boundary: Path, tmp_path: Path) -> None:
    """On the Văn Miếu area (real Hanoi streets) every cell runs and the map is written."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = (
        f"WARD = None\nBOUNDARY = {str(vanmieu_boundary)!r}\nTIME_LIMIT_S = 5\n"
        f"OUT = {str(tmp_path / 'out')!r}"
    )
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(
        o.get("text", "") or str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    assert "check_violations: 0" in text
    assert "SYNTHETIC" in text
    page = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    assert "OpenStreetMap contributors" in page
