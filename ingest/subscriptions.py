"""Importer `subscriptions`: a subscriptions table plus a generic event table, mapped by mapping.yaml.

Churn comes from subscriptions: an account churns at the end date after which it has no active
subscription for more than `churn_gap_days`. Subscriptions run over [start, end); overlapping ones add up
(MRR, seats); a downgrade or renewal that starts within the gap continues the same lifetime. A
reactivation after churn starts a new lifetime, which becomes its own account `<id>#2`, `<id>#3`, ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.contract import ACCOUNT_HISTORY, ACCOUNTS
from ingest.events import GENERIC_COLUMNS, select_columns, split_events
from ingest.mapping import SubscriptionsMapping, SubscriptionsSource, load_mapping
from ingest.parse import is_missing, parse_date, parse_id, parse_number, parse_string, parse_timestamp
from ingest.read import find_table_file, read_table_file
from ingest.validate import ImportResult, RawTable, SourceTable, infer_as_of, reason_code

log = logging.getLogger(__name__)

_FAR_FUTURE = np.datetime64("9999-12-31", "s")  # stands for "no end date" in interval arithmetic


def read_source(raw_dir: Path, stem: str) -> tuple[pd.DataFrame, str]:
    path = find_table_file(raw_dir, stem)
    return read_table_file(path), path.name


def import_subscriptions(
    raw_dir: Path, mapping_path: Path, churn_gap_days: int, as_of: dt.date | None = None
) -> ImportResult:
    """Accounts (one per lifetime) from subscriptions, logs from the event table."""
    mapping = load_mapping(mapping_path, SubscriptionsMapping)
    events_frame, events_file = read_source(raw_dir, mapping.events.file)
    events = select_columns(events_frame, mapping.events.columns.model_dump(), events_file)
    rows = np.arange(1, len(events) + 1, dtype=np.int64)
    logs, events_source = split_events(
        events[list(GENERIC_COLUMNS)], rows, events_file, "events", mapping.event_types, original=events_frame
    )
    resolved = as_of or infer_as_of_from_logs(logs)
    accounts, subs_source, lifetimes = import_accounts(
        raw_dir, mapping.subscriptions, churn_gap_days, resolved
    )
    logs = {name: assign_lifetimes(raw, lifetimes) for name, raw in logs.items()}
    return ImportResult({**accounts, **logs}, (subs_source, events_source), resolved)


def infer_as_of_from_logs(logs: dict[str, RawTable]) -> dt.date:
    """The as-of date validation would infer (see `infer_as_of`: events dated after now do not count),
    needed here already to tell churn."""
    return infer_as_of(
        [parse_timestamp(raw.frame["timestamp"], raw.file, "timestamp")[0] for raw in logs.values()]
    )


def import_accounts(
    raw_dir: Path, cfg: SubscriptionsSource, churn_gap_days: int, as_of: dt.date
) -> tuple[dict[str, RawTable], SourceTable, pd.DataFrame]:
    """Read and parse subscriptions, quarantine bad rows, and derive one account row per lifetime plus
    the account history (seats, MRR, plan at each change); also return the lifetimes for the events."""
    frame, file = read_source(raw_dir, cfg.file)
    subs = select_columns(frame, cfg.columns.model_dump(), file)
    parsed, codes = parse_subscriptions(subs, file)
    rows = np.arange(1, len(subs) + 1, dtype=np.int64)
    ok = parsed[codes == 0].assign(row=rows[codes == 0])
    with_lifetimes = label_lifetimes(ok, churn_gap_days)
    accounts = summarise_lifetimes(with_lifetimes, cfg, churn_gap_days, as_of)
    source = SourceTable("subscriptions", file, frame, rows, codes, np.zeros(len(subs), dtype=bool))
    history = derive_history(with_lifetimes, as_of)
    raws = {
        ACCOUNTS.name: RawTable(
            ACCOUNTS, file, accounts.drop(columns=["row"]), accounts["row"].to_numpy(np.int64)
        ),
        ACCOUNT_HISTORY.name: RawTable(
            ACCOUNT_HISTORY, file, history.drop(columns=["row"]), history["row"].to_numpy(np.int64)
        ),
    }
    lifetimes = with_lifetimes.groupby(["account", "lifetime"], as_index=False).agg(start=("start", "min"))
    return raws, source, lifetimes.assign(account_id=lifetime_ids(lifetimes))


def derive_history(subs: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Seats, MRR and plan of each lifetime from every date they change (a start or an end), before as_of.

    Totals add up over active subscriptions; a date with none active (a gap within a lifetime, or its
    end) adds no row, so the previous values hold; a date that changes nothing adds no row either.
    """
    keys = ["account", "lifetime"]
    ends = subs.loc[subs["_end"] < _FAR_FUTURE, [*keys, "_end"]].rename(columns={"_end": "day"})
    days = pd.concat([subs[[*keys, "start"]].rename(columns={"start": "day"}), ends]).drop_duplicates()
    days = days[days["day"] < np.datetime64(as_of, "s")]
    pairs = days.merge(subs, on=keys)
    active = pairs[(pairs["start"] <= pairs["day"]) & (pairs["_end"] > pairs["day"])]
    active = active.sort_values([*keys, "day", "mrr", "row"], ascending=[True, True, True, False, True])
    top = active.drop_duplicates([*keys, "day"])[[*keys, "day", "plan", "row"]]
    totals = active.groupby([*keys, "day"], as_index=False).agg(seats=("seats", "sum"), mrr=("mrr", "sum"))
    history = totals.merge(top, on=[*keys, "day"]).sort_values([*keys, "day"], kind="stable")
    changed = (
        history[["seats", "mrr", "plan"]]
        .ne(history.groupby(keys)[["seats", "mrr", "plan"]].shift())
        .any(axis=1)
    )
    history = history[changed].reset_index(drop=True)
    return pd.DataFrame(
        {
            "account_id": lifetime_ids(history),
            "effective_date": history["day"],
            "seats": history["seats"],
            "mrr": history["mrr"],
            "plan": history["plan"],
            "row": history["row"],
        }
    )


def parse_subscriptions(subs: pd.DataFrame, file: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Typed subscription rows and a reason code per row (bad rows are quarantined, not fatal)."""
    codes = np.zeros(len(subs), dtype=np.int8)
    out = pd.DataFrame({"account": parse_id(subs["account_id"], file, "account_id")})
    out["start"], bad_start = parse_date(subs["start_date"], file, "start_date")
    out["end"], bad_end = parse_date(subs["end_date"], file, "end_date")
    out["mrr"], bad_mrr = parse_number(subs["mrr"])
    out["seats"], bad_seats = parse_number(subs["seats"])
    for column in ("plan", "segment", "account_name", "contract_type", "owner"):
        out[column] = parse_string(subs[column]) if column in subs else pd.Series(None, dtype="str")
    missing = is_missing(subs["account_id"]) | is_missing(subs["start_date"])
    missing |= is_missing(subs["mrr"]) | is_missing(subs["seats"])
    # An end on or before the start leaves [start, end) empty: no day of service to count.
    empty = (out["end"] <= out["start"]).to_numpy()
    invalid = bad_mrr | bad_seats | ((out["seats"] % 1 != 0).to_numpy() & out["seats"].notna().to_numpy())
    negative = ((out["mrr"] < 0) | (out["seats"] < 0)).to_numpy()
    for mask, reason in (  # the first that applies
        (missing, "missing_value"),
        (bad_start | bad_end, "unparseable_date"),
        (empty, "end_not_after_start"),
        (invalid, "invalid_value"),
        (negative, "negative_count"),
    ):
        codes[(codes == 0) & mask] = reason_code(reason)
    return out, codes


def label_lifetimes(subs: pd.DataFrame, churn_gap_days: int) -> pd.DataFrame:
    """Number each account's lifetimes: a new one starts more than the gap after all earlier ends."""
    subs = subs.sort_values(["account", "start", "row"], kind="stable").reset_index(drop=True)
    end = subs["end"].to_numpy("datetime64[s]").copy()
    end[np.isnat(end)] = _FAR_FUTURE
    subs["_end"] = end
    reach = subs.groupby("account", sort=False)["_end"].cummax()
    prev_reach = reach.groupby(subs["account"], sort=False).shift(1)
    gap = np.timedelta64(churn_gap_days, "D")
    new = prev_reach.isna() | (subs["start"] > prev_reach + gap)
    subs["lifetime"] = new.astype(np.int64).groupby(subs["account"], sort=False).cumsum()
    return subs


def summarise_lifetimes(
    subs: pd.DataFrame, cfg: SubscriptionsSource, churn_gap_days: int, as_of: dt.date
) -> pd.DataFrame:
    """One contract account row per lifetime: MRR and seats summed over subscriptions active on its
    reference day (the day before as_of, or its last active day if it ended)."""
    keys = ["account", "lifetime"]
    life = subs.groupby(keys, as_index=False).agg(
        start=("start", "min"), end=("_end", "max"), row=("row", "min")
    )
    cutoff = np.datetime64(as_of, "s")
    ref = np.minimum(life["end"].to_numpy("datetime64[s]"), cutoff) - np.timedelta64(1, "D")
    life["ref"] = np.maximum(ref, life["start"].to_numpy("datetime64[s]"))
    subs = subs.merge(life[[*keys, "ref"]], on=keys)
    active = subs[(subs["start"] <= subs["ref"]) & (subs["_end"] > subs["ref"])]
    totals = active.groupby(keys, as_index=False).agg(mrr=("mrr", "sum"), seats=("seats", "sum"))
    top = active.sort_values([*keys, "mrr", "row"], ascending=[True, True, False, True]).drop_duplicates(keys)
    life = life.merge(totals, on=keys, how="left").merge(
        top[[*keys, "plan", "segment", "account_name", "contract_type", "owner", "start", "_end"]].rename(
            columns={"start": "top_start", "_end": "top_end"}
        ),
        on=keys,
        how="left",
    )
    ended = life["end"] < _FAR_FUTURE
    churned = ended & (life["end"] + np.timedelta64(churn_gap_days, "D") < cutoff)
    account_id = lifetime_ids(life)
    return pd.DataFrame(
        {
            "account_id": account_id,
            "account_name": life["account_name"].fillna(life["account"]),
            "segment": derive_segment(life, cfg),
            "plan": life["plan"],
            "seats": life["seats"],
            "mrr": life["mrr"],
            "contract_type": derive_contract_type(life, cfg),
            "contract_start": life["start"],
            "renewal_date": life["top_end"].where(life["top_end"] < _FAR_FUTURE),
            "churn_date": life["end"].where(churned),
            "owner": life["owner"],
            "row": life["row"],
        }
    )


def lifetime_ids(life: pd.DataFrame) -> pd.Series:
    """The first lifetime keeps the account id; a reactivation becomes `<id>#<n>`."""
    suffix = "#" + life["lifetime"].astype("str")
    return life["account"].where(life["lifetime"] == 1, life["account"] + suffix).astype("str")


def derive_segment(life: pd.DataFrame, cfg: SubscriptionsSource) -> pd.Series:
    if cfg.columns.segment is not None:
        return life["segment"].map(lambda v: cfg.segment_values.get(v, v) if isinstance(v, str) else v)
    segment = pd.Series("smb", index=life.index, dtype="str")
    for name, threshold in sorted(cfg.segment_by_mrr.items(), key=lambda kv: kv[1]):
        segment = segment.where(life["mrr"] < threshold, name)
    return segment


def derive_contract_type(life: pd.DataFrame, cfg: SubscriptionsSource) -> pd.Series:
    if cfg.columns.contract_type is not None:
        mapped = cfg.contract_type_values
        return life["contract_type"].map(lambda v: mapped.get(v, v) if isinstance(v, str) else v)
    # Without a column: a subscription term of about a year or more is annual; open-ended is monthly.
    term = life["top_end"] - life["top_start"]
    annual = (life["top_end"] < _FAR_FUTURE) & (term >= pd.Timedelta(days=300))
    return pd.Series(np.where(annual, "annual", "monthly"), index=life.index, dtype="str")


def assign_lifetimes(raw: RawTable, lifetimes: pd.DataFrame) -> RawTable:
    """Give each event of a reactivated account the id of the lifetime it falls in.

    An event belongs to the latest lifetime that started on or before its date (trial use before the
    first start belongs to the first); an event in a gap is then after that lifetime's churn.
    """
    multi = lifetimes.loc[lifetimes["lifetime"] > 1, "account"].unique()
    frame = raw.frame
    ids = parse_id(frame["account_id"], raw.file, "account_id")
    hit = ids.isin(multi).to_numpy()
    if not hit.any():
        return raw
    ts, _ = parse_timestamp(frame["timestamp"][hit], raw.file, "timestamp")
    events = pd.DataFrame(
        {"account": ids[hit], "day": ts.dt.tz_localize(None).dt.normalize(), "pos": np.flatnonzero(hit)}
    )
    events = events.dropna(subset=["day"]).astype({"day": "datetime64[s]"}).sort_values("day", kind="stable")
    starts = (
        lifetimes[lifetimes["account"].isin(multi)].astype({"start": "datetime64[s]"}).sort_values("start")
    )
    matched = pd.merge_asof(
        events, starts[["account", "start", "account_id"]], left_on="day", right_on="start", by="account"
    )
    new_ids = frame["account_id"].astype("str").copy()
    positions = matched["pos"].to_numpy()
    new_ids.iloc[positions] = matched["account_id"].fillna(matched["account"]).to_numpy()
    return dataclasses.replace(raw, frame=frame.assign(account_id=new_ids))
