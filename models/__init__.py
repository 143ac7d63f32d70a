"""Model code: encoding, time split, LightGBM and baselines, calibration, metrics, tiers, reasons."""
