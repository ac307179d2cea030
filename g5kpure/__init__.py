"""g5kpure: the pure core. Immutable values and functions for Grid'5000 experiments; no I/O here."""

__version__ = "0.1.0"
