"""The evaluation bench: datasets, metrics, the runner, reports and comparisons, and the naive baseline."""
