"""Time-ordered split of labelled snapshots into train, validation and test periods.

Test is the last ``test_months`` labelled observation months, validation the ``valid_months`` before.
A snapshot's label looks ``lead + horizon`` days ahead, so snapshots whose label window reaches into
a later period are purged: no label that depends on the validation or test period reaches training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


class SplitError(ValueError):
    """The labelled data cannot be split by time into periods that each hold churn and non-churn."""


@dataclass(frozen=True)
class TimeSplit:
    train_end: pd.Timestamp  # train snapshots have label windows ending on or before this date
    valid_start: pd.Timestamp
    valid_end: pd.Timestamp  # validation label windows end on or before this date
    test_start: pd.Timestamp

    def describe(self) -> dict[str, str]:
        return {k: v.date().isoformat() for k, v in self.__dict__.items()}


def make_split(dates: pd.Series, valid_months: int, test_months: int) -> TimeSplit:
    """Choose period boundaries from the labelled observation dates."""
    months = sorted(pd.Series(dates).unique())
    if len(months) < valid_months + test_months + 1:
        raise SplitError(
            f"Need at least {valid_months + test_months + 1} labelled observation months for a time "
            f"split (valid {valid_months} + test {test_months} + train), found {len(months)}."
        )
    test_start = pd.Timestamp(months[-test_months])
    valid_start = pd.Timestamp(months[-test_months - valid_months])
    return TimeSplit(
        train_end=valid_start, valid_start=valid_start, valid_end=test_start, test_start=test_start
    )


def assign_periods(frame: pd.DataFrame, split: TimeSplit, label_days: int) -> pd.Series:
    """'train' / 'valid' / 'test' per labelled row, or 'purged' when its label window crosses a boundary."""
    t = frame["observation_date"]
    window_end = t + pd.Timedelta(days=label_days)
    period = pd.Series("purged", index=frame.index, dtype="object")
    period[(t < split.valid_start) & (window_end <= split.train_end)] = "train"
    period[(t >= split.valid_start) & (t < split.test_start) & (window_end <= split.valid_end)] = "valid"
    period[t >= split.test_start] = "test"
    return period


def check_both_classes(period: pd.Series, labels: np.ndarray, split: TimeSplit) -> None:
    """Raise SplitError naming each of train, valid and test that lacks churned or retained rows: no
    model can learn, stop early or be tested on one class."""
    problems = []
    for name in ("train", "valid", "test"):
        y = labels[(period == name).to_numpy()]
        churned = int(y.sum())
        if churned == 0 or churned == len(y):
            problems.append(f"{name}: {len(y)} rows, {churned} churned")
    if problems:
        raise SplitError(
            f"each period needs churned and retained accounts ({'; '.join(problems)}; split "
            f"{split.describe()}). Check the churn dates (the accounts table's churn_date, or what "
            "your importer derived), data.as_of and featurize.first_observation, or change "
            "train.valid_months / train.test_months."
        )
