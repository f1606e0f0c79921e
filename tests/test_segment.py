"""Unit and property tests of workbench.segment: contract, determinism, predict, rules, names, coverage, scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)

from workbench.book import AccountBook
from workbench.results import Segmentation, load_result, save_result
from workbench.sampledata import generate
from workbench.segment import (
    ROLES,
    AccountSegmenter,
    capacity_gap,
    reapply,
    rename,
    segment,
    set_coverage,
)
from workbench.segment.cluster import cluster_scores, kmeans_fit, silhouette_many, single_thread


@pytest.fixture(scope="module")
def sample():
    return generate(n_accounts=1500, n_managers=30, seed=7)


@pytest.fixture(scope="module")
def book(sample):
    return sample.book()


def _book(accounts: pd.DataFrame, managers: pd.DataFrame | None = None) -> AccountBook:
    if managers is None:
        managers = pd.DataFrame({"manager_id": ["M1", "M2", "M3"], "name": ["a", "b", "c"],
                                 "role": list(ROLES), "capacity_hours": [1400.0, 1500.0, 1600.0]})
    return AccountBook(accounts=accounts, managers=managers)


def _accounts(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "name": "x",
                         "revenue_12m": np.exp(rng.normal(10, 2, n)), "potential": np.exp(rng.normal(11, 2, n)),
                         "service_need": np.exp(rng.normal(3, 1, n)),
                         "industry": rng.choice(["Bau", "Handel", "IT"], n), "region": rng.choice(["BY", "NW"], n)})


def test_contract_columns_and_every_account_labelled(book):
    seg = segment(book, stability_runs=2)
    assert isinstance(seg, Segmentation)
    assert list(seg.labels.columns[:3]) == ["account_id", "segment_id", "segment"]
    assert len(seg.labels) == book.n_accounts
    assert seg.labels["account_id"].tolist() == book.accounts["account_id"].tolist()
    assert set(seg.labels["segment_id"]) == set(range(5))
    for col in ("segment_id", "segment", "n_accounts", "revenue_share", "top_industries", "top_regions",
                "revenue_12m_mean", "service_need_median"):
        assert col in seg.profiles.columns
    assert seg.profiles["n_accounts"].sum() == book.n_accounts
    assert seg.profiles["revenue_share"].sum() == pytest.approx(1.0)
    for col in ("segment_id", "segment", "role", "hours_per_account", "accounts_per_manager"):
        assert col in seg.coverage.columns
    assert set(seg.coverage["role"]) <= set(ROLES)
    assert seg.profiles["segment"].is_unique
    # label names agree with the profile names
    names = dict(zip(seg.profiles["segment_id"], seg.profiles["segment"]))
    assert (seg.labels["segment"] == seg.labels["segment_id"].map(names)).all()
    assert 0.0 <= seg.quality["stability"] <= 1.0
    assert seg.params["method"] == "kmeans" and seg.params["k"] == 5 and seg.params["seed"] == 0


def test_segment_zero_has_highest_value_and_strategic_name(book):
    seg = segment(book, k=4, stability_runs=0)
    means = seg.profiles["revenue_12m_mean"].to_numpy()
    assert np.all(np.diff(means) < 0)
    assert seg.profiles.loc[0, "segment"].startswith("Strategic")
    assert seg.coverage.loc[0, "role"] == "Key Account Manager"
    assert seg.profiles["segment"].iloc[-1].startswith("Long tail")
    assert seg.coverage["role"].iloc[-1] == "Inside Sales"


def test_deterministic_for_a_seed(book):
    a = segment(book, k=5, seed=3, stability_runs=2)
    b = segment(book, k=5, seed=3, stability_runs=2)
    pd.testing.assert_frame_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.profiles, b.profiles)
    pd.testing.assert_frame_equal(a.coverage, b.coverage)
    assert a.quality["stability_runs"] == b.quality["stability_runs"]


@pytest.mark.parametrize("method", ["kmeans", "gmm", "hierarchical", "abc", "value-need"])
def test_every_method_predicts_its_own_labels_after_a_json_round_trip(book, tmp_path, method):
    seg = segment(book, method=method, k=3, stability_runs=0)
    json.dumps(seg.quality), json.dumps(seg.params)  # plain JSON: no numpy scalars, no pickle needed
    save_result(seg, tmp_path / method)
    loaded = load_result(Segmentation, tmp_path / method)
    again = reapply(loaded, book)
    np.testing.assert_array_equal(again.labels["segment_id"], seg.labels["segment_id"])
    assert again.labels["segment"].tolist() == seg.labels["segment"].tolist()


def test_predict_on_new_accounts(book):
    acc = book.accounts
    fit_part, new_part = acc.iloc[:1000], acc.iloc[1000:]
    model = AccountSegmenter(k=4, seed=0).fit(fit_part)
    pred = model.predict(new_part)
    assert pred.shape == (len(new_part),) and set(np.unique(pred)) <= set(range(4))
    # Predict equals what a model fitted on everything says for most accounts (same structure).
    full = AccountSegmenter(k=4, seed=0).fit(acc).labels_[1000:]
    assert adjusted_rand_score(full, pred) > 0.7
    # New accounts with gaps are still labelled (unknowns imputed at the median); a big one lands on top.
    odd = pd.DataFrame({"account_id": ["BIG", "GAP"], "revenue_12m": [5e6, 1e4], "potential": [np.nan, np.nan],
                        "service_need": [400.0, np.nan]})
    big, gap = model.predict(odd)
    assert big == 0 and 0 <= gap < 4


def test_rename_and_errors(book):
    seg = segment(book, k=3, names={1: "Core accounts"}, stability_runs=0)
    assert seg.profiles.loc[1, "segment"] == "Core accounts"
    assert (seg.labels.loc[seg.labels["segment_id"] == 1, "segment"] == "Core accounts").all()
    again = rename(seg, {"0": "Key"})
    assert again.profiles["segment"].tolist()[:2] == ["Key", "Core accounts"]
    assert again.coverage["segment"].tolist()[:2] == ["Key", "Core accounts"]
    assert again.params["names"] == {"1": "Core accounts", "0": "Key"}
    with pytest.raises(ValueError, match="cannot share the name"):
        rename(seg, {0: "Core accounts"})
    with pytest.raises(ValueError, match="no segment 7"):
        rename(seg, {7: "x"})


def test_bad_parameters_give_plain_messages(book):
    with pytest.raises(ValueError, match="unknown segmentation method"):
        segment(book, method="dbscan")
    with pytest.raises(ValueError, match="unknown feature"):
        segment(book, features="revenue,colour")
    with pytest.raises(ValueError, match="only 3 accounts"):
        segment(_book(_accounts(3)), k=4)
    with pytest.raises(ValueError, match="whole number"):
        segment(book, k="many")
    acc = _accounts(50).drop(columns=["service_need"])
    with pytest.raises(ValueError, match="service_need"):
        segment(_book(acc), method="value-need")
    with pytest.raises(ValueError, match="no data for feature"):
        segment(_book(acc), features=["revenue", "service_need"])


def test_features_parameter_and_defaults_follow_the_book(book):
    seg = segment(book, features="revenue,service_need", stability_runs=0)
    assert seg.quality["features"] == ["revenue", "service_need"]
    seg = segment(book, features=["revenue", "growth", "whitespace"], stability_runs=0)
    assert seg.quality["features"] == ["revenue", "growth", "whitespace"]
    acc = _accounts(300).drop(columns=["potential"])
    seg = segment(_book(acc), stability_runs=0)
    assert seg.quality["features"] == ["revenue", "service_need"]


def test_abc_tiers_respect_cut_points(book):
    seg = segment(book, method="abc", abc_cuts=(0.7, 0.9), stability_runs=0)
    rev = book.accounts["revenue_12m"].to_numpy()
    lab = seg.labels["segment_id"].to_numpy()
    assert lab.max() == 2
    # Tiers are revenue bands: every A account earns at least as much as every B account, B ≥ C.
    assert rev[lab == 0].min() >= rev[lab == 1].max() >= rev[lab == 2].max()
    share = seg.profiles["revenue_share"].to_numpy()
    # A holds the accounts making the top 70 %: it reaches 70 % and the smallest A account is what crosses it.
    assert share[0] >= 0.7
    assert share[0] - rev[lab == 0].min() / rev.sum() < 0.7
    assert share[0] + share[1] >= 0.9
    assert seg.profiles.loc[0, "segment"].startswith("A")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(v=st.floats(1e3, 1e6), n=st.floats(1.0, 500.0), grid=st.sampled_from([2, 3]), seed=st.integers(0, 50))
def test_value_need_cells_respect_user_cut_points(v, n, grid, seed):
    acc = _accounts(200, seed=seed)
    value_cuts = [v] if grid == 2 else [v, v * 3]
    need_cuts = [n] if grid == 2 else [n, n * 2]
    seg = segment(_book(acc), method="value-need", grid=grid, value_cuts=value_cuts, need_cuts=need_cuts,
                  stability_runs=0)
    lab = seg.labels["segment_id"].to_numpy()
    rev, need = acc["revenue_12m"].to_numpy(), acc["service_need"].to_numpy()
    v_level = (grid - 1) - lab // grid  # 0 = low value
    n_level = (grid - 1) - lab % grid
    assert np.array_equal(v_level, np.searchsorted(value_cuts, rev, side="right"))
    assert np.array_equal(n_level, np.searchsorted(need_cuts, need, side="right"))
    assert len(seg.profiles) == grid * grid


@settings(max_examples=10, deadline=None)
@given(n=st.integers(5, 400), k=st.integers(1, 6), seed=st.integers(0, 1000),
       method=st.sampled_from(["kmeans", "gmm", "hierarchical", "abc", "value-need"]))
def test_property_labels_cover_every_account(n, k, seed, method):
    acc = _accounts(n, seed=seed)
    k = min(k, n)
    seg = segment(_book(acc), method=method, k=k, seed=seed, stability_runs=1)
    assert len(seg.labels) == n and seg.labels["segment_id"].notna().all()
    assert seg.labels["segment_id"].between(0, len(seg.profiles) - 1).all()
    assert seg.profiles["n_accounts"].sum() == n
    assert seg.profiles["segment"].is_unique


def test_coverage_defaults_from_need_and_practice_and_edits(book):
    seg = segment(book, k=4, stability_runs=0)
    cov = seg.coverage
    # Hours per account default to the segment's mean service need; the ratio follows from role capacity.
    need = seg.profiles.set_index("segment_id")["service_need_mean"]
    np.testing.assert_allclose(cov["hours_per_account"], need.reindex(cov["segment_id"]).to_numpy())
    np.testing.assert_allclose(cov["hours_per_account"] * cov["accounts_per_manager"], cov["reference_hours"])
    kam_cap = book.managers.loc[book.managers["role"] == "Key Account Manager", "capacity_hours"].median()
    assert cov.loc[0, "reference_hours"] == kam_cap
    assert cov.loc[0, "practice_range"] == "1–8"
    assert cov.loc[0, "outside_practice"] == (not 1 <= cov.loc[0, "accounts_per_manager"] <= 8)
    # Without service need in the book the practice ratios apply.
    no_need = _accounts(400).drop(columns=["service_need"])
    pc = segment(_book(no_need), k=4, stability_runs=0).coverage
    from workbench.segment import COVERAGE_PRACTICE

    assert (pc["accounts_per_manager"] == pc["tier"].map(
        lambda t: COVERAGE_PRACTICE[t]["accounts_per_manager"])).all()
    assert not pc["outside_practice"].any()
    edited = set_coverage(seg, {0: {"accounts_per_manager": 4}, 3: {"role": "Account Manager",
                                                                    "hours_per_account": 10}}, book.managers)
    c = edited.coverage.set_index("segment_id")
    assert c.loc[0, "accounts_per_manager"] == 4
    assert c.loc[3, "role"] == "Account Manager" and c.loc[3, "hours_per_account"] == pytest.approx(10)
    assert edited.params["coverage"]["0"] == {"accounts_per_manager": 4}
    with pytest.raises(ValueError, match="positive number"):
        set_coverage(seg, {0: {"accounts_per_manager": 0}}, book.managers)
    with pytest.raises(ValueError, match="no segment 9"):
        set_coverage(seg, {9: {"role": "Inside Sales"}}, book.managers)
    # segment(coverage=...) gives the same model as editing afterwards
    direct = segment(book, k=4, stability_runs=0, coverage={0: {"accounts_per_manager": 4},
                                                            3: {"role": "Account Manager", "hours_per_account": 10}})
    pd.testing.assert_frame_equal(direct.coverage, edited.coverage)


def test_capacity_gap_against_the_team():
    cov = pd.DataFrame({"segment_id": [0, 1, 2], "segment": ["S", "M", "L"], "role": list(ROLES),
                        "n_accounts": [10, 100, 600], "hours_per_account": [250.0, 20.0, 5.0],
                        "hours_needed": [2500.0, 2000.0, 3000.0], "headcount_needed": [2.0, 1.25, 2.0]})
    managers = pd.DataFrame({"manager_id": ["a", "b", "c", "d"], "name": "x",
                             "role": ["Key Account Manager", "Inside Sales", "Inside Sales", "Team Lead"],
                             "capacity_hours": [1250.0, 1500.0, 1500.0, 1000.0]})
    gap = capacity_gap(cov, managers).set_index("role")
    assert list(gap.index) == [*ROLES, "Team Lead"]
    assert gap.loc["Key Account Manager", "hours_gap"] == 1250.0
    assert gap.loc["Key Account Manager", "headcount_gap"] == 1.0
    assert gap.loc["Account Manager", "headcount_current"] == 0
    assert gap.loc["Inside Sales", "hours_gap"] == 0.0
    assert gap.loc["Team Lead", "hours_needed"] == 0.0
    # a team without roles serves every segment (as the reallocation treats it): one row for the whole team
    from workbench.segment.profiles import ANY_ROLE
    whole = capacity_gap(cov, managers.assign(role=pd.NA)).set_index("role")
    assert list(whole.index) == [ANY_ROLE]
    assert whole.loc[ANY_ROLE, "hours_needed"] == 7500.0 and whole.loc[ANY_ROLE, "hours_available"] == 5250.0
    assert whole.loc[ANY_ROLE, "accounts"] == 710 and whole.loc[ANY_ROLE, "headcount_current"] == 4
    assert list(capacity_gap(cov, managers.drop(columns="role")).set_index("role").index) == [ANY_ROLE]


def test_scores_match_scikit_learn():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(c, 0.5, (300, 3)) for c in (0, 3, 6)]).astype(np.float32)
    labels = np.repeat([0, 1, 2], 300)
    rng.shuffle(labels[:50])
    sc = cluster_scores(X, labels, 3)
    assert sc["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(X, labels), rel=1e-5)
    assert sc["davies_bouldin"] == pytest.approx(davies_bouldin_score(X, labels), rel=1e-5)
    other = (labels + (X[:, 0] > 3)) % 3
    s1, s2 = silhouette_many(X, [labels, other])
    assert s1 == pytest.approx(silhouette_score(X, labels), abs=1e-4)
    assert s2 == pytest.approx(silhouette_score(X, other), abs=1e-4)


def test_fast_kmeans_matches_scikit_learn_inertia():
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(c, 1.0, (10_000, 4)) for c in (0, 2, 5, 9)]).astype(np.float32)
    _, _, d2 = kmeans_fit(X, 6, seed=0, sample_size=5_000)
    with single_thread():
        ref = KMeans(6, n_init=10, random_state=0).fit(X).inertia_
    assert d2.sum() <= ref * 1.01


def test_auto_k_scores_and_choice(book):
    seg = segment(book, k="auto", stability_runs=0)
    ks = pd.DataFrame(seg.quality["k_scores"])
    assert ks["k"].tolist() == list(range(2, 11))
    assert ks["chosen"].sum() == 1
    chosen = int(ks.loc[ks["chosen"], "k"].iloc[0])
    assert chosen == seg.quality["k"] == len(seg.profiles)
    assert ks.loc[ks["chosen"], "rank_sum"].iloc[0] == ks["rank_sum"].min()
    assert ks["silhouette"].between(-1, 1).all()


def test_stability_warning_when_segments_are_arbitrary():
    # Uniform noise has no clusters: 8 segments of it move around between refits.
    rng = np.random.default_rng(0)
    n = 600
    acc = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "name": "x",
                        "revenue_12m": np.exp(rng.uniform(5, 6, n)), "potential": np.exp(rng.uniform(5, 6, n)),
                        "service_need": np.exp(rng.uniform(1, 2, n))})
    seg = segment(_book(acc), k=8, stability_runs=4)
    assert seg.quality["stability"] < 0.8
    assert "stable" in seg.quality["warning"]
    planted = segment(_book(_accounts(600)), k=2, stability_runs=4)
    assert planted.quality["stability"] is not None


def test_chart_builders_stay_within_mark_budget(book):
    from workbench.report.charts import MAX_MARKS
    from workbench.report.charts.segment import (
        capacity_gap_chart,
        k_selection,
        scatter_sample,
        segment_scatter,
        segment_sizes,
    )

    big = generate(n_accounts=12_000, n_managers=60, seed=3).book()
    seg = segment(big, k=6, stability_runs=0)
    pts = scatter_sample(big.accounts, seg.labels)
    assert len(pts) <= MAX_MARKS
    assert set(pts["segment_id"]) == set(range(6))  # every segment keeps points, even a small one
    assert pts.equals(scatter_sample(big.accounts, seg.labels))  # deterministic
    d = segment_scatter(pts, big.n_accounts, brush=True).to_dict()
    data = next(iter(d["datasets"].values()))
    assert len(data) == len(pts) and d["mark"]["type"] == "circle"
    assert d["encoding"]["x"]["field"] == "revenue_12m" and d["encoding"]["x"]["scale"]["type"] == "log"
    assert pts["revenue_12m"].min() >= 100 and pts["service_need"].min() >= 0.5  # log axes: zeros on the floor
    assert d["params"][0]["name"] == "brush" and "12,000" in d["title"]["subtitle"]
    auto = segment(book, k="auto", stability_runs=0)
    kd = k_selection(auto.quality["k_scores"]).to_dict()
    kdata = next(iter(kd["datasets"].values()))
    assert len(kdata) == 27 and {r["score"] for r in kdata} == {"Calinski–Harabasz ↑", "Davies–Bouldin ↓",
                                                                "Silhouette (sample) ↑"}
    sd = segment_sizes(seg.profiles).to_dict()
    assert len(next(iter(sd["datasets"].values()))) == 12
    gap = capacity_gap(seg.coverage, big.managers)
    gd = capacity_gap_chart(gap).to_dict()
    rows = next(iter(gd["datasets"].values()))
    assert len(rows) == 2 * len(gap) and {r["what"] for r in rows} == {"needed", "current team"}


def test_cli_segment_writes_results_and_reapplies(book, tmp_path, capsys):
    from workbench.book import save_book
    from workbench.cli import main

    folder = save_book(book, tmp_path / "book", fmt="csv")
    out = tmp_path / "out"
    assert main(["segment", str(folder), "--k", "3", "--names", '{"0": "Key accounts"}', "--out", str(out),
                 "--stability-runs", "2"]) == 0
    text = capsys.readouterr().out
    assert "0 Key accounts:" in text and "stability" in text
    labels = pd.read_csv(out / "segments.csv")
    assert len(labels) == book.n_accounts and labels["segment_id"].max() == 2
    for f in ("profiles.csv", "coverage.csv", "capacity_gap.csv", "segmentation/meta.json"):
        assert (out / f).exists()
    assert set(pd.read_csv(out / "coverage.csv")["role"]) <= set(ROLES)
    again = tmp_path / "again"
    assert main(["segment", str(folder), "--apply", str(out / "segmentation"), "--out", str(again)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(again / "segments.csv"), labels)
    assert main(["segment", str(folder), "--method", "abc", "--abc-cuts", "0.6,0.9", "--out", str(tmp_path / "abc")]) == 0
    assert main(["segment", str(folder), "--k", "auto", "--features", "revenue,service_need",
                 "--out", str(tmp_path / "auto")]) == 0
    capsys.readouterr()
    assert main(["segment", str(folder), "--features", "revenue,colour", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown feature(s) colour" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["segment", str(folder), "--k", "many", "--out", str(tmp_path / "x")])


def test_pipeline_passes_segment_settings(book):
    from workbench.pipeline import merge_params, set_param

    params = merge_params({})
    set_param(params, "segment.k=auto")
    set_param(params, 'segment.features=["revenue", "service_need"]')
    seg = segment(book, **params["segment"])
    assert seg.params["k"] == "auto" and seg.quality["k"] == len(seg.profiles)
    assert seg.quality["features"] == ["revenue", "service_need"]


def test_accounts_in_region_and_progress(book):
    from workbench.segment import accounts_in_region

    stages = []
    seg = segment(book, k=3, stability_runs=1, progress=lambda stage, frac: stages.append((stage, frac)))
    assert [s for s, _ in stages] == ["fit", "stability", "profiles", "done"]
    assert [f for _, f in stages] == sorted(f for _, f in stages) and stages[-1][1] == 1.0
    acc = book.accounts
    rev, need = acc["revenue_12m"].to_numpy(), acc["service_need"].to_numpy()
    found = accounts_in_region(acc, seg, revenue=(1e4, 1e6), need=(5, 100), limit=25)
    inside = (rev >= 1e4) & (rev <= 1e6) & (need >= 5) & (need <= 100)
    assert found.attrs["matches"] == int(inside.sum()) and len(found) == 25
    # the 25 largest accounts inside the region, largest first, with their segment
    assert found["revenue_12m"].tolist() == sorted(rev[inside], reverse=True)[:25]
    lab = seg.labels.set_index("account_id")["segment"]
    assert (found["segment"].to_numpy() == lab.loc[found["account_id"]].to_numpy()).all()
    only = accounts_in_region(acc, seg, segments=[2], limit=10_000)
    assert only.attrs["matches"] == int((seg.labels["segment_id"] == 2).sum())


def test_auto_k_keeps_segments_big_enough_to_plan_for():
    # the Maven CRM book: 85 accounts, and k="auto" chose 9 segments of about 9 accounts each
    from workbench.segment.segmenter import AUTO_MIN_SEGMENT

    small = generate(n_accounts=85, n_managers=5, seed=3).book()
    seg = segment(small, k="auto")
    k = seg.profiles["segment_id"].nunique()
    assert 2 <= k <= 85 // AUTO_MIN_SEGMENT
    assert max(r["k"] for r in seg.quality["k_scores"]) == 85 // AUTO_MIN_SEGMENT
