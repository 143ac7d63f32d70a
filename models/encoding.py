"""One encoding shared by training and scoring.

pandas 3 stores strings as ``str``, which LightGBM rejects; categorical columns become integer codes
from the levels seen in training (unknown levels become missing), saved beside the model as JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

KEY_COLUMNS = ("account_id", "observation_date")
TARGET = "label"


@dataclass(frozen=True)
class FeatureSpec:
    """The columns a model was trained on, in order, and the levels of each categorical column."""

    features: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> FeatureSpec:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(tuple(raw["features"]), {k: tuple(v) for k, v in raw["categorical"].items()})


class SchemaMismatchError(ValueError):
    """The feature table's columns differ from the model's."""


def read_features(path: Path) -> pd.DataFrame:
    """The featurize stage's table, with the label as nullable ``Int8`` (null: not yet known).

    Parquet keeps the label as int8 with nulls, which pandas alone would read as float.
    """
    frame = pd.read_parquet(path)
    return frame.assign(**{TARGET: frame[TARGET].astype("Int8")})


def infer_spec(frame: pd.DataFrame) -> FeatureSpec:
    """Every non-key, non-target column is a feature; string columns are categorical."""
    features = tuple(c for c in frame.columns if c not in (*KEY_COLUMNS, TARGET))
    categorical = {
        c: tuple(sorted(frame[c].dropna().astype(str).unique()))
        for c in features
        if not pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    }
    return FeatureSpec(features, categorical)


def check_columns(frame: pd.DataFrame, spec: FeatureSpec) -> None:
    """Stop with the missing and extra columns named when the table does not match the model."""
    present = set(frame.columns) - {*KEY_COLUMNS, TARGET}
    missing = [c for c in spec.features if c not in present]
    extra = sorted(present - set(spec.features))
    if missing or extra:
        raise SchemaMismatchError(
            "The feature table does not match the model's features.\n"
            f"  missing columns ({len(missing)}): {', '.join(missing) or '-'}\n"
            f"  extra columns ({len(extra)}): {', '.join(extra) or '-'}"
        )


def encode(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Numeric matrix in the spec's column order: categoricals as integer codes, unknown as NaN."""
    check_columns(frame, spec)
    out = {}
    for column in spec.features:
        values = frame[column]
        if column in spec.categorical:
            codes = pd.Index(spec.categorical[column]).get_indexer(values.astype("object")).astype("float64")
            codes[codes < 0] = np.nan
            out[column] = codes
        else:
            out[column] = pd.to_numeric(values, errors="raise").astype("float64").to_numpy()
    return pd.DataFrame(out, index=frame.index)
