"""Reason codes in plain words from LightGBM's TreeSHAP contributions (``pred_contrib``).

For each row the per-feature contributions plus the bias add up to the model's raw score (log-odds). A
reason is a feature with one of the largest contributions raising the score; a protective factor is one
with the largest lowering it. Each listed contribution is kept beside its text, and the rest (bias plus
every unlisted feature) is kept as ``contribution_remainder``, so listed + remainder = raw score exactly.

A value inside the usual range also says where it stands among the accounts scored with it ('54 days,
lower than 70% of accounts'): a reason that only said 'within the usual range' would not say why it
raises the score.

Words come from the feature registry (``features.registry.FEATURES``: name -> spec with ``description``
and ``unit``); a feature it does not know is named after its column. Ratios and percent changes are
stored as fractions (0.25 = 25%, -0.62 = fell 62%).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from models.encoding import FeatureSpec

log = logging.getLogger(__name__)

Registry = Mapping[str, Any]  # name -> object with .description and .unit
Ranges = dict[str, tuple[float, float]]


def default_registry() -> Registry:
    """The project's feature registry; empty (column names as words) when `features` has none yet."""
    try:
        from features.registry import FEATURES
    except ModuleNotFoundError:
        log.warning("features.registry not found: reasons will use column names instead of descriptions")
        return {}
    return FEATURES


def contributions(booster: lgb.Booster, x: pd.DataFrame) -> np.ndarray:
    """TreeSHAP contributions, one column per feature plus the bias last; rows sum to the raw score."""
    return np.asarray(booster.predict(x, pred_contrib=True), dtype="float64")


def usual_ranges(frame: pd.DataFrame, spec: FeatureSpec, quantiles: tuple[float, float]) -> Ranges:
    """The ``quantiles`` (e.g. 25th-75th percentile) of each numeric feature across ``frame``'s rows."""
    ranges = {}
    for column in spec.features:
        if column in spec.categorical:
            continue
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
        values = values[~np.isnan(values)]
        if len(values):
            # observed values ('24 days', not '23.5 days'), as for the accounts the range describes
            low, high = np.quantile(values, quantiles, method="nearest")
            ranges[column] = (float(low), float(high))
    return ranges


class Standing:
    """Where a feature's values stand among the rows of ``frame`` (the accounts scored together).

    Each feature's column is sorted the first time it is asked about, and only then: at a million
    accounts a sort costs some 0.1 s, and only the features that some reason names are needed.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._sorted: dict[str, np.ndarray] = {}

    def shares(self, name: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each of ``values``, the shares of rows with a value of ``name`` below it and above it."""
        ordered = self._sorted.get(name)
        if ordered is None:
            column = pd.to_numeric(self._frame[name], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
            ordered = self._sorted[name] = np.sort(column[~np.isnan(column)])
        n = max(len(ordered), 1)
        below = np.searchsorted(ordered, values, side="left") / n
        above = (len(ordered) - np.searchsorted(ordered, values, side="right")) / n
        return below, above


def top_features(contrib: np.ndarray, n: int, sign: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``n`` largest contributions of ``sign`` (+1 raising, -1 lowering) per row.

    Slots with no contribution of that sign get index -1 and value 0. Of equal contributions the
    first feature comes first.
    """
    signed = contrib * sign  # a copy: picked values are struck out of it
    n = min(n, signed.shape[1])
    rows = np.arange(len(signed))
    index = np.empty((len(signed), n), dtype="int64")
    value = np.empty((len(signed), n))
    # n passes of argmax: for the few reasons a list shows, 7x faster than an argpartition per row
    for k in range(n):
        index[:, k] = np.argmax(signed, axis=1)
        value[:, k] = signed[rows, index[:, k]]
        signed[rows, index[:, k]] = -np.inf
    empty = value <= 0
    return np.where(empty, -1, index), np.where(empty, 0.0, value * sign)


def reason_columns(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    contrib: np.ndarray,
    ranges: Ranges,
    n_reasons: int,
    n_protective: int,
    registry: Registry | None = None,
) -> pd.DataFrame:
    """Reason and protective-factor columns (text, feature, contribution) plus the remainder.

    ``frame`` holds the raw (unencoded) feature values the text quotes, row-aligned with ``contrib``.
    """
    registry = default_registry() if registry is None else registry
    standing = Standing(frame)
    features = contrib[:, :-1]
    out: dict[str, Any] = {}
    listed = np.zeros(len(features))
    for prefix, n, sign in (("reason", n_reasons, 1), ("protective", n_protective, -1)):
        index, value = top_features(features, n, sign)
        for k in range(index.shape[1]):
            out[f"{prefix}_{k + 1}"] = describe_many(frame, spec, index[:, k], ranges, registry, standing)
            names = np.array([*spec.features, ""], dtype=object)[index[:, k]]
            out[f"{prefix}_{k + 1}_feature"] = pd.Series(names, dtype="str").replace("", None).to_numpy()
            out[f"{prefix}_{k + 1}_contribution"] = value[:, k]
            listed += value[:, k]
    out["contribution_remainder"] = contrib.sum(axis=1) - listed
    return pd.DataFrame(out, index=frame.index)


def describe_many(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    index: np.ndarray,
    ranges: Ranges,
    registry: Registry,
    standing: Standing | None = None,
) -> np.ndarray:
    """Plain-words text per row for the feature at ``index`` (-1: no reason, None).

    Each distinct value of a feature is worded once (counts and categories repeat across accounts).
    """
    standing = Standing(frame) if standing is None else standing
    text = np.full(len(index), None, dtype=object)
    for i in np.unique(index[index >= 0]):
        rows = np.flatnonzero(index == i)
        name = spec.features[i]
        codes, distinct = pd.factorize(frame[name].to_numpy()[rows], use_na_sentinel=False)
        shares = [None] * len(distinct)
        if name in ranges and is_numeric_dtype(frame[name]):
            values = pd.to_numeric(pd.Series(distinct), errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
            shares = list(zip(*standing.shares(name, values), strict=True))
        words = [
            describe(name, v, ranges.get(name), registry, share)
            for v, share in zip(distinct, shares, strict=True)
        ]
        text[rows] = np.array(words, dtype=object)[codes]
    return text


def words_for(name: str, registry: Registry) -> tuple[str, str]:
    """(description, unit) from the registry, or the column name in words."""
    entry = registry.get(name)
    if entry is None:
        return name.replace("_", " ").capitalize(), guess_unit(name)
    return entry.description, (entry.unit or "")


def guess_unit(name: str) -> str:
    """A unit from the house naming convention, for a column the registry does not know."""
    if "_change" in name or name.endswith("_pct_change"):
        return "percent change"
    if "_ratio" in name or "_share" in name:
        return "ratio"
    if name.startswith("days_") or name.endswith("_days"):
        return "days"
    if "_count" in name or "_distinct" in name:
        return "count"
    return ""


def describe(
    name: str,
    value: Any,
    usual: tuple[float, float] | None,
    registry: Registry,
    shares: tuple[float, float] | None = None,
) -> str:
    """One feature value in plain words with its usual range, e.g.
    'Logins in the last 30 days: 4, below the usual 18-45'.

    ``shares`` (of accounts with a lower and a higher value) words a value inside the usual range by
    where it stands, e.g. 'Logins in the last 30 days: 22, lower than 70% of accounts (usually 18-45)'.
    """
    description, unit = words_for(name, registry)
    if _missing(value):
        return f"{description}: no data"
    if isinstance(value, str):
        return f"{description}: {value}"
    value = float(value)
    if unit == "percent change":
        pct = round(value * 100)
        move = "fell" if pct < 0 else "rose" if pct > 0 else "did not change"
        amount = f" {abs(pct)}%" if pct else ""
        usual_text = (
            f" (usually {format_value(usual[0], unit)} to {format_value(usual[1], unit)})" if usual else ""
        )
        return f"{description} {move}{amount}{usual_text}"
    shown = format_value(value, unit)
    if usual is None:
        return f"{description}: {shown}"
    low, high = usual
    bare = "" if unit == "days" else unit  # '1–6 days', not '1 days–6 days'
    span = f"{format_value(low, bare)}–{format_value(high, unit)}" if low != high else format_value(low, unit)
    if value < low or value > high or shares is None:
        where = "below" if value < low else "above" if value > high else "within"
        return f"{description}: {shown}, {where} the usual {span}"
    return f"{description}: {shown}, {standing_words(*shares)} (usually {span})"


def standing_words(below: float, above: float) -> str:
    """'lower than 70% of accounts' or 'higher than 65% of accounts'; 'as for 60% of accounts' when more
    accounts have this very value than either a lower or a higher one; 'near the median of accounts'
    when at least 40% are on each side (rather than 'lower than 50%' and 'higher than 51%' for two
    values a few days apart)."""
    same = 1.0 - below - above
    if same >= max(below, above):
        return f"as for {round(same * 100)}% of accounts"
    if min(below, above) >= 0.4:
        return "near the median of accounts"
    if above >= below:
        return f"lower than {round(above * 100)}% of accounts"
    return f"higher than {round(below * 100)}% of accounts"


def format_value(value: float, unit: str) -> str:
    if _missing(value):
        return "no data"
    if unit in ("ratio", "percent"):
        return f"{value * 100:.0f}%"
    if unit == "percent change":
        return "0%" if round(value * 100) == 0 else f"{value * 100:+.0f}%".replace("-", "−")
    if unit == "currency":
        return f"{value:,.0f}"
    number = f"{value:,.{decimals(value)}f}"
    number = "0" if float(number.replace(",", "")) == 0 else number  # no '-0', no '0.000'
    if unit == "days":
        return f"{number} day" if number == "1" else f"{number} days"
    return number


def decimals(value: float) -> int:
    """Decimals to print: none for whole numbers and from 100 up, one from 1, and below 1 two
    significant digits up to three decimals (a rate of 0.043 a day is not '0.0')."""
    size = abs(float(value))
    if size >= 100 or size.is_integer():
        return 0
    if size >= 1:
        return 1
    return min(3, 1 - math.floor(math.log10(size)))


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def driver_columns(
    now: pd.DataFrame,
    before: pd.DataFrame,
    spec: FeatureSpec,
    contrib_now: np.ndarray,
    contrib_before: np.ndarray,
    n_drivers: int,
    registry: Registry | None = None,
) -> pd.DataFrame:
    """What moved each account's score between two scorings with the same model.

    The raw-score change is split per feature as contrib_now - contrib_before (the bias cancels); the
    drivers are the largest such changes in the direction of the move, worded as 'X: before → now'.
    Only features whose value changed can be drivers: a tree's contribution for one feature also moves
    when another feature does, and 'Contract type: annual → annual' would explain nothing. Those shares
    stay in ``driver_remainder``, which closes the sum: drivers + remainder = raw score change.
    """
    registry = default_registry() if registry is None else registry
    delta = contrib_now[:, :-1] - contrib_before[:, :-1]
    direction = np.where(delta.sum(axis=1) >= 0, 1.0, -1.0)[:, None]
    moved = np.column_stack([value_changed(before[name], now[name]) for name in spec.features])
    index, value = top_features(np.where(moved, delta * direction, 0.0), n_drivers, 1)
    value = value * direction
    out: dict[str, Any] = {}
    for k in range(index.shape[1]):
        text = np.full(len(index), None, dtype=object)
        for i in np.unique(index[index[:, k] >= 0, k]):
            rows = np.flatnonzero(index[:, k] == i)
            name = spec.features[i]
            description, unit = words_for(name, registry)
            was, is_ = before[name].to_numpy()[rows], now[name].to_numpy()[rows]
            text[rows] = [
                f"{description}: {_show(a, unit)} → {_show(b, unit)}" for a, b in zip(was, is_, strict=True)
            ]
        out[f"driver_{k + 1}"] = text
        out[f"driver_{k + 1}_contribution"] = value[:, k]
    out["driver_remainder"] = (contrib_now.sum(axis=1) - contrib_before.sum(axis=1)) - value.sum(axis=1)
    return pd.DataFrame(out, index=now.index)


def value_changed(before: pd.Series, now: pd.Series) -> np.ndarray:
    """Row by row (by position), whether a feature's value differs between two scorings; a value missing
    both times has not changed."""
    if is_numeric_dtype(before) and is_numeric_dtype(now):
        was = before.to_numpy(dtype="float64", na_value=np.nan)
        is_ = now.to_numpy(dtype="float64", na_value=np.nan)
        return ~((was == is_) | (np.isnan(was) & np.isnan(is_)))
    pairs = zip(before.astype(object).to_numpy(), now.astype(object).to_numpy(), strict=True)
    return np.array([_differ(a, b) for a, b in pairs], dtype=bool)


def _differ(a: Any, b: Any) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) != _missing(b)
    return a != b


def _show(value: Any, unit: str) -> str:
    return str(value) if isinstance(value, str) else format_value(value, unit)
