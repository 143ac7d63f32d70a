"""The simulator: contract shape, determinism, and the properties that make the sample realistic."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.contract import ACCOUNT_HISTORY, ACCOUNTS, LOGS, RECORD_ACTIONS, SEGMENTS
from pipeline.config import Featurize, Sample, load_params
from simulator import simulate_to_dir, stats
from simulator.calendar import month_start_days, to_date

PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
LOG_FILES = [t.name for t in LOGS]


def _small(**update) -> tuple[Sample, Featurize]:
    cfg = PARAMS.sample.model_copy(update={"n_accounts": 200, "months": 12, "truth_paths": 50, **update})
    first = to_date(int(month_start_days(cfg.start, 3)))
    return cfg, PARAMS.featurize.model_copy(update={"first_observation": first})


def _simulate(root: Path, cfg: Sample, featurize: Featurize) -> tuple[Path, Path]:
    sample, truth = root / "sample", root / "truth"
    simulate_to_dir(cfg, featurize, sample, truth)
    return sample, truth


def _as_of(cfg: Sample) -> dt.date:
    return to_date(int(month_start_days(cfg.start, cfg.months)))


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, Path, Sample]:
    cfg, featurize = _small()
    return (*_simulate(tmp_path_factory.mktemp("small"), cfg, featurize), cfg)


@pytest.fixture(scope="module")
def default(tmp_path_factory) -> tuple[Path, Path, Sample]:
    """The default sample of params.yaml (a few seconds): realism is checked where it is claimed."""
    return (*_simulate(tmp_path_factory.mktemp("default"), PARAMS.sample, PARAMS.featurize), PARAMS.sample)


def _digest(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.glob("*.parquet"))}


def _history(sample: Path) -> pd.DataFrame:
    return pq.read_table(sample / "account_history.parquet").to_pandas()


def _logins_per_account_month(sample: Path) -> pd.DataFrame:
    logins = pq.read_table(sample / "logins.parquet", columns=["account_id", "timestamp"]).to_pandas()
    month = logins["timestamp"].dt.tz_localize(None).dt.to_period("M")
    return logins.groupby([logins["account_id"], month]).size().rename("logins").reset_index()


# --- contract ---------------------------------------------------------------------------------------------


def test_writes_every_contract_column_with_its_type(small):
    sample, truth, _ = small
    accounts = pq.read_table(sample / "accounts.parquet")
    assert set(ACCOUNTS.columns) | set(ACCOUNTS.optional) == set(accounts.column_names)
    assert accounts.schema.field("contract_start").type == pa.date32()
    history = pq.read_schema(sample / "account_history.parquet")
    assert list(ACCOUNT_HISTORY.columns) == history.names
    assert [history.field(c).type for c in ("effective_date", "seats", "mrr")] == [
        pa.date32(),
        pa.int64(),
        pa.float64(),
    ]
    for table in LOGS:
        schema = pq.read_schema(sample / f"{table.name}.parquet")
        assert list(table.columns) == schema.names
        assert schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert pq.read_schema(truth / "truth.parquet").names == ["account_id", "observation_date", "p_churn"]


def test_categorical_values_are_the_contracts(small):
    sample, _, _ = small
    accounts = stats.read_accounts(sample)
    assert set(accounts["segment"]) <= set(SEGMENTS)
    assert set(accounts["contract_type"]) <= {"monthly", "annual"}
    records = pq.read_table(sample / "record_events.parquet", columns=["action"]).to_pandas()
    assert set(records["action"]) == set(RECORD_ACTIONS)
    features = set(
        pq.read_table(sample / "feature_events.parquet", columns=["feature"]).column(0).to_pylist()
    )
    assert set(PARAMS.featurize.core_features) <= features and len(features) >= 8


@pytest.mark.parametrize("name", LOG_FILES)
def test_logs_are_sorted_by_account_time_user(small, name):
    sample, _, _ = small
    log = pq.read_table(
        sample / f"{name}.parquet", columns=["account_id", "user_id", "timestamp"]
    ).to_pandas()
    ordered = log.sort_values(["account_id", "timestamp", "user_id"], kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(log, ordered)
    assert (log["user_id"].str.slice(0, 7) == log["account_id"]).all()


@pytest.mark.parametrize("name", LOG_FILES)
def test_events_only_between_contract_start_and_churn(small, name):
    sample, _, cfg = small
    accounts = stats.read_accounts(sample).set_index("account_id")
    log = pq.read_table(sample / f"{name}.parquet", columns=["account_id", "timestamp"]).to_pandas()
    day = log["timestamp"].dt.tz_localize(None).dt.floor("D")
    start = pd.to_datetime(log["account_id"].map(accounts["contract_start"]))
    churn = pd.to_datetime(log["account_id"].map(accounts["churn_date"]))
    assert (day >= start).all()
    assert (churn.isna() | (day < churn)).all(), "an account produced events on or after its churn date"
    assert (day < pd.Timestamp(_as_of(cfg))).all()


def test_churn_happens_on_a_renewal_date(small):
    accounts = stats.read_accounts(small[0])
    churned = accounts.dropna(subset=["churn_date"])
    assert len(churned) > 0
    assert (churned["renewal_date"] == churned["churn_date"]).all()
    assert (
        pd.to_datetime(churned["churn_date"]).dt.day == pd.to_datetime(churned["contract_start"]).dt.day
    ).all()
    active = accounts[accounts["churn_date"].isna()]
    assert (active["renewal_date"] >= _as_of(small[2])).all()


def test_writing_is_atomic_and_replaces_the_directory(tmp_path):
    cfg, featurize = _small(n_accounts=20, months=5)
    sample, _ = _simulate(tmp_path, cfg, featurize)
    (sample / "stale.txt").write_text("left over")
    _simulate(tmp_path, cfg, featurize)
    assert not (sample / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample", "truth"]


# --- determinism ------------------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path):
    cfg, featurize = _small(n_accounts=60, months=6, chunk_accounts=25)
    first = _simulate(tmp_path / "a", cfg, featurize)
    second = _simulate(tmp_path / "b", cfg, featurize)
    assert "account_history.parquet" in _digest(first[0])
    for a, b in zip(first, second, strict=True):
        assert _digest(a) == _digest(b)
    other = _simulate(tmp_path / "c", cfg.model_copy(update={"seed": cfg.seed + 1}), featurize)
    assert _digest(first[0])["logins.parquet"] != _digest(other[0])["logins.parquet"]


def test_chunking_changes_neither_accounts_nor_truth(tmp_path):
    cfg, featurize = _small(n_accounts=60, months=6)
    one = _simulate(tmp_path / "one", cfg, featurize)
    many = _simulate(tmp_path / "many", cfg.model_copy(update={"chunk_accounts": 7}), featurize)
    for name in ("accounts.parquet", "account_history.parquet"):
        assert _digest(one[0])[name] == _digest(many[0])[name]
    assert _digest(one[1]) == _digest(many[1])


# --- account history ----------------------------------------------------------------------------------------


def test_history_is_sorted_and_has_one_row_per_account_and_date(small):
    history = _history(small[0])
    ordered = history.sort_values(["account_id", "effective_date"], kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(history, ordered)
    assert not history.duplicated(["account_id", "effective_date"]).any()


def test_history_starts_at_contract_start_for_every_account(small):
    accounts = stats.read_accounts(small[0]).set_index("account_id")
    first = _history(small[0]).groupby("account_id").first()
    assert set(first.index) == set(accounts.index)
    assert (first["effective_date"] == accounts.loc[first.index, "contract_start"]).all()


def test_history_last_row_equals_the_accounts_current_values(small):
    accounts = stats.read_accounts(small[0]).set_index("account_id")
    last = _history(small[0]).groupby("account_id").last()
    current = accounts.loc[last.index, ["seats", "mrr", "plan"]]
    pd.testing.assert_frame_equal(last[["seats", "mrr", "plan"]], current, check_exact=True)


def test_history_changes_fall_on_renewals_before_churn_and_as_of(small):
    sample, _, cfg = small
    accounts = stats.read_accounts(sample).set_index("account_id")
    history = _history(sample)
    changes = history[history.duplicated("account_id")]
    assert len(changes) > 0
    day = pd.to_datetime(changes["effective_date"])
    churn = pd.to_datetime(changes["account_id"].map(accounts["churn_date"]))
    start = pd.to_datetime(changes["account_id"].map(accounts["contract_start"]))
    assert (churn.isna() | (day < churn)).all(), "a seat change on or after the churn date"
    assert (day < pd.Timestamp(_as_of(cfg))).all()
    assert (day.dt.day == start.dt.day).all()
    # Every row after the first records a change of seats (the simulator only downgrades).
    previous = history.groupby("account_id")["seats"].shift()
    assert (history.loc[changes.index, "seats"] < previous.loc[changes.index]).all()


# --- truth ------------------------------------------------------------------------------------------------


def test_truth_covers_exactly_the_observation_grid(small):
    sample, truth_dir, cfg = small
    accounts = stats.read_accounts(sample)
    truth = pq.read_table(truth_dir / "truth.parquet").to_pandas()
    dates = pd.date_range(pd.Timestamp(_small()[1].first_observation), pd.Timestamp(_as_of(cfg)), freq="MS")
    start, churn = pd.to_datetime(accounts["contract_start"]), pd.to_datetime(accounts["churn_date"])
    grid = {
        (a, t.date())
        for t in dates
        for a in accounts.loc[(start < t) & (churn.isna() | (churn >= t)), "account_id"]
    }
    assert set(zip(truth["account_id"], truth["observation_date"], strict=True)) == grid
    assert len(truth) == len(grid)
    assert truth["p_churn"].between(0, 1).all()


def test_truth_is_calibrated_against_realised_labels(default):
    sample, truth, cfg = default
    rows = stats.labelled_truth(
        sample, truth, PARAMS.featurize.lead_days, PARAMS.featurize.horizon_days, _as_of(cfg)
    )
    known = rows.dropna(subset=["label"])
    # ~25k labelled rows: the binomial noise of the label mean is below 0.002.
    assert known["p_churn"].mean() == pytest.approx(known["label"].astype(float).mean(), abs=0.01)


def test_oracle_auc_is_realistic_on_the_default_sample(default):
    sample, truth, cfg = default
    rows = stats.labelled_truth(
        sample, truth, PARAMS.featurize.lead_days, PARAMS.featurize.horizon_days, _as_of(cfg)
    )
    assert 0.80 <= stats.oracle_metrics(rows, last_months=3)["oracle_auc"] <= 0.92


# --- realism ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "low", "high"),
    [("smb", 0.02, 0.05), ("mid_market", 0.008, 0.025), ("enterprise", 0.002, 0.012)],
)
def test_monthly_churn_per_segment_is_in_range(default, segment, low, high):
    sample, _, cfg = default
    rates = stats.monthly_churn_by_segment(stats.read_accounts(sample), cfg.start, cfg.months)
    assert low <= rates[segment] <= high


def test_segments_have_realistic_shares(default):
    shares = stats.read_accounts(default[0])["segment"].value_counts(normalize=True)
    assert shares["smb"] > shares["mid_market"] > shares["enterprise"] > 0.05


def test_activity_declines_before_churn(default):
    sample, _, _ = default
    accounts = stats.read_accounts(sample)
    churn = pd.to_datetime(accounts.set_index("account_id")["churn_date"]).dropna().dt.to_period("M")
    per_month = _logins_per_account_month(sample)
    per_month = per_month[per_month["account_id"].isin(churn.index)]
    before = (per_month["account_id"].map(churn) - per_month["timestamp"]).apply(lambda d: d.n)
    mean_by_lag = per_month.groupby(before)["logins"].mean()
    # Lag 0 is the (partial) churn month itself; compare full months.
    assert mean_by_lag.loc[1:3].mean() < 0.85 * mean_by_lag.loc[7:12].mean()


def test_activity_is_heavy_tailed_across_accounts(default):
    per_account = _logins_per_account_month(default[0]).groupby("account_id")["logins"].mean()
    top_decile = per_account.sort_values(ascending=False).head(len(per_account) // 10)
    assert top_decile.sum() / per_account.sum() > 0.4
    assert per_account.max() > 20 * per_account.median()


def test_some_accounts_downgrade_instead_of_leaving(default):
    accounts = stats.read_accounts(default[0]).set_index("account_id")
    # mrr is seats times a list price; a downgrade lowers seats while the account stays.
    assert accounts["seats"].min() >= 1
    assert (accounts["mrr"] > 0).all()
    changed = _history(default[0]).groupby("account_id").size().loc[lambda n: n > 1].index
    assert accounts.loc[changed, "churn_date"].isna().sum() > 50


def test_no_static_column_gives_the_label_away(default):
    sample, truth, cfg = default
    rows = stats.labelled_truth(
        sample, truth, PARAMS.featurize.lead_days, PARAMS.featurize.horizon_days, _as_of(cfg)
    )
    known = rows.dropna(subset=["label"]).merge(stats.read_accounts(sample), on="account_id")
    tenure = (pd.to_datetime(known["observation_date"]) - pd.to_datetime(known["contract_start"])).dt.days
    label = known["label"].to_numpy(dtype=int)
    for column in (known["seats"], known["mrr"], tenure, known["segment"].astype("category").cat.codes):
        assert abs(stats.auc(column.to_numpy(dtype=float), label) - 0.5) < 0.3
