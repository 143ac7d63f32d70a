"""Static account attributes: segment, seats, plan, price, contract, signup date, owner and name."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEGMENTS = ("enterprise", "mid_market", "smb")
SEGMENT_SHARE = np.array([0.10, 0.30, 0.60])
# Seats are lognormal per segment, clipped to the segment's usual band.
SEATS_MEDIAN = np.array([110.0, 22.0, 5.0])
SEATS_SIGMA = np.array([0.55, 0.45, 0.5])
SEATS_MIN = np.array([30, 8, 1])
SEATS_MAX = np.array([1500, 120, 25])
ANNUAL_SHARE = np.array([0.95, 0.60, 0.25])
PLANS = ("starter", "professional", "enterprise")
PLAN_PROBS = np.array([[0.0, 0.3, 0.7], [0.2, 0.6, 0.2], [0.6, 0.35, 0.05]])
PRICE_PER_SEAT = np.array([25.0, 55.0, 95.0])
ANNUAL_DISCOUNT = 0.85
OWNERS = (
    ("Avery Chen", "Jordan Blake", "Morgan Patel"),
    ("Riley Novak", "Casey Moreau", "Jamie Okafor", "Taylor Brandt"),
    ("Sam Lindqvist", "Alex Romero", "Drew Kowalski", "Kai Tanaka", "Quinn Adeyemi"),
)
_NAME_A = (
    "Acme",
    "Blue",
    "North",
    "Summit",
    "Bright",
    "Iron",
    "Cedar",
    "Nova",
    "Pioneer",
    "Silver",
    "Harbor",
    "Atlas",
    "Vertex",
    "Maple",
    "Quantum",
    "Red",
    "Granite",
    "Lumen",
    "Orbit",
    "Echo",
)
_NAME_B = (
    "Logistics",
    "Health",
    "Labs",
    "Foods",
    "Energy",
    "Capital",
    "Robotics",
    "Media",
    "Analytics",
    "Partners",
    "Systems",
    "Retail",
    "Studios",
    "Freight",
    "Security",
    "Bio",
    "Works",
    "Cloud",
)
_NAME_C = ("Inc", "LLC", "GmbH", "Ltd", "Group", "Co", "SA", "BV")


@dataclass(frozen=True)
class Accounts:
    """One entry per account, in account-id order (which is signup order)."""

    account_id: np.ndarray  # str objects "A000001"
    account_name: np.ndarray
    owner: np.ndarray
    segment: np.ndarray  # int: index into SEGMENTS
    plan: np.ndarray  # int: index into PLANS
    seats0: np.ndarray  # seats at signup (downgrades only lower them)
    annual: np.ndarray  # bool
    signup_month: np.ndarray  # month index relative to the sample's start; < 0 = before the data
    start_dom: np.ndarray  # day of month of contract start and of every renewal (1..28)
    mu: np.ndarray  # long-run health the account reverts to
    activity: np.ndarray  # lognormal multiplier of how much its users log in: heavy tails across accounts
    record_rate: np.ndarray  # lognormal multiplier of record events per session
    failed_onboarding: np.ndarray  # bool: starts far below its long-run health


def draw_accounts(
    n: int, months: int, burn_in: int, initial_share: float, rng: np.random.Generator
) -> Accounts:
    """Draw `n` accounts; `initial_share` of them signed up during the `burn_in` months before month 0."""
    segment = rng.choice(3, size=n, p=SEGMENT_SHARE)
    initial = rng.random(n) < initial_share
    signup = np.where(initial, rng.integers(-burn_in, 0, size=n), rng.integers(0, months, size=n))
    start_dom = rng.integers(1, 29, size=n)
    # Ids follow signup order, as a CRM's sequence would.
    order = np.lexsort((rng.random(n), start_dom, signup))
    segment, signup, start_dom = segment[order], signup[order], start_dom[order]
    seats = np.exp(np.log(SEATS_MEDIAN[segment]) + SEATS_SIGMA[segment] * rng.standard_normal(n))
    seats0 = np.clip(np.round(seats), SEATS_MIN[segment], SEATS_MAX[segment]).astype(np.int64)
    plan = _draw_rows(PLAN_PROBS[segment], rng)
    return Accounts(
        account_id=np.array([f"A{i:06d}" for i in range(1, n + 1)], dtype=object),
        account_name=_draw_names(n, rng),
        owner=np.array([OWNERS[s][rng.integers(len(OWNERS[s]))] for s in segment], dtype=object),
        segment=segment,
        plan=plan,
        seats0=seats0,
        annual=rng.random(n) < ANNUAL_SHARE[segment],
        signup_month=signup,
        start_dom=start_dom,
        mu=0.6 * rng.standard_normal(n) + 0.15 * (plan - 1),
        activity=np.exp(0.55 * rng.standard_normal(n)),
        record_rate=np.exp(0.6 * rng.standard_normal(n)),
        failed_onboarding=rng.random(n) < 0.12,
    )


def monthly_price(plan: np.ndarray, annual: np.ndarray) -> np.ndarray:
    """List price per seat per month; annual contracts get a discount."""
    return PRICE_PER_SEAT[plan] * np.where(annual, ANNUAL_DISCOUNT, 1.0)


def _draw_rows(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of a probability matrix."""
    cum = np.cumsum(probs, axis=1)
    return (rng.random(len(probs))[:, None] > cum[:, :-1]).sum(axis=1)


def _draw_names(n: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.integers(len(_NAME_A), size=n)
    b = rng.integers(len(_NAME_B), size=n)
    c = rng.integers(len(_NAME_C), size=n)
    return np.array(
        [f"{_NAME_A[i]} {_NAME_B[j]} {_NAME_C[k]}" for i, j, k in zip(a, b, c, strict=True)], dtype=object
    )
