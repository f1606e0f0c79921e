"""The canonical schema: typing, checks, row accounting and reasons for every rejection."""

import numpy as np
import pandas as pd
import pytest

from workbench import schema


def _accounts(**over):
    df = pd.DataFrame({
        "account_id": ["A1", "A2", "A3", "A4"],
        "name": ["Müller GmbH", "Schmidt AG", "Bauer KG", "Wagner SE"],
        "revenue_12m": ["1000", "2500.5", "0", "42"],
        "employees": ["10", "", "200", "7"],
        "owner_id": ["M1", "M2", None, "M1"],
    })
    for k, v in over.items():
        df[k] = v
    return df


def test_valid_rows_are_typed_and_accepted():
    v = schema.validate(_accounts(), "accounts", file="acc.csv")
    assert v.rows_read == 4 and v.rows_accepted == 4 and v.rows_rejected == 0
    assert v.accepted["revenue_12m"].dtype == np.float64
    assert str(v.accepted["employees"].dtype) == "Int64"
    assert v.accepted["employees"].isna().sum() == 1
    # every canonical column exists, absent ones as missing values
    assert set(c.name for c in schema.ACCOUNTS) <= set(v.accepted.columns)


def test_rejections_name_file_row_column_value_and_rule():
    df = _accounts(revenue_12m=["1000", "abc", "-5", "42"], employees=["10", "3.5", "200", "7"])
    df.loc[3, "account_id"] = "A1"
    v = schema.validate(df, "accounts", file="acc.csv")
    assert v.rows_read == v.rows_accepted + v.rows_rejected
    assert v.rows_rejected == 3
    rej = v.rejections
    assert set(rej.columns) == {"file", "row", "column", "value", "rule"}
    by = {(r.row, r.column): r for r in rej.itertuples()}
    assert by[(2, "revenue_12m")].value == "abc" and "not a number" in by[(2, "revenue_12m")].rule
    assert by[(2, "employees")].rule == "not a whole number"
    assert "negative" in by[(3, "revenue_12m")].rule
    assert "duplicate id" in by[(4, "account_id")].rule
    assert (rej["file"] == "acc.csv").all()
    assert v.accepted["account_id"].tolist() == ["A1"]


def test_missing_required_column_is_one_clear_error():
    with pytest.raises(ValueError, match="revenue_12m"):
        schema.validate(_accounts().drop(columns="revenue_12m"), "accounts", file="x.csv")


def test_row_numbers_are_passed_through():
    df = _accounts(revenue_12m=["1", "-1", "2", "3"])
    v = schema.validate(df, "accounts", row_numbers=np.array([10, 11, 12, 13]))
    assert v.rejections["row"].tolist() == [11]


def test_history_periods_become_month_starts():
    df = pd.DataFrame({"account_id": ["A", "A"], "period": ["2025-01-17", "2025-02-01T00:00:00.000Z"],
                       "revenue": [1.0, 2.0]})
    v = schema.validate(df, "history")
    assert v.rows_rejected == 0
    assert v.accepted["period"].tolist() == [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")]


def test_mostly_missing_optional_column_warns():
    df = _accounts(industry=[None, None, None, "Chemie"])
    v = schema.validate(df, "accounts", file="acc.csv")
    assert any("industry missing for 75%" in w for w in v.warnings)


def test_markdown_table_lists_every_column():
    md = schema.markdown_table()
    for cols in schema.TABLES.values():
        for c in cols:
            assert f"`{c.name}`" in md


def test_missing_share_is_never_rounded_up_to_all_rows():
    df = pd.DataFrame({"account_id": [f"A{i}" for i in range(423)], "name": "n", "revenue_12m": 1.0,
                       "industry": [None] * 421 + ["Retail", "Media"]})
    v = schema.validate(df, "accounts", file="f.csv")
    assert "industry missing for >99% of rows in f.csv" in v.warnings
