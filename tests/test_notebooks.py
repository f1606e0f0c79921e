"""Every notebook executes headless, in order, each reading what the previous one saved in the workspace."""

import json
from pathlib import Path

import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
WALK = ["01_import.ipynb", "02_segment.ipynb", "03_reallocate.ipynb", "04_kpis.ipynb"]

pytestmark = pytest.mark.notebook


def _run(name: str, out_dir: Path, **params) -> dict:
    out = out_dir / name
    pm.execute_notebook(str(NOTEBOOKS / name), str(out), parameters=params, cwd=str(NOTEBOOKS),
                        kernel_name="python3", progress_bar=False, execution_timeout=300)
    return json.loads(out.read_text())


def _text(nb: dict) -> str:
    return "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))


def _errors(nb: dict) -> list[str]:
    return [o.get("ename", "") for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_walkthrough_notebooks_run_in_order(tmp_path):
    ws = tmp_path / "ws"
    nb1 = _run("01_import.ipynb", tmp_path, workspace=str(ws), source=str(ROOT / "sample_data"))
    assert (ws / "book" / "accounts.parquet").exists()
    nb2 = _run("02_segment.ipynb", tmp_path, workspace=str(ws), k=3)
    assert (ws / "segmentation" / "labels.parquet").exists()
    nb3 = _run("03_reallocate.ipynb", tmp_path, workspace=str(ws), band=0.15)
    assert (ws / "assignment" / "moves.parquet").exists()
    assert any((ws / "crm").iterdir())
    nb4 = _run("04_kpis.ipynb", tmp_path, workspace=str(ws), draws=200)
    assert (ws / "projection" / "meta.json").exists()
    meta = json.loads((ws / "projection" / "meta.json").read_text())
    assert meta["kpis"]["revenue_12m"]["p10"] <= meta["kpis"]["revenue_12m"]["p90"]
    for nb in (nb1, nb2, nb3, nb4):
        assert not _errors(nb)
        # charts render as inline SVG in the notebook (offline renderer), never as a CDN-loading HTML page
        outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
        assert not any("cdn.jsdelivr" in json.dumps(o) for o in outputs)
    svg = [o for c in nb2["cells"] for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {})]
    assert svg, "the segment notebook shows its charts"
    svg3 = ["".join(o["data"]["image/svg+xml"]) for c in nb3["cells"] for o in c.get("outputs", [])
            if "image/svg+xml" in o.get("data", {})]
    assert any("What each band costs" in x for x in svg3), "the reallocate notebook charts the band trade-off"
    # the k parameter reached the segmentation
    labels = json.loads((ws / "segmentation" / "meta.json").read_text())
    assert labels["params"]["k"] == 3
    # a batch can run what-if events (papermill -p passes text) and locks; a plan that misses a setting writes no
    # CRM files (the folder of the run before is cleared, so no stale file is mistaken for this plan's)
    locks = tmp_path / "locks.csv"
    locks.write_text("account_id,manager_id\nA000001,\n", encoding="utf-8")
    nb3b = _run("03_reallocate.ipynb", tmp_path, workspace=str(ws), events="leave:M007;leave:M012", locks=str(locks))
    text = _text(nb3b)
    assert not _errors(nb3b) and "accounts of leaving managers get a new one" in text and "wrote " in text
    nb3c = _run("03_reallocate.ipynb", tmp_path, workspace=str(ws), band=0.10, max_move_share=0.01)
    assert not _errors(nb3c) and "status: infeasible" in _text(nb3c)
    assert "no CRM files were written" in _text(nb3c) and not (ws / "crm").exists()


def test_import_notebook_takes_a_pipeline_and_a_currency(tmp_path):
    # Maven's accounts have no owner and their revenue column is company size: the pipeline gives both
    maven = ROOT.parent / "shared" / "realdata" / "maven_crm_sales_opportunities"
    ws = tmp_path / "ws"
    nb = _run("01_import.ipynb", tmp_path, workspace=str(ws), source=str(maven / "accounts.csv"),
              managers=str(maven / "sales_teams.csv"), pipeline=str(maven / "sales_pipeline.csv"), currency="USD")
    assert not _errors(nb)
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "85 accounts, 35 managers" in text and "85 accounts owned" in text and "USD" in text
    from workbench.book import load_book
    assert load_book(ws / "book").currency == "USD"


def test_parameters_cells_are_tagged_and_notebooks_have_no_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = json.loads(path.read_text())
        assert not any(c.get("outputs") for c in nb["cells"]), f"{path.name} is committed with outputs"
        if path.name in WALK:
            tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
            assert "parameters" in tags, path.name


def test_segment_notebook_defaults_to_the_segmenters_k():
    """The notebook's k is the one of the app and ``workbench segment`` (5: with 4, strategic and grow accounts
    merge into a segment far larger than key account managers can cover)."""
    import inspect

    from workbench.segment import segment

    nb = json.loads((NOTEBOOKS / "02_segment.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    params: dict = {}
    exec("".join(cell["source"]), {}, params)  # the notebook's own literal parameters cell
    assert params["k"] == inspect.signature(segment).parameters["k"].default == 5


def test_workshop_notebook_builds_the_app_headless(tmp_path):
    nb = _run("workshop.ipynb", tmp_path)
    assert not _errors(nb)
    views = [o for c in nb["cells"] for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, "the workshop notebook displays the app widget"
