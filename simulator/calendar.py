"""Month arithmetic on integer day numbers (days since 1970-01-01), vectorised with numpy.

The simulator counts time in months relative to `start` (month 0 is the month of `start`; negative months
are the burn-in before the data begins) and in days since the Unix epoch, which is exactly Arrow's date32.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

_EPOCH = dt.date(1970, 1, 1)


def to_day(date: dt.date) -> int:
    """Day number of a date (days since 1970-01-01)."""
    return (date - _EPOCH).days


def to_date(day: int) -> dt.date:
    """Inverse of `to_day`."""
    return _EPOCH + dt.timedelta(days=int(day))


def month_start_days(start: dt.date, months: np.ndarray | int) -> np.ndarray:
    """Day number of the first day of month `start + months` (months may be negative or an array)."""
    base = np.datetime64(f"{start.year:04d}-{start.month:02d}", "M")
    return (base + np.asarray(months, dtype=np.int64)).astype("datetime64[D]").astype(np.int64)


def weekday_of(days: np.ndarray) -> np.ndarray:
    """Monday = 0 … Sunday = 6; 1970-01-01 was a Thursday."""
    return (np.asarray(days) + 3) % 7
