"""Behavioural logs for a chunk of accounts: users, logins, record events and feature events.

Users are seats that hold a person: an account's first `active_users` seats are occupied in a month. A seat
changes hands on turnover and on the champion's departure (seat 0 is the champion's); a seat left idle by
shrinking usage keeps its holder, who may come back. A user's day is a session (or none) with a
weekday/weekend rhythm; its probability grows with the account's health, activity level and the user's
engagement. Sessions carry record events and feature events whose mix follows adoption breadth, health and
feature stickiness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.calendar import weekday_of
from simulator.dynamics import sigmoid

FEATURES = (
    "dashboards",
    "reports",
    "email_sync",
    "workflows",
    "integrations",
    "mobile_app",
    "custom_fields",
    "sequences",
    "forecasting",
    "api",
)
POPULARITY = np.array([1.0, 0.8, 0.7, 0.5, 0.4, 0.45, 0.3, 0.35, 0.3, 0.2])
# Share of a feature's use that survives poor health: integrations and APIs are wired in and keep running.
STICKINESS = np.array([0.6, 0.5, 0.8, 0.6, 0.9, 0.3, 0.5, 0.3, 0.2, 0.9])
OBJECT_TYPES = ("contacts", "companies", "opportunities", "tasks", "notes", "reports")
OBJECT_MIX = np.array(
    [
        [0.22, 0.14, 0.22, 0.24, 0.10, 0.08],
        [0.28, 0.14, 0.18, 0.26, 0.10, 0.04],
        [0.34, 0.14, 0.14, 0.26, 0.10, 0.02],
    ]
)
ACTIONS = ("create", "update", "delete")
P_LOGIN = 0.13  # weekday session probability of an average user in an average account
WEEKEND = 0.15
CHAMPION_ENGAGEMENT = 2.5
EXTRA_LOGINS = 0.35  # Poisson mean of logins beyond the first in a session
RECORDS_PER_SESSION = 0.45
FEATURES_PER_SESSION = 0.55
TURNOVER = 0.02  # monthly chance that a non-champion seat changes hands
SEASON = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.97, 0.92, 0.88, 1.0, 1.0, 0.97, 0.85])  # Jul/Aug/Dec dips
USER_BITS, TS_BITS = 18, 30  # layout of the in-chunk sort key: account | seconds | user


@dataclass(frozen=True)
class Chunk:
    """Inputs for one chunk of accounts (indices are chunk-local)."""

    months: int
    month_days: np.ndarray  # (months + 1,) day number of each month start, then the data end
    first_day: np.ndarray  # contract start day
    end_day: np.ndarray  # churn day or data end (exclusive)
    segment: np.ndarray
    seats0: np.ndarray
    activity: np.ndarray
    record_rate: np.ndarray
    health: np.ndarray  # (months, n)
    breadth: np.ndarray
    active_users: np.ndarray
    champion: np.ndarray
    champion_left: np.ndarray
    scale: float  # multiplies session probability: the knob for event volume


@dataclass
class Logs:
    """Event columns for one chunk, sorted by (account, timestamp, user); times in seconds since epoch."""

    logins: dict[str, np.ndarray]
    records: dict[str, np.ndarray]
    features: dict[str, np.ndarray]


@dataclass
class _Seats:
    account: np.ndarray
    slot: np.ndarray
    generation: np.ndarray
    engagement: np.ndarray
    on: np.ndarray
    used: np.ndarray


def generate_chunk(c: Chunk, rng: np.random.Generator) -> Logs:
    """All events of a chunk, month by month."""
    seats = _make_seats(c.seats0, rng)
    adoption_rank = _adoption_rank(len(c.seats0), rng)
    parts = []
    for m in range(c.months):
        _turn_over(seats, c, m, rng)
        sessions = _draw_sessions(seats, c, m, rng)
        if sessions is not None:
            parts.append(_expand(sessions, c, m, adoption_rank, rng))
    return _assemble(parts)


def _make_seats(seats0: np.ndarray, rng: np.random.Generator) -> _Seats:
    account = np.repeat(np.arange(len(seats0)), seats0)
    slot = np.arange(len(account)) - np.repeat(np.cumsum(seats0) - seats0, seats0)
    n = len(account)
    return _Seats(
        account, slot, np.zeros(n, np.int64), _draw_engagement(n, rng), np.zeros(n, bool), np.zeros(n, bool)
    )


def _draw_engagement(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.exp(0.6 * rng.standard_normal(n) - 0.18)


def _adoption_rank(n: int, rng: np.random.Generator) -> np.ndarray:
    """Per account, the order in which it adopts features: popular ones first, with account-level noise."""
    key = -np.log(POPULARITY)[None, :] + 0.8 * rng.standard_normal((n, len(FEATURES)))
    return np.argsort(np.argsort(key, axis=1), axis=1)


def _turn_over(s: _Seats, c: Chunk, m: int, rng: np.random.Generator) -> None:
    """Occupy this month's seats; a seat changes hands on turnover or when the champion leaves."""
    d0, d1 = c.month_days[m], c.month_days[m + 1]
    alive = (c.first_day < d1) & (c.end_day > d0)
    on = alive[s.account] & (s.slot < c.active_users[m][s.account])
    u = rng.random(len(on))
    fresh = _draw_engagement(len(on), rng)
    # A seat that falls idle keeps its licence holder, who may come back; people leave only by turnover.
    new_person = (
        on & s.used & (((s.slot > 0) & (u < TURNOVER)) | ((s.slot == 0) & c.champion_left[m][s.account]))
    )
    s.generation += new_person
    s.engagement = np.where(new_person, fresh, s.engagement)
    s.used |= on
    s.on = on


def _draw_sessions(s: _Seats, c: Chunk, m: int, rng: np.random.Generator) -> dict | None:
    """(account, user, day) of every session this month."""
    idx = np.flatnonzero(s.on)
    if len(idx) == 0:
        return None
    a = s.account[idx]
    days = np.arange(c.month_days[m], c.month_days[m + 1])
    h = c.health[m][a]
    champion = (s.slot[idx] == 0) & c.champion[m][a]
    # Month-level noise per account keeps the leading indicators noisy, as real usage is.
    noise = np.exp(0.25 * rng.standard_normal(len(c.seats0)))[a]
    month_of_year = (np.datetime64("1970-01-01") + int(days[0])).astype("datetime64[M]").astype(int) % 12
    p = (
        c.scale
        * P_LOGIN
        * SEASON[month_of_year]
        * c.activity[a]
        * s.engagement[idx]
        * noise
        * np.where(champion, CHAMPION_ENGAGEMENT, 1.0)
        * 2
        * sigmoid(1.3 * h)
    )
    rhythm = np.where(weekday_of(days) >= 5, WEEKEND, 1.0)
    prob = np.minimum(p[:, None] * rhythm[None, :], 0.95).astype(np.float32)
    valid = (days[None, :] >= c.first_day[a][:, None]) & (days[None, :] < c.end_day[a][:, None])
    hit = (rng.random(prob.shape, dtype=np.float32) < prob) & valid
    row, col = np.nonzero(hit)
    # In-account user number: seat * 100 + how many times the seat changed hands (ids sort like numbers).
    user = s.slot[idx] * 100 + s.generation[idx] % 100
    return {"account": a[row], "user": user[row], "day": days[col]}


def _expand(sess: dict, c: Chunk, m: int, rank: np.ndarray, rng: np.random.Generator) -> Logs:
    """Turn sessions into logins, record events and feature events."""
    a, n = sess["account"], len(sess["account"])
    h = c.health[m][a]
    start = 6 * 3600 + (13 * 3600 * rng.beta(2.0, 2.0, n)).astype(np.int64)
    logins = _spread_in_session(sess, start, 1 + rng.poisson(EXTRA_LOGINS, n), rng, first_at_start=True)
    n_rec = rng.poisson(RECORDS_PER_SESSION * c.record_rate[a] * np.exp(0.5 * h))
    records = _spread_in_session(sess, start, n_rec, rng, first_at_start=False)
    ra = records["account"]
    records["object_type"] = _draw_categorical(OBJECT_MIX[c.segment[ra]], rng)
    records["action"] = _draw_categorical(_action_mix(c.health[m][ra]), rng)
    n_feat = rng.poisson(FEATURES_PER_SESSION * (0.4 + c.breadth[m][a]) * np.sqrt(2 * sigmoid(h)))
    features = _spread_in_session(sess, start, n_feat, rng, first_at_start=False)
    features["feature"] = _draw_categorical(
        _feature_mix(c.health[m], c.breadth[m], rank)[features["account"]], rng
    )
    return Logs(logins, records, features)


def _spread_in_session(
    sess: dict, start: np.ndarray, count: np.ndarray, rng: np.random.Generator, first_at_start: bool
) -> dict[str, np.ndarray]:
    """`count` events per session, timed after the session start and within its day (seconds)."""
    which = np.repeat(np.arange(len(count)), count)
    s0 = start[which]
    offset = np.minimum(rng.exponential(2400.0, len(which)), 86399 - s0).astype(np.int64)
    if first_at_start:
        offset[np.cumsum(count)[count > 0] - count[count > 0]] = 0
    return {
        "account": sess["account"][which],
        "user": sess["user"][which],
        "time": sess["day"][which] * 86400 + s0 + offset,
    }


def _action_mix(h: np.ndarray) -> np.ndarray:
    """Create / update / delete shares: unhappy accounts clean up more and create less."""
    delete = 0.06 + 0.08 * sigmoid(-2.0 * h)
    create = (1 - delete) * (0.35 + 0.3 * sigmoid(h))
    return np.stack([create, 1 - delete - create, delete], axis=1)


def _feature_mix(health: np.ndarray, breadth: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per account, the share of feature events per feature this month.

    An account uses the first `1 + breadth * (F - 1)` features of its adoption order; poor health thins
    out the use of features in proportion to how little sticky they are.
    """
    n_adopted = 1 + np.floor(breadth * (len(FEATURES) - 1))
    adopted = rank < n_adopted[:, None]
    keep = STICKINESS[None, :] + (1 - STICKINESS[None, :]) * 2 * sigmoid(2.0 * health)[:, None]
    weight = POPULARITY[None, :] * adopted * keep
    return weight / weight.sum(axis=1, keepdims=True)


def _draw_categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row of a probability matrix, as int8 codes."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    return (rng.random(len(probs))[:, None] >= cum[:, :-1]).sum(axis=1).astype(np.int8)


def _assemble(parts: list[Logs]) -> Logs:
    """Concatenate monthly parts and sort each log by (account, time, user)."""
    return Logs(*(_sort_log([getattr(p, name) for p in parts]) for name in ("logins", "records", "features")))


def _sort_log(pieces: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not pieces:
        return {}
    cols = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    rel = cols["time"] - cols["time"].min() if len(cols["time"]) else cols["time"]
    if len(rel) and rel.max() >= 1 << TS_BITS:
        raise ValueError("simulated period too long for the in-chunk sort key")
    key = (cols["account"] << (TS_BITS + USER_BITS)) | (rel << USER_BITS) | cols["user"]
    order = np.argsort(key, kind="stable")
    return {k: v[order] for k, v in cols.items()}
