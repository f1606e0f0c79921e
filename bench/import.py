"""Benchmark import: N accounts × 20 columns CSV → validated canonical book, against a bare ``pd.read_csv`` of
the same file in the same run; Parquet reload of the saved book; a 100k-row ``.xlsx`` through python-calamine.

The file is generated here (seeded) in a Salesforce-report-like shape with a few rows to reject, so the
import does its full work (detection, preset, harmonising countries/industries, validation, derived managers).
Run: ``.venv/bin/python bench/import.py --accounts 1000000`` (``--xlsx-rows 0`` skips the Excel part).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

COUNTRIES = np.array(["Germany", "DE", "Deutschland", "Austria", "AT", "Switzerland", "CH", "United States", "US"])
INDUSTRIES = np.array(["Technology", "Manufacturing", "technolgy", "Retail", "Maschinenbau", "Finance", "Healthcare",
                       "Logistik", "Media", "Construction"])
CITIES = np.array(["Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Wien", "Zürich", "Stuttgart", "Leipzig"])


def make_accounts(n: int, seed: int = 0) -> pd.DataFrame:
    """n accounts with 20 columns (Salesforce report labels), vectorised; about 0.1 % rows are invalid."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("001", np.char.zfill(np.arange(n).astype(str), 12))
    owner = np.char.add("005", np.char.zfill(rng.integers(0, 2000, n).astype(str), 12))
    parent = np.where(rng.random(n) < 0.1, ids[rng.integers(0, n, n)], "")
    revenue = np.round(rng.lognormal(10, 1.5, n), 2).astype(object)
    bad = rng.random(n) < 0.001
    revenue[bad] = -1.0  # a negative revenue is a rejection with a reason
    df = pd.DataFrame({
        "Account ID": ids, "Account Name": np.char.add("Company ", np.arange(n).astype(str)),
        "Parent Account ID": parent, "Billing Country": COUNTRIES[rng.integers(0, len(COUNTRIES), n)],
        "Billing State/Province": np.char.add("R", rng.integers(0, 40, n).astype(str)),
        "Billing City": CITIES[rng.integers(0, len(CITIES), n)],
        "Billing Zip/Postal Code": np.char.zfill(rng.integers(1000, 99999, n).astype(str), 5),
        "Industry": INDUSTRIES[rng.integers(0, len(INDUSTRIES), n)],
        "Employees": rng.integers(1, 50_000, n), "Annual Revenue": revenue,
        "Potential": np.round(rng.lognormal(11, 1.2, n), 2), "Service Need": np.round(rng.gamma(2, 20, n), 1),
        "Account Owner ID": owner, "Type": np.where(rng.random(n) < 0.7, "Customer", "Prospect"),
        "Rating": np.array(["Hot", "Warm", "Cold", ""])[rng.integers(0, 4, n)],
        "Phone": np.char.add("+49 30 ", rng.integers(1_000_000, 9_999_999, n).astype(str)),
        "Website": np.char.add(np.char.add("https://www.c", np.arange(n).astype(str)), ".example"),
        "Created Date": pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, n), unit="D"),
        "Last Activity": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "Description": np.array(["", "key account", "reseller", "public sector", "ex-competitor customer"])[
            rng.integers(0, 5, n)],
    })
    return df


def _time(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from workbench.book import load_book, save_book
    from workbench.io import import_book

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        df, gen_s = _time(make_accounts, args.accounts, args.seed)
        csv = tmp / "accounts_export.csv"
        _, write_s = _time(df.to_csv, csv, index=False, date_format="%Y-%m-%dT%H:%M:%S.000Z")
        mb = csv.stat().st_size / 1e6
        print(f"generated {args.accounts:,} × {df.shape[1]} columns in {gen_s:.1f} s; CSV {mb:,.0f} MB written in "
              f"{write_s:.1f} s")
        import_book(("warmup.csv", df.head(2000).to_csv(index=False).encode()))  # imports, caches
        base, base_s = _time(pd.read_csv, csv)
        del base
        book, imp_s = _time(import_book, csv)
        base2, base2_s = _time(pd.read_csv, csv)  # measured again: the better of two, fair to the baseline
        del base2
        base_s = min(base_s, base2_s)
        rep = book.report
        assert rep.rows_read == rep.rows_accepted + rep.rows_rejected == args.accounts
        print(f"pd.read_csv (bare): {base_s:.2f} s; import_book (detect, map, harmonise, validate): {imp_s:.2f} s "
              f"= {imp_s / base_s:.2f} × the bare read")
        print(f"  {rep.rows_accepted:,} accepted, {rep.rows_rejected:,} rejected, {len(book.managers):,} managers "
              f"derived; preset {rep.files[0]['detected']['preset']}")
        folder = tmp / "book"
        _, save_s = _time(save_book, book, folder)
        _, pq_s = _time(pd.read_parquet, folder / "accounts.parquet")
        _, pq2_s = _time(pd.read_parquet, folder / "accounts.parquet")
        _, lb_s = _time(load_book, folder)
        print(f"save_book (Parquet) {save_s:.2f} s; Parquet reload of accounts {min(pq_s, pq2_s):.2f} s; "
              f"load_book (reload + validation of all tables) {lb_s:.2f} s")
        xlsx_s = None
        if args.xlsx_rows:
            xdf = df.head(args.xlsx_rows)
            xlsx = tmp / "accounts_export.xlsx"
            t0 = time.perf_counter()
            with pd.ExcelWriter(xlsx, engine="xlsxwriter") as xw:
                xdf.to_excel(xw, index=False, sheet_name="Accounts")
            print(f"{len(xdf):,}-row xlsx ({xlsx.stat().st_size / 1e6:,.1f} MB) written in {time.perf_counter() - t0:.1f} s")
            xbook, xlsx_s = _time(import_book, xlsx)
            assert xbook.report.rows_read == len(xdf)
            print(f"import_book(xlsx) {xlsx_s:.2f} s ({xbook.report.files[0]['detected']['engine']})")
        print(json.dumps({"stage": "import", "accounts": args.accounts, "seconds": round(imp_s, 3),
                          "baseline": "pd.read_csv", "baseline_seconds": round(base_s, 3),
                          "ratio": round(imp_s / base_s, 2), "csv_mb": round(mb, 1),
                          "parquet_reload_seconds": round(min(pq_s, pq2_s), 3), "load_book_seconds": round(lb_s, 3),
                          "xlsx_rows": args.xlsx_rows, "xlsx_seconds": None if xlsx_s is None else round(xlsx_s, 3)}))


if __name__ == "__main__":
    main()
