"""The risk list: every account active at an observation date, scored, tiered, ranked and explained.

Scoring the previous observation date with the same model gives the change since the previous scoring
and, per account, the features that drove it (contributions at t minus contributions at t - 1).
Everything here is a pure function of its inputs: the same data and model give the same list.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.calibration import Calibrator
from models.encoding import FeatureSpec, check_columns, encode
from models.reasons import (
    Registry,
    contributions,
    default_registry,
    driver_columns,
    ranges_and_medians,
    reason_columns,
)
from models.tiers import TIER_ORDER, TierRule, assign_tiers, measure_for, rank_order

log = logging.getLogger(__name__)

# The CSV's columns, in an order a CRM import can map: identity, owner, money, dates, score, change, reasons.
CSV_HEAD = (
    "account_id",
    "account_name",
    "segment",
    "owner",
    "arr",
    "renewal_date",
    "days_to_renewal",
    "churn_probability",
    "tier",
    "rank",
    "arr_at_risk",
    "previous_probability",
    "probability_change",
    "previous_tier",
)


@dataclass(frozen=True)
class ScoringModel:
    """A LightGBM booster with the feature spec it was trained on and its calibrator."""

    booster: lgb.Booster
    spec: FeatureSpec
    calibrator: Calibrator

    @classmethod
    def from_dir(cls, path: Path) -> ScoringModel:
        """The training stage's output: lgbm.txt, feature_spec.json, calibrator.json."""
        return cls(
            lgb.Booster(model_file=str(path / "lgbm.txt")),
            FeatureSpec.load(path / "feature_spec.json"),
            Calibrator.load(path / "calibrator.json"),
        )


@dataclass(frozen=True)
class Scored:
    """Feature rows of one observation date (raw values, index 0..n-1) with their scores."""

    frame: pd.DataFrame
    raw_score: np.ndarray
    probability: np.ndarray
    contrib: np.ndarray  # n x (features + 1); last column is the bias


@dataclass(frozen=True)
class ListSettings:
    rule: TierRule
    n_reasons: int = 3
    n_protective: int = 1
    n_drivers: int = 3
    usual_range: tuple[float, float] = (0.25, 0.75)
    n_context: int = 1


@dataclass(frozen=True)
class RiskList:
    accounts: pd.DataFrame  # one row per account, by rank
    changes: pd.DataFrame  # accounts whose tier changed since the previous scoring, with drivers
    observation_date: pd.Timestamp
    previous_date: pd.Timestamp | None
    rule: TierRule | None = None  # how the tiers were set, for the report


def pick_dates(features: pd.DataFrame, as_of: dt.date | None) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    """The latest observation date on or before ``as_of`` (default: the latest) and the one before it."""
    dates = pd.DatetimeIndex(features["observation_date"].drop_duplicates()).sort_values()
    if as_of is not None:
        dates = dates[dates <= pd.Timestamp(as_of, tz=dates.tz)]
    if len(dates) == 0:
        raise ValueError(f"no observation date on or before {as_of} in the feature table")
    return dates[-1], (dates[-2] if len(dates) > 1 else None)


def snapshot(features: pd.DataFrame, date: pd.Timestamp) -> pd.DataFrame:
    """The rows at ``date``, one per account, in account-id order."""
    rows = features[features["observation_date"] == date]
    if rows["account_id"].duplicated().any():
        raise ValueError(f"duplicate account ids at {date.date()} in the feature table")
    return rows.sort_values("account_id", ignore_index=True)


def score_rows(
    model: ScoringModel,
    frame: pd.DataFrame,
    chunk_rows: int = 250_000,
    progress: Callable[[int], None] | None = None,
) -> Scored:
    """Raw score, calibrated probability and TreeSHAP contributions, in chunks to bound memory."""
    check_columns(frame, model.spec)
    frame = frame.reset_index(drop=True)
    parts = []
    for start in range(0, len(frame), chunk_rows):
        x = encode(frame.iloc[start : start + chunk_rows], model.spec)
        parts.append(contributions(model.booster, x))
        if progress is not None:
            progress(len(x))
    width = len(model.spec.features) + 1
    contrib = np.concatenate(parts) if parts else np.empty((0, width))
    # The raw score is the contributions' sum by construction (TreeSHAP is exact for trees).
    raw = contrib.sum(axis=1)
    return Scored(frame, raw, model.calibrator.predict(raw), contrib)


def account_facts(accounts: pd.DataFrame, ids: pd.Series, date: pd.Timestamp) -> pd.DataFrame:
    """Name, segment, owner, ARR and the next renewal on or after ``date`` for each id (in order): from
    `renewal_date`, or when that is empty from `contract_start`."""
    table = accounts.drop_duplicates("account_id").set_index("account_id")
    found = table.reindex(ids.to_numpy())
    if found["segment"].isna().any():
        log.warning(
            "%d scored accounts are missing from the accounts table", int(found["segment"].isna().sum())
        )
    owner = found["owner"] if "owner" in found else pd.Series(None, index=found.index, dtype="str")
    # Without a renewal date (a running subscription, say), the contract start's anniversaries: the rule
    # the days_to_renewal feature follows, so that the list and a renewal reason agree.
    anchor = pd.to_datetime(found["renewal_date"]).fillna(pd.to_datetime(found["contract_start"]))
    renewal = next_renewal(anchor, found["contract_type"], date)
    day = date.tz_localize(None) if date.tz is not None else date
    return pd.DataFrame(
        {
            "account_id": ids.to_numpy(),
            "account_name": found["account_name"].astype("str").to_numpy(),
            "segment": found["segment"].astype("str").to_numpy(),
            "owner": owner.astype("str").to_numpy(),
            "arr": pd.to_numeric(found["mrr"]).to_numpy(dtype="float64") * 12.0,
            "renewal_date": renewal.dt.date.to_numpy(),
            "days_to_renewal": (renewal - day).dt.days.astype("Int64").to_numpy(),
        }
    )


def next_renewal(renewal: pd.Series, contract_type: pd.Series, date: pd.Timestamp) -> pd.Series:
    """The first renewal on or after ``date``: the accounts table holds one renewal date, so step it by
    the contract's period (12 months annual, 1 month otherwise) to the scoring date. A renewal on a day
    the month lacks falls on the month's last day (the 31st: 28 February, then 31 March)."""
    day = (date.tz_localize(None) if date.tz is not None else date).to_datetime64().astype("datetime64[D]")
    when = pd.to_datetime(renewal).to_numpy(dtype="datetime64[D]")
    period = np.where(contract_type.astype("object").to_numpy() == "annual", 12, 1)
    month = when.astype("datetime64[M]")
    offset = (when - month.astype("datetime64[D]")).astype("int64")  # day of the month, from 0

    def renewal_after(steps: np.ndarray) -> np.ndarray:
        """The renewal `steps` periods after `renewal`, on its day of the month or the month's last."""
        target = month + (steps * period).astype("timedelta64[M]")
        first = target.astype("datetime64[D]")
        length = ((target + 1).astype("datetime64[D]") - first).astype("int64")
        return first + np.minimum(offset, length - 1).astype("timedelta64[D]")

    steps = np.floor_divide((day.astype("datetime64[M]") - month).astype("int64"), period)
    for _ in range(2):  # at most one more period is needed; two guards the day-of-month edge
        steps = np.where(renewal_after(steps) < day, steps + 1, steps)
    candidate = np.where(np.isnat(when), np.datetime64("NaT"), renewal_after(steps))
    return pd.Series(pd.to_datetime(candidate), index=renewal.index)


def tiered(scored: Scored, accounts: pd.DataFrame, date: pd.Timestamp, rule: TierRule) -> pd.DataFrame:
    """Account facts with probability, ARR at risk, tier and rank (1 = most at risk by the tier measure)."""
    facts = account_facts(accounts, scored.frame["account_id"], date)
    facts["churn_probability"] = scored.probability
    facts["arr_at_risk"] = scored.probability * facts["arr"].to_numpy()
    facts["tier"] = assign_tiers(facts, rule)
    rank = np.empty(len(facts), dtype="int64")
    rank[rank_order(facts, measure_for(rule))] = np.arange(1, len(facts) + 1)
    facts["rank"] = rank
    return facts


def build_risk_list(
    model: ScoringModel,
    current: Scored,
    accounts: pd.DataFrame,
    date: pd.Timestamp,
    settings: ListSettings,
    previous: Scored | None = None,
    previous_date: pd.Timestamp | None = None,
    previous_list: pd.DataFrame | None = None,
    registry: Registry | None = None,
) -> RiskList:
    """Tiers, ranks, reasons and the change since the previous scoring.

    ``previous`` is the previous date scored with the same model (drivers need it); ``previous_list`` is
    an earlier risk list whose probabilities and tiers, when given, are the ones the change is shown against.
    """
    registry = default_registry() if registry is None else registry
    spec = model.spec
    table = tiered(current, accounts, date, settings.rule)
    order = np.argsort(table["rank"].to_numpy())  # the list's rows, riskiest first
    ranges, medians = ranges_and_medians(current.frame, spec, settings.usual_range)
    reasons = reason_columns(
        current.frame,
        spec,
        current.contrib,
        ranges,
        settings.n_reasons,
        settings.n_protective,
        registry,
        order=order,
        medians=medians,
        n_context=settings.n_context,
    )
    table = pd.concat([table.take(order), reasons], axis=1)  # the index stays the rows' in `current`
    table["raw_score"] = current.raw_score[order]
    table["observation_date"] = date
    before = _previous_table(previous, accounts, previous_date, settings.rule, previous_list)
    table = _add_change(table, before)
    changes = _changes(table, current, previous, spec, settings, registry, ranges)
    table = table.reset_index(drop=True)
    return RiskList(table[_column_order(table)], changes, date, previous_date, settings.rule)


def _previous_table(previous, accounts, previous_date, rule, previous_list) -> pd.DataFrame | None:
    if previous_list is not None:
        return previous_list[["account_id", "churn_probability", "tier"]]
    if previous is None:
        return None
    return tiered(previous, accounts, previous_date, rule)[["account_id", "churn_probability", "tier"]]


def _add_change(table: pd.DataFrame, before: pd.DataFrame | None) -> pd.DataFrame:
    if before is None:
        before = pd.DataFrame({"account_id": [], "churn_probability": [], "tier": []})
    before = before.set_index("account_id")
    ids = table["account_id"].to_numpy()
    table["previous_probability"] = before["churn_probability"].reindex(ids).astype("float64").to_numpy()
    table["probability_change"] = table["churn_probability"] - table["previous_probability"]
    table["previous_tier"] = before["tier"].reindex(ids).astype("str").to_numpy()
    return table


def _changes(table, current, previous, spec, settings: ListSettings, registry, ranges) -> pd.DataFrame:
    """Accounts whose tier changed (red first, then by probability change), with what drove the move."""
    moved = table["previous_tier"].notna() & (table["previous_tier"] != table["tier"])
    out = table.loc[
        moved, [*CSV_HEAD[:5], "previous_tier", "tier", "previous_probability", "churn_probability"]
    ]
    out = out.assign(
        probability_change=table.loc[moved, "probability_change"],
        moved_into_red=out["tier"].eq("red").to_numpy(),
    )
    if previous is not None and len(out):
        now_pos = out.index.to_numpy()
        before_pos = pd.Index(previous.frame["account_id"]).get_indexer(out["account_id"])
        has = before_pos >= 0
        drivers = driver_columns(
            current.frame.iloc[now_pos[has]].reset_index(drop=True),
            previous.frame.iloc[before_pos[has]].reset_index(drop=True),
            spec,
            current.contrib[now_pos[has]],
            previous.contrib[before_pos[has]],
            settings.n_drivers,
            registry,
            n_context=settings.n_context,
            ranges=ranges,
        )
        drivers.index = out.index[has]
        out = out.join(drivers)
    severity = out["tier"].map(TIER_ORDER).to_numpy()
    order = np.lexsort(
        (out["account_id"].to_numpy(dtype=object), -out["probability_change"].to_numpy(), severity)
    )
    return out.iloc[order].reset_index(drop=True)


def _column_order(table: pd.DataFrame) -> list[str]:
    reasons = _reason_texts(table)
    detail = [c for c in table.columns if c not in (*CSV_HEAD, *reasons, "observation_date")]
    return [*CSV_HEAD, *reasons, "observation_date", *detail]


def csv_columns(table: pd.DataFrame) -> list[str]:
    """The columns the CSV carries (people and CRMs); the Parquet file keeps the numeric detail too."""
    return [*CSV_HEAD, *_reason_texts(table), "observation_date"]


def _reason_texts(table: pd.DataFrame) -> list[str]:
    """reason_1.., protective_1.., context_1..: the texts, not their ``_feature`` and ``_contribution``."""
    prefixes = ("reason_", "protective_", "context_")
    return [c for c in table.columns if c.startswith(prefixes) and c.count("_") == 1]


def plain_number(value: float) -> str:
    """A CSV number as a spreadsheet shows it: up to six decimals, never in scientific notation.

    ``%.6g`` wrote an ARR of 1,254,900 as '1.2549e+06' (rounded, and a string to some CRM imports) and a
    probability change of 0.00008 as '8.13467e-05'.
    """
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading quote (OWASP CSV injection);
    numeric columns stay numeric, so a negative change is still a number."""
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column]) or out[column].dtype == object:
            values = out[column]
            text = values.map(
                lambda v: v if not isinstance(v, str) or not v.startswith(_FORMULA_START) else "'" + v
            )
            out[column] = text
    return out
