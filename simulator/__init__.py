"""Seeded, vectorised simulator of a B2B SaaS customer base that writes the input contract's tables."""

from simulator.core import Summary, simulate_to_dir, write_simulation

__all__ = ["Summary", "simulate_to_dir", "write_simulation"]
