"""Point-in-time features and labels for churn prediction: pure logic, no file I/O."""

from features.build import build_features, build_labelled_features
from features.registry import FEATURES, FeatureSpec, describe, feature_specs

__all__ = [
    "FEATURES",
    "FeatureSpec",
    "build_features",
    "build_labelled_features",
    "describe",
    "feature_specs",
]
