"""newarch: plan and track bringing a conda-forge-style channel up on a new platform."""

__version__ = "0.1.0"
