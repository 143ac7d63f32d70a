"""`params.yaml` loaded into frozen, validated models: a missing or misspelled key fails at start-up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paths(_Section):
    sample: Path
    truth: Path
    raw: Path
    clean: Path
    features: Path
    model: Path
    scores: Path
    reports: Path
    tracking: Path


class Data(_Section):
    as_of: dt.date | None = None


class Sample(_Section):
    seed: int
    n_accounts: int = Field(gt=0)
    start: dt.date
    months: int = Field(gt=3, le=120)
    initial_share: float = Field(default=0.35, ge=0, le=1)
    burn_in_months: int = Field(default=24, ge=1)
    chunk_accounts: int = Field(default=500, gt=0, le=32768)
    activity_scale: float = Field(default=1.0, gt=0)
    truth_paths: int = Field(default=200, ge=2)


class Validate(_Section):
    max_quarantine_share: float = Field(ge=0, le=1)
    importer: Literal["contract", "subscriptions", "segment"] = "contract"
    mapping: Path = Path("mapping.yaml")
    churn_gap_days: int = Field(default=30, ge=0)


SparkValue = str | int | float | bool  # Spark's builder writes each as Spark spells it (booleans lower case)


class Featurize(_Section):
    engine: Literal["duckdb", "spark"]
    spark_master: str
    spark_conf: dict[str, SparkValue] = Field(default_factory=dict)
    duckdb_memory_limit: str
    first_observation: dt.date
    lead_days: int = Field(ge=0)
    horizon_days: int = Field(gt=0)
    windows: tuple[int, ...] = Field(min_length=1)
    trend_days: int = Field(gt=0)
    healthy_user_min_days: int = Field(gt=0, le=28)
    core_features: tuple[str, ...]
    object_types: tuple[str, ...]
    object_type_windows: tuple[int, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: object) -> object:
        if isinstance(data, dict) and "object_type_window_days" in data:
            raise ValueError(
                "featurize.object_type_window_days is now featurize.object_type_windows, a list of day "
                f"counts (for example [{data['object_type_window_days']}])"
            )
        return data

    @model_validator(mode="after")
    def _windows_valid(self) -> Featurize:
        for key in ("windows", "object_type_windows"):
            days = getattr(self, key)
            if any(w <= 0 for w in days) or len(set(days)) != len(days):
                raise ValueError(f"featurize.{key}: need distinct positive day counts, got {days}")
        # Feature names are built from these lists, so a repeat would make two columns with one name.
        for key in ("core_features", "object_types"):
            values = getattr(self, key)
            if len(set(values)) != len(values):
                raise ValueError(f"featurize.{key}: repeated entries in {values}")
        return self


class LightGBMParams(_Section):
    learning_rate: float = Field(gt=0)
    num_leaves: int = Field(ge=2)
    max_depth: int = Field(ge=-1)  # -1: unlimited; shallow trees keep TreeSHAP reasons fast
    min_data_in_leaf: int = Field(ge=1)
    feature_fraction: float = Field(gt=0, le=1)
    bagging_fraction: float = Field(gt=0, le=1)
    bagging_freq: int = Field(ge=0)
    lambda_l2: float = Field(ge=0)
    num_boost_round: int = Field(gt=0)
    early_stopping_rounds: int = Field(gt=0)
    seed: int
    num_threads: int = Field(gt=0)
    monotone_constraints_method: Literal["basic", "intermediate", "advanced"]  # with `train.monotone`


class Tuning(_Section):
    enabled: bool
    n_trials: int = Field(gt=0)
    n_folds: int = Field(ge=1)


class Train(_Section):
    experiment: str
    registered_model: str
    valid_months: int = Field(gt=0)
    test_months: int = Field(gt=0)
    calibration: Literal["isotonic", "sigmoid"]
    logreg_c: float = Field(gt=0)
    health_score: dict[str, float]
    monotone: bool  # hold LightGBM to the registry's healthy direction of each feature that has one
    tuning: Tuning
    lgbm: LightGBMParams


class EMP(_Section):
    clv: float = Field(gt=0)
    d: float = Field(ge=0)
    f: float = Field(ge=0)
    alpha: float = Field(gt=0)
    beta: float = Field(gt=0)


class Evaluate(_Section):
    capacity_share: float = Field(gt=0, le=1)
    calibration_bins: int = Field(ge=2)
    backtest_origins: int = Field(ge=1)
    emp: EMP


class Tiers(_Section):
    """`red`/`yellow` are probabilities (threshold), currency (arr_at_risk) or capacities (capacity:
    a share or a count of accounts, cumulative, so yellow >= red); `segments` overrides them per segment."""

    method: Literal["threshold", "capacity", "arr_at_risk"]
    red: float = Field(ge=0)
    yellow: float = Field(ge=0)
    capacity_unit: Literal["share", "count"]
    per_segment: bool
    segments: dict[str, dict[Literal["red", "yellow"], float]]

    @model_validator(mode="after")
    def _ordered(self) -> Tiers:
        pairs = {"default": (self.red, self.yellow)}
        pairs |= {k: (v.get("red", self.red), v.get("yellow", self.yellow)) for k, v in self.segments.items()}
        for name, (red, yellow) in pairs.items():
            if self.method == "capacity":
                if not red <= yellow:
                    raise ValueError(f"score.tiers ({name}): capacity red {red} must be <= yellow {yellow}")
                if self.capacity_unit == "share" and yellow > 1:
                    raise ValueError(f"score.tiers ({name}): a capacity share must be <= 1, got {yellow}")
            elif not red >= yellow:
                raise ValueError(f"score.tiers ({name}): red ({red}) must be >= yellow ({yellow})")
            if self.method == "threshold" and red > 1:
                raise ValueError(f"score.tiers ({name}): a probability threshold must be <= 1, got {red}")
        return self


class Score(_Section):
    n_reasons: int = Field(ge=1)
    n_protective: int = Field(ge=0)
    n_context: int = Field(ge=0)
    n_drivers: int = Field(ge=1)
    usual_range: tuple[float, float]
    report_rows: int = Field(gt=0)
    tiers: Tiers

    @model_validator(mode="after")
    def _quantiles(self) -> Score:
        low, high = self.usual_range
        if not 0 <= low < high <= 1:
            raise ValueError(f"score.usual_range: need 0 <= low < high <= 1, got {self.usual_range}")
        return self


class Params(_Section):
    paths: Paths
    data: Data
    sample: Sample
    validate_: Validate = Field(alias="validate")
    featurize: Featurize
    train: Train
    evaluate: Evaluate
    score: Score

    def fit_settings(self) -> dict:
        """`models.train.fit_all`'s settings, as train and the backtest both fit (each adds its test
        months; train its tuning)."""
        cfg = self.train
        return {
            "label_days": self.featurize.lead_days + self.featurize.horizon_days,
            "valid_months": cfg.valid_months,
            "calibration": cfg.calibration,
            "lgbm_params": cfg.lgbm.model_dump(),
            "logreg_c": cfg.logreg_c,
            "health_weights": dict(cfg.health_score),
            "monotone": cfg.monotone,
        }


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate `params.yaml`; errors name the offending key."""
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return Params.model_validate(raw)
