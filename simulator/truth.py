"""Ground truth: P(churn in [t + lead, t + lead + horizon) | the simulator's state at t), by Monte Carlo.

The continuation replays the same monthly dynamics from the state at t on `paths` replicas of each account.
It is Rao-Blackwellised: instead of drawing churn at each renewal, it adds the probability of churning there
given survival so far, and continues every path as a survivor. Only the health path is random, so the
Monte Carlo standard error is far below the binomial bound sqrt(p (1 - p) / paths).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from simulator.dynamics import (
    State,
    Statics,
    apply_downgrade,
    churn_probability,
    downgrade_probability,
    evolve,
    is_renewal_month,
)

# Replicas held at once: bounds memory at ~10 arrays of this many float64.
MAX_REPLICAS = 2_000_000


@dataclass
class TruthCollector:
    """Accumulates truth rows month by month; `window` turns a month index into [lo, hi) day numbers."""

    statics: Statics
    start_dom: np.ndarray
    month_days: Callable[[int], int]  # month index -> day number of its first day
    lead_days: int
    horizon_days: int
    observe_from: int  # first month index that is an observation date
    paths: int
    rng: np.random.Generator
    account_idx: list[np.ndarray] = field(default_factory=list)
    months: list[np.ndarray] = field(default_factory=list)
    p_churn: list[np.ndarray] = field(default_factory=list)
    std_error: list[np.ndarray] = field(default_factory=list)

    def __call__(self, m: int, idx: np.ndarray, state: State) -> None:
        if m < self.observe_from or len(idx) == 0:
            return
        block = max(1, MAX_REPLICAS // self.paths)
        for lo in range(0, len(idx), block):
            part = slice(lo, lo + block)
            p, se = self.estimate(m, idx[part], state.take(np.arange(len(idx))[part]))
            self.account_idx.append(idx[part])
            self.months.append(np.full(len(p), m))
            self.p_churn.append(p)
            self.std_error.append(se)

    def estimate(self, m: int, idx: np.ndarray, state: State) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard error over paths of P(churn in the window) for accounts `idx` at month m."""
        n, k = len(idx), self.paths
        t = int(self.month_days(m))
        lo, hi = t + self.lead_days, t + self.lead_days + self.horizon_days
        s, st = state.tile(k), self.statics.take(idx).tile(k)
        dom = np.tile(self.start_dom[idx], k)
        survive, p_window = np.ones(n * k), np.zeros(n * k)
        j = 0
        while self.month_days(m + j) < hi:
            month = m + j
            evolve(s, st, self.rng)
            day = self.month_days(month) + dom - 1
            due = is_renewal_month(st, month) & (day < hi)
            h = np.where(due, churn_probability(s, st, month), 0.0)
            p_window += survive * h * (day >= lo)
            survive *= 1 - h
            # Paths continue as survivors of this renewal: a downgrade is drawn given no churn.
            down = due & (self.rng.random(n * k) < downgrade_probability(s))
            apply_downgrade(s, down)
            j += 1
        per_path = p_window.reshape(k, n)
        return per_path.mean(axis=0), per_path.std(axis=0, ddof=1) / np.sqrt(k)

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(account index, month index, p_churn, standard error), unsorted."""
        if not self.p_churn:
            empty = np.zeros(0)
            return empty.astype(np.int64), empty.astype(np.int64), empty, empty
        cat = np.concatenate
        return cat(self.account_idx), cat(self.months), cat(self.p_churn), cat(self.std_error)
