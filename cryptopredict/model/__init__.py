"""Training, backtesting and baselines; writes the artifact."""
