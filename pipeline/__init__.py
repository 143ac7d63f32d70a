"""Thin DVC stage entry points (`python -m pipeline.<stage>`) and the `churn` command line."""
