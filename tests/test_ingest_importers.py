"""Importers: subscriptions + events and Segment-style exports, through a mapping file, into clean tables."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest.errors import InputError
from ingest.importers import import_raw
from ingest.subscriptions import label_lifetimes
from ingest.validate import validate_tables
from ingest.write import write_clean

CORPUS = Path(__file__).parent / "corpus"


def run_import(raw: Path, importer: str, clean: Path, as_of: dt.date | None = None) -> dict:
    imported = import_raw(raw, importer, Path("mapping.yaml"), churn_gap_days=30, as_of=as_of)
    write_clean(validate_tables(imported.raws, imported.as_of, 0.5, imported.sources), clean)
    return json.loads((clean / "counts.json").read_text())


def copy_example(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(CORPUS / name, tmp_path / "raw"))


def test_subscriptions_import_derives_lifetimes_churn_and_totals(tmp_path: Path) -> None:
    counts = run_import(CORPUS / "_subscriptions", "subscriptions", tmp_path / "clean")
    accounts = pd.read_parquet(tmp_path / "clean" / "accounts.parquet").set_index("account_id")
    assert list(accounts.index) == ["C001", "C002", "C002#2", "C003", "C004"]
    assert accounts.loc["C001", "churn_date"] is None  # a downgrade is not churn
    assert accounts.loc["C001", "mrr"] == 300.0
    assert accounts.loc["C002", "churn_date"] == dt.date(2023, 6, 1)  # reactivated 3 months later ...
    assert accounts.loc["C002#2", "contract_start"] == dt.date(2023, 9, 1)  # ... as a new lifetime
    assert (accounts.loc["C003", "mrr"], accounts.loc["C003", "seats"]) == (30000.0, 140)  # overlaps add up
    assert accounts.loc["C003", "churn_date"] is None  # renewed 9 days after an end: within the gap
    assert accounts.loc["C004", "churn_date"] == dt.date(2023, 8, 15)
    assert counts["logins"]["quarantined"] == {"after_churn": 2, "unknown_account": 1}
    assert counts["events"] == {
        "read": 18,
        "used": 15,
        "ignored": 2,
        "quarantined": {"unmapped_event_type": 1},
    }
    assert counts["subscriptions"]["quarantined"] == {"negative_count": 1}


def test_a_routed_event_is_quarantined_as_the_user_wrote_it(tmp_path: Path) -> None:
    """A login with an unreadable time is set aside from the logins table, but the quarantine shows the
    events file's own row and column names, where the user can find and fix it."""
    raw = copy_example("_subscriptions", tmp_path)
    n_events = len((raw / "events.csv").read_text().splitlines()) - 1
    with (raw / "events.csv").open("a") as file:
        file.write("C001,u2,yesterday,Logged In\n")
    run_import(raw, "subscriptions", tmp_path / "clean")
    quarantine = pd.read_parquet(tmp_path / "clean" / "quarantine.parquet")
    bad = quarantine[quarantine["reason"] == "unparseable_timestamp"]
    assert bad[["table", "file", "row"]].values.tolist() == [["logins", "events.csv", n_events + 1]]
    assert json.loads(bad.iloc[0]["raw"]) == {
        "account": "C001",
        "user": "u2",
        "ts": "yesterday",
        "event": "Logged In",
    }


def test_subscriptions_bad_rows_are_quarantined_with_what_is_wrong(tmp_path: Path) -> None:
    """A bad date, an end before the start and fractional seats each say so, not one 'invalid_value'."""
    raw = copy_example("_subscriptions", tmp_path)
    bad = [
        "C005,2023-13-01,,100,1,basic,SMB,Epsilon",  # no 13th month
        "C005,2023-05-01,2023-04-01,100,1,basic,SMB,Epsilon",  # ends before it starts
        "C005,2023-05-01,,100,1.5,basic,SMB,Epsilon",
    ]
    with (raw / "subscriptions.csv").open("a") as file:
        file.write("\n".join(bad) + "\n")
    counts = run_import(raw, "subscriptions", tmp_path / "clean")
    assert counts["subscriptions"]["quarantined"] == {
        "negative_count": 1,
        "unparseable_date": 1,
        "end_not_after_start": 1,
        "invalid_value": 1,
    }
    quarantine = pd.read_parquet(tmp_path / "clean" / "quarantine.parquet")
    reasons = quarantine.loc[quarantine["table"] == "subscriptions", "reason"]
    assert sorted(reasons) == sorted(counts["subscriptions"]["quarantined"])


def test_subscriptions_an_event_dated_after_now_neither_sets_as_of_nor_stays(tmp_path: Path) -> None:
    raw = copy_example("_subscriptions", tmp_path)
    events = (raw / "events.csv").read_text().splitlines()
    account, user, ts, event = next(line for line in events[1:] if line.endswith(",Logged In")).split(",")
    late = ",".join([account, user, "2099" + ts[4:], event])
    (raw / "events.csv").write_text("\n".join([*events, late]) + "\n")
    before = run_import(CORPUS / "_subscriptions", "subscriptions", tmp_path / "a")
    after = run_import(raw, "subscriptions", tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["as_of"] == json.loads((tmp_path / "a" / "manifest.json").read_text())["as_of"]
    assert after["logins"]["quarantined"] == {**before["logins"]["quarantined"], "future_timestamp": 1}


def test_subscriptions_events_go_to_the_lifetime_they_fall_in(tmp_path: Path) -> None:
    run_import(CORPUS / "_subscriptions", "subscriptions", tmp_path / "clean")
    logins = pd.read_parquet(tmp_path / "clean" / "logins.parquet")
    c002 = logins[logins["account_id"].str.startswith("C002")]
    assert list(c002["account_id"]) == ["C002", "C002#2"]
    quarantine = pd.read_parquet(tmp_path / "clean" / "quarantine.parquet")
    gap_event = quarantine[(quarantine["file"] == "events.csv") & (quarantine["row"] == 8)]
    assert list(gap_event["reason"]) == ["after_churn"]  # between churn and reactivation


@pytest.mark.parametrize(("gap_days", "lifetimes"), [(29, [1, 2]), (30, [1, 1]), (31, [1, 1])])
def test_new_lifetime_only_after_more_than_the_gap(gap_days: int, lifetimes: list[int]) -> None:
    subs = pd.DataFrame(
        {
            "account": ["A", "A"],
            "start": pd.to_datetime(["2024-01-01", "2024-03-01"]).astype("datetime64[s]"),
            "end": pd.to_datetime(["2024-01-31", None]).astype("datetime64[s]"),
            "row": [1, 2],
        }
    )
    assert label_lifetimes(subs, gap_days)["lifetime"].tolist() == lifetimes  # 30 days without a subscription


def test_recent_end_within_the_gap_is_not_yet_churn() -> None:
    imported = import_raw(
        CORPUS / "_subscriptions", "subscriptions", Path("mapping.yaml"), 30, dt.date(2023, 9, 1)
    )
    accounts = imported.raws["accounts"].frame.set_index("account_id")
    assert pd.isna(accounts.loc["C004", "churn_date"])  # ended 2023-08-15, 17 days before as_of
    assert pd.isna(accounts.loc["C002", "churn_date"]) is False  # the gap before reactivation was longer


def test_segment_import_resolves_groups_and_counts_every_call(tmp_path: Path) -> None:
    counts = run_import(CORPUS / "_segment", "segment", tmp_path / "clean")
    assert counts["segment"] == {"read": 16, "used": 12, "ignored": 2, "quarantined": {"missing_group": 2}}
    logins = pd.read_parquet(tmp_path / "clean" / "logins.parquet")
    first = logins[logins["user_id"] == "u1"].iloc[0]
    assert first["account_id"] == "C001"  # no groupId: the user's group call of 2024-02-01
    features = pd.read_parquet(tmp_path / "clean" / "feature_events.parquet")
    assert "C001" in set(features["account_id"])  # accountId instead of groupId
    for entry in counts.values():
        assert entry["read"] == entry["used"] + entry.get("ignored", 0) + sum(entry["quarantined"].values())


def test_segment_track_before_any_group_call_is_quarantined(tmp_path: Path) -> None:
    run_import(CORPUS / "_segment", "segment", tmp_path / "clean")
    quarantine = pd.read_parquet(tmp_path / "clean" / "quarantine.parquet")
    missing = quarantine[quarantine["reason"] == "missing_group"]
    assert sorted(missing["row"]) == [6, 8]  # u9 never joined a group; u3 joined only later
    assert json.loads(missing.iloc[0]["raw"])["userid"] == "u9"


def test_segment_with_contract_accounts_file(tmp_path: Path) -> None:
    raw = copy_example("_segment", tmp_path)
    (raw / "subscriptions.csv").unlink()
    accounts = "account_id,account_name,segment,plan,seats,mrr,contract_type,contract_start,renewal_date,"
    accounts += "churn_date\n"
    accounts += (
        "C001,Acme,smb,basic,3,300,monthly,2023-01-01,,\nC002,Beta,smb,pro,3,30,monthly,2023-01-01,,\n"
    )
    accounts += "C003,Gamma,enterprise,pro,3,30,annual,2023-01-01,,\n"
    (raw / "accounts.csv").write_text(accounts)
    text = (raw / "mapping.yaml").read_text()
    (raw / "mapping.yaml").write_text(
        text[: text.index("subscriptions:")] + text[text.index("event_types:") :]
    )
    counts = run_import(raw, "segment", tmp_path / "clean")
    assert counts["accounts"]["used"] == 3
    assert "subscriptions" not in counts


def test_missing_mapped_column_names_file_and_column(tmp_path: Path) -> None:
    raw = copy_example("_subscriptions", tmp_path)
    (raw / "events.csv").write_text((raw / "events.csv").read_text().replace("account,user", "acct,user"))
    with pytest.raises(
        InputError, match=r"events\.csv: missing mapped column 'account' \(mapped to account_id\)"
    ):
        run_import(raw, "subscriptions", tmp_path / "clean")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("  login: [Logged In]", "  logins: [Logged In]"), "logins"),
        (lambda t: t.replace("ignore: [Page Viewed]", "ignore: [Page Viewed, Logged In]"), "'Logged In'"),
        (lambda t: t.replace("    mrr: mrr\n", ""), "mrr"),
    ],
)
def test_bad_mapping_file_names_the_key(tmp_path: Path, edit: Callable[[str], str], message: str) -> None:
    raw = copy_example("_subscriptions", tmp_path)
    (raw / "mapping.yaml").write_text(edit((raw / "mapping.yaml").read_text()))
    with pytest.raises(InputError, match=message):
        run_import(raw, "subscriptions", tmp_path / "clean")


def test_missing_mapping_file_is_an_input_error(tmp_path: Path) -> None:
    raw = copy_example("_subscriptions", tmp_path)
    (raw / "mapping.yaml").unlink()
    with pytest.raises(InputError, match="mapping file not found"):
        run_import(raw, "subscriptions", tmp_path / "clean")


def test_unmapped_event_types_beyond_the_share_stop_the_run(tmp_path: Path) -> None:
    raw = copy_example("_subscriptions", tmp_path)
    text = (raw / "mapping.yaml").read_text().replace("  login: [Logged In]\n", "")
    (raw / "mapping.yaml").write_text(text)
    with pytest.raises(InputError, match=r"events\.csv: .* would be quarantined.*unmapped_event_type 12"):
        run_import(raw, "subscriptions", tmp_path / "clean")


def test_import_output_is_byte_identical_on_rerun(tmp_path: Path) -> None:
    run_import(CORPUS / "_segment", "segment", tmp_path / "a")
    run_import(CORPUS / "_segment", "segment", tmp_path / "b")
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name
    assert np.all(pd.read_parquet(tmp_path / "a" / "logins.parquet")["timestamp"].dt.tz is not None)


def test_segment_tracks_and_groups_in_two_csv_files(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "tracks.csv").write_text(
        "userId,event,timestamp,properties\n"
        'u1,Signed In,2024-03-01T09:00:00Z,"{""plan"": 1}"\n'
        "u2,Signed In,2024-03-02T09:00:00Z,{}\n"
        "u3,Signed In,2024-03-02T10:00:00Z,{}\n"
    )
    (raw / "groups.csv").write_text(
        "userId,groupId,timestamp\nu1,C001,2024-02-01T00:00:00Z\nu2,C003,2024-03-01T00:00:00Z\n"
    )
    shutil.copy(CORPUS / "_segment" / "subscriptions.csv", raw / "subscriptions.csv")
    mapping = (CORPUS / "_segment" / "mapping.yaml").read_text()
    mapping = mapping.replace("  file: segment ", "  tracks: tracks\n  groups: groups\n  file: null ")
    (raw / "mapping.yaml").write_text(mapping)
    counts = run_import(raw, "segment", tmp_path / "clean")
    assert counts["tracks"] == {"read": 3, "used": 2, "ignored": 0, "quarantined": {"missing_group": 1}}
    assert counts["groups"] == {"read": 2, "used": 2, "ignored": 0, "quarantined": {}}
    assert counts["logins"]["used"] == 2


def test_subscriptions_give_an_account_history_that_ends_at_the_current_values(tmp_path: Path) -> None:
    run_import(CORPUS / "_subscriptions", "subscriptions", tmp_path / "clean")
    history = pd.read_parquet(tmp_path / "clean" / "account_history.parquet")
    accounts = pd.read_parquet(tmp_path / "clean" / "accounts.parquet").set_index("account_id")
    c003 = history[history["account_id"] == "C003"]
    assert c003["seats"].tolist() == [100, 120, 20, 140]  # add-on joins; base lapses 9 days; renewal
    last = history.groupby("account_id").last()
    assert last["seats"].to_dict() == accounts["seats"].to_dict()
    assert last["mrr"].to_dict() == accounts["mrr"].to_dict()
