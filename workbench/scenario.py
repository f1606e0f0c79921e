"""Scenarios that last: a named parameter set with its book fingerprint and results, and the SQLite store for them.

A ``Scenario`` is what a workshop decides between: name, description, author, creation time, every parameter
of ``workbench.pipeline`` (segmentation, coverage model, allocation, assumptions), the fingerprint of the
input book and the results (``Segmentation``, ``Assignment``, ``Projection``). Its parameter part is written
to and read from YAML for batch runs.

``ScenarioStore`` keeps scenarios in one SQLite file in WAL mode. Every save is one transaction, so a process
killed mid-save leaves the store readable with all earlier scenarios intact; each save of a name adds a
version (history); delete is soft; publish pins the version stakeholders see. Result frames are stored as
zstd-compressed Parquet BLOBs with a SHA-256 checksum each. A dashboard opens the store read-only
(``mode=ro``) and reads consistent snapshots while a workshop writes.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import re
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .results import Assignment, Projection, RunResult, Segmentation, _json_default

__all__ = [
    "Scenario",
    "ScenarioStore",
    "ScenarioStoreError",
    "SCHEMA_VERSION",
    "PARAM_SECTIONS",
    "DEFAULT_STORE",
    "read_yaml",
    "pseudonymise",
    "aliases",
    "pseudonymise_text",
    "with_account_names",
]

#: parameter sections of ``workbench.pipeline`` (kept here so the store does not import the stage modules)
PARAM_SECTIONS = ("segment", "allocate", "kpi")
#: where the CLI and the app keep the store unless told otherwise (relative to the working directory)
DEFAULT_STORE = Path("workspace") / "scenarios.sqlite"
#: the store layout this code writes; older stores are migrated on a writable open
SCHEMA_VERSION = 2

_RESULT_PARTS: dict[str, type] = {"segmentation": Segmentation, "assignment": Assignment, "projection": Projection}
_NAME_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")


class ScenarioStoreError(ValueError):
    """The store or a scenario in it cannot be used; the message is one plain sentence for the user."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Scenario:
    """A named restructure: parameters, input fingerprint and results.

    Parameters
    ----------
    name : unique name in a store (1–100 printable characters).
    params : the nested parameter dict of ``workbench.pipeline`` (``segment``/``allocate``/``kpi`` sections,
        including the coverage model and assumption overrides when given).
    fingerprint : ``AccountBook.fingerprint()`` of the book the results were computed on.
    description, author : free text for people.
    created : ISO-8601 UTC time the scenario was made.
    segmentation, assignment, projection : the results, or ``None`` for a parameter-only scenario (YAML).
    import_report : ``ImportReport.to_dict()`` of the book (rows read/accepted/rejected, rejections, warnings).
    book_summary : one line describing the book (accounts, managers, revenue).
    currency : the book's currency code.
    version, saved_at, published : filled by ``ScenarioStore.load`` (``None``/``""``/``False`` otherwise).
    """

    name: str
    params: dict = field(default_factory=dict)
    fingerprint: str = ""
    description: str = ""
    author: str = ""
    created: str = field(default_factory=_now)
    segmentation: Segmentation | None = None
    assignment: Assignment | None = None
    projection: Projection | None = None
    import_report: dict = field(default_factory=dict)
    book_summary: str = ""
    currency: str = "EUR"
    version: int | None = None
    saved_at: str = ""
    published: bool = False

    @classmethod
    def from_run(cls, name: str, result: RunResult, book=None, description: str = "", author: str = "") -> Scenario:
        """A scenario from a ``pipeline.run`` result (and, when given, the ``AccountBook`` it ran on)."""
        assignment = result.assignment
        if book is not None and assignment is not None:
            assignment = with_account_names(assignment, book.accounts)
        sc = cls(name=name, params=copy.deepcopy(result.params), fingerprint=result.fingerprint,
                 description=description, author=author, segmentation=result.segmentation,
                 assignment=assignment, projection=result.projection)
        if book is not None:
            sc.import_report = book.report.to_dict()
            sc.book_summary = book.summary()
            sc.currency = book.currency
        return sc

    @property
    def has_results(self) -> bool:
        return self.segmentation is not None and self.assignment is not None and self.projection is not None

    def to_run_result(self) -> RunResult:
        """The results as a ``RunResult`` (what ``pipeline.write_results`` and the widgets take)."""
        if not self.has_results:
            raise ScenarioStoreError(f"Scenario {self.name!r} holds parameters only, no results.")
        return RunResult(segmentation=self.segmentation, assignment=self.assignment, projection=self.projection,
                         params=self.params, fingerprint=self.fingerprint)

    def header(self) -> dict:
        """Name, description, author, created and fingerprint: the YAML header and the summary sheet."""
        return {"name": self.name, "description": self.description, "author": self.author,
                "created": self.created, "book_fingerprint": self.fingerprint}

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The parameter part as YAML (header + ``params``, and with results a ``used`` section listing every
        value the stages used, for people); written to ``path`` when given."""
        import yaml

        doc = {**self.header(), "params": json.loads(json.dumps(self.params, default=_json_default))}
        if self.has_results:
            # for the reader only (``read_yaml`` ignores it): every value the stages used, defaults included
            scalars = {k: v for k, v in (self.projection.assumptions or {}).items() if isinstance(v, int | float)}
            used = {"segment": self.segmentation.params, "allocate": self.assignment.params,
                    "kpi": {**self.projection.params, "assumptions": scalars}}
            doc["used"] = json.loads(json.dumps(used, default=_json_default))
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_yaml(cls, source: str | Path) -> Scenario:
        """Read a scenario's parameter part from a YAML file (or YAML text); results stay ``None``."""
        return read_yaml(source)


def with_account_names(assignment: Assignment, accounts: pd.DataFrame) -> Assignment:
    """``assignment`` with each move's company name (``account_name``, the book's ``name``) beside its id.

    A scenario keeps no copy of the book, and a stakeholder cannot act on "A001613": the move list carries the
    names with it (pseudonymised like the ids). Returned as it is when the moves carry names already or the
    book has none.
    """
    moves = assignment.moves
    if "account_name" in moves.columns or "account_id" not in moves.columns or \
            not {"account_id", "name"} <= set(accounts.columns):
        return assignment
    names = accounts.drop_duplicates("account_id").set_index("account_id")["name"].astype("string")
    named = moves.copy()
    named.insert(int(moves.columns.get_loc("account_id")) + 1, "account_name",
                 moves["account_id"].astype("string").map(names).astype("string"))
    return dataclasses.replace(assignment, moves=named)


def read_yaml(source: str | Path) -> Scenario:
    """Parse a scenario YAML file (path) or text into a parameter-only ``Scenario``.

    Raises
    ------
    ScenarioStoreError : the file is missing, is not YAML, or names an unknown parameter section.
    """
    import yaml

    label = "scenario YAML"
    text = str(source)
    if isinstance(source, Path) or ("\n" not in text and text.endswith((".yaml", ".yml"))):
        path = Path(source)
        if not path.is_file():
            raise ScenarioStoreError(f"Scenario file {path} does not exist.")
        label, text = path.name, path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise ScenarioStoreError(f"{label} is not valid YAML{at}.") from exc
    if not isinstance(doc, dict):
        raise ScenarioStoreError(f"{label} must be a mapping with at least 'name' and 'params'.")
    params = doc.get("params") or {}
    if not isinstance(params, dict):
        raise ScenarioStoreError(f"{label}: 'params' must be a mapping of sections ({', '.join(PARAM_SECTIONS)}).")
    for section, values in params.items():
        if section not in PARAM_SECTIONS:
            raise ScenarioStoreError(f"{label}: unknown parameter section {section!r}; "
                                     f"expected one of {', '.join(PARAM_SECTIONS)}.")
        if values is not None and not isinstance(values, dict):
            raise ScenarioStoreError(f"{label}: section {section!r} must be a mapping of key: value.")
    name = str(doc.get("name") or (Path(label).stem if label != "scenario YAML" else "scenario"))
    created = doc.get("created")
    return Scenario(name=name, params={k: dict(v or {}) for k, v in params.items()},
                    fingerprint=str(doc.get("book_fingerprint") or ""), description=str(doc.get("description") or ""),
                    author=str(doc.get("author") or ""), created=str(created) if created else _now())


# ---------------------------------------------------------------------------------------------------- storage
def _tag(obj):
    """JSON-able form that keeps what plain JSON loses: tuples and dicts with non-text keys come back as such."""
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: _tag(v) for k, v in obj.items()}
        return {"__items__": [[_tag(k), _tag(v)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_tag(v) for v in obj]}
    if isinstance(obj, list):
        return [_tag(v) for v in obj]
    return obj


def _untag(obj):
    if isinstance(obj, dict):
        if set(obj) == {"__tuple__"}:
            return tuple(_untag(v) for v in obj["__tuple__"])
        if set(obj) == {"__items__"}:
            return {_untag(k): _untag(v) for k, v in obj["__items__"]}
        return {k: _untag(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_untag(v) for v in obj]
    return obj


def _dumps(obj, **kwargs) -> str:
    return json.dumps(_tag(obj), default=_json_default, **kwargs)


def _loads(text: str):
    return _untag(json.loads(text))


_RESTORE_KEY = b"workbench.text_columns"
_DTYPES_KEY = b"workbench.column_dtypes"


def _string_kind(dtype: pd.StringDtype) -> str:
    """A string dtype as text: its storage, with ``|nan`` when its missing value is NaN (pandas' ``str``)."""
    return dtype.storage + ("" if getattr(dtype, "na_value", pd.NA) is pd.NA else "|nan")


def _string_dtype(kind: str) -> pd.StringDtype:
    storage, _, na = kind.partition("|")
    return pd.StringDtype(storage, na_value=np.nan) if na == "nan" else pd.StringDtype(storage)


def _plain_scalars(values: list) -> bool:
    """Values JSON keeps exactly (text, whole numbers, finite floats, booleans)."""
    return all(isinstance(v, str | bool | int) or (isinstance(v, float) and np.isfinite(v)) for v in values)


_MISSING = {"NA": pd.NA, "NaN": np.nan}


def _missing_marker(s: pd.Series) -> str | None:
    """How an object column marks missing values when that is not ``None`` (Parquet's one null comes back as
    ``None``): ``"NA"`` (``pd.NA``) or ``"NaN"``, when all its missing values are the same one."""
    gone = s.isna().to_numpy()
    if not gone.any():
        return None
    kinds = {"NA" if v is pd.NA else "NaN" if isinstance(v, float) else "other" for v in pd.unique(s.to_numpy()[gone])}
    return kinds.pop() if len(kinds) == 1 and kinds <= set(_MISSING) else None


def _low_cardinality_text(s: pd.Series) -> bool:
    """Text columns with few distinct values (manager ids, segments, reasons) are stored dictionary-encoded.

    Only all-text columns qualify, and object columns only without missing values, so that the original dtype
    and values come back exactly; a 2,000-row sample decides whether values repeat enough to gain. A column
    without a single value is left alone: a dictionary without categories comes back from Parquet as a plain
    column of nulls.
    """
    if isinstance(s.dtype, pd.StringDtype):
        pass
    elif s.dtype != object or s.isna().any():
        return False
    head = s.iloc[:2000]
    # text first: counting distinct values of lists or dicts would fail
    if len(head) < 50 or pd.api.types.infer_dtype(head, skipna=True) != "string":
        return False
    if head.nunique(dropna=True) > len(head) // 4 or not s.notna().any():
        return False
    return pd.api.types.infer_dtype(s, skipna=True) == "string"


def _frame_bytes(df: pd.DataFrame) -> bytes:
    """A frame as zstd Parquet. Repetitive text columns go in as categoricals (Arrow converts each distinct
    string once instead of once per row) and their original dtype is kept in the file's metadata, as are the
    dtypes Parquet alone does not bring back (a string column's storage, a categorical's categories)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    restore: dict[str, str] = {}
    dtypes: dict[str, dict] = {}
    out = df
    for c in df.columns:
        s = df[c]
        if not isinstance(c, str) or not isinstance(s, pd.Series):
            continue  # (a name used twice gives a frame here; Arrow refuses such a frame below)
        if _low_cardinality_text(s):
            if out is df:
                out = df.copy(deep=False)
            codes, uniques = pd.factorize(s, use_na_sentinel=True)
            out[c] = pd.Categorical.from_codes(codes, categories=pd.Index(np.asarray(uniques, dtype=object)))
            restore[c] = _string_kind(s.dtype) if isinstance(s.dtype, pd.StringDtype) else "object"
        elif isinstance(s.dtype, pd.StringDtype):
            dtypes[c] = {"string": _string_kind(s.dtype)}
        elif s.dtype == object and len(s):
            spec = {"na": _missing_marker(s)}
            if pd.api.types.infer_dtype(s, skipna=True) != "string":
                spec["object"] = True  # Python numbers or booleans: Parquet would give a numeric column
            if spec["na"] is None:
                del spec["na"]
            if spec:
                dtypes[c] = spec
        elif isinstance(s.dtype, pd.CategoricalDtype) and _plain_scalars(s.cat.categories.tolist()):
            # Parquet keeps a dictionary of text only, and no unused or empty categories
            dtypes[c] = {"categories": s.cat.categories.tolist(), "categories_dtype": str(s.cat.categories.dtype),
                         "ordered": bool(s.cat.ordered)}
    # the index goes in too (a RangeIndex as metadata only), so a frame comes back exactly as it was
    table = pa.Table.from_pandas(out, preserve_index=None)
    extra = {_RESTORE_KEY: restore, _DTYPES_KEY: dtypes}
    extra = {k: json.dumps(v).encode() for k, v in extra.items() if v}
    if extra:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    buf = pa.BufferOutputStream()
    # zstd keeps a 100k-account scenario to ~2 MB; statistics are for query engines, not for us; Parquet's own
    # dictionary attempt on unique ids (account_id) doubles the write time for nothing;
    # categoricals (ours and any the frame had) must stay dictionaries to keep their categories
    dictionary = [c for c in out.columns if isinstance(out[c].dtype, pd.CategoricalDtype)]
    pq.write_table(table, buf, compression="zstd", write_statistics=False, use_dictionary=dictionary or False)
    return buf.getvalue().to_pybytes()


def _values(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A stored column as (object values, missing mask), whatever form Parquet gave it back in."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        # the usual case: decode through the codes, so each distinct string is converted once
        codes = np.asarray(s.cat.codes)
        cats = np.asarray(s.cat.categories, dtype=object)
        values = cats.take(np.maximum(codes, 0)) if len(cats) else np.full(len(codes), None, dtype=object)
        missing = codes < 0
    else:  # a dictionary Parquet did not keep as one (no categories: a column of nulls), or a plain column
        values, missing = s.to_numpy(dtype=object, copy=True), s.isna().to_numpy()
    values[missing] = None
    return values, missing


def _frame_from_bytes(data: bytes) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(pa.BufferReader(data))
    meta = table.schema.metadata or {}
    df = table.to_pandas()
    for c, kind in json.loads(meta.get(_RESTORE_KEY, b"{}")).items():
        s = df[c]
        if kind != "object" and isinstance(s.dtype, pd.CategoricalDtype) and len(s.cat.categories):
            # each distinct string becomes a string scalar once; the rows are a take (a missing code → NA)
            cats = pd.array(np.asarray(s.cat.categories, dtype=object), dtype=_string_dtype(kind))
            df[c] = pd.Series(cats.take(np.asarray(s.cat.codes, dtype=np.intp), allow_fill=True), index=df.index)
            continue
        values, _ = _values(s)
        df[c] = pd.Series(values, index=df.index, dtype=object if kind == "object" else _string_dtype(kind))
    for c, spec in json.loads(meta.get(_DTYPES_KEY, b"{}")).items():
        values, missing = _values(df[c])
        if "string" in spec:
            df[c] = pd.Series(values, index=df.index, dtype=_string_dtype(spec["string"]))
        elif "object" in spec or "na" in spec:
            if "na" in spec:
                values[missing] = _MISSING[spec["na"]]
            df[c] = pd.Series(values, index=df.index, dtype=object)  # (an array would be re-inferred)
        else:
            cats = pd.Index(spec["categories"], dtype=spec["categories_dtype"])
            codes = cats.get_indexer(pd.Index(values, dtype=object)) if len(cats) else np.full(len(values), -1)
            codes[missing] = -1
            df[c] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(cats, ordered=spec["ordered"]))
    return df


def _difference(saved: pd.DataFrame, back: pd.DataFrame) -> str | None:
    """What differs between a frame and the frame read back from its bytes (``None``: nothing)."""
    if list(back.columns) != list(saved.columns):
        return "its column names"
    if not back.index.equals(saved.index) or back.index.dtype != saved.index.dtype:
        return "its row index"
    for i, c in enumerate(saved.columns):
        a, b = saved.iloc[:, i], back.iloc[:, i]
        if a.dtype != b.dtype:
            return f"column {c!r} ({a.dtype} comes back as {b.dtype})"
        if a.dtype == object:  # Parquet has one null: None, NaN and pd.NA in a text column all come back None
            gone = a.isna().to_numpy()
            if not np.array_equal(gone, b.isna().to_numpy()):
                return f"column {c!r} (its missing values)"
            a, b = a[~gone], b[~gone]
        try:
            same = bool(a.equals(b))
        except (TypeError, ValueError):  # values that do not compare (lists that came back as arrays)
            same = False
        if not same:
            return f"column {c!r} (its values)"
    return None


#: result frames in words, for the sentence that stops a save
_PART_WORDS = {"segmentation.labels": "segment per account", "segmentation.profiles": "segment profiles",
               "segmentation.coverage": "coverage model", "assignment.owners": "owner per account",
               "assignment.moves": "move list", "assignment.loads": "manager loads",
               "projection.series": "monthly series", "projection.by_segment": "KPIs per segment",
               "projection.by_manager": "KPIs per manager"}


def _checked_frame_bytes(name: str, part: str, df: pd.DataFrame) -> bytes:
    """``_frame_bytes(df)``, read back and compared with ``df`` before anything is written: a frame the store
    cannot keep exactly stops the save with one sentence, instead of a scenario that saves and then cannot be
    opened, compared, exported or shown (as the Maven book's moves without a region once did)."""
    what = f"Scenario {name!r} was not saved: its {_PART_WORDS.get(part, part)}"
    try:
        data = _frame_bytes(df)
    except (ImportError, MemoryError):
        raise
    except Exception as exc:  # Arrow refuses the frame: a column mixing text and numbers, a name used twice
        found = re.search(r"column (.+?) with type", str(exc))
        where = f" (column {found.group(1)!r} mixes kinds of values)" if found else f" ({exc})"
        raise ScenarioStoreError(f"{what} cannot be stored{where}.") from exc
    try:
        diff = _difference(df, _frame_from_bytes(data))
    except Exception as exc:
        raise ScenarioStoreError(f"{what} would not load back ({exc}).") from exc
    if diff is not None:
        raise ScenarioStoreError(f"{what} would not load back as it is: {diff} differs.")
    return data


def _encode_results(sc: Scenario) -> tuple[list[tuple[str, bytes, str]], dict]:
    """Result frames → [(part, parquet bytes, sha256)], other result fields → a JSON-able dict.

    Every frame is read back and compared before it is accepted (``_checked_frame_bytes``).
    """
    parts: list[tuple[str, bytes, str]] = []
    meta: dict = {}
    for attr in _RESULT_PARTS:
        obj = getattr(sc, attr)
        if obj is None:
            continue
        meta[attr] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, pd.DataFrame):
                part = f"{attr}.{f.name}"
                data = _checked_frame_bytes(sc.name, part, value)
                parts.append((part, data, hashlib.sha256(data).hexdigest()))
            else:
                meta[attr][f.name] = value
    return parts, meta


def _decode_results(meta: dict, blobs: dict[str, bytes]) -> dict:
    out = {}
    for attr, cls in _RESULT_PARTS.items():
        if attr not in meta:
            out[attr] = None
            continue
        kwargs = dict(meta[attr])
        for f in dataclasses.fields(cls):
            key = f"{attr}.{f.name}"
            if key in blobs:
                kwargs[f.name] = _frame_from_bytes(blobs[key])
        out[attr] = cls(**kwargs)
    return out


def _headline(meta: dict) -> dict:
    """The KPI dict of a stored projection (what listings show without reading any BLOB)."""
    return (meta.get("projection") or {}).get("kpis") or {}


def _m1(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("""CREATE TABLE scenarios (
        name TEXT PRIMARY KEY, created_at TEXT NOT NULL, latest_version INTEGER NOT NULL,
        published_version INTEGER, published_at TEXT, deleted_at TEXT)""")
    db.execute("""CREATE TABLE versions (
        id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL REFERENCES scenarios(name), version INTEGER NOT NULL,
        description TEXT NOT NULL, author TEXT NOT NULL, created TEXT NOT NULL, saved_at TEXT NOT NULL,
        fingerprint TEXT NOT NULL, params_json TEXT NOT NULL, meta_json TEXT NOT NULL, UNIQUE (name, version))""")
    db.execute("""CREATE TABLE parts (
        version_id INTEGER NOT NULL REFERENCES versions(id), part TEXT NOT NULL, data BLOB NOT NULL,
        sha256 TEXT NOT NULL, PRIMARY KEY (version_id, part))""")
    db.execute("INSERT INTO meta VALUES ('alias_salt', ?)", (secrets.token_hex(8),))


def _m2(db: sqlite3.Connection) -> None:
    # version 2 keeps the headline KPIs beside each version so that listings never parse meta_json
    db.execute("ALTER TABLE versions ADD COLUMN kpis_json TEXT NOT NULL DEFAULT '{}'")
    rows = db.execute("SELECT id, meta_json FROM versions").fetchall()
    db.executemany("UPDATE versions SET kpis_json = ? WHERE id = ?",
                   [(json.dumps(_headline(json.loads(m)), default=_json_default), i) for i, m in rows])


#: migration to schema version N is ``_MIGRATIONS[N]``; each runs inside the transaction that bumps the version
_MIGRATIONS = {1: _m1, 2: _m2}


class ScenarioStore:
    """Scenarios in one SQLite file (WAL mode): save, load, list, history, soft delete, publish.

    Parameters
    ----------
    path : the store file; its folder is created on a writable open.
    read_only : open with ``mode=ro`` (dashboards): nothing can be written, and the file must exist.
    timeout : seconds to wait for another writer's lock before giving up.

    Examples
    --------
    >>> store = ScenarioStore("workspace/scenarios.sqlite")          # doctest: +SKIP
    >>> store.save(Scenario.from_run("Balanced", result, book), publish=True)  # doctest: +SKIP
    """

    def __init__(self, path: str | Path = DEFAULT_STORE, read_only: bool = False, timeout: float = 30.0):
        self.path = Path(path)
        self.read_only = read_only
        self.timeout = timeout
        if read_only:
            if not self.path.is_file():
                raise ScenarioStoreError(f"No scenario store at {self.path}.")
            uri = self.path.resolve().as_uri() + "?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None,
                                       check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            if not read_only:
                self._db.execute("PRAGMA journal_mode = WAL")
                # NORMAL in WAL mode: a committed save survives a killed process; only power loss can drop the last
                self._db.execute("PRAGMA synchronous = NORMAL")
                self._migrate()
            version = self.schema_version
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ScenarioStoreError(f"{self.path} is not a readable scenario store ({exc}).") from exc
        if version > SCHEMA_VERSION:
            self._db.close()
            raise ScenarioStoreError(f"{self.path} was written by a newer workbench (store schema {version}); "
                                     "update the workbench to read it.")
        if version < SCHEMA_VERSION:
            self._db.close()
            raise ScenarioStoreError(f"{self.path} uses store schema {version}; open it once in the workshop "
                                     "(writable) to upgrade it.")

    # ---- lifecycle
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ScenarioStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The store's layout version (0 for a new, empty file)."""
        has = self._db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
        if not has:
            return 0
        row = self._db.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self, target: int = SCHEMA_VERSION) -> None:
        if self.schema_version >= target:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # re-read under the write lock: another process may have migrated meanwhile
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = self.schema_version
            for n in range(current + 1, target + 1):
                _MIGRATIONS[n](self._db)
            self._db.execute("DELETE FROM schema_version")
            self._db.execute("INSERT INTO schema_version VALUES (?)", (max(current, target),))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _write(self) -> None:
        if self.read_only:
            raise ScenarioStoreError("This scenario store is open read-only.")

    @property
    def alias_salt(self) -> str:
        """Per-store secret that makes pseudonymous aliases stable within the store and unguessable outside."""
        return self._db.execute("SELECT value FROM meta WHERE key='alias_salt'").fetchone()[0]

    # ---- write
    def save(self, scenario: Scenario, publish: bool = False) -> int:
        """Save ``scenario`` as the next version of its name (atomically) and return that version number.

        Saving a soft-deleted name brings it back. ``publish=True`` also makes this version the published one.
        """
        self._write()
        name = scenario.name.strip() if isinstance(scenario.name, str) else ""
        if not _NAME_RE.match(name):
            raise ScenarioStoreError("A scenario name must be 1 to 100 printable characters.")
        parts, meta = _encode_results(scenario)
        meta["scenario"] = {"import_report": scenario.import_report, "book_summary": scenario.book_summary,
                            "currency": scenario.currency}
        params_json = _dumps(scenario.params, sort_keys=True)
        meta_json = _dumps(meta)
        kpis_json = json.dumps(_headline(meta), default=_json_default)
        saved_at = _now()
        db = self._db
        # everything is encoded before the write lock is taken so the lock is held only for the inserts
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT latest_version FROM scenarios WHERE name = ?", (name,)).fetchone()
            version = (row[0] if row else 0) + 1
            if row is None:
                db.execute("INSERT INTO scenarios (name, created_at, latest_version) VALUES (?, ?, ?)",
                           (name, scenario.created or saved_at, version))
            cur = db.execute(
                "INSERT INTO versions (name, version, description, author, created, saved_at, fingerprint, "
                "params_json, meta_json, kpis_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, version, scenario.description or "", scenario.author or "", scenario.created or saved_at,
                 saved_at, scenario.fingerprint or "", params_json, meta_json, kpis_json))
            vid = cur.lastrowid
            db.executemany("INSERT INTO parts (version_id, part, data, sha256) VALUES (?, ?, ?, ?)",
                           [(vid, p, sqlite3.Binary(d), s) for p, d, s in parts])
            db.execute("UPDATE scenarios SET latest_version = ?, deleted_at = NULL WHERE name = ?", (version, name))
            if publish:
                db.execute("UPDATE scenarios SET published_version = ?, published_at = ? WHERE name = ?",
                           (version, saved_at, name))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return version

    def _update(self, sql: str, args: tuple, name: str) -> None:
        self._write()
        cur = self._db.execute(sql, args)
        if cur.rowcount == 0:
            raise ScenarioStoreError(f"No scenario named {name!r} in {self.path.name}.")

    def publish(self, name: str, version: int | None = None) -> int:
        """Make ``version`` (default: the latest) the version stakeholders see; returns it."""
        self._write()
        info = self._row(name)
        v = int(version or info["latest_version"])
        if not self._db.execute("SELECT 1 FROM versions WHERE name=? AND version=?", (name, v)).fetchone():
            raise ScenarioStoreError(f"Scenario {name!r} has no version {v}.")
        self._update("UPDATE scenarios SET published_version=?, published_at=? WHERE name=? AND deleted_at IS NULL",
                     (v, _now(), name), name)
        return v

    def unpublish(self, name: str) -> None:
        """Hide the scenario from dashboards again (its versions stay)."""
        self._update("UPDATE scenarios SET published_version=NULL, published_at=NULL WHERE name=?", (name,), name)

    def delete(self, name: str) -> None:
        """Soft delete: the scenario disappears from listings and dashboards, its versions stay restorable."""
        self._update("UPDATE scenarios SET deleted_at=?, published_version=NULL, published_at=NULL "
                     "WHERE name=? AND deleted_at IS NULL", (_now(), name), name)

    def restore(self, name: str) -> None:
        """Undo a soft delete (the scenario comes back unpublished)."""
        self._update("UPDATE scenarios SET deleted_at=NULL WHERE name=? AND deleted_at IS NOT NULL", (name,), name)

    # ---- read
    def _row(self, name: str, include_deleted: bool = False) -> dict:
        cur = self._db.execute("SELECT * FROM scenarios WHERE name = ?", (name,))
        row = cur.fetchone()
        if row is None or (row[5] is not None and not include_deleted):
            raise ScenarioStoreError(f"No scenario named {name!r} in {self.path.name}.")
        return dict(zip([d[0] for d in cur.description], row))

    def names(self, published_only: bool = False) -> list[str]:
        """Names of the live scenarios (only published ones when asked), sorted."""
        sql = "SELECT name FROM scenarios WHERE deleted_at IS NULL"
        if published_only:
            sql += " AND published_version IS NOT NULL"
        return [r[0] for r in self._db.execute(sql + " ORDER BY name")]

    def list(self, published_only: bool = False, include_deleted: bool = False) -> pd.DataFrame:
        """One row per scenario: name, version shown, number of versions, who/when, published, headline KPIs.

        The version shown is the published one when ``published_only``, else the latest.
        Columns: ``name, version, versions, description, author, created, saved_at, fingerprint, published,
        published_version, deleted, revenue_12m, accounts_moved`` (the two KPIs as scenario values, NaN if absent).
        """
        shown = "s.published_version" if published_only else "s.latest_version"
        sql = f"""SELECT s.name, v.version, (SELECT COUNT(*) FROM versions x WHERE x.name = s.name) AS versions,
                  v.description, v.author, v.created, v.saved_at, v.fingerprint,
                  s.published_version IS NOT NULL AS published, s.published_version, s.deleted_at IS NOT NULL,
                  v.kpis_json
                  FROM scenarios s JOIN versions v ON v.name = s.name AND v.version = {shown}
                  WHERE 1=1"""
        if not include_deleted:
            sql += " AND s.deleted_at IS NULL"
        if published_only:
            sql += " AND s.published_version IS NOT NULL"
        rows = self._db.execute(sql + " ORDER BY s.name").fetchall()
        cols = ["name", "version", "versions", "description", "author", "created", "saved_at", "fingerprint",
                "published", "published_version", "deleted"]
        df = pd.DataFrame([r[:-1] for r in rows], columns=cols)
        df["published"] = df["published"].astype(bool)
        df["deleted"] = df["deleted"].astype(bool)
        df["published_version"] = df["published_version"].astype("Int64")
        kpis = [json.loads(r[-1]) for r in rows]
        for key in ("revenue_12m", "accounts_moved"):
            vals = [(k.get(key) or {}).get("scenario") for k in kpis]
            df[key] = np.array([np.nan if v is None else float(v) for v in vals], dtype=float)
        return df

    def history(self, name: str) -> pd.DataFrame:
        """Every saved version of ``name``: ``version, saved_at, author, description, fingerprint, published``."""
        info = self._row(name, include_deleted=True)
        rows = self._db.execute("SELECT version, saved_at, author, description, fingerprint FROM versions "
                                "WHERE name = ? ORDER BY version", (name,)).fetchall()
        df = pd.DataFrame(rows, columns=["version", "saved_at", "author", "description", "fingerprint"])
        df["published"] = df["version"] == (info["published_version"] or -1)
        return df

    def load(self, name: str, version: int | None = None, published_only: bool = False,
             include_deleted: bool = False) -> Scenario:
        """Load one scenario version (default: latest, or the published one with ``published_only``).

        All reads happen in one read transaction, a consistent snapshot even while another process saves;
        every BLOB is checked against its SHA-256.

        Raises
        ------
        ScenarioStoreError : no such (live / published) scenario or version, or a damaged BLOB.
        """
        db = self._db
        db.execute("BEGIN")
        try:
            info = self._row(name, include_deleted=include_deleted)
            if published_only:
                if info["published_version"] is None:
                    raise ScenarioStoreError(f"Scenario {name!r} is not published.")
                version = info["published_version"]
            v = int(version or info["latest_version"])
            row = db.execute("SELECT id, description, author, created, saved_at, fingerprint, params_json, meta_json "
                             "FROM versions WHERE name = ? AND version = ?", (name, v)).fetchone()
            if row is None:
                raise ScenarioStoreError(f"Scenario {name!r} has no version {v}.")
            blobs = {p: (bytes(d), s) for p, d, s in
                     db.execute("SELECT part, data, sha256 FROM parts WHERE version_id = ?", (row[0],))}
        finally:
            db.execute("COMMIT")
        for part, (data, sha) in blobs.items():
            if hashlib.sha256(data).hexdigest() != sha:
                raise ScenarioStoreError(f"Scenario {name!r} version {v}: stored part {part} is damaged.")
        meta = _loads(row[7])
        extra = meta.pop("scenario", {})
        results = _decode_results(meta, {p: d for p, (d, _) in blobs.items()})
        return Scenario(name=name, params=_loads(row[6]), fingerprint=row[5], description=row[1], author=row[2],
                        created=row[3], import_report=extra.get("import_report") or {},
                        book_summary=extra.get("book_summary", ""), currency=extra.get("currency", "EUR"),
                        version=v, saved_at=row[4], published=info["published_version"] == v, **results)

    def load_params(self, name: str, published_only: bool = False) -> dict:
        """The parameters of a scenario's latest (or published) version, without its results."""
        info = self._row(name)
        v = info["published_version"] if published_only else info["latest_version"]
        if v is None:
            raise ScenarioStoreError(f"Scenario {name!r} is not published.")
        row = self._db.execute("SELECT params_json FROM versions WHERE name = ? AND version = ?",
                               (name, int(v))).fetchone()
        return _loads(row[0]) if row else {}

    def load_part(self, name: str, part: str, published_only: bool = False) -> pd.DataFrame | None:
        """One result frame (``"assignment.loads"``, say) of a scenario's latest (or published) version, read
        alone: what a listing needs (the managers' names, to pseudonymise scenario names) without decoding
        every frame. ``None`` when that version has no such part.

        Raises
        ------
        ScenarioStoreError : no such (live / published) scenario, or a damaged BLOB.
        """
        db = self._db
        db.execute("BEGIN")
        try:
            info = self._row(name)
            v = info["published_version"] if published_only else info["latest_version"]
            if v is None:
                raise ScenarioStoreError(f"Scenario {name!r} is not published.")
            row = db.execute("SELECT p.data, p.sha256 FROM parts p JOIN versions v ON v.id = p.version_id "
                             "WHERE v.name = ? AND v.version = ? AND p.part = ?", (name, int(v), part)).fetchone()
        finally:
            db.execute("COMMIT")
        if row is None:
            return None
        data = bytes(row[0])
        if hashlib.sha256(data).hexdigest() != row[1]:
            raise ScenarioStoreError(f"Scenario {name!r} version {v}: stored part {part} is damaged.")
        return _frame_from_bytes(data)

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` says ok (used after crashes and by tests)."""
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# ---------------------------------------------------------------------------------------------- pseudonyms
_HEX = np.array(list("0123456789abcdef"))
_ACCOUNT_COLS = {"account_id", "parent_id", "source_id", "unit_id", "account_source_id"}
_MANAGER_COLS = {"manager_id", "from_manager", "to_manager", "owner_id", "owner_source_id"}


def aliases(values: pd.Series | np.ndarray, salt: str, prefix: str, digits: int = 8) -> np.ndarray:
    """Stable pseudonyms ``"<prefix> <hex>"``: the same value and salt always give the same alias.

    Vectorised keyed SipHash (``pd.util.hash_array``) of the value text; ``digits`` hex digits (≤ 16).
    Missing values stay missing.
    """
    s = pd.Series(values, dtype="string")
    key = (salt * 2 + "0" * 16)[:16]
    h = pd.util.hash_array(s.fillna("").to_numpy(dtype=object), hash_key=key)
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nib = (h[:, None] >> shifts[None, :]) & np.uint64(0xF)
    hexes = np.ascontiguousarray(_HEX[nib.astype(np.int64)]).view(f"<U{digits}").ravel()
    out = np.char.add(prefix + " ", hexes).astype(object)
    out[s.isna().to_numpy()] = None
    return out


#: name column → the id column whose alias it takes (so a person or company keeps one alias everywhere)
_NAME_ID = {"name": ("manager_id", "account_id"), "manager_name": ("manager_id",), "from_name": ("from_manager",),
            "to_name": ("to_manager",), "owner_name": ("owner_id",), "account_name": ("account_id",)}
#: free-text columns in which known manager names and ids are replaced
_TEXT_COLS = ("reason", "note", "notes", "comment")


_FAMILY = re.compile(r"(account family \()([^)]*)(\))")


def _pseudo_frame(df: pd.DataFrame, salt: str, manager_names: dict[str, str],
                  companies: dict[str, str] | None = None) -> pd.DataFrame:
    """``df`` with ids, names and the managers' names in its text columns aliased; the company a move reason
    names as the account family's lead ("Follows its account family (Scotfind) …") takes that account's alias
    from ``companies`` (company name → alias) where known, else an alias of its own."""
    companies = companies or {}

    def family(m: re.Match) -> str:
        lead = m.group(2)
        return m.group(1) + (companies.get(lead) or str(aliases([lead], salt, "Account", 12)[0])) + m.group(3)

    df = df.copy()
    for c in df.columns:
        if c in _ACCOUNT_COLS:
            df[c] = pd.array(aliases(df[c], salt, "Account", 12), dtype="string")
        elif c in _MANAGER_COLS:
            df[c] = pd.array(aliases(df[c], salt, "Manager"), dtype="string")
    for c in df.columns:
        if not isinstance(c, str) or not (c == "name" or c.endswith("_name")):
            continue
        ref = next((i for i in _NAME_ID.get(c, ()) if i in df.columns), None)
        # an aliased id column is the alias; a name column without one takes the alias of the manager of that
        # name (so a hire reads like every other manager), else an alias of its own text
        df[c] = df[ref] if ref is not None else _name_aliases(df[c], salt, manager_names)
    texts = [c for c in _TEXT_COLS if c in df.columns]
    names = sorted((n for n in manager_names if n), key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(n) for n in names)) if names else None
    for c in texts:
        col = df[c].astype("string")
        # replace on the distinct texts only: reasons repeat, and the regex is the slow part
        uniq = pd.Series(col.dropna().unique(), dtype="string")
        new = uniq if pattern is None else uniq.str.replace(pattern, lambda m: manager_names[m.group(0)], regex=True)
        new = new.str.replace(_FAMILY, family, regex=True)
        df[c] = col.map(dict(zip(uniq, new))).astype("string")
    return df


def _name_aliases(names: pd.Series, salt: str, manager_names: dict[str, str]) -> pd.Series:
    own = pd.Series(aliases(names, salt, "Manager"), index=names.index, dtype="string")
    return names.astype("string").map(manager_names).astype("string").fillna(own)


def _replace_names(text: str, manager_names: dict[str, str], parts: dict[str, str] | None = None) -> str:
    """``text`` with every known name or id replaced by its alias; with ``parts`` also each first or last name
    that stands alone as a word ("Peters leaves")."""
    if not text or not (manager_names or parts):
        return text
    parts = parts or {}
    full = [re.escape(n) for n in sorted((n for n in manager_names if n), key=len, reverse=True)]
    alone = [rf"\b{re.escape(p)}\b" for p in sorted(parts, key=len, reverse=True)]
    return re.sub("|".join(full + alone), lambda m: manager_names.get(m.group(0)) or parts[m.group(0)], text)


def _name_parts(manager_names: dict[str, str], salt: str, prefer: set[str] = frozenset()) -> dict[str, str]:
    """The first and last names of the managers as words of their own ("S1 ±10 %, Peters leaves"): each takes its
    manager's alias; when managers share it, the alias of the one among ``prefer`` (the aliases of the managers
    the scenario's events name: "Peters leaves" means the Peters who leaves), else an alias of its own. Only
    capitalised words of three letters or more count, so that "van", "de" or an initial stay as they are."""
    owners: dict[str, set[str]] = {}
    for real, alias in manager_names.items():
        if len(real.split()) < 2:
            continue  # ids and one-word names are replaced whole already
        for part in re.findall(r"[^\W\d_]{3,}", real):
            if part[0].isupper():
                owners.setdefault(part, set()).add(alias)
    out = {}
    for part, owner in owners.items():
        named = owner & set(prefer)
        out[part] = (next(iter(owner)) if len(owner) == 1 else next(iter(named)) if len(named) == 1
                     else str(aliases([part], salt, "Manager")[0]))
    return out


def _event_aliases(params: dict, manager_names: dict[str, str]) -> set[str]:
    """The aliases of the managers a scenario's what-if events name (a leaver, an override's manager, a hire)."""
    events = ((params or {}).get("allocate") or {}).get("events") or []
    named = set()
    for ev in events if isinstance(events, list) else []:
        if isinstance(ev, dict):
            for key in ("manager_id", "name"):
                if isinstance(ev.get(key), str) and ev[key] in manager_names:
                    named.add(manager_names[ev[key]])
    return named


def _manager_aliases(loads: pd.DataFrame, salt: str) -> dict[str, str]:
    """Real manager id or name → its alias (``Manager …``), from a plan's manager loads (hires included)."""
    table: dict[str, str] = {}
    if {"manager_id", "name"} <= set(loads.columns):
        for real_id, real_name, alias in zip(loads["manager_id"], loads["name"],
                                             aliases(loads["manager_id"], salt, "Manager")):
            if isinstance(real_name, str) and real_name:
                table[real_name] = alias
            if isinstance(real_id, str) and real_id:
                table[real_id] = alias
    return table


def _company_aliases(moves: pd.DataFrame, salt: str) -> dict[str, str]:
    """Company name → its account's alias (``Account …``), from a move list that carries names."""
    if not {"account_id", "account_name"} <= set(moves.columns):
        return {}
    named = moves[["account_id", "account_name"]].dropna()
    return {n: a for n, a in zip(named["account_name"], aliases(named["account_id"], salt, "Account", 12))
            if isinstance(n, str) and n.strip()}


def pseudonymise_text(text: str, loads: pd.DataFrame, salt: str, params: dict | None = None) -> str:
    """A scenario's name or other free text with its managers' names and ids replaced by their aliases, as
    ``pseudonymise`` does (a first or last name alone too: "S1, Peters leaves" → "S1, Manager 2d67a288 leaves").

    ``loads`` is the scenario's ``Assignment.loads`` (``manager_id``, ``name``) and ``params`` its parameters
    (whose events say which of two managers a shared surname means): what a listing needs without loading the
    whole scenario (``ScenarioStore.load_part``, ``ScenarioStore.load_params``).
    """
    table = _manager_aliases(loads, salt)
    return _replace_names(text, table, _name_parts(table, salt, _event_aliases(params or {}, table)))


def _pseudo_params(obj, salt: str, manager_names: dict[str, str]):
    """Parameters with the ids and names they carry aliased like the frames: locks (``account_id``,
    ``manager_id``) and events (a leaver, an override, a hire's name) name real accounts and people."""
    if isinstance(obj, list):
        return [_pseudo_params(v, salt, manager_names) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, v in obj.items():
        if isinstance(v, (dict, list)):
            out[key] = _pseudo_params(v, salt, manager_names)
        elif key in _ACCOUNT_COLS and v is not None:
            out[key] = str(aliases([v], salt, "Account", 12)[0])
        elif key in _MANAGER_COLS and v is not None:
            out[key] = str(aliases([v], salt, "Manager")[0])
        elif (key == "name" or (isinstance(key, str) and key.endswith("_name"))) and isinstance(v, str) and v:
            ref = next((i for i in _NAME_ID.get(key, ()) if obj.get(i) is not None), None)
            if ref is not None:  # the alias of the id beside it, as in the frames
                out[key] = str(aliases([obj[ref]], salt, "Account" if ref in _ACCOUNT_COLS else "Manager",
                                       12 if ref in _ACCOUNT_COLS else 8)[0])
            else:  # a hire's name: the alias the plan's loads give that manager, so it reads like the others
                out[key] = manager_names.get(v) or str(aliases([v], salt, "Manager")[0])
        elif key in _TEXT_COLS and isinstance(v, str):
            out[key] = _replace_names(v, manager_names)
        else:
            out[key] = v
    return out


def pseudonymise(scenario: Scenario, salt: str) -> Scenario:
    """A copy of ``scenario`` with account and manager ids/names replaced by stable aliases.

    Aliases depend only on the original value and ``salt`` (use ``ScenarioStore.alias_salt``), so the same
    manager carries the same alias in every scenario of a store. Manager names inside move reasons and the
    description are replaced too, the ids and names in locks and events (the parameters and each result's
    ``params``) are aliased, the author becomes an alias, and rejected values in the import report are blanked.
    The scenario's name and description, free text people wrote, lose the managers' and companies' names and a
    manager's first or last name standing alone ("Peters leaves"); a hire carries a ``Manager …`` alias like
    every other manager, the one the plan's loads give it; a company name in a move reason's "account family
    (…)" becomes an alias of its own.
    """
    asg = scenario.assignment
    manager_names = _manager_aliases(asg.loads, salt) if asg is not None else {}
    # companies too, for the few texts people wrote (a move list's reasons name managers, not companies)
    every_name = {**(_company_aliases(asg.moves, salt) if asg is not None else {}), **manager_names}
    parts = _name_parts(manager_names, salt, _event_aliases(scenario.params, manager_names))
    out = copy.copy(scenario)
    out.params = _pseudo_params(scenario.params, salt, manager_names)
    # free text people wrote: a name or a surname alone ("S1 ±10 %, Peters leaves, hire") is replaced too
    out.name = _replace_names(scenario.name, every_name, parts)
    out.description = _replace_names(scenario.description, every_name, parts)
    out.author = str(aliases([scenario.author], salt, "Author")[0]) if scenario.author else ""
    for attr in _RESULT_PARTS:
        obj = getattr(scenario, attr)
        if obj is None:
            continue
        changes = {f.name: _pseudo_frame(getattr(obj, f.name), salt, manager_names, every_name)
                   for f in dataclasses.fields(obj) if isinstance(getattr(obj, f.name), pd.DataFrame)}
        if isinstance(getattr(obj, "params", None), dict):
            changes["params"] = _pseudo_params(obj.params, salt, manager_names)
        setattr(out, attr, dataclasses.replace(obj, **changes))
    if scenario.import_report:
        rep = copy.deepcopy(scenario.import_report)
        for r in rep.get("rejections") or []:
            r["value"] = "…"
        for key in ("warnings", "notes"):  # they can name owners ("owner Lena Peters is not in the managers table")
            if isinstance(rep.get(key), list):
                rep[key] = [_replace_names(x, every_name, parts) if isinstance(x, str) else x for x in rep[key]]
        out.import_report = rep
    return out


def default_store_path() -> Path:
    """``$WORKBENCH_STORE`` if set, else ``workspace/scenarios.sqlite`` under the working directory."""
    env = os.environ.get("WORKBENCH_STORE")
    return Path(env) if env else DEFAULT_STORE
