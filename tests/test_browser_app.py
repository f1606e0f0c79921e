"""The served workshop app in a real browser (headless Chromium), plus the serving set-up it relies on.

Browser tests (marker ``browser``) start Voilà through ``workbench app``'s own code path, cut the network to
localhost, wait for a rendered chart (never for ``load``), change a control and check the KPI strip follows.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import altair as alt
import nbformat
import numpy as np
import pandas as pd
import pytest

from workbench.cli.app import (
    MAX_UPLOAD_BYTES,
    TEMPLATE_NAME,
    WEBSOCKET_MAX_MESSAGE_BYTES,
    default_notebook,
    template_data_dir,
    voila_command,
    voila_config_dir,
    voila_env,
)

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = template_data_dir() / "voila" / "templates" / TEMPLATE_NAME
CHART_MARK = ".wb-chart svg path"  # a vega mark inside a chart pane: the chart really rendered
TRACEBACK_TEXT = re.compile(r"Traceback \(most recent call last\)|Error displaying widget|\w+Error: ")
# Generous: on a busy 2-core CI box the first visit waits for the kernel to import the stack and run the whole
# chain (import → segment → reallocate → KPIs); the waits return as soon as the selector shows up.
FIRST_RENDER_MS = 180_000
WAIT_MS = 90_000


@pytest.fixture(scope="module", autouse=True)
def _start_servers_early(request):
    """When browser tests of this module are selected, start their servers before the first test: the
    preheated kernels then run their notebooks (the app runs its whole chain) while the quick tests run."""
    selected = {name for item in request.session.items if item.module is request.module
                for name in item.fixturenames}
    for server in ("workshop_server", "harness_server"):
        if server in selected:
            request.getfixturevalue(server)


# -- serving set-up (no browser) -------------------------------------------------------------------------------
def test_template_has_no_remote_links():
    for f in TEMPLATE_DIR.rglob("*"):
        if f.is_file():
            text = f.read_text(encoding="utf-8")
            assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), f"remote link in {f.name}"
            assert "cdn." not in text, f"CDN reference in {f.name}"


def test_voila_command_serves_one_notebook_safely():
    cmd = voila_command(default_notebook(), "127.0.0.1", 8866, python="python")
    assert cmd[:4] == ["python", "-m", "voila", str(default_notebook())]
    for flag in ("--no-browser", f"--template={TEMPLATE_NAME}", "--strip_sources=True", "--show_tracebacks=False",
                 "--Voila.port=8866", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
                 "--VoilaConfiguration.allow_template_override=NO"):
        assert flag in cmd
    # Serving a notebook path (not a folder) means there is no file browser.
    assert Path(cmd[3]).suffix == ".ipynb"


def test_a_non_loopback_host_always_gets_a_token(monkeypatch):
    import workbench.cli.app as app_cli

    started = []
    monkeypatch.setattr(app_cli.subprocess, "Popen", lambda cmd, **kw: started.append(cmd) or object())
    exposed = app_cli.start_voila(host="0.0.0.0", port=app_cli.free_port())
    assert exposed.token and len(exposed.token) >= 24 and exposed.url.endswith(f"?token={exposed.token}")
    assert f"--Voila.token={exposed.token}" in started[-1]
    local = app_cli.start_voila(host="127.0.0.1", port=app_cli.free_port())
    assert local.token is None and not any(a.startswith("--Voila.token") for a in started[-1])
    assert app_cli.start_voila(host="localhost", port=app_cli.free_port(), token="t0k").url.endswith("?token=t0k")


def test_websocket_limit_fits_a_50_mb_upload():
    cfg = json.loads((voila_config_dir() / "voila.json").read_text())
    limit = cfg["Voila"]["tornado_settings"]["websocket_max_message_size"]
    assert limit == WEBSOCKET_MAX_MESSAGE_BYTES
    assert limit >= MAX_UPLOAD_BYTES * 4 / 3 + 1024 * 1024  # base64 + JSON envelope of a 50 MB file


def test_voila_finds_our_template_and_reads_our_settings(monkeypatch):
    """Voilà itself parses our command line, environment and voila.json into the settings we rely on."""
    import signal

    from voila.app import Voila

    monkeypatch.setenv("JUPYTER_PATH", voila_env()["JUPYTER_PATH"])
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        app = Voila()
        app.initialize(voila_command(default_notebook(), "127.0.0.1", 8866, refill_delay=5)[3:])
    finally:
        signal.signal(signal.SIGTERM, sigterm)  # initialize() installs Voilà's own handler in this process
    conf = app.voila_configuration
    # Ours first (found through JUPYTER_PATH), then the stock lab template it extends.
    assert Path(app.template_paths[0]) == TEMPLATE_DIR
    assert json.loads((TEMPLATE_DIR / "conf.json").read_text())["base_template"] == "lab"
    assert any(p.endswith("voila/templates/lab") for p in app.template_paths)
    assert app.tornado_settings["websocket_max_message_size"] == WEBSOCKET_MAX_MESSAGE_BYTES
    assert (conf.template, conf.strip_sources, conf.show_tracebacks, app.open_browser, app.ip, app.port) == \
        (TEMPLATE_NAME, True, False, False, "127.0.0.1", 8866)
    assert (conf.allow_template_override, conf.preheat_kernel, conf.default_pool_size) == ("NO", True, 1)
    assert float(app.config.VoilaKernelManager.fill_delay) == 5.0  # parsed by the kernel manager it configures


def test_app_takes_the_scenario_store_it_saves_to(tmp_path):
    """``workbench app --store PATH`` hands the store to the kernel as the dashboard's ``--store`` takes it (the
    only way was the environment variable, documented for ``serve``)."""
    env = voila_env(store=tmp_path / "plans.sqlite", base={})
    assert env["WORKBENCH_STORE"] == str((tmp_path / "plans.sqlite").resolve())
    assert "WORKBENCH_STORE" not in voila_env(base={})
    out = subprocess.run([sys.executable, "-m", "workbench", "app", "--store", str(tmp_path / "no" / "s.sqlite")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "the folder of the scenario store does not exist" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_refuses_a_busy_port_in_one_line():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "workbench", "app", "--port", str(port)], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert f"port {port}" in out.stderr and "Traceback" not in out.stderr


def test_workshop_notebook_is_committed_without_outputs():
    nb = nbformat.read(default_notebook(), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert "WorkshopApp()" in code[-1].source


# -- interactive chart pane (no browser) ------------------------------------------------------------------------
def test_chart_pane_default_is_static_svg():
    from widgets.charting import ChartPane, InteractiveChartPane

    df = pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})
    pane = ChartPane(alt.Chart(df).mark_bar().encode(x="x:O", y="y:Q"))
    assert type(pane) is ChartPane and "<svg" in pane.value
    live = ChartPane(interactive=True)
    assert isinstance(live, InteractiveChartPane) and live.selection == {}


def test_live_chart_bundle_is_built_once_then_read_from_the_disk_cache(tmp_path, monkeypatch):
    from widgets import charting

    calls = []

    def fake_bundle(cls=alt.JupyterChart):
        calls.append(1)
        cls._esm, cls._is_offline = "/* bundled vega */", True

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(alt.JupyterChart, "_esm", "/* online source */")
    monkeypatch.setattr(alt.JupyterChart, "_is_offline", False)
    monkeypatch.setattr(alt.JupyterChart, "enable_offline", fake_bundle)
    charting.enable_offline_live_charts()
    assert calls == [1] and list((tmp_path / "restructure-workbench").glob("jupyterchart-*.js"))
    monkeypatch.setattr(alt.JupyterChart, "_esm", "/* online source */")  # a new kernel
    monkeypatch.setattr(alt.JupyterChart, "_is_offline", False)
    charting.enable_offline_live_charts()
    assert calls == [1] and alt.JupyterChart._esm == "/* bundled vega */" and alt.JupyterChart._is_offline


def test_rows_in_selection_interval_point_and_untrusted_values():
    from widgets.charting import rows_in_selection

    df = pd.DataFrame({"revenue": [10.0, 50.0, 90.0, 130.0], "segment": ["A", "B", "A", "C"], "n": [1, 2, 3, 4]})
    assert rows_in_selection(df, {"revenue": [40, 100]}).tolist() == [False, True, True, False]
    assert rows_in_selection(df, {"revenue": [100, 40], "segment": ["A"]}).tolist() == [False, False, True, False]
    assert rows_in_selection(df, [{"segment": "A", "n": 3}, {"segment": "C", "n": 4}]).tolist() == \
        [False, False, True, True]
    assert rows_in_selection(df, [{"n": "2"}]).tolist() == [False, True, False, False]
    # Unknown fields (a crafted widget message) and empty selections select nothing; text is never evaluated.
    assert not rows_in_selection(df, {"__import__('os')": [0, 1]}).any()
    assert not rows_in_selection(df, {"segment": ["A') or True or ('"]}).any()
    assert not rows_in_selection(df, {}).any() and not rows_in_selection(df, []).any()
    big = pd.DataFrame({"revenue": np.arange(100_000, dtype=float)})
    assert rows_in_selection(big, {"revenue": [10, 19.5]}).sum() == 10


# -- the app in a real browser ---------------------------------------------------------------------------------
_STRIP_JS = ("() => Object.fromEntries([...document.querySelectorAll('.wb-kpi-strip .wb-kpi[data-kpi]')].map("
             "e => [e.dataset.kpi, e.querySelector('.wb-kpi-value').innerText + ' | ' + "
             "e.querySelector('.wb-kpi-delta').innerText]))")
# Views announce work in progress with a message ending in "…" ("Re-solving …") and replace it when done.
_IDLE_JS = "() => ![...document.querySelectorAll('.wb-msg')].some(e => e.innerText.trim().endsWith('…'))"


def _kpi_strip(page) -> dict[str, str]:
    """The KPI strip's cards (not the KPIs step's own cards): value and delta text per KPI key."""
    return page.evaluate(_STRIP_JS)


def _wait_until_idle(page) -> None:
    page.wait_for_function(_IDLE_JS, timeout=WAIT_MS)


def _assert_clean(rec) -> None:
    assert rec.foreign_requests == [], f"requests left localhost: {rec.foreign_requests[:5]}"
    body = rec.page.inner_text("body")
    assert not TRACEBACK_TEXT.search(body), f"error text visible: {TRACEBACK_TEXT.search(body).group(0)}"
    assert rec.page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0


@pytest.mark.browser
def test_workshop_app_renders_offline_and_kpis_follow_a_control(workshop_server, offline_page, artifacts_dir):
    page = offline_page.page
    page.goto(workshop_server.url, wait_until="commit")
    page.wait_for_selector(CHART_MARK, timeout=FIRST_RENDER_MS)
    page.wait_for_selector(".wb-kpi-strip .wb-kpi[data-kpi='workload_imbalance']", timeout=WAIT_MS)
    _wait_until_idle(page)
    before = _kpi_strip(page)
    assert {"revenue_12m", "accounts_moved", "workload_imbalance"} <= before.keys()

    # Reallocate tab: widen the balance band to its maximum; the assignment and so the KPI strip must change.
    page.get_by_role("tab", name=re.compile("Reallocate")).click()
    band = page.locator(".wb-step:visible .widget-slider", has_text=re.compile("band", re.I)).first
    band.wait_for(timeout=WAIT_MS)
    band_before = band.locator(".widget-readout").inner_text()
    band.locator(".ui-slider-handle, .noUi-handle").first.focus()
    page.keyboard.press("End")  # the widest band the control allows: always feasible, fewer moves
    page.wait_for_function(f"before => JSON.stringify(({_STRIP_JS})()) !== JSON.stringify(before)", arg=before,
                           timeout=WAIT_MS)
    _wait_until_idle(page)
    after = _kpi_strip(page)
    assert after.keys() == before.keys() and after != before
    band_after = band.locator(".widget-readout").inner_text()
    assert band_after != band_before
    # the workload chart is redrawn with the new band (its title names it)
    page.wait_for_selector(f".wb-step:visible svg:has-text('band ±{band_after.strip()}')", timeout=WAIT_MS)

    # Every step shows a chart; keep a picture of each for people reviewing the look. Voilà's page scrolls
    # inside its own container, so a tall viewport (not full_page) captures a whole step.
    page.set_viewport_size({"width": 1440, "height": 2400})
    for tab in ("Reallocate", "Segment", "KPIs", "Import"):
        page.get_by_role("tab", name=re.compile(tab)).click()
        page.wait_for_selector(f".wb-step:visible {CHART_MARK}", timeout=WAIT_MS)
        _wait_until_idle(page)
        page.screenshot(path=str(artifacts_dir / f"workshop-{tab.lower()}.png"))
    _assert_clean(offline_page)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.screenshot(path=str(artifacts_dir / "workshop.png"))


# A harness notebook for what the workshop app does not show by itself: a live chart with a brush whose
# selection lists accounts in Python, and a file upload bigger than tornado's default websocket limit (10 MiB).
_HARNESS_NB = '''
import altair as alt, ipywidgets as w, numpy as np, pandas as pd
from widgets.charting import ChartPane, rows_in_selection
rng = np.random.default_rng(0)
accounts = pd.DataFrame({"account_id": [f"A{i:04d}" for i in range(400)],
                         "revenue": rng.lognormal(11, 1, 400), "potential": rng.lognormal(11.5, 1, 400)})
brush = alt.selection_interval(name="brush")
chart = alt.Chart(accounts).mark_point().encode(x="revenue:Q", y="potential:Q").add_params(brush)
pane = ChartPane(chart.properties(width=420, height=320), interactive=True)
listing = w.HTML("no accounts selected")
listing.add_class("wb-selected")
def show_selected(_):
    hit = accounts[rows_in_selection(accounts, pane.selection.get("brush", {}))]
    listing.value = f"{len(hit)} accounts selected" if len(hit) else "no accounts selected"
pane.observe(show_selected, names="selection")
upload = w.FileUpload(accept="", multiple=False)
received = w.HTML("nothing received")
received.add_class("wb-received")
def on_upload(change):
    f = change["new"][0]
    received.value = f"received {f['name']}: {len(f['content'].tobytes())} bytes"
upload.observe(on_upload, names="value")
w.VBox([pane, listing, upload, received])
'''
UPLOAD_BYTES = 12 * 1024 * 1024  # above tornado's 10 MiB default: only arrives with our websocket setting


@pytest.fixture(scope="module")
def harness_server(serve_notebook, tmp_path_factory):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(_HARNESS_NB)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path_factory.mktemp("harness") / "harness.ipynb"
    nbformat.write(nb, path)
    return serve_notebook(path)


@pytest.mark.browser
def test_interactive_chart_pane_brush_reaches_python_offline(harness_server, offline_page):
    page = offline_page.page
    page.goto(harness_server.url, wait_until="commit")
    page.wait_for_selector(".wb-chart-live svg .mark-symbol path", timeout=FIRST_RENDER_MS)
    box = page.locator(".wb-chart-live svg").first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.15, box["y"] + box["height"] * 0.15
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + box["width"] * 0.5, y0 + box["height"] * 0.6, steps=8)
    page.mouse.up()
    page.wait_for_function("() => /^[1-9]\\d* accounts selected/.test("
                           "document.querySelector('.wb-selected').innerText)", timeout=WAIT_MS)
    _assert_clean(offline_page)


@pytest.mark.browser
def test_upload_above_tornado_default_limit_reaches_the_kernel(harness_server, offline_page, tmp_path):
    big = tmp_path / "crm_export.csv"
    big.write_bytes(np.random.default_rng(0).integers(32, 127, UPLOAD_BYTES, dtype=np.uint8).tobytes())
    page = offline_page.page
    page.goto(harness_server.url, wait_until="commit")
    page.wait_for_selector(".widget-upload", timeout=FIRST_RENDER_MS)
    with page.expect_file_chooser(timeout=WAIT_MS) as chooser:
        page.click(".widget-upload")
    chooser.value.set_files(str(big))
    page.wait_for_function("() => document.querySelector('.wb-received').innerText.startsWith('received')",
                           timeout=WAIT_MS)
    assert page.inner_text(".wb-received") == f"received crm_export.csv: {UPLOAD_BYTES} bytes"
    _assert_clean(offline_page)
