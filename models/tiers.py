"""Red / yellow / green tiers from calibrated probabilities, three ways, optionally per segment.

- ``threshold``: probability >= red is red, >= yellow is yellow, else green.
- ``arr_at_risk``: the same on expected ARR at risk (probability x ARR), in currency.
- ``capacity``: the CS team can work ``red`` accounts (a share of accounts when ``unit`` is ``share``,
  a count when it is ``count``) and watch ``yellow`` accounts, counted cumulatively (yellow includes red).
  Accounts are taken in rank order within each segment (``per_segment``) or across all accounts.

A value exactly on a threshold goes to the riskier tier. ``limits`` can override red/yellow per segment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TIERS = ("red", "yellow", "green")
TIER_ORDER = {tier: i for i, tier in enumerate(TIERS)}


@dataclass(frozen=True)
class TierRule:
    method: str  # threshold | capacity | arr_at_risk
    red: float
    yellow: float
    unit: str = "share"  # capacity only: share | count
    per_segment: bool = True  # capacity only
    segments: dict[str, dict[str, float]] = field(default_factory=dict)

    def limits(self, segment: str) -> tuple[float, float]:
        override = self.segments.get(segment, {})
        return override.get("red", self.red), override.get("yellow", self.yellow)


def describe_rule(rule: TierRule) -> str:
    """The rule in a CS manager's words, for the report: what makes an account red or yellow."""

    def number(value: float) -> str:
        share = rule.method == "threshold" or (rule.method == "capacity" and rule.unit == "share")
        return f"{value:.0%}" if share else f"{value:,.0f}"

    red, yellow = number(rule.red), number(rule.yellow)
    if rule.method == "threshold":
        text = f"churn probability at least {red} is red, at least {yellow} yellow"
    elif rule.method == "arr_at_risk":
        text = f"ARR at risk at least {red} is red, at least {yellow} yellow"
    else:
        scope = " in each segment" if rule.per_segment else ""
        accounts = " of accounts" if rule.unit == "share" else " accounts"
        text = f"the riskiest {red}{accounts}{scope} are red, the riskiest {yellow} red or yellow"
    overrides = [
        f"{segment} {number(limits[0])} and {number(limits[1])}"
        for segment, limits in sorted((s, rule.limits(s)) for s in rule.segments)
    ]
    return f"Tiers: {text}" + (f" ({'; '.join(overrides)})" if overrides else "") + "."


def rank_order(frame: pd.DataFrame, measure: str) -> np.ndarray:
    """Row positions from riskiest to safest: ``measure`` desc, then ARR desc, then account id (stable)."""
    order = np.lexsort(
        (frame["account_id"].to_numpy(dtype=object), -frame["arr"].to_numpy(), -frame[measure].to_numpy())
    )
    return order


def measure_for(rule: TierRule) -> str:
    return "arr_at_risk" if rule.method == "arr_at_risk" else "churn_probability"


def assign_tiers(frame: pd.DataFrame, rule: TierRule) -> pd.Series:
    """Tier per row of ``frame`` (needs account_id, segment, arr, churn_probability, arr_at_risk)."""
    if rule.method == "capacity":
        return _capacity_tiers(frame, rule)
    values = frame[measure_for(rule)].to_numpy(dtype="float64")
    red = np.empty(len(frame))
    yellow = np.empty(len(frame))
    segments = frame["segment"].astype("object").to_numpy()
    for segment in pd.unique(segments):
        mask = segments == segment
        red[mask], yellow[mask] = rule.limits(segment)
    tier = np.where(values >= red, "red", np.where(values >= yellow, "yellow", "green"))
    return pd.Series(tier, index=frame.index, dtype="str", name="tier")


def _capacity_tiers(frame: pd.DataFrame, rule: TierRule) -> pd.Series:
    tier = np.full(len(frame), "green", dtype=object)
    groups = (
        frame.groupby("segment", sort=True).indices if rule.per_segment else {None: np.arange(len(frame))}
    )
    for segment, positions in groups.items():
        red, yellow = rule.limits(segment) if segment is not None else (rule.red, rule.yellow)
        part = frame.iloc[positions]
        ordered = positions[rank_order(part, "churn_probability")]
        n_red, n_yellow = (
            _capacity_count(red, len(part), rule.unit),
            _capacity_count(yellow, len(part), rule.unit),
        )
        tier[ordered[:n_yellow]] = "yellow"
        tier[ordered[:n_red]] = "red"
    return pd.Series(tier, index=frame.index, dtype="str", name="tier")


def _capacity_count(limit: float, n: int, unit: str) -> int:
    # A share rounds up: a team that can call 5% of 30 accounts calls 2, not 1.
    k = math.ceil(limit * n - 1e-9) if unit == "share" else int(limit)
    return max(0, min(n, k))
