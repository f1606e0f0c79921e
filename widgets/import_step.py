"""The Import step: upload CRM exports (or load a book folder), confirm the column mapping, read the report,
review duplicate accounts, and hand the book to the rest of the workshop.

The view computes nothing itself: detection, mapping suggestions, import, validation, duplicate search and
merging are ``workbench.io`` / ``workbench.harmonize`` calls; the view turns clicks into those calls and
renders what they return. Uploads travel base64 over the websocket, so files above ``MAX_UPLOAD_MB`` are
refused with a message pointing to ``workbench import`` (which has no size limit).
"""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path

import ipywidgets as w
import pandas as pd

from workbench.book import AccountBook, load_book, save_book
from workbench.cli.app import MAX_UPLOAD_BYTES
from workbench.harmonize import find_duplicates, merge_book
from workbench.io import (
    PRESETS,
    ImportFileError,
    build_mapping,
    import_book,
    mapping_yaml,
    parse_mapping,
    rejections_csv,
    sniff,
)
from workbench.io.presets import MAPPING_TARGETS
from workbench.report.charts import revenue_concentration

from .charting import ChartPane
from .common import MessageBox, download_link, guarded, step_header, table_html
from .state import WorkbenchState

__all__ = ["ImportStep", "MAX_UPLOAD_MB", "guess_role"]

#: Largest upload accepted in the browser (MB): the same limit the Voilà websocket message size is set for
#: (``workbench.cli.app.MAX_UPLOAD_BYTES``).
MAX_UPLOAD_MB = MAX_UPLOAD_BYTES // (1024 * 1024)
#: Duplicate candidates shown for review at once (best first).
MAX_REVIEW_ROWS = 100
#: Rejected-rows CSV offered as a download link up to this size (bytes); larger ones are saved to a file.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

_ROLES = [("accounts", "accounts"), ("managers / users", "managers"), ("revenue history", "history"),
          ("pipeline / opportunities", "pipeline"), ("mapping file (YAML)", "mapping"), ("ignore", "ignore")]
_TARGET_LABELS = {
    "account_id": "Account id", "name": "Account name", "parent_id": "Parent id", "parent_name": "Parent name",
    "country": "Country", "region": "Region", "city": "City", "postcode": "Postcode", "industry": "Industry",
    "employees": "Employees", "revenue_12m": "Revenue 12 m", "annual_revenue": "Company size",
    "potential": "Potential",
    "service_need": "Service need (h/yr)", "owner_id": "Owner id", "owner_name": "Owner name",
    "source_id": "CRM id",
}
_TEXT = {
    "title": "1 · Import",
    "subtitle": "Upload CRM exports or load a book folder; check the mapping, the report and duplicates.",
    "too_big": "{name} is {mb:,.1f} MB; uploads are limited to {limit} MB. Import it on the command line "
               "(workbench import {name} --out BOOK_DIR) and load the book folder here.",
    "uploaded": "{n} file(s) ready: choose what each one is, check the mapping, then press Import.",
    "pipeline_revenue": "Revenue 12 m is the won value per account from {pipe} (its last 12 months){kept}.",
    "kept_as_size": "; the accounts file's '{col}' is kept as company size",
    "map_here": "choose them in the Column mapping fields above (Account id, Name, Revenue 12 m …), or upload a "
                "mapping file (YAML, for sums of columns, code labels and constants), and press Import again",
    "one_mapping": "Mark at most one file as 'mapping file (YAML)'.",
    "mapping_misfit": "Mapping file {file} does not fit {name}: {why}",
    "from_mapping": "From {file}: {what}.",
    "mapping_sum": "{label} = sum of {cols}",
    "mapping_values": "labels for the codes of {cols}",
    "mapping_constants": "{col} = {value} for every row",
    "no_accounts": "Upload an accounts file first (or set one file's role to 'accounts').",
    "one_accounts": "Mark exactly one file as 'accounts'.",
    "several_accounts": "{files} are all marked 'accounts': mark each other file as what it is (managers, "
                        "history, pipeline) or 'ignore', and the column mapping appears.",
    "importing": "Importing {name} …",
    "imported": "Imported {name}: {counts}.",
    "loaded": "Loaded {name}: {counts}.",
    "table_counts": "{n:,} {what}{source} ({read:,} {rows} read, {acc:,} accepted, {rej:,} rejected)",
    "from_file": " from {file}",
    "derived_managers": "{n:,} {what} derived from the account owners",
    "currency_default": "Revenue is labelled {cur} by default: if it is another currency, enter it under Currency "
                        "and import again.",
    "bad_currency": "Currency must be a three-letter ISO code such as EUR, USD or CHF, or empty to detect it.",
    "no_book": "Import or load a book first.",
    "dup_found": "{n:,} candidate pairs with a score of at least {thr:g} (best first; {shown:,} shown).",
    "dup_none": "No duplicate candidates with a score of at least {thr:g}.",
    "merged": "Merged {pairs:,} pairs: the book now has {n:,} accounts (all source ids kept in source_ids).",
    "nothing_accepted": "Tick the pairs to merge first (or use 'Accept all ≥ threshold').",
    "saved": "Saved the book to {folder}.",
    "saved_rej": "Saved {n:,} rejected rows to {path}.",
    "no_rejections": "No rejected rows.",
    "outside": "Choose a folder inside {base}.",
}


def guess_role(file_name: str) -> str:
    """What an uploaded file probably is, from its name (the user can change it)."""
    n = file_name.lower()
    if n.endswith((".yaml", ".yml")):
        return "mapping"
    # a CRM export folder also holds product lists, price books, order lines (Maven's products.csv): not accounts
    if any(k in n for k in ("product", "price", "catalog", "sku", "artikel", "order_line", "orderline")):
        return "ignore"
    if any(k in n for k in ("pipeline", "opportunit", "deals", "chancen")):
        return "pipeline"
    if any(k in n for k in ("history", "historie", "monthly", "umsatzhistorie", "revenue_history")):
        return "history"
    if any(k in n for k in ("manager", "team", "user", "owner", "mitarbeiter", "betreuer")):
        return "managers"
    return "accounts"


def _counts(book: AccountBook) -> str:
    """Rows read, accepted and rejected per kind of table, accounts and managers apart (one clause each)."""
    parts = []
    for table, one, many in (("accounts", "account", "accounts"), ("managers", "manager", "managers"),
                             ("history", "history row", "history rows")):
        files = [f for f in book.report.files if f["table"] == table]
        if not files:
            if table == "managers" and len(book.managers):
                n = len(book.managers)
                parts.append(_TEXT["derived_managers"].format(n=n, what=one if n == 1 else many))
            continue
        n, read = sum(f["rows_accepted"] for f in files), sum(f["rows_read"] for f in files)
        source = "" if table == "accounts" else _TEXT["from_file"].format(file=", ".join(f["file"] for f in files))
        parts.append(_TEXT["table_counts"].format(
            n=n, what=one if n == 1 else many, source=source, read=read, rows="row" if read == 1 else "rows", acc=n, rej=sum(f["rows_rejected"] for f in files)))
    return "; ".join(parts)


def _within(base: Path, target: Path) -> bool:
    try:
        target.resolve().relative_to(base.resolve())
        return True
    except ValueError:
        return False


class ImportStep(w.VBox):
    """Upload or load a book into ``state.book`` (and ``state.book_path`` when it comes from a folder)."""

    def __init__(self, state: WorkbenchState, base_dir: str | Path | None = None, **kwargs):
        super().__init__(**kwargs)
        self.state = state
        #: folders the view may write to (book and rejected rows) must lie inside this one
        self.base_dir = Path(base_dir or os.environ.get("WORKBENCH_DATA") or Path.cwd())
        self._files: dict[str, bytes] = {}
        self._role: dict[str, w.Dropdown] = {}
        self._map: dict[str, w.Dropdown] = {}
        self._map_fixed: dict[str, object] = {}
        #: the uploaded mapping file's content (values, constants, preset and sums of columns are applied from it)
        self._mapping_file: dict = {}
        self._mapping_error = ""
        self._preset_used = "auto"
        #: what the preset and the fuzzy guesses alone map (a field unmapped against them is saved as null)
        self._guessed: dict[str, object] = {}
        self._candidates = pd.DataFrame()
        self._accept: list[w.Checkbox] = []
        self._msg = MessageBox()

        # -- load a canonical book folder (kept from the first version) -------------------------------------
        self._path = w.Text(value=state.book_path, description="Book folder", layout=w.Layout(width="60%"),
                            style={"description_width": "initial"})
        self._load = w.Button(description="Load", button_style="primary", icon="folder-open")
        self._load.on_click(lambda _: self.load())

        # -- upload, roles, preset, mapping ----------------------------------------------------------------
        self._upload = w.FileUpload(accept=".csv,.txt,.tsv,.xlsx,.xlsm,.xls,.parquet,.yaml,.yml", multiple=True,
                                    description=f"Upload (≤ {MAX_UPLOAD_MB} MB)", layout=w.Layout(width="auto"))
        self._upload.observe(self._on_upload, names="value")
        self._roles_box = w.VBox()
        self._preset = w.Dropdown(options=[("auto-detect", "auto")] + [(p.label, k) for k, p in PRESETS.items()],
                                  value="auto", description="Preset", style={"description_width": "initial"})
        self._preset.observe(lambda _: self._suggest(), names="value")
        self._sheet = w.Text(value="", placeholder="first visible sheet", description="Excel sheet",
                             style={"description_width": "initial"}, layout=w.Layout(width="260px"))
        self._harmonise = w.Checkbox(value=True, description="Normalise countries and industries", indent=False)
        self._currency = w.Text(value="", placeholder="from the file, else EUR", description="Currency",
                                style={"description_width": "initial"}, layout=w.Layout(width="220px"))
        self._detected = w.HTML()
        self._mapping_box = w.GridBox(layout=w.Layout(grid_template_columns="repeat(3, minmax(220px, 1fr))",
                                                      grid_gap="4px 16px"))
        self._import = w.Button(description="Import", button_style="primary", icon="upload", disabled=True)
        self._import.on_click(lambda _: self.run_import())
        self._save_map = w.Button(description="Mapping file", icon="download", disabled=True,
                                  tooltip="Download the mapping as confirmed above, to use again (app, CLI, Python)")
        self._save_map.on_click(lambda _: self.offer_mapping())
        self._map_link = w.HTML()
        self._progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="", bar_style="info",
                                         layout=w.Layout(width="50%", display="none"))
        self._progress_text = w.HTML()

        # -- report ------------------------------------------------------------------------------------------
        self._summary = w.HTML()
        self._report = w.HTML()
        self._rejections = w.HTML()
        self._download = w.HTML()
        self._save_dir = w.Text(value="imported_book", description="Save to folder",
                                style={"description_width": "initial"}, layout=w.Layout(width="50%"))
        self._save = w.Button(description="Save book", icon="save")
        self._save.on_click(lambda _: self.save())
        self._save_rej = w.Button(description="Save rejected rows as CSV", icon="download",
                                   layout=w.Layout(width="auto"))  # the default width cut its words
        self._save_rej.on_click(lambda _: self.save_rejections())
        self._chart = ChartPane()
        self._table = w.HTML()

        # -- duplicates --------------------------------------------------------------------------------------
        self._threshold = w.FloatSlider(value=92.0, min=80.0, max=100.0, step=1.0, description="Threshold",
                                        continuous_update=False, style={"description_width": "initial"})
        self._find = w.Button(description="Find duplicates", icon="search")
        self._find.on_click(lambda _: self.find_duplicates())
        self._accept_all = w.Button(description="Accept all ≥ threshold", icon="check",
                                    layout=w.Layout(width="auto"))  # the default width cut it to "Accept all ≥ thr…"
        self._accept_all.on_click(lambda _: self.accept_above())
        self._reject_all = w.Button(description="Reject all", icon="times")
        self._reject_all.on_click(lambda _: self._set_all(False))
        self._merge = w.Button(description="Merge accepted", button_style="warning", icon="compress")
        self._merge.on_click(lambda _: self.merge())
        self._dup_msg = w.HTML()
        self._dup_rows = w.VBox()

        upload_box = w.VBox([
            w.HTML("<b>Upload CRM exports</b>"),
            w.HBox([self._upload, self._preset, self._sheet, self._currency]),
            self._roles_box, self._harmonise, self._detected,
            w.HTML("<b>Column mapping</b> (suggested; confirm or correct)"), self._mapping_box,
            w.HBox([self._import, self._save_map, self._map_link, self._progress, self._progress_text]),
        ])
        report_box = w.VBox([self._summary, self._report, self._rejections, w.HBox([self._save_rej, self._download]),
                             w.HBox([self._save_dir, self._save]), w.HBox([self._chart, self._table])])
        dup_box = w.VBox([w.HBox([self._threshold, self._find, self._accept_all, self._reject_all, self._merge]),
                          self._dup_msg, self._dup_rows])
        self._sections = w.Accordion(children=[upload_box, report_box, dup_box],
                                     titles=("Upload and map", "Report", "Duplicates"))
        self._sections.selected_index = 1
        self.children = [step_header(_TEXT["title"], _TEXT["subtitle"]), w.HBox([self._path, self._load]),
                         self._msg, self._sections]
        self.add_class("wb-step")

    # ------------------------------------------------------------------------------------------ folder load

    @guarded()
    def load(self, path: str | None = None) -> None:
        """Load a canonical book folder (CSV or Parquet) into the state."""
        folder = Path(path or self._path.value).expanduser()
        self._path.value = str(folder)
        self._msg.show(f"Loading {folder} …")
        book = load_book(folder)
        self.state.book_path = str(folder)
        self._publish(book, _TEXT["loaded"].format(name=folder.name, counts=_counts(book)))

    # ------------------------------------------------------------------------------------------ upload

    def _on_upload(self, change) -> None:
        self._take_uploads(change["new"])

    @guarded()
    def _take_uploads(self, files) -> None:
        refused = []
        for f in files or ():
            name = Path(str(f.get("name", "upload"))).name  # never a path from the browser
            size = int(f.get("size") or len(f.get("content", b"")))
            if size > MAX_UPLOAD_MB * 1024 * 1024:
                refused.append(_TEXT["too_big"].format(name=name, mb=size / 1024 / 1024, limit=MAX_UPLOAD_MB))
                continue
            self._files[name] = bytes(f["content"])
        self._render_roles()
        if refused:
            self._msg.show(" ".join(refused), "error")
        elif self._files:
            self._msg.show(_TEXT["uploaded"].format(n=len(self._files)))
        self._sections.selected_index = 0
        self._suggest()

    def add_file(self, name: str, content: bytes) -> None:
        """Offer a file as if it had been uploaded (used by notebooks and tests)."""
        self._take_uploads([{"name": name, "size": len(content), "content": memoryview(content)}])

    def _render_roles(self) -> None:
        rows = []
        for name in self._files:
            if name not in self._role:
                dd = w.Dropdown(options=_ROLES, value=guess_role(name), layout=w.Layout(width="220px"))
                dd.observe(lambda _: self._suggest(), names="value")
                self._role[name] = dd
            n = len(self._files[name])  # a mapping file is a few hundred bytes: not "0 kB"
            size = f"{n / 1024:,.0f} kB" if n >= 1024 else f"{n} bytes"
            rows.append(w.HBox([w.HTML(f"<code>{html.escape(name)}</code> ({size}) is"), self._role[name]]))
        self._roles_box.children = rows

    def _accounts_file(self) -> str | None:
        acc = self._with_role("accounts")
        return acc[0] if len(acc) == 1 else None

    def _with_role(self, role: str) -> list[str]:
        return [n for n, dd in self._role.items() if dd.value == role and n in self._files]

    def _read_mapping_file(self) -> dict:
        """The uploaded mapping file's content ({} without one); a second one or bad YAML raises with its name."""
        files = self._with_role("mapping")
        if len(files) > 1:
            raise ImportFileError(_TEXT["one_mapping"])
        return parse_mapping(self._files[files[0]], files[0]) if files else {}

    def _mapping_note(self) -> str:
        """One sentence on what the uploaded mapping file adds beyond the fields (sums, code labels, constants)."""
        m, files = self._mapping_file, self._with_role("mapping")
        if not m or not files:
            return ""
        what = [_TEXT["mapping_sum"].format(label=_TARGET_LABELS.get(t, t), cols=", ".join(map(str, src)))
                for t, src in (m.get("columns") or {}).items() if isinstance(src, list)]
        if m.get("values"):
            what.append(_TEXT["mapping_values"].format(cols=", ".join(_TARGET_LABELS.get(t, t) for t in m["values"])))
        what += [_TEXT["mapping_constants"].format(col=_TARGET_LABELS.get(t, t), value=v)
                 for t, v in (m.get("constants") or {}).items()]
        return _TEXT["from_mapping"].format(file=files[0], what="; ".join(what)) if what else ""

    @guarded()
    def _suggest(self) -> None:
        """Detect the accounts file's format and suggest a mapping the user can correct."""
        name = self._accounts_file()
        self._import.disabled = self._save_map.disabled = name is None
        self._map_link.value = ""
        if name is None:
            self._mapping_box.children = []
            self._detected.value = ""
            several = self._with_role("accounts")
            if len(several) > 1:  # the grid and the Import button went away without a word
                self._msg.show(_TEXT["several_accounts"].format(files=", ".join(several)), "warning")
            return
        self._mapping_file, self._mapping_error = {}, ""
        sn = sniff(self._files[name], name=name, sheet=self._sheet_value())
        guessed = build_mapping(sn.header, preset=self._preset.value)
        self._guessed = guessed.columns
        try:
            self._mapping_file = self._read_mapping_file()
            cmap = build_mapping(sn.header, preset=self._preset.value, override=self._mapping_file)
        except ImportFileError as exc:  # shown now, and Import refuses until it is fixed (never silently ignored)
            self._mapping_file, cmap = {}, guessed
            files = self._with_role("mapping")
            self._mapping_error = str(exc) if "Mapping file" in str(exc) or not files else \
                _TEXT["mapping_misfit"].format(file=files[0], name=name, why=exc)
            self._msg.show(self._mapping_error, "error")
        det = {k: v for k, v in sn.detected.items() if k in ("format", "encoding", "delimiter", "decimal",
                                                             "thousands", "sheet")}
        det["preset"] = PRESETS[cmap.preset].label
        note = self._mapping_note()
        self._detected.value = "<div class='wb-detected'>Detected: " + html.escape(
            ", ".join(f"{k} {v}" for k, v in det.items())) + "</div>" + (
            f"<div class='wb-detected'>{html.escape(note)}</div>" if note else "")
        options = [("— not mapped —", "")] + [(h, h) for h in sn.header]
        cells, self._map, self._map_fixed = [], {}, {}
        for target in MAPPING_TARGETS:
            src = cmap.columns.get(target)
            label = _TARGET_LABELS.get(target, target)
            if isinstance(src, list):  # a sum of columns from a mapping file: shown, not editable here
                self._map_fixed[target] = src
                cells.append(w.HTML(f"{label}: sum of {html.escape(', '.join(src))}"))
                continue
            dd = w.Dropdown(options=options, value=src if src in sn.header else "", description=label,
                            style={"description_width": "110px"}, layout=w.Layout(width="100%"))
            how = cmap.how.get(target, "")
            dd.tooltip = f"suggested by {how}" if how else "no suggestion"
            self._map[target] = dd
            cells.append(dd)
        self._mapping_box.children = cells
        self._preset_used = cmap.preset

    def _sheet_value(self) -> str | None:
        return self._sheet.value.strip() or None

    def mapping_override(self) -> dict:
        """The mapping as the user confirmed it, in the YAML mapping-file shape: the fields above, and the uploaded
        mapping file's sums of columns, code labels, constants and preset."""
        cols: dict[str, object] = {t: (dd.value or None) for t, dd in self._map.items()}
        cols.update(self._map_fixed)
        extra = {k: self._mapping_file[k] for k in ("preset", "values", "constants") if self._mapping_file.get(k)}
        return {**extra, "columns": cols}

    def mapping_file_text(self) -> str:
        """The confirmed mapping as a mapping file: mapped fields, and null for a field the user unmapped against
        the preset's guess (so the file gives the same mapping again); fields nobody mapped are left out."""
        m = {"preset": self._preset_used, **self.mapping_override()}
        m["columns"] = {t: src for t, src in m["columns"].items() if src or self._guessed.get(t)}
        return mapping_yaml(m)

    @guarded()
    def offer_mapping(self) -> None:
        """Offer the confirmed mapping as a YAML download named after the accounts file."""
        name = self._accounts_file()
        if name is None:
            self._msg.show(_TEXT["no_accounts"], "error")
            return
        self._map_link.value = download_link(f"{Path(name).stem}_mapping.yaml",
                                             self.mapping_file_text().encode("utf-8"), "application/x-yaml")

    def _progress_cb(self, frac: float, text: str) -> None:
        self._progress.value = float(min(max(frac, 0.0), 1.0))
        self._progress_text.value = html.escape(text)

    @guarded()
    def run_import(self) -> None:
        """Import the uploaded files with the confirmed mapping into ``state.book``."""
        name = self._accounts_file()
        if name is None:
            n_acc = sum(dd.value == "accounts" for dd in self._role.values())
            self._msg.show(_TEXT["no_accounts"] if n_acc == 0 else _TEXT["one_accounts"], "error")
            return
        if self._mapping_error:
            self._msg.show(self._mapping_error, "error")
            return
        by_role = {}
        for n, dd in self._role.items():
            if dd.value not in ("accounts", "mapping", "ignore") and n in self._files:
                by_role[dd.value] = (n, self._files[n])
        currency = self._currency.value.strip().upper()
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):  # checked here too: any viewer can send values
            self._msg.show(_TEXT["bad_currency"], "error")
            return
        self._msg.show(_TEXT["importing"].format(name=name))
        self._progress.layout.display = ""
        self.state.busy = True
        try:
            book = import_book((name, self._files[name]), managers=by_role.get("managers"),
                               history=by_role.get("history"), pipeline=by_role.get("pipeline"),
                               preset=self._preset.value, mapping=self.mapping_override(), sheet=self._sheet_value(),
                               harmonise=self._harmonise.value, currency=currency or None,
                               progress=self._progress_cb)
        except ImportFileError as exc:
            # the core speaks of a mapping file (the command line's way); here the fields above are the way
            self._msg.show(str(exc).replace("name them in a mapping file", _TEXT["map_here"]), "error")
            return
        finally:
            self.state.busy = False
            self._progress.layout.display = "none"
            self._progress_text.value = ""  # "reading accounts" must not stay beside a failed import
        self.state.book_path = self._path.value = ""  # the folder shown is no longer the book in use
        text = _TEXT["imported"].format(name=name, counts=_counts(book))
        accounts = next((f for f in book.report.files if f["table"] == "accounts"), {})
        if (accounts.get("detected") or {}).get("currency_how") == "default":
            text += " " + _TEXT["currency_default"].format(cur=book.currency)
        if "pipeline" in by_role:  # the mapping grid's "Revenue 12 m" is not what was used: say so in view
            src = self.mapping_override()["columns"].get("revenue_12m")
            text += " " + _TEXT["pipeline_revenue"].format(
                pipe=by_role["pipeline"][0], kept=_TEXT["kept_as_size"].format(col=src) if src else "")
        self._publish(book, text)

    # ------------------------------------------------------------------------------------------ report

    def _publish(self, book: AccountBook, text: str) -> None:
        rep = book.report
        self.state.book = book
        self._msg.show(text, "warning" if rep.rows_rejected or rep.warnings else "ok")
        self._summary.value = f"<p>{html.escape(book.summary())}</p>"
        files = pd.DataFrame([{"file": f["file"], "table": f["table"], "read": f["rows_read"],
                               "accepted": f["rows_accepted"], "rejected": f["rows_rejected"],
                               "detected": ", ".join(f"{k} {v}" for k, v in (f.get("detected") or {}).items()
                                                     if k in ("preset", "encoding", "delimiter", "decimal",
                                                              "sheet", "history_layout", "currency"))}
                              for f in rep.files])
        warn = "".join(f"<li>{html.escape(x)}</li>" for x in rep.warnings)
        notes = "".join(f"<li>{html.escape(x)}</li>" for x in rep.notes)
        self._report.value = ((table_html(files) if len(files) else "")
                              + (f"<b>Warnings</b><ul class='wb-warnings'>{warn}</ul>" if warn else "")
                              + (f"<details><summary>What was detected and derived</summary><ul>{notes}</ul>"
                                 "</details>" if notes else ""))
        if len(rep.rejections):
            self._rejections.value = (f"<b>Rejected rows</b> ({rep.rows_rejected:,}; first 20 reasons)"
                                      + table_html(rep.rejections, max_rows=20))
            data = rejections_csv(rep)
            if len(data) <= MAX_DOWNLOAD_BYTES:
                b64 = base64.b64encode(data).decode("ascii")
                self._download.value = (f'<a download="rejected_rows.csv" href="data:text/csv;base64,{b64}" '
                                        'class="wb-download">Download rejected rows (CSV)</a>')
            else:
                self._download.value = ""
        else:
            self._rejections.value = ""
            self._download.value = ""
        self._chart.show(revenue_concentration(book.accounts))
        cols = [c for c in ("account_id", "name", "city", "industry", "revenue_12m", "owner_id") if c in book.accounts]
        self._table.value = table_html(book.accounts.nlargest(10, "revenue_12m")[cols], max_rows=10)
        self._candidates = pd.DataFrame()
        self._accept = []
        self._dup_rows.children = []
        self._dup_msg.value = ""
        self._sections.selected_index = 1

    def _target_dir(self) -> Path | None:
        folder = Path(self._save_dir.value.strip() or "imported_book").expanduser()
        if not folder.is_absolute():
            folder = self.base_dir / folder
        if not _within(self.base_dir, folder):
            self._msg.show(_TEXT["outside"].format(base=self.base_dir), "error")
            return None
        return folder

    @guarded()
    def save(self) -> None:
        """Write the current book as Parquet (plus import_report.json) and make it the book folder."""
        if self.state.book is None:
            self._msg.show(_TEXT["no_book"], "error")
            return
        folder = self._target_dir()
        if folder is None:
            return
        save_book(self.state.book, folder)
        self.state.book_path = str(folder)
        self._path.value = str(folder)
        self._msg.show(_TEXT["saved"].format(folder=folder), "ok")

    @guarded()
    def save_rejections(self) -> None:
        """Write the rejected rows (file, row, column, value, rule) as CSV into the save folder."""
        book = self.state.book
        if book is None or not len(book.report.rejections):
            self._msg.show(_TEXT["no_rejections"] if book is not None else _TEXT["no_book"], "info")
            return
        folder = self._target_dir()
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "rejected_rows.csv"
        path.write_bytes(rejections_csv(book.report))
        self._msg.show(_TEXT["saved_rej"].format(n=book.report.rows_rejected, path=path), "ok")

    # ------------------------------------------------------------------------------------------ duplicates

    @guarded()
    def find_duplicates(self) -> None:
        """Search the book for duplicate candidates at the slider's threshold and list them for review."""
        book = self.state.book
        if book is None:
            self._msg.show(_TEXT["no_book"], "error")
            return
        thr = float(self._threshold.value)
        self._candidates = find_duplicates(book.accounts, threshold=thr)
        shown = self._candidates.head(MAX_REVIEW_ROWS)
        self._accept = [w.Checkbox(value=False, indent=False, layout=w.Layout(width="28px")) for _ in range(len(shown))]
        rows = []
        for cb, r in zip(self._accept, shown.itertuples(index=False)):
            text = (f"<b>{r.score:.0f}</b> · {html.escape(str(r.left_name))} <code>{html.escape(str(r.left_id))}</code>"
                    f" ↔ {html.escape(str(r.right_name))} <code>{html.escape(str(r.right_id))}</code>"
                    f"<div class='wb-evidence'>{html.escape(str(r.evidence))}</div>")
            rows.append(w.HBox([cb, w.HTML(text)], layout=w.Layout(align_items="center")))
        self._dup_rows.children = rows
        self._dup_msg.value = html.escape(
            _TEXT["dup_found"].format(n=len(self._candidates), thr=thr, shown=len(shown)) if len(self._candidates)
            else _TEXT["dup_none"].format(thr=thr))
        self._sections.selected_index = 2

    def accept_above(self) -> None:
        """Tick every listed pair whose score reaches the threshold."""
        thr = float(self._threshold.value)
        for cb, score in zip(self._accept, self._candidates["score"].head(len(self._accept))):
            cb.value = bool(score >= thr)

    def _set_all(self, value: bool) -> None:
        for cb in self._accept:
            cb.value = value

    def accepted_pairs(self) -> pd.DataFrame:
        """The pairs the user ticked (``left_id``, ``right_id``, ...)."""
        if not self._accept:
            return self._candidates.head(0)
        mask = [cb.value for cb in self._accept]
        return self._candidates.head(len(mask))[mask]

    @guarded()
    def merge(self) -> None:
        """Merge the ticked pairs into one account each (every source id kept) and publish the new book."""
        pairs = self.accepted_pairs()
        if self.state.book is None:
            self._msg.show(_TEXT["no_book"], "error")
            return
        if not len(pairs):
            self._msg.show(_TEXT["nothing_accepted"], "info")
            return
        book = merge_book(self.state.book, pairs)
        self._publish(book, _TEXT["merged"].format(pairs=len(pairs), n=book.n_accounts))
        self.state.book_path = ""
