"""Feature families on tiny hand-built frames with known answers; registry and input checks."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import ibis
import pandas as pd
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from features.build import build_features
from features.engine import connect
from features.registry import FEATURES, describe, feature_specs
from pipeline.cli import app
from pipeline.config import Featurize, load_params

CFG = load_params().featurize
T = pd.Timestamp("2024-06-01", tz="UTC")  # the observation date used throughout


def accounts_frame(**overrides) -> pd.DataFrame:
    row = {
        "account_id": "a",
        "account_name": "Acme",
        "segment": "smb",
        "plan": "starter",
        "seats": 10,
        "mrr": 100.0,
        "contract_type": "annual",
        "contract_start": dt.date(2024, 1, 1),
        "renewal_date": dt.date(2025, 1, 1),
        "churn_date": None,
    }
    row.update(overrides)
    frame = pd.DataFrame([row])
    frame["churn_date"] = frame["churn_date"].astype("object")
    return frame


def events(rows: list[tuple], columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows of (account_id, user_id, timestamp-like, *extra) -> a log frame with UTC timestamps."""
    frame = pd.DataFrame(rows, columns=["account_id", "user_id", "timestamp", *columns])
    if frame.empty:
        frame = frame.astype({"account_id": "str", "user_id": "str", **dict.fromkeys(columns, "str")})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return frame


def ago(days: float, at: pd.Timestamp = T) -> pd.Timestamp:
    return at - pd.Timedelta(days=days)


def compute(
    logins=(), records=(), feature_events=(), accounts=None, dates=(T,), cfg=CFG, con=None, history=None
) -> pd.DataFrame:
    """Run build_features on in-memory frames; one row per (account, date), indexed by date."""
    accounts = accounts_frame() if accounts is None else accounts
    grid = pd.DataFrame(
        [(a, d) for d in dates for a in accounts["account_id"]], columns=["account_id", "observation_date"]
    )
    grid["observation_date"] = grid["observation_date"].astype("datetime64[us, UTC]")
    tables = {
        "accounts": ibis.memtable(accounts),
        "logins": ibis.memtable(events(list(logins), ())),
        "record_events": ibis.memtable(events(list(records), ("object_type", "action"))),
        "feature_events": ibis.memtable(events(list(feature_events), ("feature",))),
    }
    if history is not None:
        columns = ["account_id", "effective_date", "seats", "mrr", "plan"]
        tables["account_history"] = ibis.memtable(pd.DataFrame(history, columns=columns))
    con = con or connect("duckdb")
    return con.to_pyarrow(build_features(tables, ibis.memtable(grid), cfg)).to_pandas()


def one(frame: pd.DataFrame) -> pd.Series:
    assert len(frame) == 1
    return frame.iloc[0]


# ---------------------------------------------------------------- registry


def test_registry_covers_every_output_column_in_order():
    out = compute()
    assert list(out.columns[2:]) == [spec.name for spec in feature_specs(CFG)]
    assert 60 <= len(out.columns) - 2 <= 120


def test_registry_entries_are_plain_and_complete():
    for name, spec in FEATURES.items():
        assert spec.name == name
        assert spec.family in {"account", "logins", "records", "adoption", "rates"}
        assert spec.description and "{" not in spec.description and len(spec.description) < 100
        assert spec.unit


def test_describe_names_the_unknown_column():
    with pytest.raises(KeyError, match="no_such_feature"):
        describe("no_such_feature")


def test_describe_recognises_non_default_windows_and_lists():
    assert describe("logins_count_14d").description == "Logins in the last 14 days"
    assert (
        describe("records_invoices_delete_count_30d").description
        == "Invoices records deleted in the last 30 days"
    )


def test_healthy_direction_follows_the_name_whatever_the_settings():
    assert describe("logins_count_14d").healthy_when == "high"
    assert describe("days_since_last_login").healthy_when == "low"
    assert describe("days_to_first_sso").healthy_when == "low"  # a core feature not in the defaults
    assert describe("records_delete_count_14d").healthy_when is None  # cleaning up, or leaving
    assert describe("records_invoices_delete_count_30d").healthy_when is None
    assert describe("records_invoices_create_count_30d").healthy_when == "high"
    unconstrained = {name for name, spec in FEATURES.items() if spec.healthy_when is None}
    assert {"segment", "plan", "contract_type", "arr", "days_to_renewal"} <= unconstrained
    assert all(spec.healthy_when is None for spec in FEATURES.values() if spec.dtype == "string")


def test_defaults_in_registry_match_params():
    assert [s.name for s in feature_specs(CFG)] == list(FEATURES)


def test_missing_column_raises_and_names_it():
    tables = {
        "accounts": ibis.memtable(accounts_frame().drop(columns=["seats"])),
        "logins": ibis.memtable(events([], ())),
        "record_events": ibis.memtable(events([], ("object_type", "action"))),
        "feature_events": ibis.memtable(events([], ("feature",))),
    }
    grid = ibis.memtable(pd.DataFrame({"account_id": ["a"], "observation_date": [T]}))
    with pytest.raises(KeyError, match="seats"):
        build_features(tables, grid, CFG)


# ---------------------------------------------------------------- logins

LOGINS = [
    ("a", "u1", ago(0)),  # exactly at the cutoff: excluded
    ("a", "u1", ago(1 / 86400)),  # one second before t: yesterday
    ("a", "u1", ago(1)),
    ("a", "u2", ago(3)),
    ("a", "u2", ago(10)),
    ("a", "u3", ago(45)),
    ("a", "u3", ago(89.5)),  # 89.5 days before t: inside the 90-day window
    ("a", "u4", ago(200)),
    ("a", "u1", T + pd.Timedelta(days=2)),  # after t: excluded
]


def test_login_counts_days_and_users_per_window():
    row = one(compute(logins=LOGINS))
    assert (row.logins_count_7d, row.logins_count_30d, row.logins_count_90d) == (3, 4, 6)
    # ago(1s) and ago(1 day) are both on the day before t.
    assert (row.login_days_distinct_7d, row.login_days_distinct_30d, row.login_days_distinct_90d) == (2, 3, 5)
    assert (row.active_users_distinct_7d, row.active_users_distinct_30d, row.active_users_distinct_90d) == (
        2,
        2,
        3,
    )
    assert row.active_users_ratio_30d == pytest.approx(2 / 10)
    assert row.users_activated_count == 4
    assert row.seats_activated_ratio == pytest.approx(0.4)
    assert row.days_since_last_login == 1


def test_login_trend_stickiness_and_weekend_share():
    row = one(compute(logins=LOGINS))
    # last 30 days: 4 logins; the 30 before: 1 (ago 45)
    assert row.logins_change_pct_30d == pytest.approx((4 - 1) / 1)
    assert row.active_users_change_pct_30d == pytest.approx((2 - 1) / 1)
    # daily active users over 30 days: 1 + 1 + 1 (u1 day-1, u2 day-3, u2 day-10) -> 3/30 per day over MAU 2
    assert row.stickiness_dau_mau_30d == pytest.approx((3 / 30) / 2)
    weekend = sum(1 for _, _, ts in LOGINS if ago(90) <= ts < T and ts.day_of_week >= 5)
    assert row.weekend_logins_share_90d == pytest.approx(weekend / 6)


def test_active_users_count_each_user_once_in_each_period():
    logins = [
        *[("a", "both", ago(d)) for d in (2, 5, 40, 50)],  # in the last 30 days and the 30 before
        ("a", "gone", ago(70.5)),  # in neither 30-day period, in the 90 days
        ("a", "back", ago(35)),  # in the 30 days before the last 30 ...
        ("a", "back", ago(0)),  # ... and back exactly at t, which does not count
    ]
    row = one(compute(logins=logins))
    assert (row.active_users_distinct_30d, row.active_users_distinct_90d) == (1, 3)
    assert row.active_users_change_pct_30d == pytest.approx((1 - 2) / 2)


def test_healthy_users_need_enough_login_days_in_28():
    n = CFG.healthy_user_min_days
    logins = [("a", "h", ago(d + 0.5)) for d in range(n)]  # n distinct days
    logins += [("a", "s", ago(d + 0.5)) for d in range(n - 1)]  # one day short
    logins += [("a", "old", ago(27.5 + d)) for d in range(n)]  # only the first is inside 28 days
    row = one(compute(logins=logins))
    assert row.healthy_users_count_28d == 1
    assert row.healthy_users_share_28d == pytest.approx(1 / 3)


def test_no_logins_gives_zero_counts_and_null_recency():
    row = one(compute())
    assert row.logins_count_30d == 0 and row.active_users_distinct_90d == 0
    assert pd.isna(row.days_since_last_login)
    assert pd.isna(row.logins_change_pct_30d)  # no logins before either: no percentage


def test_days_since_last_login_reaches_back_beyond_the_windows():
    row = one(compute(logins=[("a", "u", ago(400.2)), ("a", "u", ago(250.7))]))
    assert row.days_since_last_login == 251  # day numbers: 250.7 days ago is on the day 251 days before t
    assert row.logins_per_day_lifetime == pytest.approx(2 / row.tenure_days)


# ---------------------------------------------------------------- records

RECORDS = [
    ("a", "u1", ago(1), "contacts", "create"),
    ("a", "u1", ago(2), "contacts", "create"),
    ("a", "u2", ago(5), "tasks", "update"),
    ("a", "u2", ago(20), "contacts", "delete"),
    ("a", "u3", ago(40), "notes", "create"),
    ("a", "u3", ago(70), "notes", "create"),
    ("a", "u3", ago(0), "notes", "create"),  # at t: excluded
]


def test_record_counts_net_growth_and_editors():
    row = one(compute(records=RECORDS))
    assert (row.records_create_count_7d, row.records_create_count_30d, row.records_create_count_90d) == (
        2,
        2,
        4,
    )
    assert (row.records_update_count_7d, row.records_delete_count_30d) == (1, 1)
    assert (row.records_net_created_30d, row.records_net_created_90d) == (1, 3)
    assert (row.record_editors_distinct_7d, row.record_editors_distinct_90d) == (2, 3)
    assert row.records_contacts_create_count_30d == 2
    assert row.records_contacts_delete_count_30d == 1
    assert row.records_tasks_update_count_30d == 1
    assert row.records_notes_create_count_30d == 0
    assert row.days_since_last_record_event == 1
    assert row.records_change_pct_30d == pytest.approx((4 - 1) / 1)


def test_record_editors_count_a_user_once_however_many_events_a_day():
    records = [
        ("a", "u1", ago(1.2), "contacts", "create"),  # two events on the day two days before t
        ("a", "u1", ago(1.1), "contacts", "update"),
        ("a", "u1", ago(0.5), "tasks", "create"),  # and one the day before
        ("a", "u1", ago(0), "tasks", "create"),  # at t: excluded
        ("a", "u2", ago(10.5), "notes", "create"),
        ("a", "u2", ago(10.25), "notes", "update"),
    ]
    row = one(compute(records=records))
    assert (row.record_editors_distinct_7d, row.record_editors_distinct_30d) == (1, 2)


@pytest.mark.parametrize(
    ("windows", "expected"),
    [
        # 60 days is also the longest look-back (twice the 30-day trend): summed with the trend
        ((14, 60), {14: (2, 2, 2, 2, 2), 60: (4, 3, 4, 3, 3)}),
        # both windows shorter than the look-back: each summed apart
        ((7, 30), {7: (1, 1, 1, 1, 1), 30: (3, 3, 3, 3, 3)}),
    ],
)
def test_counts_follow_the_configured_windows(windows, expected):
    """An event w days before t is in the w-day window and older ones are not, whatever the windows
    are and however they sit against the longest look-back (61 days is one past the 60-day window)."""
    cfg = CFG.model_copy(update={"windows": windows, "object_type_windows": windows})
    ages = (1, 14, 20)
    feature_events = [("a", "u1", ago(d), "dashboards") for d in ages] + [
        ("a", "u1", ago(45), "reports"),
        ("a", "u1", ago(61), "api"),
    ]
    logins = [("a", f"u{d}", ago(d)) for d in (*ages, 45)]
    records = [("a", "u1", ago(d), "contacts", "create") for d in ages] + [
        ("a", "u1", ago(45), "tasks", "update")
    ]
    row = one(compute(logins=logins, records=records, feature_events=feature_events, cfg=cfg))
    for w, (events, dashboards, logins_count, creates, contacts_creates) in expected.items():
        assert row[f"feature_events_count_{w}d"] == events
        assert row[f"feature_dashboards_uses_{w}d"] == dashboards
        assert row[f"logins_count_{w}d"] == logins_count
        assert row[f"records_create_count_{w}d"] == creates
        assert row[f"records_contacts_create_count_{w}d"] == contacts_creates
        assert row[f"records_tasks_update_count_{w}d"] == (w >= 45)


def test_object_type_windows_are_checked():
    """The per-type windows are a list, checked as `windows` is; the old single-window key says what
    replaced it."""
    params = CFG.model_dump()
    old = {k: v for k, v in params.items() if k != "object_type_windows"} | {"object_type_window_days": 30}
    with pytest.raises(ValidationError, match=r"now featurize.object_type_windows, a list .*\[30\]"):
        Featurize.model_validate(old)
    with pytest.raises(ValidationError, match="object_type_windows: need distinct positive"):
        Featurize.model_validate(params | {"object_type_windows": [30, 30]})
    assert Featurize.model_validate(params | {"object_type_windows": [7, 90]}).object_type_windows == (7, 90)


def test_docs_features_page_is_the_registrys():
    """docs/features.md is what `churn features` writes for the project's params.yaml, so the page
    cannot drift from the registry; the CSV lists the same columns, one row each, in order."""
    root = Path(__file__).resolve().parents[1]
    params = str(root / "params.yaml")
    page = CliRunner().invoke(app, ["features", "--params", params])
    assert page.exit_code == 0, page.output
    assert (root / "docs" / "features.md").read_text(encoding="utf-8") == page.output, (
        "docs/features.md is out of date: run `churn features > docs/features.md`"
    )
    names = [spec.name for spec in feature_specs(CFG)]
    assert [line.split("`")[1] for line in page.output.splitlines() if line.startswith("| `")] == names
    table = CliRunner().invoke(app, ["features", "--params", params, "--format", "csv"])
    assert pd.read_csv(io.StringIO(table.output)).name.tolist() == names


# ---------------------------------------------------------------- adoption

FEATURE_EVENTS = [
    ("a", "u1", pd.Timestamp("2024-01-11", tz="UTC"), "dashboards"),  # 10 days after the start
    ("a", "u1", ago(3), "dashboards"),
    ("a", "u1", ago(4), "dashboards"),
    ("a", "u1", ago(10), "reports"),  # first use of reports: new in the last 30 days
    ("a", "u2", ago(45), "api"),  # used 30-60 days ago, not since: abandoned
    ("a", "u2", ago(0), "workflows"),  # at t: excluded, so workflows is not yet adopted
]


def test_feature_breadth_depth_and_core_use():
    row = one(compute(feature_events=FEATURE_EVENTS))
    assert (
        row.features_used_distinct_7d,
        row.features_used_distinct_30d,
        row.features_used_distinct_90d,
    ) == (1, 2, 3)
    assert (row.feature_events_count_7d, row.feature_events_count_30d) == (2, 3)
    assert (row.feature_dashboards_uses_7d, row.feature_reports_uses_30d, row.feature_workflows_uses_90d) == (
        2,
        1,
        0,
    )
    assert row.core_features_used_distinct_30d == 2


def test_feature_adoption_new_abandoned_and_time_to_value():
    row = one(compute(feature_events=FEATURE_EVENTS))
    assert row.features_adopted_count == 3
    assert row.features_adopted_new_30d == 1
    assert row.features_abandoned_30d == 1
    assert row.days_to_first_dashboards == 10
    assert row.days_to_first_reports == (ago(10).normalize() - pd.Timestamp("2024-01-01", tz="UTC")).days
    assert pd.isna(row.days_to_first_workflows)
    assert row.days_since_last_feature_event == 3


def test_features_are_told_apart_whatever_their_names_and_the_core_list():
    """Features are numbered core first, in list order: a feature that sorts before every core one, a
    core list out of name order and a core feature never used must not mix two features up."""
    cfg = CFG.model_copy(update={"core_features": ["workflows", "never_used", "dashboards"]})
    feature_events = [
        ("a", "u1", ago(2), "aaa_export"),  # not core, and first by name
        ("a", "u1", ago(3), "dashboards"),
        ("a", "u1", ago(4), "dashboards"),
        ("a", "u2", ago(5), "workflows"),
    ]
    row = one(compute(feature_events=feature_events, cfg=cfg))
    assert row.features_used_distinct_7d == 3
    assert row.core_features_used_distinct_30d == 2
    uses = (row.feature_workflows_uses_7d, row.feature_never_used_uses_7d, row.feature_dashboards_uses_7d)
    assert uses == (1, 0, 2)
    assert row.days_to_first_workflows == (ago(5).normalize() - pd.Timestamp("2024-01-01", tz="UTC")).days
    assert pd.isna(row.days_to_first_never_used)


# ---------------------------------------------------------------- account and rates


@pytest.mark.parametrize(
    ("contract_type", "start", "expected_renewal"),
    [
        ("annual", dt.date(2024, 1, 1), 214),  # renews 2025-01-01
        ("annual", dt.date(2023, 6, 1), 0),  # renews on t itself, 2024-06-01
        ("annual", dt.date(2023, 6, 2), 1),
        ("annual", dt.date(2020, 2, 29), 272),  # 2025-02-28: no 29 February in 2025
        ("monthly", dt.date(2024, 5, 1), 0),
        ("monthly", dt.date(2024, 1, 31), 29),  # the 31st: 30 June, the month's last day
        ("monthly", dt.date(2023, 12, 15), 14),
    ],
)
def test_account_attributes_and_renewal(contract_type, start, expected_renewal):
    accounts = accounts_frame(contract_type=contract_type, contract_start=start)
    row = one(compute(accounts=accounts))
    assert row.tenure_days == (T.date() - start).days
    assert (row.segment, row.plan, row.contract_type, row.seats) == ("smb", "starter", contract_type, 10)
    assert (row.mrr, row.arr, row.mrr_per_seat) == (100.0, 1200.0, 10.0)
    assert row.days_to_renewal == expected_renewal


def test_seats_mrr_and_plan_come_from_the_history_as_of_t():
    history = [
        ("a", dt.date(2024, 1, 1), 20, 200.0, "pro"),
        ("a", dt.date(2024, 4, 1), 12, 120.0, "starter"),  # more than 90 days before t: the 'before' values
        ("a", dt.date(2024, 5, 20), 10, 100.0, "starter"),
        ("a", dt.date(2024, 6, 1), 5, 50.0, "basic"),  # on t itself: not yet known
    ]
    row = one(compute(logins=[("a", "u", ago(1))], history=history))
    assert (row.seats, row.mrr, row.plan) == (10, 100.0, "starter")
    assert row.seats_change_90d == 10 - 20  # the last change before t - 90 days is 2024-01-01's
    assert row.logins_count_7d == 1


def test_without_history_before_t_the_accounts_table_values_stand_and_every_feature_is_computed():
    history = [("a", dt.date(2024, 7, 1), 3, 30.0, "basic")]  # only after t
    row = one(compute(logins=[("a", "u", ago(1))], history=history))
    assert (row.seats, row.mrr, row.plan) == (10, 100.0, "starter")
    assert row.tenure_days == (T.date() - dt.date(2024, 1, 1)).days
    assert row.logins_count_7d == 1
    assert pd.isna(row.seats_change_90d)


def test_rates_scale_by_tenure_for_young_accounts():
    young = accounts_frame(contract_start=(T - pd.Timedelta(days=10)).date())
    logins = [("a", "u", ago(d + 0.5)) for d in range(10)]
    row = one(compute(logins=logins, accounts=young))
    assert row.tenure_days == 10
    assert row.logins_per_day_90d == pytest.approx(1.0)  # 10 logins over 10 days, not over 90
    assert row.login_days_share_90d == pytest.approx(1.0)
    assert row.logins_per_day_lifetime == pytest.approx(1.0)


def test_several_dates_and_accounts_are_independent():
    accounts = pd.concat([accounts_frame(), accounts_frame(account_id="b", seats=5)], ignore_index=True)
    dates = (T, T + pd.Timedelta(days=31))
    out = compute(logins=[("a", "u", ago(1)), ("b", "v", ago(-5))], accounts=accounts, dates=dates)
    got = {(r.account_id, r.observation_date.date()): r.logins_count_30d for r in out.itertuples()}
    assert got == {
        ("a", T.date()): 1,
        ("b", T.date()): 0,
        ("a", dates[1].date()): 0,
        ("b", dates[1].date()): 1,
    }
    assert list(out.columns[:2]) == ["account_id", "observation_date"]
