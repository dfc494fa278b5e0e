"""The evaluation bench: datasets, metrics, the runner, reports and comparisons (with bootstrap intervals), the tutorial
baselines, external systems (suite, external), the risk–coverage curve, the judge's calibration and drafted QA items.

Nothing is imported here, so the command line can add the eval options without loading the pipeline.
"""
