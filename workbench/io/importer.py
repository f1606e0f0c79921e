"""``import_book``: CRM export files in → a validated canonical :class:`~workbench.book.AccountBook` with a full report.

Steps per accounts file: detect (encoding, delimiter, decimal, preset) → map columns → derive what is missing
(ids, names, owners from a pipeline, managers from owners) → harmonise countries and industries → resolve
account families → validate. Every row read is either accepted or rejected with a reason; every guess
(preset, fuzzy header match, default capacity, derived owner) is written into the report.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema
from ..book import AccountBook, ImportReport, counted, cycles_warning, parent_cycles
from .errors import ImportFileError
from .history import history_frame
from .owners import derive_owners, managers_from_owners, map_managers, won_revenue
from .presets import COMPANY_REVENUE, ColumnMapping, build_mapping, load_mapping, normalise_header
from .readers import RawTable, Source, read_table, sniff

__all__ = ["import_book", "import_accounts", "read_mapped", "FileInput", "rejections_csv", "detect_currency",
           "DEFAULT_CURRENCY"]

#: A file to import: a path, or ``(file name, bytes)`` for an upload.
FileInput = str | Path | tuple[str, bytes]
Progress = Callable[[float, str], None]


def _split(f: FileInput) -> tuple[Source, str]:
    if isinstance(f, tuple):
        name, data = f
        return bytes(data), str(name)
    return f, Path(f).name


def read_mapped(accounts: FileInput, preset: str = "auto", mapping: dict | ColumnMapping | str | Path | None = None,
                sheet: str | int | None = None) -> tuple[RawTable, ColumnMapping]:
    """Read an accounts file with the columns the mapping says are numbers parsed in the file's locale.

    ``mapping`` may be a dict (YAML shape), a :class:`ColumnMapping` or the path of a YAML mapping file.
    """
    src, name = _split(accounts)
    if isinstance(mapping, (str, Path)):
        mapping = load_mapping(mapping)
    sn = sniff(src, name=name, sheet=sheet)
    cmap = build_mapping(sn.header, preset=preset, override=mapping)
    raw = sn.raw if sn.raw is not None else read_table(src, name=name, sheet=sheet,
                                                       numeric=cmap.numeric_sources(), sniffed=sn)
    if raw.detected.get("format") != "csv":
        # Excel and Parquet cells were read as they are; numbers in text cells follow the point locale
        from .readers import parse_numbers

        for col in cmap.numeric_sources() & set(raw.frame.columns):
            raw.frame[col] = parse_numbers(raw.frame[col])
    found = detect_currency(raw.frame, sn.sample, cmap)
    if found is not None:
        raw.detected["currency"], raw.detected["currency_from"], raw.detected["currency_counts"] = found
    return raw, cmap


#: The book's currency when the user gives none and the file shows none (named in the report as a default).
DEFAULT_CURRENCY = "EUR"
#: Headers of a per-row currency column (Salesforce multi-currency ``CurrencyIsoCode``, Dynamics ``Currency``).
_CURRENCY_HEADERS = {"currencyisocode", "currency", "currencycode", "isocurrencycode", "waehrung", "wahrung",
                     "transactioncurrencyid", "dealcurrencycode"}
#: Currency names CRMs write instead of codes (Dynamics shows the currency record's name).
_CURRENCY_NAMES = {"EURO": "EUR", "US DOLLAR": "USD", "DOLLAR": "USD", "POUND STERLING": "GBP", "BRITISH POUND": "GBP",
                   "SWISS FRANC": "CHF", "SCHWEIZER FRANKEN": "CHF", "FRANKEN": "CHF"}
#: Signs that name one currency; ``$`` is read as US dollars (the only dollar the workbench assumes).
_CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP"}


def detect_currency(frame: pd.DataFrame, sample: pd.DataFrame, cmap: ColumnMapping) -> tuple[str, str, dict] | None:
    """``(code, where it was found, {code: rows})`` from the file itself, or ``None``.

    Evidence, in order: a currency column (``CurrencyIsoCode``, ``Currency``, ``Währung``) holding ISO codes or
    currency names, counted over all rows; else a currency sign (€, $, £) on most revenue cells of the first rows
    read as text. A country never decides the currency.
    """
    for h in frame.columns:
        if normalise_header(h) not in _CURRENCY_HEADERS:
            continue
        # a million rows hold a handful of distinct values: count first, then read each distinct value once
        raw_counts = frame[h].value_counts(dropna=True)
        codes = pd.Series(raw_counts.index.astype(str), dtype="string").str.strip().str.upper()
        codes = codes.map(lambda c: _CURRENCY_NAMES.get(c, c))
        counts = (pd.Series(raw_counts.to_numpy(), index=codes.to_numpy())
                  [codes.str.fullmatch(r"[A-Z]{3}").fillna(False).to_numpy()]
                  .groupby(level=0, sort=False).sum().sort_values(ascending=False, kind="stable"))
        if len(counts):
            return str(counts.index[0]), f"column '{h}'", {str(k): int(v) for k, v in counts.items()}
    cols = [c for c in cmap.numeric_sources() if c in sample.columns]
    if not cols:
        return None
    cells = pd.Series(sample[cols].to_numpy().ravel()).dropna().astype(str).str.strip()
    cells = cells[cells.str.contains(r"\d", regex=True)]
    if cells.empty:
        return None
    ends = cells.str.extract(r"^[-+]?\s*([€$£])|([€$£])$")
    signs = ends[0].where(ends[0].notna(), ends[1]).dropna()
    kinds = signs.map(_CURRENCY_SIGNS).value_counts()
    if len(kinds) == 1 and len(signs) >= 0.5 * len(cells):
        sign = signs.iloc[0]
        return str(kinds.index[0]), f"the {sign} sign on the revenue figures", {str(kinds.index[0]): int(kinds.iloc[0])}
    return None


def _apply_mapping(raw: RawTable, cmap: ColumnMapping, notes: list[str], warnings: list[str]) -> pd.DataFrame:
    df = raw.frame
    out = pd.DataFrame(index=df.index)
    for target, src in cmap.columns.items():
        if isinstance(src, list):
            parts = [pd.to_numeric(df[s], errors="coerce") for s in src]
            out[target] = pd.concat(parts, axis=1).sum(axis=1, min_count=1)
            notes.append(f"{raw.file}: {target} = sum of {', '.join(src)}")
        else:
            out[target] = df[src]
    for target, table in cmap.values.items():
        if target in out and table:
            txt = out[target].astype("string").str.strip()
            mapped = txt.map(table)
            n = int(mapped.notna().sum())
            if n:
                out[target] = mapped.fillna(txt)
                notes.append(f"{raw.file}: {n:,} {target} values translated by the "
                             f"{'mapping file' if cmap.how.get(target) == 'mapping file' else cmap.preset} table")
    for target, val in cmap.constants.items():
        out[target] = val
    used = cmap.sources()
    for h in df.columns:
        if h in used:
            continue
        name = h if h not in out.columns and h not in {c.name for c in schema.ACCOUNTS} else f"{h}_source"
        out[name] = df[h]
    return out


#: What a book without revenue with us cannot do, said in every warning about it.
_NO_REVENUE_EFFECT = ("so revenue KPIs, continuity costs and revenue-based segments are zero and mean nothing; map "
                      "the column that holds revenue with us (a mapping file on the command line, the 'Revenue 12 m' "
                      "field in the app) or add a pipeline file")


def _share(n: int, total: int) -> str:
    """``n`` of ``total`` as a percentage that never rounds a part up to 100 % or down to 0 %."""
    if total <= 0 or n == total:
        return "100%"
    pct = 100.0 * n / total
    if pct > 99:
        return ">99%"
    if 0 < pct < 1:
        return "<1%"
    return f"{pct:.0f}%"


def _fill_revenue(df: pd.DataFrame, raw: RawTable, src: str | None, company_src: str | None,
                  warnings: list[str]) -> None:
    """Missing revenue → 0 with a warning naming rows (a CRM's revenue field is often sparse; text stays for
    rejection)."""
    file = raw.file
    if "revenue_12m" not in df:
        df["revenue_12m"] = 0.0
        company = (f" ('{company_src}' is the customer's own annual revenue, a size signal kept as "
                   f"{COMPANY_REVENUE})" if company_src else "")
        warnings.append(f"{file}: no column with revenue with us was found{company}; revenue_12m is 0 for every "
                        f"account, {_NO_REVENUE_EFFECT}.")
        return
    col = df["revenue_12m"]
    blank = col.isna()
    if col.dtype == object:
        blank = blank | col.astype("string").str.strip().eq("").fillna(True)
    if blank.any():
        n = int(blank.sum())
        label = f"'{src}'" if src else "revenue_12m"
        # a few empty cells are likely slips worth finding; a mostly empty column is the CRM's habit
        where = f": {_rows_named(np.asarray(raw.row_numbers)[blank.to_numpy(bool)], 5)}" if n <= 10 else ""
        warnings.append(f"{file}: {label} is empty in {n:,} of {len(df):,} rows ({_share(n, len(df))}){where}; "
                        f"{'those rows count' if n < len(df) else 'every row counts'} as 0 revenue.")
        df["revenue_12m"] = col.astype(object).where(~blank, 0.0)


def _company_revenue(df: pd.DataFrame, raw: RawTable, src: str, notes: list[str], warnings: list[str]) -> None:
    """The customer's own annual revenue as numbers (an extra column): cells that are no number are left empty
    with a warning naming rows, since the column is a size signal and not worth rejecting an account over."""
    col = df[COMPANY_REVENUE]
    num = pd.to_numeric(col, errors="coerce").astype("float64")
    text = col.astype("string").str.strip()
    bad = (num.isna() & text.notna() & text.ne("")).to_numpy()
    if bad.any():
        rows = np.asarray(raw.row_numbers)[bad]
        ex = ", ".join(f"row {r} '{v}'" for r, v in zip(rows[:3], text[bad].head(3)))
        warnings.append(f"{raw.file}: {int(bad.sum()):,} values of '{src}' are not numbers ({ex}"
                        f"{', …' if bad.sum() > 3 else ''}); they are left empty.")
    df[COMPANY_REVENUE] = num
    notes.append(f"{raw.file}: '{src}' is the customer company's own annual revenue (its size), not revenue with "
                 f"us; it is kept as {COMPANY_REVENUE}.")


def _derive_source_id(df: pd.DataFrame, file: str, id_src: object, generated: bool, notes: list[str]) -> None:
    """``source_id`` for a file without a CRM id column: the account id, which a CRM's own export (Salesforce
    ``Id``, HubSpot ``Record ID``) holds anyway; none for generated ids, which no CRM knows (their moves then go to
    ``needs_source_ids.csv`` instead of into a file the CRM would reject)."""
    if generated:
        df["source_id"] = pd.Series(pd.NA, index=df.index, dtype="string")
        notes.append(f"{file}: no CRM id column and no account id, so the CRM move files cannot name these accounts; "
                     "their moves are listed in needs_source_ids.csv")
        return
    df["source_id"] = df["account_id"]
    notes.append(f"{file}: no separate CRM id column (source_id, CRM ID, External ID); the account id "
                 f"('{id_src}') is taken as the CRM's id in the move files")


def import_accounts(raw: RawTable, cmap: ColumnMapping, report: ImportReport, harmonise: bool = True,
                    pipeline: RawTable | None = None) -> tuple[pd.DataFrame, pd.Series | None, pd.DataFrame | None]:
    """Map, derive, harmonise and validate one accounts file; add it to ``report``.

    Returns
    -------
    (accepted canonical accounts, owner names per account_id or None, history derived from the pipeline or None)
    """
    from ..harmonize import normalise_countries, normalise_industries, resolve_parent_names

    notes, warnings = report.notes, report.warnings
    warnings.extend(raw.warnings)
    if pipeline is not None:
        warnings.extend(pipeline.warnings)
        if len(pipeline.bad_rows):  # the pipeline is no table of the book: its unreadable rows are said here
            bad = pipeline.bad_rows
            ex = "; ".join(f"row {r}: {rule}" for r, rule in zip(bad["row"].head(3), bad["rule"].head(3)))
            warnings.append(f"{pipeline.file}: {len(bad):,} row{'s' if len(bad) > 1 else ''} could not be read "
                            f"and {'are' if len(bad) > 1 else 'is'} not used ({ex}{'; …' if len(bad) > 3 else ''})")
    df = _apply_mapping(raw, cmap, notes, warnings)
    company_src = cmap.columns.get(COMPANY_REVENUE)
    if COMPANY_REVENUE in df and isinstance(company_src, str):
        _company_revenue(df, raw, company_src, notes, warnings)
    n = len(df)
    generated = False
    if "account_id" not in df and "source_id" in df:
        df.insert(0, "account_id", df["source_id"])
        notes.append(f"{raw.file}: no account id column; the CRM id ('{cmap.columns['source_id']}') is used as "
                     "account_id")
    elif "account_id" not in df:
        width = max(5, len(str(n)))
        df.insert(0, "account_id", [f"A{i:0{width}d}" for i in range(1, n + 1)])
        notes.append(f"{raw.file}: no id column; account ids A{1:0{width}d}…A{n:0{width}d} generated in file order")
        generated = True
    if "name" not in df:
        df["name"] = "Account " + df["account_id"].astype("string")
        notes.append(f"{raw.file}: no name column; names generated from the ids")
    if "source_id" not in df:
        _derive_source_id(df, raw.file, cmap.columns.get("account_id"), generated, notes)
    owner_names = None
    if "owner_name" in df:
        if "owner_id" not in df:
            df["owner_id"] = df["owner_name"]
            notes.append(f"{raw.file}: owners given by name ('{cmap.columns['owner_name']}'); "
                         "the name is used as manager id")
        owner_names = df.pop("owner_name")
    hist = None
    if pipeline is not None:
        key = _account_key(df)
        owner, facts = derive_owners(pipeline, key)
        if "owner_id" in df and df["owner_id"].notna().any():
            fill = df["owner_id"].isna()
            df.loc[fill, "owner_id"] = df.loc[fill, "account_id"].map(owner)
            notes.append(f"{pipeline.file}: owners filled for {int(fill.sum())} accounts without one; {facts['rule']}"
                         if fill.any() else f"{pipeline.file}: every account already has an owner; the pipeline "
                         "gives revenue only")
        else:
            df["owner_id"] = df["account_id"].astype("string").map(owner)
            notes.append(f"{pipeline.file}: owner derived per account from {facts['rows_used']:,} pipeline rows "
                         f"of {facts['agents']} agents; {facts['rule']} (window ends {facts['window_end']}: "
                         f"{facts['from_recent_won']} accounts by recent won value, {facts['from_all_won']} by all "
                         f"won value, {facts['from_count']} by opportunity count)")
        if facts["unmatched_rows"]:
            warnings.append(f"{pipeline.file}: {facts['unmatched_rows']:,} of {facts['rows_read']:,} rows name no "
                            "known account (or no agent) and were not used")
        rev, hist = won_revenue(pipeline, key)  # same key object: the parsed pipeline is reused
        if "revenue_12m" in df:
            kept = COMPANY_REVENUE if COMPANY_REVENUE not in df else "revenue_12m_source"
            df[kept] = df.pop("revenue_12m")
            notes.append(f"{raw.file}: the file's revenue column ('{cmap.columns.get('revenue_12m')}') is kept as "
                         f"{kept} (company size)")
        df["revenue_12m"] = df["account_id"].astype("string").map(rev).fillna(0.0).astype("float64")
        notes.append(f"{pipeline.file}: revenue_12m = won value in the last 12 months of the pipeline; "
                     "monthly won value becomes the revenue history")
        if len(hist):
            first, last = hist["period"].min(), hist["period"].max()
            span = (last.year - first.year) * 12 + last.month - first.month + 1
            if span < 12:  # Maven's pipeline: 10 months, and "growth vs last 12 months" compared 12 with 10
                warnings.append(f"{pipeline.file}: won deals cover only {span} months ({first:%b %Y}–{last:%b %Y}), "
                                f"so revenue_12m holds {span} months of won value, not 12; KPIs against the last 12 "
                                "months (revenue growth) compare a 12-month projection with it")
    rev_src = cmap.columns.get("revenue_12m") if pipeline is None else None
    had_revenue = "revenue_12m" in df
    _fill_revenue(df, raw, rev_src if isinstance(rev_src, str) else None,
                  company_src if isinstance(company_src, str) else None, warnings)
    if harmonise:
        if "country" in df:
            df["country"], changed = normalise_countries(df["country"])
            if changed:
                shown = ", ".join(f"{k} → {v}" for k, v in list(changed.items())[:8])
                notes.append(f"{raw.file}: countries normalised to ISO codes ({shown}"
                             f"{', …' if len(changed) > 8 else ''})")
            _check_countries(df["country"], raw, warnings)
        if "postcode" in df and "country" in df:
            _check_postcodes(df, raw, notes, warnings)
        if "industry" in df:
            df["industry"], changed = normalise_industries(df["industry"])
            if changed:
                shown = ", ".join(f"{k} → {v}" for k, v in list(changed.items())[:8])
                notes.append(f"{raw.file}: industries normalised ({shown}{', …' if len(changed) > 8 else ''})")
    if "parent_name" in df:
        ids_as_parent = pd.Series(_member(df["parent_name"], df["account_id"]), index=df.index)
        if ids_as_parent.any():
            # a "Parent Company" column may hold record ids rather than names
            df["parent_id"] = (df["parent_id"].astype("string") if "parent_id" in df
                               else pd.Series(pd.NA, index=df.index, dtype="string"))
            df.loc[ids_as_parent, "parent_id"] = df.loc[ids_as_parent, "parent_name"]
        df, unresolved = resolve_parent_names(df, "parent_name")
        n_par = int(df["parent_id"].notna().sum())
        notes.append(f"{raw.file}: {n_par} accounts linked to a parent by name ('{cmap.columns['parent_name']}')")
        if unresolved:
            warnings.append(f"{raw.file}: parent names not found among the accounts: {', '.join(unresolved[:8])}")
    v = schema.validate(df, "accounts", file=raw.file, row_numbers=raw.row_numbers)
    v = _values_as_in_file(v, raw, {k: src for k, src in cmap.columns.items()
                                    if isinstance(src, str) and (pipeline is None or k != "revenue_12m")})
    rows = np.asarray(raw.row_numbers)
    rows = rows[~np.isin(rows, v.rejections["row"].to_numpy())] if len(v.rejections) else rows
    raw.cache["accepted_rows"] = rows  # the owner check names rows once the managers are known
    _check_plausible(v.accepted, rows, raw.file, warnings)
    v = _with_bad_rows(v, raw)
    if had_revenue and len(v.accepted) and not v.accepted["revenue_12m"].abs().gt(0).any():
        what = f"'{rev_src}'" if isinstance(rev_src, str) else "revenue_12m"
        warnings.append(f"{raw.file}: every accepted account has 0 revenue in {what}, {_NO_REVENUE_EFFECT}.")
    if "parent_id" in v.accepted:
        p = v.accepted["parent_id"]
        unknown = p.notna().to_numpy() & ~_member(p, v.accepted["account_id"])
        if unknown.any():
            warnings.append(f"{raw.file}: {int(unknown.sum())} accounts name a parent id that is not in the file; "
                            "they are treated as their own family")
    detected = dict(raw.detected)
    detected["preset"] = cmap.preset
    detected["mapping"] = {k: (v_ if isinstance(v_, str) else list(v_)) for k, v_ in cmap.columns.items()}
    detected["mapping_how"] = dict(cmap.how)
    report.add(v, raw.file, detected)
    if owner_names is not None:
        owner_names = pd.Series(owner_names.to_numpy(), index=df["owner_id"].astype("string").to_numpy())
    return v.accepted, owner_names, hist


#: Values no account plausibly has, each with the reason; beyond them a warning names the rows (they are kept:
#: a unit mistake is likelier than a lie, and only the user can tell which). Revenue: no customer spends a
#: trillion a year with one supplier in any major currency (the largest companies' own revenue is below that).
PLAUSIBLE_MAX: dict[str, tuple[float, str]] = {
    "revenue_12m": (1e12, "more than a trillion a year from one customer"),
    "potential": (1e12, "more than a trillion a year from one customer"),
    "service_need": (8760.0, "more hours than a year has (8,760)"),
    "employees": (3e6, "more people than the world's largest employer has (about 2.1 million)"),
}


def _examples(rows: np.ndarray, values: list[str], n: int = 5) -> str:
    shown = "; ".join(f"row {r}: {v}" for r, v in zip(rows[:n], values[:n]))  # "; ": the values hold commas
    return shown + ("; …" if len(rows) > n else "")


def _rows_named(rows: np.ndarray, n: int = 3) -> str:
    """``row 4`` or ``rows 4, 9, 12, …`` (the first ``n``)."""
    shown = ", ".join(str(r) for r in rows[:n]) + (", …" if len(rows) > n else "")  # no 3,456: commas split rows
    return f"row{'s' if len(rows) > 1 else ''} {shown}"


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) < 1e15 else f"{x:.3g}"


def _check_plausible(acc: pd.DataFrame, rows: np.ndarray, file: str, warnings: list[str]) -> None:
    """Warn, naming rows, about values beyond :data:`PLAUSIBLE_MAX` (whole columns at once)."""
    for col, (ceiling, why) in PLAUSIBLE_MAX.items():
        if col not in acc:
            continue
        vals = pd.to_numeric(acc[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        big = vals > ceiling
        if big.any():
            idx = np.flatnonzero(big)
            n = len(idx)
            warnings.append(f"{file}: {n:,} account{'s have' if n > 1 else ' has'} {col} above {_number(ceiling)} "
                            f"({_examples(rows[idx], [_number(vals[i]) for i in idx[:5]])}): {why}; check "
                            f"{'these rows' if n > 1 else 'this row'} for a wrong unit or a slipped decimal "
                            f"(kept as {'they are' if n > 1 else 'it is'}, so totals and segments include "
                            f"{'them' if n > 1 else 'it'}).")


def _check_countries(country: pd.Series, raw: RawTable, warnings: list[str]) -> None:
    """Warn, naming rows, about country values that are no ISO-3166 code after normalising (``XX``, ``Atlantis``)."""
    from ..harmonize import _country_table

    codes, uniq = pd.factorize(country)
    known = set(_country_table().values())
    odd = np.flatnonzero(~pd.Series(uniq, dtype="string").isin(known).to_numpy())
    if not len(odd):
        return
    n = int(np.isin(codes, odd).sum())
    rows = np.asarray(raw.row_numbers)
    shown = ", ".join(f"'{uniq[k]}' in {_rows_named(rows[codes == k])}" for k in odd[:5])
    warnings.append(f"{raw.file}: {n:,} country value{'s are' if n > 1 else ' is'} no known country or ISO code: "
                    f"{shown}{', …' if len(odd) > 5 else ''}; kept as {'they came' if n > 1 else 'it came'}.")


def _values_as_in_file(v: schema.Validation, raw: RawTable, sources: dict[str, str]) -> schema.Validation:
    """Rejections of number columns show the cell as the file wrote it ('-5.000,00', '1e400'), not as parsed.

    ``sources`` maps canonical columns to the file's headers. Only the rejected cells are looked up."""
    rej = v.rejections
    if not len(rej):
        return v
    texts = raw.cache.get("numeric_text") or {}
    numbers = np.asarray(raw.row_numbers)
    pos = np.searchsorted(numbers, rej["row"].to_numpy())
    found = pos < len(numbers)
    found[found] = numbers[pos[found]] == rej["row"].to_numpy()[found]
    rej = rej.copy()
    for col, src in sources.items():
        text = texts.get(src)
        if text is None and src in raw.frame and not pd.api.types.is_numeric_dtype(raw.frame[src]):
            text = raw.frame[src]
        if text is None:
            continue
        m = (rej["column"] == col).to_numpy() & found
        if m.any():
            rej.loc[m, "value"] = text.iloc[pos[m]].astype("string").fillna("").to_numpy()
    return schema.Validation(table=v.table, accepted=v.accepted, rejections=rej, rows_read=v.rows_read,
                             warnings=v.warnings)


def _check_postcodes(df: pd.DataFrame, raw: RawTable, notes: list[str], warnings: list[str]) -> None:
    """Put back leading zeros a spreadsheet dropped (a note with examples) and warn, naming rows, about postcodes
    that do not fit their country's format. The rows are kept: the plan does not need postcodes, the duplicate
    search only uses them as evidence."""
    from ..harmonize import POSTCODE_FORMATS, normalise_postcodes

    before = df["postcode"].astype("string")
    df["postcode"], restored, off = normalise_postcodes(df["postcode"], df["country"])
    rows = np.asarray(raw.row_numbers)
    if restored.any():
        ex = ", ".join(f"row {rows[i]} {before.iat[i]} → {df['postcode'].iat[i]}" for i in np.flatnonzero(restored)[:3])
        n = int(restored.sum())
        notes.append(f"{raw.file}: {n:,} postcode{'s' if n > 1 else ''} had lost {'their' if n > 1 else 'its'} leading "
                     f"zero (as a spreadsheet does with numbers) and got it back ({ex}{', …' if n > 3 else ''})")
    if off.any():
        country = df["country"].astype("string")
        ex = ", ".join(f"row {rows[i]} '{df['postcode'].iat[i]}' ({country.iat[i]}: "
                       f"{POSTCODE_FORMATS[country.iat[i].upper()][1]})" for i in np.flatnonzero(off)[:5])
        n = int(off.sum())
        warnings.append(f"{raw.file}: {n:,} postcode{'s do' if n > 1 else ' does'} not fit {'their' if n > 1 else 'its'} "
                        f"country's format ({ex}{', …' if n > 5 else ''}); kept as {'they' if n > 1 else 'it'} came")


def _member(values: pd.Series, pool: pd.Series) -> np.ndarray:
    """``values.isin(pool)`` as a boolean array through a hash index (fast for Arrow strings at 1M rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    v = pa.array(pd.Series(values).astype("string[pyarrow]"))
    pool_set = pa.array(pd.Series(pool).astype("string[pyarrow]").dropna().unique())
    return pc.fill_null(pc.is_in(v, value_set=pool_set), False).to_numpy(zero_copy_only=False)


def _account_key(df: pd.DataFrame) -> pd.Series:
    """Pipeline account value → account_id: by id, source id or (normalised) name, in that order of trust."""
    ids = df["account_id"].astype("string")
    parts = [pd.Series(ids.to_numpy(), index=ids.to_numpy())]
    if "source_id" in df:
        parts.append(pd.Series(ids.to_numpy(), index=df["source_id"].astype("string").to_numpy()))
    parts.append(pd.Series(ids.to_numpy(), index=df["name"].astype("string").str.strip().to_numpy()))
    key = pd.concat(parts)
    return key[~key.index.duplicated(keep="first") & key.index.notna()]


def _ids_read(raw: RawTable, cmap: ColumnMapping) -> pd.Series | None:
    """Every account id the accounts file holds, rejected rows included (None when the ids were generated)."""
    src = cmap.columns.get("account_id") or cmap.columns.get("source_id")
    if not isinstance(src, str) or src not in raw.frame:
        return None
    return raw.frame[src].astype("string").str.strip()


def _history(hraw: RawTable, acc: pd.DataFrame, ids_read: pd.Series | None, accounts_file: str,
             warnings: list[str]) -> tuple[schema.Validation, pd.DataFrame, dict]:
    """Validate a revenue history against the accepted accounts: ``(validation, history per account and month,
    detections)``. Exact copies of an earlier row and rows for accounts the book does not hold are rejections
    with their reason (a copy doubled its month; an unknown account's rows were counted as accepted and dropped);
    several different rows for one account and month are summed (invoice lines)."""
    long, hdet = history_frame(hraw)
    given = long["account_id"].astype("string").str.strip()
    given = given.mask(given == "")  # a blank id is the schema's to reject ("required value is missing")
    long["account_id"] = given.map(_account_key(acc)).fillna(long["account_id"].astype("string"))
    wide = hdet["history_layout"].startswith("wide")
    rows = np.arange(1, len(long) + 1) if wide else long["_row"].to_numpy()
    parts: list[pd.DataFrame] = []
    drop = np.zeros(len(long), bool)
    copies = hraw.frame.duplicated(keep="first").to_numpy()
    if copies.any():
        group = hraw.frame.groupby(list(hraw.frame.columns), dropna=False, sort=False).ngroup().to_numpy()
        first_row = pd.Series(np.asarray(hraw.row_numbers)).groupby(group).transform("first").to_numpy()
        of = pd.Series(first_row[copies], index=np.asarray(hraw.row_numbers)[copies])
        dup = long["_row"].isin(of.index).to_numpy()
        src_rows = long["_row"].to_numpy()[dup]
        rule = [(f"row {r} of the file is an exact copy of row {of[r]}" if wide else
                 f"exact copy of row {of[r]}") + "; counted once" for r in src_rows]
        parts.append(pd.DataFrame({"file": hraw.file, "row": rows[dup], "column": "", "value": "", "rule": rule}))
        drop |= dup
        pairs = ", ".join(f"row {r} = row {f}" for r, f in list(of.items())[:5])
        n = len(of)
        warnings.append(f"{hraw.file}: {n:,} row{'s are exact copies' if n > 1 else ' is an exact copy'} of an "
                        f"earlier row ({pairs}{', …' if n > 5 else ''}); each is counted once and the "
                        f"cop{'ies are' if n > 1 else 'y is'} rejected, since summing them doubled those months. "
                        "If both are real, give them a column that tells them apart (an invoice number).")
    orphan = ~drop & given.notna().to_numpy() & ~_member(long["account_id"], acc["account_id"])
    if orphan.any():
        seen = _member(given, ids_read) if ids_read is not None else np.zeros(len(long), bool)
        rule = np.where(seen[orphan], f"the account was rejected in {accounts_file}, so its history is too",
                        f"not in the accounts file ({accounts_file})")
        parts.append(pd.DataFrame({"file": hraw.file, "row": rows[orphan], "column": "account_id",
                                   "value": given[orphan].to_numpy(), "rule": rule}))
        drop |= orphan
        ids = pd.Series(given[orphan].to_numpy())
        first = ids.drop_duplicates().head(5)
        shown = ", ".join(f"'{v}' in {_rows_named(rows[orphan][ids.eq(v).to_numpy()])}" for v in first)
        n, n_rejected = int(orphan.sum()), int(seen[orphan].sum())
        why = (f"{n - n_rejected:,} not in {accounts_file}, {n_rejected:,} for accounts rejected there"
               if 0 < n_rejected < n else f"accounts rejected in {accounts_file}" if n_rejected
               else f"not in {accounts_file}")
        warnings.append(f"{hraw.file}: {n:,} history row{'s name' if n > 1 else ' names'} an account that is not "
                        f"in the accounts: {shown}{', …' if ids.nunique() > 5 else ''} ({why}); "
                        f"{'they are' if n > 1 else 'it is'} rejected, see the rejected rows.")
    hv = schema.validate(long.loc[~drop].drop(columns="_row"), "history", file=hraw.file, row_numbers=rows[~drop])
    if parts:
        rej = pd.concat([*parts, hv.rejections], ignore_index=True).astype({"row": "int64"})
        hv = schema.Validation(table=hv.table, accepted=hv.accepted, rows_read=hv.rows_read + int(drop.sum()),
                               rejections=rej.sort_values(["row", "column"], kind="stable").reset_index(drop=True),
                               warnings=hv.warnings)
    if not wide:
        hv = _with_bad_rows(hv, hraw)
    hist = hv.accepted[["account_id", "period", "revenue"]]
    hist = hist.groupby(["account_id", "period"], as_index=False, sort=True)["revenue"].sum()
    return hv, hist, hdet


def _with_bad_rows(v: schema.Validation, raw: RawTable) -> schema.Validation:
    """Add rows the reader could not parse to the validation so that read = accepted + rejected holds."""
    if not len(raw.bad_rows):
        return v
    rej = pd.concat([raw.bad_rows.astype({"row": "int64"}), v.rejections], ignore_index=True)
    rej = rej.sort_values(["row", "column"], kind="stable").reset_index(drop=True)
    return schema.Validation(table=v.table, accepted=v.accepted, rejections=rej,
                             rows_read=v.rows_read + len(raw.bad_rows), warnings=v.warnings)


def import_book(accounts: FileInput, managers: FileInput | None = None, history: FileInput | None = None,
                pipeline: FileInput | None = None, preset: str = "auto",
                mapping: dict | ColumnMapping | str | Path | None = None, sheet: str | int | None = None,
                harmonise: bool = True, currency: str | None = None, progress: Progress | None = None) -> AccountBook:
    """Import CRM export files into a validated :class:`AccountBook` whose ``report`` says what happened.

    Parameters
    ----------
    accounts : accounts export (CSV, Excel or Parquet): a path or ``(file name, bytes)``.
    managers : optional managers/users file; without it managers are derived from the owners seen.
    history : optional monthly revenue history, long (account, month, revenue) or wide (a column per month).
    pipeline : optional opportunities file (account, agent, stage/won, close date, value); owners are then
        derived per account by :data:`workbench.io.owners.OWNER_RULE` and ``revenue_12m`` is the won value of
        the last 12 months (the file's own revenue column is kept as ``annual_revenue``).
    preset : ``auto`` (detect from headers), ``salesforce``, ``hubspot``, ``dynamics`` or ``generic``.
    mapping : overrides (YAML mapping file path or dict with ``columns``, ``values``, ``constants``).
    sheet : Excel sheet name or index (default: first visible sheet).
    harmonise : normalise countries to ISO alpha-2 and industries to the canonical list.
    currency : the book's currency (ISO 4217 code). ``None`` (default): found in the file (a currency column
        such as ``CurrencyIsoCode``, or €/$/£ signs on the revenue figures), else ``DEFAULT_CURRENCY`` with a note
        in the report saying it is a default and how to set it.
    progress : called with (fraction 0–1, what is happening) for a progress bar.

    Raises
    ------
    ImportFileError : a file cannot be read at all, or no account row is valid (one plain sentence).
    """
    # Text columns live in Arrow-backed strings while importing: the schema's strip/compare/isna work then runs
    # in Arrow's C++ kernels instead of a Python loop per cell (several times faster on a million rows).
    with pd.option_context("mode.string_storage", "pyarrow"):
        return _import_book(accounts, managers, history, pipeline, preset, mapping, sheet, harmonise, currency,
                            progress)


def _import_book(accounts, managers, history, pipeline, preset, mapping, sheet, harmonise, currency,
                 progress) -> AccountBook:
    def step(frac: float, text: str) -> None:
        if progress is not None:
            progress(frac, text)

    if currency is not None and str(currency).strip() and not re.fullmatch(r"[A-Za-z]{3}", str(currency).strip()):
        raise ImportFileError(f"Currency {currency!r} is not a three-letter ISO 4217 code such as EUR, USD or CHF.")
    report = ImportReport()
    step(0.05, "reading accounts")
    raw, cmap = read_mapped(accounts, preset=preset, mapping=mapping, sheet=sheet)
    if not {"name", "account_id", "revenue_12m", "source_id"} & set(cmap.columns):
        raise ImportFileError(_no_account_columns(raw))
    pipe_raw = None
    if pipeline is not None:
        step(0.25, "reading pipeline")
        psrc, pname = _split(pipeline)
        pipe_raw = read_table(psrc, name=pname)
    step(0.4, "mapping and validating accounts")
    acc, owner_names, hist_derived = import_accounts(raw, cmap, report, harmonise=harmonise, pipeline=pipe_raw)
    if len(acc) == 0:
        raise ImportFileError(f"{raw.file}: none of the {report.rows_read:,} rows is a valid account "
                              f"(first problem: {_first_problem(report)}).")
    step(0.6, "managers")
    if managers is not None:
        msrc, mname = _split(managers)
        mraw = read_table(msrc, name=mname)
        report.warnings.extend(mraw.warnings)
        mdf, mmap, mnotes = map_managers(mraw)
        report.notes.extend(mnotes)
        mv = schema.validate(mdf, "managers", file=mraw.file, row_numbers=mraw.row_numbers)
        mv = _with_bad_rows(_values_as_in_file(mv, mraw, {k: h for k, h in mmap.items() if isinstance(h, str)}), mraw)
        report.add(mv, mraw.file, {**mraw.detected, "mapping": mmap})
        man = mv.accepted
        if "team_manager" in man and man["team_manager"].notna().any():
            regions = f" in {man['region'].nunique()} regions" if man["region"].notna().any() else ""
            report.notes.append(f"{mraw.file}: {len(man)} managers under {man['team_manager'].nunique()} "
                                f"team managers{regions} (kept as team_manager and region)")
    else:
        names = None
        if owner_names is not None:
            names = owner_names[~owner_names.index.duplicated()].reindex(acc["owner_id"].astype("string"))
            names = pd.Series(names.to_numpy(), index=acc.index)
        man = managers_from_owners(acc["owner_id"], names)
        man = schema.validate(man, "managers", file="(derived from owners)").accepted
        report.notes.append(f"no managers file: {counted(len(man), 'manager')} derived from the owners seen in the accounts "
                            f"(capacity {man['capacity_hours'].iloc[0]:,.0f} hours/year each)" if len(man)
                            else "no managers file and no owners in the accounts: the book has no managers yet")
    if len(man) == 0:
        report.warnings.append("no managers: the book has no managers file and no owners, so it can be segmented "
                               "but not reallocated (give a managers file or an owner column)")
    if len(man) and acc["owner_id"].notna().any():
        known = _member(acc["owner_id"], man["manager_id"])
        by_name = ~known & acc["owner_id"].notna().to_numpy() & _member(acc["owner_id"], man["name"])
        if by_name.any():
            # owners given by name while the managers file has ids: translate
            name_to_id = man.drop_duplicates("name").set_index("name")["manager_id"]
            acc.loc[by_name, "owner_id"] = acc.loc[by_name, "owner_id"].map(name_to_id)
            known = _member(acc["owner_id"], man["manager_id"])
        unknown = acc["owner_id"].notna().to_numpy() & ~known
        if unknown.any():
            rows = raw.cache.get("accepted_rows")
            rows = rows if rows is not None and len(rows) == len(acc) else np.arange(1, len(acc) + 1)
            report.warnings.append(_unknown_owners(acc["owner_id"], unknown, man, rows, raw.file,
                                                   _split(managers)[1] if managers is not None else None))
            acc.loc[unknown, "owner_id"] = pd.NA
    step(0.75, "revenue history")
    hist = None
    if history is not None:
        hsrc, hname = _split(history)
        hraw = read_table(hsrc, name=hname)
        report.warnings.extend(hraw.warnings)
        hv, hist, hdet = _history(hraw, acc, _ids_read(raw, cmap), raw.file, report.warnings)
        report.add(hv, hraw.file, {**hraw.detected, **hdet})
        if hdet["history_layout"].startswith("wide"):
            report.notes.append(f"{hraw.file}: wide history; rows are counted per account and month")
    elif hist_derived is not None and len(hist_derived):
        hist = hist_derived.astype({"account_id": "string"}).reset_index(drop=True)
    currency = _book_currency(currency, raw, report)
    cycles = parent_cycles(acc)  # said at import too, not only when a command loads the saved book
    if cycles:
        report.warnings.append(cycles_warning(cycles))
    step(1.0, "done")
    report.notes.append(f"book: {counted(len(acc), 'account')}, {counted(len(man), 'manager')}"
                        + (f", {hist['period'].nunique()} months of history" if hist is not None else ""))
    return AccountBook(accounts=acc, managers=man.reset_index(drop=True), history=hist, report=report,
                       currency=currency)


def _no_account_columns(raw: RawTable) -> str:
    """Why a file cannot be an accounts table, in one sentence; for a workbook, which sheet was read and which
    other sheets there are (a cover sheet comes first more often than not)."""
    found = ", ".join(map(str, list(raw.frame.columns)[:12]))
    sheet = raw.detected.get("sheet")
    if raw.detected.get("format") == "excel" and sheet is not None:
        others = [s for s in raw.detected.get("sheets", []) if s != sheet]
        where = f"{raw.file}: sheet '{sheet}' has no column that looks like an account id, name or revenue (found: {found})"
        if others:
            return (f"{where}; the workbook also has the sheet{'s' if len(others) > 1 else ''} "
                    f"{', '.join(repr(s) for s in others)}: choose the one with the accounts with --sheet NAME on "
                    "the command line or the Excel sheet field in the app.")
        return f"{where}; name the columns in a mapping file."
    return (f"{raw.file}: no column looks like an account id, name or revenue; found: {found}; "
            "name them in a mapping file.")


#: owners shown by id in the warning about owners the managers table lacks (each with its first rows)
_OWNERS_NAMED = 5


def _unknown_owners(owner: pd.Series, unknown: np.ndarray, man: pd.DataFrame, rows: np.ndarray, file: str,
                    managers_file: str | None) -> str:
    """One warning naming the owners not in the managers table, most frequent first, with their rows and a near
    match among the managers' ids or names when there is one ('m001': did you mean 'M001'?)."""
    ids = owner[unknown].astype("string").to_numpy()
    codes, uniq = pd.factorize(ids, sort=True)
    counts = np.bincount(codes, minlength=len(uniq))
    order = np.lexsort((np.arange(len(uniq)), -counts))
    where = np.asarray(rows)[unknown]
    n = int(unknown.sum())
    parts = []
    for k in order[:_OWNERS_NAMED]:
        hint = _near_manager(str(uniq[k]), man)
        parts.append(f"'{uniq[k]}' ({counted(int(counts[k]), 'account')}: {_rows_named(where[codes == k])}"
                     + (f"; did you mean {hint}?" if hint else "") + ")")
    more = f" and {len(uniq) - _OWNERS_NAMED:,} more" if len(uniq) > _OWNERS_NAMED else ""
    table = f"the managers table ({managers_file})" if managers_file else "the managers table"
    return (f"{file}: {n:,} account{'s name' if n > 1 else ' names'} an owner that is not in {table}: "
            f"{', '.join(parts)}{more}; {'they are' if n > 1 else 'it is'} treated as unowned.")


def _near_manager(owner: str, man: pd.DataFrame) -> str | None:
    """A manager the owner value probably means: the same id but for case and blanks, else a close id or name."""
    from rapidfuzz import fuzz, process

    def key(x: str) -> str:
        return re.sub(r"\s+", "", x).casefold()

    ids = man["manager_id"].astype(str).tolist()
    names = man["name"].astype(str).tolist() if "name" in man else []
    same = [m for m in ids if key(m) == key(owner)]
    if same:
        return f"'{same[0]}'"
    hit = process.extractOne(key(owner), {m: key(m) for m in ids}, scorer=fuzz.ratio, score_cutoff=85)
    if hit is not None:
        return f"'{hit[2]}'"
    hit = process.extractOne(key(owner), {i: key(nm) for i, nm in zip(ids, names)}, scorer=fuzz.ratio,
                             score_cutoff=85)
    return f"'{hit[2]}' ({names[ids.index(hit[2])]})" if hit is not None else None


def _book_currency(given: str | None, raw: RawTable, report: ImportReport) -> str:
    """The book's currency: the user's, else the file's, else the default; the report says which and why."""
    code, how = _choose_currency(given, raw, report)
    for f in report.files:  # the accounts file's entry says which currency the book got and why
        if f["file"] == raw.file and f["table"] == "accounts":
            f["detected"].update({"currency": code, "currency_how": how})
    return code


def _choose_currency(given: str | None, raw: RawTable, report: ImportReport) -> tuple[str, str]:
    found, where = raw.detected.get("currency"), raw.detected.get("currency_from", "")
    counts = raw.detected.get("currency_counts") or {}
    if len(counts) > 1:
        mix = ", ".join(f"{k} {v:,}" for k, v in counts.items())
        report.warnings.append(f"{raw.file}: {where} mixes currencies ({mix} rows); revenue figures are used as they "
                               "are, not converted, so sums across currencies mean little.")
    if given is not None and str(given).strip():
        code = str(given).strip().upper()
        if found and found != code:
            report.warnings.append(f"{raw.file}: the currency given is {code}, but {where} says {found}; the book "
                                   f"is labelled {code} as given.")
        return code, "given"
    if found:
        report.notes.append(f"{raw.file}: currency {found}, found in {where}.")
        return found, f"found in {where}"
    report.notes.append(f"{raw.file}: no currency was given and the file shows none (no currency column, no €, $ or "
                        f"£ signs), so the book is labelled {DEFAULT_CURRENCY} by default; set it with --currency on "
                        "the command line or the Currency field of the Import step.")
    return DEFAULT_CURRENCY, "default"


def _first_problem(report: ImportReport) -> str:
    if len(report.rejections):
        r = report.rejections.iloc[0]
        col = f" column {r['column']}" if r["column"] else ""
        return f"row {r['row']}{col}: {r['rule']}"
    return "no rows"



def rejections_csv(report: ImportReport) -> bytes:
    """The report's rejected rows as UTF-8 CSV with a BOM (opens cleanly in Excel): file, row, column, value, rule."""
    cols = ["file", "row", "column", "value", "rule"]
    return report.rejections.reindex(columns=cols).to_csv(index=False).encode("utf-8-sig")
