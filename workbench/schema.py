"""The canonical schema: the columns, types, units and checks of accounts, managers and revenue history.

Import, the sample-data generator, the tests and the README all read this module; it is the truth.
Validation is vectorised: every check runs on whole columns and reports each broken row with its row
number, column, value and rule — a bad row is rejected with a reason, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "Column",
    "ACCOUNTS",
    "MANAGERS",
    "HISTORY",
    "TABLES",
    "Validation",
    "validate",
    "empty_frame",
]


@dataclass(frozen=True)
class Column:
    """One canonical column.

    Parameters
    ----------
    name : canonical column name.
    kind : ``"id"`` (string identifier), ``"str"``, ``"int"``, ``"float"``, ``"date"``.
    required : the column must be present in the table.
    nullable : a missing value is allowed (otherwise the row is rejected).
    unique : values must be unique within the table.
    min : smallest allowed value for numbers (inclusive).
    above : numbers must be greater than this (exclusive), e.g. 0 for a capacity.
    unit : unit shown in docs and UI.
    description : one line for the README and tooltips.
    sparse : mostly empty by nature (e.g. a parent id), so a high missing share is no warning.
    """

    name: str
    kind: str
    required: bool = False
    nullable: bool = True
    unique: bool = False
    min: float | None = None
    above: float | None = None
    unit: str = ""
    description: str = ""
    sparse: bool = False


ACCOUNTS: tuple[Column, ...] = (
    Column("account_id", "id", required=True, nullable=False, unique=True,
           description="Unique account id (kept as text, as it came from the CRM)."),
    Column("name", "str", required=True, nullable=False, description="Company name."),
    Column("parent_id", "id", sparse=True,
           description="account_id of the parent company (account family); empty for none."),
    Column("country", "str", description="Country, ISO-3166 alpha-2 (DE, AT, CH, ...)."),
    Column("region", "str", description="Sales region (for DACH books: the Bundesland / canton / state)."),
    Column("city", "str", description="City."),
    Column("postcode", "str", description="Postcode, kept as text (leading zeros matter)."),
    Column("industry", "str", description="Industry label."),
    Column("employees", "int", min=0, unit="people", description="Number of employees."),
    Column("revenue_12m", "float", required=True, nullable=False, min=0.0, unit="currency/year",
           description="Revenue with us over the last 12 months, in the book's currency."),
    Column("potential", "float", min=0.0, unit="currency/year",
           description="Estimated reachable annual revenue with this account."),
    Column("service_need", "float", min=0.0, unit="hours/year",
           description="Service effort the account needs (hours per year)."),
    Column("owner_id", "id", description="manager_id of the current owner; empty when unowned."),
    Column("source_id", "id", description="The account's id in the source CRM (for move files back)."),
)

MANAGERS: tuple[Column, ...] = (
    Column("manager_id", "id", required=True, nullable=False, unique=True, description="Unique manager id."),
    Column("name", "str", required=True, nullable=False, description="Manager name."),
    Column("role", "str", description="Role: Key Account Manager, Account Manager, Inside Sales, ..."),
    Column("region", "str", description="Home region of the manager."),
    Column("languages", "str", description="Languages spoken, ISO-639-1 codes separated by ';' (de;en)."),
    Column("capacity_hours", "float", required=True, nullable=False, above=0.0, unit="hours/year",
           description="Hours per year available for account work."),
    Column("cost", "float", min=0.0, unit="currency/year", description="Fully loaded cost per year."),
    Column("source_id", "id", description="The manager's (user's) id in the source CRM."),
)

HISTORY: tuple[Column, ...] = (
    Column("account_id", "id", required=True, nullable=False, description="Account the revenue belongs to."),
    Column("period", "date", required=True, nullable=False, description="Month (first day of the month)."),
    Column("revenue", "float", required=True, nullable=False, unit="currency/month",
           description="Revenue booked in that month (may be negative for credit notes)."),
)

TABLES: dict[str, tuple[Column, ...]] = {"accounts": ACCOUNTS, "managers": MANAGERS, "history": HISTORY}

_PANDAS_DTYPE = {"id": "string[pyarrow]", "str": "string[pyarrow]", "int": "Int64", "float": "float64",
                 "date": "datetime64[ns]"}


def columns(table: str) -> tuple[Column, ...]:
    """The canonical columns of ``table`` ("accounts", "managers" or "history")."""
    try:
        return TABLES[table]
    except KeyError:
        raise ValueError(f"unknown table {table!r}; expected one of {sorted(TABLES)}") from None


def empty_frame(table: str) -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes of ``table``."""
    return pd.DataFrame({c.name: pd.Series(dtype=_PANDAS_DTYPE[c.kind]) for c in columns(table)})


@dataclass
class Validation:
    """Result of validating one table.

    ``accepted`` holds the typed, canonical rows that passed; ``rejections`` has one row per broken rule
    (``file``, ``row``, ``column``, ``value``, ``rule``) where ``row`` is the 1-based data row number in the
    source (header not counted). ``rows_read == len(accepted) + rows_rejected`` always holds.
    """

    table: str
    accepted: pd.DataFrame
    rejections: pd.DataFrame
    rows_read: int
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return int(self.rejections["row"].nunique()) if len(self.rejections) else 0

    @property
    def rows_accepted(self) -> int:
        return len(self.accepted)


def _as_text(s: pd.Series) -> pd.Series:
    """Text column with blanks as missing; numbers that came as floats (12.0) lose the '.0'.

    Arrow-backed strings keep strip/compare vectorised in Arrow (Python-object strings cost seconds at 1M rows).
    """
    if pd.api.types.is_float_dtype(s):
        arr = s.to_numpy(dtype="float64")
        whole = np.isfinite(arr) & (np.mod(arr, 1) == 0) & (np.abs(arr) < 2**53)
        out = s.astype("string[pyarrow]")
        out[whole] = arr[whole].astype("int64").astype(str)
    else:
        out = s.astype("string[pyarrow]")
    out = out.str.strip()
    return out.mask(out == "", pd.NA)


def _shown(values: pd.Series) -> np.ndarray:
    """Values as a person wrote them, for a rejection: whole numbers without '.0' (-5000, not -5000.0)."""
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype="float64")
        whole = np.isfinite(arr) & (np.mod(arr, 1) == 0) & (np.abs(arr) < 2**53)
        out = np.where(whole, np.where(whole, arr, 0).astype(np.int64).astype(str), arr.astype(str)).astype(object)
        out[np.isnan(arr)] = ""
        return out
    return values.astype("string").fillna("").to_numpy()


def _as_number(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    return pd.to_numeric(s.astype("string[pyarrow]").str.strip().replace("", pd.NA), errors="coerce").astype("float64")


def _parse_dates(txt: pd.Series) -> pd.Series:
    txt = txt.str.strip().str.replace(r"(\.\d+)?(Z|[+-]\d\d:?\d\d)$", "", regex=True)
    out = pd.to_datetime(txt, format="ISO8601", errors="coerce")
    rest = out.isna() & txt.notna()
    if rest.any():
        out = out.where(~rest, pd.to_datetime(txt.where(rest), format="%d.%m.%Y", errors="coerce"))
    return out.astype("datetime64[ns]")


def _as_date(s: pd.Series) -> pd.Series:
    """Dates from ISO (with or without time, with ``.000Z``) or German ``dd.mm.yyyy``; unparseable → NaT.

    A month column has few distinct values in millions of rows: each distinct text is parsed once.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert(None)
        return out.astype("datetime64[ns]")
    codes, uniques = pd.factorize(s.astype("string[pyarrow]"), use_na_sentinel=True)
    parsed = _parse_dates(pd.Series(uniques, dtype="string")).to_numpy()
    values = np.where(codes >= 0, parsed[np.maximum(codes, 0)], np.datetime64("NaT"))
    return pd.Series(values, index=s.index, dtype="datetime64[ns]")


def validate(df: pd.DataFrame, table: str, file: str = "", row_numbers: np.ndarray | None = None) -> Validation:
    """Type and check ``df`` against the canonical ``table``; split it into accepted rows and rejections.

    Parameters
    ----------
    df : frame whose columns already carry canonical names (mapping happens before, in ``workbench.io``).
        Extra columns are kept as they came.
    table : "accounts", "managers" or "history".
    file : source file name, written into every rejection.
    row_numbers : 1-based source row number of each row of ``df``; defaults to 1..n.

    Raises
    ------
    ValueError : a required column is missing altogether (nothing sensible can be accepted).
    """
    cols = columns(table)
    n = len(df)
    rows = np.arange(1, n + 1) if row_numbers is None else np.asarray(row_numbers)
    missing = [c.name for c in cols if c.required and c.name not in df.columns]
    if missing:
        where = f" in {file}" if file else ""
        raise ValueError(f"required column(s) {', '.join(missing)} missing{where}; found: {', '.join(map(str, df.columns))}")

    out = pd.DataFrame(index=df.index)
    problems: list[pd.DataFrame] = []

    def flag(mask: np.ndarray, col: str, values: pd.Series, rule: str) -> None:
        if mask.any():
            problems.append(pd.DataFrame({
                "file": file, "row": rows[mask], "column": col, "value": _shown(values[mask]), "rule": rule,
            }))

    for c in cols:
        if c.name not in df.columns:
            out[c.name] = pd.Series(index=df.index, dtype=_PANDAS_DTYPE[c.kind])
            continue
        raw = df[c.name]
        if c.kind in ("id", "str"):
            val = _as_text(raw)
            isna = val.isna().to_numpy()
        elif c.kind in ("int", "float"):
            val = _as_number(raw)
            raw_blank = _as_text(raw).isna().to_numpy() if not pd.api.types.is_numeric_dtype(raw) else raw.isna().to_numpy()
            isna = val.isna().to_numpy()
            flag(isna & ~raw_blank, c.name, raw, f"not a number ({c.kind})")
            flag(~np.isfinite(val.fillna(0).to_numpy()), c.name, raw, "not a finite number")
            if c.min is not None:
                flag((val.fillna(c.min) < c.min).to_numpy(), c.name, raw,
                     f"must be at least {c.min:g}" if c.min > 0 else "must not be negative")
            if c.above is not None:
                flag((val.fillna(np.inf) <= c.above).to_numpy(), c.name, raw, f"must be greater than {c.above:g}")
            if c.kind == "int":
                frac = (val.fillna(0) % 1 != 0).to_numpy()
                flag(frac, c.name, raw, "not a whole number")
                val = val.where(~frac).round().astype("Int64")
        else:  # date
            val = _as_date(raw)
            isna = val.isna().to_numpy()
            raw_blank = _as_text(raw).isna().to_numpy()
            flag(isna & ~raw_blank, c.name, raw, "not a date")
            val = val.dt.to_period("M").dt.to_timestamp()
        if not c.nullable:
            blank = isna if c.kind in ("id", "str") else raw_blank
            flag(blank, c.name, raw, "required value is missing")
        out[c.name] = val
    extra = [c for c in df.columns if c not in out.columns]
    for c in extra:
        out[c] = df[c]

    for c in cols:
        if c.unique and c.name in df.columns:
            dup = out[c.name].duplicated(keep="first").to_numpy() & out[c.name].notna().to_numpy()
            flag(dup, c.name, out[c.name], "duplicate id (first occurrence kept)")

    rejections = (pd.concat(problems, ignore_index=True) if problems
                  else pd.DataFrame({"file": pd.Series(dtype="string"), "row": pd.Series(dtype="int64"),
                                     "column": pd.Series(dtype="string"), "value": pd.Series(dtype="string"),
                                     "rule": pd.Series(dtype="string")}))
    bad_rows = np.isin(rows, rejections["row"].to_numpy()) if len(rejections) else np.zeros(n, bool)
    accepted = out.loc[~bad_rows].reset_index(drop=True)
    rejections = rejections.sort_values(["row", "column"], kind="stable").reset_index(drop=True)

    warnings = []
    for c in cols:
        if c.name in df.columns and c.nullable and not c.sparse and len(accepted):
            n_missing = int(accepted[c.name].isna().sum())
            if n_missing >= 0.5 * len(accepted):
                # a part is never rounded up to "100%": 421 of 423 reads ">99%"
                pct = ("100%" if n_missing == len(accepted) else ">99%" if n_missing > 0.99 * len(accepted)
                       else f"{n_missing / len(accepted):.0%}")
                warnings.append(f"{c.name} missing for {pct} of rows" + (f" in {file}" if file else ""))
    return Validation(table=table, accepted=accepted, rejections=rejections, rows_read=n, warnings=warnings)


def markdown_table() -> str:
    """The schema as Markdown tables, for the README (``python -m workbench schema``)."""
    lines = []
    for table, cols in TABLES.items():
        lines.append(f"**{table}**\n\n| column | type | required | unit | meaning |\n|---|---|---|---|---|")
        for c in cols:
            req = "yes" if c.required else ""
            lines.append(f"| `{c.name}` | {c.kind} | {req} | {c.unit} | {c.description} |")
        lines.append("")
    return "\n".join(lines)
