"""The latent account process, month by month and vectorised over accounts.

Each month an account's health follows a mean-reverting walk with a slowly varying trend and occasional
shocks (budget cut, competitor trial, champion leaves; failed onboarding at signup). Health pulls seat
utilisation and feature breadth along. At a renewal the account churns with a probability driven by health,
utilisation, breadth, tenure and segment, plus a small floor that no signal explains; survivors in poor
shape may downgrade seats instead. The same functions drive the main simulation and the Monte Carlo
continuation that computes the ground truth, so the truth is exact up to Monte Carlo error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

from simulator.accounts import Accounts

RHO = 0.85  # monthly persistence of health around its long-run level
SIGMA_H = 0.30  # monthly health noise
PHI = 0.80  # persistence of the trend
SIGMA_T = 0.06  # trend noise
BUDGET_CUT_P = np.array([0.008, 0.012, 0.015])  # per month, by segment
COMPETITOR_P = 0.010
CHAMPION_LEAVE_P = 0.020
CHAMPION_GAIN_P = 0.10
CHAMPION_LIFT = 0.30  # an account with a champion sits this much healthier in the long run
# Churn logit at a renewal for an average account, by segment (rows) and contract (monthly, annual).
BASE_LOGIT = np.array([[-4.6, -2.9], [-4.0, -2.3], [-3.5, -1.9]])
B_HEALTH, B_UTIL, B_BREADTH, B_TENURE = 1.1, 2.0, 1.5, 0.3
UNEXPLAINED = np.array([0.003, 0.015])  # churn floor per renewal that no signal explains (monthly, annual)


@dataclass
class State:
    """Latent state of a set of accounts (or of Monte Carlo replicas of them); arrays are aligned."""

    health: np.ndarray
    trend: np.ndarray
    util: np.ndarray  # activated users / seats
    breadth: np.ndarray  # share of the feature catalogue adopted
    seats: np.ndarray  # float, whole numbers
    champion: np.ndarray  # bool

    def take(self, idx: np.ndarray) -> State:
        return State(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def put(self, idx: np.ndarray, other: State) -> None:
        for f in fields(self):
            getattr(self, f.name)[idx] = getattr(other, f.name)

    def tile(self, k: int) -> State:
        """k replicas, replica-major: element r * n + i is replica r of account i."""
        return State(**{f.name: np.tile(getattr(self, f.name), k) for f in fields(self)})


@dataclass(frozen=True)
class Statics:
    """What the dynamics need to know of each account that never changes."""

    mu: np.ndarray
    segment: np.ndarray
    annual: np.ndarray
    signup_month: np.ndarray

    def take(self, idx: np.ndarray) -> Statics:
        return Statics(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def tile(self, k: int) -> Statics:
        return Statics(**{f.name: np.tile(getattr(self, f.name), k) for f in fields(self)})


@dataclass
class History:
    """Monthly record (months 0..M-1, accounts) of what the event generator needs, churn dates and the
    seat changes (one array per data month in each `change_*` list, aligned)."""

    health: np.ndarray  # float32 (M, n)
    breadth: np.ndarray  # float32 (M, n)
    active_users: np.ndarray  # int32 (M, n)
    champion: np.ndarray  # bool (M, n)
    champion_left: np.ndarray  # bool (M, n)
    seats: np.ndarray  # int64 (n,), seats at churn or at the end
    churn_day: np.ndarray  # int64 (n,), day number, -1 if not churned
    downgrades: int
    change_account: list[np.ndarray] = field(default_factory=list)  # account index
    change_day: list[np.ndarray] = field(default_factory=list)  # day number the new seats take effect
    change_seats: list[np.ndarray] = field(default_factory=list)  # int64 seats from that day on


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def init_state(acc: Accounts, idx: np.ndarray, rng: np.random.Generator) -> State:
    """State at signup; a failed onboarding starts far below the account's long-run health."""
    n = len(idx)
    failed = acc.failed_onboarding[idx]
    z, u = rng.standard_normal(n), rng.random((2, n))
    return State(
        health=acc.mu[idx] + 0.4 * z - 1.6 * failed,
        trend=np.zeros(n),
        util=np.where(failed, 0.1, 0.25 + 0.25 * u[0]),
        breadth=np.full(n, 0.1),
        seats=acc.seats0[idx].astype(np.float64),
        champion=u[1] < np.where(failed, 0.3, 0.75),
    )


def evolve(s: State, st: Statics, rng: np.random.Generator) -> np.ndarray:
    """Advance every account one month in place; return which accounts lost their champion."""
    n = len(s.health)
    u, z = rng.random((3, n)), rng.standard_normal((3, n))
    budget_cut = u[0] < BUDGET_CUT_P[st.segment]
    trial = u[1] < COMPETITOR_P
    left = s.champion & (u[2] < CHAMPION_LEAVE_P)
    gained = ~s.champion & (u[2] < CHAMPION_GAIN_P)
    s.champion = (s.champion & ~left) | gained
    # A competitor trial or a lost champion also bends the trend, so the damage lasts for months.
    s.trend = PHI * s.trend + SIGMA_T * z[0] - 0.10 * trial - 0.06 * left
    target = st.mu + CHAMPION_LIFT * (s.champion - 0.7)
    shock = -0.8 * budget_cut - 0.5 * trial - 0.6 * left
    s.health = target + RHO * (s.health - target) + s.trend + SIGMA_H * z[1] + shock
    util_target = 0.2 + 0.75 * sigmoid(1.2 * s.health + 0.6)
    s.util = np.clip(s.util + 0.35 * (util_target - s.util) + 0.04 * z[2], 0.02, 1.0)
    grow = 0.07 * sigmoid(1.5 * s.health) * (1 - s.breadth)
    s.breadth = np.clip(s.breadth + grow - 0.04 * sigmoid(-1.5 * s.health) * s.breadth, 0.0, 1.0)
    return left


def churn_probability(s: State, st: Statics, month: int | np.ndarray) -> np.ndarray:
    """Probability of churning at a renewal in `month`, given the state after that month's evolution."""
    tenure_years = (month - st.signup_month) / 12.0
    x = (
        BASE_LOGIT[st.segment, st.annual.astype(np.int64)]
        - B_HEALTH * s.health
        - B_UTIL * (s.util - 0.6)
        - B_BREADTH * (s.breadth - 0.4)
        - B_TENURE * np.log1p(tenure_years)
    )
    floor = UNEXPLAINED[st.annual.astype(np.int64)]
    return floor + (1 - floor) * sigmoid(x)


def downgrade_probability(s: State) -> np.ndarray:
    """Probability that an account that renews cuts seats; only accounts with 3+ seats can."""
    p = sigmoid(-3.2 - 0.9 * s.health + 3.0 * (0.55 - s.util))
    return np.where(s.seats >= 3, p, 0.0)


def apply_downgrade(s: State, mask: np.ndarray) -> None:
    """Cut seats towards the users actually active, by at most 40 %."""
    wanted = np.maximum(np.ceil(s.util * s.seats * 1.15), np.ceil(0.6 * s.seats))
    new_seats = np.maximum(1.0, np.minimum(wanted, s.seats - 1))
    s.util = np.where(mask, np.minimum(1.0, s.util * s.seats / new_seats), s.util)
    s.seats = np.where(mask, new_seats, s.seats)


def is_renewal_month(st: Statics, month: int | np.ndarray) -> np.ndarray:
    """Monthly contracts renew every month after signup, annual ones on the anniversary month."""
    age = month - st.signup_month
    return (age > 0) & (~st.annual | (age % 12 == 0))


def active_users(s: State) -> np.ndarray:
    return np.maximum(1, np.round(s.util * s.seats)).astype(np.int32)


TruthHook = Callable[[int, np.ndarray, State], None]


def simulate_accounts(
    acc: Accounts,
    months: int,
    burn_in: int,
    renewal_day: Callable[[np.ndarray, np.ndarray], np.ndarray],
    rng: np.random.Generator,
    on_month_start: TruthHook,
) -> History:
    """Run the latent process from the first burn-in month to month `months - 1`.

    `on_month_start(m, idx, state)` sees, at the start of each data month, the accounts that signed up
    before it and have not churned, with their state as of the end of the previous month (what the truth
    may condition on). Churn and downgrades are off during the burn-in: accounts that exist at month 0
    are the survivors of their earlier history.
    """
    n = len(acc.seats0)
    st = Statics(mu=acc.mu, segment=acc.segment, annual=acc.annual, signup_month=acc.signup_month)
    state = State(
        np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), acc.seats0.astype(float), np.zeros(n, bool)
    )
    hist = _empty_history(months, acc.seats0)
    for m in range(-burn_in, months):
        idx = np.flatnonzero((hist.churn_day < 0) & (acc.signup_month < m))
        if m >= 0:
            on_month_start(m, idx, state.take(idx))
        new = np.flatnonzero(acc.signup_month == m)
        state.put(new, init_state(acc, new, rng))
        sub, sub_st = state.take(idx), st.take(idx)
        left = evolve(sub, sub_st, rng)
        if m >= 0:
            _renew(sub, sub_st, idx, m, renewal_day, hist, rng)
            hist.champion_left[m, idx] = left
        state.put(idx, sub)
        if m >= 0:
            _record(hist, m, state, acc.signup_month <= m)
    # The day after the last simulated day is as_of, itself an observation date.
    idx = np.flatnonzero(hist.churn_day < 0)
    on_month_start(months, idx, state.take(idx))
    hist.seats = state.seats.astype(np.int64)
    return hist


def _renew(sub: State, sub_st: Statics, idx: np.ndarray, m: int, renewal_day, hist: History, rng) -> None:
    """Churn or downgrade the accounts of `idx` that renew this month."""
    due = is_renewal_month(sub_st, m)
    u = rng.random((2, len(idx)))
    churn = due & (u[0] < churn_probability(sub, sub_st, m))
    down = due & ~churn & (u[1] < downgrade_probability(sub))
    apply_downgrade(sub, down)
    hist.downgrades += int(down.sum())
    hist.churn_day[idx[churn]] = renewal_day(idx[churn], np.full(int(churn.sum()), m))
    # The cut takes effect at the renewal date, so `account_history` can give seats as of any past day.
    hist.change_account.append(idx[down])
    hist.change_day.append(renewal_day(idx[down], np.full(int(down.sum()), m)))
    hist.change_seats.append(sub.seats[down].astype(np.int64))


def _record(hist: History, m: int, state: State, mask: np.ndarray) -> None:
    hist.health[m] = state.health
    hist.breadth[m] = state.breadth
    hist.active_users[m] = np.where(mask, active_users(state), 0)
    hist.champion[m] = state.champion


def _empty_history(months: int, seats0: np.ndarray) -> History:
    n = len(seats0)
    return History(
        health=np.zeros((months, n), np.float32),
        breadth=np.zeros((months, n), np.float32),
        active_users=np.zeros((months, n), np.int32),
        champion=np.zeros((months, n), bool),
        champion_left=np.zeros((months, n), bool),
        seats=seats0.copy(),
        churn_day=np.full(n, -1, np.int64),
        downgrades=0,
    )
