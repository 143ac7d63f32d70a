"""Reason codes in plain words from LightGBM's TreeSHAP contributions (``pred_contrib``).

For each row the per-feature contributions plus the bias add up to the model's raw score (log-odds). A
reason is a behavioural feature with one of the largest contributions raising the score; a protective
factor is one with the largest lowering it. Either must point the way the registry says is unhealthy or
healthy (see `keep_consistent`). Facts about the account and its contract (the registry's ``context``:
segment, ARR, days to renewal) are not reasons a CS manager can act on, and a list where "53 days to
renewal" led most accounts' reasons buried the behaviour; the largest of them raising the score is
listed apart, as ``context_1``. Each listed contribution is kept beside its text, and the rest (bias
plus every unlisted feature) is kept as ``contribution_remainder``, so listed + remainder = raw score
exactly.

A value inside the usual range also says where it stands among the accounts scored with it ('54 days,
lower than 70% of accounts'): a reason that only said 'within the usual range' would not say why it
raises the score.

Words come from the feature registry (``features.registry.AnyFeatures``: name -> spec with
``description``, ``unit``, ``healthy_when`` and ``missing``); a feature it does not know is named after
its column. Ratios and percent changes are stored as fractions (0.25 = 25%, -0.62 = fell 62%).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
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
    """The project's feature registry, for the columns of any featurize settings (windows of 14 days,
    your own core features); empty (column names as words) when `features` has none yet."""
    try:
        from features.registry import AnyFeatures
    except ModuleNotFoundError:
        log.warning("features.registry not found: reasons will use column names instead of descriptions")
        return {}
    return AnyFeatures()


def contributions(booster: lgb.Booster, x: pd.DataFrame) -> np.ndarray:
    """TreeSHAP contributions, one column per feature plus the bias last; rows sum to the raw score."""
    return np.asarray(booster.predict(x, pred_contrib=True), dtype="float64")


def ranges_and_medians(
    frame: pd.DataFrame, spec: FeatureSpec, quantiles: tuple[float, float]
) -> tuple[Ranges, dict[str, float]]:
    """The ``quantiles`` (e.g. 25th-75th percentile) of each numeric feature across ``frame``'s rows, and
    its median (see `keep_consistent`): one partial sort of each column gives all three."""
    ranges, medians = {}, {}
    for column in spec.features:
        if column in spec.categorical:
            continue
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
        values = values[~np.isnan(values)]
        if len(values):
            # observed values ('24 days', not '23.5 days'), as for the accounts the range describes
            low, median, high = np.quantile(values, (quantiles[0], 0.5, quantiles[1]), method="nearest")
            ranges[column] = (float(low), float(high))
            medians[column] = float(median)
    return ranges, medians


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


TOP_BLOCK_ROWS = 20_000  # x ~100 features x 8 bytes: 16 MB, under glibc's largest mmap threshold (32 MB)


def top_features(
    contrib: np.ndarray, n: int, sign: int, among: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``n`` largest contributions of ``sign`` (+1 raising, -1 lowering) per row,
    of the features where the boolean mask ``among`` holds (default: all).

    Slots with no contribution of that sign get index -1 and value 0. Of equal contributions the
    first feature comes first.
    """
    columns = np.arange(contrib.shape[1]) if among is None else np.flatnonzero(among)
    n = min(n, len(columns))
    index = np.empty((len(contrib), n), dtype="int64")
    value = np.empty((len(contrib), n))
    # In blocks of rows: a copy of a million rows' contributions (0.8 GB) cost 2-3 s in fresh pages on
    # the project's machine; a block's copy is small enough for the allocator to reuse.
    for start in range(0, len(contrib), TOP_BLOCK_ROWS):
        block = slice(start, start + TOP_BLOCK_ROWS)
        # a copy, of the columns asked for (the 9 context columns of 102: a tenth of the work)
        if among is None:
            signed = contrib[block] * sign
        else:
            signed = contrib[block][:, columns]
            signed *= sign
        rows = np.arange(len(signed))
        # n passes of argmax: for the few reasons a list shows, 7x faster than an argpartition per row
        for k in range(n):
            index[block, k] = np.argmax(signed, axis=1)
            value[block, k] = signed[rows, index[block, k]]
            signed[rows, index[block, k]] = -np.inf
    empty = value <= 0
    return np.where(empty, -1, columns[index]), np.where(empty, 0.0, value * sign)


SPARE_CANDIDATES = 3  # contributions looked at beyond the slots, in case some are not consistent


def reason_columns(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    contrib: np.ndarray,
    ranges: Ranges,
    n_reasons: int,
    n_protective: int,
    registry: Registry | None = None,
    order: np.ndarray | None = None,
    medians: Mapping[str, float] | None = None,
    n_context: int = 0,
) -> pd.DataFrame:
    """Reason, protective-factor and context columns (text, feature, contribution) plus the remainder.

    ``frame`` holds the raw (unencoded) feature values the text quotes, row-aligned with ``contrib``.
    ``order`` (positions in ``frame``) lists the result's rows in that order, each with its index in
    ``frame``: cheaper than sorting the result, as reordering a str column copies every text.
    ``medians`` (from `ranges_and_medians`) are computed here when not given.
    """
    registry = default_registry() if registry is None else registry
    standing = Standing(frame)
    features = contrib[:, :-1]
    out: dict[str, Any] = {}
    listed = np.zeros(len(features))
    names = np.array([*spec.features, None], dtype=object)  # index -1 (no such reason): None
    if medians is None:
        medians = ranges_and_medians(frame, spec, (0.5, 0.5))[1]
    context = context_features(spec, registry)
    lists = (("reason", n_reasons, 1, ~context), ("protective", n_protective, -1, ~context))
    for prefix, n, sign, among in (*lists, ("context", n_context, 1, context)):
        if n == 0:
            continue
        index, value = top_features(features, n + SPARE_CANDIDATES, sign, among)
        index, value = keep_consistent(index, value, frame, spec, sign, n, registry, medians, ranges)
        for k in range(index.shape[1]):
            out[f"{prefix}_{k + 1}"] = describe_many(frame, spec, index[:, k], ranges, registry, standing)
            out[f"{prefix}_{k + 1}_feature"] = names[index[:, k]]
            out[f"{prefix}_{k + 1}_contribution"] = value[:, k]
            listed += value[:, k]
    out["contribution_remainder"] = contrib.sum(axis=1) - listed
    if order is None:
        return pd.DataFrame(out, index=frame.index)
    return pd.DataFrame({name: column[order] for name, column in out.items()}, index=frame.index[order])


def context_features(spec: FeatureSpec, registry: Registry) -> np.ndarray:
    """Per feature of `spec`, whether the registry marks it as a fact about the account (``context``)."""
    return np.array([getattr(registry.get(name), "context", False) for name in spec.features], dtype=bool)


def keep_consistent(
    index: np.ndarray,
    value: np.ndarray,
    frame: pd.DataFrame,
    spec: FeatureSpec,
    sign: int,
    n: int,
    registry: Registry,
    medians: Mapping[str, float],
    ranges: Ranges | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` of each row's candidates (from `top_features`) that point the registry's way.

    A feature with a healthy direction (``healthy_when``) is a risk reason only when the account is not
    on its healthy side of the median of the accounts scored with it, and a protective factor only when
    it is not on the unhealthy side. TreeSHAP measures against the average account, so 14 new records,
    more than most accounts made, can still 'raise the risk' where a few very busy accounts pull the
    average up: true of the model, but nonsense to a manager.

    An empty value is no protective factor ("no record changes in the 30 days before" protected dormant
    accounts). A behaviour without a direction (record deletes, the weekend share) is a reason only when
    the account is unusual in it, outside ``ranges`` as printed (more deletes than most accounts), and
    never a protective factor: "Records deleted: 0" protected dormant accounts, and a weekend share of 6%
    raised one account's risk while 25% protected another. Account facts (the registry's ``context``)
    and features the registry does not know are kept. What is left out stays in
    ``contribution_remainder``.
    """
    keep = value != 0
    flat = index.ravel()
    by_feature = np.argsort(flat, kind="stable")  # candidates grouped by feature, in one pass
    bounds = np.searchsorted(flat[by_feature], np.arange(len(spec.features) + 1))
    for i, name in enumerate(spec.features):
        entry = registry.get(name)
        if entry is None or getattr(entry, "context", False) or bounds[i] == bounds[i + 1]:
            continue
        healthy = getattr(entry, "healthy_when", None)
        at = by_feature[bounds[i] : bounds[i + 1]]  # flat positions of this feature's candidates
        if healthy is None and sign < 0:
            keep.ravel()[at] = False
            continue
        column = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        values = column[at // index.shape[1]]
        if healthy is None:
            if ranges is not None and name in ranges:
                keep.ravel()[at] &= outside_usual(values, ranges[name], words_for(name, registry)[1])
            continue
        if sign < 0:
            keep.ravel()[at] &= ~np.isnan(values)  # an empty value ('no logins before') protects nothing
        if name not in medians:
            continue
        # +1 on the healthy side of the median, -1 on the unhealthy side, 0 at it or without a value
        side = np.nan_to_num(np.sign(values - medians[name]))
        side = side if healthy == "high" else -side
        keep.ravel()[at] &= side != sign  # a risk reason (+1) not healthy, a protective one not unhealthy
    slot = np.cumsum(keep, axis=1) - 1  # each kept candidate's slot
    picked_index = np.full((len(index), n), -1, dtype="int64")
    picked_value = np.zeros((len(index), n))
    for k in range(n):
        row, column = np.nonzero(keep & (slot == k))
        picked_index[row, k] = index[row, column]
        picked_value[row, k] = value[row, column]
    return picked_index, picked_value


def describe_many(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    index: np.ndarray,
    ranges: Ranges,
    registry: Registry,
    standing: Standing | None = None,
) -> np.ndarray:
    """Plain-words text per row for the feature at ``index`` (-1: no reason, None).

    Each value of a feature is worded once as printed (`as_printed`: 0.3712 and 0.3749 both read '37%'),
    and its standing among accounts is that of the printed value: a million accounts' reasons word some
    tens of thousands of texts, not a million. A feature the registry marks as not ``compared`` (days
    to renewal) is worded without its usual range.
    """
    standing = Standing(frame) if standing is None else standing
    text = np.full(len(index), None, dtype=object)
    for i in np.unique(index[index >= 0]):
        rows = np.flatnonzero(index == i)
        name = spec.features[i]
        values = frame[name].to_numpy()[rows]
        numeric = is_numeric_dtype(frame[name])
        if numeric:
            values = as_printed(
                pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64", na_value=np.nan),
                words_for(name, registry)[1],
            )
        codes, distinct = pd.factorize(values, use_na_sentinel=False)
        shares = [None] * len(distinct)
        usual = ranges.get(name) if getattr(registry.get(name), "compared", True) else None
        if usual is not None and numeric:
            shares = list(zip(*standing.shares(name, distinct), strict=True))
        wording = Wording.of(name, usual, registry)
        words = [wording.say(v, share) for v, share in zip(distinct, shares, strict=True)]
        text[rows] = np.array(words, dtype=object)[codes]
    return text


def as_printed(values: np.ndarray, unit: str) -> np.ndarray:
    """`values` rounded to what `format_value` prints of them (0.3712 as a ratio: 0.37, for '37%')."""
    if unit in ("ratio", "percent", "percent change"):
        return np.round(values * 100) / 100
    if unit == "currency":
        return np.round(values)
    size = np.abs(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        below_one = np.minimum(3, 1 - np.floor(np.log10(size)))  # as `decimals`
        places = np.select(
            [(size >= 100) | (values == np.round(values)), size >= 10, size >= 1], [0, 1, 2], below_one
        )
    scale = 10.0 ** np.nan_to_num(places)
    return np.round(values * scale) / scale


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
    return Wording.of(name, usual, registry).say(value, shares)


@dataclass(frozen=True)
class Wording:
    """What `describe` says about one feature whatever the value: its words, unit and usual range, made
    once per feature (a million accounts' reasons word some 900k distinct values)."""

    description: str
    unit: str
    usual: tuple[float, float] | None
    usual_text: str  # '18–45', or for a percent change '−14% to +7%'
    missing: str  # what an empty value means: 'not used yet', 'no login ever', ...
    edges: tuple[str, str] = ("", "")  # the usual range's ends as printed (see `beyond`)

    @classmethod
    def of(cls, name: str, usual: tuple[float, float] | None, registry: Registry) -> Wording:
        description, unit = words_for(name, registry)
        missing = getattr(registry.get(name), "missing", "no data")
        if usual is None:
            return cls(description, unit, None, "", missing)
        low, high = usual
        edges = format_value(low, unit), format_value(high, unit)
        if unit == "percent change":
            span = edges[0] if edges[0] == edges[1] else f"{edges[0]} to {edges[1]}"  # not '0% to 0%'
        else:
            bare = "" if unit == "days" else unit  # '1–6 days', not '1 days–6 days'
            span = f"{format_value(low, bare)}–{edges[1]}" if low != high else edges[0]
        return cls(description, unit, usual, span, missing, edges)

    def say(self, value: Any, shares: tuple[float, float] | None = None) -> str:
        description, unit = self.description, self.unit
        if _missing(value):
            return f"{description}: {self.missing}"
        if isinstance(value, str):
            return f"{description}: {value}"
        value = float(value)
        if unit == "percent change":
            pct = round(value * 100)
            move = f"fell {-pct}%" if pct < 0 else f"rose {pct}%" if pct > 0 else "no change"
            return f"{description}: {move}" + (f" (usually {self.usual_text})" if self.usual else "")
        shown = format_value(value, unit)
        if self.usual is None:
            return f"{description}: {shown}"
        below, above = beyond(value, self.usual, unit, shown, self.edges)
        if below or above or shares is None:
            where = "below" if below else "above" if above else "within"
            return f"{description}: {shown}, {where} the usual {self.usual_text}"
        return f"{description}: {shown}, {standing_words(*shares)} (usually {self.usual_text})"


def beyond(
    value: float,
    usual: tuple[float, float],
    unit: str,
    shown: str | None = None,
    edges: tuple[str, str] | None = None,
) -> tuple[bool, bool]:
    """Whether `value` is below and above the `usual` range as printed: 0.074 prints as 7%, and '7%,
    above the usual 3%–7%' would contradict itself. `shown` and `edges` are the value and the range's
    ends as printed, when the caller has them."""
    low, high = usual
    below, above = value < low, value > high
    if not (below or above):
        return False, False
    shown = format_value(value, unit) if shown is None else shown
    edges = (format_value(low, unit), format_value(high, unit)) if edges is None else edges
    return below and shown != edges[0], above and shown != edges[1]


def outside_usual(values: np.ndarray, usual: tuple[float, float], unit: str) -> np.ndarray:
    """Per value, whether it is below or above the `usual` range as printed (see `beyond`); each
    distinct value is printed once."""
    distinct, which = np.unique(values, return_inverse=True)
    return np.array([any(beyond(v, usual, unit)) for v in distinct], dtype=bool)[which.ravel()]


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
        return f"{value:,.0f}".replace("-", "−")
    number = f"{value:,.{decimals(value)}f}"
    # no '-0', no '0.000'; a minus sign as in the percent changes ('0 → −1' beside '−100%')
    number = "0" if float(number.replace(",", "")) == 0 else number.replace("-", "−")
    if unit == "days":
        return f"{number} day" if number == "1" else f"{number} days"
    return number


def decimals(value: float) -> int:
    """Decimals to print: none for whole numbers and from 100 up, one from 10, two from 1 (1.13 users
    per seat is above a usual 0.67–1.1, where '1.1' would not be), and below 1 two significant digits
    up to three decimals (a rate of 0.043 a day is not '0.0')."""
    size = abs(float(value))
    if size >= 100 or size.is_integer():
        return 0
    if size >= 10:
        return 1
    if size >= 1:
        return 2
    return min(3, 1 - math.floor(math.log10(size)))


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


MIN_DRIVER_SHARE = 0.05  # a driver carries at least this share of the raw-score change


def driver_columns(
    now: pd.DataFrame,
    before: pd.DataFrame,
    spec: FeatureSpec,
    contrib_now: np.ndarray,
    contrib_before: np.ndarray,
    n_drivers: int,
    registry: Registry | None = None,
    n_context: int = 0,
    ranges: Ranges | None = None,
) -> pd.DataFrame:
    """What moved each account's score between two scorings with the same model.

    The raw-score change is split per feature as contrib_now - contrib_before (the bias cancels); the
    drivers are the largest such changes in the direction of the move, worded as 'X: before → now'. A
    driver must:

    - have changed as printed: a tree's contribution for one feature also moves when another feature
      does, and 'Contract type: annual → annual' or 'Weekend share: 6% → 6%' would explain nothing;
    - have moved the way the score did (see `moved_the_way`);
    - carry at least `MIN_DRIVER_SHARE` of the change: a share of 0.00005 of a move into red is no
      explanation, and with nothing else listed it read as the whole one.

    As with reasons, the drivers are behaviour; facts about the account (the registry's ``context``:
    days to renewal, seats, ...) are listed apart, ``n_context`` of them, as ``context_driver_1``: the
    renewal date comes a month closer at every monthly scoring, and as a driver it led the moves into
    red. The shares not listed stay in ``driver_remainder``, which closes the sum: drivers + context
    drivers + remainder = raw score change.
    """
    registry = default_registry() if registry is None else registry
    delta = contrib_now[:, :-1] - contrib_before[:, :-1]
    change = delta.sum(axis=1)
    direction = np.where(change >= 0, 1.0, -1.0)[:, None]
    units = [words_for(name, registry)[1] for name in spec.features]
    moved = np.column_stack(
        [
            value_changed(before[name], now[name], unit)
            for name, unit in zip(spec.features, units, strict=True)
        ]
    )
    moved &= moved_the_way(before, now, spec, direction[:, 0], registry, ranges)
    toward_move = np.where(moved, delta * direction, 0.0)
    toward_move[toward_move < MIN_DRIVER_SHARE * np.abs(change)[:, None]] = 0.0
    context = context_features(spec, registry)
    names = np.array([*spec.features, None], dtype=object)  # index -1 (no such driver): None
    out: dict[str, Any] = {}
    listed = np.zeros(len(now))
    for prefix, n, among in (("driver", n_drivers, ~context), ("context_driver", n_context, context)):
        if n == 0:
            continue
        index, value = top_features(toward_move, n, 1, among)
        value = value * direction
        for k in range(index.shape[1]):
            out[f"{prefix}_{k + 1}"] = _change_texts(before, now, spec, index[:, k], registry)
            out[f"{prefix}_{k + 1}_feature"] = names[index[:, k]]
            out[f"{prefix}_{k + 1}_contribution"] = value[:, k]
            listed += value[:, k]
    out["driver_remainder"] = (contrib_now.sum(axis=1) - contrib_before.sum(axis=1)) - listed
    return pd.DataFrame(out, index=now.index)


def _change_texts(
    before: pd.DataFrame, now: pd.DataFrame, spec: FeatureSpec, index: np.ndarray, registry: Registry
) -> np.ndarray:
    """'Description: before → now' for each row's feature ``index`` (None where it is -1); an empty value
    in the registry's words for it ('no login ever')."""
    text = np.full(len(index), None, dtype=object)
    for i in np.unique(index[index >= 0]):
        rows = np.flatnonzero(index == i)
        name = spec.features[i]
        w = Wording.of(name, None, registry)  # the reasons' words for the feature and its empty value
        was, is_ = before[name].to_numpy()[rows], now[name].to_numpy()[rows]
        text[rows] = [
            f"{w.description}: {_show(a, w.unit, w.missing)} → {_show(b, w.unit, w.missing)}"
            for a, b in zip(was, is_, strict=True)
        ]
    return text


def moved_the_way(
    before: pd.DataFrame,
    now: pd.DataFrame,
    spec: FeatureSpec,
    direction: np.ndarray,
    registry: Registry,
    ranges: Ranges | None = None,
) -> np.ndarray:
    """Per row and feature, whether a change can explain a move of the score in ``direction`` (+1 up):

    - a feature with a healthy direction moved towards unhealthy when the risk rose, towards healthy
      when it fell: seats active '12% → 18%' is no driver of a move into red, whatever the trees'
      interactions make of it. A value that appeared or vanished has no direction to check ('Record
      activity against the month before: no data → +50%' explained a move into yellow): no driver;
    - a behaviour without a direction (record deletes, the weekend share) drives a rise only when it
      is now outside the usual ``ranges`` as printed, and never a fall, as for reasons ("Weekend share:
      9% → 10%" explained nothing);
    - account facts and features the registry does not know drive either way.
    """
    out = np.ones((len(now), len(spec.features)), dtype=bool)
    for j, name in enumerate(spec.features):
        entry = registry.get(name)
        if entry is None or getattr(entry, "context", False):
            continue
        if not (is_numeric_dtype(before[name]) and is_numeric_dtype(now[name])):
            continue
        was = before[name].to_numpy(dtype="float64", na_value=np.nan)
        is_ = now[name].to_numpy(dtype="float64", na_value=np.nan)
        healthy = getattr(entry, "healthy_when", None)
        if healthy is None:
            unusual = np.zeros(len(now), dtype=bool)
            if ranges is not None and name in ranges:
                unusual = outside_usual(is_, ranges[name], words_for(name, registry)[1])
            out[:, j] = (direction > 0) & unusual
            continue
        change = is_ - was
        healthier = np.sign(change) if healthy == "high" else -np.sign(change)
        out[:, j] = ~np.isnan(change) & (healthier == -direction)
    return out


def value_changed(before: pd.Series, now: pd.Series, unit: str = "") -> np.ndarray:
    """Row by row (by position), whether a feature's value differs between two scorings as printed in
    `unit` (6.2% and 5.9% both read '6%'); a value missing both times has not changed."""
    if is_numeric_dtype(before) and is_numeric_dtype(now):
        was = as_printed(before.to_numpy(dtype="float64", na_value=np.nan), unit)
        is_ = as_printed(now.to_numpy(dtype="float64", na_value=np.nan), unit)
        return ~((was == is_) | (np.isnan(was) & np.isnan(is_)))
    pairs = zip(before.astype(object).to_numpy(), now.astype(object).to_numpy(), strict=True)
    return np.array([_differ(a, b) for a, b in pairs], dtype=bool)


def _differ(a: Any, b: Any) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) != _missing(b)
    return a != b


def _show(value: Any, unit: str, missing: str = "no data") -> str:
    if isinstance(value, str):
        return value
    return missing if _missing(value) else format_value(value, unit)
